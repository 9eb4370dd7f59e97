/*
 * libkvmi - tests/server/test_listen_safety.c: the listening side under
 * hostile or broken conditions, in real processes over real sockets:
 * accept() at the descriptor limit (paused, not spinning, the log line
 * rate-limited, guests accepted again once descriptors free up), the
 * start-up liveness check against a live server whose backlog is full,
 * a zeroed config listening on nothing it does not name, the vsock CID
 * allow-list, and the logfmt quoting of guest names in the library's log
 * lines (with a hostile name sent by kvmi-fakehost).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "internal.h"

static int count_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!dir)
		return -1;
	while ((e = readdir(dir)))
		n += e->d_name[0] != '.';
	closedir(dir);
	return n - 1; /* the directory's own fd */
}

static uint64_t cpu_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* ------------------------------------------------------------------ */
/* accept() at the descriptor limit                                   */
/* ------------------------------------------------------------------ */

#define FD_GUESTS 40
#define FD_HEADROOM 8 /* descriptors left for connections */
#define WINDOW_MS 1000

/* what the server child measured, sent to the test through a pipe */
struct fd_result {
	int started;
	int window_done;
	unsigned long accept_lines;   /* "accept:" log lines in total */
	unsigned long window_lines;   /* ... during the measured window */
	uint64_t window_cpu_us;	      /* CPU time of the whole process */
	int domains;		      /* guests accepted (new_domain) */
	char first_line[256];
	char second_line[256];	      /* the next one, 10 s "later" */
};

static struct {
	struct fd_result r;
	uv_timer_t window;
	uint64_t cpu0;
	struct rlimit saved;
	struct kvmi_server *srv;
} fdc;

static void fd_window_end(uv_timer_t *t)
{
	uint64_t *last = &fdc.srv->accept_log_ms;

	fdc.r.window_cpu_us = cpu_us() - fdc.cpu0;
	fdc.r.window_done = 1;
	/* pretend the last line is 10 s old: the next failure is logged,
	 * with the failures not logged since */
	*last = *last > 10000 ? *last - 10000 : 0;
	uv_close((uv_handle_t *)t, NULL);
}

static void fd_log(enum kvmi_log_level level, const char *msg,
		   struct kvmi_dom *dom, void *ctx)
{
	(void)level;
	(void)dom;
	(void)ctx;
	if (strncmp(msg, "accept:", 7))
		return;
	fdc.r.accept_lines++;
	if (!fdc.r.window_done && fdc.r.accept_lines > 1)
		fdc.r.window_lines++;
	if (fdc.r.window_done && !fdc.r.second_line[0]) {
		snprintf(fdc.r.second_line, sizeof(fdc.r.second_line), "%s",
			 msg);
		/* descriptors free up: new guests must be accepted again */
		setrlimit(RLIMIT_NOFILE, &fdc.saved);
	}
	if (fdc.r.accept_lines == 1) {
		/* the limit is reached: measure the next WINDOW_MS */
		snprintf(fdc.r.first_line, sizeof(fdc.r.first_line), "%s", msg);
		fdc.r.window_lines = 1;
		fdc.cpu0 = cpu_us();
		uv_timer_init(kvmi_server_loop(fdc.srv), &fdc.window);
		uv_timer_start(&fdc.window, fd_window_end, WINDOW_MS, 0);
	}
}

static int fd_new_domain(struct kvmi_dom *dom, void *ctx)
{
	(void)dom;
	(void)ctx;
	if (++fdc.r.domains == FD_GUESTS)
		kvmi_server_shutdown(fdc.srv);
	return 0;
}

/* the server process: RLIMIT_NOFILE lowered to what it has open plus
 * FD_HEADROOM */
