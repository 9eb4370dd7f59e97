/*
 * tests/fakehost - test_integration.c: the kvmi-fakehost program against
 * small blocking tools (tool.h) over real unix sockets: handshake paths,
 * unhook paths, and the verdict on dirty and clean tools.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <unistd.h>
#include <sys/wait.h>

#include <cmocka.h>

#include <kvmi/capture.h>

#include "memory.h"
#include "tool.h"

extern char **environ;

#define B(t) (t)->buf, sizeof((t)->buf)
#define SEED 1
#define MEM_MB 16

static struct tool T;
static char hot_arg[32];
static uint64_t hot; /* an executed address whose original byte is not 0xCC */

static const char *field(const char *key)
{
	static char v[512];

	return tool_field(&T, key, v, sizeof(v));
}

static int setup_group(void **state)
{
	struct fh_memory m;

	(void)state;
	fh_memory_init(&m, (uint64_t)MEM_MB << 8, SEED);
	hot = fh_memory_find_orig(&m, 0x3010, 0);
	fh_memory_free(&m);
	snprintf(hot_arg, sizeof(hot_arg), "0x%llx", (unsigned long long)hot);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tool_cleanup(&T);
	return 0;
}

/* start kvmi-fakehost with the common guest options plus @extra */
static void start(const char *const *extra)
{
	const char *args[40] = { "--vcpus", "2", "--mem-mb", "16", "--seed", "1",
				 "--hot-count", "0", "--hot-gpa", hot_arg,
				 "--handshake-timeout-ms", "5000" };
	size_t n = 12;

	for (; extra && *extra; extra++)
		args[n++] = *extra;
	args[n] = NULL;
	assert_int_equal(tool_start(&T, args), 0);
}

static void handshake_good_cookie(void **state)
{
	const char *const extra[] = { "--secret", "s3cret", NULL };
	uint32_t qsize = 0;

	(void)state;
	start(extra);
	assert_int_equal(tool_handshake(&T, 24, "s3cret", NULL, 0, &qsize), 0);
	assert_int_equal(qsize, 96);
	assert_int_equal(tool_cmd(&T, kvmi_encode_get_version(B(&T), 1), NULL), 0);
	assert_int_equal(tool_finish(&T, 1), 0);
	assert_string_equal(field("handshake_ok"), "true");
	assert_string_equal(field("end"), "\"tool-closed\"");
	assert_string_equal(field("verdict"), "\"clean\"");
}

static void handshake_bad_cookie(void **state)
{
	const char *const extra[] = { "--secret", "s3cret", NULL };

	(void)state;
	start(extra);
	assert_int_equal(tool_handshake(&T, 24, "guess", NULL, 0, NULL), 0);
	assert_int_equal(tool_wait_eof(&T), 1);
	assert_int_equal(tool_finish(&T, 0), 1);
	assert_string_equal(field("handshake_ok"), "false");
	assert_non_null(strstr(field("handshake_error"), "cookie"));
	assert_string_equal(field("verdict"), "\"handshake failed\"");
}

static void handshake_short_struct(void **state)
{
	(void)state;
	start(NULL);
	assert_int_equal(tool_handshake(&T, 20, NULL, NULL, 0, NULL), 0);
	assert_int_equal(tool_wait_eof(&T), 1);
	assert_int_equal(tool_finish(&T, 0), 1);
	assert_string_equal(field("handshake_ok"), "false");
	assert_non_null(strstr(field("handshake_error"), "too small"));
}

static void handshake_long_struct_and_first_command(void **state)
{
	const char *const extra[] = { "--max-gpa", NULL };
	uint8_t cmd[16];
	struct test_msg r;
	uint32_t qsize = 0;
	int n = kvmi_encode_get_version(cmd, sizeof(cmd), 7);

	(void)state;
	start(extra);
	/* a 40-byte struct followed by GET_VERSION in the same write */
	assert_int_equal(tool_handshake(&T, 40, "any", cmd, (size_t)n, &qsize), 0);
	assert_int_equal(qsize, 104);
	assert_int_equal(tool_recv(&T, &r), 1);
	assert_int_equal(r.hdr.id, KVMI_GET_VERSION);
	assert_int_equal(r.hdr.seq, 7);
	assert_int_equal(r.err, 0);
	assert_int_equal(tool_finish(&T, 1), 0);
	assert_string_equal(field("handshake_ok"), "true");
}

