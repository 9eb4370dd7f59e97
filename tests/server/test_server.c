/*
 * libkvmi - tests/server/test_server.c: the connection layer against real
 * peers in real processes: kvmi-fakehost for the handshake paths, every
 * command's success and host-error paths, events, unhook and 100 guests;
 * scripted peers for what a correct host never does (unexpected seq,
 * rejected event reply, floods, silence, a hang-up mid-command).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "host_encoder.h"

/* ------------------------------------------------------------------ */
/* every command against kvmi-fakehost                                 */
/* ------------------------------------------------------------------ */

struct cmd_state {
	int checked;
};

static int all_commands(struct kvmi_dom *dom, void *ctx)
{
	struct harness *h = ctx;
	struct cmd_state *st = h->test;
	uint32_t v = 0, n = 0, mode = 0;
	uint64_t tsc = 0, gfn = 0;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_msr_entry msrs[2] = {{.index = 0xc0000080},
					{.index = 0x174}};
	struct kvmi_get_cpuid_reply cpuid;
	uint8_t xsave[4096], orig[6000], data[6000], back[6000], type;
	uint64_t gpas[3] = {0x10000, 0x11000, 0x12000};
	uint8_t acc[3];
	struct kvmi_page_access_entry pe[3] = {
		{.gpa = 0x10000, .access = KVMI_PAGE_ACCESS_R},
		{.gpa = 0x11000, .access = KVMI_PAGE_ACCESS_R | KVMI_PAGE_ACCESS_X},
		{.gpa = 0x12000, .access = KVMI_PAGE_ACCESS_RWX}};

	h->new_domains++;
	assert_int_equal(kvmi_dom_vcpu_count(dom), 2);
	assert_string_equal(kvmi_dom_identity(dom)->name, "cmds");
	assert_int_equal(kvmi_dom_get_version(dom, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(kvmi_dom_check_command(dom, KVMI_READ_PHYSICAL), 0);
	assert_int_equal(kvmi_dom_check_command(dom, KVMI_GET_CPUID), -EPERM);
	assert_int_equal(kvmi_dom_check_event(dom, KVMI_EVENT_DESCRIPTOR),
			 -EPERM);
	assert_int_equal(kvmi_dom_get_cpuid(dom, 0, 0, 0, &cpuid), -EPERM);
	assert_int_equal(kvmi_dom_get_guest_info(dom, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(kvmi_dom_get_vcpu_info(dom, 1, &tsc), 0);
	assert_int_equal(kvmi_dom_get_vcpu_info(dom, 7, &tsc), -EINVAL);
	assert_int_equal(kvmi_dom_get_registers(dom, 0, &regs, &sregs, msrs, 2,
						&mode),
			 0);
	assert_true(mode == 2 || mode == 4 || mode == 8);
	assert_int_equal(kvmi_dom_get_registers(dom, 9, &regs, NULL, NULL, 0,
						NULL),
			 -EINVAL);
	assert_int_equal(kvmi_dom_set_registers(dom, 0, &regs), 0);
	assert_true(kvmi_dom_get_xsave(dom, 0, xsave, sizeof(xsave)) > 0);
	/* physical access across two page boundaries, any alignment */
	assert_int_equal(kvmi_dom_read_physical(dom, 0x20ff0, orig, 6000), 0);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	assert_int_equal(kvmi_dom_write_physical(dom, 0x20ff0, data, 6000), 0);
	assert_int_equal(kvmi_dom_read_physical(dom, 0x20ff0, back, 6000), 0);
	assert_memory_equal(back, data, 6000);
	assert_int_equal(kvmi_dom_write_physical(dom, 0x20ff0, orig, 6000), 0);
	/* outside guest memory: the host's error */
	assert_int_equal(kvmi_dom_read_physical(dom, 1ull << 40, back, 16),
			 -EINVAL);
	/* page access */
	assert_int_equal(kvmi_dom_set_page_access(dom, pe, 3), 0);
	assert_int_equal(kvmi_dom_get_page_access(dom, gpas, acc, 3), 0);
	assert_int_equal(acc[0], KVMI_PAGE_ACCESS_R);
	assert_int_equal(acc[1], KVMI_PAGE_ACCESS_R | KVMI_PAGE_ACCESS_X);
	assert_int_equal(acc[2], KVMI_PAGE_ACCESS_RWX);
	pe[0].access = pe[1].access = KVMI_PAGE_ACCESS_RWX;
	assert_int_equal(kvmi_dom_set_page_access(dom, pe, 3), 0);
	/* events and intercepts */
	assert_int_equal(kvmi_dom_control_vm_events(dom, KVMI_EVENT_UNHOOK, 1), 0);
	assert_int_equal(kvmi_dom_control_events(dom, 0, KVMI_EVENT_CR, 1), 0);
	assert_int_equal(kvmi_dom_control_cr(dom, 0, 3, 1), 0);
	assert_int_equal(kvmi_dom_control_cr(dom, 0, 3, 0), 0);
	assert_int_equal(kvmi_dom_control_events(dom, 0, KVMI_EVENT_CR, 0), 0);
	assert_int_equal(kvmi_dom_control_msr(dom, 1, 0xc0000082, 1), 0);
	assert_int_equal(kvmi_dom_control_msr(dom, 1, 0xc0000082, 0), 0);
	assert_int_equal(kvmi_dom_control_events(dom, 0, KVMI_EVENT_DESCRIPTOR,
						 1),
			 -EPERM);
	assert_int_equal(kvmi_dom_inject_exception(dom, 0, 14, 1, 2, 0x1000), 0);
	assert_int_equal(kvmi_dom_get_mtrr_type(dom, 0, 0x1000, &type), 0);
	assert_int_equal(kvmi_dom_get_max_gfn(dom, &gfn), 0);
	assert_true(gfn > 0);
	assert_int_equal(kvmi_dom_control_vm_events(dom, KVMI_EVENT_UNHOOK, 0), 0);
	/* argument checks never reach the host */
	assert_int_equal(kvmi_dom_read_physical(dom, 0, NULL, 1), -EINVAL);
	assert_int_equal(kvmi_dom_control_cr(dom, 0, 2, 1), -EINVAL);
	st->checked = 1;
	kvmi_dom_close(dom);
	return 0;
}

static void test_every_command(void **state)
{
	struct harness h;
	struct cmd_state st = {0};
	const char *args[] = {"--name", "cmds", "--vcpus", "2", "--deny-command",
			      "KVMI_GET_CPUID", "--deny-event",
			      "KVMI_EVENT_DESCRIPTOR", NULL};

	(void)state;
	h_init(&h);
	h.test = &st;
	h.cfg.new_domain = all_commands;
	h_start(&h);
	h_spawn_fakehost(&h, args);
	h_run(&h, 20000);
	assert_int_equal(st.checked, 1);
	assert_int_equal(h.new_domains, 1);
	assert_int_equal(h.disconnects, 1);
	assert_int_equal(h.last_reason, 0);
	/* the tool restored what it wrote: the guest is clean */
	assert_int_equal(h_report_count(&h, "\"verdict\":\"clean\""), 1);
	assert_int_equal(h.child_status, 0);
	h_fini(&h);
}

/* ------------------------------------------------------------------ */
/* handshake paths                                                     */
/* ------------------------------------------------------------------ */

static int close_at_once(struct kvmi_dom *dom, void *ctx)
{
	struct harness *h = ctx;

	h->new_domains++;
	kvmi_dom_close(dom);
	return 0;
}

static void run_cookie(const char *ours, const char *qemus, int expect_ok)
{
	struct harness h;
	const char *args[] = {"--secret", qemus, NULL};

	h_init(&h);
	h.cfg.secret = ours;
	h.cfg.secret_len = strlen(ours);
	h.cfg.new_domain = close_at_once;
	h_start(&h);
	h_spawn_fakehost(&h, args);
	h_run(&h, 20000);
	assert_int_equal(h.new_domains, expect_ok);
	assert_int_equal(h_report_count(&h, "\"handshake_ok\":true"), expect_ok);
	assert_int_equal(h.child_status, expect_ok ? 0 : 1);
	h_fini(&h);
}

static void test_cookie_ok(void **state)
{
	(void)state;
	run_cookie("s3cret", "s3cret", 1);
}

static void test_cookie_wrong(void **state)
{
	(void)state;
	run_cookie("s3cret", "other", 0);
}

static int refuse(struct kvmi_server *srv, const struct kvmi_guest_identity *id,
		  void *ctx)
{
	struct harness *h = ctx;

	(void)srv;
	h->test = (void *)1;
	return strcmp(id->name, "unwanted") == 0 ? -1 : 0;
}

static void test_handshake_refused(void **state)
{
	struct harness h;
	const char *args[] = {"--name", "unwanted", "--handshake-size", "104",
			      NULL};

	(void)state;
	h_init(&h);
	h.cfg.handshake = refuse;
	h.cfg.new_domain = close_at_once;
	h_start(&h);
	h_spawn_fakehost(&h, args);
	h_run(&h, 20000);
	assert_non_null(h.test);
	assert_int_equal(h.new_domains, 0);
	assert_int_equal(h_report_count(&h, "\"handshake_ok\":false"), 1);
	h_fini(&h);
}

/* the connections open while QEMU's handshake is handled: this one,
 * not yet a domain */
struct counts {
	size_t connections, domains;
};

static int count_at_handshake(struct kvmi_server *srv,
			      const struct kvmi_guest_identity *id, void *ctx)
{
	struct harness *h = ctx;
	struct counts *c = h->test;

	(void)id;
	c->connections = kvmi_server_connection_count(srv);
	c->domains = kvmi_server_domain_count(srv);
	return 0;
}

static void test_connection_count(void **state)
{
	struct harness h;
	struct counts c = {99, 99};

	(void)state;
	assert_int_equal(kvmi_server_connection_count(NULL), 0);
	h_init(&h);
	h.test = &c;
	h.cfg.handshake = count_at_handshake;
	h.cfg.new_domain = close_at_once;
	h_start(&h);
	assert_int_equal(kvmi_server_connection_count(h.srv), 0);
	h_spawn_fakehost(&h, NULL);
	h_run(&h, 20000);
	assert_int_equal(h.new_domains, 1);
	assert_int_equal(c.connections, 1);
	assert_int_equal(c.domains, 0);
	assert_int_equal(kvmi_server_connection_count(h.srv), 0);
	h_fini(&h);
}

static void test_handshake_sizes(void **state)
{
	static const char *sizes[] = {"32", "104", "4000"};

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		struct harness h;
		const char *args[] = {"--handshake-size", sizes[i], NULL};

		h_init(&h);
		h.cfg.new_domain = close_at_once;
		h_start(&h);
		h_spawn_fakehost(&h, args);
		h_run(&h, 20000);
		assert_int_equal(h.new_domains, 1);
		h_fini(&h);
	}
	/* beyond 64 KiB: refused without reading it all */
	{
		struct harness h;
		const char *args[] = {"--handshake-size", "70000", NULL};

		h_init(&h);
		h.cfg.new_domain = close_at_once;
		h_start(&h);
		h_spawn_fakehost(&h, args);
		h_run(&h, 20000);
		assert_int_equal(h.new_domains, 0);
		assert_non_null(strstr(h.last_log, "struct_size 70000"));
		h_fini(&h);
	}
	/* below the minimum: refused */
	{
		struct harness h;
		const char *args[] = {"--handshake-size", "20", NULL};

		h_init(&h);
		h.cfg.new_domain = close_at_once;
		h_start(&h);
		h_spawn_fakehost(&h, args);
		h_run(&h, 20000);
		assert_int_equal(h.new_domains, 0);
		assert_non_null(strstr(h.last_log, "struct_size 20"));
		h_fini(&h);
	}
}

static int silent_peer(const char *path, const char *arg)
{
	struct peer p;

	(void)arg;
	memset(&p, 0, sizeof(p));
	p.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	{
		struct sockaddr_un a = {.sun_family = AF_UNIX};

		snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
		if (connect(p.fd, (struct sockaddr *)&a, sizeof(a)) < 0)
			return 3;
	}
	/* send half a struct_size, then nothing: the tool must hang up */
	if (write(p.fd, "\x60\x00", 2) != 2)
		return 4;
	return peer_wait_eof(&p, 5000) ? 0 : 1;
}

static void test_handshake_timeout(void **state)
{
	struct harness h;

	(void)state;
	h_init(&h);
	h.cfg.handshake_timeout_ms = 200;
	h_start(&h);
	h_spawn_peer(&h, "silent", NULL);
	h_run(&h, 10000);
	assert_int_equal(h.child_status, 0);
	assert_int_equal(h.new_domains, 0);
	assert_non_null(strstr(h.last_log, "did not complete within 200 ms"));
	h_fini(&h);
}

/* ------------------------------------------------------------------ */
/* scripted peers                                                      */
/* ------------------------------------------------------------------ */

struct script {
	int answer_queued; /* reply to queued events before dispatch */
	size_t held;
	int result;	 /* of the command the tool issues */
	int dispatched[8];
	int ndispatched;
	int unhooks;
	int replies_twice;
};

static struct script script;

static void record_event(struct kvmi_dom *dom, struct kvmi_event_ctx *ev,
			 void *ctx)
{
	(void)dom;
	(void)ctx;
	if (script.ndispatched < 8)
		script.dispatched[script.ndispatched++] = (int)kvmi_event_seq(ev);
	assert_int_equal(kvmi_event_reply(ev, KVMI_EVENT_ACTION_CONTINUE), 0);
	script.replies_twice =
		kvmi_event_reply(ev, KVMI_EVENT_ACTION_CONTINUE);
}

static kvmi_unhook_cb script_unhook;

static int tool_issues_command(struct kvmi_dom *dom, void *ctx)
{
	struct harness *h = ctx;
	uint64_t tsc = 0;

	h->new_domains++;
	kvmi_dom_set_command_timeout(dom, 300);
	kvmi_dom_on_event(dom, KVMI_EVENT_HYPERCALL, record_event, NULL, NULL);
	kvmi_dom_on_event(dom, KVMI_EVENT_CR, record_event, NULL, NULL);
	if (script_unhook)
		kvmi_dom_on_unhook(dom, script_unhook, NULL, NULL);
	script.result = kvmi_dom_get_vcpu_info(dom, 0, &tsc);
	/* events that came while waiting are not dispatched yet */
	assert_int_equal(script.ndispatched, 0);
	if (script.answer_queued) {
		struct kvmi_event_ctx *evs[4];

		script.held = kvmi_dom_held_events(dom, evs, 4);
		assert_int_equal(script.held, 2);
		assert_int_equal(kvmi_event_seq(evs[0]), 1);
		/* answered here: its handler will not see it */
		assert_int_equal(kvmi_event_reply(evs[0],
						  KVMI_EVENT_ACTION_CONTINUE),
				 0);
		assert_int_equal(kvmi_dom_held_events(dom, NULL, 0), 1);
	}
	return 0;
}

static int peer_events_before_reply(const char *path, const char *arg)
{
	struct kvmi_get_vcpu_info_reply r = {.tsc_speed = 1000};
	struct kvmi_event_cr cr = {.cr = 3, .old_value = 1, .new_value = 2};
	const struct kvmi_msg *m;
	struct peer p;

	(void)arg;
	if (peer_connect(&p, path, 4))
		return 10;
	m = peer_read(&p);
	if (!m || m->hdr.id != KVMI_GET_VCPU_INFO)
		return 11;
	peer_event(&p, 1, KVMI_EVENT_HYPERCALL, NULL, 0);
	peer_event(&p, 2, KVMI_EVENT_CR, &cr, sizeof(cr));
	peer_reply(&p, m, 0, &r, sizeof(r));
	/* exactly one reply per event, in order, CR with new_val = 2 */
	m = peer_read(&p);
	if (!m || m->kind != KVMI_MSG_EVENT_REPLY || m->hdr.seq != 1 ||
	    m->u.event_reply.vcpu.vcpu != 1)
		return 12;
	m = peer_read(&p);
	if (!m || m->kind != KVMI_MSG_EVENT_REPLY || m->hdr.seq != 2 ||
	    m->u.event_reply.tail_len != 8 ||
	    memcmp(m->u.event_reply.tail, &cr.new_value, 8))
		return 13;
	/* an event with no handler: the default reply, once */
	peer_event(&p, 3, KVMI_EVENT_XSETBV, NULL, 0);
	m = peer_read(&p);
	if (!m || m->kind != KVMI_MSG_EVENT_REPLY || m->hdr.seq != 3 ||
	    m->u.event_reply.common.action != KVMI_EVENT_ACTION_CONTINUE)
		return 14;
	close(p.fd);
	return 0;
}

static void test_events_while_command_waits(void **state)
{
	struct harness h;

	(void)state;
	memset(&script, 0, sizeof(script));
	h_init(&h);
	h.cfg.new_domain = tool_issues_command;
	h_start(&h);
	h_spawn_peer(&h, "events-before-reply", NULL);
	h_run(&h, 10000);
	assert_int_equal(h.child_status, 0);
	assert_int_equal(script.result, 0);
	assert_int_equal(script.ndispatched, 2);
	assert_int_equal(script.dispatched[0], 1);
	assert_int_equal(script.dispatched[1], 2);
	assert_int_equal(script.replies_twice, KVMI_E_ALREADY_REPLIED);
	assert_int_equal(h.last_reason, -ECONNRESET);
	h_fini(&h);
}

static void test_reply_to_queued_event(void **state)
{
	struct harness h;

	(void)state;
	memset(&script, 0, sizeof(script));
	script.answer_queued = 1;
	h_init(&h);
	h.cfg.new_domain = tool_issues_command;
	h_start(&h);
	h_spawn_peer(&h, "events-before-reply", NULL);
	h_run(&h, 10000);
	assert_int_equal(h.child_status, 0); /* one reply per event, in order */
	assert_int_equal(script.held, 2);
	assert_int_equal(script.ndispatched, 1);
	assert_int_equal(script.dispatched[0], 2);
	h_fini(&h);
}

enum misbehaviour { WRONG_SEQ, REJECT_REPLY, FLOOD, SILENT, HANG_UP, GHOST_VCPU };

static int peer_misbehaves(const char *path, const char *arg)
{
	enum misbehaviour how = (enum misbehaviour)atoi(arg);
	const struct kvmi_msg *m;
	struct peer p;
	struct kvmi_msg copy;

	if (peer_connect(&p, path, 8))
		return 10;
	m = peer_read(&p);
	if (!m || m->hdr.id != KVMI_GET_VCPU_INFO)
		return 11;
	copy = *m;
	switch (how) {
	case WRONG_SEQ:
		copy.hdr.seq += 100;
		peer_reply(&p, &copy, 0, "\0\0\0\0\0\0\0\0", 8);
		break;
	case REJECT_REPLY:
		peer_reply(&p, &copy, 0, "\0\0\0\0\0\0\0\0", 8);
		peer_event(&p, 0, KVMI_EVENT_HYPERCALL, NULL, 0);
		m = peer_read(&p); /* the tool's event reply */
		if (!m || m->kind != KVMI_MSG_EVENT_REPLY)
			return 12;
		{
			uint8_t out[64];
			int n = kvmi_encode_event_reply_error(out, sizeof(out),
							      m->hdr.seq,
							      -KVM_EINVAL);
			peer_send(&p, out, (size_t)n);
		}
		break;
	case FLOOD:
		/* one event per vCPU (8, all of them) and an UNHOOK while the
		 * command waits: legal, every one is kept and each vCPU event
		 * answered once, in order */
		for (uint16_t v = 0; v < 8; v++)
			peer_event(&p, v, KVMI_EVENT_HYPERCALL, NULL, 0);
		peer_event(&p, 0, KVMI_EVENT_UNHOOK, NULL, 0);
		peer_reply(&p, &copy, 0, "\0\0\0\0\0\0\0\0", 8);
		for (uint32_t seq = 0; seq < 8; seq++) {
			m = peer_read(&p);
			if (!m || m->kind != KVMI_MSG_EVENT_REPLY ||
			    m->u.event_reply.vcpu.vcpu != seq)
				return 13;
		}
		close(p.fd);
		return 0;
	case SILENT:
		break;
	case HANG_UP:
		close(p.fd);
		return 0;
	case GHOST_VCPU:
		peer_event(&p, 9, KVMI_EVENT_HYPERCALL, NULL, 0);
		break;
	}
	return peer_wait_eof(&p, 5000) ? 0 : 1;
}

static void run_misbehaving(enum misbehaviour how, int expect_cmd,
			    int expect_reason, const char *log)
{
	struct harness h;
	char arg[16];

	memset(&script, 0, sizeof(script));
	h_init(&h);
	h.cfg.new_domain = tool_issues_command;
	h_start(&h);

	snprintf(arg, sizeof(arg), "%d", (int)how);
	h_spawn_peer(&h, "misbehaves", arg);
	h_run(&h, 10000);
	assert_int_equal(h.child_status, 0);
	assert_int_equal(script.result, expect_cmd);
	assert_int_equal(h.disconnects, 1);
	assert_int_equal(h.last_reason, expect_reason);
	if (log)
		assert_non_null(strstr(h.last_log, log));
	h_fini(&h);
}

static void test_unexpected_seq(void **state)
{
	(void)state;
	run_misbehaving(WRONG_SEQ, -ENOTCONN, KVMI_E_UNEXPECTED_REPLY,
			"matches no outstanding command");
}

static void test_event_reply_rejected(void **state)
{
	(void)state;
	run_misbehaving(REJECT_REPLY, 0, KVMI_E_EVENT_REPLY_REJECTED,
			"host rejected the reply to event seq=1");
}

static void on_unhook_count(struct kvmi_dom *dom, void *ctx)
{
	(void)dom;
	(void)ctx;
	script.unhooks++;
}

static void test_event_per_vcpu_and_unhook_never_overflow(void **state)
{
	(void)state;
	script_unhook = on_unhook_count;
	run_misbehaving(FLOOD, 0, -ECONNRESET, NULL);
	script_unhook = NULL;
	assert_int_equal(script.ndispatched, 8);
	assert_int_equal(script.unhooks, 1);
}

static void test_command_timeout(void **state)
{
	(void)state;
	run_misbehaving(SILENT, -ETIMEDOUT, -ETIMEDOUT, "timed out after 300 ms");
}

static void test_peer_hangs_up_mid_command(void **state)
{
	(void)state;
	run_misbehaving(HANG_UP, -ENOTCONN, -ECONNRESET, NULL);
}

static void test_event_for_missing_vcpu(void **state)
{
	(void)state;
	run_misbehaving(GHOST_VCPU, -ENOTCONN, -EPROTO,
			"for vCPU 9, which does not exist");
}

/* ------------------------------------------------------------------ */
/* events, unhook and many guests with kvmi-fakehost                   */
/* ------------------------------------------------------------------ */

struct flow {
	int cr_events;
	int unhooks;
	int after_unhook_cmd;
};

static struct flow flow;

static void on_cr(struct kvmi_dom *dom, struct kvmi_event_ctx *ev, void *ctx)
{
	struct kvm_regs regs;

	(void)ctx;
	flow.cr_events++;
	/* a synchronous command from inside a handler */
	assert_int_equal(kvmi_dom_get_registers(dom, kvmi_event_vcpu(ev), &regs,
						NULL, NULL, 0, NULL),
			 0);
	assert_int_equal(regs.rip, kvmi_event_common(ev)->arch.regs.rip);
	kvmi_event_reply_cr(ev, KVMI_EVENT_ACTION_CONTINUE,
			    kvmi_event_data(ev)->cr.new_value);
}

static void on_unhook(struct kvmi_dom *dom, void *ctx)
{
	(void)ctx;
	flow.unhooks++;
	for (unsigned int v = 0; v < kvmi_dom_vcpu_count(dom); v++) {
		kvmi_dom_control_cr(dom, (uint16_t)v, 3, 0);
		kvmi_dom_control_events(dom, (uint16_t)v, KVMI_EVENT_CR, 0);
	}
	kvmi_dom_close(dom);
}

static int enable_flow(struct kvmi_dom *dom, void *ctx)
{
	struct harness *h = ctx;

	h->new_domains++;
	assert_int_equal(kvmi_dom_control_vm_events(dom, KVMI_EVENT_UNHOOK, 1),
			 0);
	for (unsigned int v = 0; v < kvmi_dom_vcpu_count(dom); v++) {
		assert_int_equal(kvmi_dom_control_events(dom, (uint16_t)v,
							 KVMI_EVENT_CR, 1),
				 0);
		assert_int_equal(kvmi_dom_control_cr(dom, (uint16_t)v, 3, 1), 0);
	}
	return 0;
}

static void test_events_and_unhook(void **state)
{
	struct harness h;
	const char *args[] = {"--vcpus", "2", "--unhook-after-events", "200",
			      NULL};

	(void)state;
	memset(&flow, 0, sizeof(flow));
	h_init(&h);
	h.cfg.new_domain = enable_flow;
	h_start(&h);
	assert_int_equal(kvmi_server_on_event(h.srv, KVMI_EVENT_CR, on_cr, NULL,
					      NULL),
			 0);
	assert_int_equal(kvmi_server_on_unhook(h.srv, on_unhook, NULL, NULL), 0);
	h_spawn_fakehost(&h, args);
	h_run(&h, 20000);
	assert_true(flow.cr_events >= 100);
	assert_int_equal(flow.unhooks, 1);
	assert_int_equal(h_report_count(&h, "\"closed_in_time\":true"), 1);
	assert_int_equal(h_report_count(&h, "\"verdict\":\"clean\""), 1);
	assert_int_equal(h.child_status, 0);
	h_fini(&h);
}

/* per-domain override that holds events and answers them from a timer,
 * then removes itself from inside its own call */
struct holder {
	struct kvmi_handler *h;
	struct kvmi_event_ctx *held[8]; /* one per vCPU at most */
	int nheld;
	uv_timer_t timer;
	int overridden, server_wide, pauses;
};

static struct holder holder;

static void answer_later(uv_timer_t *t)
{
	(void)t;
	for (int i = 0; i < holder.nheld; i++) {
		struct kvmi_event_ctx *ev = holder.held[i];

		assert_int_equal(kvmi_event_reply_cr(
					 ev, KVMI_EVENT_ACTION_CONTINUE,
					 kvmi_event_data(ev)->cr.new_value),
				 0);
	}
	holder.nheld = 0;
}

static void hold_cr(struct kvmi_dom *dom, struct kvmi_event_ctx *ev, void *ctx)
{
	(void)ctx;
	holder.overridden++;
	assert_true(holder.nheld < 8);
	kvmi_event_hold(ev);
	holder.held[holder.nheld++] = ev;
	{
		struct kvmi_event_ctx *evs[8];
		size_t n = kvmi_dom_held_events(dom, evs, 8), found = 0;

		for (size_t i = 0; i < n && i < 8; i++)
			found += evs[i] == ev;
		assert_int_equal(found, 1);
	}
	uv_timer_start(&holder.timer, answer_later, 0, 0);
	if (holder.overridden == 20) {
		kvmi_handler_remove(holder.h); /* the server's handler next */
		holder.h = NULL;
	}
}

static void count_cr(struct kvmi_dom *dom, struct kvmi_event_ctx *ev,
		     void *ctx)
{
	(void)dom;
	(void)ctx;
	holder.server_wide++;
	kvmi_event_reply(ev, KVMI_EVENT_ACTION_CONTINUE);
}

static void count_pause(struct kvmi_dom *dom, struct kvmi_event_ctx *ev,
			void *ctx)
{
	(void)dom;
	(void)ctx;
	holder.pauses++;
	kvmi_event_reply(ev, KVMI_EVENT_ACTION_CONTINUE); /* unpause */
}

static int override_and_pause(struct kvmi_dom *dom, void *ctx)
{
	struct harness *h = ctx;

	enable_flow(dom, ctx);
	assert_int_equal(kvmi_dom_on_event(dom, KVMI_EVENT_CR, hold_cr, NULL,
					   &holder.h),
			 0);
	assert_int_equal(kvmi_dom_on_event(dom, KVMI_EVENT_PAUSE_VCPU,
					   count_pause, NULL, NULL),
			 0);
	assert_int_equal(kvmi_dom_pause_all(dom), 0);
	(void)h;
	return 0;
}

static void test_hold_override_remove_pause(void **state)
{
	struct harness h;
	const char *args[] = {"--vcpus", "3", "--unhook-after-events", "150",
			      NULL};

	(void)state;
	memset(&holder, 0, sizeof(holder));
	memset(&flow, 0, sizeof(flow));
	h_init(&h);
	h.cfg.new_domain = override_and_pause;
	h_start(&h);
	uv_timer_init(&h.loop, &holder.timer);
	kvmi_server_on_event(h.srv, KVMI_EVENT_CR, count_cr, NULL, NULL);
	kvmi_server_on_unhook(h.srv, on_unhook, NULL, NULL);
	h_spawn_fakehost(&h, args);
	h_run(&h, 20000);
	uv_close((uv_handle_t *)&holder.timer, NULL);
	assert_int_equal(holder.overridden, 20);
	assert_true(holder.server_wide > 0);
	assert_int_equal(holder.pauses, 3);
	assert_int_equal(h_report_count(&h, "\"events_unreplied\":0,"), 1);
	assert_int_equal(h_report_count(&h, "\"verdict\":\"clean\""), 1);
	h_fini(&h);
}

static void test_hundred_guests(void **state)
{
	struct harness h;
	const char *args[] = {"--guests", "100", "--vcpus", "1",
			      "--unhook-after-events", "20", NULL};

	(void)state;
	memset(&flow, 0, sizeof(flow));
	h_init(&h);
	h.cfg.new_domain = enable_flow;
	h_start(&h);
	kvmi_server_on_event(h.srv, KVMI_EVENT_CR, on_cr, NULL, NULL);
	kvmi_server_on_unhook(h.srv, on_unhook, NULL, NULL);
	h_spawn_fakehost(&h, args);
	h_run(&h, 30000);
	assert_int_equal(h.new_domains, 100);
	assert_int_equal(flow.unhooks, 100);
	assert_int_equal(h_report_count(&h, "\"verdict\":\"clean\""), 100);
	assert_int_equal(h.child_status, 0);
	h_fini(&h);
}

/* ------------------------------------------------------------------ */
/* a one-guest tool: stop after the last guest                         */
/* ------------------------------------------------------------------ */

struct one_shot {
	int new_domains, disconnects;
	int stop_result;
};

static int one_shot_new(struct kvmi_dom *dom, void *ctx)
{
	struct one_shot *o = ctx;

	o->new_domains++;
	/* serve this guest, take no other, end when it is gone */
	o->stop_result = kvmi_server_stop_after_last_guest(kvmi_dom_server(dom));
	return kvmi_dom_control_vm_events(dom, KVMI_EVENT_UNHOOK, 1);
}

static void one_shot_gone(struct kvmi_dom *dom, int reason, void *ctx)
{
	(void)dom;
	(void)reason;
	((struct one_shot *)ctx)->disconnects++;
}

static void one_shot_unhook(struct kvmi_dom *dom, void *ctx)
{
	(void)ctx;
	kvmi_dom_close(dom);
}

/*
 * 16.6: kvmi_server_run on the server's own loop returns by itself once
 * the one guest it serves is gone: the socket file is removed at the
 * first guest (nobody else connects), QEMU's unhook closes the guest,
 * and the loop ends with the server idle.
 */
static void test_stop_after_last_guest(void **state)
{
	char dir[] = "/tmp/kvmi-oneshot-XXXXXX", path[128], report[160];
	struct one_shot o = {0};
	struct kvmi_server_config cfg = {.size = sizeof(cfg)};
	struct kvmi_server *srv;
	struct stat st;
	pid_t pid;
	int status;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sock", dir);
	snprintf(report, sizeof(report), "%s/report", dir);
	cfg.unix_path = path;
	cfg.new_domain = one_shot_new;
	cfg.disconnect = one_shot_gone;
	cfg.ctx = &o;
	assert_int_equal(kvmi_server_new(NULL, &cfg, &srv), 0);
	assert_int_equal(kvmi_server_on_unhook(srv, one_shot_unhook, NULL,
					       NULL),
			 0);
	assert_int_equal(kvmi_server_start(srv), 0);
	pid = fork();
	if (pid == 0) {
		const char *fh = getenv("KVMI_FAKEHOST");

		execl(fh, fh, "--connect", path, "--unhook-after-ms", "100",
		      "--unhook-timeout-ms", "10000", "--report", report,
		      (char *)NULL);
		_exit(127);
	}
	assert_true(kvmi_server_run(srv) >= 0);
	assert_int_equal(o.new_domains, 1);
	assert_int_equal(o.stop_result, 0);
	assert_int_equal(o.disconnects, 1);
	assert_true(kvmi_server_is_idle(srv));
	assert_int_not_equal(stat(path, &st), 0); /* the socket file went */
	kvmi_server_free(srv);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* and a NULL server is an error, not a crash */
	assert_int_equal(kvmi_server_stop_after_last_guest(NULL), -EINVAL);
	unlink(report);
	rmdir(dir);
}

/* ------------------------------------------------------------------ */
/* batches                                                             */
/* ------------------------------------------------------------------ */

static int batches(struct kvmi_dom *dom, void *ctx)
{
	struct harness *h = ctx;
	static uint8_t orig[3 * 4096], data[3 * 4096], back[3 * 4096];
	struct kvmi_page_access_entry pe = {.gpa = 0x30000,
					    .access = KVMI_PAGE_ACCESS_RWX};
	struct kvmi_pipeline *b;
	int i0;

	h->new_domains++;
	assert_int_equal(kvmi_dom_read_physical(dom, 0x40000, orig,
						sizeof(orig)),
			 0);
	memset(data, 0xcc, sizeof(data));
	/* replies off: three page writes, page access, one confirmation */
	assert_int_equal(kvmi_pipeline_new(dom, KVMI_PIPELINE_NO_REPLIES, &b),
			 0);
	i0 = kvmi_pipeline_write_physical(b, 0x40000, data, sizeof(data));
	assert_int_equal(i0, 0);
	assert_int_equal(kvmi_pipeline_set_page_access(b, &pe, 1), 3);
	assert_int_equal(kvmi_pipeline_read_physical(b, 0, back, 1), -EINVAL);
	/* a command QEMU's policy denies gets its error reply even with
	 * replies off (a denied *event* would fail silently) */
	assert_int_equal(kvmi_pipeline_control_cr(b, 0, 3, 1), 4);
	assert_int_equal(kvmi_pipeline_count(b), 5);
	assert_int_equal(kvmi_pipeline_result(b, 0), -EAGAIN);
	assert_int_equal(kvmi_pipeline_commit(b), -EPERM);
	assert_int_equal(kvmi_pipeline_result(b, 0), 0);
	assert_int_equal(kvmi_pipeline_result(b, 3), 0);
	assert_int_equal(kvmi_pipeline_result(b, 4), -EPERM);
	assert_true(kvmi_pipeline_writes(b) <= 2);
	assert_int_equal(kvmi_pipeline_commit(b), -EBUSY);
	kvmi_pipeline_free(b);
	assert_int_equal(kvmi_dom_read_physical(dom, 0x40000, back,
						sizeof(back)),
			 0);
	assert_memory_equal(back, data, sizeof(data));
	/* with replies: restore, and read back in the same batch */
	assert_int_equal(kvmi_pipeline_new(dom, 0, &b), 0);
	assert_true(
	    kvmi_pipeline_write_physical(b, 0x40000, orig, sizeof(orig)) >= 0);
	assert_true(
	    kvmi_pipeline_read_physical(b, 0x40000, back, sizeof(back)) >= 0);
	assert_int_equal(kvmi_pipeline_commit(b), 0);
	kvmi_pipeline_free(b);
	assert_memory_equal(back, orig, sizeof(orig));
	kvmi_dom_close(dom);
	return 0;
}

static void test_batches(void **state)
{
	struct harness h;
	const char *args[] = {"--deny-command", "KVMI_CONTROL_CR", NULL};

	(void)state;
	h_init(&h);
	h.cfg.new_domain = batches;
	h_start(&h);
	h_spawn_fakehost(&h, args);
	h_run(&h, 20000);
	assert_int_equal(h.new_domains, 1);
	assert_int_equal(h_report_count(&h, "\"verdict\":\"clean\""), 1);
	h_fini(&h);
}

/* ------------------------------------------------------------------ */
/* the listening socket                                                */
/* ------------------------------------------------------------------ */

static void test_unix_socket_rules(void **state)
{
	struct harness h, h2;
	struct kvmi_server *s2;
	struct stat st;
	FILE *f;

	(void)state;
	h_init(&h);
	h_start(&h);
	assert_int_equal(lstat(h.path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	/* a second server on a live socket: refused, socket untouched */
	h2 = h;
	assert_int_equal(kvmi_server_new(&h.loop, &h2.cfg, &s2), 0);
	assert_int_equal(kvmi_server_start(s2), -EADDRINUSE);
	kvmi_server_free(s2);
	kvmi_server_shutdown(h.srv);
	uv_run(&h.loop, UV_RUN_DEFAULT);
	assert_int_not_equal(lstat(h.path, &st), 0); /* removed */
	kvmi_server_free(h.srv);
	h.srv = NULL;
	/* a regular file at the path: refused and left alone */
	f = fopen(h.path, "w");
	assert_non_null(f);
	fputs("precious", f);
	fclose(f);
	assert_int_equal(kvmi_server_new(&h.loop, &h.cfg, &s2), 0);
	assert_int_equal(kvmi_server_start(s2), -EEXIST);
	kvmi_server_free(s2);
	assert_int_equal(lstat(h.path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, 8);
	unlink(h.path);
	/* a stale socket file is replaced */
	h_fini(&h);
}

static void test_peer_allow_list(void **state)
{
	struct harness h;
	uid_t other = getuid() + 1;

	(void)state;
	h_init(&h);
	h.cfg.allowed_uids = &other;
	h.cfg.n_allowed_uids = 1;
	h.cfg.new_domain = close_at_once;
	h_start(&h);
	h_spawn_fakehost(&h, NULL);
	h_run(&h, 20000);
	assert_int_equal(h.new_domains, 0);
	assert_int_equal(h_report_count(&h, "\"handshake_ok\":false"), 1);
	h_fini(&h);
}

static int list_fds(struct kvmi_dom *dom, void *ctx)
{
	struct harness *h = ctx;
	char cmd[512];

	h->new_domains++;
	/* a child started now inherits no socket, epoll or pipe of ours */
	snprintf(cmd, sizeof(cmd), "ls -l /proc/self/fd > '%s/fds'", h->dir);
	assert_int_equal(system(cmd), 0);
	kvmi_dom_close(dom);
	return 0;
}

static void test_no_fd_leaks_into_children(void **state)
{
	struct harness h;
	char path[256], line[512];
	int n = 0;
	FILE *f;

	(void)state;
	h_init(&h);
	h.cfg.new_domain = list_fds;
	h_start(&h);
	h_spawn_fakehost(&h, NULL);
	h_run(&h, 20000);
	assert_int_equal(h.new_domains, 1);
	snprintf(path, sizeof(path), "%s/fds", h.dir);
	f = fopen(path, "r");
	assert_non_null(f);
	/* no socket, epoll/eventfd or pipe beyond stdin/stdout/stderr (ls's
	 * own directory fd is a /proc path; valgrind keeps its own
	 * descriptors at 200 and above) */
	while (fgets(line, sizeof(line), f)) {
		char *arrow = strstr(line, " -> ");
		char *num;
		int fd;

		if (!arrow)
			continue;
		*arrow = 0;
		num = strrchr(line, ' ');
		fd = num ? atoi(num + 1) : -1;
		if (fd > 2 && fd < 200 &&
		    (strstr(arrow + 4, "socket:") ||
		     strstr(arrow + 4, "anon_inode:") ||
		     strstr(arrow + 4, "pipe:"))) {
			print_message("inherited: fd %d -> %s", fd, arrow + 4);
			n++;
		}
	}
	fclose(f);
	assert_int_equal(n, 0);
	h_fini(&h);
}

static int old_host_peer(const char *path, const char *arg)
{
	struct kvmi_qemu2introspector q;
	struct kvmi_introspector2qemu r;
	struct kvmi_get_version_reply ver = {.version = 0};
	struct kvmi_get_guest_info_reply gi = {.vcpu_count = 1};
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	const struct kvmi_msg *m;
	struct peer p;

	(void)arg;
	memset(&p, 0, sizeof(p));
	p.dec = kvmi_decoder_new(KVMI_DIR_TOOL_TO_HOST);
	p.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (connect(p.fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return 2;
	memset(&q, 0, sizeof(q));
	q.struct_size = sizeof(q);
	if (write(p.fd, &q, sizeof(q)) != sizeof(q) ||
	    read(p.fd, &r, sizeof(r)) != sizeof(r))
		return 3;
	/* GET_VERSION comes alone (its reply tells the dialect): after
	 * version 0 nothing else may come, only the close */
	(void)gi;
	m = peer_read(&p);
	if (!m || m->hdr.id != KVMI_GET_VERSION)
		return 4;
	peer_reply(&p, m, 0, &ver, sizeof(ver));
	kvmi_decoder_free(p.dec);
	return peer_wait_eof(&p, 5000) ? 0 : 1;
}

static void test_version_zero_refused(void **state)
{
	struct harness h;

	(void)state;
	h_init(&h);
	h_start(&h);
	h_spawn_peer(&h, "old-host", NULL);
	h_run(&h, 10000);
	assert_int_equal(h.child_status, 0);
	assert_int_equal(h.new_domains, 0);
	assert_non_null(strstr(h.last_log, "host speaks KVMI version 0"));
	h_fini(&h);
}

/* a host that answers each command before reading the next, with blocking
 * writes - as the kernel's receive thread does */
static int sync_host_peer(const char *path, const char *arg)
{
	const struct kvmi_msg *m;
	struct peer p;

	(void)arg;
	if (peer_connect(&p, path, 1))
		return 2;
	while ((m = peer_read(&p)))
		if (m->kind == KVMI_MSG_COMMAND &&
		    peer_reply(&p, m, 0, NULL, 0))
			break;
	return 0;
}

static int big_batch_result = 1;

static int big_batch(struct kvmi_dom *dom, void *ctx)
{
	struct harness *h = ctx;
	struct kvmi_pipeline *b;

	h->new_domains++;
	assert_int_equal(kvmi_pipeline_new(dom, 0, &b), 0);
	for (int i = 0; i < 60000; i++)
		assert_true(kvmi_pipeline_write_physical(
				b, 0x1000 + (uint64_t)i, "\xcc", 1) >= 0);
	big_batch_result = kvmi_pipeline_commit(b);
	kvmi_pipeline_free(b);
	kvmi_dom_close(dom);
	return 0;
}

static void test_pipelined_batch_against_synchronous_host(void **state)
{
	struct harness h;

	(void)state;
	h_init(&h);
	h.cfg.new_domain = big_batch;
	h_start(&h);
	h_spawn_peer(&h, "sync-host", NULL);
	h_run(&h, 20000);
	/* 1.5 MB of commands, 960 KB of replies: both socket buffers fill;
	 * the tool must keep reading while its writes wait */
	assert_int_equal(big_batch_result, 0);
	assert_int_equal(h.child_status, 0);
	h_fini(&h);
}

static int stop_at_once(struct kvmi_dom *dom, void *ctx)
{
	(void)ctx;
	kvmi_server_shutdown(kvmi_dom_server(dom));
	return 0;
}

static void test_own_loop(void **state)
{
	struct harness h;
	struct kvmi_server *s;
	const char *args[] = {"--duration-ms", "100", NULL};

	(void)state;
	h_init(&h);
	h.cfg.new_domain = stop_at_once;
	assert_int_equal(kvmi_server_new(NULL, &h.cfg, &s), 0);
	assert_int_equal(kvmi_server_start(s), 0);
	h_spawn_fakehost(&h, args); /* watched by h's loop, not run here */
	/* the server's own loop returns once it shut itself down */
	assert_true(kvmi_server_run(s) >= 0);
	assert_true(kvmi_server_is_idle(s));
	kvmi_server_free(s);
	/* reap the fakehost with the harness's own server and loop */
	h_start(&h);
	h_run(&h, 10000);
	assert_int_equal(h_report_count(&h, "\"handshake_ok\":true"), 1);
	h_fini(&h);
}

static void test_bad_config(void **state)
{
	struct harness h;
	struct kvmi_server *s;

	(void)state;
	h_init(&h);
	h.cfg.new_domain = NULL;
	assert_int_equal(kvmi_server_new(&h.loop, &h.cfg, &s), -EINVAL);
	h.cfg.new_domain = close_at_once;
	h.cfg.size = 4;
	assert_int_equal(kvmi_server_new(&h.loop, &h.cfg, &s), -EINVAL);
	h.cfg.size = sizeof(h.cfg);
	h.cfg.busy_poll_us = KVMI_SERVER_BUSY_POLL_MAX_US + 1;
	assert_int_equal(kvmi_server_new(&h.loop, &h.cfg, &s), -EINVAL);
	/* an older caller's smaller struct: busy polling is simply off */
	h.cfg.size = offsetof(struct kvmi_server_config, busy_poll_us);
	assert_int_equal(kvmi_server_new(&h.loop, &h.cfg, &s), 0);
	kvmi_server_free(s);
	h.cfg.size = sizeof(h.cfg);
	h.cfg.busy_poll_us = 0;
	/* nothing to listen on: a server for adopted connections only
	 * (own-loop.h); starting it says why it cannot listen */
	h.cfg.unix_path = NULL;
	assert_int_equal(kvmi_server_new(&h.loop, &h.cfg, &s), 0);
	assert_int_equal(kvmi_server_start(s), -EDESTADDRREQ);
	kvmi_server_free(s);
	h.cfg.unix_path = h.path;
	h_start(&h);
	assert_int_equal(kvmi_server_on_event(h.srv, KVMI_EVENT_UNHOOK, NULL,
					      NULL, NULL),
			 -EINVAL);
	kvmi_server_shutdown(h.srv);
	h_fini(&h);
}

/* ------------------------------------------------------------------ */
/* no tool code inside the read path                                   */
/* ------------------------------------------------------------------ */

/*
 * The host answers the last start-up command and raises CREATE_VCPU in
 * one write - or in two writes split at every byte offset (one connection
 * per offset; the tool may still read both at once: the session tests
 * replay recorded streams at every split point deterministically).
 * The tool reads guest memory synchronously in new_domain and again in
 * the CREATE_VCPU handler.  Every connection must see both reads
 * answered, the event delivered once after new_domain, its reply last.
 */
#define REENTRY_GPA 0x7000ull

struct reentry {
	int new_domains, events, bad_reads;
	bool in_new_domain;
};
static struct reentry reentry;

static void reentry_read(struct kvmi_dom *dom)
{
	uint8_t b[16];

	if (kvmi_dom_read_physical(dom, REENTRY_GPA, b, sizeof(b)) != 0 ||
	    b[0] != 0x5a || b[15] != 0x5a)
		reentry.bad_reads++;
}

static void reentry_event(struct kvmi_dom *dom, struct kvmi_event_ctx *ev,
			  void *ctx)
{
	(void)ctx;
	if (reentry.in_new_domain || reentry.new_domains != reentry.events + 1)
		reentry.bad_reads += 1000; /* delivered at the wrong time */
	reentry.events++;
	reentry_read(dom);
	kvmi_event_reply(ev, KVMI_EVENT_ACTION_CONTINUE);
}

static int reentry_new_domain(struct kvmi_dom *dom, void *ctx)
{
	struct harness *h = ctx;

	h->new_domains++;
	reentry.new_domains++;
	kvmi_dom_on_event(dom, KVMI_EVENT_CREATE_VCPU, reentry_event, NULL,
			  NULL);
	reentry.in_new_domain = true;
	reentry_read(dom);
	reentry.in_new_domain = false;
	return 0;
}

/* answer a READ_PHYSICAL of REENTRY_GPA with 0x5a bytes */
static int reentry_answer_read(struct peer *p)
{
	const struct kvmi_msg *m = peer_read(p);
	struct kvmi_read_physical r;
	uint8_t data[64];

	if (!m || m->hdr.id != KVMI_READ_PHYSICAL)
		return -1;
	memcpy(&r, m->u.command.body, sizeof(r));
	if (r.gpa != REENTRY_GPA || r.size > sizeof(data))
		return -1;
	memset(data, 0x5a, sizeof(data));
	return peer_reply(p, m, 0, data, r.size);
}

static int reentry_peer(const char *path, const char *arg)
{
	struct kvmi_get_version_reply ver = {.version = 1};
	struct kvmi_get_guest_info_reply gi = {.vcpu_count = 1};
	uint8_t buf[4096];
	size_t len = 0, total = 0;

	(void)arg;
	for (size_t split = 0; split == 0 || split <= total; split++) {
		const struct kvmi_msg *m;
		struct kvmi_event ev;
		struct peer p;
		uint32_t seq[2] = {0, 0};
		int n;

		if (peer_handshake(&p, path))
			return 10;
		/* GET_VERSION alone, then GET_GUEST_INFO (section 14 of
		 * KVMI-V7.md: the version reply tells the dialect first) */
		m = peer_read(&p);
		if (!m || m->hdr.id != KVMI_GET_VERSION ||
		    peer_reply(&p, m, 0, &ver, sizeof(ver)))
			return 11;
		m = peer_read(&p);
		if (!m || m->hdr.id != KVMI_GET_GUEST_INFO)
			return 11;
		seq[1] = m->hdr.seq;
		len = 0;
		n = kvmi_encode_reply(buf, sizeof(buf), KVMI_GET_GUEST_INFO,
				      seq[1], 0, &gi, sizeof(gi));
		len += (size_t)n;
		memset(&ev, 0, sizeof(ev));
		ev.vcpu = 1;
		ev.event = KVMI_EVENT_CREATE_VCPU;
		n = kvmi_encode_event(buf + len, sizeof(buf) - len, 1, &ev,
				      sizeof(ev), NULL, 0);
		if (n < 0)
			return 12;
		len += (size_t)n;
		total = len;
		/* one write, or two split at this offset */
		if (peer_send(&p, buf, split) ||
		    peer_send(&p, buf + split, len - split))
			return 13;
		/* the read from new_domain, then the one from the handler */
		if (reentry_answer_read(&p) || reentry_answer_read(&p))
			return 14;
		m = peer_read(&p);
		if (!m || m->kind != KVMI_MSG_EVENT_REPLY || m->hdr.seq != 1)
			return 15;
		close(p.fd);
	}
	peer_cleanup();
	return 0;
}

static void test_no_tool_code_in_the_read_path(void **state)
{
	struct harness h;

	(void)state;
	memset(&reentry, 0, sizeof(reentry));
	h_init(&h);
	h.cfg.new_domain = reentry_new_domain;
	h_start(&h);
	h_spawn_peer(&h, "reentry", NULL);
	h_run(&h, 60000);
	assert_int_equal(h.child_status, 0);
	assert_int_equal(reentry.bad_reads, 0);
	assert_true(reentry.new_domains > 500); /* every split point */
	assert_int_equal(reentry.events, reentry.new_domains);
	assert_int_equal(h.log_errors, 0);
	h_fini(&h);
}

/* ------------------------------------------------------------------ */
/* the dialect, told from the host's first replies                     */
/* ------------------------------------------------------------------ */

struct dialect_seen {
	int dialect;
	int read_result;
	int ctl_result;
	int bp_result;
	struct kvmi_unhook_report r;
	uint8_t byte;
	struct kvmi_host_features f;
	int features_result;
};
static struct dialect_seen dialect_seen;

static int note_dialect(struct kvmi_dom *dom, void *ctx)
{
	struct harness *h = ctx;

	h->new_domains++;
	dialect_seen.dialect = (int)kvmi_dom_dialect(dom);
	dialect_seen.features_result = kvmi_dom_features(dom, &dialect_seen.f);
	/* commands in that dialect: a read and an event switch */
	dialect_seen.read_result =
		kvmi_dom_read_physical(dom, 0x3010, &dialect_seen.byte, 1);
	dialect_seen.ctl_result =
		kvmi_dom_control_events(dom, 0, KVMI_EVENT_BREAKPOINT, 1);
	/* a hook and its unhook (a replies-disabled batch where the dialect
	 * has one, replies where it has not) */
	dialect_seen.bp_result = kvmi_bp_set(dom, 0x3010, NULL, NULL, NULL);
	dialect_seen.r.size = sizeof(dialect_seen.r);
	kvmi_dom_unhook(dom, 5000, &dialect_seen.r);
	return 0;
}

/* the feature block kvmi-fakehost reports: kvmi-v7 VMFUNC, EPTP
 * switching and single-step (no SPP, no #VE); v12 single-step; v6 none */
static void check_features(enum kvmi_dialect d)
{
	const struct kvmi_host_features *f = &dialect_seen.f;
	bool v7 = d == KVMI_DIALECT_V7 || d == KVMI_DIALECT_V7_2023;

	assert_int_equal(dialect_seen.features_result, 0);
	assert_int_equal(f->present, d != KVMI_DIALECT_V6);
	assert_int_equal(f->spp, 0);
	assert_int_equal(f->ve, 0);
	assert_int_equal(f->vmfunc, v7);
	assert_int_equal(f->eptp, v7);
	assert_int_equal(f->singlestep, d != KVMI_DIALECT_V6);
}

static void run_dialect(const char *name, enum kvmi_dialect expect,
			unsigned int force)
{
	struct harness h;
	const char *args[] = {"--dialect", name, NULL};

	memset(&dialect_seen, 0, sizeof(dialect_seen));
	dialect_seen.dialect = -1;
	h_init(&h);
	h.cfg.new_domain = note_dialect;
	h.cfg.force_dialect = force;
	h_start(&h);
	h_spawn_fakehost(&h, args);
	h_run(&h, 20000);
	assert_int_equal(h.new_domains, 1);
	assert_int_equal(dialect_seen.dialect, (int)expect);
	check_features(expect);
	assert_int_equal(dialect_seen.read_result, 0);
	assert_int_equal(dialect_seen.ctl_result, 0);
	assert_int_equal(dialect_seen.bp_result, 0);
	assert_int_equal(dialect_seen.r.result, 0);
	assert_int_equal(dialect_seen.r.bps_restored, 1);
	assert_int_equal(h_report_count(&h, "\"verdict\":\"clean\""), 1);
	assert_int_equal(h.log_errors, 0);
	assert_int_equal(h_report_count(&h, "\"handshake_ok\":true"), 1);
	h_fini(&h);
}

static void test_dialect_detected(void **state)
{
	(void)state;
	run_dialect("v6", KVMI_DIALECT_V6, 0);
	run_dialect("v7", KVMI_DIALECT_V7, 0);
	run_dialect("v7-2023", KVMI_DIALECT_V7_2023, 0);
	run_dialect("v12", KVMI_DIALECT_V12, 0);
	/* forced: no probe, the named dialect from the first byte */
	run_dialect("v7-2023", KVMI_DIALECT_V7_2023,
		    KVMI_SESSION_DIALECT(KVMI_DIALECT_V7_2023));
}

static const struct h_peer peers[] = {
	{"reentry", reentry_peer},
	{"silent", silent_peer},
	{"events-before-reply", peer_events_before_reply},
	{"misbehaves", peer_misbehaves},
	{"old-host", old_host_peer},
	{"sync-host", sync_host_peer},
};

/* ------------------------------------------------------------------ */
/* capture switch and vsock                                            */
/* ------------------------------------------------------------------ */

static char capture_path[256];

static int capture_some(struct kvmi_dom *dom, void *ctx)
{
	struct harness *h = ctx;
	uint32_t v;
	uint8_t buf[32];

	h->new_domains++;
	assert_int_equal(kvmi_dom_capture_start(dom, capture_path), 0);
	assert_int_equal(kvmi_dom_get_version(dom, &v), 0);
	assert_int_equal(kvmi_dom_read_physical(dom, 0x1000, buf, sizeof(buf)),
			 0);
	kvmi_dom_close(dom);
	return 0;
}

static void test_capture_switch(void **state)
{
	struct harness h;
	struct kvmi_capture_reader *r;
	struct kvmi_capture_record rec;
	struct kvmi_decoder *dec[2];
	char err[256];
	int msgs[2] = {0, 0}, eof = 0, ids = 0;

	(void)state;
	h_init(&h);
	snprintf(capture_path, sizeof(capture_path), "%s/dom.kvmicap", h.dir);
	h.cfg.new_domain = capture_some;
	h_start(&h);
	h_spawn_fakehost(&h, NULL);
	h_run(&h, 20000);
	assert_int_equal(h.new_domains, 1);
	assert_int_equal(kvmi_capture_reader_open(capture_path, &r, err,
						  sizeof(err)),
			 0);
	dec[0] = kvmi_decoder_new(KVMI_DIR_HOST_TO_TOOL);
	dec[1] = kvmi_decoder_new(KVMI_DIR_TOOL_TO_HOST);
	while (kvmi_capture_reader_next(r, &rec) == 1) {
		const uint8_t *p = rec.data;
		size_t left = rec.len;

		if (rec.type == KVMI_CAPTURE_EOF) {
			eof++;
			continue;
		}
		while (left) {
			const struct kvmi_msg *m;
			ssize_t n = kvmi_decoder_feed(dec[rec.dir], p, left, &m);

			assert_true(n > 0);
			p += n;
			left -= (size_t)n;
			if (!m)
				continue;
			msgs[rec.dir]++;
			if (m->hdr.id == KVMI_GET_VERSION ||
			    m->hdr.id == KVMI_READ_PHYSICAL)
				ids++;
		}
	}
	assert_int_equal(msgs[KVMI_DIR_TOOL_TO_HOST], 2);
	assert_int_equal(msgs[KVMI_DIR_HOST_TO_TOOL], 2);
	assert_int_equal(ids, 4);
	assert_int_equal(eof, 1);
	kvmi_decoder_free(dec[0]);
	kvmi_decoder_free(dec[1]);
	kvmi_capture_reader_free(r);
	h_fini(&h);
}

static void test_vsock_listen(void **state)
{
	struct harness h;
	int err;

	(void)state;
	h_init(&h);
	h.cfg.unix_path = NULL;
	h.cfg.vsock_port = 47613;
	assert_int_equal(kvmi_server_new(&h.loop, &h.cfg, &h.srv), 0);
	err = kvmi_server_start(h.srv);
	if (err == -EAFNOSUPPORT || err == -ENODEV || err == -EADDRNOTAVAIL) {
		kvmi_server_shutdown(h.srv);
		h_fini(&h);
		skip();
	}
	assert_int_equal(err, 0);
	assert_int_equal(kvmi_server_start(h.srv), -EALREADY);
	kvmi_server_shutdown(h.srv);
	h_fini(&h);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_command),
		cmocka_unit_test(test_no_tool_code_in_the_read_path),
		cmocka_unit_test(test_dialect_detected),
		cmocka_unit_test(test_cookie_ok),
		cmocka_unit_test(test_cookie_wrong),
		cmocka_unit_test(test_handshake_refused),
		cmocka_unit_test(test_connection_count),
		cmocka_unit_test(test_handshake_sizes),
		cmocka_unit_test(test_handshake_timeout),
		cmocka_unit_test(test_events_while_command_waits),
		cmocka_unit_test(test_reply_to_queued_event),
		cmocka_unit_test(test_unexpected_seq),
		cmocka_unit_test(test_event_reply_rejected),
		cmocka_unit_test(test_event_per_vcpu_and_unhook_never_overflow),
		cmocka_unit_test(test_command_timeout),
		cmocka_unit_test(test_peer_hangs_up_mid_command),
		cmocka_unit_test(test_event_for_missing_vcpu),
		cmocka_unit_test(test_events_and_unhook),
		cmocka_unit_test(test_hundred_guests),
		cmocka_unit_test(test_stop_after_last_guest),
		cmocka_unit_test(test_hold_override_remove_pause),
		cmocka_unit_test(test_batches),
		cmocka_unit_test(test_unix_socket_rules),
		cmocka_unit_test(test_peer_allow_list),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_version_zero_refused),
		cmocka_unit_test(test_own_loop),
		cmocka_unit_test(test_pipelined_batch_against_synchronous_host),
		cmocka_unit_test(test_no_fd_leaks_into_children),
		cmocka_unit_test(test_capture_switch),
		cmocka_unit_test(test_vsock_listen),
	};

	int rc = h_peer_main(argc, argv, peers,
			     sizeof(peers) / sizeof(peers[0]));

	if (rc >= 0)
		return rc;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