static int fd_server_child(const char *path, int ready, int result)
{
	struct kvmi_server_config cfg = {.size = sizeof(cfg)};
	struct rlimit low;
	uv_loop_t loop;

	alarm(30);
	cfg.unix_path = path;
	cfg.new_domain = fd_new_domain;
	cfg.log = fd_log;
	cfg.log_level = KVMI_LOG_DEBUG;
	cfg.handshake_timeout_ms = 30000;
	if (uv_loop_init(&loop) || kvmi_server_new(&loop, &cfg, &fdc.srv) ||
	    kvmi_server_start(fdc.srv))
		return 1;
	getrlimit(RLIMIT_NOFILE, &fdc.saved);
	low = fdc.saved;
	low.rlim_cur = (rlim_t)(count_fds() + FD_HEADROOM);
	if (setrlimit(RLIMIT_NOFILE, &low))
		return 1;
	fdc.r.started = 1;
	if (write(ready, "r", 1) != 1)
		return 1;
	uv_run(&loop, UV_RUN_DEFAULT);
	kvmi_server_free(fdc.srv);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	return write(result, &fdc.r, sizeof(fdc.r)) == sizeof(fdc.r) ? 0 : 1;
}

static void test_accept_pauses_at_fd_limit(void **state)
{
	const char *fh = getenv("KVMI_FAKEHOST");
	char dir[] = "/tmp/kvmi-fdlim-XXXXXX", path[128], c, guests[16];
	int ready[2], result[2], st;
	struct fd_result r = {0};
	pid_t srv, host;

	(void)state;
	assert_non_null(fh);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sock", dir);
	snprintf(guests, sizeof(guests), "%d", FD_GUESTS);
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(result), 0);
	srv = fork();
	assert_true(srv >= 0);
	if (srv == 0) {
		/* a fresh image (nothing of the test's heap; not under the
		 * test's valgrind, whose descriptor accounting would change
		 * what is measured) */
		char self[4096], rfd[16], wfd[16];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

		close(ready[0]);
		close(result[0]);
		if (n <= 0)
			_exit(127);
		self[n] = 0;
		snprintf(rfd, sizeof(rfd), "%d", ready[1]);
		snprintf(wfd, sizeof(wfd), "%d", result[1]);
		execl(self, self, "--fd-server", path, rfd, wfd, (char *)NULL);
		_exit(127);
	}
	close(ready[1]);
	close(result[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	host = fork();
	assert_true(host >= 0);
	if (host == 0) {
		execl(fh, fh, "--connect", path, "--guests", guests, "--vcpus",
		      "1", "--report", "/dev/null", (char *)NULL);
		_exit(127);
	}
	assert_int_equal(read(result[0], &r, sizeof(r)), sizeof(r));
	assert_int_equal(waitpid(srv, &st, 0), srv);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	waitpid(host, &st, 0);
	close(ready[0]);
	close(result[0]);
	rmdir(dir);
	fprintf(stderr, "fd limit: %lu accept lines (%lu in %d ms), %llu us "
			"CPU in the window, %d guests; first: %s; second: %s\n",
		r.accept_lines, r.window_lines, WINDOW_MS,
		(unsigned long long)r.window_cpu_us, r.domains, r.first_line,
		r.second_line);
	assert_true(r.started);
	assert_true(r.window_done);
	/* the limit was hit, said once, and did not spin */
	assert_non_null(strstr(r.first_line, "Too many open files"));
	assert_non_null(strstr(r.first_line, "not accepting for 100 ms"));
	assert_true(r.window_lines <= 1);
	assert_true(r.window_cpu_us < 200000);
	/* the next line counts the failures it did not log (100, 200,
	 * 400 ms pauses in the window: at least 2) */
	{
		unsigned long n = 0;
		const char *c = strstr(r.second_line, "ms (");

		assert_non_null(c);
		assert_int_equal(sscanf(c, "ms (%lu more such failures", &n), 1);
		assert_true(n >= 2);
	}
	/* every guest was accepted once descriptors were free again */
	assert_int_equal(r.domains, FD_GUESTS);
}

/* ------------------------------------------------------------------ */
/* liveness check against a live server with a full backlog           */
/* ------------------------------------------------------------------ */

static int never(struct kvmi_dom *dom, void *ctx)
{
	(void)dom;
	(void)ctx;
	return -1;
}

static void test_start_on_busy_live_socket(void **state)
{
	char dir[] = "/tmp/kvmi-busy-XXXXXX";
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct stat before, after;
	int lfd, clients[64], nc = 0, st;
	struct timespec t0, t1;
	pid_t pid;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/sock", dir);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(lfd, 0), 0);
	/* fill the backlog: connect until the listener refuses more */
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

		assert_true(fd >= 0);
		assert_true(nc < 64);
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
			assert_int_equal(errno, EAGAIN);
			close(fd);
			break;
		}
		clients[nc++] = fd;
	}
	assert_int_equal(stat(a.sun_path, &before), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct kvmi_server_config cfg = {.size = sizeof(cfg)};
		struct kvmi_server *srv;
		uv_loop_t loop;

		alarm(5); /* a blocking check dies here */
		cfg.unix_path = a.sun_path;
		cfg.new_domain = never;
		if (uv_loop_init(&loop) || kvmi_server_new(&loop, &cfg, &srv))
			_exit(2);
		_exit(kvmi_server_start(srv) == -EADDRINUSE ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "busy listener (%d queued): start answered in %ld ms\n",
		nc, (long)((t1.tv_sec - t0.tv_sec) * 1000 +
			   (t1.tv_nsec - t0.tv_nsec) / 1000000));
	assert_false(WIFSIGNALED(st)); /* SIGALRM: it blocked */
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0); /* -EADDRINUSE */
	/* the live socket was left alone */
	assert_int_equal(stat(a.sun_path, &after), 0);
	assert_true(before.st_ino == after.st_ino);
	while (nc)
		close(clients[--nc]);
	close(lfd);
	unlink(a.sun_path);
	rmdir(dir);
}

