/*
 * libkvmi - server.c: listening sockets (unix, vsock), accepting QEMU
 * connections with the peer allow-lists (uid for unix, CID for vsock),
 * pausing accept() when out of descriptors, and the server's lifecycle.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <nettle/sha1.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "alloc.h"
#include "internal.h"

KVMI_EXPORT void kvmi_sha1(const void *data, size_t len, uint8_t out[20])
{
	struct sha1_ctx ctx;

	sha1_init(&ctx);
	sha1_update(&ctx, len, data);
	sha1_digest(&ctx, SHA1_DIGEST_SIZE, out);
}

KVMI_EXPORT int kvmi_server_new(uv_loop_t *loop,
				const struct kvmi_server_config *cfg,
				struct kvmi_server **out)
{
	struct kvmi_server_config c = {0};
	struct kvmi_server *srv;

	if (!cfg || !out || cfg->size < KVMI_SERVER_CONFIG_SIZE_V0)
		return -EINVAL;
	/* the fields the caller's header has; newer ones stay zero */
	memcpy(&c, cfg, cfg->size < sizeof(c) ? cfg->size : sizeof(c));
	c.size = sizeof(c);
	cfg = &c;
	if (!cfg->new_domain || cfg->vsock_port == VMADDR_PORT_ANY ||
	    (cfg->n_allowed_uids && !cfg->allowed_uids) ||
	    (cfg->n_allowed_cids && !cfg->allowed_cids) ||
	    (cfg->secret_len && !cfg->secret) ||
	    cfg->force_dialect > KVMI_NUM_DIALECTS ||
	    cfg->busy_poll_us > KVMI_SERVER_BUSY_POLL_MAX_US ||
	    (cfg->unix_path &&
	     strlen(cfg->unix_path) >= sizeof(((struct sockaddr_un *)0)->sun_path) - 8))
		return -EINVAL;
	srv = kvmi__calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	if (!loop) {
		srv->own_loop = kvmi__malloc(sizeof(*srv->own_loop));
		if (!srv->own_loop || uv_loop_init(srv->own_loop) < 0) {
			free(srv->own_loop);
			free(srv);
			return -ENOMEM;
		}
		loop = srv->own_loop;
	}
	srv->loop = loop;
	srv->cfg = *cfg;
	srv->unix_fd = srv->vsock_fd = -1;
	if (cfg->unix_path) {
		size_t n = strlen(cfg->unix_path) + 1;

		srv->unix_path = kvmi__malloc(n);
		if (!srv->unix_path)
			goto nomem;
		memcpy(srv->unix_path, cfg->unix_path, n);
	}
	if (cfg->n_allowed_uids) {
		srv->uids = kvmi__malloc(cfg->n_allowed_uids * sizeof(uid_t));
		if (!srv->uids)
			goto nomem;
		memcpy(srv->uids, cfg->allowed_uids,
		       cfg->n_allowed_uids * sizeof(uid_t));
	}
	if (cfg->n_allowed_cids) {
		srv->cids = kvmi__malloc(cfg->n_allowed_cids * sizeof(unsigned int));
		if (!srv->cids)
			goto nomem;
		memcpy(srv->cids, cfg->allowed_cids,
		       cfg->n_allowed_cids * sizeof(unsigned int));
	}
	srv->cfg.unix_path = srv->unix_path;
	srv->cfg.allowed_uids = srv->uids;
	srv->cfg.allowed_cids = srv->cids;
	srv->cfg.secret = NULL; /* only its hash is kept */
	srv->cfg.cookie_hash = NULL;
	if (cfg->secret)
		kvmi_sha1(cfg->secret, cfg->secret_len, srv->cookie);
	else if (cfg->cookie_hash)
		memcpy(srv->cookie, cfg->cookie_hash, sizeof(srv->cookie));
	if (!srv->cfg.unix_mode)
		srv->cfg.unix_mode = 0600;
	if (srv->cfg.backlog <= 0)
		srv->cfg.backlog = 128;
	if (!srv->cfg.handshake_timeout_ms)
		srv->cfg.handshake_timeout_ms = KVMI__DEFAULT_TIMEOUT_MS;
	if (!srv->cfg.command_timeout_ms)
		srv->cfg.command_timeout_ms = KVMI__DEFAULT_TIMEOUT_MS;
	if (!srv->cfg.max_vcpus)
		srv->cfg.max_vcpus = KVMI__DEFAULT_MAX_VCPUS;
	if (!srv->cfg.output_max)
		srv->cfg.output_max = KVMI__DEFAULT_OUTPUT_MAX;
	*out = srv;
	return 0;
