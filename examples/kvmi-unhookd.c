/*
 * libkvmi - examples/kvmi-unhookd.c: an introspection daemon that hooks
 * every guest that connects (breakpoints and page restrictions from a
 * file, or demo defaults), logs the hits, and on KVMI_EVENT_UNHOOK - or on
 * SIGINT/SIGTERM, for every guest - takes every hook back and closes the
 * channel within a deadline.  `--demo` runs it against kvmi-fakehost and
 * prints whether every guest was left clean.
 *
 * Log lines are key=value (logfmt) on stdout; every value that comes from
 * the wire (guest names, library messages quoting them) is quoted and
 * escaped by kvmi_logfmt_value(), so a guest cannot forge a line.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <kvmi/kvmi.h>

#include "secret.h"

#define MAX_HOOKS 4096
#define MAX_DEMO_GUESTS 4096
#define DEFAULT_MAX_GUESTS 1024
#define MAX_ALLOW 256 /* --allow-uid / --allow-cid entries */
#define HIT_LOG_LIMIT 3

struct hook {
	int is_page;
	uint64_t gpa;
	uint8_t access;
};

/* one connected guest (and, in the demo, a finished one kept for the
 * summary); allocated when it connects, freed when it goes */
struct guest {
	struct guest *next, *prev;
	char name[64];
	char qname[4 * 64 + 3]; /* name as a logfmt value */
	unsigned int bps;
	unsigned int pages;
	uint64_t hits;
	uint64_t pfs;
	struct kvmi_unhook_report report;
	int unhooked;
	size_t hooks_pending; /* placements not answered yet */
};

static struct {
	const char *listen;
	unsigned int vsock; /* 0: none */
	const char *secret, *secret_arg, *secret_file;
	char secret_buf[SECRET_MAX + 3];
	uid_t uids[MAX_ALLOW];
	size_t nuids;
	unsigned int cids[MAX_ALLOW];
	size_t ncids;
	unsigned int max_guests;
	int max_guests_set;
	const char *hooks_file;
	unsigned int deadline_ms;
	unsigned int command_timeout_ms; /* 0: the library's 10000 */
	int demo;
	unsigned int guests;
	const char *fakehost;
	int verbose;
	struct hook hooks[MAX_HOOKS];
	size_t nhooks;
	struct guest *table; /* connected (demo: and finished) guests */
	size_t nlive;	      /* connected */
	struct kvmi_server *srv;
	uv_loop_t *loop;
	uv_signal_t sigint, sigterm;
	int stopping;
	/* demo */
	uv_process_t proc;
	int proc_status;
	char dir[64], report[128], sock[128];
	char *secret_env; /* KVMI_SECRET=... for kvmi-fakehost's spawn */
} d = {.deadline_ms = 5000, .guests = 4, .max_guests = DEFAULT_MAX_GUESTS};

/* the demo's hooks: addresses kvmi-fakehost's vCPUs execute */
static const uint64_t demo_bps[] = {0x3010, 0x3200, 0x5008, 0x6100, 0x9040};
static const uint64_t demo_page = 0x7000;