/* ------------------------------------------------------------------ */
/* a zeroed config listens on nothing it does not name                */
/* ------------------------------------------------------------------ */

static void test_zeroed_config_no_vsock(void **state)
{
	struct harness h;
	struct kvmi_server *s;
	const unsigned int cids[] = {3};
	int before;

	(void)state;
	h_init(&h);
	/* nothing named: nothing to listen on (a server for adopted
	 * connections; kvmi_server_start refuses it) */
	h.cfg.unix_path = NULL;
	before = count_fds();
	assert_int_equal(kvmi_server_new(&h.loop, &h.cfg, &s), 0);
	assert_int_equal(kvmi_server_start(s), -EDESTADDRREQ);
	assert_int_equal(count_fds(), before);
	kvmi_server_free(s);
	h.cfg.vsock_port = VMADDR_PORT_ANY;
	assert_int_equal(kvmi_server_new(&h.loop, &h.cfg, &s), -EINVAL);
	h.cfg.vsock_port = 0;
	/* a count without its list */
	h.cfg.unix_path = h.path;
	h.cfg.n_allowed_cids = 1;
	assert_int_equal(kvmi_server_new(&h.loop, &h.cfg, &s), -EINVAL);
	/* a caller built against the first header: the new fields unread */
	h.cfg.size = KVMI_SERVER_CONFIG_SIZE_V0;
	assert_int_equal(kvmi_server_new(&h.loop, &h.cfg, &s), 0);
	assert_int_equal(s->cfg.n_allowed_cids, 0);
	kvmi_server_free(s);
	h.cfg.size = KVMI_SERVER_CONFIG_SIZE_V0 - 1;
	assert_int_equal(kvmi_server_new(&h.loop, &h.cfg, &s), -EINVAL);
	h.cfg.size = sizeof(h.cfg);
	h.cfg.allowed_cids = cids;
	/* the unix path only: exactly one more descriptor, no vsock */
	before = count_fds();
	h_start(&h);
	assert_int_equal(count_fds(), before + 1);
	assert_true(h.srv->unix_fd >= 0);
	assert_int_equal(h.srv->vsock_fd, -1);
	kvmi_server_shutdown(h.srv);
	h_fini(&h);
}

/* ------------------------------------------------------------------ */
/* vsock CID allow-list                                               */
/* ------------------------------------------------------------------ */

static void test_cid_allow_list(void **state)
{
	struct harness h;
	unsigned int cids[] = {3, 7};

	(void)state;
	h_init(&h);
	h_start(&h);
	/* empty list: every CID */
	assert_true(kvmi__server_cid_allowed(h.srv, 3));
	assert_true(kvmi__server_cid_allowed(h.srv, 12345));
	kvmi_server_shutdown(h.srv);
	h_fini(&h);

	h_init(&h);
	h.cfg.allowed_cids = cids;
	h.cfg.n_allowed_cids = 2;
	h_start(&h);
	cids[0] = 4; /* the server keeps its own copy */
	assert_true(kvmi__server_cid_allowed(h.srv, 3));
	assert_true(kvmi__server_cid_allowed(h.srv, 7));
	assert_false(kvmi__server_cid_allowed(h.srv, 4));
	assert_false(kvmi__server_cid_allowed(h.srv, VMADDR_CID_HOST));
	assert_false(kvmi__server_cid_allowed(h.srv, VMADDR_CID_ANY));
	kvmi_server_shutdown(h.srv);
	h_fini(&h);
}

