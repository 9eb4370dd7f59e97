/*
 * libkvmi - tools/dump_pcapng.h: kvmi-dump's pcapng output, one packet
 * per KVMI message, for Wireshark with contrib/wireshark/kvmi.lua.
 *
 * The file (tools/pcapng.h writes the blocks, host byte order):
 *   - a Section Header Block, shb_userappl "kvmi-dump (libkvmi VERSION)";
 *   - one Interface Description Block: link type LINKTYPE_USER0 (147,
 *     DLT_USER0; Wireshark's WTAP_ENCAP_USER0, which a Lua dissector
 *     claims in the "wtap_encap" table), snaplen 65535 + 16 (the largest
 *     message plus the pseudo-header below), if_name "kvmi",
 *     if_tsresol 9 (nanoseconds);
 *   - one Enhanced Packet Block per message, in the order of kvmi-dump's
 *     text lines: the order in which the capture's records hold the
 *     messages' last bytes.  Timestamp: the capture's start_ns plus the
 *     time_ns of the record that completed the message (a message that
 *     crossed several records is stamped when it was whole), in ns since
 *     the epoch.  epb_flags: the direction, seen from the tool's end of
 *     the socket: inbound = host -> tool, outbound = tool -> host.
 *
 * Packet data: a 16-byte pseudo-header, then the message exactly as it
 * crossed the socket (struct kvmi_msg_hdr and hdr.size payload bytes).
 * The pseudo-header is little-endian whatever the host:
 *
 *   off 0  1  version      1
 *   off 1  1  direction    0 = host -> tool, 1 = tool -> host
 *                          (enum kvmi_direction)
 *   off 2  1  byte_order   0 = the message's integers are little-endian,
 *                          1 = big-endian (the converting host's order:
 *                          the capture's data bytes are stored as sent)
 *   off 3  5  reserved     0
 *   off 8  8  offset       stream offset of the message's first byte in
 *                          its direction (kvmi-dump's "@N")
 *
 * Handshake: none is emitted.  A capture holds only KVMI messages: both
 * writers (kvmi_dom_capture_start, which needs a connected domain, and
 * kvmi-fakehost --record, which starts recording after the handshake)
 * leave out QEMU's struct and the tool's reply, so there are no handshake
 * bytes to convert (and the reply's cookie hash, derived from the shared
 * secret, never reaches a file meant to be passed around).
 */
#ifndef KVMI_DUMP_PCAPNG_H
#define KVMI_DUMP_PCAPNG_H

#include <stdint.h>
#include <stdio.h>

#include <kvmi/codec.h>

#include "pcapng.h"

#define KVMI_PCAPNG_LINKTYPE	   147 /* LINKTYPE_USER0 */
#define KVMI_PCAPNG_PSEUDO_SIZE	   16
#define KVMI_PCAPNG_PSEUDO_VERSION 1

struct kvmi_dump_pcapng {
	struct pcapng_writer w;
	uint64_t start_ns; /* the capture's start */
	uint64_t packets;  /* EPBs written */
};

/*
 * kvmi_dump_pcapng_begin - write the SHB and the IDB to @f (borrowed) for
 * a capture that started at @start_ns.  Returns 0 or the writer's error.
 */
int kvmi_dump_pcapng_begin(struct kvmi_dump_pcapng *o, FILE *f,
			   uint64_t start_ns);

/*
 * kvmi_dump_pcapng_message - one EPB for @m, decoded in @dir from a
 * record @time_ns after the start.  Returns 0 or the writer's error.
 */
int kvmi_dump_pcapng_message(struct kvmi_dump_pcapng *o,
			     enum kvmi_direction dir, uint64_t time_ns,
			     const struct kvmi_msg *m);

#endif
