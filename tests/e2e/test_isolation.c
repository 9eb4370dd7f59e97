/*
 * libkvmi - tests/e2e/test_isolation.c: no guest waits on another.
 * kvmi-unhookd (a real process) serves two scripted hosts (child
 * processes): a slow one that answers every command 9.5 s late - just
 * under the 10 s command timeout - and a busy one whose vCPUs hit the
 * daemon's breakpoint as fast as the daemon answers.  While the slow
 * host holds its commands, the busy guest's event round trip (host send
 * -> reply received, measured by the busy host) stays under 5 ms at the
 * 99th percentile, and its unhook leaves the breakpoint byte restored.
 * The busy host models just what the daemon uses: one byte of memory at
 * the breakpoint, page access, replies-disabled batches.
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "host_encoder.h"

#define BP_GPA 0x3010ull
#define OWN_INT3_GPA 0x4000ull /* the guest's own INT3: not the daemon's */
#define HITS 2000
#define SLOW_MS 9500

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000;
}

/* ---- the busy host ---- */

struct busy {
	struct peer p;
	uint8_t byte;	 /* guest memory at BP_GPA */
	bool replies_off;
	uint64_t rtt[2 * HITS];
	size_t nrtt;
};

/* answer one command like a host would (what the daemon sends) */
static int busy_command(struct busy *b, const struct kvmi_msg *m)
{
	const uint8_t *body = m->u.command.body;
	bool answer = !b->replies_off;
	uint8_t data[64] = {0};
	size_t len = 0;

	switch (m->hdr.id) {
	case KVMI_CONTROL_CMD_RESPONSE: {
		struct kvmi_control_cmd_response c;

		memcpy(&c, body, sizeof(c));
		if (c.now == 1)
			answer = c.enable;
		b->replies_off = !c.enable;
		break;
	}
	case KVMI_READ_PHYSICAL: {
		struct kvmi_read_physical r;

		memcpy(&r, body, sizeof(r));
		if (r.size > sizeof(data))
			return -1;
		memset(data, 0x90, r.size);
		if (r.gpa <= BP_GPA && BP_GPA < r.gpa + r.size)
			data[BP_GPA - r.gpa] = b->byte;
		len = r.size;
		break;
	}
	case KVMI_WRITE_PHYSICAL: {
		struct kvmi_write_physical w;

		memcpy(&w, body, sizeof(w));
		if (w.gpa == BP_GPA && w.size == 1)
			b->byte = body[sizeof(w)];
		break;
	}
	case KVMI_GET_PAGE_ACCESS:
		len = 1;
		data[0] = KVMI_PAGE_ACCESS_RWX;
		break;
	default:
		break;
	}
	if (!answer)
		return 0;
	return peer_reply(&b->p, m, 0, data, len);
}

/* read until the reply to event @seq, answering commands; 0 or -1 */
static int busy_wait_reply(struct busy *b, uint32_t seq)
{
	for (;;) {
		const struct kvmi_msg *m = peer_read(&b->p);

		if (!m)
			return -1;
		if (m->kind == KVMI_MSG_EVENT_REPLY)
			return m->hdr.seq == seq ? 0 : -1;
		if (m->kind == KVMI_MSG_COMMAND && busy_command(b, m))
			return -1;
	}
}

