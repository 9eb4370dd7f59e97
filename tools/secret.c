/*
 * libkvmi tools - secret.c: the cookie secret of the command-line programs
 * from --secret, --secret-file or $KVMI_SECRET (see secret.h).
 */
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int read_secret_file(const char *path, char *buf, size_t cap,
			    char *err, size_t errlen)
{
	size_t n = 0;
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "--secret-file %s: %s", path,
			 strerror(errno));
		return -1;
	}
	/* read one byte past the limit to tell "too long" */
	while (n < cap - 1 && n <= SECRET_MAX &&
	       (r = read(fd, buf + n, cap - 1 - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "--secret-file %s: %s", path,
				 strerror(errno));
			close(fd);
			return -1;
		}
		n += (size_t)r;
	}
	close(fd);
	if (n && buf[n - 1] == '\n')
		n--;
	if (n && buf[n - 1] == '\r')
		n--;
	buf[n] = 0;
	if (!n || n > SECRET_MAX || memchr(buf, 0, n)) {
		snprintf(err, errlen, "--secret-file %s: %s", path,
			 !n ? "the file is empty"
			 : n > SECRET_MAX ? "longer than 4096 bytes"
					  : "holds a NUL byte");
		return -1;
	}
	return 0;
}

int secret_resolve(const char *arg, const char *file, char *buf, size_t cap,
		   const char **out, char *err, size_t errlen)
{
	const char *env = getenv(SECRET_ENV);

	*out = NULL;
	if (arg && file) {
		snprintf(err, errlen, "--secret and --secret-file: give one");
		return -1;
	}
	if (file) {
		if (cap < SECRET_MAX + 3) {
			snprintf(err, errlen, "--secret-file: no buffer");
			return -1;
		}
		if (read_secret_file(file, buf, cap, err, errlen))
			return -1;
		*out = buf;
		return 0;
	}
	if (arg && !*arg) {
		snprintf(err, errlen, "--secret: empty");
		return -1;
	}
	if (!arg && env && !*env) {
		snprintf(err, errlen, "%s is set but empty", SECRET_ENV);
		return -1;
	}
	*out = arg ? arg : env;
	return 0;
}
