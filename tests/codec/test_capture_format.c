/*
 * libkvmi - tests/codec/test_capture_format.c: the capture file format of
 * include/kvmi/capture.h: writer -> reader round trip (bytes, directions,
 * times, offsets), a file of the other byte order and a longer header
 * read, every malformed header and record refused with
 * KVMI_E_CAPTURE_FORMAT and an offset in the text, sticky reader errors,
 * write failures sticky in the writer, argument checks.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <kvmi/capture.h>

static const uint8_t sample_a[3] = {1, 2, 3};
static const uint8_t sample_b[5] = {9, 8, 7, 6, 5};

/* a capture written by the library into a file; returns its bytes */
static uint8_t *write_sample(size_t *len)
{
	char path[] = "/tmp/kvmi-capfmt-XXXXXX";
	struct kvmi_capture_writer *w = NULL;
	int fd = mkstemp(path);
	uint8_t *buf;
	struct stat st;

	assert_true(fd >= 0);
	assert_int_equal(kvmi_capture_writer_open_fd_start(fd, 1000, &w), 0);
	assert_non_null(w);
	assert_int_equal(kvmi_capture_writer_add(w, KVMI_CAPTURE_DATA,
						 KVMI_DIR_HOST_TO_TOOL, 5,
						 sample_a, sizeof(sample_a)),
			 0);
	assert_int_equal(kvmi_capture_writer_add(w, KVMI_CAPTURE_DATA,
						 KVMI_DIR_TOOL_TO_HOST, 7,
						 sample_b, sizeof(sample_b)),
			 0);
	assert_int_equal(kvmi_capture_writer_add(w, KVMI_CAPTURE_EOF,
						 KVMI_DIR_HOST_TO_TOOL, 9, NULL,
						 0),
			 0);
	assert_int_equal(kvmi_capture_writer_close(w), 0);

	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	*len = (size_t)st.st_size;
	assert_int_equal(*len, 32 + 16 + 3 + 16 + 5 + 16);
	buf = malloc(*len);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, *len), (ssize_t)*len);
	close(fd);
	unlink(path);
	return buf;
}

static void expect_sample(struct kvmi_capture_reader *r)
{
	struct kvmi_capture_record rec;

	assert_int_equal(kvmi_capture_reader_start_ns(r), 1000);
	assert_int_equal(kvmi_capture_reader_next(r, &rec), 1);
	assert_int_equal(rec.type, KVMI_CAPTURE_DATA);
	assert_int_equal(rec.dir, KVMI_DIR_HOST_TO_TOOL);
	assert_int_equal(rec.time_ns, 5);
	assert_int_equal(rec.offset, 32);
	assert_int_equal(rec.len, 3);
	assert_memory_equal(rec.data, sample_a, 3);
	assert_int_equal(kvmi_capture_reader_next(r, &rec), 1);
	assert_int_equal(rec.dir, KVMI_DIR_TOOL_TO_HOST);
	assert_int_equal(rec.time_ns, 7);
	assert_int_equal(rec.offset, 32 + 16 + 3);
	assert_int_equal(rec.len, 5);
	assert_memory_equal(rec.data, sample_b, 5);
	assert_int_equal(kvmi_capture_reader_next(r, &rec), 1);
	assert_int_equal(rec.type, KVMI_CAPTURE_EOF);
	assert_int_equal(rec.time_ns, 9);
	assert_int_equal(rec.len, 0);
	assert_null(rec.data);
	assert_int_equal(kvmi_capture_reader_next(r, &rec), 0);
	assert_int_equal(kvmi_capture_reader_next(r, &rec), 0);
	assert_null(kvmi_capture_reader_error(r));
}

/* @buf must read as the sample; then freed */
static void read_back_sample(uint8_t *buf, size_t len)
{
	struct kvmi_capture_reader *r = NULL;

	assert_int_equal(kvmi_capture_reader_open_mem(buf, len, &r, NULL, 0),
			 0);
	expect_sample(r);
	kvmi_capture_reader_free(r);
	free(buf);
}