static void handshake_timeout(void **state)
{
	const char *const extra[] = { "--handshake-timeout-ms", "200", NULL };

	(void)state;
	start(extra);
	/* read QEMU's struct, answer nothing: QEMU gives up */
	assert_int_equal(tool_read_qemu_struct(&T, NULL), 0);
	assert_int_equal(tool_recv(&T, &T.tmp), 0);
	assert_int_equal(tool_finish(&T, 0), 1);
	assert_string_equal(field("handshake_ok"), "false");
	assert_non_null(strstr(field("handshake_error"), "timed out"));
}

static void enable_unhook(void)
{
	assert_int_equal(tool_cmd(&T, kvmi_encode_control_vm_events(B(&T), T.seq++,
								    KVMI_EVENT_UNHOOK, 1),
				  NULL),
			 0);
}

/* QEMU's unhook request, now (SIGUSR1 asks every guest) */
static void request_unhook(void)
{
	assert_int_equal(kill(T.pid, SIGUSR1), 0);
}

/* wait for the UNHOOK event, answering whatever comes before it */
static void wait_unhook(void)
{
	struct test_msg ev;

	for (;;) {
		assert_int_equal(tool_event(&T, &ev), 1);
		if (ev.event.event == KVMI_EVENT_UNHOOK)
			return;
		assert_int_equal(tool_reply(&T, &ev, ev.event.event == KVMI_EVENT_BREAKPOINT
							     ? KVMI_EVENT_ACTION_RETRY
							     : KVMI_EVENT_ACTION_CONTINUE),
				 0);
	}
}

static void unhook_tool_closes_in_time(void **state)
{
	/* the timer must fire after the tool enabled UNHOOK (one round trip) */
	const char *const extra[] = { "--unhook-after-ms", "1000", NULL };

	(void)state;
	start(extra);
	assert_int_equal(tool_handshake(&T, 24, NULL, NULL, 0, NULL), 0);
	enable_unhook();
	wait_unhook();
	assert_int_equal(tool_finish(&T, 1), 0);
	assert_string_equal(field("unhook_sent"), "true");
	assert_string_equal(field("closed_in_time"), "true");
	assert_true(atof(field("unhook_ms")) >= 0);
	assert_string_equal(field("verdict"), "\"clean\"");
}

static void unhook_tool_too_slow(void **state)
{
	const char *const extra[] = { "--unhook-timeout-ms", "300", NULL };

	(void)state;
	start(extra);
	assert_int_equal(tool_handshake(&T, 24, NULL, NULL, 0, NULL), 0);
	enable_unhook();
	request_unhook();
	wait_unhook();
	/* do not close: the host must give up and close on its own */
	assert_int_equal(tool_wait_eof(&T), 1);
	assert_int_equal(tool_finish(&T, 0), 1);
	assert_string_equal(field("unhook_sent"), "true");
	assert_string_equal(field("closed_in_time"), "false");
	assert_string_equal(field("end"), "\"unhook-timeout\"");
	assert_non_null(strstr(field("verdict"), "unhook timeout"));
}

static void unhook_event_not_enabled(void **state)
{
	(void)state;
	start(NULL);
	assert_int_equal(tool_handshake(&T, 24, NULL, NULL, 0, NULL), 0);
	assert_int_equal(tool_cmd(&T, kvmi_encode_get_version(B(&T), 1), NULL), 0);
	request_unhook();
	assert_int_equal(tool_wait_eof(&T), 1); /* disconnected at once */
	assert_int_equal(tool_finish(&T, 0), 0);
	assert_string_equal(field("unhook_requested"), "true");
	assert_string_equal(field("unhook_sent"), "false");
	assert_string_equal(field("end"), "\"unhook-not-enabled\"");
}