nomem:
	if (srv->own_loop) {
		uv_loop_close(srv->own_loop);
		free(srv->own_loop);
	}
	free(srv->unix_path);
	free(srv->uids);
	free(srv->cids);
	free(srv);
	return -ENOMEM;
}

static bool peer_allowed(struct kvmi_server *srv, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (!srv->cfg.n_allowed_uids)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		kvmi__log(srv, NULL, KVMI_LOG_ERROR,
			  "SO_PEERCRED failed: %s", strerror(errno));
		return false;
	}
	for (size_t i = 0; i < srv->cfg.n_allowed_uids; i++)
		if (srv->uids[i] == cred.uid)
			return true;
	kvmi__log(srv, NULL, KVMI_LOG_WARNING,
		  "refused a connection from uid %u pid %d: not in the "
		  "allow-list",
		  (unsigned int)cred.uid, (int)cred.pid);
	return false;
}

bool kvmi__server_cid_allowed(const struct kvmi_server *srv, unsigned int cid)
{
	if (!srv->cfg.n_allowed_cids)
		return true;
	for (size_t i = 0; i < srv->cfg.n_allowed_cids; i++)
		if (srv->cids[i] == cid)
			return true;
	return false;
}

static bool vsock_peer_allowed(struct kvmi_server *srv,
			       const struct sockaddr_vm *peer, socklen_t len)
{
	if (!srv->cfg.n_allowed_cids)
		return true;
	if (len < sizeof(*peer) || peer->svm_family != AF_VSOCK) {
		kvmi__log(srv, NULL, KVMI_LOG_ERROR,
			  "refused a vsock connection: no peer address");
		return false;
	}
	if (kvmi__server_cid_allowed(srv, peer->svm_cid))
		return true;
	kvmi__log(srv, NULL, KVMI_LOG_WARNING,
		  "refused a vsock connection from CID %u port %u: not in "
		  "the allow-list",
		  peer->svm_cid, peer->svm_port);
	return false;
}

bool kvmi__server_peer_allowed(struct kvmi_server *srv, int fd)
{
	struct sockaddr_storage own;
	struct sockaddr_vm peer = {0};
	socklen_t len = sizeof(own), plen = sizeof(peer);

	if (getsockname(fd, (struct sockaddr *)&own, &len) < 0)
		return false;
	if (own.ss_family == AF_UNIX)
		return peer_allowed(srv, fd);
	if (own.ss_family != AF_VSOCK)
		return true; /* no allow-list applies (a socketpair, TCP) */
	if (getpeername(fd, (struct sockaddr *)&peer, &plen) < 0)
		plen = 0;
	return vsock_peer_allowed(srv, &peer, plen);
}

#define ACCEPT_BACKOFF_FIRST_MS 100
#define ACCEPT_BACKOFF_MAX_MS 2000
#define ACCEPT_LOG_EVERY_MS 10000

static void on_listen(uv_poll_t *h, int status, int events);

/* the pause is over: watch the paused listen sockets again */
static void on_accept_timer(uv_timer_t *t)
{
	struct kvmi_server *srv = t->data;

	if (srv->shut)
		return;
	if (srv->unix_paused && srv->unix_polling) {
		srv->unix_paused = false;
		uv_poll_start(&srv->unix_poll, UV_READABLE, on_listen);
	}
	if (srv->vsock_paused && srv->vsock_polling) {
		srv->vsock_paused = false;
		uv_poll_start(&srv->vsock_poll, UV_READABLE, on_listen);
	}
}

/* accept() failed for want of descriptors or memory (@err): stop watching
 * @h (the connection waits in the backlog) and retry after a growing
 * pause; log it at most every ACCEPT_LOG_EVERY_MS */
