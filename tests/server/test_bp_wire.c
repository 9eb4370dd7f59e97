/*
 * libkvmi - tests/server/test_bp_wire.c: a breakpoint hit as the host sees
 * it on the wire.  The restore of the original byte is not waited for: it
 * must still reach the host before the RETRY reply (the host applies a VM
 * command before an event reply sent after it, so the vCPU resumes on the
 * guest's byte).  And when the host refuses that write, the breakpoint is
 * taken as still armed: the next hit restores again instead of sending
 * the vCPU back onto an INT3 with RETRY alone.  A scripted host in its own
 * process checks the order and reports through its exit status.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define BP_GPA 0x4321
#define ORIG 0x90

/* answer what the tool asks while it plants the breakpoint, up to and
 * including the write of the INT3; 0 when that write came */
static int answer_planting(struct peer *p)
{
	const struct kvmi_msg *m;

	while ((m = peer_read(p)) && m->kind == KVMI_MSG_COMMAND) {
		const uint8_t *b = m->u.command.body;
		struct kvmi_write_physical w;
		uint8_t byte = ORIG;

		if (m->hdr.id == KVMI_READ_PHYSICAL) {
			peer_reply(p, m, 0, &byte, 1);
			continue;
		}
		peer_reply(p, m, 0, NULL, 0);
		if (m->hdr.id != KVMI_WRITE_PHYSICAL)
			continue;
		memcpy(&w, b, sizeof(w));
		return w.gpa == BP_GPA && b[sizeof(w)] == 0xcc ? 0 : 1;
	}
	return 1;
}

/*
 * A hit: the next two messages must be the WRITE_PHYSICAL of the original
 * byte and then the RETRY reply.  The write is answered with @err only
 * after the RETRY arrived (the tool must not wait for it).  0 when so.
 */
static int hit(struct peer *p, int32_t err)
{
	struct kvmi_event_breakpoint bp = {.gpa = BP_GPA, .insn_len = 1};
	const struct kvmi_msg *m;
	struct kvmi_write_physical w;
	struct kvmi_msg write_cmd;

	if (peer_event(p, 0, KVMI_EVENT_BREAKPOINT, &bp, sizeof(bp)))
		return 10;
	m = peer_read(p);
	if (!m || m->kind != KVMI_MSG_COMMAND ||
	    m->hdr.id != KVMI_WRITE_PHYSICAL)
		return 11;
	memcpy(&w, m->u.command.body, sizeof(w));
	if (w.gpa != BP_GPA || w.size != 1 ||
	    m->u.command.body[sizeof(w)] != ORIG)
		return 12;
	write_cmd = *m; /* its header, for the late reply */
	m = peer_read(p);
	if (!m || m->kind != KVMI_MSG_EVENT_REPLY ||
	    m->u.event_reply.common.action != KVMI_EVENT_ACTION_RETRY)
		return 13;
	return peer_reply(p, &write_cmd, err, NULL, 0) ? 14 : 0;
}

static int bp_host(const char *path, const char *arg)
{
	struct peer p;
	int r;

	(void)arg;
	if (peer_connect(&p, path, 1))
		return 2;
	if (answer_planting(&p))
		return 3;
	/* hit 1: the host refuses the restore: the INT3 stays in place */
	r = hit(&p, -KVM_EINVAL);
	/* hit 2: the tool must restore again, not only RETRY */
	if (!r)
		r = hit(&p, 0);
	close(p.fd);
	peer_cleanup();
	return r;
}

static int hits;

static int count_hit(struct kvmi_dom *dom, struct kvmi_event_ctx *ev,
		     uint64_t gpa, void *ctx)
{
	(void)dom;
	(void)ev;
	(void)ctx;
	if (gpa == BP_GPA)
		hits++;
	return 0;
}

static int refusal_logged;

static void on_log(enum kvmi_log_level level, const char *msg,
		   struct kvmi_dom *dom, void *ctx)
{
	(void)dom;
	(void)ctx;
	if (level == KVMI_LOG_WARNING && strstr(msg, "0x4321") &&
	    strstr(msg, "failed"))
		refusal_logged++;
}

static int plant(struct kvmi_dom *dom, void *ctx)
{
	struct harness *h = ctx;

	h->new_domains++;
	assert_int_equal(kvmi_bp_set(dom, BP_GPA, count_hit, NULL, NULL), 0);
	return 0;
}

static void test_restore_before_retry_and_after_a_refusal(void **state)
{
	struct harness h;

	(void)state;
	hits = refusal_logged = 0;
	h_init(&h);
	h.cfg.new_domain = plant;
	h.cfg.log = on_log;
	h_start(&h);
	h_spawn_peer(&h, "bp-host", "");
	h_run(&h, 20000);
	assert_int_equal(h.child_status, 0);
	assert_int_equal(h.new_domains, 1);
	assert_int_equal(hits, 2);
	/* the refused write is logged with the address */
	assert_int_equal(refusal_logged, 1);
	h_fini(&h);
}

static const struct h_peer peers[] = {
	{"bp-host", bp_host},
};

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_restore_before_retry_and_after_a_refusal),
	};
	int r = h_peer_main(argc, argv, peers, sizeof(peers) / sizeof(peers[0]));

	if (r >= 0)
		return r;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