static void dirty_tool_leaves_int3(void **state)
{
	static const uint8_t cc = 0xcc;

	(void)state;
	start(NULL);
	assert_int_equal(tool_handshake(&T, 24, NULL, NULL, 0, NULL), 0);
	/* an INT3 where no vCPU executes, never taken back */
	assert_int_equal(tool_cmd(&T, kvmi_encode_write_physical(B(&T), 1, 0x5020, &cc, 1),
				  NULL),
			 0);
	enable_unhook();
	request_unhook();
	wait_unhook();
	assert_int_equal(tool_finish(&T, 1), 1);
	assert_string_equal(field("bytes_differing"), "1");
	assert_string_equal(field("guest_integrity_errors"), "0");
	assert_non_null(strstr(field("verdict"), "1 bytes of guest memory differ"));
}

static void dirty_tool_leaves_page_restricted(void **state)
{
	struct kvmi_page_access_entry e = { .gpa = 0x6000,
					    .access = KVMI_PAGE_ACCESS_R };

	(void)state;
	start(NULL);
	assert_int_equal(tool_handshake(&T, 24, NULL, NULL, 0, NULL), 0);
	assert_int_equal(tool_cmd(&T, kvmi_encode_set_page_access(B(&T), 1, 0, &e, 1), NULL), 0);
	enable_unhook();
	request_unhook();
	wait_unhook();
	assert_int_equal(tool_finish(&T, 1), 1);
	assert_string_equal(field("pages_restricted"), "1");
	assert_string_equal(field("bytes_differing"), "0");
	assert_non_null(strstr(field("verdict"), "pages still restricted"));
}

static uint8_t read_byte(uint64_t gpa)
{
	struct test_msg r;

	assert_int_equal(tool_cmd(&T, kvmi_encode_read_physical(B(&T), T.seq++, gpa, 1), &r), 0);
	assert_int_equal(r.data_len, 1);
	return r.data[0];
}

static void write_byte(uint64_t gpa, uint8_t b)
{
	assert_int_equal(tool_cmd(&T, kvmi_encode_write_physical(B(&T), T.seq++, gpa, &b, 1),
				  NULL),
			 0);
}

static void control_bp(int enable)
{
	for (uint16_t v = 0; v < 2; v++)
		assert_int_equal(tool_cmd(&T, kvmi_encode_control_events(B(&T), T.seq++, v,
									 KVMI_EVENT_BREAKPOINT,
									 enable),
					  NULL),
				 0);
}

static void dirty_tool_continues_own_breakpoint(void **state)
{
	uint8_t orig;
	struct test_msg ev;

	(void)state;
	start(NULL);
	assert_int_equal(tool_handshake(&T, 24, NULL, NULL, 0, NULL), 0);
	orig = read_byte(hot);
	assert_int_not_equal(orig, 0xcc);
	control_bp(1);
	write_byte(hot, 0xcc);
	enable_unhook();
	assert_int_equal(tool_event(&T, &ev), 1);
	assert_int_equal(ev.event.event, KVMI_EVENT_BREAKPOINT);
	assert_int_equal(ev.ev.breakpoint.gpa, hot);
	assert_int_equal(ev.event.arch.regs.rip, hot);
	write_byte(hot, orig);
	/* the bug: CONTINUE hands the guest a #BP it did not expect */
	assert_int_equal(tool_reply(&T, &ev, KVMI_EVENT_ACTION_CONTINUE), 0);
	request_unhook();
	wait_unhook();
	assert_int_equal(tool_finish(&T, 1), 1);
	assert_int_not_equal(atoi(field("guest_integrity_errors")), 0);
	assert_string_equal(field("bytes_differing"), "0");
	assert_non_null(strstr(field("verdict"), "guest integrity errors"));
}