static void accept_pause(struct kvmi_server *srv, uv_poll_t *h, int err)
{
	uint64_t now = kvmi__now_ms();

	uv_poll_stop(h);
	if (h == &srv->unix_poll)
		srv->unix_paused = true;
	else
		srv->vsock_paused = true;
	srv->accept_backoff_ms =
		!srv->accept_backoff_ms ? ACCEPT_BACKOFF_FIRST_MS
		: srv->accept_backoff_ms >= ACCEPT_BACKOFF_MAX_MS / 2
			? ACCEPT_BACKOFF_MAX_MS
			: srv->accept_backoff_ms * 2;
	if (srv->accept_timer_open && !uv_is_active((uv_handle_t *)&srv->accept_timer))
		uv_timer_start(&srv->accept_timer, on_accept_timer,
			       srv->accept_backoff_ms, 0);
	if (srv->accept_log_ms && now - srv->accept_log_ms < ACCEPT_LOG_EVERY_MS) {
		srv->accept_failures_unlogged++;
		return;
	}
	kvmi__log(srv, NULL, KVMI_LOG_ERROR,
		  "accept: %s: not accepting for %u ms (%lu more such failures "
		  "since the last line)",
		  strerror(err), srv->accept_backoff_ms,
		  srv->accept_failures_unlogged);
	srv->accept_log_ms = now ? now : 1;
	srv->accept_failures_unlogged = 0;
}

static void on_listen(uv_poll_t *h, int status, int events)
{
	struct kvmi_server *srv = h->data;
	bool is_unix = h == &srv->unix_poll;
	int lfd = is_unix ? srv->unix_fd : srv->vsock_fd;

	(void)events;
	if (status < 0) {
		kvmi__log(srv, NULL, KVMI_LOG_ERROR, "listen socket error: %s",
			  uv_strerror(status));
		return;
	}
	for (int i = 0; i < 64 && !srv->shut; i++) {
		struct sockaddr_vm peer = {0};
		socklen_t plen = sizeof(peer);
		int fd = is_unix ? accept4(lfd, NULL, NULL,
					   SOCK_CLOEXEC | SOCK_NONBLOCK)
				 : accept4(lfd, (struct sockaddr *)&peer, &plen,
					   SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0) {
			int err = errno;

			if (err == EINTR || err == ECONNABORTED)
				continue;
			if (err == EMFILE || err == ENFILE || err == ENOBUFS ||
			    err == ENOMEM)
				accept_pause(srv, h, err);
			else if (err != EAGAIN && err != EWOULDBLOCK)
				kvmi__log(srv, NULL, KVMI_LOG_ERROR,
					  "accept: %s", strerror(err));
			return;
		}
		srv->accept_backoff_ms = 0;
		if (is_unix ? !peer_allowed(srv, fd)
			    : !vsock_peer_allowed(srv, &peer, plen)) {
			close(fd);
			continue;
		}
		if (kvmi__dom_accepted(srv, fd) < 0) {
			kvmi__log(srv, NULL, KVMI_LOG_ERROR,
				  "out of memory accepting a connection");
			close(fd);
		}
	}
}

#define LIVENESS_WAIT_MS 1000

/*
 * Is something listening on the unix socket at @path?  Never blocks for
 * long: the connect is non-blocking, and a listener whose backlog is full
 * (EAGAIN) is live but busy.  Only a refused connection (or a path gone
 * meanwhile) means nobody is there; when in doubt the answer is "live",
 * so the socket is not removed.
 */
static bool socket_is_live(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int err = 0;

	if (fd < 0)
		return true; /* cannot tell: do not remove it */
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		err = errno;
	if (err == EINPROGRESS) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		socklen_t len = sizeof(err);

		if (poll(&p, 1, LIVENESS_WAIT_MS) != 1 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = EINPROGRESS; /* still pending: busy */
	}
	close(fd);
	return err != ECONNREFUSED && err != ENOENT;
}

