/*
 * libkvmi - tools/pcapng.h: a small pcapng file writer, enough for
 * `kvmi-dump --pcapng`: one section (Section Header Block), interfaces
 * (Interface Description Blocks) and packets (Enhanced Packet Blocks).
 *
 * Every block is written in the byte order of the host running the
 * writer; the SHB's byte-order magic 0x1A2B3C4D tells a reader which
 * (pcapng readers accept either).  Layouts (pcapng specification,
 * draft-ietf-opsawg-pcapng; every block and option value padded to 32
 * bits, a block's total length repeated at its end):
 *
 *   SHB  type 0x0A0D0D0A, length, magic 0x1A2B3C4D, version 1.0,
 *        section length -1 (not given), option shb_userappl (4)
 *   IDB  type 1, length, link type (16 bits), reserved 0, snaplen,
 *        options if_name (2), if_description (3), if_tsresol (9)
 *   EPB  type 6, length, interface id, timestamp high and low 32 bits,
 *        captured length, original length, data, option epb_flags (2)
 *
 * A block's options end with opt_endofopt (code 0, length 0); a block
 * without options has none of them.
 *
 * The writer borrows a stdio stream and never closes it.  Errors are
 * sticky: after the first failed write every call returns that error.
 * Thread rules: one writer per thread.
 */
#ifndef KVMI_TOOLS_PCAPNG_H
#define KVMI_TOOLS_PCAPNG_H

#include <stdint.h>
#include <stdio.h>

#define PCAPNG_BT_SHB		0x0A0D0D0Au
#define PCAPNG_BT_IDB		0x00000001u
#define PCAPNG_BT_EPB		0x00000006u
#define PCAPNG_BYTE_ORDER_MAGIC 0x1A2B3C4Du

#define PCAPNG_OPT_ENDOFOPT	  0
#define PCAPNG_OPT_SHB_USERAPPL	  4
#define PCAPNG_OPT_IF_NAME	  2
#define PCAPNG_OPT_IF_DESCRIPTION 3
#define PCAPNG_OPT_IF_TSRESOL	  9
#define PCAPNG_OPT_EPB_FLAGS	  2

/* epb_flags bits 0-1: the packet's direction */
#define PCAPNG_EPB_INBOUND  1u
#define PCAPNG_EPB_OUTBOUND 2u

/* Largest packet or option value the writer accepts (bytes). */
#define PCAPNG_MAX_DATA (1u << 24)

struct pcapng_writer {
	FILE *f;	  /* borrowed */
	int err;	  /* sticky: 0 or the first -errno */
	int have_shb;	  /* the section header was written */
	uint32_t nifaces; /* interfaces described so far */
};

/* pcapng_writer_init - start a writer on @f (borrowed; nothing written). */
void pcapng_writer_init(struct pcapng_writer *w, FILE *f);

/*
 * pcapng_write_shb - the Section Header Block, first and once; @userappl
 * (may be NULL: option left out) names the writing program.  Returns 0,
 * -EINVAL (already written, text too long) or the sticky write error
 * (-EIO when stdio does not say more).
 */
int pcapng_write_shb(struct pcapng_writer *w, const char *userappl);

/*
 * pcapng_write_idb - an Interface Description Block for link type
 * @linktype; @name and @description may be NULL (options left out);
 * @tsresol is the if_tsresol byte (6 = microseconds, the pcapng default,
 * is then left out; 9 = nanoseconds).  The interfaces are numbered 0, 1,
 * ... in the order written.  Returns 0, -EINVAL (no SHB yet, text too
 * long) or the write error.
 */
int pcapng_write_idb(struct pcapng_writer *w, uint16_t linktype,
		     uint32_t snaplen, const char *name,
		     const char *description, uint8_t tsresol);

/*
 * pcapng_write_epb - an Enhanced Packet Block: @len bytes at @data on
 * interface @if_id, timestamp @ts in that interface's units, @flags the
 * epb_flags word (0: option left out).  Returns 0, -EINVAL (unknown
 * interface, @len over PCAPNG_MAX_DATA, NULL @data with @len) or the
 * write error.
 */
int pcapng_write_epb(struct pcapng_writer *w, uint32_t if_id, uint64_t ts,
		     const void *data, size_t len, uint32_t flags);

/* pcapng_writer_error - the sticky error (0 when every write worked). */
int pcapng_writer_error(const struct pcapng_writer *w);

#endif