static void logkv(const char *level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void logkv(const char *level, const char *fmt, ...)
{
	struct timespec ts;
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	printf("ts=%lld.%03ld level=%s ", (long long)ts.tv_sec,
	       ts.tv_nsec / 1000000, level);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: kvmi-unhookd --listen PATH [OPTION]...\n"
		"       kvmi-unhookd --demo [--guests N] [OPTION]...\n"
		"An introspection daemon on libkvmi: hooks every guest that\n"
		"connects, logs breakpoint hits, and when QEMU asks (KVMI_EVENT_\n"
		"UNHOOK) or on SIGINT/SIGTERM takes every hook back and closes\n"
		"the channel within a deadline.\n"
		"\n"
		"  --listen PATH      unix socket QEMU connects to (mode 0600)\n"
		"  --vsock PORT       also listen on this vsock port (1..\n"
		"                     4294967294)\n"
		"  --allow-uid UID    accept unix connections only from these\n"
		"                     peer uids (SO_PEERCRED); repeatable\n"
		"  --allow-cid CID    accept vsock connections only from these\n"
		"                     VM CIDs; repeatable\n"
		"  --max-guests N     guests connected at once, default 1024;\n"
		"                     one more is refused (logged with the limit)\n"
		"  --secret S         cookie: QEMU checks SHA-1(S).  S is visible\n"
		"                     to every user in /proc/PID/cmdline:\n"
		"                     prefer --secret-file or KVMI_SECRET\n"
		"  --secret-file PATH\n"
		"                     the secret is the file's contents less\n"
		"                     one trailing newline (at most 4096 bytes)\n"
		"  KVMI_SECRET=S      (environment) the secret when neither\n"
		"                     option is given\n"
		"  --hooks FILE       hooks to place in every guest (below);\n"
		"                     without it: demo defaults\n"
		"  --deadline-ms N    unhook deadline, default 5000\n"
		"  --command-timeout-ms N\n"
		"                     a guest that leaves a command unanswered\n"
		"                     this long is closed (its hooks' restores\n"
		"                     sent first), default 10000\n"
		"  --demo             run kvmi-fakehost against a private\n"
		"                     socket, let events flow, trigger the\n"
		"                     unhook, print a summary; exit 0 only if\n"
		"                     every guest was left clean\n"
		"  --guests N         guests in the demo, default 4 (the demo\n"
		"                     hands the secret to kvmi-fakehost in its\n"
		"                     environment, never on its command line)\n"
		"  --fakehost PATH    kvmi-fakehost to run (default: next to\n"
		"                     this program's build directory)\n"
		"  -v, --verbose      log every breakpoint hit and library\n"
		"                     debug lines\n"
		"  -h, --help         this text\n"
		"\n"
		"Hooks file: one hook per line, '#' starts a comment:\n"
		"  bp GPA             an INT3 at guest-physical GPA (hex 0x.. or\n"
		"                     decimal)\n"
		"  page GPA ACCESS    restrict the page of GPA to ACCESS, letters\n"
		"                     of 'rwx' or '-' for none (e.g. rx)\n"
		"\n"
		"Exit status: 0 ok (demo: every guest clean), 1 failure, 2 bad\n"
		"arguments.\n");
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno || end == s || *end ? -1 : 0;
}

static int load_hooks(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[256];
	int lineno = 0;

	if (!f) {
		fprintf(stderr, "kvmi-unhookd: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
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
			fprintf(stderr, "kvmi-unhookd: %s:%d: expected 'bp GPA' "
					"or 'page GPA ACCESS'\n",
				path, lineno);
			fclose(f);
			return -1;
		}
		if (!strcmp(kind, "page")) {
			h.is_page = 1;
			for (char *c = acc; *c; c++) {
				if (*c == 'r')
					h.access |= KVMI_PAGE_ACCESS_R;
				else if (*c == 'w')
					h.access |= KVMI_PAGE_ACCESS_W;
				else if (*c == 'x')
					h.access |= KVMI_PAGE_ACCESS_X;
				else if (*c != '-') {
					fprintf(stderr, "kvmi-unhookd: %s:%d: bad "
							"access '%s'\n",
						path, lineno, acc);
					fclose(f);
					return -1;
				}
			}
		}
		if (d.nhooks == MAX_HOOKS) {
			fprintf(stderr, "kvmi-unhookd: %s: more than %d hooks\n",
				path, MAX_HOOKS);
			fclose(f);
			return -1;
		}
		d.hooks[d.nhooks++] = h;
	}
	fclose(f);
	return 0;
}

static void demo_hooks(void)
{
	for (size_t i = 0; i < sizeof(demo_bps) / sizeof(demo_bps[0]); i++)
		d.hooks[d.nhooks++] = (struct hook){.gpa = demo_bps[i]};
	d.hooks[d.nhooks++] = (struct hook){
		.is_page = 1,
		.gpa = demo_page,
		.access = KVMI_PAGE_ACCESS_R | KVMI_PAGE_ACCESS_X};
}

static int on_hit(struct kvmi_dom *dom, struct kvmi_event_ctx *ev,
		  uint64_t gpa, void *ctx)
{
	struct guest *g = kvmi_dom_user(dom);

	(void)ctx;
	g->hits++;
	if (d.verbose || g->hits <= HIT_LOG_LIMIT)
		logkv("info", "event=bp-hit guest=%s vcpu=%u gpa=0x%" PRIx64
			      " rip=0x%llx hits=%" PRIu64 "%s",
		      g->qname, kvmi_event_vcpu(ev), gpa,
		      (unsigned long long)kvmi_event_common(ev)->arch.regs.rip,
		      g->hits,
		      !d.verbose && g->hits == HIT_LOG_LIMIT
			      ? " more=counted-not-logged"
			      : "");
	return 0; /* keep it armed */
}

