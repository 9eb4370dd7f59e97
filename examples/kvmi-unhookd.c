/*
 * libkvmi - examples/kvmi-unhookd.c: an introspection daemon that hooks
 * every guest that connects (breakpoints and page restrictions from a
 * file, or demo defaults), logs the hits, and on KVMI_EVENT_UNHOOK - or on
 * SIGINT/SIGTERM, for every guest - takes every hook back and closes the
 * channel within a deadline.  `--demo` runs it against kvmi-fakehost and
 * prints whether every guest was left clean.
 *
 * Log lines are key=value on stdout.
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

#define MAX_HOOKS 4096
#define MAX_GUESTS 4096
#define HIT_LOG_LIMIT 3

struct hook {
	int is_page;
	uint64_t gpa;
	uint8_t access;
};

struct guest {
	char name[64];
	unsigned int bps;
	unsigned int pages;
	uint64_t hits;
	uint64_t pfs;
	struct kvmi_unhook_report report;
	int unhooked;
};

static struct {
	const char *listen;
	unsigned int vsock; /* 0: none */
	const char *secret;
	const char *hooks_file;
	unsigned int deadline_ms;
	int demo;
	unsigned int guests;
	const char *fakehost;
	int verbose;
	struct hook hooks[MAX_HOOKS];
	size_t nhooks;
	struct guest guest[MAX_GUESTS];
	size_t nguests;
	struct kvmi_server *srv;
	uv_loop_t *loop;
	uv_signal_t sigint, sigterm;
	int stopping;
	/* demo */
	uv_process_t proc;
	int proc_status;
	char dir[64], report[128], sock[128];
} d = {.deadline_ms = 5000, .guests = 4};

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
		"  --vsock PORT       also listen on this vsock port\n"
		"  --secret S         cookie: QEMU checks SHA-1(S)\n"
		"  --hooks FILE       hooks to place in every guest (below);\n"
		"                     without it: demo defaults\n"
		"  --deadline-ms N    unhook deadline, default 5000\n"
		"  --demo             run kvmi-fakehost against a private\n"
		"                     socket, let events flow, trigger the\n"
		"                     unhook, print a summary; exit 0 only if\n"
		"                     every guest was left clean\n"
		"  --guests N         guests in the demo, default 4\n"
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
		      g->name, kvmi_event_vcpu(ev), gpa,
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

static int on_guest(struct kvmi_dom *dom, void *ctx)
{
	const struct kvmi_guest_identity *id = kvmi_dom_identity(dom);
	struct guest *g;
	int err;

	(void)ctx;
	if (d.nguests == MAX_GUESTS || d.stopping)
		return -1;
	g = &d.guest[d.nguests++];
	memset(g, 0, sizeof(*g));
	snprintf(g->name, sizeof(g->name), "%s", id->name);
	kvmi_dom_set_user(dom, g);
	logkv("info", "event=guest-connected guest=%s vcpus=%u", g->name,
	      kvmi_dom_vcpu_count(dom));
	err = kvmi_dom_control_vm_events(dom, KVMI_EVENT_UNHOOK, 1);
	if (err)
		logkv("error", "event=enable-unhook guest=%s error=%s", g->name,
		      kvmi_err_name(err));
	kvmi_dom_on_event(dom, KVMI_EVENT_PF, on_pf, NULL, NULL);
	for (size_t i = 0; i < d.nhooks; i++) {
		const struct hook *h = &d.hooks[i];

		if (h->is_page) {
			err = kvmi_hooks_control_event(dom, KVMI_EVENT_PF, 1);
			if (!err)
				err = kvmi_page_restrict(dom, h->gpa, h->access);
			if (!err)
				g->pages++;
		} else {
			err = kvmi_bp_set(dom, h->gpa, on_hit, NULL, NULL);
			if (!err)
				g->bps++;
		}
		if (err)
			logkv("warning", "event=hook-skipped guest=%s kind=%s "
					 "gpa=0x%" PRIx64 " error=%s",
			      g->name, h->is_page ? "page" : "bp", h->gpa,
			      kvmi_err_name(err));
	}
	logkv("info", "event=hooked guest=%s breakpoints=%u pages=%u", g->name,
	      g->bps, g->pages);
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
	      g->name, r->result ? kvmi_err_name(r->result) : "ok",
	      (double)r->elapsed_us / 1000.0, r->bps_restored, r->bps,
	      r->pages_restored, r->pages, r->events_replied, r->writes);
}

