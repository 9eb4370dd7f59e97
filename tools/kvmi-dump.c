/*
 * libkvmi - tools/kvmi-dump.c: print a recorded message stream (capture
 * file) as one human-readable line per message.
 *
 * Both directions of the capture are decoded with their own decoder and
 * printed in the order the bytes crossed the socket.  The dialect is told
 * from the GET_VERSION reply (and a kvmi-v7 generation probe) unless
 * --dialect names it; a "# dialect ..." line says when it changes.  A
 * malformed capture or stream is reported with its byte offset and exit
 * status 1.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <kvmi/capture.h>

#include "dump_format.h"

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
		"usage: %s [options] CAPTURE\n"
		"Print every KVMI message of a libkvmi capture file, one line\n"
		"per message: stream offset, direction (H>T host to tool, T>H\n"
		"tool to host), message name, seq, vCPU, event and key fields.\n"
		"\n"
		"options:\n"
		"  -d, --dialect D  decode as D (v6, v7, v7-2023, v12) from the\n"
		"                 start; default: v6 until the GET_VERSION reply\n"
		"                 (and, on kvmi-v7, a CHECK_COMMAND of id 39\n"
		"                 answered 0) tells otherwise, which is printed\n"
		"                 as a line \"# dialect D (...)\"\n"
		"  -h, --help     show this help and exit\n"
		"\n"
		"exit status: 0 all messages decoded, 1 malformed capture or\n"
		"stream (the message names the byte offset), 2 bad usage\n",
		prog);
}

/* switch @dec to @d once it is between messages (it may hold part of
 * one from an earlier record); 1 while still pending */
static int switch_dialect(struct kvmi_decoder *dec, enum kvmi_dialect d)
{
	if (kvmi_decoder_dialect(dec) == d)
		return 0;
	return kvmi_decoder_set_dialect(dec, d) == -EBUSY;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dialect", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	struct kvmi_capture_reader *r;
	struct kvmi_decoder *dec[2];
	struct kvmi_capture_record rec;
	struct kvmi_dump_detect det;
	char err[256], line[1024], note[256];
	int c, rc, status = 0, fixed = 0, pending[2] = {0, 0};

	kvmi_dump_detect_init(&det);
	while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout, argv[0]);
			return 0;
		}
		if (c == 'd' && !kvmi_dialect_parse(optarg, &det.dialect)) {
			fixed = 1;
			continue;
		}
		if (c == 'd')
			fprintf(stderr, "kvmi-dump: --dialect: '%s' is not v6, "
					"v7, v7-2023 or v12\n",
				optarg);
		usage(stderr, argv[0]);
		return 2;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "kvmi-dump: expected exactly one CAPTURE file\n");
		usage(stderr, argv[0]);
		return 2;
	}
	rc = kvmi_capture_reader_open(argv[optind], &r, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "kvmi-dump: %s: %s\n", argv[optind], err);
		return 1;
	}
	dec[0] = kvmi_decoder_new(KVMI_DIR_HOST_TO_TOOL);
	dec[1] = kvmi_decoder_new(KVMI_DIR_TOOL_TO_HOST);
	if (!dec[0] || !dec[1]) {
		fprintf(stderr, "kvmi-dump: out of memory\n");
		return 1;
	}
	kvmi_decoder_set_dialect(dec[0], det.dialect);
	kvmi_decoder_set_dialect(dec[1], det.dialect);
	while (!status && (rc = kvmi_capture_reader_next(r, &rec)) == 1) {
		struct kvmi_decoder *d = dec[rec.dir];
		const uint8_t *p = rec.data;
		size_t left = rec.len;

		if (rec.type == KVMI_CAPTURE_EOF) {
			int e = kvmi_decoder_finish(d);

			if (e < 0) {
				uint64_t off = 0;
				const char *t = kvmi_decoder_error(d, &off);

				fprintf(stderr, "kvmi-dump: %s stream: %s: %s\n",
					rec.dir ? "tool->host" : "host->tool",
					kvmi_err_name(e), t ? t : kvmi_strerror(e));
				status = 1;
			}
			continue;
		}
		while (left) {
			const struct kvmi_msg *m;
			ssize_t n;

			if (pending[rec.dir])
				pending[rec.dir] = switch_dialect(d, det.dialect);
			n = kvmi_decoder_feed(d, p, left, &m);

			if (n < 0) {
				uint64_t off = 0;
				const char *t = kvmi_decoder_error(d, &off);

				fprintf(stderr, "kvmi-dump: %s stream: %s: %s\n",
					rec.dir ? "tool->host" : "host->tool",
					kvmi_err_name((int)n),
					t ? t : kvmi_strerror((int)n));
				status = 1;
				break;
			}
			p += n;
			left -= (size_t)n;
			if (m) {
				kvmi_dump_format_d(line, sizeof(line),
						   kvmi_decoder_dialect(d),
						   rec.dir, m);
				puts(line);
				if (!fixed &&
				    kvmi_dump_detect(&det, rec.dir, m, note,
						     sizeof(note))) {
					puts(note);
					pending[0] = pending[1] = 1;
				}
			}
		}
	}
	if (rc < 0) {
		fprintf(stderr, "kvmi-dump: %s: %s\n", argv[optind],
			kvmi_capture_reader_error(r));
		status = 1;
	}
	for (int i = 0; i < 2 && !status; i++) {
		int e = kvmi_decoder_finish(dec[i]);

		if (e < 0) {
			fprintf(stderr, "kvmi-dump: %s stream: %s: %s\n",
				i ? "tool->host" : "host->tool", kvmi_err_name(e),
				kvmi_decoder_error(dec[i], NULL));
			status = 1;
		}
	}
	kvmi_decoder_free(dec[0]);
	kvmi_decoder_free(dec[1]);
	kvmi_capture_reader_free(r);
	return status;
}
