/*
 * libkvmi - fuzz_decoder.c: libFuzzer target for the message decoder.
 *
 * The first input byte chooses the direction and a chunk size; the rest is
 * the stream.  The stream is decoded twice, whole and in chunks, and the
 * two runs must agree message for message (kind, header, offset, payload
 * bytes) and on the final error; any disagreement or memory error aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <kvmi/codec.h>

#define MAX_MSGS 4096

struct seen {
	int kind;
	struct kvmi_msg_hdr hdr;
	uint64_t offset;
	uint32_t sum;
};

static uint32_t checksum(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static size_t run(enum kvmi_direction dir, const uint8_t *data, size_t len,
		  size_t chunk, struct seen *out, int *final)
{
	struct kvmi_decoder *d = kvmi_decoder_new(dir);
	size_t n = 0, pos = 0;

	if (!d)
		abort();
	*final = 0;
	while (pos < len) {
		size_t end = chunk ? pos + chunk : len;
		size_t at;

		if (end > len)
			end = len;
		at = pos;
		while (at < end) {
			const struct kvmi_msg *m = NULL;
			ssize_t r = kvmi_decoder_feed(d, data + at, end - at, &m);

			if (r < 0) {
				/* sticky: the same error class again */
				const struct kvmi_msg *m2 = NULL;

				if (kvmi_decoder_feed(d, data, 1, &m2) !=
				    KVMI_E_DECODER_FAILED)
					abort();
				if (!kvmi_decoder_error(d, NULL))
					abort();
				*final = (int)r;
				goto out;
			}
			if ((size_t)r > end - at)
				abort();
			at += (size_t)r;
			if (m) {
				if (n < MAX_MSGS) {
					out[n].kind = m->kind;
					out[n].hdr = m->hdr;
					out[n].offset = m->offset;
					out[n].sum = checksum(m->payload,
							      m->hdr.size);
				}
				n++;
			} else if (at != end) {
				abort(); /* no message: all input consumed */
			}
		}
		pos = end;
	}
	*final = kvmi_decoder_finish(d);
out:
	kvmi_decoder_free(d);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct seen a[MAX_MSGS], b[MAX_MSGS];
	enum kvmi_direction dir;
	size_t chunk, na, nb;
	int fa, fb;

	if (size < 1)
		return 0;
	dir = (data[0] & 1) ? KVMI_DIR_TOOL_TO_HOST : KVMI_DIR_HOST_TO_TOOL;
	chunk = (size_t)(data[0] >> 1) + 1; /* 1..128 */
	data++;
	size--;

	na = run(dir, data, size, 0, a, &fa);
	nb = run(dir, data, size, chunk, b, &fb);
	if (na != nb || fa != fb)
		abort();
	if (na > MAX_MSGS)
		na = MAX_MSGS;
	if (memcmp(a, b, na * sizeof(a[0])) != 0)
		abort();
	return 0;
}