static void on_disconnect(struct kvmi_dom *dom, int reason, void *ctx)
{
	struct guest *g = kvmi_dom_user(dom);

	(void)ctx;
	logkv(reason ? "warning" : "info", "event=disconnected guest=%s reason=%s",
	      g ? g->name : "?", reason ? kvmi_err_name(reason) : "closed");
}

static void on_lib_log(enum kvmi_log_level level, const char *msg,
		       struct kvmi_dom *dom, void *ctx)
{
	static const char *names[] = {"debug", "info", "warning", "error"};

	(void)dom;
	(void)ctx;
	logkv(names[level], "source=libkvmi msg=\"%s\"", msg);
}

static int unhook_one(struct kvmi_dom *dom, void *arg)
{
	struct kvmi_unhook_report r = {.size = sizeof(r)};

	(void)arg;
	kvmi_dom_unhook(dom, d.deadline_ms, &r);
	after_unhook(dom, &r, NULL);
	return 0;
}

static void stop(void)
{
	if (d.stopping)
		return;
	d.stopping = 1;
	/* take the hooks back from every guest before going away */
	kvmi_server_foreach_domain(d.srv, unhook_one, NULL);
	kvmi_server_shutdown(d.srv);
	uv_close((uv_handle_t *)&d.sigint, NULL);
	uv_close((uv_handle_t *)&d.sigterm, NULL);
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
		for (size_t i = 0; i < d.nguests; i++)
			if (!strcmp(d.guest[i].name, name))
				g = &d.guest[i];
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

static int start_demo(void)
{
	static char exe[PATH_MAX], guests[16], hot[256];
	char *args[32];
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
	if (d.secret) {
		args[n++] = "--secret";
		args[n++] = (char *)d.secret;
	}
	args[n] = NULL;
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
	if (err) {
		fprintf(stderr, "kvmi-unhookd: cannot start %s: %s\n", exe,
			uv_strerror(err));
		return -1;
	}
	logkv("info", "event=demo-started fakehost=%s guests=%u hot=%s", exe,
	      d.guests, hot);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"vsock", required_argument, NULL, 'V'},
		{"secret", required_argument, NULL, 's'},
		{"hooks", required_argument, NULL, 'k'},
		{"deadline-ms", required_argument, NULL, 'D'},
		{"demo", no_argument, NULL, 'd'},
		{"guests", required_argument, NULL, 'g'},
		{"fakehost", required_argument, NULL, 'f'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	struct kvmi_server_config cfg = {.size = sizeof(cfg)};
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
			d.secret = optarg;
			break;
		case 'k':
			d.hooks_file = optarg;
			break;
		case 'D':
			if (parse_u64(optarg, &v) || !v || v > 3600000)
				goto bad;
			d.deadline_ms = (unsigned int)v;
			break;
		case 'd':
			d.demo = 1;
			break;
		case 'g':
			if (parse_u64(optarg, &v) || !v || v > MAX_GUESTS)
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
	if (d.secret) {
		cfg.secret = d.secret;
		cfg.secret_len = strlen(d.secret);
	}
	cfg.new_domain = on_guest;
	cfg.disconnect = on_disconnect;
	cfg.log = on_lib_log;
	cfg.log_level = d.verbose ? KVMI_LOG_DEBUG : KVMI_LOG_WARNING;
	cfg.backlog = 1024;
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
	logkv("info", "event=listening path=%s vsock=%u hooks=%zu deadline_ms=%u",
	      d.listen ? d.listen : "-", d.vsock, d.nhooks, d.deadline_ms);
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
	uv_loop_close(d.loop);
	return rc;
bad:
	fprintf(stderr, "kvmi-unhookd: bad value for an option\n");
bad_quiet:
	usage(stderr);
	return 2;
}