/* reply as a careful tool: its own INT3 -> RETRY (byte restored), the
 * guest's -> CONTINUE */
static void clean_reply(const struct test_msg *ev, uint8_t orig, int *armed)
{
	if (ev->event.event == KVMI_EVENT_BREAKPOINT && ev->ev.breakpoint.gpa == hot) {
		if (*armed)
			write_byte(hot, orig);
		*armed = 0;
		assert_int_equal(tool_reply(&T, ev, KVMI_EVENT_ACTION_RETRY), 0);
	} else {
		assert_int_equal(tool_reply(&T, ev, KVMI_EVENT_ACTION_CONTINUE), 0);
	}
}

static void clean_tool_verdict_clean(void **state)
{
	const char *const extra[] = { "--unhook-after-events", "40", "--hot-count", "8",
				      NULL };
	struct test_msg ev;
	uint8_t orig;
	int armed, own_hits = 0;

	(void)state;
	start(extra);
	assert_int_equal(tool_handshake(&T, 24, NULL, NULL, 0, NULL), 0);
	orig = read_byte(hot);
	control_bp(1); /* events first, then the INT3 */
	write_byte(hot, 0xcc);
	armed = 1;
	enable_unhook();
	for (;;) {
		assert_int_equal(tool_event(&T, &ev), 1);
		if (ev.event.event == KVMI_EVENT_UNHOOK)
			break;
		own_hits += ev.ev.breakpoint.gpa == hot;
		clean_reply(&ev, orig, &armed);
		if (!armed) { /* re-arm from the next event on */
			write_byte(hot, 0xcc);
			armed = 1;
		}
	}
	/* unhook: restore first, then stop BREAKPOINT, then answer
	 * everything that was sent before a final round trip */
	if (armed)
		write_byte(hot, orig);
	armed = 0;
	control_bp(0);
	assert_int_equal(tool_cmd(&T, kvmi_encode_get_version(B(&T), T.seq++), NULL), 0);
	while (T.nq) {
		assert_int_equal(tool_event(&T, &ev), 1);
		clean_reply(&ev, orig, &armed);
	}
	assert_int_equal(tool_finish(&T, 1), 0);
	assert_true(own_hits > 0);
	assert_true(atoi(strstr(field("events_replied"), "\"breakpoint\":") + 13) > 0);
	assert_string_equal(field("unhook_sent"), "true");
	assert_string_equal(field("closed_in_time"), "true");
	assert_string_equal(field("bytes_differing"), "0");
	assert_string_equal(field("verdict"), "\"clean\"");
}

static void unhook_on_sigusr1(void **state)
{
	(void)state;
	start(NULL);
	assert_int_equal(tool_handshake(&T, 24, NULL, NULL, 0, NULL), 0);
	enable_unhook();
	request_unhook();
	wait_unhook();
	assert_int_equal(tool_finish(&T, 1), 0);
	assert_string_equal(field("unhook_sent"), "true");
	assert_string_equal(field("closed_in_time"), "true");
}

static void record_writes_a_capture(void **state)
{
	char dir[] = "/tmp/fhrec-XXXXXX";
	char path[64];
	const char *extra[] = { "--record", dir, "--name", "rec/vm", NULL };
	struct kvmi_capture_reader *r = NULL;
	struct kvmi_capture_record rec;
	size_t bytes[2] = { 0, 0 }, eofs = 0;
	int n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	start(extra);
	assert_int_equal(tool_handshake(&T, 24, NULL, NULL, 0, NULL), 0);
	assert_int_equal(tool_cmd(&T, kvmi_encode_get_version(B(&T), 1), NULL), 0);
	assert_int_equal(tool_finish(&T, 1), 0);
	snprintf(path, sizeof(path), "%s/rec_vm.kvmicap", dir);
	assert_int_equal(kvmi_capture_reader_open(path, &r, NULL, 0), 0);
	while ((n = kvmi_capture_reader_next(r, &rec)) == 1) {
		if (rec.type == KVMI_CAPTURE_EOF)
			eofs++;
		else
			bytes[rec.dir] += rec.len;
	}
	assert_int_equal(n, 0);
	kvmi_capture_reader_free(r);
	/* KVMI traffic only: GET_VERSION (8) and its reply (8 + 8 + 8) */
	assert_int_equal(bytes[KVMI_DIR_TOOL_TO_HOST], 8);
	assert_int_equal(bytes[KVMI_DIR_HOST_TO_TOOL], 24);
	assert_int_equal(eofs, 2);
	unlink(path);
	rmdir(dir);
}

