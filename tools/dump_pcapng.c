/*
 * libkvmi - tools/dump_pcapng.c: kvmi-dump's pcapng output (the file and
 * packet layout of tools/dump_pcapng.h).
 */
#include <stdio.h>
#include <string.h>

#include <kvmi/common.h>

#include "dump_pcapng.h"

/* the largest message (16-bit size) plus the pseudo-header */
#define SNAPLEN (KVMI_PCAPNG_PSEUDO_SIZE + 8 + 65535)

static int host_is_big_endian(void)
{
	const uint16_t one = 1;
	uint8_t b;

	memcpy(&b, &one, 1);
	return b == 0;
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

int kvmi_dump_pcapng_begin(struct kvmi_dump_pcapng *o, FILE *f,
			   uint64_t start_ns)
{
	char appl[64];
	int err;

	memset(o, 0, sizeof(*o));
	o->start_ns = start_ns;
	pcapng_writer_init(&o->w, f);
	snprintf(appl, sizeof(appl), "kvmi-dump (libkvmi %s)", kvmi_version());
	err = pcapng_write_shb(&o->w, appl);
	if (!err)
		err = pcapng_write_idb(
		    &o->w, KVMI_PCAPNG_LINKTYPE, SNAPLEN, "kvmi",
		    "KVMI messages (contrib/wireshark/kvmi.lua)", 9);
	return err;
}

int kvmi_dump_pcapng_message(struct kvmi_dump_pcapng *o,
			     enum kvmi_direction dir, uint64_t time_ns,
			     const struct kvmi_msg *m)
{
	uint8_t pkt[SNAPLEN];
	size_t len = KVMI_PCAPNG_PSEUDO_SIZE;
	int err;

	memset(pkt, 0, KVMI_PCAPNG_PSEUDO_SIZE);
	pkt[0] = KVMI_PCAPNG_PSEUDO_VERSION;
	pkt[1] = (uint8_t)dir;
	pkt[2] = (uint8_t)host_is_big_endian();
	put_le64(pkt + 8, m->offset);
	memcpy(pkt + len, &m->hdr, sizeof(m->hdr));
	len += sizeof(m->hdr);
	if (m->hdr.size)
		memcpy(pkt + len, m->payload, m->hdr.size);
	len += m->hdr.size;
	err = pcapng_write_epb(&o->w, 0, o->start_ns + time_ns, pkt, len,
			       dir == KVMI_DIR_HOST_TO_TOOL
				   ? PCAPNG_EPB_INBOUND
				   : PCAPNG_EPB_OUTBOUND);
	if (!err)
		o->packets++;
	return err;
}
