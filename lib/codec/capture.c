/*
 * libkvmi - capture.c: reader and writer of recorded message streams
 * (format documented in include/kvmi/capture.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <kvmi/capture.h>

#include "alloc.h"

#define FILE_HDR_SIZE 32
#define REC_HDR_SIZE 16
#define BYTE_ORDER_MARK 0x01020304u
static const char magic[8] = {'K', 'V', 'M', 'I', 'C', 'A', 'P', 0};

struct kvmi_capture_reader {
	__u8 *owned;	   /* file contents when opened from a path */
	const __u8 *data;
	size_t len;
	size_t pos;
	int swap;	   /* file written with the other byte order */
	int failed;
	uint64_t start_ns;
	char err[160];
};

struct kvmi_capture_writer {
	int fd;
	int failed;
	uint64_t start_ns;
};

static uint16_t rd16(const struct kvmi_capture_reader *r, const __u8 *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return r->swap ? __builtin_bswap16(v) : v;
}

static uint32_t rd32(const struct kvmi_capture_reader *r, const __u8 *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return r->swap ? __builtin_bswap32(v) : v;
}

static uint64_t rd64(const struct kvmi_capture_reader *r, const __u8 *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return r->swap ? __builtin_bswap64(v) : v;
}

__attribute__((format(printf, 2, 3))) static int
rfail(struct kvmi_capture_reader *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	r->failed = 1;
	return KVMI_E_CAPTURE_FORMAT;
}

static int check_header(struct kvmi_capture_reader *r)
{
	uint32_t bom;
	uint16_t version, hsize;

	if (r->len < FILE_HDR_SIZE)
		return rfail(r, "file of %zu bytes is shorter than the %d-byte "
				"capture header",
			     r->len, FILE_HDR_SIZE);
	if (memcmp(r->data, magic, sizeof(magic)) != 0)
		return rfail(r, "bad magic at offset 0: not a libkvmi capture");
	memcpy(&bom, r->data + 12, sizeof(bom));
	if (bom == __builtin_bswap32(BYTE_ORDER_MARK))
		r->swap = 1;
	else if (bom != BYTE_ORDER_MARK)
		return rfail(r, "unknown byte order mark 0x%08x at offset 12",
			     bom);
	version = rd16(r, r->data + 8);
	if (version != KVMI_CAPTURE_VERSION)
		return rfail(r, "unsupported capture version %u at offset 8",
			     version);
	hsize = rd16(r, r->data + 10);
	if (hsize < FILE_HDR_SIZE || hsize > r->len)
		return rfail(r, "bad header size %u at offset 10", hsize);
	r->start_ns = rd64(r, r->data + 16);
	r->pos = hsize;
	return 0;
}

static int open_common(struct kvmi_capture_reader *r,
		       struct kvmi_capture_reader **out, char *errbuf,
		       size_t errlen)
{
	int err = check_header(r);

	if (err) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "%s", r->err);
		free(r->owned);
		free(r);
		return err;
	}
	*out = r;
	return 0;
}

KVMI_EXPORT int kvmi_capture_reader_open_mem(const void *buf, size_t len,
					     struct kvmi_capture_reader **out,
					     char *errbuf, size_t errlen)
{
	struct kvmi_capture_reader *r;

	if ((!buf && len) || !out)
		return -EINVAL;
	r = kvmi__calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->data = buf;
	r->len = len;
	return open_common(r, out, errbuf, errlen);
}

KVMI_EXPORT int kvmi_capture_reader_open(const char *path,
					 struct kvmi_capture_reader **out,
					 char *errbuf, size_t errlen)
{
	struct kvmi_capture_reader *r;
	struct stat st;
	size_t got = 0;
	int fd, err;

	if (!path || !out)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		err = -errno;
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "%s: %s", path, strerror(-err));
		if (fd >= 0)
			close(fd);
		return err;
	}
	r = kvmi__calloc(1, sizeof(*r));
	if (r)
		r->owned = kvmi__malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!r || !r->owned) {
		free(r);
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, r->owned + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			if (errbuf && errlen)
				snprintf(errbuf, errlen, "%s: read: %s", path,
					 strerror(-err));
			close(fd);
			free(r->owned);
			free(r);
			return err;
		}
		got += (size_t)n;
	}
	close(fd);
	r->data = r->owned;
	r->len = got;
	return open_common(r, out, errbuf, errlen);
}

KVMI_EXPORT int kvmi_capture_reader_next(struct kvmi_capture_reader *r,
					 struct kvmi_capture_record *rec)
{
	const __u8 *p;
	uint32_t len;

