/*
 * libkvmi - tests/server/harness.c: see harness.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "host_encoder.h"

static int cb_new_domain(struct kvmi_dom *dom, void *ctx)
{
	struct harness *h = ctx;

	(void)dom;
	h->new_domains++;
	return 0;
}

static void cb_disconnect(struct kvmi_dom *dom, int reason, void *ctx)
{
	struct harness *h = ctx;

	(void)dom;
	h->disconnects++;
	h->last_reason = reason;
}

static void cb_log(enum kvmi_log_level level, const char *msg,
		   struct kvmi_dom *dom, void *ctx)
{
	struct harness *h = ctx;

	(void)dom;
	if (level >= KVMI_LOG_ERROR) {
		size_t n = strlen(h->last_log);

		h->log_errors++;
		snprintf(h->last_log + n, sizeof(h->last_log) - n, "%s\n", msg);
	}
	if (getenv("KVMI_TEST_VERBOSE"))
		fprintf(stderr, "[libkvmi %d] %s\n", level, msg);
}

void h_init(struct harness *h)
{
	memset(h, 0, sizeof(*h));
	snprintf(h->dir, sizeof(h->dir), "/tmp/kvmi-srv-XXXXXX");
	assert_non_null(mkdtemp(h->dir));
	snprintf(h->path, sizeof(h->path), "%s/sock", h->dir);
	snprintf(h->report, sizeof(h->report), "%s/report.json", h->dir);
	assert_int_equal(uv_loop_init(&h->loop), 0);
	h->child = -1;
	h->child_pipe = -1;
	h->child_status = -1;
	h->cfg.size = sizeof(h->cfg);
	h->cfg.unix_path = h->path;
	h->cfg.new_domain = cb_new_domain;
	h->cfg.disconnect = cb_disconnect;
	h->cfg.log = cb_log;
	h->cfg.log_level = KVMI_LOG_DEBUG;
	h->cfg.ctx = h;
}

void h_start(struct harness *h)
{
	assert_int_equal(kvmi_server_new(&h->loop, &h->cfg, &h->srv), 0);
	assert_int_equal(kvmi_server_start(h->srv), 0);
}

/* the child is gone, so every connection it had sees EOF: once the
 * server has no domain left, shut it down */
static void on_drain(uv_check_t *c)
{
	struct harness *h = c->data;

	if (kvmi_server_domain_count(h->srv))
		return;
	uv_check_stop(c);
	uv_close((uv_handle_t *)c, NULL);
	kvmi_server_shutdown(h->srv);
	uv_timer_stop(&h->guard);
	uv_close((uv_handle_t *)&h->guard, NULL);
}

static void on_child_pipe(uv_poll_t *p, int status, int events)
{
	struct harness *h = p->data;
	int st;

	(void)status;
	(void)events;
	/* EOF: the child is gone */
	uv_poll_stop(p);
	uv_close((uv_handle_t *)p, NULL);
	if (waitpid(h->child, &st, 0) == h->child)
		h->child_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
	h->child = -1;
	close(h->child_pipe);
	h->child_pipe = -1;
	uv_check_init(&h->loop, &h->drain);
	h->drain.data = h;
	uv_check_start(&h->drain, on_drain);
}

static void watch_child(struct harness *h, int rfd)
{
	h->child_pipe = rfd;
	assert_int_equal(uv_poll_init(&h->loop, &h->child_poll, rfd), 0);
	h->child_poll.data = h;
	uv_poll_start(&h->child_poll, UV_READABLE | UV_DISCONNECT,
		      on_child_pipe);
}

