/*
 * libkvmi - examples/unhookd/hooksfile.c: kvmi-unhookd's hooks file (one
 * 'bp GPA' or 'page GPA ACCESS' per line, '#' comments) read into a
 * reference-counted set of hooks, or the demo's defaults without one.
 * A guest keeps the set it was hooked with, so a SIGHUP reload changes
 * only guests that connect afterwards.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "unhookd.h"

const uint64_t demo_bps[5] = {0x3010, 0x3200, 0x5008, 0x6100, 0x9040};
const uint64_t demo_page = 0x7000;

/* a load error: on stderr and, once the daemon runs (a reload), logged */
static void load_error(int log, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void load_error(int log, const char *fmt, ...)
{
	char msg[512], q[4 * 512 + 3];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "kvmi-unhookd: %s\n", msg);
	if (log) {
		kvmi_logfmt_value(q, sizeof(q), msg);
		logkv("error", "event=hooks-error msg=%s", q);
	}
}

static struct hookset *set_new(void)
{
	struct hookset *s = calloc(1, sizeof(*s) + MAX_HOOKS * sizeof(s->h[0]));

	if (s)
		s->refs = 1;
	return s;
}

static void demo_hooks(struct hookset *s)
{
	for (size_t i = 0; i < sizeof(demo_bps) / sizeof(demo_bps[0]); i++)
		s->h[s->n++] = (struct hook){.gpa = demo_bps[i]};
	s->h[s->n++] = (struct hook){
		.is_page = 1,
		.gpa = demo_page,
		.access = KVMI_PAGE_ACCESS_R | KVMI_PAGE_ACCESS_X};
}

/* 'rwx' letters or '-' into *@access; -1 for anything else */
static int parse_access(const char *acc, uint8_t *access)
{
	for (const char *c = acc; *c; c++) {
		if (*c == 'r')
			*access |= KVMI_PAGE_ACCESS_R;
		else if (*c == 'w')
			*access |= KVMI_PAGE_ACCESS_W;
		else if (*c == 'x')
			*access |= KVMI_PAGE_ACCESS_X;
		else if (*c != '-')
			return -1;
	}
	return 0;
}

static int load_file(struct hookset *s, const char *path, int log)
{
	FILE *f = fopen(path, "r");
	char line[256];
	int lineno = 0, err = 0;

	if (!f) {
		load_error(log, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (!err && fgets(line, sizeof(line), f)) {
		char kind[16], addr[64], acc[16] = "";
		struct hook h = {0};
		int n;

		lineno++;
		line[strcspn(line, "#\n")] = 0;
		n = sscanf(line, "%15s %63s %15s", kind, addr, acc);
		if (n <= 0)
			continue;
		if (n < 2 || parse_u64(addr, &h.gpa) ||
		    (strcmp(kind, "bp") && strcmp(kind, "page")) ||
		    (!strcmp(kind, "page") && n != 3) ||
		    (!strcmp(kind, "bp") && n != 2)) {
			load_error(log, "%s:%d: expected 'bp GPA' or "
					"'page GPA ACCESS'",
				   path, lineno);
			err = -1;
		} else if (!strcmp(kind, "page") &&
			   ((h.is_page = 1), parse_access(acc, &h.access))) {
			load_error(log, "%s:%d: bad access '%s'", path, lineno,
				   acc);
			err = -1;
		} else if (s->n == MAX_HOOKS) {
			load_error(log, "%s: more than %d hooks", path,
				   MAX_HOOKS);
			err = -1;
		} else {
			s->h[s->n++] = h;
		}
	}
	fclose(f);
	return err;
}

struct hookset *hookset_load(const char *path, int log)
{
	struct hookset *s = set_new();

	if (!s) {
		load_error(log, "out of memory");
		return NULL;
	}
	if (!path)
		demo_hooks(s);
	else if (load_file(s, path, log)) {
		free(s);
		return NULL;
	}
	return s;
}

struct hookset *hookset_ref(struct hookset *s)
{
	s->refs++;
	return s;
}

void hookset_unref(struct hookset *s)
{
	if (s && --s->refs == 0)
		free(s);
}