static int listen_unix(struct kvmi_server *srv)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	char tmp[sizeof(a.sun_path)];
	struct stat st;
	int fd, err;

	if (lstat(srv->unix_path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			kvmi__log(srv, NULL, KVMI_LOG_ERROR,
				  "%s exists and is not a socket: left alone",
				  srv->unix_path);
			return -EEXIST;
		}
		if (socket_is_live(srv->unix_path)) {
			kvmi__log(srv, NULL, KVMI_LOG_ERROR,
				  "%s: another server is listening there",
				  srv->unix_path);
			return -EADDRINUSE;
		}
	} else if (errno != ENOENT) {
		return -errno;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* bind under a temporary name, set the mode, rename into place:
	 * the socket is never reachable with a wider mode */
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", srv->unix_path, (int)getpid());
	unlink(tmp);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", tmp);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    chmod(tmp, srv->cfg.unix_mode) < 0 ||
	    listen(fd, srv->cfg.backlog) < 0 || rename(tmp, srv->unix_path) < 0) {
		err = -errno;
		unlink(tmp);
		close(fd);
		return err;
	}
	if (stat(srv->unix_path, &st) == 0) {
		srv->sock_dev = st.st_dev;
		srv->sock_ino = st.st_ino;
	}
	srv->unix_fd = fd;
	return 0;
}

static int listen_vsock(struct kvmi_server *srv)
{
	struct sockaddr_vm a = {.svm_family = AF_VSOCK,
				.svm_port = srv->cfg.vsock_port,
				.svm_cid = VMADDR_CID_ANY};
	int fd, err;

	fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(fd, srv->cfg.backlog) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	srv->vsock_fd = fd;
	return 0;
}

void kvmi__server_maybe_free(struct kvmi_server *srv)
{
	if (srv->free_requested && !srv->freeing && kvmi_server_is_idle(srv))
		kvmi_server_free(srv);
}

static void on_listen_closed(uv_handle_t *h)
{
	struct kvmi_server *srv = h->data;

	srv->open_handles--;
	kvmi__server_maybe_free(srv);
}

static void stop_listening(struct kvmi_server *srv)
{
	if (srv->unix_polling) {
		srv->unix_polling = false;
		uv_close((uv_handle_t *)&srv->unix_poll, on_listen_closed);
	}
	if (srv->vsock_polling) {
		srv->vsock_polling = false;
		uv_close((uv_handle_t *)&srv->vsock_poll, on_listen_closed);
	}
	if (srv->accept_timer_open) {
		srv->accept_timer_open = false;
		uv_close((uv_handle_t *)&srv->accept_timer, on_listen_closed);
	}
	srv->unix_paused = srv->vsock_paused = false;
	if (srv->unix_fd >= 0) {
		struct stat st;

		/* remove the socket file only if it is still ours */
		if (stat(srv->unix_path, &st) == 0 &&
		    st.st_dev == srv->sock_dev && st.st_ino == srv->sock_ino)
			unlink(srv->unix_path);
		close(srv->unix_fd);
		srv->unix_fd = -1;
	}
	if (srv->vsock_fd >= 0) {
		close(srv->vsock_fd);
		srv->vsock_fd = -1;
	}
}

KVMI_EXPORT int kvmi_server_start(struct kvmi_server *srv)
{
	int err = 0;

	if (!srv || srv->shut)
		return -EINVAL;
	if (srv->unix_fd >= 0 || srv->vsock_fd >= 0)
		return -EALREADY;
	if (!srv->unix_path && !srv->cfg.vsock_port) {
		kvmi__log(srv, NULL, KVMI_LOG_ERROR,
			  "cannot listen: neither a unix path nor a vsock "
			  "port is configured");
		return -EDESTADDRREQ;
	}
	if (srv->unix_path)
		err = listen_unix(srv);
	if (!err && srv->cfg.vsock_port)
		err = listen_vsock(srv);
	if (!err) {
		err = uv_timer_init(srv->loop, &srv->accept_timer);
		if (!err) {
			srv->accept_timer.data = srv;
			srv->accept_timer_open = true;
			srv->open_handles++;
		}
	}
	if (!err && srv->unix_fd >= 0) {
		err = uv_poll_init_socket(srv->loop, &srv->unix_poll,
					  srv->unix_fd);
		if (!err) {
			srv->unix_poll.data = srv;
			srv->unix_polling = true;
			srv->open_handles++;
			err = uv_poll_start(&srv->unix_poll, UV_READABLE,
					    on_listen);
		}
	}
	if (!err && srv->vsock_fd >= 0) {
		err = uv_poll_init_socket(srv->loop, &srv->vsock_poll,
					  srv->vsock_fd);
		if (!err) {
			srv->vsock_poll.data = srv;
			srv->vsock_polling = true;
			srv->open_handles++;
			err = uv_poll_start(&srv->vsock_poll, UV_READABLE,
					    on_listen);
		}
	}
	if (err) {
		kvmi__log(srv, NULL, KVMI_LOG_ERROR, "cannot listen: %s",
			  kvmi_strerror(err));
		stop_listening(srv);
		return err;
	}
	kvmi__log(srv, NULL, KVMI_LOG_INFO, "listening%s%s%s",
		  srv->unix_path ? " on " : "",
		  srv->unix_path ? srv->unix_path : "",
		  srv->vsock_fd >= 0 ? " and vsock" : "");
	return 0;
}