void h_spawn_fakehost(struct harness *h, const char *const *args)
{
	const char *exe = getenv("KVMI_FAKEHOST");
	const char *argv[64];
	int n = 0, pfd[2];

	assert_non_null(exe);
	argv[n++] = exe;
	argv[n++] = "--connect";
	argv[n++] = h->path;
	argv[n++] = "--report";
	argv[n++] = h->report;
	for (int i = 0; args && args[i]; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	h->child = fork();
	assert_true(h->child >= 0);
	if (h->child == 0) {
		/* keep the pipe's write end open across exec */
		int keep = dup(pfd[1]);

		(void)keep;
		execv(exe, (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	watch_child(h, pfd[0]);
}

void h_spawn_peer(struct harness *h, const char *name, const char *arg)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int pfd[2];

	assert_true(n > 0);
	self[n] = 0;
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	h->child = fork();
	assert_true(h->child >= 0);
	if (h->child == 0) {
		int keep = dup(pfd[1]); /* survives exec: EOF at exit */

		(void)keep;
		signal(SIGALRM, SIG_DFL);
		alarm(20); /* a stuck peer must not hang the suite */
		execl(self, self, "--peer", name, h->path, arg ? arg : "",
		      (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	watch_child(h, pfd[0]);
}

static void on_guard(uv_timer_t *t)
{
	struct harness *h = t->data;

	h->timed_out = true;
	if (h->child > 0)
		kill(h->child, SIGKILL);
}

void h_run(struct harness *h, unsigned int timeout_ms)
{
	uv_timer_init(&h->loop, &h->guard);
	h->guard.data = h;
	uv_timer_start(&h->guard, on_guard, timeout_ms, 0);
	uv_run(&h->loop, UV_RUN_DEFAULT);
	assert_false(h->timed_out);
	assert_true(kvmi_server_is_idle(h->srv));
}

const char *h_report(struct harness *h)
{
	static char buf[1 << 20];
	FILE *f = fopen(h->report, "r");
	size_t n = 0;

	buf[0] = 0;
	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = 0;
	return buf;
}

int h_report_count(struct harness *h, const char *needle)
{
	const char *s = h_report(h);
	int n = 0;

	while ((s = strstr(s, needle))) {
		n++;
		s += strlen(needle);
	}
	return n;
}

long h_report_number(struct harness *h, const char *key)
{
	char k[64];
	const char *s;

	snprintf(k, sizeof(k), "\"%s\":", key);
	s = strstr(h_report(h), k);
	if (!s)
		fail_msg("no %s in the report: %s", key, h_report(h));
	return strtol(s + strlen(k), NULL, 10);
}

void h_fini(struct harness *h)
{
	char cmd[256];

	kvmi_server_free(h->srv);
	uv_run(&h->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&h->loop), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", h->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", h->dir);
}

/* ---- scripted peer ---- */

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int peer_send(struct peer *p, const void *buf, size_t len)
{
	return write_all(p->fd, buf, len);
}

const struct kvmi_msg *peer_read(struct peer *p)
{
	for (;;) {
		const struct kvmi_msg *m;
		ssize_t n;

		if (p->off < p->have) {
			n = kvmi_decoder_feed(p->dec, p->buf + p->off,
					      p->have - p->off, &m);
			if (n < 0)
				return NULL;
			p->off += (size_t)n;
			if (m)
				return m;
		}
		/* a message may point into buf: only refill when consumed */
		p->have = p->off = 0;
		n = read(p->fd, p->buf, sizeof(p->buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;
		p->have = (size_t)n;
	}
}

int peer_reply(struct peer *p, const struct kvmi_msg *cmd, int32_t err,
	       const void *data, size_t len)
{
	uint8_t out[KVMI_ENCODE_MAX];
	int n = kvmi_encode_reply(out, sizeof(out), cmd->hdr.id, cmd->hdr.seq,
				  err, data, len);

	return n < 0 ? -1 : peer_send(p, out, (size_t)n);
}

int peer_event(struct peer *p, uint16_t vcpu, uint8_t event_id,
	       const void *data, size_t len)
{
	uint8_t out[KVMI_ENCODE_MAX];
	struct kvmi_event ev;
	int n;

	memset(&ev, 0, sizeof(ev));
	ev.vcpu = vcpu;
	ev.event = event_id;
	ev.arch.regs.rip = 0x1000 + event_id;
	n = kvmi_encode_event(out, sizeof(out), ++p->event_seq, &ev,
			      sizeof(ev), data, len);
	return n < 0 ? -1 : peer_send(p, out, (size_t)n);
}

static struct kvmi_decoder *peer_dec; /* the peer process's decoder */

void peer_cleanup(void)
{
	kvmi_decoder_free(peer_dec);
	peer_dec = NULL;
}

int peer_handshake(struct peer *p, const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct kvmi_qemu2introspector q;
	struct kvmi_introspector2qemu r;

	memset(p, 0, sizeof(*p));
	p->dec = kvmi_decoder_new(KVMI_DIR_TOOL_TO_HOST);
	peer_cleanup();
	peer_dec = p->dec;
	p->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	/* the server listens before any peer is started */
	if (connect(p->fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return -1;
	memset(&q, 0, sizeof(q));
	q.struct_size = sizeof(q);
	q.uuid[0] = 0xab;
	q.start_time = 1234;
	snprintf(q.name, sizeof(q.name), "peer");
	if (write_all(p->fd, &q, sizeof(q)) || read_all(p->fd, &r, sizeof(r)) ||
	    r.struct_size != sizeof(r))
		return -1;
	return 0;
}

int peer_connect(struct peer *p, const char *path, unsigned int vcpus)
{
	struct kvmi_get_version_reply ver = {.version = 1};
	struct kvmi_get_guest_info_reply gi = {.vcpu_count = vcpus};
	const struct kvmi_msg *m;

	if (peer_handshake(p, path))
		return -1;
	for (int i = 0; i < 2; i++) {
		m = peer_read(p);
		if (!m)
			return -1;
		if (m->hdr.id == KVMI_GET_VERSION)
			peer_reply(p, m, 0, &ver, sizeof(ver));
		else if (m->hdr.id == KVMI_GET_GUEST_INFO)
			peer_reply(p, m, 0, &gi, sizeof(gi));
		else
			return -1;
	}
	return 0;
}

int peer_wait_eof(struct peer *p, unsigned int timeout_ms)
{
	struct pollfd pf = {.fd = p->fd, .events = POLLIN};
	uint8_t b[4096];

	for (;;) {
		ssize_t n;

		if (poll(&pf, 1, (int)timeout_ms) <= 0)
			return 0;
		n = read(p->fd, b, sizeof(b));
		if (n == 0)
			return 1;
		if (n < 0)
			return errno == ECONNRESET;
	}
}

int h_peer_main(int argc, char **argv, const struct h_peer *peers, size_t n)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc != 5 || strcmp(argv[1], "--peer"))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(peers[i].name, argv[2])) {
			int rc = peers[i].fn(argv[3], argv[4]);

			peer_cleanup();
			return rc;
		}
	return 126;
}

long h_thread_sleeps(void)
{
	struct rusage ru;

	assert_int_equal(getrusage(RUSAGE_THREAD, &ru), 0);
	return ru.ru_nvcsw;
}

void h_enable_cr3(struct kvmi_dom *dom)
{
	assert_int_equal(kvmi_hooks_control_event(dom, KVMI_EVENT_CR, 1), 0);
	assert_int_equal(kvmi_hooks_control_cr(dom, 3, 1), 0);
}
