/*
 * libkvmi - examples/unhookd/main.c: kvmi-unhookd, an introspection
 * daemon that hooks every guest that connects (breakpoints and page
 * restrictions from a file, or demo defaults), logs the hits, and on
 * KVMI_EVENT_UNHOOK - or on SIGINT/SIGTERM, for every guest - takes every
 * hook back and closes the channel within a deadline.  `--demo` runs it
 * against kvmi-fakehost and prints whether every guest was left clean.
 * This file sets the server up, handles the signals (SIGHUP reloads the
 * hooks file) and tells the service manager when it is ready and when it
 * stops; the other files of examples/unhookd/ are named in unhookd.h.
 *
 * Log lines are key=value (logfmt) on stdout; every value that comes from
 * the wire (guest names, library messages quoting them) is quoted and
 * escaped by kvmi_logfmt_value(), so a guest cannot forge a line.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "unhookd.h"

struct unhookd d = {.deadline_ms = 5000,
		    .guests = 4,
		    .max_guests = DEFAULT_MAX_GUESTS,
		    .metrics_interval_ms = 5000};

static uv_signal_t sigint, sigterm, sighup;

void logkv(const char *level, const char *fmt, ...)
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

static size_t stop_pending; /* unhooks of the stop still running */

static void stop_finish(void)
{
	kvmi_server_shutdown(d.srv);
	metrics_stop();
	uv_close((uv_handle_t *)&sigint, NULL);
	uv_close((uv_handle_t *)&sigterm, NULL);
	uv_close((uv_handle_t *)&sighup, NULL);
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

void stop(void)
{
	if (d.stopping)
		return;
	d.stopping = 1;
	notify("STOPPING=1");
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

/* SIGHUP: the hooks file again, for guests that connect from now on */
static void on_sighup(uv_signal_t *s, int signum)
{
	struct hookset *set;
	char q[4 * 256 + 3];

	(void)s;
	(void)signum;
	notify("RELOADING=1");
	if (!d.hooks_file) {
		logkv("info", "event=reload hooks=demo-defaults result=unchanged");
		notify("READY=1");
		return;
	}
	kvmi_logfmt_value(q, sizeof(q), d.hooks_file);
	set = hookset_load(d.hooks_file, 1);
	if (set) {
		hookset_unref(d.hooks);
		d.hooks = set;
		logkv("info", "event=reload file=%s hooks=%zu result=ok", q,
		      set->n);
	} else {
		logkv("error", "event=reload file=%s hooks=%zu result=kept-old",
		      q, d.hooks->n);
	}
	notify("READY=1");
}

static int server_setup(void)
{
	struct kvmi_server_config cfg = {.size = sizeof(cfg)};
	int err;

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
	/* the demo's host speaks --dialect; told from its replies like any
	 * other host's.  Outside the demo it is forced. */
	if (d.dialect && !d.demo)
		cfg.force_dialect = KVMI_SESSION_DIALECT(d.dialect_id);
	err = kvmi_server_new(d.loop, &cfg, &d.srv);
	if (!err)
		err = kvmi_server_unhook_on_event(d.srv, d.deadline_ms,
						  on_unhook_request,
						  after_unhook, NULL);
	/* count the events no other handler of ours takes, answering them
	 * as the library would (not CR and MSR, whose default carries the
	 * new value: the daemon never enables them; PF has its own) */
	for (unsigned int id = KVMI_EVENT_UNHOOK + 1;
	     !err && id < KVMI_NUM_EVENTS; id++)
		if (id != KVMI_EVENT_CR && id != KVMI_EVENT_MSR &&
		    id != KVMI_EVENT_PF)
			err = kvmi_server_on_event(d.srv, id, on_other_event,
						   NULL, NULL);
	if (!err)
		err = kvmi_server_start(d.srv);
	if (err) {
		fprintf(stderr, "kvmi-unhookd: cannot listen: %s (%s)\n",
			kvmi_strerror(err), kvmi_err_name(err));
		kvmi_server_free(d.srv);
		d.srv = NULL;
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char msg[256], q[4 * 128 + 3];
	int rc = 0;

	rc = options_parse(argc, argv);
	if (rc) {
		options_free();
		return rc == 1 ? 0 : rc;
	}
	if (secret_resolve(d.secret_arg, d.secret_file, d.secret_buf,
			   sizeof(d.secret_buf), &d.secret, msg, sizeof(msg))) {
		fprintf(stderr, "kvmi-unhookd: %s\n", msg);
		options_free();
		return 2;
	}
	if (d.demo && !d.max_guests_set && d.max_guests < d.guests)
		d.max_guests = d.guests;
	d.hooks = hookset_load(d.hooks_file, 0);
	if (!d.hooks) {
		options_free();
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	d.loop = uv_default_loop();
	if (d.demo) {
		snprintf(d.dir, sizeof(d.dir), "/tmp/kvmi-unhookd-XXXXXX");
		if (!mkdtemp(d.dir)) {
			perror("kvmi-unhookd: mkdtemp");
			rc = 1;
			goto out;
		}
		snprintf(d.sock, sizeof(d.sock), "%s/sock", d.dir);
		snprintf(d.report, sizeof(d.report), "%s/report.json", d.dir);
		d.listen = d.sock;
	}
	if (server_setup()) {
		rc = 1;
		goto out;
	}
	if (metrics_start()) {
		kvmi_server_shutdown(d.srv);
		uv_run(d.loop, UV_RUN_DEFAULT);
		kvmi_server_free(d.srv);
		rc = 1;
		goto out;
	}
	kvmi_logfmt_value(q, sizeof(q), d.listen ? d.listen : "-");
	logkv("info", "event=listening path=%s vsock=%u hooks=%zu deadline_ms=%u "
		      "max_guests=%u allow_uids=%zu allow_cids=%zu",
	      q, d.vsock, d.hooks->n, d.deadline_ms, d.max_guests, d.nuids,
	      d.ncids);
	uv_signal_init(d.loop, &sigint);
	uv_signal_init(d.loop, &sigterm);
	uv_signal_init(d.loop, &sighup);
	uv_signal_start(&sigint, on_signal, SIGINT);
	uv_signal_start(&sigterm, on_signal, SIGTERM);
	uv_signal_start(&sighup, on_sighup, SIGHUP);
	/* the sockets listen and the signals are handled: ready */
	notify("READY=1");
	if (d.demo && start_demo()) {
		rc = 1;
		stop();
	}
	uv_run(d.loop, UV_RUN_DEFAULT);
	kvmi_server_free(d.srv);
	d.srv = NULL;
	uv_run(d.loop, UV_RUN_DEFAULT);
	metrics_final();
	if (d.demo && !rc)
		rc = demo_summary();
out:
	if (d.demo && d.dir[0]) {
		unlink(d.report);
		rmdir(d.dir);
	}
	while (d.table) {
		struct guest *g = d.table;

		d.table = g->next;
		hookset_unref(g->hooks);
		free(g);
	}
	hookset_unref(d.hooks);
	uv_loop_close(d.loop);
	options_free();
	return rc;
}
