/*
 * libkvmi - tests/e2e/test_e2e.c: hooks and unhook end to end against
 * kvmi-fakehost in real processes: the daemon's demo with 1 and 100
 * guests, the daemon's SIGTERM path, the guest's own INT3 passing through,
 * shared breakpoints, a tool-initiated unhook (no UNHOOK event), and the
 * deadline path against a host that stops answering.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

/* ---- the daemon ---- */

static int run_capture(const char *cmd, char *out, size_t len)
{
	FILE *p = popen(cmd, "r");
	size_t n = 0;
	int st;

	assert_non_null(p);
	while (n + 1 < len && fgets(out + n, (int)(len - n), p))
		n += strlen(out + n);
	out[n] = 0;
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void run_demo(const char *guests, const char *extra,
		     const char *expect)
{
	static char out[1 << 20];
	char cmd[1024];

	snprintf(cmd, sizeof(cmd),
		 "'%s' --demo --guests %s --fakehost '%s' %s 2>&1",
		 getenv("KVMI_UNHOOKD"), guests, getenv("KVMI_FAKEHOST"), extra);
	assert_int_equal(run_capture(cmd, out, sizeof(out)), 0);
	assert_non_null(strstr(out, expect));
	assert_null(strstr(out, "level=error"));
}

static void test_demo_one_guest(void **state)
{
	(void)state;
	run_demo("1", "", "1 of 1 guests clean");
}

/* 13.5: the demo against a kvmi-v7 and a v12 host */
static void test_demo_dialects(void **state)
{
	(void)state;
	run_demo("2", "--dialect v7", "2 of 2 guests clean");
	run_demo("2", "--dialect v12", "2 of 2 guests clean");
}

static void test_demo_hundred_guests(void **state)
{
	(void)state;
	run_demo("100", "", "100 of 100 guests clean");
}

/* kvmi-unhookd --listen @sock, its stdout on *@f; returns once it
 * listens (it says so) */
static pid_t daemon_start(const char *sock, FILE **f)
{
	const char *daemon = getenv("KVMI_UNHOOKD");
	char line[512];
	int out[2];
	pid_t pid;

	assert_non_null(daemon);
	assert_int_equal(pipe(out), 0);
	pid = fork();
	if (pid == 0) {
		dup2(out[1], 1);
		close(out[0]);
		execl(daemon, daemon, "--listen", sock, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	*f = fdopen(out[0], "r");
	while (fgets(line, sizeof(line), *f) && !strstr(line, "event=listening"))
		;
	return pid;
}

static void daemon_stop(pid_t pid, FILE *f)
{
	int st;

	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	fclose(f);
}

static void test_daemon_sigterm_unhooks_every_guest(void **state)
{
	char dir[] = "/tmp/kvmi-e2e-XXXXXX", sock[128], report[128], line[512];
	const char *fh = getenv("KVMI_FAKEHOST");
	int hooked = 0, st;
	pid_t dpid, fpid;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/sock", dir);
	snprintf(report, sizeof(report), "%s/report", dir);
	dpid = daemon_start(sock, &f);
	fpid = fork();
	if (fpid == 0) {
		execl(fh, fh, "--connect", sock, "--guests", "3", "--hot-gpa",
		      "0x3010,0x5008", "--report", report, (char *)NULL);
		_exit(127);
	}
	while (hooked < 3 && fgets(line, sizeof(line), f))
		hooked += strstr(line, "event=hooked") != NULL;
	assert_int_equal(hooked, 3);
	daemon_stop(dpid, f); /* SIGTERM: exit 0 */
	/* the host saw every guest closed clean, without an UNHOOK event */
	assert_int_equal(waitpid(fpid, &st, 0), fpid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	snprintf(line, sizeof(line), "rm -rf '%s'", dir);
	assert_int_equal(system(line), 0);
}

/* the value of "@key": in a report line (numbers and strings) */
static long report_num(const char *r, const char *key)
{
	char k[64];
	const char *p;

	snprintf(k, sizeof(k), "\"%s\":", key);
	p = strstr(r, k);
	assert_non_null(p);
	return strtol(p + strlen(k), NULL, 10);
}

/*
 * Issue 13.5: the daemon against a host of every dialect, the demo's
 * hooks (five breakpoints and a restricted page: the page restriction
 * works where the host cannot read a page's access, kvmi-v7 and v12),
 * hits on both, then QEMU's unhook: clean, nothing left enabled.
 */
static void test_daemon_in_every_dialect(void **state)
{
	static const char *const dialects[] = {"v6", "v7", "v7-2023", "v12"};
	char dir[] = "/tmp/kvmi-e2e-XXXXXX", sock[128], report[160];
	char cmd[1024], out[8192], line[512];
	FILE *f;
	pid_t dpid;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/sock", dir);
	dpid = daemon_start(sock, &f);
	for (size_t i = 0; i < 4; i++) {
		FILE *r;
		int hooked = 0;

		snprintf(report, sizeof(report), "%s/%s.json", dir,
			 dialects[i]);
		/* the host ends once the tool closed after its UNHOOK */
		snprintf(cmd, sizeof(cmd),
			 "'%s' --connect '%s' --name g-%s --dialect %s "
			 "--vcpus 2 --hot-gpa "
			 "0x3010,0x3200,0x5008,0x6100,0x9040,0x7010 "
			 "--unhook-after-events 3000 --unhook-timeout-ms "
			 "10000 --report '%s' 2>&1",
			 getenv("KVMI_FAKEHOST"), sock, dialects[i],
			 dialects[i], report);
		assert_int_equal(run_capture(cmd, out, sizeof(out)), 0);
		while (!hooked && fgets(line, sizeof(line), f))
			hooked = strstr(line, "event=hooked") &&
				 strstr(line, "breakpoints=5 pages=1");
		assert_true(hooked);
		r = fopen(report, "r");
		assert_non_null(r);
		assert_non_null(fgets(out, sizeof(out), r));
		fclose(r);
		printf("measured: %s: %.300s\n", dialects[i], out);
		snprintf(line, sizeof(line), "\"dialect\":\"%s\"",
			 dialects[i]);
		assert_non_null(strstr(out, line));
		assert_non_null(strstr(out, "\"verdict\":\"clean\""));
		assert_non_null(strstr(out, "\"unhook_sent\":true"));
		assert_non_null(strstr(out, "\"vcpu_events\":{}"));
		/* both hooks were in place: hits on the page and the INT3s */
		assert_true(report_num(strstr(out, "\"events_sent\""), "pf") > 0);
		assert_true(report_num(strstr(out, "\"events_sent\""),
				       "breakpoint") > 0);
		assert_int_equal(report_num(out, "pages_restricted"), 0);
		assert_int_equal(report_num(out, "bytes_differing"), 0);
		/* 13.3: where the host single-steps (kvmi-v7, v12), a hit
		 * breakpoint is re-armed at the SINGLESTEP event after the
		 * restored instruction; no vCPU is left stepping */
		if (i == 0) {
			assert_int_equal(report_num(strstr(out, "\"events_sent\""),
						    "singlestep"),
					 0);
		} else {
			assert_true(report_num(strstr(out, "\"events_sent\""),
					       "singlestep") > 0);
			assert_int_equal(report_num(out, "vcpus_singlestepping"),
					 0);
		}
	}
	daemon_stop(dpid, f);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* ---- in-process tools ---- */

struct tool {
	int hits;
	int shared_checked;
	int unhooked;
	int result;
	struct kvmi_unhook_report r;
	uv_timer_t timer;
	struct kvmi_dom *dom;
};

static struct tool tool;

static int count_hit(struct kvmi_dom *dom, struct kvmi_event_ctx *ev,
		     uint64_t gpa, void *ctx)
{
	(void)dom;
	(void)ev;
	(void)gpa;
	(void)ctx;
	tool.hits++;
	return 0;
}

static void unhook_later(uv_timer_t *t)
{
	(void)t;
	tool.r.size = sizeof(tool.r);
	tool.result = kvmi_dom_unhook(tool.dom, 5000, &tool.r);
	tool.unhooked = 1;
	kvmi_dom_unref(tool.dom);
}

static int hit_then_unhook(struct kvmi_dom *dom, struct kvmi_event_ctx *ev,
			   uint64_t gpa, void *ctx)
{
	count_hit(dom, ev, gpa, ctx);
	if (tool.hits == 200 && !uv_is_active((uv_handle_t *)&tool.timer)) {
		/* the tool decides to leave: no UNHOOK event involved */
		kvmi_dom_ref(dom);
		tool.dom = dom;
		uv_timer_start(&tool.timer, unhook_later, 0, 0);
	}
	return 0;
}

static int shared_then_plant(struct kvmi_dom *dom, void *ctx)
{
	struct harness *h = ctx;
	struct kvmi_bp *a, *b;
	uint8_t byte, orig;

	h->new_domains++;
	/* shared: one INT3, two users; the last one out restores */
	assert_int_equal(kvmi_dom_read_physical(dom, 0x9040, &orig, 1), 0);
	assert_int_equal(kvmi_bp_set(dom, 0x9040, count_hit, NULL, &a), 0);
	assert_int_equal(kvmi_bp_set(dom, 0x9040, count_hit, NULL, &b), 0);
	assert_int_equal(kvmi_bp_count(dom), 1);
	assert_int_equal(kvmi_dom_read_physical(dom, 0x9040, &byte, 1), 0);
	assert_int_equal(byte, 0xcc);
	assert_int_equal(kvmi_bp_remove(a), 0);
	assert_int_equal(kvmi_dom_read_physical(dom, 0x9040, &byte, 1), 0);
	assert_int_equal(byte, 0xcc);
	assert_int_equal(kvmi_bp_remove(b), 0);
	assert_int_equal(kvmi_dom_read_physical(dom, 0x9040, &byte, 1), 0);
	assert_int_equal(byte, orig);
	assert_int_equal(kvmi_bp_count(dom), 0);
	tool.shared_checked = 1;
	/* then the working set */
	assert_int_equal(kvmi_bp_set(dom, 0x3010, hit_then_unhook, NULL, NULL),
			 0);
	assert_int_equal(kvmi_bp_set(dom, 0x5008, hit_then_unhook, NULL, NULL),
			 0);
	assert_int_equal(kvmi_hooks_control_event(dom, KVMI_EVENT_PF, 1), 0);
	/* intercepts: CR3 and LSTAR writes (the default reply lets them
	 * through); the unhook must turn them off */
	assert_int_equal(kvmi_hooks_control_event(dom, KVMI_EVENT_CR, 1), 0);
	assert_int_equal(kvmi_hooks_control_cr(dom, 3, 1), 0);
	assert_int_equal(kvmi_hooks_control_event(dom, KVMI_EVENT_MSR, 1), 0);
	assert_int_equal(kvmi_hooks_control_msr(dom, 0xc0000082, 1), 0);
	assert_int_equal(kvmi_page_restrict(dom, 0x7000, KVMI_PAGE_ACCESS_R |
							       KVMI_PAGE_ACCESS_X),
			 0);
	return 0;
}

static void on_pf(struct kvmi_dom *dom, struct kvmi_event_ctx *ev, void *ctx)
{
	(void)dom;
	(void)ctx;
	kvmi_event_reply_pf(ev, KVMI_EVENT_ACTION_CONTINUE, NULL);
}

static void test_tool_initiated_unhook_and_guest_int3(void **state)
{
	struct harness h;
	/* one in four generated hot addresses is the guest's own INT3 */
	const char *args[] = {"--vcpus", "2", "--hot-gpa",
			      "0x3010,0x5008,0x9040,0x7010", "--hot-count", "8",
			      NULL};

	(void)state;
	memset(&tool, 0, sizeof(tool));
	h_init(&h);
	h.cfg.new_domain = shared_then_plant;
	h_start(&h);
	uv_timer_init(&h.loop, &tool.timer);
	kvmi_server_on_event(h.srv, KVMI_EVENT_PF, on_pf, NULL, NULL);
	h_spawn_fakehost(&h, args);
	h_run(&h, 20000);
	uv_close((uv_handle_t *)&tool.timer, NULL);
	assert_int_equal(tool.shared_checked, 1);
	assert_true(tool.hits >= 200);
	assert_int_equal(tool.unhooked, 1);
	assert_int_equal(tool.result, 0);
	assert_int_equal(tool.r.bps, 2);
	assert_int_equal(tool.r.bps_restored, 2);
	assert_int_equal(tool.r.pages_restored, 1);
	assert_true(tool.r.writes <= 12);
	/* clean, no UNHOOK event sent, the guest's INT3s passed through */
	assert_int_equal(h_report_count(&h, "\"verdict\":\"clean\""), 1);
	assert_int_equal(h_report_count(&h, "\"unhook_sent\":false"), 1);
	assert_int_equal(h_report_count(&h, "\"guest_integrity_errors\":0"), 1);
	assert_int_equal(h_report_count(&h, "\"guest_int3_handled\":0,"), 0);
	/* nothing left enabled on the host side */
	assert_int_equal(h_report_count(&h, "\"vcpu_events\":{}"), 1);
	assert_int_equal(h_report_count(&h, "\"cr_intercepts\":0,"), 1);
	assert_int_equal(h_report_count(&h, "\"msr_intercepts\":0}"), 1);
	assert_true(tool.r.intercepts_disabled >= 8);
	h_fini(&h);
}

/* ---- 10,000 breakpoints come back in a handful of writes ---- */

/* ---- only breakpoints enabled: hits keep coming ---- */

static int plant_one(struct kvmi_dom *dom, void *ctx)
{
	struct harness *h = ctx;

	h->new_domains++;
	assert_int_equal(kvmi_bp_set(dom, 0x3010, hit_then_unhook, NULL, NULL),
			 0);
	return 0;
}

/*
 * With no other event enabled, a vCPU that hit the breakpoint reports
 * nothing more; the breakpoint, restored for it, must still come back
 * (at the latest KVMI__REARM_MS after the hit) or the tool goes blind
 * after one hit per vCPU.  The guest must stay clean: no #BP it did not
 * expect, every byte back after the unhook.
 */
static void test_breakpoint_rearmed_without_other_events(void **state)
{
	struct harness h;
	const char *args[] = {"--vcpus", "2", "--hot-gpa", "0x3010",
			      "--hot-count", "0", NULL};

	(void)state;
	memset(&tool, 0, sizeof(tool));
	h_init(&h);
	h.cfg.new_domain = plant_one;
	h_start(&h);
	uv_timer_init(&h.loop, &tool.timer);
	h_spawn_fakehost(&h, args);
	h_run(&h, 30000);
	uv_close((uv_handle_t *)&tool.timer, NULL);
	print_message("hits %d, unhook result %d\n", tool.hits, tool.result);
	assert_true(tool.hits >= 200); /* hit_then_unhook leaves at 200 */
	assert_int_equal(tool.unhooked, 1);
	assert_int_equal(tool.result, 0);
	assert_int_equal(h_report_count(&h, "\"verdict\":\"clean\""), 1);
	h_fini(&h);
}

static int planted;

static int plant_many(struct kvmi_dom *dom, void *ctx)
{
	struct harness *h = ctx;

	h->new_domains++;
	for (uint64_t i = 0; i < 10000; i++)
		planted += kvmi_bp_set(dom, 0x200000 + i * 64, NULL, NULL,
				       NULL) == 0;
	tool.r.size = sizeof(tool.r);
	tool.result = kvmi_dom_unhook(dom, 10000, &tool.r);
	return 0;
}

static void test_ten_thousand_breakpoints(void **state)
{
	struct harness h;
	const char *args[] = {"--vcpus", "2", NULL};

	(void)state;
	memset(&tool, 0, sizeof(tool));
	planted = 0;
	h_init(&h);
	h.cfg.new_domain = plant_many;
	h_start(&h);
	h_spawn_fakehost(&h, args);
	h_run(&h, 60000);
	print_message("planted %d, restored %u, writes %u, unhook %llu us\n",
		      planted, tool.r.bps_restored, tool.r.writes,
		      (unsigned long long)tool.r.elapsed_us);
	assert_true(planted > 9000); /* the guest's own INT3s are refused */
	assert_int_equal(tool.result, 0);
	assert_int_equal(tool.r.bps_restored, (unsigned)planted);
	assert_true(tool.r.writes <= 16);
	assert_int_equal(h_report_count(&h, "\"verdict\":\"clean\""), 1);
	h_fini(&h);
}

/* ---- deadline: a host that stops answering during the unhook ---- */

static int stalling_host(const char *path, const char *arg)
{
	const struct kvmi_msg *m;
	struct peer p;
	int answered = 0;

	(void)arg;
	if (peer_connect(&p, path, 1))
		return 2;
	while ((m = peer_read(&p))) {
		if (m->kind != KVMI_MSG_COMMAND)
			continue;
		if (m->hdr.id == KVMI_CONTROL_CMD_RESPONSE)
			break; /* the unhook's batch: never confirmed */
		if (m->hdr.id == KVMI_READ_PHYSICAL)
			peer_reply(&p, m, 0, "\x90", 1);
		else
			peer_reply(&p, m, 0, NULL, 0);
		answered++;
	}
	return peer_wait_eof(&p, 5000) ? 0 : 1;
}

static int plant_then_unhook(struct kvmi_dom *dom, void *ctx)
{
	struct harness *h = ctx;

	h->new_domains++;
	assert_int_equal(kvmi_bp_set(dom, 0x1000, NULL, NULL, NULL), 0);
	tool.r.size = sizeof(tool.r);
	tool.result = kvmi_dom_unhook(dom, 300, &tool.r);
	assert_false(kvmi_dom_is_connected(dom));
	return 0;
}

static void test_unhook_deadline(void **state)
{
	struct harness h;

	(void)state;
	memset(&tool, 0, sizeof(tool));
	h_init(&h);
	h.cfg.new_domain = plant_then_unhook;
	h_start(&h);
	h_spawn_peer(&h, "stalling-host", NULL);
	h_run(&h, 10000);
	assert_int_equal(h.child_status, 0);
	assert_int_equal(tool.result, KVMI_E_DEADLINE);
	assert_int_equal(tool.r.bps, 1);
	assert_int_equal(tool.r.bps_restored, 0); /* reported as not restored */
	assert_true(tool.r.elapsed_us >= 290000 && tool.r.elapsed_us < 2000000);
	assert_non_null(strstr(h.last_log, "unhook: result=KVMI_E_DEADLINE"));
	h_fini(&h);
}

static const struct h_peer peers[] = {
	{"stalling-host", stalling_host},
};

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_demo_one_guest),
		cmocka_unit_test(test_demo_dialects),
		cmocka_unit_test(test_demo_hundred_guests),
		cmocka_unit_test(test_daemon_sigterm_unhooks_every_guest),
		cmocka_unit_test(test_daemon_in_every_dialect),
		cmocka_unit_test(test_tool_initiated_unhook_and_guest_int3),
		cmocka_unit_test(test_unhook_deadline),
		cmocka_unit_test(test_ten_thousand_breakpoints),
		cmocka_unit_test(test_breakpoint_rearmed_without_other_events),
	};

	int rc = h_peer_main(argc, argv, peers,
			     sizeof(peers) / sizeof(peers[0]));

	if (rc >= 0)
		return rc;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
