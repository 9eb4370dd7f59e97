/*
 * libkvmi - tests/server/test_own_loop.c: domains driven by the tool's
 * own loop (include/kvmi/own-loop.h), never by libuv: the tool listens
 * and accepts itself, hands the connection over with kvmi_server_adopt
 * and drives it with poll(2) through kvmi_dom_poll_events /
 * kvmi_dom_timeout / kvmi_dom_process, or kvmi_dom_run.  Against
 * kvmi-fakehost and a scripted host, in real processes:
 *   - a breakpoint tool's whole life, unhook included, guest clean, and
 *     the server's libuv loop never had a handle;
 *   - kvmi_dom_run with the server's busy polling: the thread hardly
 *     ever sleeps while CR3 events flow (without it, once per event);
 *   - kvmi_dom_close outside process: the watch callback says so, the
 *     disconnect comes from the next process call, not from the close;
 *   - kvmi_dom_close with a breakpoint being hit and no unhook: the
 *     library takes it back first, the guest is clean;
 *   - the handshake timeout from kvmi_dom_timeout alone;
 *   - a thread per guest: while one guest's new_domain waits in a
 *     synchronous read its host holds back, another guest on another
 *     thread runs its breakpoints and unhook to the end;
 *   - bad arguments.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define BP_GPA 0x10000ull
#define HELD_GPA 0x2000ull
#define IDLE_BP_GPA 0x20000ull /* no vCPU executes it */

/* one guest's tool: its own server, listening socket and counters */
struct tool {
	char dir[64], path[96], report[160];
	int lfd;
	struct kvmi_server *srv;
	struct kvmi_dom *dom;
	pid_t child;
	int new_domains, disconnects, reason;
	int bp_result, bp_hits, unhooked, unhook_result;
	int watch_calls;
	/* the thread test's guest A */
	int read_result;
	uint8_t read_buf[8];
	atomic_int *other_done; /* set by the other guest's thread */
	int other_done_at_return;
	int run_result;
	unsigned int busy_poll_us; /* the server's, set before tool_server */
};