static void policy_and_duration_from_the_command_line(void **state)
{
	const char *const extra[] = { "--deny-command", "KVMI_GET_REGISTERS",
				      "--deny-event", "BREAKPOINT",
				      "--duration-ms", "1000", NULL };

	(void)state;
	start(extra);
	assert_int_equal(tool_handshake(&T, 24, NULL, NULL, 0, NULL), 0);
	assert_int_equal(tool_cmd(&T, kvmi_encode_check_command(B(&T), 1, KVMI_GET_REGISTERS),
				  NULL),
			 -KVM_EPERM);
	assert_int_equal(tool_cmd(&T, kvmi_encode_get_registers(B(&T), 2, 0, NULL, 0), NULL),
			 -KVM_EPERM);
	assert_int_equal(tool_cmd(&T, kvmi_encode_check_event(B(&T), 3, KVMI_EVENT_BREAKPOINT),
				  NULL),
			 -KVM_EPERM);
	assert_int_equal(tool_cmd(&T, kvmi_encode_control_events(B(&T), 4, 0,
								 KVMI_EVENT_BREAKPOINT, 1),
				  NULL),
			 -KVM_EPERM);
	assert_int_equal(tool_cmd(&T, kvmi_encode_check_event(B(&T), 5, KVMI_EVENT_PF), NULL), 0);
	/* the run ends after --duration-ms: the host closes */
	assert_int_equal(tool_wait_eof(&T), 1);
	assert_int_equal(tool_finish(&T, 0), 0);
	assert_string_equal(field("end"), "\"duration\"");
}

#define MANY 50

/* one process, MANY guests: each handshakes, enables UNHOOK, gets the
 * UNHOOK event and is closed; every report line is clean */
static void many_guests_in_one_process(void **state)
{
	const char *args[] = { "--guests", "50", "--vcpus", "1", NULL };
	int fds[MANY];
	const char *p;
	int clean = 0;

	(void)state;
	assert_int_equal(tool_spawn(&T, args), 0);
	for (int i = 0; i < MANY; i++) {
		uint8_t q[96], me[24] = { 24 }, reply[16];
		struct kvmi_msg_hdr h;
		int n;

		fds[i] = tool_accept(&T);
		assert_true(fds[i] >= 0);
		assert_int_equal(tool_read_fd(fds[i], q, sizeof(q)), 0);
		n = kvmi_encode_control_vm_events(B(&T), (uint32_t)i, KVMI_EVENT_UNHOOK, 1);
		assert_int_equal(send(fds[i], me, sizeof(me), MSG_NOSIGNAL), (ssize_t)sizeof(me));
		assert_int_equal(send(fds[i], T.buf, (size_t)n, MSG_NOSIGNAL), n);
		assert_int_equal(tool_read_fd(fds[i], reply, sizeof(reply)), 0);
		memcpy(&h, reply, sizeof(h));
		assert_int_equal(h.id, KVMI_CONTROL_VM_EVENTS);
		assert_int_equal(h.seq, i);
	}
	request_unhook();
	for (int i = 0; i < MANY; i++) {
		uint8_t ev[8 + 544];
		struct kvmi_msg_hdr h;

		assert_int_equal(tool_read_fd(fds[i], ev, sizeof(ev)), 0);
		memcpy(&h, ev, sizeof(h));
		assert_int_equal(h.id, KVMI_EVENT);
		assert_int_equal(ev[8 + 4], KVMI_EVENT_UNHOOK);
		close(fds[i]);
	}
	assert_int_equal(tool_finish(&T, 0), 0);
	for (p = T.report; (p = strstr(p, "\"verdict\":\"clean\"")); p++)
		clean++;
	assert_int_equal(clean, MANY);
}

