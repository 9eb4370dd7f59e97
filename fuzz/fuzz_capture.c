/*
 * libkvmi - fuzz_capture.c: libFuzzer target for the capture reader.
 *
 * Opens the input as a capture held in memory, walks every record and
 * feeds each direction's bytes to its own decoder, as kvmi-dump does.
 * Errors are expected; crashes, leaks and hangs are not.
 */
#include <stdint.h>
#include <stdlib.h>

#include <kvmi/capture.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kvmi_capture_reader *r = NULL;
	struct kvmi_decoder *dec[2];
	struct kvmi_capture_record rec;
	char err[256];
	int rc;

	if (kvmi_capture_reader_open_mem(data, size, &r, err, sizeof(err)) < 0)
		return 0;
	dec[0] = kvmi_decoder_new(KVMI_DIR_HOST_TO_TOOL);
	dec[1] = kvmi_decoder_new(KVMI_DIR_TOOL_TO_HOST);
	if (!dec[0] || !dec[1])
		abort();
	while ((rc = kvmi_capture_reader_next(r, &rec)) == 1) {
		const uint8_t *p = rec.data;
		size_t left = rec.len;
		struct kvmi_decoder *d;

		if (rec.dir != KVMI_DIR_HOST_TO_TOOL &&
		    rec.dir != KVMI_DIR_TOOL_TO_HOST)
			abort();
		d = dec[rec.dir];
		if (rec.type == KVMI_CAPTURE_EOF) {
			(void)kvmi_decoder_finish(d);
			continue;
		}
		while (left) {
			const struct kvmi_msg *m;
			ssize_t n = kvmi_decoder_feed(d, p, left, &m);

			if (n < 0)
				break;
			p += n;
			left -= (size_t)n;
		}
	}
	if (rc < 0 && !kvmi_capture_reader_error(r))
		abort();
	kvmi_decoder_free(dec[0]);
	kvmi_decoder_free(dec[1]);
	kvmi_capture_reader_free(r);
	return 0;
}
