/*
 * tests/fakehost - tool.c: the blocking test tool of tool.h.
 */
#include "tool.h"
#include "testmsg.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nettle/sha1.h>

extern char **environ;

static int wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r;

	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	return r;
}

int tool_spawn(struct tool *t, const char *const *args)
{
	const char *exe = getenv("KVMI_FAKEHOST");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *argv[64];
	size_t n = 0;

	memset(t, 0, sizeof(*t));
	t->lfd = t->fd = t->pidfd = -1;
	t->seq = 1000;
	if (!exe) {
		fprintf(stderr, "tool: KVMI_FAKEHOST is not set\n");
		return -1;
	}
	snprintf(t->dir, sizeof(t->dir), "/tmp/fhtest-XXXXXX");
	if (!mkdtemp(t->dir))
		return -1;
	snprintf(t->path, sizeof(t->path), "%s/sock", t->dir);
	snprintf(t->report_path, sizeof(t->report_path), "%s/report", t->dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", t->path);
	t->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (t->lfd < 0 || bind(t->lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(t->lfd, 128))
		return -1;
	t->dec = kvmi_decoder_new(KVMI_DIR_HOST_TO_TOOL);
	argv[n++] = exe;
	argv[n++] = "--connect";
	argv[n++] = t->path;
	argv[n++] = "--report";
	argv[n++] = t->report_path;
	for (; args && *args && n < 62; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	if (posix_spawn(&t->pid, exe, NULL, NULL, (char *const *)argv, environ))
		return -1;
	t->pidfd = (int)syscall(SYS_pidfd_open, t->pid, 0);
	return 0;
}

int tool_accept(struct tool *t)
{
	if (wait_fd(t->lfd, POLLIN, TOOL_TIMEOUT_MS) != 1)
		return -1;
	return accept4(t->lfd, NULL, NULL, SOCK_CLOEXEC);
}

int tool_start(struct tool *t, const char *const *args)
{
	if (tool_spawn(t, args))
		return -1;
	t->fd = tool_accept(t);
	return t->fd < 0 ? -1 : 0;
}

int tool_read_fd(int fd, void *p, size_t n)
{
	uint8_t *b = p;

	while (n) {
		ssize_t r;

		if (wait_fd(fd, POLLIN, TOOL_TIMEOUT_MS) != 1)
			return -1;
		r = recv(fd, b, n, 0);
		if (r <= 0)
			return -1;
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

int tool_send(struct tool *t, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n) {
		ssize_t r = send(t->fd, b, n, MSG_NOSIGNAL);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

int tool_read_qemu_struct(struct tool *t, uint32_t *qsize)
{
	uint8_t q[4096];
	uint32_t qs;

	if (tool_read_fd(t->fd, &qs, 4) || qs < 4 || qs > sizeof(q) ||
	    tool_read_fd(t->fd, q, qs - 4))
		return -1;
	if (qsize)
		*qsize = qs;
	return 0;
}

int tool_handshake(struct tool *t, uint32_t size, const char *secret,
		   const void *extra, size_t extra_len, uint32_t *qsize)
{
	uint8_t out[256 + 4096];

	if (tool_read_qemu_struct(t, qsize) || size > 256 || extra_len > 4096)
		return -1;
	memset(out, 0, sizeof(out));
	memcpy(out, &size, 4);
	if (secret) {
		struct sha1_ctx ctx;

		sha1_init(&ctx);
		sha1_update(&ctx, strlen(secret), (const uint8_t *)secret);
		sha1_digest(&ctx, SHA1_DIGEST_SIZE, out + 4);
	}
	if (extra_len)
		memcpy(out + size, extra, extra_len);
	return tool_send(t, out, size + extra_len);
}

int tool_recv(struct tool *t, struct test_msg *m)
{
	for (;;) {
		const struct kvmi_msg *km = NULL;
		ssize_t r;

		if (t->roff < t->rlen) {
			r = kvmi_decoder_feed(t->dec, t->rbuf + t->roff,
					      t->rlen - t->roff, &km);
			if (r < 0)
				return -1;
			t->roff += (size_t)r;
			if (km) {
				test_msg_copy(m, km);
				return 1;
			}
			continue;
		}
		if (t->fd < 0 || wait_fd(t->fd, POLLIN, TOOL_TIMEOUT_MS) != 1)
			return -1;
		r = recv(t->fd, t->rbuf, sizeof(t->rbuf), 0);
		if (r == 0 || (r < 0 && errno == ECONNRESET))
			return 0;
		if (r < 0)
			return -1;
		t->rlen = (size_t)r;
		t->roff = 0;
	}
}

int32_t tool_cmd(struct tool *t, int n, struct test_msg *reply)
{
	struct kvmi_msg_hdr sent;

	if (n < 8)
		return INT32_MIN;
	memcpy(&sent, t->buf, sizeof(sent));
	if (tool_send(t, t->buf, (size_t)n))
		return INT32_MIN;
	for (;;) {
		struct test_msg *m = &t->tmp;

		if (tool_recv(t, m) != 1)
			return INT32_MIN;
		if (m->kind == KVMI_MSG_EVENT) {
			if (t->nq == TOOL_MAX_QUEUE)
				return INT32_MIN;
			t->q[t->nq++] = *m;
			continue;
		}
		if (m->hdr.id != sent.id || m->hdr.seq != sent.seq)
			return INT32_MIN;
		if (reply)
			*reply = *m;
		return m->err;
	}
}

int tool_event(struct tool *t, struct test_msg *ev)
{
	int r;

	if (t->nq) {
		*ev = t->q[0];
		memmove(t->q, t->q + 1, (t->nq - 1) * sizeof(t->q[0]));
		t->nq--;
		return 1;
	}
	r = tool_recv(t, ev);
	if (r == 1 && ev->kind != KVMI_MSG_EVENT)
		return -1;
	return r;
}

int tool_reply(struct tool *t, const struct test_msg *ev, uint8_t action)
{
	int n;

	n = test_encode_event_reply(t->buf, sizeof(t->buf), ev->hdr.seq, &ev->event,
				    &ev->ev, action);
	return n < 0 ? -1 : tool_send(t, t->buf, (size_t)n);
}

int tool_wait_eof(struct tool *t)
{
	for (;;) {
		int r = tool_recv(t, &t->tmp);

		if (r == 0)
			return 1;
		if (r < 0)
			return 0;
	}
}

int tool_finish(struct tool *t, int close_first)
{
	int st = 0;
	FILE *f;
	size_t n;

	if (close_first && t->fd >= 0) {
		shutdown(t->fd, SHUT_RDWR);
		close(t->fd);
		t->fd = -1;
	}
	if (t->pid <= 0)
		return -1;
	if (t->pidfd >= 0 && wait_fd(t->pidfd, POLLIN, TOOL_TIMEOUT_MS) != 1) {
		kill(t->pid, SIGKILL);
		waitpid(t->pid, &st, 0);
		t->pid = 0;
		return -1;
	}
	if (waitpid(t->pid, &st, 0) != t->pid)
		return -1;
	t->pid = 0;
	f = fopen(t->report_path, "r");
	if (f) {
		n = fread(t->report, 1, sizeof(t->report) - 1, f);
		t->report[n] = 0;
		fclose(f);
	}
	t->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return t->status;
}

const char *tool_field(struct tool *t, const char *key, char *out, size_t len)
{
	char pat[64];
	const char *p, *e;
	int depth = 0, in_str = 0;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	out[0] = 0;
	p = strstr(t->report, pat);
	if (!p)
		return out;
	p += strlen(pat);
	for (e = p; *e; e++) {
		if (in_str) {
			if (*e == '\\' && e[1])
				e++;
			else if (*e == '"')
				in_str = 0;
			continue;
		}
		if (*e == '"')
			in_str = 1;
		else if (*e == '{' || *e == '[')
			depth++;
		else if (*e == '}' || *e == ']') {
			if (!depth)
				break;
			depth--;
		} else if (*e == ',' && !depth)
			break;
	}
	snprintf(out, len, "%.*s", (int)(e - p), p);
	return out;
}

void tool_cleanup(struct tool *t)
{
	if (t->fd >= 0)
		close(t->fd);
	if (t->lfd >= 0)
		close(t->lfd);
	if (t->pid > 0) {
		kill(t->pid, SIGKILL);
		waitpid(t->pid, NULL, 0);
	}
	if (t->pidfd >= 0)
		close(t->pidfd);
	kvmi_decoder_free(t->dec);
	if (t->dir[0]) {
		unlink(t->path);
		unlink(t->report_path);
		rmdir(t->dir);
	}
	t->fd = t->lfd = t->pidfd = -1;
	t->pid = 0;
	t->dec = NULL;
}
