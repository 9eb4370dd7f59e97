/*
 * libkvmi - log.c: the per-server log callback (no global state).
 */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

void kvmi__log(struct kvmi_server *srv, struct kvmi_dom *dom,
	       enum kvmi_log_level level, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n = 0;

	if (!srv || !srv->cfg.log || level < srv->cfg.log_level)
		return;
	if (dom && dom->identity.name[0])
		n = snprintf(line, sizeof(line), "guest=%s ", dom->identity.name);
	else if (dom)
		n = snprintf(line, sizeof(line), "fd=%d ", dom->fd);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	srv->cfg.log(level, line, dom, srv->cfg.ctx);
}
