/*
 * libkvmi tools - secret.h: where the command-line programs (kvmi-unhookd,
 * kvmi-fakehost) take the cookie secret from: --secret, --secret-file or
 * the KVMI_SECRET environment variable.
 */
#ifndef KVMI_TOOLS_SECRET_H
#define KVMI_TOOLS_SECRET_H

#include <stddef.h>

#define SECRET_ENV "KVMI_SECRET"
#define SECRET_MAX 4096 /* bytes */

/*
 * secret_resolve - the secret from @arg (--secret S, may be NULL) or the
 * file @file (--secret-file PATH, may be NULL) - at most one of the two -
 * or else from $KVMI_SECRET.  A file gives its bytes less one trailing
 * newline ("\n" or "\r\n"), read into @buf (@cap bytes, at least
 * SECRET_MAX + 3).  Sets *@out to the secret (@arg, @buf or the environment
 * string) or NULL when none was given.  Returns 0, or -1 with a message
 * naming the option and what was wrong in @err: both options given, a
 * file that cannot be read, is empty, is longer than SECRET_MAX bytes or
 * holds a NUL byte, an empty --secret or KVMI_SECRET.
 */
int secret_resolve(const char *arg, const char *file, char *buf, size_t cap,
		   const char **out, char *err, size_t errlen);

#endif
