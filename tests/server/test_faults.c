/*
 * libkvmi - tests/server/test_faults.c: fault injection on the connection
 * path.  A complete guest session (handshake, start-up commands, a
 * pipelined page-split read, a page-access update, two events) is run
 * again and again with the N-th allocation inside libkvmi failing, for
 * every N until a run completes without reaching it; and a peer that
 * hangs up after every byte offset of a reply and of an event (one
 * connection per offset, all 568 of an event), or writes
 * one byte at a time.  Each run must end (no hang), close only that
 * domain with a clear error, and leak nothing (ASan and valgrind runs of
 * this suite check the last part).
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "harness.h"
#include "host_encoder.h"

static int events_seen;

static void on_event(struct kvmi_dom *dom, struct kvmi_event_ctx *ev,
		     void *ctx)
{
	(void)ctx;
	kvmi_event_reply(ev, KVMI_EVENT_ACTION_CONTINUE);
	if (++events_seen == 2)
		kvmi_dom_close(dom);
}

static int session(struct kvmi_dom *dom, void *ctx)
{
	struct harness *h = ctx;
	static uint8_t buf[6000];
	struct kvmi_page_access_entry pe[3] = {
		{.gpa = 0x1000, .access = 1},
		{.gpa = 0x2000, .access = 3},
		{.gpa = 0x3000, .access = 7}};
	uint32_t v;

	h->new_domains++;
	if (kvmi_dom_on_event(dom, KVMI_EVENT_HYPERCALL, on_event, NULL,
			      NULL) ||
	    kvmi_dom_get_version(dom, &v) ||
	    kvmi_dom_read_physical(dom, 0x1ff0, buf, sizeof(buf)) ||
	    kvmi_dom_set_page_access(dom, pe, 3))
		kvmi_dom_close(dom);
	return 0;
}

/* the host: answers every command, then sends two events */
static int host_peer(const char *path, const char *arg)
{
	static uint8_t zeros[4096];
	const struct kvmi_msg *m;
	struct peer p;
	int sent = 0;

	(void)arg;
	if (peer_connect(&p, path, 2))
		return 0; /* the tool gave up during the handshake: fine */
	while ((m = peer_read(&p))) {
		if (m->kind != KVMI_MSG_COMMAND)
			continue;
		if (m->hdr.id == KVMI_READ_PHYSICAL) {
			struct kvmi_read_physical r;

			memcpy(&r, m->u.command.body, sizeof(r));
			peer_reply(&p, m, 0, zeros, r.size);
		} else if (m->hdr.id == KVMI_GET_VERSION) {
			peer_reply(&p, m, 0, "\1\0\0\0\0\0\0\0", 8);
		} else {
			peer_reply(&p, m, 0, NULL, 0);
		}
		if (m->hdr.id == KVMI_SET_PAGE_ACCESS && !sent++) {
			peer_event(&p, 0, KVMI_EVENT_HYPERCALL, NULL, 0);
			peer_event(&p, 1, KVMI_EVENT_HYPERCALL, NULL, 0);
		}
	}
	return 0;
}

static void test_allocation_failure_everywhere(void **state)
{
	long k;

	(void)state;
	for (k = 1; k < 1000; k++) {
		struct harness h;
		long reached;

		events_seen = 0;
		h_init(&h);
		h.cfg.new_domain = session;
		h_start(&h);
		kvmi__alloc_count = 0;
		kvmi__alloc_fail_at = k;
		h_spawn_peer(&h, "host", NULL);
		h_run(&h, 10000);
		reached = kvmi__alloc_count;
		kvmi__alloc_fail_at = 0;
		/* a domain that was reported is disconnected exactly once */
		assert_int_equal(h.disconnects, h.new_domains);
		assert_true(h.new_domains <= 1);
		h_fini(&h);
		if (reached < k) {
			/* no allocation failed: the session must be whole */
			assert_int_equal(events_seen, 2);
			break;
		}
	}
	print_message("allocation sites on the path: %ld\n", k - 1);
	assert_true(k > 5); /* the path allocates; every site was hit */
	assert_true(k < 1000);
}

/* ---- the peer hangs up after every byte offset ---- */

static int cut_peer(const char *path, const char *arg)
{
	int cut = atoi(arg);
	const struct kvmi_msg *m;
	uint8_t msg[KVMI_ENCODE_MAX];
	struct peer p;
	int n;

	if (peer_connect(&p, path, 2))
		return 2;
	m = peer_read(&p);
	if (!m)
		return 3;
	n = kvmi_encode_reply(msg, sizeof(msg), m->hdr.id, m->hdr.seq, 0,
			      "\1\0\0\0\0\0\0\0", 8);
	if (cut > n)
		return 4;
	/* one byte per write: the tool must reassemble */
	for (int i = 0; i < cut; i++)
		if (peer_send(&p, msg + i, 1))
			return 5;
	close(p.fd);
	return 0;
}

static int cut_result;

static int tool_waits(struct kvmi_dom *dom, void *ctx)
{
	struct harness *h = ctx;
	uint32_t v = 0;

	h->new_domains++;
	cut_result = kvmi_dom_get_version(dom, &v);
	return 0;
}

static void run_cut(int cut, int expect_cmd)
{
	struct harness h;
	char arg[16];

	h_init(&h);
	h.cfg.new_domain = tool_waits;
	h_start(&h);
	snprintf(arg, sizeof(arg), "%d", cut);
	cut_result = 1;
	h_spawn_peer(&h, "cut", arg);
	h_run(&h, 10000);
	assert_int_equal(h.child_status, 0);
	assert_int_equal(h.new_domains, 1);
	assert_int_equal(cut_result, expect_cmd);
	assert_int_equal(h.disconnects, 1);
	assert_int_equal(h.last_reason, -ECONNRESET);
	h_fini(&h);
}

