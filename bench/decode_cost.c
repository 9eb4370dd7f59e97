/*
 * libkvmi - bench/decode_cost.c: the decoder's cost per message.
 *
 * Builds a stream of N event messages (BREAKPOINT, 568 bytes each, as a
 * host sends them) and either decodes it (--mode decode) or only copies
 * each message's event structs the way any consumer must (--mode copy, the
 * baseline; with --chunk it also gathers each message that crosses two
 * reads, as any reader of a socket must).  Run both under `valgrind --tool=callgrind` and divide the
 * difference of instruction counts by N: the decoder's own instructions per
 * event beyond copying.  Also counts heap allocations made while decoding
 * (malloc is interposed in this program).
 *
 * Usage: bench-decode-cost --mode decode|copy [--messages N] [--chunk B]
 *                          [--capture FILE]
 *   --chunk B feeds the stream in B-byte reads (0 = one buffer: zero-copy
 *   path; 4096 = typical socket reads: messages cross reads).
 *   --capture FILE uses the host->tool bytes of a recorded stream
 *   (a tests/data .kvmicap file), repeated until at least N messages, instead of
 *   synthetic BREAKPOINT events; copy mode then copies every message.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kvmi/capture.h>
#include <kvmi/codec.h>
#include "host_encoder.h"

static unsigned long n_mallocs;

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);

void *malloc(size_t n)
{
	n_mallocs++;
	return __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
	n_mallocs++;
	return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
	n_mallocs++;
	return __libc_realloc(p, n);
}

/* the host->tool bytes of @path, repeated until at least @count whole
 * messages; NULL on error */
static uint8_t *load_capture(const char *path, size_t count, size_t *len_out,
			     size_t *msgs_out)
{
	struct kvmi_capture_reader *r;
	struct kvmi_capture_record rec;
	uint8_t *one = NULL, *all;
	size_t len = 0, msgs = 0, reps;
	char err[256];

	if (kvmi_capture_reader_open(path, &r, err, sizeof(err))) {
		fprintf(stderr, "bench-decode-cost: %s\n", err);
		return NULL;
	}
	while (kvmi_capture_reader_next(r, &rec) > 0) {
		uint8_t *p;

		if (rec.type != KVMI_CAPTURE_DATA ||
		    rec.dir != KVMI_DIR_HOST_TO_TOOL || !rec.len)
			continue;
		p = realloc(one, len + rec.len);
		if (!p)
			return NULL;
		one = p;
		memcpy(one + len, rec.data, rec.len);
		len += rec.len;
	}
	kvmi_capture_reader_free(r);
	for (size_t off = 0; off + 8 <= len; msgs++) {
		struct kvmi_msg_hdr hdr;

		memcpy(&hdr, one + off, sizeof(hdr));
		off += 8 + hdr.size;
	}
	if (!msgs) {
		fprintf(stderr, "bench-decode-cost: no host messages in %s\n",
			path);
		return NULL;
	}
	reps = (count + msgs - 1) / msgs;
	all = malloc(reps * len);
	if (!all)
		return NULL;
	for (size_t i = 0; i < reps; i++)
		memcpy(all + i * len, one, len);
	free(one);
	*len_out = reps * len;
	*msgs_out = reps * msgs;
	return all;
}

int main(int argc, char **argv)
{
	const char *capture = NULL;
	const char *mode = NULL;
	size_t count = 100000, chunk = 0, len = 0;
	unsigned long allocs_before, got = 0;
	uint64_t sum = 0;
	uint8_t *stream;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--mode") && i + 1 < argc)
			mode = argv[++i];
		else if (!strcmp(argv[i], "--messages") && i + 1 < argc)
			count = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--chunk") && i + 1 < argc)
			chunk = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--capture") && i + 1 < argc)
			capture = argv[++i];
		else
			mode = NULL, i = argc;
	}
	if (!mode || (strcmp(mode, "decode") && strcmp(mode, "copy")) ||
	    !count) {
		fprintf(stderr, "usage: %s --mode decode|copy [--messages N] "
				"[--chunk BYTES] [--capture FILE]\n",
			argv[0]);
		return 2;
	}
	if (capture) {
		stream = load_capture(capture, count, &len, &count);
		if (!stream)
			return 1;
	} else {
		stream = malloc(count * 600);
		if (!stream)
			return 1;
		for (size_t i = 0; i < count; i++) {
			struct kvmi_event ev;
			struct kvmi_event_breakpoint bp = {.gpa = 0x1000 + i,
							   .insn_len = 1};
			int n;

			memset(&ev, 0, sizeof(ev));
			ev.event = KVMI_EVENT_BREAKPOINT;
			ev.vcpu = (uint16_t)(i & 7);
			ev.arch.regs.rip = i;
			n = kvmi_encode_event(stream + len, 600, (uint32_t)i + 1, &ev,
					      sizeof(ev), &bp, sizeof(bp));
			if (n < 0)
				return 1;
			len += (size_t)n;
		}
	}

	allocs_before = n_mallocs;
	if (!strcmp(mode, "copy")) {
		/* what a consumer pays anyway: the aligned structs */
		static struct kvmi_event common;
		static struct kvmi_event_breakpoint bp;
		struct kvmi_msg_hdr hdr;

		static uint8_t body[65536], staged[65536 + 8];

		for (size_t off = 0; off < len; got++) {
			memcpy(&hdr, stream + off, sizeof(hdr));
			/* with --chunk, a message that crosses two reads must
			 * be gathered in one place by any reader */
			if (chunk && off / chunk != (off + 8 + hdr.size - 1) / chunk) {
				memcpy(staged, stream + off, 8 + hdr.size);
				sum += staged[8];
			}
			if (capture) {
				/* every message, whatever it is */
				memcpy(body, stream + off + 8, hdr.size);
				sum += body[0];
			} else {
				memcpy(&common, stream + off + 8,
				       sizeof(common));
				memcpy(&bp, stream + off + 8 + sizeof(common),
				       sizeof(bp));
				sum += bp.gpa + common.arch.regs.rip;
			}
			off += 8 + hdr.size;
		}
	} else {
		struct kvmi_decoder *d = kvmi_decoder_new(KVMI_DIR_HOST_TO_TOOL);
		size_t off = 0;

		allocs_before = n_mallocs;
		while (off < len) {
			size_t end = chunk ? off + chunk : len;

			if (end > len)
				end = len;
			while (off < end) {
				const struct kvmi_msg *m;
				ssize_t n = kvmi_decoder_feed(d, stream + off,
							      end - off, &m);

				if (n < 0)
					return 1;
				off += (size_t)n;
				if (m && !capture)
					sum += m->u.event.data->breakpoint.gpa +
					       m->u.event.common->arch.regs.rip;
				else if (m)
					sum += m->hdr.id;
				got += m != NULL;
			}
		}
		kvmi_decoder_free(d);
	}
	printf("mode=%s messages=%lu chunk=%zu allocations=%lu checksum=%llu\n",
	       mode, got, chunk, n_mallocs - allocs_before,
	       (unsigned long long)sum);
	free(stream);
	return got == count ? 0 : 1;
}
