/*
 * libkvmi - lib/compat/listen.c: the 1.x listening context - the unix or
 * vsock listener, its accept thread and QEMU's handshake - and its calls
 * kvmi_init_unix_socket, kvmi_init_vsock, kvmi_uninit, kvmi_close.
 *
 * The accept thread polls the listener and a wake-up pipe and accepts
 * (close-on-exec, non-blocking); each accepted connection gets a thread
 * of its own that reads QEMU's struct within the handshake budget, asks
 * the tool's handshake callback, answers, starts the session (start-up
 * commands) and hands the domain to the new-guest callback.  So a slow or
 * stalled peer holds only its own handshake, never the next guest's (1.x
 * handshakes one at a time, facts page sec. 8.7).  The callbacks still
 * run one at a time (a context's callback lock), as on 1.x's single
 * thread; at most KVMI1__MAX_HANDSHAKES handshakes run at once (more are
 * refused, logged); every wait is bounded (the handshake budget), the
 * handshake's reads end early at kvmi_uninit, which waits for the
 * handshake threads; a failed accept never ends the accept thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#include "compat.h"

/* handshakes in progress at once, per context */
#define KVMI1__MAX_HANDSHAKES 64

/* read exactly @n bytes from non-blocking @fd before @end (ms); -ECANCELED
 * once @wake (kvmi_uninit's pipe) is readable */
static int read_full(int fd, int wake, void *buf, size_t n, uint64_t end)
{
	uint8_t *p = buf;

	while (n) {
		struct pollfd pfd[2] = {{.fd = fd, .events = POLLIN},
					{.fd = wake, .events = POLLIN}};
		uint64_t now = kvmi__now_ms();
		ssize_t r;

		if (now >= end)
			return -ETIMEDOUT;
		if (poll(pfd, 2, (int)(end - now)) <= 0)
			continue;
		if (pfd[1].revents)
			return -ECANCELED;
		r = recv(fd, p, n, 0);
		if (r == 0)
			return -ENOTCONN;
		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -errno;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t n, uint64_t end)
{
	const uint8_t *p = buf;

	while (n) {
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};
		uint64_t now = kvmi__now_ms();
		ssize_t r;

		if (now >= end)
			return -ETIMEDOUT;
		r = send(fd, p, n, MSG_NOSIGNAL);
		if (r < 0) {
			if (errno != EAGAIN && errno != EINTR)
				return -errno;
			poll(&pfd, 1, (int)(end - now));
			continue;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* QEMU's struct (at most 96 bytes kept, the rest read and dropped), the
 * tool's callback, the tool's answer */
static int handshake(struct kvmi1_ctx *c, int fd,
		     struct kvmi_qemu2introspector *q)
{
	uint64_t end = kvmi__now_ms() + KVMI1__HANDSHAKE_MS;
	struct kvmi_introspector2qemu intro;
	uint32_t size;
	size_t keep;
	int err;

	memset(q, 0, sizeof(*q));
	err = read_full(fd, c->wake[0], &size, sizeof(size), end);
	if (err)
		return err;
	if (size < KVMI_HANDSHAKE_MIN_QEMU_SIZE)
		return -ENODATA;
	if (size > KVMI_HANDSHAKE_MAX_QEMU_SIZE)
		return -E2BIG;
	keep = size < sizeof(*q) ? size : sizeof(*q);
	q->struct_size = (uint32_t)keep;
	err = read_full(fd, c->wake[0], (uint8_t *)q + 4, keep - 4, end);
	for (size_t left = size - keep; !err && left;) {
		uint8_t junk[256];
		size_t n = left < sizeof(junk) ? left : sizeof(junk);

		err = read_full(fd, c->wake[0], junk, n, end);
		left -= n;
	}
	if (err)
		return err;
	q->name[sizeof(q->name) - 1] = 0;
	memset(&intro, 0, sizeof(intro));
	intro.struct_size = sizeof(intro);
	if (c->hsk_cb) {
		pthread_mutex_lock(&c->cb_lock);
		err = c->hsk_cb(q, &intro, c->cb_ctx);
		pthread_mutex_unlock(&c->cb_lock);
		if (err < 0)
			return KVMI_E_HANDSHAKE_REFUSED;
	}
	return write_full(fd, &intro, sizeof(intro), end);
}

static void serve(struct kvmi1_ctx *c, int fd)
{
	struct kvmi_qemu2introspector q;
	struct kvmi1_dom *d;
	int err = handshake(c, fd, &q);

	if (err) {
		kvmi1__log(err == -ECANCELED ? KVMI_LOG_LEVEL_DEBUG
					     : KVMI_LOG_LEVEL_ERROR,
			   "handshake %s: %s",
			   err == -ECANCELED ? "abandoned" : "failed",
			   err == -ECANCELED ? "kvmi_uninit"
					     : kvmi_strerror(err));
		close(fd);
		return;
	}
	if (kvmi1__dom_new(fd, &q, &d))
		return; /* logged; fd closed */
	pthread_mutex_lock(&c->cb_lock);
	err = c->accept_cb(d, &q.uuid, c->cb_ctx);
	pthread_mutex_unlock(&c->cb_lock);
	if (err != 0) {
		shutdown(d->fd, SHUT_RDWR);
		kvmi1__dom_free(d);
	}
}

struct conn {
	struct kvmi1_ctx *c;
	int fd;
};

/* one connection's handshake and start-up (detached; counted) */
static void *conn_thread(void *arg)
{
	struct conn *k = arg;
	struct kvmi1_ctx *c = k->c;

	serve(c, k->fd);
	free(k);
	pthread_mutex_lock(&c->lock);
	if (--c->n_conns == 0)
		pthread_cond_broadcast(&c->idle);
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* hand @fd to a thread of its own (closed when that cannot be) */
static void spawn(struct kvmi1_ctx *c, int fd)
{
	struct conn *k = malloc(sizeof(*k));
	pthread_attr_t attr;
	pthread_t t;
	int err = k ? 0 : ENOMEM;

	pthread_mutex_lock(&c->lock);
	if (!err && c->n_conns >= KVMI1__MAX_HANDSHAKES)
		err = EAGAIN;
	if (!err) {
		k->c = c;
		k->fd = fd;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		err = pthread_create(&t, &attr, conn_thread, k);
		pthread_attr_destroy(&attr);
	}
	if (!err)
		c->n_conns++;
	pthread_mutex_unlock(&c->lock);
	if (err) {
		kvmi1__log(KVMI_LOG_LEVEL_ERROR,
			   "connection refused: %s",
			   err == EAGAIN ? "too many handshakes in progress"
					 : strerror(err));
		free(k);
		close(fd);
	}
}

static void *accept_thread(void *arg)
{
	struct kvmi1_ctx *c = arg;

	for (;;) {
		struct pollfd pfd[2] = {
		    {.fd = c->lfd, .events = POLLIN},
		    {.fd = c->wake[0], .events = POLLIN},
		};
		int fd;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents)
			break;
		fd = accept4(c->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			int e = errno;

			if (e == EAGAIN || e == EINTR || e == ECONNABORTED)
				continue;
			kvmi1__log(KVMI_LOG_LEVEL_ERROR,
				   "accept: %s; retrying in 100 ms",
				   strerror(e));
			poll(&pfd[1], 1, 100); /* fd limit: back off */
			continue;
		}
		spawn(c, fd);
	}
	return NULL;
}

static void ctx_free(struct kvmi1_ctx *c)
{
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->cb_lock);
	pthread_cond_destroy(&c->idle);
	if (c->lfd >= 0)
		close(c->lfd);
	if (c->wake[0] >= 0)
		close(c->wake[0]);
	if (c->wake[1] >= 0)
		close(c->wake[1]);
	free(c);
}

/* listen on @fd (bound), start the thread; NULL with errno on failure */
static void *start(int fd, kvmi_new_guest_cb accept_cb,
		   kvmi_handshake_cb hsk_cb, void *cb_ctx)
{
	struct kvmi1_ctx *c = calloc(1, sizeof(*c));
	int err;

	if (!c) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	c->lfd = fd;
	c->wake[0] = c->wake[1] = -1;
	c->accept_cb = accept_cb;
	c->hsk_cb = hsk_cb;
	c->cb_ctx = cb_ctx;
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->cb_lock, NULL);
	pthread_cond_init(&c->idle, NULL);
	if (listen(fd, SOMAXCONN) || pipe2(c->wake, O_CLOEXEC)) {
		err = errno;
		ctx_free(c);
		errno = err;
		return NULL;
	}
	err = pthread_create(&c->thread, NULL, accept_thread, c);
	if (err) {
		ctx_free(c);
		errno = err;
		return NULL;
	}
	c->thread_started = true;
	return c;
}

/*
 * The 1.x path semantics (a stale socket there is replaced) with a mode
 * of 0600: bound under a temporary name, chmod'ed, renamed into place,
 * so the socket is never reachable with a wider mode.
 */
static int listen_unix(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char tmp[sizeof(sa.sun_path)];
	struct stat st;
	int fd, err;

	if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
		kvmi1__log(KVMI_LOG_LEVEL_ERROR,
			   "%s exists and is not a socket: not replaced", path);
		return -EEXIST;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path,
			     (int)getpid()) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(tmp);
	memcpy(sa.sun_path, tmp, strlen(tmp) + 1);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(tmp, 0600) < 0 || rename(tmp, path) < 0) {
		err = -errno;
		unlink(tmp);
		close(fd);
		return err;
	}
	return fd;
}

