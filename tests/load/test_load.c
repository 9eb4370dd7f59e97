/*
 * libkvmi - tests/load/test_load.c: 1,000 guests (kvmi-fakehost, 2 vCPUs
 * each) flood the tool with CR3-write events for a bounded time; QEMU then
 * asks every guest to unhook.  Every guest must end clean with every event
 * replied exactly once (kvmi-fakehost counts), and the tool's resident
 * memory must stay flat while events flow.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define GUESTS 1000

static long events;
static long rss_kb[64];
static int nrss;
static uv_timer_t sampler;

static long rss_now(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, res = 0;

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &res) != 2)
			res = 0;
		fclose(f);
	}
	return res * 4;
}

static void on_sample(uv_timer_t *t)
{
	struct harness *h = t->data;

	if (kvmi_server_domain_count(h->srv) == GUESTS && nrss < 64)
		rss_kb[nrss++] = rss_now();
	if (h->child < 0) {
		uv_timer_stop(t);
		uv_close((uv_handle_t *)t, NULL);
	}
}

static void on_cr(struct kvmi_dom *dom, struct kvmi_event_ctx *ev, void *ctx)
{
	(void)dom;
	(void)ctx;
	events++;
	kvmi_event_reply(ev, KVMI_EVENT_ACTION_CONTINUE);
}

static void on_unhook(struct kvmi_dom *dom, void *ctx)
{
	struct kvmi_pipeline *b;

	(void)ctx;
	/*
	 * Stop the events with one pipelined batch whose per-vCPU commands
	 * are answered by the vCPUs themselves: once every reply is in, any
	 * event those vCPUs sent before is in our queue, and kvmi_dom_close()
	 * answers it.  Nothing is left unreplied.
	 */
	if (kvmi_pipeline_new(dom, 0, &b) == 0) {
		for (unsigned v = 0; v < kvmi_dom_vcpu_count(dom); v++) {
			kvmi_pipeline_control_cr(b, (uint16_t)v, 3, 0);
			kvmi_pipeline_control_events(b, (uint16_t)v,
						     KVMI_EVENT_CR, 0);
		}
		kvmi_pipeline_commit(b);
		kvmi_pipeline_free(b);
	}
	kvmi_dom_close(dom);
}

static int enable(struct kvmi_dom *dom, void *ctx)
{
	struct harness *h = ctx;
	struct kvmi_pipeline *b;

	h->new_domains++;
	assert_int_equal(kvmi_pipeline_new(dom, 0, &b), 0);
	kvmi_pipeline_control_vm_events(b, KVMI_EVENT_UNHOOK, 1);
	for (unsigned v = 0; v < kvmi_dom_vcpu_count(dom); v++) {
		kvmi_pipeline_control_events(b, (uint16_t)v, KVMI_EVENT_CR, 1);
		kvmi_pipeline_control_cr(b, (uint16_t)v, 3, 1);
	}
	assert_int_equal(kvmi_pipeline_commit(b), 0);
	kvmi_pipeline_free(b);
	return 0;
}

static void test_thousand_guests_flood_then_unhook(void **state)
{
	struct harness h;
	struct rlimit rl;
	const char *args[] = {"--guests", "1000", "--vcpus", "2",
			      "--unhook-after-ms", "4000",
			      "--unhook-timeout-ms", "20000", NULL};

	(void)state;
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_max < 2 * GUESTS + 64)
		skip();
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	h_init(&h);
	h.cfg.new_domain = enable;
	h.cfg.log_level = KVMI_LOG_WARNING;
	h.cfg.backlog = 1024;
	h_start(&h);
	kvmi_server_on_event(h.srv, KVMI_EVENT_CR, on_cr, NULL, NULL);
	kvmi_server_on_unhook(h.srv, on_unhook, NULL, NULL);
	uv_timer_init(&h.loop, &sampler);
	sampler.data = &h;
	uv_timer_start(&sampler, on_sample, 250, 250);
	h_spawn_fakehost(&h, args);
	h_run(&h, 90000);
	print_message("guests %d, events replied %ld, RSS samples %d: first "
		      "%ld KiB, last %ld KiB\n",
		      h.new_domains, events, nrss, nrss ? rss_kb[0] : 0,
		      nrss ? rss_kb[nrss - 1] : 0);
	assert_int_equal(h.new_domains, GUESTS);
	assert_int_equal(h_report_count(&h, "\"verdict\":\"clean\""), GUESTS);
	assert_int_equal(h_report_count(&h, "\"events_unreplied\":0,"), GUESTS);
	assert_int_equal(h_report_count(&h, "\"closed_in_time\":true"), GUESTS);
	assert_true(events > GUESTS);
	assert_int_equal(h.child_status, 0);
	/* flat: while events flow, resident memory grows by < 4 MiB */
	assert_true(nrss >= 2);
	assert_true(rss_kb[nrss - 1] - rss_kb[0] < 4096);
	h_fini(&h);
}

