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

#endif
