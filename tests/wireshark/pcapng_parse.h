/*
 * libkvmi - tests/wireshark/pcapng_parse.h: a strict pcapng block walker
 * for the tests of tools/pcapng.c and kvmi-dump --pcapng.  It reads files
 * in the host's byte order only (what the writer produces) and checks the
 * framing every block must have: a total length that is a multiple of 4,
 * at least 12, inside the file and repeated at the block's end.
 */
#ifndef KVMI_TESTS_PCAPNG_PARSE_H
#define KVMI_TESTS_PCAPNG_PARSE_H

#include <stddef.h>
#include <stdint.h>

struct pn_block {
	uint32_t type;
	uint32_t total;	     /* total length, both copies equal */
	const uint8_t *body; /* after type and length */
	size_t body_len;     /* total - 12 */
};

/*
 * pn_blocks - split @len bytes at @buf into at most @max blocks.  Returns
 * the number of blocks, or -1 when the framing is wrong anywhere (the
 * reason is written to @why, at most @whylen bytes).
 */
int pn_blocks(const uint8_t *buf, size_t len, struct pn_block *out, int max,
	      char *why, size_t whylen);

/*
 * pn_option - find option @code in the option list of @len bytes at @p
 * (which must end with opt_endofopt and pad every value to 32 bits).
 * Returns the value's length and stores a pointer to it in *@val, -1 when
 * absent, -2 when the list is malformed.
 */
int pn_option(const uint8_t *p, size_t len, uint16_t code, const uint8_t **val);

uint16_t pn_u16(const uint8_t *p);
uint32_t pn_u32(const uint8_t *p);
uint64_t pn_u64le(const uint8_t *p);

/* pn_read_file - the whole file at @path (malloc'ed) and its length in
 * *@len, or NULL. */
uint8_t *pn_read_file(const char *path, size_t *len);

#endif