static void on_pf(struct kvmi_dom *dom, struct kvmi_event_ctx *ev, void *ctx)
{
	struct guest *g = kvmi_dom_user(dom);

	(void)ctx;
	g->pfs++;
	kvmi_event_reply_pf(ev, KVMI_EVENT_ACTION_CONTINUE, NULL); /* emulate */
}

/* the guest's name from its handshake as a logfmt value */
static const char *quoted_name(struct kvmi_dom *dom, char *buf, size_t len)
{
	kvmi_logfmt_value(buf, len, kvmi_dom_identity(dom)->name);
	return buf;
}

static void uuid_text(const uint8_t *u, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0, n = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[n++] = '-';
		out[n++] = hex[u[i] >> 4];
		out[n++] = hex[u[i] & 15];
		out[n] = 0;
	}
}

static void unhook_enabled(struct kvmi_dom *dom, int result, void *ctx)
{
	struct guest *g = kvmi_dom_user(dom);

	(void)ctx;
	if (result && g)
		logkv("error", "event=enable-unhook guest=%s error=%s", g->qname,
		      kvmi_err_name(result));
}

/* one hook of the file placed (or not); the guest is hooked when all are */
static void hook_placed(struct kvmi_dom *dom, int result, void *ctx)
{
	struct guest *g = kvmi_dom_user(dom);
	const struct hook *h = ctx || d.nhooks ? &d.hooks[(uintptr_t)ctx] : NULL;

	if (!g)
		return;
	if (h && !result)
		h->is_page ? g->pages++ : g->bps++;
	else if (h && result != -ENOTCONN)
		logkv("warning", "event=hook-skipped guest=%s kind=%s "
				 "gpa=0x%" PRIx64 " error=%s",
		      g->qname, h->is_page ? "page" : "bp", h->gpa,
		      kvmi_err_name(result));
	if (h && --g->hooks_pending)
		return;
	if (kvmi_dom_is_connected(dom))
		logkv("info", "event=hooked guest=%s breakpoints=%u pages=%u",
		      g->qname, g->bps, g->pages);
}

/* a restricted page needs PF events: enabled (tracked) once it is in */
static void page_restricted(struct kvmi_dom *dom, int result, void *ctx)
{
	int err = result;

	if (!err)
		err = kvmi_hooks_control_event_async(dom, KVMI_EVENT_PF, 1,
						     hook_placed, ctx);
	if (err)
		hook_placed(dom, err, ctx);
}

static int on_guest(struct kvmi_dom *dom, void *ctx)
{
	const struct kvmi_guest_identity *id = kvmi_dom_identity(dom);
	char uuid[37];
	struct guest *g;
	int err;

	(void)ctx;
	if (d.stopping)
		return -1;
	if (d.nlive >= d.max_guests) {
		char q[sizeof(g->qname)];

		logkv("error", "event=guest-refused guest=%s reason=max-guests "
			       "max_guests=%u connected=%zu",
		      quoted_name(dom, q, sizeof(q)), d.max_guests, d.nlive);
		return -1;
	}
	g = calloc(1, sizeof(*g));
	if (!g) {
		logkv("error", "event=guest-refused reason=out-of-memory");
		return -1;
	}
	snprintf(g->name, sizeof(g->name), "%s", id->name);
	quoted_name(dom, g->qname, sizeof(g->qname));
	g->next = d.table;
	if (d.table)
		d.table->prev = g;
	d.table = g;
	d.nlive++;
	kvmi_dom_set_user(dom, g);
	uuid_text(id->uuid, uuid);
	logkv("info", "event=guest-connected guest=%s uuid=%s vcpus=%u",
	      g->qname, uuid, kvmi_dom_vcpu_count(dom));
	/* everything asynchronous: a slow host delays only its own guest */
	err = kvmi_dom_control_vm_events_async(dom, KVMI_EVENT_UNHOOK, 1,
					       unhook_enabled, NULL);
	if (err)
		unhook_enabled(dom, err, NULL);
	kvmi_dom_on_event(dom, KVMI_EVENT_PF, on_pf, NULL, NULL);
	for (size_t i = 0; i < d.nhooks; i++) {
		const struct hook *h = &d.hooks[i];
		void *hctx = (void *)(uintptr_t)i;

		g->hooks_pending++;
		if (h->is_page)
			err = kvmi_page_restrict_async(dom, h->gpa, h->access,
						       page_restricted, hctx);
		else
			err = kvmi_bp_set_async(dom, h->gpa, on_hit, NULL, NULL,
						hook_placed, hctx);
		if (err)
			hook_placed(dom, err, hctx);
	}
	if (!d.nhooks)
		hook_placed(dom, 0, NULL);
	return 0;
}

