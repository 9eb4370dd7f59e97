/*
 * libkvmi - examples/unhookd/demo.c: kvmi-unhookd --demo: runs
 * kvmi-fakehost (the secret in its environment, never on its command
 * line) against a private socket with the demo's hot addresses, and at
 * the end prints kvmi-fakehost's verdict per guest beside what the daemon
 * counted.
 */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unhookd.h"


/* the value of "@key" in a report line into @out: a string's contents
 * (@quoted) or a number's text; "" when absent */
static const char *json_get(const char *line, const char *key, int quoted,
			    char *out, size_t len)
{
	char pat[64];
	const char *p;
	size_t n = 0;

	snprintf(pat, sizeof(pat), "\"%s\":%s", key, quoted ? "\"" : "");
	p = strstr(line, pat);
	out[0] = 0;
	if (!p)
		return out;
	p += strlen(pat);
	while (*p && n + 1 < len &&
	       (quoted ? *p != '"' : *p != ',' && *p != '}'))
		out[n++] = *p++;
	out[n] = 0;
	return out;
}

int demo_summary(void)
{
	FILE *f = fopen(d.report, "r");
	char line[1 << 14];
	int clean = 0, total = 0;

	if (!f) {
		fprintf(stderr, "kvmi-unhookd: no report from kvmi-fakehost\n");
		return 1;
	}
	printf("\n%-16s %6s %8s %10s %6s %10s  %s\n", "guest", "bps", "hits",
	       "unhook_ms", "pages", "bytes_diff", "verdict");
	while (fgets(line, sizeof(line), f)) {
		char name[64], verdict[256], ums[32], diff[32];
		struct guest *g = NULL;

		json_get(line, "name", 1, name, sizeof(name));
		json_get(line, "verdict", 1, verdict, sizeof(verdict));
		json_get(line, "unhook_ms", 0, ums, sizeof(ums));
		json_get(line, "bytes_differing", 0, diff, sizeof(diff));
		for (struct guest *i = d.table; i; i = i->next)
			if (!strcmp(i->name, name))
				g = i;
		printf("%-16s %6u %8" PRIu64 " %10s %6u %10s  %s\n", name,
		       g ? g->bps : 0, g ? g->hits : 0, ums, g ? g->pages : 0,
		       diff, verdict);
		total++;
		clean += !strcmp(verdict, "clean");
	}
	fclose(f);
	printf("\n%d of %d guests clean (kvmi-fakehost's verdict: memory "
	       "byte-identical, pages rwx, no unexpected #BP, closed in time)\n",
	       clean, total);
	return total == (int)d.guests && clean == total && d.proc_status == 0
		       ? 0
		       : 1;
}

static void on_fakehost_exit(uv_process_t *p, int64_t status, int sig)
{
	(void)sig;
	d.proc_status = (int)status;
	uv_close((uv_handle_t *)p, NULL);
	stop();
}

static int find_fakehost(char *out, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (d.fakehost) {
		snprintf(out, len, "%s", d.fakehost);
		return access(out, X_OK);
	}
	if (n <= 0)
		return -1;
	self[n] = 0;
	snprintf(out, len, "%s/../tools/fakehost/kvmi-fakehost", dirname(self));
	return access(out, X_OK);
}

extern char **environ;

/* @o's environment: ours with KVMI_SECRET set to the secret */
static int demo_env(uv_process_options_t *o)
{
	size_t n = 0, k = 0, len = strlen(SECRET_ENV "=") + strlen(d.secret) + 1;

	while (environ[n])
		n++;
	o->env = calloc(n + 2, sizeof(char *));
	d.secret_env = malloc(len);
	if (!o->env || !d.secret_env) {
		free(o->env);
		free(d.secret_env);
		o->env = NULL;
		d.secret_env = NULL;
		fprintf(stderr, "kvmi-unhookd: out of memory\n");
		return -1;
	}
	snprintf(d.secret_env, len, "%s=%s", SECRET_ENV, d.secret);
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], SECRET_ENV "=", strlen(SECRET_ENV "=")))
			o->env[k++] = environ[i];
	o->env[k++] = d.secret_env;
	o->env[k] = NULL;
	return 0;
}

int start_demo(void)
{
	static char exe[PATH_MAX], guests[16], hot[256];
	char *args[32], q[4 * PATH_MAX + 3];
	uv_process_options_t o = {0};
	uv_stdio_container_t io[3];
	int n = 0, err;

	if (find_fakehost(exe, sizeof(exe))) {
		fprintf(stderr, "kvmi-unhookd: kvmi-fakehost not found (%s); "
				"use --fakehost PATH\n",
			exe);
		return -1;
	}
	snprintf(guests, sizeof(guests), "%u", d.guests);
	hot[0] = 0;
	for (size_t i = 0; i < sizeof(demo_bps) / sizeof(demo_bps[0]); i++)
		snprintf(hot + strlen(hot), sizeof(hot) - strlen(hot), "%s0x%llx",
			 i ? "," : "", (unsigned long long)demo_bps[i]);
	snprintf(hot + strlen(hot), sizeof(hot) - strlen(hot), ",0x%llx",
		 (unsigned long long)demo_page + 0x10);
	args[n++] = exe;
	args[n++] = "--connect";
	args[n++] = d.sock;
	args[n++] = "--guests";
	args[n++] = guests;
	args[n++] = "--vcpus";
	args[n++] = "2";
	args[n++] = "--hot-gpa";
	args[n++] = hot;
	args[n++] = "--unhook-after-ms";
	args[n++] = "1500";
	args[n++] = "--unhook-timeout-ms";
	args[n++] = "10000";
	args[n++] = "--report";
	args[n++] = d.report;
	if (d.dialect) {
		args[n++] = "--dialect";
		args[n++] = (char *)d.dialect;
	}
	args[n] = NULL;
	/* the secret goes in the environment (readable only by our uid in
	 * /proc/PID/environ), never on the command line */
	if (d.secret && demo_env(&o))
		return -1;
	io[0].flags = UV_IGNORE;
	io[1].flags = UV_IGNORE;
	io[2].flags = UV_INHERIT_FD;
	io[2].data.fd = 2;
	o.file = exe;
	o.args = args;
	o.exit_cb = on_fakehost_exit;
	o.stdio = io;
	o.stdio_count = 3;
	err = uv_spawn(d.loop, &d.proc, &o);
	free(o.env);
	if (d.secret_env) {
		memset(d.secret_env, 0, strlen(d.secret_env));
		free(d.secret_env);
		d.secret_env = NULL;
	}
	if (err) {
		fprintf(stderr, "kvmi-unhookd: cannot start %s: %s\n", exe,
			uv_strerror(err));
		return -1;
	}
	kvmi_logfmt_value(q, sizeof(q), exe);
	logkv("info", "event=demo-started fakehost=%s pid=%d guests=%u hot=%s", q,
	      d.proc.pid, d.guests, hot);
	return 0;
}
