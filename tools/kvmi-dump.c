/*
 * libkvmi - tools/kvmi-dump.c: print a recorded message stream (capture
 * file) as one human-readable line per message, or convert it to pcapng
 * for Wireshark (--pcapng, layout in tools/dump_pcapng.h).
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
#include <sys/stat.h>

#include <kvmi/capture.h>

#include "dump_format.h"
#include "dump_pcapng.h"

/* where the decoded messages go: text lines, or a pcapng file */
struct sink {
	const char *pcap_path; /* NULL: text on stdout */
	FILE *pcap;
	struct kvmi_dump_pcapng out;
};

/* 0, or 1 after reporting a write error */
static int sink_message(struct sink *s, enum kvmi_dialect dialect,
			enum kvmi_direction dir, uint64_t time_ns,
			const struct kvmi_msg *m)
{
	char line[1024];
	int err;

	if (!s->pcap) {
		kvmi_dump_format_d(line, sizeof(line), dialect, dir, m);
		puts(line);
		return 0;
	}
	err = kvmi_dump_pcapng_message(&s->out, dir, time_ns, m);
	if (!err)
		return 0;
	fprintf(stderr, "kvmi-dump: %s: writing failed: %s\n", s->pcap_path,
		strerror(-err));
	return 1;
}

/* open the pcapng output ("-" is stdout) and write its first blocks;
 * 0, or 1 after reporting why not */
static int sink_open(struct sink *s, const char *capture, uint64_t start_ns)
{
	struct stat a, b;
	int err;

	/* opening OUT truncates it: never when it is the capture itself */
	if (stat(s->pcap_path, &a) == 0 && stat(capture, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
		fprintf(stderr,
			"kvmi-dump: %s: is the capture being read; refusing "
			"to overwrite it\n",
			s->pcap_path);
		return 1;
	}
	if (!strcmp(s->pcap_path, "-"))
		s->pcap = stdout;
	else
		s->pcap = fopen(s->pcap_path, "wb");
	if (!s->pcap) {
		fprintf(stderr, "kvmi-dump: %s: cannot create: %s\n",
			s->pcap_path, strerror(errno));
		return 1;
	}
	err = kvmi_dump_pcapng_begin(&s->out, s->pcap, start_ns);
	if (err) {
		fprintf(stderr, "kvmi-dump: %s: writing failed: %s\n",
			s->pcap_path, strerror(-err));
		return 1;
	}
	return 0;
}

/* flush and close the pcapng output; @status, or 1 when that failed */
static int sink_close(struct sink *s, int status)
{
	int failed;

	if (!s->pcap)
		return status;
	errno = 0;
	failed = fflush(s->pcap) != 0 || ferror(s->pcap);
	if (s->pcap != stdout && fclose(s->pcap) != 0)
		failed = 1;
	if (failed && !status) {
		fprintf(stderr, "kvmi-dump: %s: writing failed: %s\n",
			s->pcap_path, strerror(errno ? errno : EIO));
		status = 1;
	}
	return status;
}

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
		"usage: %s [options] CAPTURE\n"
		"Print every KVMI message of a libkvmi capture file, one line\n"
		"per message: stream offset, direction (H>T host to tool, T>H\n"
		"tool to host), message name, seq, vCPU, event and key fields.\n"
		"\n"
		"options:\n"
		"  -d, --dialect D   decode as D (v6, v7, v7-2023, v12) from the\n"
		"                    start; default: v6 until the GET_VERSION\n"
		"                    reply (and, on kvmi-v7, a CHECK_COMMAND of\n"
		"                    id 39 answered 0) tells otherwise, which is\n"
		"                    printed as a line \"# dialect D (...)\"\n"
		"  -p, --pcapng OUT  write the messages to the pcapng file OUT\n"
		"                    instead (\"-\" is stdout): one packet per\n"
		"                    message with its direction and time, link\n"
		"                    type USER0 (147); open it with\n"
		"                    wireshark -X lua_script:contrib/wireshark/kvmi.lua\n"
		"                    (on a malformed capture OUT keeps the\n"
		"                    messages before the error; OUT may not\n"
		"                    be CAPTURE itself)\n"
		"  -h, --help        show this help and exit\n"
		"\n"
		"exit status: 0 all messages decoded (and written), 1 malformed\n"
		"capture or stream (the message names the byte offset) or OUT\n"
		"not writable, 2 bad usage\n",
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
		{"pcapng", required_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	struct kvmi_capture_reader *r;
	struct kvmi_decoder *dec[2];
	struct kvmi_capture_record rec;
	struct sink sink = {0};
	struct kvmi_dump_detect det;
	char err[256], note[256];
	int c, rc, status = 0, fixed = 0, pending[2] = {0, 0};

	kvmi_dump_detect_init(&det);
	while ((c = getopt_long(argc, argv, "d:p:h", opts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout, argv[0]);
			return 0;
		}
		if (c == 'p') {
			sink.pcap_path = optarg;
			continue;
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
	if (sink.pcap_path &&
	    sink_open(&sink, argv[optind], kvmi_capture_reader_start_ns(r))) {
		kvmi_capture_reader_free(r);
		return sink_close(&sink, 1);
	}
	dec[0] = kvmi_decoder_new(KVMI_DIR_HOST_TO_TOOL);
	dec[1] = kvmi_decoder_new(KVMI_DIR_TOOL_TO_HOST);
	if (!dec[0] || !dec[1]) {
		fprintf(stderr, "kvmi-dump: out of memory\n");
		kvmi_decoder_free(dec[0]);
		kvmi_decoder_free(dec[1]);
		kvmi_capture_reader_free(r);
		return sink_close(&sink, 1);
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
			if (m && sink_message(&sink, kvmi_decoder_dialect(d),
					      rec.dir, rec.time_ns, m)) {
				status = 1;
				break;
			}
			if (m && !fixed &&
			    kvmi_dump_detect(&det, rec.dir, m, note,
					     sizeof(note))) {
				if (!sink.pcap)
					puts(note);
				pending[0] = pending[1] = 1;
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
	return sink_close(&sink, status);
}