static pid_t children[2]; /* killed if a test fails half-way */

static int kill_children(void **state)
{
	(void)state;
	for (int i = 0; i < 2; i++)
		if (children[i] > 0) {
			kill(children[i], SIGKILL);
			waitpid(children[i], NULL, 0);
			children[i] = 0;
		}
	return 0;
}

static long pid_rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* kvmi-unhookd with 1,000 guests hitting its breakpoints, then SIGTERM:
 * every guest unhooked clean before the daemon exits */
static void test_daemon_sigterm_under_load(void **state)
{
	char dir[] = "/tmp/kvmi-load-XXXXXX", sock[128], report[128];
	char line[1024], cmd[256];
	const char *daemon = getenv("KVMI_UNHOOKD");
	const char *fh = getenv("KVMI_FAKEHOST");
	int out[2], hooked = 0, hits = 0, st, clean, unreplied;
	long rss_hooked, rss_flood;
	struct rlimit rl;
	pid_t dpid, fpid;
	FILE *f, *r;

	(void)state;
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_max < 2 * GUESTS + 64)
		skip();
	rl.rlim_cur = rl.rlim_max; /* inherited by both children */
	setrlimit(RLIMIT_NOFILE, &rl);
	assert_non_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/sock", dir);
	snprintf(report, sizeof(report), "%s/report", dir);
	assert_int_equal(pipe(out), 0);
	dpid = children[0] = fork();
	if (dpid == 0) {
		dup2(out[1], 1);
		close(out[0]);
		execl(daemon, daemon, "--listen", sock, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	f = fdopen(out[0], "r");
	while (fgets(line, sizeof(line), f) && !strstr(line, "event=listening"))
		;
	fpid = children[1] = fork();
	if (fpid == 0) {
		execl(fh, fh, "--connect", sock, "--guests", "1000", "--vcpus",
		      "2", "--hot-gpa", "0x3010,0x3200,0x5008,0x6100,0x9040",
		      "--report", report, (char *)NULL);
		_exit(127);
	}
	while (hooked < GUESTS && fgets(line, sizeof(line), f)) {
		hooked += strstr(line, "event=hooked") != NULL;
		hits += strstr(line, "event=bp-hit") != NULL;
	}
	assert_int_equal(hooked, GUESTS);
	rss_hooked = pid_rss_kb(dpid);
	/* the daemon logs the first hits of every guest: wait for 2,000 */
	while (hits < 2 * GUESTS && fgets(line, sizeof(line), f))
		hits += strstr(line, "event=bp-hit") != NULL;
	assert_true(hits >= 2 * GUESTS);
	rss_flood = pid_rss_kb(dpid);
	kill(dpid, SIGTERM);
	while (fgets(line, sizeof(line), f))
		; /* drain the unhook lines */
	fclose(f);
	assert_int_equal(waitpid(dpid, &st, 0), dpid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(waitpid(fpid, &st, 0), fpid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	children[0] = children[1] = 0;
	r = fopen(report, "r");
	assert_non_null(r);
	clean = unreplied = 0;
	{
		static char big[1 << 14];

		while (fgets(big, sizeof(big), r)) {
			clean += strstr(big, "\"verdict\":\"clean\"") != NULL;
			unreplied += strstr(big, "\"events_unreplied\":0,") == NULL;
		}
	}
	fclose(r);
	print_message("daemon RSS: %ld KiB hooked, %ld KiB while flooding; "
		      "%d clean\n",
		      rss_hooked, rss_flood, clean);
	assert_int_equal(clean, GUESTS);
	assert_int_equal(unreplied, 0);
	assert_true(rss_flood - rss_hooked < 4096);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thousand_guests_flood_then_unhook),
		cmocka_unit_test_teardown(test_daemon_sigterm_under_load,
					  kill_children),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