static void test_round_trip(void **state)
{
	size_t len;
	uint8_t *buf = write_sample(&len);

	(void)state;
	assert_memory_equal(buf, "KVMICAP", 8);
	read_back_sample(buf, len);
}

static void test_file_path_and_mode(void **state)
{
	char path[] = "/tmp/kvmi-capfmt-XXXXXX";
	struct kvmi_capture_writer *w = NULL;
	struct kvmi_capture_reader *r = NULL;
	struct kvmi_capture_record rec;
	char err[128] = "";
	struct stat st;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(kvmi_capture_writer_open(path, &w), 0);
	assert_int_equal(kvmi_capture_writer_add(w, KVMI_CAPTURE_DATA,
						 KVMI_DIR_TOOL_TO_HOST,
						 UINT64_MAX, sample_a, 3),
			 0);
	assert_int_equal(kvmi_capture_writer_close(w), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(kvmi_capture_reader_open(path, &r, err, sizeof(err)),
			 0);
	assert_true(kvmi_capture_reader_start_ns(r) > 0);
	assert_int_equal(kvmi_capture_reader_next(r, &rec), 1);
	assert_int_equal(rec.len, 3);
	assert_int_equal(kvmi_capture_reader_next(r, &rec), 0);
	kvmi_capture_reader_free(r);
	unlink(path);

	r = (struct kvmi_capture_reader *)&err; /* must stay untouched */
	assert_int_equal(kvmi_capture_reader_open(path, &r, err, sizeof(err)),
			 -ENOENT);
	assert_ptr_equal(r, (struct kvmi_capture_reader *)&err);
	assert_non_null(strstr(err, path));
	assert_int_equal(
	    kvmi_capture_writer_open("/nonexistent-dir/x.kvmicap", &w),
	    -ENOENT);
}

static void swap_bytes(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n / 2; i++) {
		uint8_t t = p[i];

		p[i] = p[n - 1 - i];
		p[n - 1 - i] = t;
	}
}

/* the same capture as written by a host of the other byte order */
static void test_other_byte_order(void **state)
{
	size_t len, pos;
	uint8_t *buf = write_sample(&len);

	(void)state;
	swap_bytes(buf + 8, 2);
	swap_bytes(buf + 10, 2);
	swap_bytes(buf + 12, 4);
	swap_bytes(buf + 16, 8);
	for (pos = 32; pos < len;) {
		uint32_t n;

		memcpy(&n, buf + pos + 4, 4);
		swap_bytes(buf + pos + 4, 4);
		swap_bytes(buf + pos + 8, 8);
		pos += 16 + n;
	}
	read_back_sample(buf, len);
}

/* a newer writer's longer file header is skipped */
static void test_longer_header(void **state)
{
	struct kvmi_capture_reader *r = NULL;
	size_t len;
	uint8_t *buf = write_sample(&len);
	uint8_t *big = calloc(1, len + 8);
	uint16_t hsize = 40;

	(void)state;
	assert_non_null(big);
	memcpy(big, buf, 32);
	memcpy(big + 10, &hsize, 2);
	memcpy(big + 40, buf + 32, len - 32);
	assert_int_equal(
	    kvmi_capture_reader_open_mem(big, len + 8, &r, NULL, 0), 0);
	{
		struct kvmi_capture_record rec;

		assert_int_equal(kvmi_capture_reader_next(r, &rec), 1);
		assert_int_equal(rec.offset, 40);
		assert_memory_equal(rec.data, sample_a, 3);
	}
	kvmi_capture_reader_free(r);
	free(big);
	free(buf);
}

