/*
 * libkvmi - log.c: the per-server log callback (no global state) and the
 * logfmt quoting of values taken from the wire.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* a byte that may stand in a logfmt value without quotes */
static int bare(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '"' && c != '=' && c != '\\';
}

KVMI_EXPORT size_t kvmi_logfmt_value(char *out, size_t cap, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0, i;
	int quote = !*p;

	if (!cap)
		return 0;
	for (i = 0; p[i] && !quote; i++)
		quote = !bare(p[i]);
	if (!quote) {
		n = strlen(s) < cap ? strlen(s) : cap - 1;
		memcpy(out, s, n);
		out[n] = 0;
		return n;
	}
	if (cap < 3) { /* no room for "" */
		out[0] = 0;
		return 0;
	}
	out[n++] = '"';
	for (; *p; p++) {
		char e[4];
		size_t len = 0;

		if (*p == '"' || *p == '\\') {
			e[len++] = '\\';
			e[len++] = (char)*p;
		} else if (*p == '\n' || *p == '\r' || *p == '\t') {
			e[len++] = '\\';
			e[len++] = *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't';
		} else if (*p < 0x20 || *p >= 0x7f) {
			e[len++] = '\\';
			e[len++] = 'x';
			e[len++] = hex[*p >> 4];
			e[len++] = hex[*p & 15];
		} else {
			e[len++] = (char)*p;
		}
		if (n + len + 2 > cap) /* keep room for the quote and NUL */
			break;
		memcpy(out + n, e, len);
		n += len;
	}
	out[n++] = '"';
	out[n] = 0;
	return n;
}

void kvmi__log(struct kvmi_server *srv, struct kvmi_dom *dom,
	       enum kvmi_log_level level, const char *fmt, ...)
{
	char line[512], name[4 * sizeof(dom->identity.name) + 3];
	va_list ap;
	int n = 0;

	if (!srv || !srv->cfg.log || level < srv->cfg.log_level)
		return;
	if (dom && dom->identity.name[0]) {
		kvmi_logfmt_value(name, sizeof(name), dom->identity.name);
		n = snprintf(line, sizeof(line), "guest=%s ", name);
	} else if (dom) {
		n = snprintf(line, sizeof(line), "fd=%d ", dom->fd);
	}
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	srv->cfg.log(level, line, dom, srv->cfg.ctx);
}