KVMI_EXPORT void *kvmi_init_unix_socket(const char *path,
					kvmi_new_guest_cb accept_cb,
					kvmi_handshake_cb hsk_cb, void *cb_ctx)
{
	int fd;

	if (!accept_cb || !path || !*path) {
		errno = EINVAL;
		return NULL;
	}
	fd = listen_unix(path);
	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	return start(fd, accept_cb, hsk_cb, cb_ctx);
}

KVMI_EXPORT void *kvmi_init_vsock(unsigned int port,
				  kvmi_new_guest_cb accept_cb,
				  kvmi_handshake_cb hsk_cb, void *cb_ctx)
{
	struct sockaddr_vm sa = {.svm_family = AF_VSOCK,
				 .svm_port = port,
				 .svm_cid = VMADDR_CID_ANY};
	int fd, err;

	if (!accept_cb || !port) {
		errno = EINVAL;
		return NULL;
	}
	fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return NULL;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = errno;
		close(fd);
		errno = err;
		return NULL;
	}
	return start(fd, accept_cb, hsk_cb, cb_ctx);
}

KVMI_EXPORT void kvmi_uninit(void *ctx)
{
	struct kvmi1_ctx *c = ctx;

	if (!c)
		return;
	shutdown(c->lfd, SHUT_RDWR);
	if (c->thread_started) {
		ssize_t n = write(c->wake[1], "x", 1);

		(void)n;
		pthread_join(c->thread, NULL);
	}
	/* the handshakes in progress see the pipe and end */
	pthread_mutex_lock(&c->lock);
	while (c->n_conns)
		pthread_cond_wait(&c->idle, &c->lock);
	pthread_mutex_unlock(&c->lock);
	ctx_free(c);
}

KVMI_EXPORT void kvmi_close(void *ctx)
{
	struct kvmi1_ctx *c = ctx;

	if (c && c->lfd >= 0) {
		close(c->lfd);
		c->lfd = -1;
	}
}