/* header damage: open fails with the format error and a named offset */
static void expect_bad_header(const uint8_t *buf, size_t len, const char *what)
{
	struct kvmi_capture_reader *r = NULL;
	char err[160] = "";

	assert_int_equal(
	    kvmi_capture_reader_open_mem(buf, len, &r, err, sizeof(err)),
	    KVMI_E_CAPTURE_FORMAT);
	assert_null(r);
	if (!strstr(err, what))
		fail_msg("'%s' does not mention '%s'", err, what);
}

static void test_bad_headers(void **state)
{
	size_t len;
	uint8_t *buf = write_sample(&len);
	uint8_t *c = malloc(len);
	uint16_t v;
	uint32_t bom = 0x01020305;

	(void)state;
	assert_non_null(c);
	expect_bad_header(buf, 20, "shorter than");
	expect_bad_header(buf, 0, "shorter than");

	memcpy(c, buf, len);
	c[0] = 'X';
	expect_bad_header(c, len, "bad magic at offset 0");

	memcpy(c, buf, len);
	memcpy(c + 12, &bom, 4);
	expect_bad_header(c, len, "byte order mark 0x01020305 at offset 12");

	memcpy(c, buf, len);
	v = 2;
	memcpy(c + 8, &v, 2);
	expect_bad_header(c, len, "version 2 at offset 8");

	memcpy(c, buf, len);
	v = 16;
	memcpy(c + 10, &v, 2);
	expect_bad_header(c, len, "header size 16 at offset 10");
	v = (uint16_t)(len + 1);
	memcpy(c + 10, &v, 2);
	expect_bad_header(c, len, "at offset 10");
	free(c);
	free(buf);
}

/* record damage: the records before it are read, then the error sticks */
static void expect_bad_record(const uint8_t *buf, size_t len, int good,
			      const char *what)
{
	struct kvmi_capture_reader *r = NULL;
	struct kvmi_capture_record rec, before;
	const char *text;

	assert_int_equal(kvmi_capture_reader_open_mem(buf, len, &r, NULL, 0),
			 0);
	for (int i = 0; i < good; i++)
		assert_int_equal(kvmi_capture_reader_next(r, &rec), 1);
	memset(&rec, 0x5a, sizeof(rec));
	before = rec;
	assert_int_equal(kvmi_capture_reader_next(r, &rec),
			 KVMI_E_CAPTURE_FORMAT);
	assert_memory_equal(&rec, &before, sizeof(rec));
	text = kvmi_capture_reader_error(r);
	assert_non_null(text);
	if (!strstr(text, what))
		fail_msg("'%s' does not mention '%s'", text, what);
	assert_int_equal(kvmi_capture_reader_next(r, &rec),
			 KVMI_E_CAPTURE_FORMAT);
	kvmi_capture_reader_free(r);
}

static void test_bad_records(void **state)
{
	size_t len;
	uint8_t *buf = write_sample(&len);
	uint8_t *c = malloc(len);
	const size_t second = 32 + 16 + 3;
	uint32_t n;

	(void)state;
	assert_non_null(c);
	/* cut inside the second record's header, then inside its bytes */
	expect_bad_record(buf, second + 10, 1,
			  "inside a record header at offset 51");
	expect_bad_record(buf, second + 16 + 2, 1,
			  "inside a 5-byte record at offset 51");

	memcpy(c, buf, len);
	c[second] = 2;
	expect_bad_record(c, len, 1, "record type 2 at offset 51");

	memcpy(c, buf, len);
	c[second + 1] = 2;
	expect_bad_record(c, len, 1, "direction 2 at offset 52");

	memcpy(c, buf, len);
	n = KVMI_CAPTURE_MAX_RECORD + 1;
	memcpy(c + second + 4, &n, 4);
	expect_bad_record(c, len, 1, "at offset 55 exceeds");

	/* an end-of-stream record carrying bytes */
	memcpy(c, buf, len);
	c[second] = KVMI_CAPTURE_EOF;
	expect_bad_record(c, len, 1, "end-of-stream record with 5 bytes");
	free(c);
	free(buf);
}