static void after_unhook(struct kvmi_dom *dom,
			 const struct kvmi_unhook_report *r, void *ctx)
{
	struct guest *g = kvmi_dom_user(dom);

	(void)ctx;
	if (!g)
		return;
	g->report = *r;
	g->unhooked = 1;
	logkv(r->result ? "error" : "info",
	      "event=unhooked guest=%s result=%s unhook_ms=%.3f "
	      "bps_restored=%u/%u pages_restored=%u/%u events_replied=%u "
	      "writes=%u",
	      g->qname, r->result ? kvmi_err_name(r->result) : "ok",
	      (double)r->elapsed_us / 1000.0, r->bps_restored, r->bps,
	      r->pages_restored, r->pages, r->events_replied, r->writes);
}

static void on_disconnect(struct kvmi_dom *dom, int reason, void *ctx)
{
	struct guest *g = kvmi_dom_user(dom);
	char q[sizeof(g->qname)];

	(void)ctx;
	logkv(reason ? "warning" : "info", "event=disconnected guest=%s reason=%s%s",
	      g ? g->qname : quoted_name(dom, q, sizeof(q)),
	      reason ? kvmi_err_name(reason) : "closed",
	      g ? "" : " hooked=no");
	if (!g)
		return; /* refused: never in the table */
	kvmi_dom_set_user(dom, NULL);
	d.nlive--;
	if (d.demo)
		return; /* kept for the summary */
	if (g->prev)
		g->prev->next = g->next;
	else
		d.table = g->next;
	if (g->next)
		g->next->prev = g->prev;
	free(g);
}

static void on_lib_log(enum kvmi_log_level level, const char *msg,
		       struct kvmi_dom *dom, void *ctx)
{
	static const char *names[] = {"debug", "info", "warning", "error"};
	char q[4 * 512 + 3]; /* the library's lines are below 512 bytes */

	(void)dom;
	(void)ctx;
	kvmi_logfmt_value(q, sizeof(q), msg);
	logkv(names[level], "source=libkvmi msg=%s", q);
}

static size_t stop_pending; /* unhooks of the stop still running */

static void stop_finish(void)
{
	kvmi_server_shutdown(d.srv);
	uv_close((uv_handle_t *)&d.sigint, NULL);
	uv_close((uv_handle_t *)&d.sigterm, NULL);
}

static void stop_unhooked(struct kvmi_dom *dom,
			  const struct kvmi_unhook_report *r, void *ctx)
{
	after_unhook(dom, r, ctx);
	if (--stop_pending == 0)
		stop_finish();
}

static int unhook_one(struct kvmi_dom *dom, void *arg)
{
	(void)arg;
	stop_pending++;
	/* an unhook already running (QEMU asked) reports through its own
	 * callback: count this one as done */
	if (kvmi_dom_unhook_async(dom, d.deadline_ms, stop_unhooked, NULL))
		stop_pending--;
	return 0;
}

static void stop(void)
{
	if (d.stopping)
		return;
	d.stopping = 1;
	/* take the hooks back from every guest at once, then go away: the
	 * whole stop takes about the slowest guest's deadline */
	stop_pending = 1;
	kvmi_server_foreach_domain(d.srv, unhook_one, NULL);
	if (--stop_pending == 0)
		stop_finish();
}

static void on_signal(uv_signal_t *s, int signum)
{
	(void)s;
	logkv("info", "event=signal signal=%s action=unhook-all-and-exit",
	      signum == SIGINT ? "SIGINT" : "SIGTERM");
	stop();
}