/* ------------------------------------------------------------------ */
/* logfmt values                                                      */
/* ------------------------------------------------------------------ */

static void check_logfmt(const char *in, const char *want)
{
	char out[512];
	size_t n = kvmi_logfmt_value(out, sizeof(out), in);

	assert_string_equal(out, want);
	assert_int_equal(n, strlen(want));
}

static void test_logfmt_value(void **state)
{
	char out[16];

	(void)state;
	check_logfmt("vm-1.example", "vm-1.example");
	check_logfmt("", "\"\"");
	check_logfmt("two words", "\"two words\"");
	check_logfmt("a=b", "\"a=b\"");
	check_logfmt("say \"hi\"", "\"say \\\"hi\\\"\"");
	check_logfmt("back\\slash", "\"back\\\\slash\"");
	check_logfmt("a\nts=0 level=info", "\"a\\nts=0 level=info\"");
	check_logfmt("\r\t", "\"\\r\\t\"");
	check_logfmt("\x1b[31mred", "\"\\x1b[31mred\"");
	check_logfmt("\x7f\x01", "\"\\x7f\\x01\"");
	check_logfmt("caf\xc3\xa9", "\"caf\\xc3\\xa9\"");
	/* cut before a whole character, still closed */
	assert_int_equal(kvmi_logfmt_value(out, 8, "\n\n\n\n"), 6);
	assert_string_equal(out, "\"\\n\\n\"");
	assert_int_equal(kvmi_logfmt_value(out, 5, "abcdefgh"), 4);
	assert_string_equal(out, "abcd");
	assert_int_equal(kvmi_logfmt_value(out, 2, " "), 0);
	assert_string_equal(out, "");
	assert_int_equal(kvmi_logfmt_value(out, 0, "x"), 0);
}

/* a hostile guest name through a real connection: the library's lines
 * carry it quoted and escaped */
#define HOSTILE_NAME "a\nts=0 level=info event=unhooked guest=good \x1b[31m\"\\"
#define HOSTILE_QUOTED \
	"guest=\"a\\nts=0 level=info event=unhooked guest=good \\x1b[31m\\\"\\\\\" "

static int hostile_lines, hostile_raw;

static void hostile_log(enum kvmi_log_level level, const char *msg,
			struct kvmi_dom *dom, void *ctx)
{
	(void)level;
	(void)ctx;
	if (!dom)
		return;
	for (const char *p = msg; *p; p++)
		hostile_raw += (unsigned char)*p < 0x20;
	if (!strncmp(msg, HOSTILE_QUOTED, strlen(HOSTILE_QUOTED)))
		hostile_lines++;
}

static void test_hostile_guest_name_quoted(void **state)
{
	const char *args[] = {"--name", HOSTILE_NAME, "--duration-ms", "100",
			      NULL};
	struct harness h;

	(void)state;
	h_init(&h);
	h.cfg.log = hostile_log;
	h.cfg.log_level = KVMI_LOG_DEBUG;
	h_start(&h);
	h_spawn_fakehost(&h, args);
	h_run(&h, 20000);
	assert_int_equal(h.new_domains, 1);
	assert_true(hostile_lines >= 2); /* connected, closed */
	assert_int_equal(hostile_raw, 0);
	kvmi_server_shutdown(h.srv);
	h_fini(&h);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accept_pauses_at_fd_limit),
		cmocka_unit_test(test_start_on_busy_live_socket),
		cmocka_unit_test(test_zeroed_config_no_vsock),
		cmocka_unit_test(test_cid_allow_list),
		cmocka_unit_test(test_logfmt_value),
		cmocka_unit_test(test_hostile_guest_name_quoted),
	};

	signal(SIGPIPE, SIG_IGN);
	if (argc == 5 && !strcmp(argv[1], "--fd-server"))
		return fd_server_child(argv[2], atoi(argv[3]), atoi(argv[4]));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