static void tool_init(struct tool *t)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};

	memset(t, 0, sizeof(*t));
	snprintf(t->dir, sizeof(t->dir), "/tmp/kvmi-own-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof(t->path), "%s/sock", t->dir);
	snprintf(t->report, sizeof(t->report), "%s/report.json", t->dir);
	t->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(t->lfd >= 0);
	memcpy(a.sun_path, t->path, strlen(t->path) + 1);
	assert_int_equal(bind(t->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(t->lfd, 4), 0);
	t->child = -1;
}

static void tool_fini(struct tool *t)
{
	char cmd[128];

	kvmi_server_free(t->srv);
	close(t->lfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", t->dir);
}

static void on_log(enum kvmi_log_level level, const char *msg,
		   struct kvmi_dom *dom, void *ctx)
{
	(void)dom;
	(void)ctx;
	if (level >= KVMI_LOG_WARNING || getenv("TEST_OWN_LOOP_DEBUG"))
		fprintf(stderr, "libkvmi: %s\n", msg);
}

static void on_disconnect(struct kvmi_dom *dom, int reason, void *ctx)
{
	struct tool *t = ctx;

	(void)dom;
	t->disconnects++;
	t->reason = reason;
}

static void after_unhook(struct kvmi_dom *dom,
			 const struct kvmi_unhook_report *r, void *ctx)
{
	struct tool *t = ctx;

	(void)dom;
	t->unhooked++;
	t->unhook_result = r->result;
}

static int on_bp(struct kvmi_dom *dom, struct kvmi_event_ctx *ev,
		 uint64_t gpa, void *ctx)
{
	struct tool *t = ctx;

	(void)dom;
	(void)ev;
	(void)gpa;
	t->bp_hits++;
	return 0;
}

/* a breakpoint at BP_GPA (a synchronous call: the tool's loop is the
 * one waiting) and the unhook on KVMI_EVENT_UNHOOK */
static int bp_new_domain(struct kvmi_dom *dom, void *ctx)
{
	struct tool *t = ctx;

	t->new_domains++;
	t->bp_result = kvmi_bp_set(dom, BP_GPA, on_bp, t, NULL);
	if (t->bp_result == 0)
		t->bp_result =
		    kvmi_dom_control_vm_events(dom, KVMI_EVENT_UNHOOK, 1);
	return t->bp_result;
}

/* a server that listens nowhere: every domain comes from adopt */
static void tool_server(struct tool *t, kvmi_new_domain_cb new_domain,
			unsigned int handshake_ms)
{
	struct kvmi_server_config cfg = {
	    .size = sizeof(cfg),
	    .new_domain = new_domain,
	    .disconnect = on_disconnect,
	    .log = on_log,
	    .log_level = KVMI_LOG_DEBUG,
	    .ctx = t,
	    .handshake_timeout_ms = handshake_ms,
	    .busy_poll_us = t->busy_poll_us,
	};

	assert_int_equal(kvmi_server_new(NULL, &cfg, &t->srv), 0);
	assert_int_equal(kvmi_server_unhook_on_event(t->srv, 5000, NULL,
						     after_unhook, t),
			 0);
}

static void spawn(struct tool *t, const char *const *argv)
{
	t->child = fork();
	assert_true(t->child >= 0);
	if (t->child == 0) {
		signal(SIGALRM, SIG_DFL);
		alarm(60); /* a stuck child must not hang the suite */
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
}

/* kvmi-fakehost connecting to @t's socket, with @extra (NULL-ended) */
static void spawn_fakehost(struct tool *t, const char *const *extra)
{
	const char *argv[32] = {getenv("KVMI_FAKEHOST"), "--connect", t->path,
				"--report", t->report};
	int n = 5;

	assert_non_null(argv[0]);
	for (int i = 0; extra && extra[i]; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	spawn(t, argv);
}

/* this program again as the scripted host @name */
static void spawn_peer(struct tool *t, const char *name, const char *arg)
{
	static char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	const char *argv[] = {self, "--peer", name, t->path, arg, NULL};

	assert_true(n > 0);
	self[n] = 0;
	spawn(t, argv);
}

/* accept the child's connection (bounded) and adopt it */
static void tool_accept(struct tool *t)
{
	struct pollfd p = {.fd = t->lfd, .events = POLLIN};
	int fd;

	assert_int_equal(poll(&p, 1, 20000), 1);
	fd = accept(t->lfd, NULL, NULL);
	assert_true(fd >= 0);
	assert_int_equal(kvmi_server_adopt(t->srv, fd, &t->dom), 0);
	assert_int_equal(kvmi_dom_fd(t->dom), fd);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
}

/* @t's server (@new_domain, @handshake_ms), kvmi-fakehost with @args
 * connecting to it, and its connection accepted and adopted */
static void tool_start(struct tool *t, kvmi_new_domain_cb new_domain,
		       unsigned int handshake_ms, const char *const *args)
{
	tool_server(t, new_domain, handshake_ms);
	spawn_fakehost(t, args);
	tool_accept(t);
}

static int child_status(struct tool *t)
{
	int st;

	assert_int_equal(waitpid(t->child, &st, 0), t->child);
	t->child = -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int report_count(struct tool *t, const char *needle)
{
	static char buf[16384];
	FILE *f = fopen(t->report, "r");
	size_t n;
	int c = 0;

	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	for (char *p = buf; (p = strstr(p, needle)) != NULL; p++)
		c++;
	if (!c)
		fprintf(stderr, "report: %s\n", buf);
	return c;
}

/* one turn of the tool's own loop: poll what the domain wants, process
 * what came; kvmi_dom_process's result (0 open, 1 closed) */
static int tool_step(struct tool *t)
{
	struct pollfd p = {.fd = kvmi_dom_fd(t->dom),
			   .events = (short)kvmi_dom_poll_events(t->dom)};
	int n = poll(&p, 1, kvmi_dom_timeout(t->dom));
	int r;

	assert_true(n >= 0);
	r = kvmi_dom_process(t->dom, n > 0 ? p.revents : 0);
	assert_true(r == 0 || r == 1);
	return r;
}

/* ---- a breakpoint tool's whole life on the tool's own poll loop ---- */

static void test_poll_loop_breakpoints_and_unhook(void **state)
{
	const char *const args[] = {"--vcpus",	   "2",	      "--hot-gpa",
				    "0x10000",	   "--hot-count", "0",
				    "--unhook-after-events", "300", NULL};
	struct tool t;
	int closed = 0;

	(void)state;
	tool_init(&t);
	tool_start(&t, bp_new_domain, 0, args);
	kvmi_dom_ref(t.dom); /* to look at it after its close */
	/* the handshake timeout is the first deadline */
	assert_true(kvmi_dom_timeout(t.dom) > 0);
	assert_true(kvmi_dom_timeout(t.dom) <= 10000);
	assert_int_equal(kvmi_dom_poll_events(t.dom), POLLIN);
	while (!closed)
		closed = tool_step(&t);
	assert_int_equal(t.new_domains, 1);
	assert_int_equal(t.bp_result, 0);
	assert_true(t.bp_hits > 0);
	assert_int_equal(t.unhooked, 1);
	assert_int_equal(t.unhook_result, 0);
	assert_int_equal(t.disconnects, 1);
	assert_int_equal(t.reason, 0); /* the tool closed it */
	/* closed for good: the fd is gone, process says so again */
	assert_int_equal(kvmi_dom_fd(t.dom), -1);
	assert_int_equal(kvmi_dom_poll_events(t.dom), 0);
	assert_int_equal(kvmi_dom_process(t.dom, 0), 1);
	assert_int_equal(t.disconnects, 1);
	kvmi_dom_unref(t.dom);
	/* nothing of it ever was on the server's libuv loop */
	assert_int_equal(uv_loop_alive(kvmi_server_loop(t.srv)), 0);
	assert_int_equal(child_status(&t), 0);
	assert_int_equal(report_count(&t, "\"verdict\":\"clean\""), 1);
	assert_int_equal(report_count(&t, "\"end\":\"tool-closed\""), 1);
	tool_fini(&t);
}

/* ---- kvmi_dom_run with busy polling ---- */

#define CR3_EVENTS 3000

static int cr3_new_domain(struct kvmi_dom *dom, void *ctx)
{
	struct tool *t = ctx;

	t->new_domains++;
	h_enable_cr3(dom);
	return 0;
}

static void on_cr3(struct kvmi_dom *dom, struct kvmi_event_ctx *ev, void *ctx)
{
	struct tool *t = ctx;

	kvmi_event_reply(ev, KVMI_EVENT_ACTION_CONTINUE);
	if (++t->bp_hits == CR3_EVENTS)
		kvmi_dom_close(dom);
}

/* one guest's CR3 events under kvmi_dom_run: the times it slept */
static long run_sleeps(unsigned int busy_poll_us, int *events)
{
	const char *const args[] = {"--vcpus", "1", "--events-per-vcpu",
				    "3000", "--hot-count", "0", "--insn",
				    "cr3", NULL};
	struct tool t;
	long slept;

	tool_init(&t);
	t.busy_poll_us = busy_poll_us;
	tool_start(&t, cr3_new_domain, 0, args);
	assert_int_equal(kvmi_server_on_event(t.srv, KVMI_EVENT_CR, on_cr3, &t,
					      NULL),
			 0);
	slept = h_thread_sleeps();
	assert_int_equal(kvmi_dom_run(t.dom), 0);
	slept = h_thread_sleeps() - slept;
	assert_int_equal(t.new_domains, 1);
	assert_int_equal(child_status(&t), 0);
	assert_int_equal(report_count(&t, "\"end\":\"tool-closed\""), 1);
	*events = t.bp_hits;
	tool_fini(&t);
	return slept;
}

static void test_run_busy_poll(void **state)
{
	int hits_busy, hits_plain;
	long busy = run_sleeps(KVMI_SERVER_BUSY_POLL_MAX_US, &hits_busy);
	long plain = run_sleeps(0, &hits_plain);

	(void)state;
	print_message("kvmi_dom_run slept %ld times over %d CR3 events "
		      "with busy polling, %ld over %d without\n",
		      busy, hits_busy, plain, hits_plain);
	assert_int_equal(hits_busy, CR3_EVENTS);
	assert_int_equal(hits_plain, CR3_EVENTS);
	/* without it, about once per event (each reply waits for the host's
	 * next event); with it, the waits for the host's connect and at
	 * most a few stalls of a loaded machine */
	assert_true(busy < hits_busy / 100);
}

/* ---- kvmi_dom_close outside process ---- */

static int plain_new_domain(struct kvmi_dom *dom, void *ctx)
{
	struct tool *t = ctx;

	(void)dom;
	t->new_domains++;
	return 0;
}

static void on_watch(struct kvmi_dom *dom, void *ctx)
{
	struct tool *t = ctx;

	(void)dom;
	t->watch_calls++;
}

static void test_close_outside_process(void **state)
{
	const char *const args[] = {"--vcpus", "1", NULL};
	struct tool t;

	(void)state;
	tool_init(&t);
	tool_start(&t, plain_new_domain, 0, args);
	assert_int_equal(kvmi_dom_set_watch(t.dom, on_watch, &t), 0);
	kvmi_dom_ref(t.dom);
	while (!t.new_domains)
		assert_int_equal(tool_step(&t), 0);
	t.watch_calls = 0;
	kvmi_dom_close(t.dom);
	/* torn down, but the tool hears of it from its loop, not from
	 * inside its own call */
	assert_true(t.watch_calls >= 1);
	assert_int_equal(t.disconnects, 0);
	assert_int_equal(kvmi_dom_timeout(t.dom), 0);
	assert_int_equal(kvmi_dom_poll_events(t.dom), 0);
	assert_int_equal(kvmi_dom_process(t.dom, 0), 1);
	assert_int_equal(t.disconnects, 1);
	assert_int_equal(t.reason, 0);
	assert_int_equal(kvmi_dom_process(t.dom, 0), 1);
	assert_int_equal(t.disconnects, 1);
	kvmi_dom_unref(t.dom);
	assert_int_equal(child_status(&t), 0);
	assert_int_equal(report_count(&t, "\"end\":\"tool-closed\""), 1);
	tool_fini(&t);
}

/* ---- the tool closes without an unhook: the hooks go back first ---- */

/* a breakpoint the vCPUs hit and one at an address they never execute
 * (so it is armed whenever the tool closes) */
static int two_bps_new_domain(struct kvmi_dom *dom, void *ctx)
{
	struct tool *t = ctx;

	t->new_domains++;
	t->bp_result = kvmi_bp_set(dom, BP_GPA, on_bp, t, NULL);
	if (!t->bp_result)
		t->bp_result = kvmi_bp_set(dom, IDLE_BP_GPA, on_bp, t, NULL);
	return t->bp_result;
}

static void test_close_takes_hooks_back(void **state)
{
	const char *const args[] = {"--vcpus", "2", "--hot-gpa", "0x10000",
				    "--hot-count", "0", "--duration-ms",
				    "30000", NULL};
	struct tool t;
	int closed = 0;

	(void)state;
	tool_init(&t);
	tool_start(&t, two_bps_new_domain, 0, args);
	kvmi_dom_ref(t.dom);
	while (!closed) {
		closed = tool_step(&t);
		/* the breakpoint is being hit: close, as a tool that
		 * forgot its unhook would */
		if (!closed && t.bp_hits >= 50 && kvmi_dom_is_connected(t.dom))
			kvmi_dom_close(t.dom);
	}
	assert_int_equal(t.bp_result, 0);
	assert_int_equal(t.unhooked, 0);
	assert_int_equal(t.disconnects, 1);
	assert_int_equal(t.reason, 0);
	kvmi_dom_unref(t.dom);
	assert_int_equal(child_status(&t), 0);
	/* both INT3 bytes are back and no vCPU took a #BP for them */
	assert_int_equal(report_count(&t, "\"verdict\":\"clean\""), 1);
	assert_int_equal(report_count(&t, "\"end\":\"tool-closed\""), 1);
	tool_fini(&t);
}

/* ---- the handshake timeout, from kvmi_dom_timeout alone ---- */

static void test_handshake_timeout(void **state)
{
	const char *const args[] = {"--misbehave", "idle", "--duration-ms",
				    "5000", NULL};
	struct tool t;
	int t0;

	(void)state;
	tool_init(&t);
	tool_start(&t, plain_new_domain, 300, args);
	t0 = kvmi_dom_timeout(t.dom);
	assert_true(t0 > 0 && t0 <= 300);
	assert_int_equal(kvmi_dom_run(t.dom), -ETIMEDOUT);
	assert_int_equal(t.new_domains, 0);
	assert_int_equal(t.disconnects, 0); /* never reported: never told */
	child_status(&t);
	tool_fini(&t);
}

/* ---- a thread per guest: a synchronous wait holds only its guest ---- */

/* the host of guest A: answers the start-up, then holds the reply to the
 * next command until the test writes a byte into the fifo @arg */
static int peer_holder(const char *path, const char *arg)
{
	struct peer p;
	const struct kvmi_msg *m;
	uint8_t data[8] = {1, 2, 3, 4, 5, 6, 7, 8}, go;
	int fifo, r;

	if (peer_connect(&p, path, 1))
		return 10;
	m = peer_read(&p);
	if (!m || m->hdr.id != KVMI_READ_PHYSICAL)
		return 11;
	fifo = open(arg, O_RDONLY);
	if (fifo < 0 || read(fifo, &go, 1) != 1)
		return 12;
	close(fifo);
	if (peer_reply(&p, m, 0, data, sizeof(data)))
		return 13;
	r = peer_wait_eof(&p, 10000) == 1 ? 0 : 14;
	peer_cleanup();
	return r;
}

static int held_new_domain(struct kvmi_dom *dom, void *ctx)
{
	struct tool *t = ctx;

	t->new_domains++;
	t->read_result =
	    kvmi_dom_read_physical(dom, HELD_GPA, t->read_buf, sizeof(t->read_buf));
	t->other_done_at_return = atomic_load(t->other_done);
	kvmi_dom_close(dom);
	return 0;
}

static void *guest_thread(void *arg)
{
	struct tool *t = arg;

	t->run_result = kvmi_dom_run(t->dom);
	return NULL;
}

static void test_thread_per_guest(void **state)
{
	const char *const args[] = {"--vcpus",	   "2",	      "--hot-gpa",
				    "0x10000",	   "--hot-count", "0",
				    "--unhook-after-events", "500", NULL};
	static const uint8_t want[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	atomic_int b_done = 0;
	struct tool a, b;
	pthread_t ta, tb;
	char fifo[160];
	int fd;

	(void)state;
	tool_init(&a);
	tool_init(&b);
	a.other_done = &b_done;
	snprintf(fifo, sizeof(fifo), "%s/go", a.dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	tool_server(&a, held_new_domain, 0);
	tool_server(&b, bp_new_domain, 0);
	spawn_peer(&a, "holder", fifo);
	spawn_fakehost(&b, args);
	tool_accept(&a);
	tool_accept(&b);
	assert_int_equal(pthread_create(&ta, NULL, guest_thread, &a), 0);
	assert_int_equal(pthread_create(&tb, NULL, guest_thread, &b), 0);
	/* guest B runs to its end while guest A's new_domain waits */
	assert_int_equal(pthread_join(tb, NULL), 0);
	atomic_store(&b_done, 1);
	assert_int_equal(b.run_result, 0);
	assert_int_equal(b.bp_result, 0);
	assert_true(b.bp_hits > 0);
	assert_int_equal(b.unhooked, 1);
	assert_int_equal(b.unhook_result, 0);
	assert_int_equal(b.disconnects, 1);
	assert_int_equal(child_status(&b), 0);
	assert_int_equal(report_count(&b, "\"verdict\":\"clean\""), 1);
	/* now A's host answers */
	fd = open(fifo, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "g", 1), 1);
	close(fd);
	assert_int_equal(pthread_join(ta, NULL), 0);
	assert_int_equal(a.new_domains, 1);
	assert_int_equal(a.read_result, 0);
	assert_memory_equal(a.read_buf, want, sizeof(want));
	assert_int_equal(a.other_done_at_return, 1);
	assert_int_equal(a.run_result, 0);
	assert_int_equal(a.disconnects, 1);
	assert_int_equal(child_status(&a), 0);
	tool_fini(&a);
	tool_fini(&b);
}

/* ---- wrong arguments ---- */

static void test_bad_arguments(void **state)
{
	struct tool t;
	struct kvmi_dom *dom = NULL;
	int pfd[2], udp;

	(void)state;
	tool_init(&t);
	tool_server(&t, plain_new_domain, 0);
	assert_int_equal(kvmi_server_adopt(NULL, 0, &dom), -EINVAL);
	assert_int_equal(kvmi_server_adopt(t.srv, -1, &dom), -EINVAL);
	assert_int_equal(kvmi_server_adopt(t.srv, 0, NULL), -EINVAL);
	assert_int_equal(pipe(pfd), 0);
	assert_int_equal(kvmi_server_adopt(t.srv, pfd[0], &dom), -ENOTSOCK);
	udp = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_int_equal(kvmi_server_adopt(t.srv, udp, &dom), -EPROTOTYPE);
	assert_null(dom);
	assert_int_equal(kvmi_dom_process(NULL, 0), -EINVAL);
	assert_int_equal(kvmi_dom_run(NULL), -EINVAL);
	assert_int_equal(kvmi_dom_set_watch(NULL, on_watch, NULL), -EINVAL);
	assert_int_equal(kvmi_dom_poll_events(NULL), 0);
	assert_int_equal(kvmi_dom_timeout(NULL), -1);
	kvmi_server_shutdown(t.srv);
	{
		int sp[2];

		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
		assert_int_equal(kvmi_server_adopt(t.srv, sp[0], &dom),
				 -ESHUTDOWN);
		close(sp[0]);
		close(sp[1]);
	}
	close(pfd[0]);
	close(pfd[1]);
	close(udp);
	tool_fini(&t);
}

static const struct h_peer peers[] = {
    {"holder", peer_holder},
};

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_poll_loop_breakpoints_and_unhook),
	    cmocka_unit_test(test_run_busy_poll),
	    cmocka_unit_test(test_close_outside_process),
	    cmocka_unit_test(test_close_takes_hooks_back),
	    cmocka_unit_test(test_handshake_timeout),
	    cmocka_unit_test(test_thread_per_guest),
	    cmocka_unit_test(test_bad_arguments),
	};
	int rc = h_peer_main(argc, argv, peers, sizeof(peers) / sizeof(peers[0]));

	if (rc >= 0)
		return rc;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