/* ---- demo ---- */

static const char *json_str(const char *line, const char *key, char *out,
			    size_t len)
{
	char pat[64];
	const char *p;
	size_t n = 0;

	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	p = strstr(line, pat);
	out[0] = 0;
	if (!p)
		return out;
	p += strlen(pat);
	while (*p && *p != '"' && n + 1 < len)
		out[n++] = *p++;
	out[n] = 0;
	return out;
}

static const char *json_raw(const char *line, const char *key, char *out,
			    size_t len)
{
	char pat[64];
	const char *p;
	size_t n = 0;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(line, pat);
	out[0] = 0;
	if (!p)
		return out;
	p += strlen(pat);
	while (*p && *p != ',' && *p != '}' && n + 1 < len)
		out[n++] = *p++;
	out[n] = 0;
	return out;
}

static int demo_summary(void)
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

		json_str(line, "name", name, sizeof(name));
		json_str(line, "verdict", verdict, sizeof(verdict));
		json_raw(line, "unhook_ms", ums, sizeof(ums));
		json_raw(line, "bytes_differing", diff, sizeof(diff));
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

static int start_demo(void)
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

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"vsock", required_argument, NULL, 'V'},
		{"secret", required_argument, NULL, 's'},
		{"secret-file", required_argument, NULL, 'S'},
		{"allow-uid", required_argument, NULL, 'u'},
		{"allow-cid", required_argument, NULL, 'c'},
		{"max-guests", required_argument, NULL, 'm'},
		{"hooks", required_argument, NULL, 'k'},
		{"deadline-ms", required_argument, NULL, 'D'},
		{"command-timeout-ms", required_argument, NULL, 'T'},
		{"demo", no_argument, NULL, 'd'},
		{"guests", required_argument, NULL, 'g'},
		{"fakehost", required_argument, NULL, 'f'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	struct kvmi_server_config cfg = {.size = sizeof(cfg)};
	char msg[256], q[4 * 128 + 3];
	uint64_t v;
	int c, err, rc = 0;

	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			d.listen = optarg;
			break;
		case 'V':
			if (parse_u64(optarg, &v) || !v || v >= 0xffffffffu)
				goto bad;
			d.vsock = (unsigned int)v;
			break;
		case 's':
			d.secret_arg = optarg;
			break;
		case 'S':
			d.secret_file = optarg;
			break;
		case 'u':
			if (parse_u64(optarg, &v) || v >= (uid_t)-1 ||
			    d.nuids == MAX_ALLOW) {
				fprintf(stderr, "kvmi-unhookd: --allow-uid '%s': "
						"not a uid (0..%u), or more than "
						"%d of them\n",
					optarg, (unsigned int)(uid_t)-2, MAX_ALLOW);
				goto bad_quiet;
			}
			d.uids[d.nuids++] = (uid_t)v;
			break;
		case 'c':
			if (parse_u64(optarg, &v) || v >= 0xffffffffu ||
			    d.ncids == MAX_ALLOW) {
				fprintf(stderr, "kvmi-unhookd: --allow-cid '%s': "
						"not a CID (0..4294967294), or "
						"more than %d of them\n",
					optarg, MAX_ALLOW);
				goto bad_quiet;
			}
			d.cids[d.ncids++] = (unsigned int)v;
			break;
		case 'm':
			if (parse_u64(optarg, &v) || !v || v > 1000000) {
				fprintf(stderr, "kvmi-unhookd: --max-guests '%s': "
						"not a number in 1..1000000\n",
					optarg);
				goto bad_quiet;
			}
			d.max_guests = (unsigned int)v;
			d.max_guests_set = 1;
			break;
		case 'k':
			d.hooks_file = optarg;
			break;
		case 'D':
			if (parse_u64(optarg, &v) || !v || v > 3600000)
				goto bad;
			d.deadline_ms = (unsigned int)v;
			break;
		case 'T':
			if (parse_u64(optarg, &v) || !v || v > 3600000)
				goto bad;
			d.command_timeout_ms = (unsigned int)v;
			break;
		case 'd':
			d.demo = 1;
			break;
		case 'g':
			if (parse_u64(optarg, &v) || !v || v > MAX_DEMO_GUESTS)
				goto bad;
			d.guests = (unsigned int)v;
			break;
		case 'f':
			d.fakehost = optarg;
			break;
		case 'v':
			d.verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			goto bad;
		}
	}
	if (optind != argc || (!d.demo && !d.listen && !d.vsock) ||
	    (d.demo && d.listen)) {
		fprintf(stderr, "kvmi-unhookd: %s\n",
			optind != argc ? "unexpected argument"
			: d.demo       ? "--demo makes its own socket: drop --listen"
				       : "--listen PATH (or --vsock PORT) is required");
		goto bad_quiet;
	}
	if (secret_resolve(d.secret_arg, d.secret_file, d.secret_buf,
			   sizeof(d.secret_buf), &d.secret, msg, sizeof(msg))) {
		fprintf(stderr, "kvmi-unhookd: %s\n", msg);
		return 2;
	}
	if (d.demo && !d.max_guests_set && d.max_guests < d.guests)
		d.max_guests = d.guests;
	if (d.hooks_file ? load_hooks(d.hooks_file) : (demo_hooks(), 0))
		return 2;
	signal(SIGPIPE, SIG_IGN);
	d.loop = uv_default_loop();
	if (d.demo) {
		snprintf(d.dir, sizeof(d.dir), "/tmp/kvmi-unhookd-XXXXXX");
		if (!mkdtemp(d.dir)) {
			perror("kvmi-unhookd: mkdtemp");
			return 1;
		}
		snprintf(d.sock, sizeof(d.sock), "%s/sock", d.dir);
		snprintf(d.report, sizeof(d.report), "%s/report.json", d.dir);
		d.listen = d.sock;
	}
	cfg.unix_path = d.listen;
	cfg.vsock_port = d.vsock;
	cfg.allowed_uids = d.uids;
	cfg.n_allowed_uids = d.nuids;
	cfg.allowed_cids = d.cids;
	cfg.n_allowed_cids = d.ncids;
	if (d.secret) {
		cfg.secret = d.secret;
		cfg.secret_len = strlen(d.secret);
	}
	cfg.new_domain = on_guest;
	cfg.disconnect = on_disconnect;
	cfg.log = on_lib_log;
	cfg.log_level = d.verbose ? KVMI_LOG_DEBUG : KVMI_LOG_WARNING;
	cfg.backlog = 1024;
	cfg.command_timeout_ms = d.command_timeout_ms;
	err = kvmi_server_new(d.loop, &cfg, &d.srv);
	if (!err)
		err = kvmi_server_unhook_on_event(d.srv, d.deadline_ms, NULL,
						  after_unhook, NULL);
	if (!err)
		err = kvmi_server_start(d.srv);
	if (err) {
		fprintf(stderr, "kvmi-unhookd: cannot listen: %s (%s)\n",
			kvmi_strerror(err), kvmi_err_name(err));
		kvmi_server_free(d.srv);
		return 1;
	}
	kvmi_logfmt_value(q, sizeof(q), d.listen ? d.listen : "-");
	logkv("info", "event=listening path=%s vsock=%u hooks=%zu deadline_ms=%u "
		      "max_guests=%u allow_uids=%zu allow_cids=%zu",
	      q, d.vsock, d.nhooks, d.deadline_ms, d.max_guests, d.nuids,
	      d.ncids);
	uv_signal_init(d.loop, &d.sigint);
	uv_signal_init(d.loop, &d.sigterm);
	uv_signal_start(&d.sigint, on_signal, SIGINT);
	uv_signal_start(&d.sigterm, on_signal, SIGTERM);
	if (d.demo && start_demo()) {
		rc = 1;
		stop();
	}
	uv_run(d.loop, UV_RUN_DEFAULT);
	kvmi_server_free(d.srv);
	uv_run(d.loop, UV_RUN_DEFAULT);
	if (d.demo) {
		if (!rc)
			rc = demo_summary();
		unlink(d.report);
		rmdir(d.dir);
	}
	while (d.table) {
		struct guest *g = d.table;

		d.table = g->next;
		free(g);
	}
	uv_loop_close(d.loop);
	return rc;
bad:
	fprintf(stderr, "kvmi-unhookd: bad value for an option\n");
bad_quiet:
	usage(stderr);
	return 2;
}