	if (!r || !rec)
		return -EINVAL;
	if (r->failed)
		return KVMI_E_CAPTURE_FORMAT;
	if (r->pos == r->len)
		return 0;
	if (r->len - r->pos < REC_HDR_SIZE)
		return rfail(r, "file ends inside a record header at offset %zu",
			     r->pos);
	p = r->data + r->pos;
	if (p[0] > KVMI_CAPTURE_EOF)
		return rfail(r, "unknown record type %u at offset %zu", p[0],
			     r->pos);
	if (p[1] > KVMI_DIR_TOOL_TO_HOST)
		return rfail(r, "unknown direction %u at offset %zu", p[1],
			     r->pos + 1);
	len = rd32(r, p + 4);
	if (len > KVMI_CAPTURE_MAX_RECORD)
		return rfail(r, "record length %u at offset %zu exceeds %u", len,
			     r->pos + 4, KVMI_CAPTURE_MAX_RECORD);
	if (p[0] == KVMI_CAPTURE_EOF && len)
		return rfail(r, "end-of-stream record with %u bytes at offset %zu",
			     len, r->pos);
	if (r->len - r->pos - REC_HDR_SIZE < len)
		return rfail(r, "file ends inside a %u-byte record at offset %zu",
			     len, r->pos);
	rec->type = p[0];
	rec->dir = p[1];
	rec->time_ns = rd64(r, p + 8);
	rec->offset = r->pos;
	rec->data = len ? p + REC_HDR_SIZE : NULL;
	rec->len = len;
	r->pos += REC_HDR_SIZE + len;
	return 1;
}

KVMI_EXPORT uint64_t
kvmi_capture_reader_start_ns(const struct kvmi_capture_reader *r)
{
	return r ? r->start_ns : 0;
}

KVMI_EXPORT const char *
kvmi_capture_reader_error(const struct kvmi_capture_reader *r)
{
	return r && r->failed ? r->err : NULL;
}

KVMI_EXPORT void kvmi_capture_reader_free(struct kvmi_capture_reader *r)
{
	if (!r)
		return;
	free(r->owned);
	free(r);
}

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const __u8 *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

KVMI_EXPORT int kvmi_capture_writer_open_fd(int fd,
					    struct kvmi_capture_writer **out)
{
	return kvmi_capture_writer_open_fd_start(fd, UINT64_MAX, out);
}

KVMI_EXPORT int
kvmi_capture_writer_open_fd_start(int fd, uint64_t start_ns,
				  struct kvmi_capture_writer **out)
{
	struct kvmi_capture_writer *w;
	__u8 hdr[FILE_HDR_SIZE] = {0};
	uint16_t version = KVMI_CAPTURE_VERSION, hsize = FILE_HDR_SIZE;
	uint32_t bom = BYTE_ORDER_MARK;
	int err;

	if (fd < 0 || !out) {
		if (fd >= 0)
			close(fd);
		return -EINVAL;
	}
	w = kvmi__calloc(1, sizeof(*w));
	if (!w) {
		close(fd);
		return -ENOMEM;
	}
	w->fd = fd;
	w->start_ns = start_ns == UINT64_MAX ? realtime_ns() : start_ns;
	memcpy(hdr, magic, sizeof(magic));
	memcpy(hdr + 8, &version, 2);
	memcpy(hdr + 10, &hsize, 2);
	memcpy(hdr + 12, &bom, 4);
	memcpy(hdr + 16, &w->start_ns, 8);
	err = write_all(fd, hdr, sizeof(hdr));
	if (err) {
		close(fd);
		free(w);
		return err;
	}
	*out = w;
	return 0;
}

KVMI_EXPORT int kvmi_capture_writer_open(const char *path,
					 struct kvmi_capture_writer **out)
{
	int fd;

	if (!path || !out)
		return -EINVAL;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	return kvmi_capture_writer_open_fd(fd, out);
}

KVMI_EXPORT int kvmi_capture_writer_add(struct kvmi_capture_writer *w,
					enum kvmi_capture_type type,
					enum kvmi_direction dir,
					uint64_t time_ns, const void *data,
					size_t len)
{
	__u8 hdr[REC_HDR_SIZE] = {0};
	uint32_t len32 = (uint32_t)len;
	int err;

	if (!w || (type != KVMI_CAPTURE_DATA && type != KVMI_CAPTURE_EOF) ||
	    (dir != KVMI_DIR_HOST_TO_TOOL && dir != KVMI_DIR_TOOL_TO_HOST) ||
	    len > KVMI_CAPTURE_MAX_RECORD || (len && !data) ||
	    (type == KVMI_CAPTURE_EOF && len))
		return -EINVAL;
	if (w->failed)
		return w->failed;
	if (time_ns == UINT64_MAX) {
		uint64_t now = realtime_ns();

		time_ns = now > w->start_ns ? now - w->start_ns : 0;
	}
	hdr[0] = (__u8)type;
	hdr[1] = (__u8)dir;
	memcpy(hdr + 4, &len32, 4);
	memcpy(hdr + 8, &time_ns, 8);
	err = write_all(w->fd, hdr, sizeof(hdr));
	if (!err && len)
		err = write_all(w->fd, data, len);
	if (err)
		w->failed = err;
	return err;
}

KVMI_EXPORT int kvmi_capture_writer_close(struct kvmi_capture_writer *w)
{
	int err;

	if (!w)
		return 0;
	err = w->failed;
	if (close(w->fd) < 0 && !err)
		err = -errno;
	free(w);
	return err;
}
