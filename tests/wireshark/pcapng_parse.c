/*
 * libkvmi - tests/wireshark/pcapng_parse.c: the strict pcapng block
 * walker of pcapng_parse.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcapng_parse.h"

uint16_t pn_u16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

uint32_t pn_u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

uint64_t pn_u64le(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

int pn_blocks(const uint8_t *buf, size_t len, struct pn_block *out, int max,
	      char *why, size_t whylen)
{
	size_t off = 0;
	int n = 0;

	while (off < len) {
		uint32_t total;

		if (len - off < 12) {
			snprintf(why, whylen, "%zu stray bytes at %zu",
				 len - off, off);
			return -1;
		}
		total = pn_u32(buf + off + 4);
		if (total < 12 || total % 4 || total > len - off) {
			snprintf(why, whylen, "bad total length %u at %zu",
				 total, off);
			return -1;
		}
		if (pn_u32(buf + off + total - 4) != total) {
			snprintf(why, whylen, "trailing length %u != %u at %zu",
				 pn_u32(buf + off + total - 4), total, off);
			return -1;
		}
		if (n == max) {
			snprintf(why, whylen, "more than %d blocks", max);
			return -1;
		}
		out[n].type = pn_u32(buf + off);
		out[n].total = total;
		out[n].body = buf + off + 8;
		out[n].body_len = total - 12;
		n++;
		off += total;
	}
	return n;
}

int pn_option(const uint8_t *p, size_t len, uint16_t code, const uint8_t **val)
{
	size_t off = 0;
	int found = -1;

	while (off + 4 <= len) {
		uint16_t c = pn_u16(p + off), l = pn_u16(p + off + 2);
		size_t padded = ((size_t)l + 3) & ~(size_t)3;

		if (c == 0)
			return l == 0 && off + 4 == len ? found : -2;
		if (off + 4 + padded > len)
			return -2;
		for (size_t i = l; i < padded; i++)
			if (p[off + 4 + i])
				return -2; /* padding must be zero */
		if (c == code && found < 0) {
			*val = p + off + 4;
			found = l;
		}
		off += 4 + padded;
	}
	return -2; /* no opt_endofopt */
}

uint8_t *pn_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0, got = 0, n;

	if (!f)
		return NULL;
	for (;;) {
		if (got == cap) {
			uint8_t *nb = realloc(buf, cap ? cap * 2 : 65536);

			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
			cap = cap ? cap * 2 : 65536;
		}
		n = fread(buf + got, 1, cap - got, f);
		if (!n)
			break;
		got += n;
	}
	fclose(f);
	*len = got;
	return buf;
}
