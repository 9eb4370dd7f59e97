/*
 * libkvmi - tools/dump_format.h: one-line text form of a decoded message,
 * shared by kvmi-dump and the golden-output tests.
 */
#ifndef KVMI_DUMP_FORMAT_H
#define KVMI_DUMP_FORMAT_H

#include <stddef.h>

#include <kvmi/codec.h>

/* Format @m (decoded in direction @dir) into @out (NUL-terminated,
 * truncated to @len).  Returns the length it would have had. */
int kvmi_dump_format(char *out, size_t len, enum kvmi_direction dir,
		     const struct kvmi_msg *m);
/* the same for a message decoded in dialect @d */
int kvmi_dump_format_d(char *out, size_t len, enum kvmi_dialect d,
		       enum kvmi_direction dir, const struct kvmi_msg *m);

/*
 * Telling a capture's dialect from its messages, both directions in the
 * order they crossed: a successful GET_VERSION reply decides v6 / kvmi-v7
 * / v12 (KVMI-V7.md sec. 14), and on kvmi-v7 a CHECK_COMMAND of id 39
 * answered 0 means the 2023 generation.
 */
struct kvmi_dump_detect {
	enum kvmi_dialect dialect; /* so far (v6 at the start) */
	int seen_version;
	int probing;
	uint32_t probe_seq;
};

void kvmi_dump_detect_init(struct kvmi_dump_detect *t);
/* look at @m; 1 when t->dialect changed (then @note says why, one line
 * starting with "# "), 0 otherwise */
int kvmi_dump_detect(struct kvmi_dump_detect *t, enum kvmi_direction dir,
		     const struct kvmi_msg *m, char *note, size_t len);

#endif