static void test_peer_closes_at_every_offset(void **state)
{
	(void)state;
	/* a 24-byte reply cut after 0..23 bytes: the command fails */
	for (int cut = 0; cut < 24; cut++)
		run_cut(cut, -ENOTCONN);
	/* the whole reply, one byte per write: it succeeds */
	run_cut(24, 0);
}

/*
 * An event cut after every byte offset 0..567, one connection per offset
 * from one peer process (one byte per write, then close): every command
 * waiting fails with -ENOTCONN, nothing is dispatched from half an event,
 * every domain is closed with -ECONNRESET and no other one is touched.
 */
#define EVENT_LEN 568

static int cuts_peer(const char *path, const char *arg)
{
	struct kvmi_event ev;
	struct kvmi_event_breakpoint bp = {.gpa = 0x1000, .insn_len = 1};
	uint8_t msg[KVMI_ENCODE_MAX];
	struct peer p;
	int n;

	(void)arg;
	memset(&ev, 0, sizeof(ev));
	ev.event = KVMI_EVENT_BREAKPOINT;
	n = kvmi_encode_event(msg, sizeof(msg), 1, &ev, sizeof(ev), &bp,
			      sizeof(bp));
	if (n != EVENT_LEN)
		return 4;
	for (int cut = 0; cut < EVENT_LEN; cut++) {
		if (peer_connect(&p, path, 2) || !peer_read(&p))
			return 2;
		for (int i = 0; i < cut; i++)
			if (peer_send(&p, msg + i, 1))
				return 5;
		close(p.fd);
	}
	peer_cleanup();
	return 0;
}

static int cut_results[EVENT_LEN];
static int cut_dispatched;

static void cut_on_event(struct kvmi_dom *dom, struct kvmi_event_ctx *ev,
			 void *ctx)
{
	(void)dom;
	(void)ctx;
	cut_dispatched++;
	kvmi_event_reply(ev, KVMI_EVENT_ACTION_CONTINUE);
}

static int cut_tool(struct kvmi_dom *dom, void *ctx)
{
	struct harness *h = ctx;
	uint32_t v = 0;
	int i = h->new_domains++;

	if (i >= EVENT_LEN)
		return -1;
	kvmi_dom_on_event(dom, KVMI_EVENT_BREAKPOINT, cut_on_event, NULL,
			  NULL);
	cut_results[i] = kvmi_dom_get_version(dom, &v);
	return 0;
}

static int cut_reasons_ok;

static void cut_disconnect(struct kvmi_dom *dom, int reason, void *ctx)
{
	struct harness *h = ctx;

	(void)dom;
	h->disconnects++;
	if (reason == -ECONNRESET)
		cut_reasons_ok++;
}

static void test_event_cut_at_every_offset(void **state)
{
	struct harness h;

	(void)state;
	memset(cut_results, 0, sizeof(cut_results));
	cut_dispatched = cut_reasons_ok = 0;
	h_init(&h);
	h.cfg.new_domain = cut_tool;
	h.cfg.disconnect = cut_disconnect;
	h_start(&h);
	h_spawn_peer(&h, "cuts", "");
	h_run(&h, 120000);
	assert_int_equal(h.child_status, 0);
	assert_int_equal(h.new_domains, EVENT_LEN);
	for (int i = 0; i < EVENT_LEN; i++)
		assert_int_equal(cut_results[i], -ENOTCONN);
	assert_int_equal(cut_dispatched, 0);
	assert_int_equal(h.disconnects, EVENT_LEN);
	assert_int_equal(cut_reasons_ok, EVENT_LEN);
	h_fini(&h);
}

/* ---- signals interrupting the synchronous waits ---- */

static void on_alarm(int sig)
{
	(void)sig;
}

static int many_commands(struct kvmi_dom *dom, void *ctx)
{
	struct harness *h = ctx;
	static uint8_t buf[3 * 4096];

	h->new_domains++;
	for (int i = 0; i < 200; i++)
		assert_int_equal(kvmi_dom_read_physical(dom, 0x10800, buf,
							sizeof(buf)),
				 0);
	kvmi_dom_close(dom);
	return 0;
}

static void test_eintr_during_commands(void **state)
{
	struct sigaction sa;
	struct itimerval it = {{0, 200}, {0, 200}};
	struct harness h;
	const char *args[] = {"--name", "eintr", NULL};

	(void)state;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm; /* no SA_RESTART: poll/recv see EINTR */
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	h_init(&h);
	h.cfg.new_domain = many_commands;
	h_start(&h);
	h_spawn_fakehost(&h, args);
	h_run(&h, 20000);
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	/* a signal still in flight must not kill the process */
	signal(SIGALRM, SIG_IGN);
	assert_int_equal(h.new_domains, 1);
	h_fini(&h);
}

static const struct h_peer peers[] = {
	{"host", host_peer},
	{"cut", cut_peer},
	{"cuts", cuts_peer},
};

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allocation_failure_everywhere),
		cmocka_unit_test(test_peer_closes_at_every_offset),
		cmocka_unit_test(test_event_cut_at_every_offset),
		cmocka_unit_test(test_eintr_during_commands),
	};

	int rc = h_peer_main(argc, argv, peers,
			     sizeof(peers) / sizeof(peers[0]));

	if (rc >= 0)
		return rc;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