static int run_cli(const char *arg)
{
	const char *exe = getenv("KVMI_FAKEHOST");
	const char *argv[] = { exe, arg, NULL };
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", 1, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", 1, 0);
	assert_int_equal(posix_spawn(&pid, exe, &fa, NULL, (char *const *)argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void cli_help_and_bad_arguments(void **state)
{
	(void)state;
	assert_int_equal(run_cli("--help"), 0);
	assert_int_equal(run_cli("--bogus"), 2);
	assert_int_equal(run_cli("--guests=0"), 2);
	assert_int_equal(run_cli("--deny-command=KVMI_GET_VERSION"), 2);
	assert_int_equal(run_cli("--dialect=v8"), 2);
}

/*
 * One guest in @dialect over the socket: QEMU's struct size, the dialect
 * told from the GET_VERSION reply, a breakpoint event in that dialect's
 * framing answered, the report naming the dialect.
 */
static void dialect_session(const char *name, uint32_t want_qsize)
{
	uint32_t n_qsize = 0;
	char dir[] = "/tmp/fhdia-XXXXXX", path[64], cmd[256], out[8192];
	const char *const extra[] = { "--dialect", name, "--insn", "exec",
				      "--vcpus", "1", "--record", dir,
				      "--name", "d", NULL };
	const char *dump = getenv("KVMI_DUMP");
	FILE *p;
	size_t got;
	struct test_msg r, ev;
	enum kvmi_dialect d, want;
	uint8_t orig;
	int n;

	assert_int_equal(kvmi_dialect_parse(name, &want), 0);
	assert_non_null(mkdtemp(dir));
	start(extra);
	assert_int_equal(tool_handshake(&T, 24, NULL, NULL, 0, &n_qsize), 0);
	assert_int_equal(n_qsize, want_qsize);
	assert_int_equal(tool_cmd(&T, kvmi_encode_get_version(B(&T), T.seq++), &r),
			 0);
	assert_int_equal(kvmi_dialect_from_version_reply(r.data, r.data_len, &d),
			 0);
	/* the reply cannot tell the kvmi-v7 generations apart */
	assert_int_equal(d, want == KVMI_DIALECT_V7_2023 ? KVMI_DIALECT_V7 : want);
	assert_int_equal(kvmi_decoder_set_dialect(T.dec, want), 0);
	d = want;
	if (d != KVMI_DIALECT_V12) { /* the generation probe (KVMI-V7.md 14) */
		n = kvmi_encode_check_command_d(d, B(&T), T.seq++,
						KVMI_V7_VM_QUERY_PHYSICAL);
		assert_int_equal(tool_cmd(&T, n, NULL),
				 d == KVMI_DIALECT_V7_2023 ? 0 : -KVM_EPERM);
	}
	/* plant an INT3 at the hot address, take one hit, restore, RETRY */
	n = kvmi_encode_read_physical_d(d, B(&T), T.seq++, hot, 1);
	assert_int_equal(tool_cmd(&T, n, &r), 0);
	orig = r.data[0];
	n = kvmi_encode_control_events_d(
		d, B(&T), T.seq++, 0,
		(uint16_t)kvmi_dialect_event_to_wire(d, KVMI_EVENT_BREAKPOINT), 1);
	assert_int_equal(tool_cmd(&T, n, NULL), 0);
	n = kvmi_encode_write_physical_d(d, B(&T), T.seq++, hot, "\xcc", 1);
	assert_int_equal(tool_cmd(&T, n, NULL), 0);
	assert_int_equal(tool_event(&T, &ev), 1);
	assert_int_equal(kvmi_dialect_event_from_wire(d, ev.event.event),
			 KVMI_EVENT_BREAKPOINT);
	assert_int_equal(ev.ev.breakpoint.gpa, hot);
	n = kvmi_encode_write_physical_d(d, B(&T), T.seq++, hot, &orig, 1);
	assert_int_equal(tool_cmd(&T, n, NULL), 0);
	n = kvmi_encode_control_events_d(
		d, B(&T), T.seq++, 0,
		(uint16_t)kvmi_dialect_event_to_wire(d, KVMI_EVENT_BREAKPOINT), 0);
	assert_int_equal(tool_cmd(&T, n, NULL), 0);
	n = kvmi_encode_event_reply_d(d, B(&T), ev.hdr.seq, ev.event.vcpu,
				      ev.event.event, KVMI_EVENT_ACTION_RETRY);
	assert_int_equal(tool_send(&T, T.buf, (size_t)n), 0);
	assert_int_equal(tool_cmd(&T, kvmi_encode_get_version(B(&T), T.seq++),
				  NULL),
			 0);
	while (T.nq) {
		assert_int_equal(tool_event(&T, &ev), 1);
		n = kvmi_encode_event_reply_d(d, B(&T), ev.hdr.seq,
					      ev.event.vcpu, ev.event.event,
					      KVMI_EVENT_ACTION_RETRY);
		assert_int_equal(tool_send(&T, T.buf, (size_t)n), 0);
	}
	assert_int_equal(tool_finish(&T, 1), 0);
	assert_string_equal(field("dialect"), want == KVMI_DIALECT_V12 ? "\"v12\""
					      : want == KVMI_DIALECT_V7 ? "\"v7\""
									: "\"v7-2023\"");
	assert_string_equal(field("verdict"), "\"clean\"");

	/* the recorded session: kvmi-dump tells the dialect and decodes
	 * every message of it */
	assert_non_null(dump);
	snprintf(path, sizeof(path), "%s/d.kvmicap", dir);
	snprintf(cmd, sizeof(cmd), "'%s' '%s'", dump, path);
	p = popen(cmd, "r");
	assert_non_null(p);
	got = fread(out, 1, sizeof(out) - 1, p);
	out[got] = 0;
	assert_int_equal(pclose(p), 0);
	snprintf(cmd, sizeof(cmd), "# dialect %s (", name);
	assert_non_null(strstr(out, cmd));
	assert_non_null(strstr(out, "BREAKPOINT action=RETRY"));
	unlink(path);
	rmdir(dir);
}

static void dialect_v7_over_socket(void **state)
{
	(void)state;
	dialect_session("v7", 96);
}

static void dialect_v7_2023_over_socket(void **state)
{
	(void)state;
	dialect_session("v7-2023", 96);
}

static void dialect_v12_over_socket(void **state)
{
	(void)state;
	dialect_session("v12", 104);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_teardown(f, teardown)
		T(handshake_good_cookie),
		T(handshake_bad_cookie),
		T(handshake_short_struct),
		T(handshake_long_struct_and_first_command),
		T(handshake_timeout),
		T(unhook_tool_closes_in_time),
		T(unhook_tool_too_slow),
		T(unhook_event_not_enabled),
		T(dirty_tool_leaves_int3),
		T(dirty_tool_leaves_page_restricted),
		T(dirty_tool_continues_own_breakpoint),
		T(clean_tool_verdict_clean),
		T(unhook_on_sigusr1),
		T(record_writes_a_capture),
		T(policy_and_duration_from_the_command_line),
		T(many_guests_in_one_process),
		cmocka_unit_test(cli_help_and_bad_arguments),
		T(dialect_v7_over_socket),
		T(dialect_v7_2023_over_socket),
		T(dialect_v12_over_socket),
	};

	return cmocka_run_group_tests(tests, setup_group, NULL);
}
