/*
 * libkvmi - capture.h: recorded message streams (reader and writer).
 *
 * A capture holds both directions of one connection as the bytes crossed
 * the socket, so a stream can be replayed through the decoder exactly as
 * it was seen (with the same chunking, or any other).
 *
 * File format, version 1 (all integers in the byte order of the host that
 * wrote the file, told by the byte_order field):
 *
 *   file header, 32 bytes:
 *     off  0  8  magic       "KVMICAP\0"
 *     off  8  2  version     1
 *     off 10  2  header_size 32 (a reader skips bytes beyond what it knows)
 *     off 12  4  byte_order  0x01020304 as written by the producer
 *     off 16  8  start_ns    CLOCK_REALTIME of the first record, ns
 *     off 24  8  reserved    0
 *   then records until end of file, each a 16-byte header and its bytes:
 *     off  0  1  type        0 = data, 1 = end of stream in that direction
 *     off  1  1  direction   0 = host -> tool, 1 = tool -> host
 *                            (enum kvmi_direction)
 *     off  2  2  reserved    0
 *     off  4  4  length      bytes that follow (0 for type 1);
 *                            at most KVMI_CAPTURE_MAX_RECORD
 *     off  8  8  time_ns     nanoseconds since start_ns
 *
 * A reader refuses a bad magic, an unknown version, a byte order it cannot
 * convert, an unknown record type or direction, a record longer than the
 * limit, and a file cut inside a record, each with KVMI_E_CAPTURE_FORMAT
 * and a message naming the offset.
 *
 * Thread rules: one reader or writer per thread at a time.
 */
#ifndef KVMI_CAPTURE_H
#define KVMI_CAPTURE_H

#include <kvmi/common.h>
#include <kvmi/error.h>
#include <kvmi/codec.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KVMI_CAPTURE_VERSION 1
#define KVMI_CAPTURE_MAX_RECORD (1u << 20)

enum kvmi_capture_type {
	KVMI_CAPTURE_DATA = 0,
	KVMI_CAPTURE_EOF = 1,
};

/* One record as returned by the reader. */
struct kvmi_capture_record {
	enum kvmi_capture_type type;
	enum kvmi_direction dir;
	uint64_t time_ns;   /* since the capture's start */
	uint64_t offset;    /* file offset of the record header */
	const void *data;   /* borrowed: valid until the next call on the
			       reader; NULL when len is 0 */
	size_t len;
};

struct kvmi_capture_reader;
struct kvmi_capture_writer;

/*
 * kvmi_capture_reader_open - open the capture at @path and check its
 * header.  On success stores a new reader in *@out (free with
 * kvmi_capture_reader_free) and returns 0; otherwise returns -errno from
 * opening/reading or KVMI_E_CAPTURE_FORMAT, *@out untouched.  When @errbuf
 * is not NULL, a message naming the problem is written there (at most
 * @errlen bytes, NUL-terminated).
 */
KVMI_EXPORT int kvmi_capture_reader_open(const char *path,
					 struct kvmi_capture_reader **out,
					 char *errbuf, size_t errlen);

/* kvmi_capture_reader_open_mem - same over @len bytes at @buf (borrowed:
 * must stay valid while the reader lives). */
KVMI_EXPORT int kvmi_capture_reader_open_mem(const void *buf, size_t len,
					     struct kvmi_capture_reader **out,
					     char *errbuf, size_t errlen);

/*
 * kvmi_capture_reader_next - the next record.  Returns 1 and fills @rec,
 * 0 at the clean end of the file, or a negative error
 * (KVMI_E_CAPTURE_FORMAT, -errno); then kvmi_capture_reader_error() says
 * what and where.
 */
KVMI_EXPORT int kvmi_capture_reader_next(struct kvmi_capture_reader *r,
					 struct kvmi_capture_record *rec);

/* kvmi_capture_reader_start_ns - the header's start_ns. */
KVMI_EXPORT uint64_t
kvmi_capture_reader_start_ns(const struct kvmi_capture_reader *r);

/* kvmi_capture_reader_error - last error text (reader-owned) or NULL. */
KVMI_EXPORT const char *
kvmi_capture_reader_error(const struct kvmi_capture_reader *r);

/* kvmi_capture_reader_free - close and release (NULL accepted). */
KVMI_EXPORT void kvmi_capture_reader_free(struct kvmi_capture_reader *r);

/*
 * kvmi_capture_writer_open - create (or truncate) @path, mode 0600, and
 * write the file header.  Returns 0 and a writer in *@out, or -errno.
 */
KVMI_EXPORT int kvmi_capture_writer_open(const char *path,
					 struct kvmi_capture_writer **out);

/* kvmi_capture_writer_open_fd - same on an open fd; the writer owns @fd
 * from then on (closed by kvmi_capture_writer_close, even on failure). */
KVMI_EXPORT int kvmi_capture_writer_open_fd(int fd,
					    struct kvmi_capture_writer **out);

/*
 * kvmi_capture_writer_open_fd_start - like kvmi_capture_writer_open_fd
 * with the header's start_ns given (UINT64_MAX = now), so generated
 * captures are reproducible byte for byte.
 */
KVMI_EXPORT int
kvmi_capture_writer_open_fd_start(int fd, uint64_t start_ns,
				  struct kvmi_capture_writer **out);

/*
 * kvmi_capture_writer_add - append one record.  @time_ns of
 * UINT64_MAX means "now" (CLOCK_REALTIME minus the start).  @data is
 * copied.  Returns 0 or a negative error (-EINVAL for a bad type,
 * direction or a length over KVMI_CAPTURE_MAX_RECORD, -errno on write
 * failure; the writer is then failed and refuses further records).
 */
KVMI_EXPORT int kvmi_capture_writer_add(struct kvmi_capture_writer *w,
					enum kvmi_capture_type type,
					enum kvmi_direction dir,
					uint64_t time_ns, const void *data,
					size_t len);

/* kvmi_capture_writer_close - flush, close and release (NULL accepted).
 * Returns 0 or the first write/close error. */
KVMI_EXPORT int kvmi_capture_writer_close(struct kvmi_capture_writer *w);

#ifdef __cplusplus
}
#endif

#endif /* KVMI_CAPTURE_H */