KVMI_EXPORT void kvmi_server_shutdown(struct kvmi_server *srv)
{
	if (!srv || srv->shut)
		return;
	srv->shut = true;
	stop_listening(srv);
	kvmi__uv_spin_close(srv, on_listen_closed);
	while (srv->doms) {
		struct kvmi_dom *dom = srv->doms;

		if (kvmi__dom_usable(dom))
			kvmi_dom_close(dom); /* unlinks it */
		else
			kvmi__dom_unlink(dom);
	}
}

KVMI_EXPORT int kvmi_server_stop_after_last_guest(struct kvmi_server *srv)
{
	if (!srv)
		return -EINVAL;
	if (srv->shut)
		return 0;
	srv->stop_when_empty = true;
	stop_listening(srv); /* no new guest from now on */
	kvmi__server_check_empty(srv);
	return 0;
}

void kvmi__server_check_empty(struct kvmi_server *srv)
{
	if (srv->stop_when_empty && !srv->doms)
		kvmi_server_shutdown(srv);
}

KVMI_EXPORT int kvmi_server_is_idle(const struct kvmi_server *srv)
{
	return srv && srv->shut && srv->open_handles == 0 && !srv->doms &&
	       !srv->closing_doms;
}

static void server_release(struct kvmi_server *srv)
{
	kvmi__handlers_free(srv->handlers);
	free(srv->unix_path);
	free(srv->uids);
	free(srv->cids);
	free(srv);
}

KVMI_EXPORT void kvmi_server_free(struct kvmi_server *srv)
{
	if (!srv || srv->freeing)
		return;
	kvmi_server_shutdown(srv);
	if (kvmi__own_finish(srv) < 0) {
		srv->free_requested = true; /* freed by the last release */
		return;
	}
	if (srv->own_loop) {
		/* our own loop: finish every close here, then release it */
		srv->freeing = true;
		uv_run(srv->own_loop, UV_RUN_DEFAULT);
		uv_loop_close(srv->own_loop);
		free(srv->own_loop);
		server_release(srv);
		return;
	}
	if (srv->open_handles || srv->closing_doms) {
		srv->free_requested = true; /* freed by the last close */
		return;
	}
	server_release(srv);
}

KVMI_EXPORT int kvmi_server_run(struct kvmi_server *srv)
{
	if (!srv)
		return -EINVAL;
	return uv_run(srv->loop, UV_RUN_DEFAULT);
}

KVMI_EXPORT uv_loop_t *kvmi_server_loop(const struct kvmi_server *srv)
{
	return srv ? srv->loop : NULL;
}

KVMI_EXPORT size_t kvmi_server_domain_count(const struct kvmi_server *srv)
{
	return srv ? srv->ndoms_ready : 0;
}

KVMI_EXPORT size_t kvmi_server_connection_count(const struct kvmi_server *srv)
{
	size_t n = 0;

	for (const struct kvmi_dom *dom = srv ? srv->doms : NULL; dom;
	     dom = dom->next)
		n++;
	return n;
}

KVMI_EXPORT int kvmi_server_foreach_domain(struct kvmi_server *srv,
					   int (*fn)(struct kvmi_dom *dom,
						     void *arg),
					   void *arg)
{
	struct kvmi_dom *dom, *next;
	int r;

	if (!srv || !fn)
		return -EINVAL;
	for (dom = srv->doms; dom; dom = next) {
		next = dom->next;
		if (dom->state != KVMI__DOM_READY)
			continue;
		kvmi_dom_ref(dom);
		r = fn(dom, arg);
		next = dom->next ? dom->next : next;
		kvmi_dom_unref(dom);
		if (r)
			return r;
	}
	return 0;
}