/* one record at time 0 */
static int add(struct kvmi_capture_writer *w, int type, int dir,
	       const void *data, size_t len)
{
	return kvmi_capture_writer_add(w, (enum kvmi_capture_type)type,
				       (enum kvmi_direction)dir, 0, data, len);
}

static void test_writer_args(void **state)
{
	struct kvmi_capture_writer *w = NULL;
	int fds[2];

	(void)state;
	assert_int_equal(kvmi_capture_writer_open(NULL, &w), -EINVAL);
	assert_int_equal(kvmi_capture_writer_open_fd(-1, &w), -EINVAL);
	assert_null(w);
	assert_int_equal(kvmi_capture_writer_add(NULL, KVMI_CAPTURE_DATA,
						 KVMI_DIR_HOST_TO_TOOL, 0,
						 sample_a, 3),
			 -EINVAL);
	assert_int_equal(kvmi_capture_writer_close(NULL), 0);
	kvmi_capture_reader_free(NULL);
	assert_int_equal(kvmi_capture_reader_next(NULL, NULL), -EINVAL);
	assert_null(kvmi_capture_reader_error(NULL));

	/* a writer on a pipe: bad records refused, the stream stays usable */
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(kvmi_capture_writer_open_fd_start(fds[1], 0, &w), 0);
	assert_int_equal(add(w, 2, KVMI_DIR_HOST_TO_TOOL, NULL, 0), -EINVAL);
	assert_int_equal(add(w, KVMI_CAPTURE_DATA, 2, NULL, 0), -EINVAL);
	assert_int_equal(add(w, KVMI_CAPTURE_DATA, KVMI_DIR_HOST_TO_TOOL,
			     sample_a, KVMI_CAPTURE_MAX_RECORD + 1),
			 -EINVAL);
	assert_int_equal(
	    add(w, KVMI_CAPTURE_DATA, KVMI_DIR_HOST_TO_TOOL, NULL, 3), -EINVAL);
	assert_int_equal(
	    add(w, KVMI_CAPTURE_EOF, KVMI_DIR_HOST_TO_TOOL, sample_a, 3),
	    -EINVAL);
	assert_int_equal(
	    add(w, KVMI_CAPTURE_DATA, KVMI_DIR_HOST_TO_TOOL, sample_a, 3), 0);
	{
		uint8_t got[32 + 16 + 3];

		assert_int_equal(read(fds[0], got, sizeof(got)),
				 (ssize_t)sizeof(got));
		assert_memory_equal(got + 48, sample_a, 3);
	}

	/* the reader goes away: the write error sticks */
	close(fds[0]);
	assert_int_equal(
	    add(w, KVMI_CAPTURE_DATA, KVMI_DIR_HOST_TO_TOOL, sample_a, 3),
	    -EPIPE);
	assert_int_equal(
	    add(w, KVMI_CAPTURE_EOF, KVMI_DIR_HOST_TO_TOOL, NULL, 0), -EPIPE);
	assert_int_equal(kvmi_capture_writer_close(w), -EPIPE);
}

static void test_writer_header_failure(void **state)
{
	struct kvmi_capture_writer *w = NULL;
	int fd = open("/dev/full", O_WRONLY);

	(void)state;
	if (fd < 0)
		skip();
	assert_int_equal(kvmi_capture_writer_open_fd(fd, &w), -ENOSPC);
	assert_null(w);
	/* the fd was closed by the failed open */
	assert_int_equal(fcntl(fd, F_GETFD), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_file_path_and_mode),
	    cmocka_unit_test(test_other_byte_order),
	    cmocka_unit_test(test_longer_header),
	    cmocka_unit_test(test_bad_headers),
	    cmocka_unit_test(test_bad_records),
	    cmocka_unit_test(test_writer_args),
	    cmocka_unit_test(test_writer_header_failure),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
