/*
 * libkvmi - fuzz/seeds.c: turn the recorded captures of tests/data/ into
 * seed corpora for the fuzz targets.
 *
 * For every capture given, writes into OUTDIR/decoder/ one file per
 * direction (the decoder target's selector byte followed by that
 * direction's bytes, chunk size 1 and 64), the host's bytes for the
 * session target into OUTDIR/session/, the tool's bytes for the fakehost
 * target into OUTDIR/tool/, and copies the capture itself into
 * OUTDIR/capture/.
 *
 * Usage: fuzz-seeds OUTDIR CAPTURE...
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <kvmi/capture.h>

static int write_file(const char *path, const void *a, size_t alen,
		      const void *b, size_t blen)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		return -errno;
	if ((alen && fwrite(a, 1, alen, f) != alen) ||
	    (blen && fwrite(b, 1, blen, f) != blen)) {
		fclose(f);
		return -EIO;
	}
	return fclose(f) ? -errno : 0;
}

static int read_file(const char *path, unsigned char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return -errno;
	for (;;) {
		if (n == cap) {
			unsigned char *nb = realloc(buf, cap ? cap * 2 : 65536);

			if (!nb) {
				free(buf);
				fclose(f);
				return -ENOMEM;
			}
			buf = nb;
			cap = cap ? cap * 2 : 65536;
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
	}
	fclose(f);
	*out = buf;
	*len = n;
	return 0;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

int main(int argc, char **argv)
{
	char path[4096];

	if (argc < 3) {
		fprintf(stderr, "usage: %s OUTDIR CAPTURE...\n", argv[0]);
		return 2;
	}
	snprintf(path, sizeof(path), "%s/decoder", argv[1]);
	mkdir(argv[1], 0755);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/capture", argv[1]);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/session", argv[1]);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/tool", argv[1]);
	mkdir(path, 0755);

	for (int i = 2; i < argc; i++) {
		struct kvmi_capture_reader *r;
		struct kvmi_capture_record rec;
		unsigned char *stream[2] = {NULL, NULL}, *raw;
		size_t len[2] = {0, 0}, cap[2] = {0, 0}, rawlen;
		char err[256];
		int rc;

		if (read_file(argv[i], &raw, &rawlen) < 0) {
			fprintf(stderr, "fuzz-seeds: cannot read %s\n", argv[i]);
			return 1;
		}
		snprintf(path, sizeof(path), "%s/capture/%s", argv[1],
			 base_name(argv[i]));
		if (write_file(path, raw, rawlen, NULL, 0) < 0)
			return 1;
		free(raw);

		if (kvmi_capture_reader_open(argv[i], &r, err, sizeof(err)) < 0) {
			fprintf(stderr, "fuzz-seeds: %s: %s\n", argv[i], err);
			return 1;
		}
		while ((rc = kvmi_capture_reader_next(r, &rec)) == 1) {
			int d = rec.dir == KVMI_DIR_TOOL_TO_HOST;

			if (rec.type != KVMI_CAPTURE_DATA)
				continue;
			if (len[d] + rec.len > cap[d]) {
				size_t nc = (len[d] + rec.len) * 2;
				unsigned char *nb = realloc(stream[d], nc);

				if (!nb)
					return 1;
				stream[d] = nb;
				cap[d] = nc;
			}
			memcpy(stream[d] + len[d], rec.data, rec.len);
			len[d] += rec.len;
		}
		kvmi_capture_reader_free(r);
		/* malformed captures are good seeds too: keep what was read */
		for (int d = 0; d < 2; d++) {
			/* selector: bit 0 direction, bits 1.. chunk size - 1 */
			unsigned char sel[2] = {(unsigned char)d,
						(unsigned char)(d | (63 << 1))};

			for (int k = 0; k < 2; k++) {
				snprintf(path, sizeof(path), "%s/decoder/%s.%d.%d",
					 argv[1], base_name(argv[i]), d, k);
				if (write_file(path, &sel[k], 1, stream[d],
					       len[d]) < 0)
					return 1;
			}
			if (d == 0) {
				/* session target: chunk byte, 8 x 3 bytes of
				 * outstanding commands, the host's bytes */
				unsigned char head[25] = {0};

				snprintf(path, sizeof(path), "%s/session/%s",
					 argv[1], base_name(argv[i]));
				if (write_file(path, head, sizeof(head),
					       stream[d], len[d]) < 0)
					return 1;
			} else {
				/* fakehost target: chunk byte, tool's bytes */
				unsigned char head = 0x10;

				snprintf(path, sizeof(path), "%s/tool/%s",
					 argv[1], base_name(argv[i]));
				if (write_file(path, &head, 1, stream[d],
					       len[d]) < 0)
					return 1;
			}
			free(stream[d]);
		}
	}
	return 0;
}