/* a BREAKPOINT at @gpa (the vCPU's rip there), timed to its reply */
static int busy_event(struct busy *b, uint16_t vcpu, uint64_t gpa)
{
	struct kvmi_event_breakpoint bp = {.gpa = gpa, .insn_len = 1};
	uint8_t out[KVMI_ENCODE_MAX];
	uint32_t seq = ++b->p.event_seq;
	struct kvmi_event ev;
	uint64_t t0;
	int n;

	memset(&ev, 0, sizeof(ev));
	ev.vcpu = vcpu;
	ev.event = KVMI_EVENT_BREAKPOINT;
	ev.arch.regs.rip = gpa;
	n = kvmi_encode_event(out, sizeof(out), seq, &ev, sizeof(ev), &bp,
			      sizeof(bp));
	t0 = now_us();
	if (n < 0 || peer_send(&b->p, out, (size_t)n) ||
	    busy_wait_reply(b, seq))
		return -1;
	b->rtt[b->nrtt++] = now_us() - t0;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* the busy host's life; exit status 0 when the p99 and the unhook are
 * right (the figures go to stderr) */
static int busy_host(const char *path)
{
	static struct busy b;
	uint64_t p50, p99, max;

	b.byte = 0x90;
	if (peer_connect(&b.p, path, 2))
		return 10;
	/* the daemon places its breakpoint: wait for the INT3 */
	while (b.byte != 0xcc) {
		const struct kvmi_msg *m = peer_read(&b.p);

		if (!m || m->kind != KVMI_MSG_COMMAND || busy_command(&b, m))
			return 11;
	}
	for (int i = 0; i < HITS; i++) {
		uint16_t vcpu = (uint16_t)(i & 1);

		/* our INT3 (restored, RETRY), then the guest's own one at
		 * another address (proof the vCPU moved on: re-armed) */
		if (b.byte != 0xcc || busy_event(&b, vcpu, BP_GPA) ||
		    busy_event(&b, vcpu, OWN_INT3_GPA))
			return 12;
	}
	/* QEMU asks for the unhook: the daemon restores and closes */
	if (peer_event(&b.p, 0, KVMI_EVENT_UNHOOK, NULL, 0))
		return 13;
	for (;;) {
		const struct kvmi_msg *m = peer_read(&b.p);

		if (!m)
			break; /* closed */
		if (m->kind == KVMI_MSG_COMMAND && busy_command(&b, m))
			return 14;
	}
	qsort(b.rtt, b.nrtt, sizeof(b.rtt[0]), cmp_u64);
	p50 = b.rtt[b.nrtt / 2];
	p99 = b.rtt[b.nrtt * 99 / 100];
	max = b.rtt[b.nrtt - 1];
	fprintf(stderr,
		"busy guest: %zu events, round trip p50 %llu us, p99 %llu us, "
		"max %llu us; byte after the unhook 0x%02x\n",
		b.nrtt, (unsigned long long)p50, (unsigned long long)p99,
		(unsigned long long)max, b.byte);
	peer_cleanup();
	if (b.byte != 0x90)
		return 15;
	return p99 < 5000 ? 0 : 16;
}

/* ---- the slow host: start-up at once, then every reply 9.5 s late ---- */

static int slow_host(const char *path)
{
	struct peer p;

	if (peer_connect(&p, path, 2))
		return 10;
	for (;;) {
		const struct kvmi_msg *m = peer_read(&p);
		struct timespec ts = {SLOW_MS / 1000,
				      (SLOW_MS % 1000) * 1000000L};
		uint8_t data[64] = {0};
		size_t len = 0;

		if (!m)
			return 0;
		if (m->kind != KVMI_MSG_COMMAND)
			continue;
		if (m->hdr.id == KVMI_READ_PHYSICAL) {
			struct kvmi_read_physical r;

			memcpy(&r, m->u.command.body, sizeof(r));
			len = r.size < sizeof(data) ? r.size : sizeof(data);
		}
		nanosleep(&ts, NULL); /* the host being slow, not a wait */
		if (peer_reply(&p, m, 0, data, len))
			return 0;
	}
}

/* ---- the test ---- */

static pid_t fork_peer(int (*fn)(const char *), const char *path)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGPIPE, SIG_IGN);
		alarm(60); /* a stuck peer must not hang the suite */
		_exit(fn(path));
	}
	return pid;
}

/* start the daemon; return once its log says it listens */
static pid_t start_daemon(const char *dir, const char *sock, int *log_fd)
{
	char hooks[256], line[4096];
	int pfd[2];
	size_t n = 0;
	pid_t pid;
	FILE *f;

	snprintf(hooks, sizeof(hooks), "%s/hooks.txt", dir);
	f = fopen(hooks, "w");
	assert_non_null(f);
	fprintf(f, "bp 0x%llx\n", (unsigned long long)BP_GPA);
	fclose(f);
	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		close(pfd[0]);
		execl(getenv("KVMI_UNHOOKD"), "kvmi-unhookd", "--listen", sock,
		      "--hooks", hooks, "--deadline-ms", "3000", (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		ssize_t r = read(pfd[0], line + n, 1);

		assert_true(r == 1);
		if (line[n] == '\n') {
			line[n] = 0;
			if (strstr(line, "event=listening"))
				break;
			n = 0;
			continue;
		}
		if (n + 1 < sizeof(line))
			n++;
	}
	*log_fd = pfd[0];
	return pid;
}

static int wait_status(pid_t pid)
{
	int st;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void test_slow_host_delays_no_other_guest(void **state)
{
	char dir[] = "/tmp/kvmi-iso-XXXXXX", sock[128];
	pid_t daemon, slow, busy;
	uint64_t t0;
	int log_fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/sock", dir);
	daemon = start_daemon(dir, sock, &log_fd);
	/* the daemon drains its log in the background: a full pipe would
	 * stall it (its writes block) */
	if (fork() == 0) {
		char b[4096];

		while (read(log_fd, b, sizeof(b)) > 0)
			;
		_exit(0);
	}
	close(log_fd);
	slow = fork_peer(slow_host, sock);
	busy = fork_peer(busy_host, sock);
	t0 = now_us();
	assert_int_equal(wait_status(busy), 0);
	/* all of it happened while the slow host held its first command */
	assert_true(now_us() - t0 < SLOW_MS * 1000ull);
	kill(slow, SIGKILL);
	wait_status(slow);
	kill(daemon, SIGTERM);
	assert_int_equal(wait_status(daemon), 0);
	unlink(sock);
	snprintf(sock, sizeof(sock), "%s/hooks.txt", dir);
	unlink(sock);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slow_host_delays_no_other_guest),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
