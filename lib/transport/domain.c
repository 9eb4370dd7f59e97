/*
 * libkvmi - domain.c: one guest connection on the loop: QEMU's handshake,
 * the start-up commands, reading and writing the socket, synchronous
 * waits, event dispatch order, and the close/free lifecycle.
 *
 * The socket is non-blocking and watched with a uv_poll_t; all reads and
 * writes are ours, so a synchronous command can poll() the socket itself
 * until its reply arrives, even from inside an event handler.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "internal.h"

static void on_poll(uv_poll_t *h, int status, int events);

uint64_t kvmi__now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int kvmi__dom_usable(struct kvmi_dom *dom)
{
	return dom && dom->state < KVMI__DOM_CLOSING;
}

/* watch for writability only while output waits; restarting the poll
 * handle costs two epoll_ctl calls, so only when that changes */
static void update_poll(struct kvmi_dom *dom)
{
	int ev = UV_READABLE;

	if (!kvmi__dom_usable(dom))
		return;
	if (dom->out_len)
		ev |= UV_WRITABLE;
	if (ev == dom->poll_events)
		return;
	dom->poll_events = ev;
	dom->poll_restarts++;
	uv_poll_start(&dom->poll, ev, on_poll);
}

/* ---- lifecycle ---- */

static void dom_free(struct kvmi_dom *dom)
{
	kvmi__hooks_free(dom);
	kvmi_decoder_free(dom->dec);
	for (unsigned int i = 0; i < dom->nslots; i++)
		free(dom->slots[i]);
	free(dom->slots);
	free(dom->out);
	kvmi__pending_free(dom);
	kvmi__handlers_free(dom->handlers);
	if (dom->capture)
		kvmi_capture_writer_close(dom->capture);
	free(dom);
}

KVMI_EXPORT void kvmi_dom_ref(struct kvmi_dom *dom)
{
	if (dom)
		dom->refs++;
}

KVMI_EXPORT void kvmi_dom_unref(struct kvmi_dom *dom)
{
	if (!dom || !dom->refs)
		return;
	if (--dom->refs == 0)
		dom_free(dom);
}

/*
 * The last handle of a closed domain is released: close the fd, tell the
 * tool (from the loop, never from inside one of its own frames), and drop
 * the connection's reference.
 */
static void on_handle_closed(uv_handle_t *h)
{
	struct kvmi_dom *dom = h->data;
	struct kvmi_server *srv = dom->srv;

	if (--dom->open_handles)
		return;
	if (dom->fd >= 0)
		close(dom->fd);
	dom->fd = -1;
	dom->state = KVMI__DOM_CLOSED;
	if (dom->reported && !dom->disconnected) {
		dom->disconnected = true;
		if (srv->cfg.disconnect)
			srv->cfg.disconnect(dom, dom->error, srv->cfg.ctx);
	}
	kvmi_dom_unref(dom); /* the connection's reference */
	srv->closing_doms--;
	kvmi__server_maybe_free(srv);
}

void kvmi__dom_unlink(struct kvmi_dom *dom)
{
	struct kvmi_server *srv = dom->srv;

	if (!dom->prev && srv->doms != dom)
		return; /* not linked */
	if (dom->prev)
		dom->prev->next = dom->next;
	else
		srv->doms = dom->next;
	if (dom->next)
		dom->next->prev = dom->prev;
	else
		srv->doms_tail = dom->prev;
	dom->next = dom->prev = NULL;
	if (dom->reported)
		srv->ndoms_ready--;
}

static void teardown(struct kvmi_dom *dom)
{
	struct kvmi_server *srv = dom->srv;

	dom->state = KVMI__DOM_CLOSING;
	if (dom->fd >= 0)
		shutdown(dom->fd, SHUT_RDWR);
	kvmi__pending_fail_all(dom, -ENOTCONN);
	/* undispatched events die with the connection (host: CONTINUE) */
	while (dom->qhead) {
		struct kvmi_event_ctx *ev = dom->qhead;

		dom->qhead = ev->qnext;
		kvmi__event_release(ev);
	}
	dom->qtail = NULL;
	dom->queued = 0;
	if (dom->capture) {
		kvmi_capture_writer_add(dom->capture, KVMI_CAPTURE_EOF,
					KVMI_DIR_TOOL_TO_HOST, UINT64_MAX, NULL,
					0);
		kvmi_capture_writer_close(dom->capture);
		dom->capture = NULL;
	}
	/* the disconnect callback comes when the handles are closed */
	srv->closing_doms++;
	kvmi__dom_unlink(dom);
	uv_poll_stop(&dom->poll);
	uv_close((uv_handle_t *)&dom->poll, on_handle_closed);
	uv_close((uv_handle_t *)&dom->timer, on_handle_closed);
	uv_close((uv_handle_t *)&dom->idle, on_handle_closed);
}

KVMI_EXPORT void kvmi_dom_close(struct kvmi_dom *dom)
{
	size_t n = 0;

	if (!kvmi__dom_usable(dom))
		return;
	/* events received but never dispatched get the default reply now:
	 * what the host would assume, said explicitly, so every event the
	 * tool read is answered exactly once */
	while (dom->qhead) {
		struct kvmi_event_ctx *ev = dom->qhead;

		if (ev == &dom->unhook_ev) {
			kvmi__queue_unlink(dom, ev);
			kvmi__event_release(ev);
			continue;
		}
		if (kvmi_event_reply(ev, KVMI_EVENT_ACTION_CONTINUE) < 0) {
			kvmi__queue_unlink(dom, ev);
			kvmi__event_release(ev);
		}
		n++;
	}
	if (dom->out_len)
		kvmi__dom_flush(dom, false); /* best effort: we are closing */
	kvmi__log(dom->srv, dom, KVMI_LOG_INFO,
		  "closing the connection (%zu undispatched events answered "
		  "CONTINUE)",
		  n);
	if (kvmi__dom_usable(dom))
		teardown(dom);
}

void kvmi__dom_fail(struct kvmi_dom *dom, int err)
{
	if (!kvmi__dom_usable(dom))
		return;
	dom->error = err;
	kvmi__log(dom->srv, dom,
		  err == -ECONNRESET ? KVMI_LOG_INFO : KVMI_LOG_ERROR,
		  "connection closed: %s (%s)", kvmi_strerror(err),
		  kvmi_err_name(err));
	teardown(dom);
}

struct kvmi_dom *kvmi__dom_new(struct kvmi_server *srv, int fd)
{
	struct kvmi_dom *dom = kvmi__calloc(1, sizeof(*dom));

	if (!dom)
		return NULL;
	dom->dec = kvmi_decoder_new(KVMI_DIR_HOST_TO_TOOL);
	if (!dom->dec || uv_poll_init_socket(srv->loop, &dom->poll, fd) < 0) {
		kvmi_decoder_free(dom->dec);
		free(dom);
		return NULL;
	}
	dom->srv = srv;
	dom->fd = fd;
	dom->refs = 1;
	dom->state = KVMI__DOM_HANDSHAKE;
	dom->timeout_ms = srv->cfg.command_timeout_ms;
	kvmi_seq_init(&dom->seq, 1);
	uv_timer_init(srv->loop, &dom->timer);
	uv_idle_init(srv->loop, &dom->idle);
	dom->poll.data = dom->timer.data = dom->idle.data = dom;
	dom->open_handles = 3;
	dom->prev = srv->doms_tail;
	if (srv->doms_tail)
		srv->doms_tail->next = dom;
	else
		srv->doms = dom;
	srv->doms_tail = dom;
	return dom;
}

/* ---- writing ---- */

int kvmi__dom_flush(struct kvmi_dom *dom, bool block)
{
	uint64_t deadline = block ? kvmi__now_ms() + dom->timeout_ms : 0;
	size_t off = 0;
	int err = 0;

	while (off < dom->out_len && kvmi__dom_usable(dom)) {
		ssize_t n = send(dom->fd, dom->out + off, dom->out_len - off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			dom->writes++;
			if (dom->capture)
				kvmi_capture_writer_add(
					dom->capture, KVMI_CAPTURE_DATA,
					KVMI_DIR_TOOL_TO_HOST, UINT64_MAX,
					dom->out + off, (size_t)n);
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd p = {.fd = dom->fd, .events = POLLOUT};
			uint64_t now;

			if (!block)
				break;
			now = kvmi__now_ms();
			if (now >= deadline) {
				err = -ETIMEDOUT;
				break;
			}
			if (poll(&p, 1, (int)(deadline - now)) < 0 &&
			    errno != EINTR) {
				err = -errno;
				break;
			}
			continue;
		}
		err = n < 0 ? -errno : -EPIPE;
		if (err == -EPIPE)
			err = -ECONNRESET;
		break;
	}
	if (off) {
		memmove(dom->out, dom->out + off, dom->out_len - off);
		dom->out_len -= off;
	}
	if (dom->out_len == 0 && dom->out_cap > 65536) {
		free(dom->out); /* give back what a burst needed */
		dom->out = NULL;
		dom->out_cap = 0;
	}
	if (err) {
		kvmi__dom_fail(dom, err);
		return err;
	}
	update_poll(dom);
	return 0;
}

/* ---- reading ---- */

/* read what is available (at most a few buffers) and feed the session;
 * 0, or the error that failed the domain */
static int read_input(struct kvmi_dom *dom, int max_reads)
{
	struct kvmi_server *srv = dom->srv;

	for (int i = 0; i < max_reads && kvmi__dom_usable(dom); i++) {
		ssize_t n = recv(dom->fd, srv->rbuf, sizeof(srv->rbuf),
				 MSG_DONTWAIT);
		int err;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0) {
			err = n == 0 ? -ECONNRESET : -errno;
			kvmi__dom_fail(dom, err);
			return err;
		}
		if (dom->capture)
			kvmi_capture_writer_add(dom->capture, KVMI_CAPTURE_DATA,
						KVMI_DIR_HOST_TO_TOOL, UINT64_MAX,
						srv->rbuf, (size_t)n);
		dom->in_input = true;
		err = kvmi__session_input(dom, srv->rbuf, (size_t)n);
		dom->in_input = false;
		if (err) {
			kvmi__dom_fail(dom, err);
			return err;
		}
		if ((size_t)n < sizeof(srv->rbuf))
			return 0;
	}
	return 0;
}

/* ---- synchronous waits ---- */

static bool all_done(struct kvmi__waiter *const *ws, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!ws[i]->done)
			return false;
	return true;
}

int kvmi__dom_wait(struct kvmi_dom *dom, struct kvmi__waiter *const *ws,
		   size_t n)
{
	uint64_t deadline = kvmi__now_ms() + dom->timeout_ms;
	int err = 0;

	kvmi_dom_ref(dom);
	/* never block on writing alone: a host that stops reading us until
	 * we read its output would deadlock; write what the socket takes
	 * and keep reading while the rest waits for POLLOUT */
	if (dom->out_len)
		err = kvmi__dom_flush(dom, false);
	while (!err && !all_done(ws, n)) {
		struct pollfd p = {.fd = dom->fd, .events = POLLIN};
		uint64_t now = kvmi__now_ms();
		int r;

		if (!kvmi__dom_usable(dom)) {
			err = -ENOTCONN;
			break;
		}
		if (now >= deadline) {
			err = -ETIMEDOUT;
			break;
		}
		if (dom->out_len)
			p.events |= POLLOUT;
		r = poll(&p, 1, (int)(deadline - now));
		if (r < 0 && errno != EINTR) {
			err = -errno;
			break;
		}
		if (r <= 0)
			continue;
		if (p.revents & POLLOUT)
			kvmi__dom_flush(dom, false);
		if (p.revents & (POLLIN | POLLHUP | POLLERR))
			read_input(dom, 1);
	}
	if (err) {
		for (size_t i = 0; i < n; i++) {
			kvmi__pending_drop_waiter(dom, ws[i]);
			if (!ws[i]->done) {
				ws[i]->done = true;
				ws[i]->result = err;
			}
		}
		if (err == -ETIMEDOUT) {
			/* a late reply would match nothing: give up the
			 * connection rather than desynchronize */
			kvmi__log(dom->srv, dom, KVMI_LOG_ERROR,
				  "command timed out after %u ms",
				  dom->timeout_ms);
			kvmi__dom_fail(dom, -ETIMEDOUT);
		}
	}
	if (dom->qhead && dom->depth == 0)
		kvmi__dom_schedule_dispatch(dom);
	kvmi_dom_unref(dom);
	return err;
}

/* ---- dispatch order ---- */

/*
 * Dispatch the events queued so far, oldest first.  Events that arrive
 * meanwhile (a handler's synchronous command reads the socket) wait for
 * the next loop iteration: a guest that keeps its handlers busy must not
 * hold the loop, and every other guest, timer and signal, forever.
 */
void kvmi__dom_dispatch_queue(struct kvmi_dom *dom)
{
	uint64_t last = dom->arrivals;

	if (dom->state != KVMI__DOM_READY)
		return;
	kvmi_dom_ref(dom);
	while (dom->qhead && dom->qhead->arrival <= last &&
	       kvmi__dom_usable(dom)) {
		struct kvmi_event_ctx *ev = dom->qhead;

		kvmi__queue_unlink(dom, ev);
		dom->depth++;
		if (ev == &dom->unhook_ev)
			kvmi__dispatch_unhook(dom);
		else
			kvmi__dispatch_event(dom, ev);
		dom->depth--;
	}
	if (dom->qhead && dom->depth == 0)
		kvmi__dom_schedule_dispatch(dom);
	if (kvmi__dom_usable(dom) && dom->depth == 0 && dom->out_len)
		kvmi__dom_flush(dom, false);
	kvmi_dom_unref(dom);
}

static void on_idle(uv_idle_t *h)
{
	struct kvmi_dom *dom = h->data;

	uv_idle_stop(h);
	kvmi__dom_dispatch_queue(dom);
}

void kvmi__dom_schedule_dispatch(struct kvmi_dom *dom)
{
	if (kvmi__dom_usable(dom))
		uv_idle_start(&dom->idle, on_idle);
}

/* ---- start-up: handshake, then GET_VERSION and GET_GUEST_INFO ---- */

struct startup {
	struct kvmi__waiter ver, info;
	struct kvmi_get_version_reply ver_reply;
	struct kvmi_get_guest_info_reply info_reply;
};

static void on_startup_reply(struct kvmi_dom *dom, struct kvmi__waiter *w);

static void startup_done(struct kvmi_dom *dom, struct startup *s)
{
	struct kvmi_server *srv = dom->srv;
	int err = s->ver.result ? s->ver.result : s->info.result;

	if (!err && s->ver_reply.version < 1) {
		kvmi__log(srv, dom, KVMI_LOG_ERROR,
			  "host speaks KVMI version %u; version 1 or later "
			  "is required",
			  s->ver_reply.version);
		err = KVMI_E_VERSION;
	}
	if (err) {
		if (kvmi__dom_usable(dom)) {
			kvmi__log(srv, dom, KVMI_LOG_ERROR,
				  "start-up commands failed: %s",
				  kvmi_strerror(err));
			kvmi__dom_fail(dom, err);
		}
		free(s);
		return;
	}
	dom->version = s->ver_reply.version;
	if (s->info_reply.vcpu_count > dom->vcpu_count)
		dom->vcpu_count = s->info_reply.vcpu_count;
	if (dom->vcpu_count > srv->cfg.max_vcpus)
		dom->vcpu_count = srv->cfg.max_vcpus;
	free(s);
	uv_timer_stop(&dom->timer);
	dom->state = KVMI__DOM_READY;
	dom->reported = true;
	srv->ndoms_ready++;
	kvmi__log(srv, dom, KVMI_LOG_INFO,
		  "guest connected: KVMI version %u, %u vCPUs", dom->version,
		  dom->vcpu_count);
	kvmi_dom_ref(dom);
	dom->depth++;
	err = srv->cfg.new_domain(dom, srv->cfg.ctx);
	dom->depth--;
	if (err < 0 && kvmi__dom_usable(dom)) {
		kvmi__log(srv, dom, KVMI_LOG_INFO,
			  "new_domain callback refused the guest (%d)", err);
		kvmi_dom_close(dom);
	}
	if (kvmi__dom_usable(dom)) {
		if (dom->qhead)
			kvmi__dom_schedule_dispatch(dom);
		if (dom->out_len)
			kvmi__dom_flush(dom, false);
	}
	kvmi_dom_unref(dom);
}

static void on_startup_reply(struct kvmi_dom *dom, struct kvmi__waiter *w)
{
	/* both waiters live in one struct startup; their reply sizes differ */
	struct startup *s =
		w->out_cap == sizeof(struct kvmi_get_version_reply)
			? (struct startup *)((uint8_t *)w -
					     offsetof(struct startup, ver))
			: (struct startup *)((uint8_t *)w -
					     offsetof(struct startup, info));

	if (s->ver.done && s->info.done)
		startup_done(dom, s);
}

static int queue_command(struct kvmi_dom *dom, int len, uint16_t id,
			 uint32_t seq, struct kvmi__waiter *w)
{
	int err;

	if (len < 0)
		return len;
	err = kvmi__pending_add(dom, id, seq, false, w);
	if (err)
		return err;
	kvmi__out_commit(dom, (size_t)len);
	return 0;
}

void kvmi__dom_start_session(struct kvmi_dom *dom)
{
	struct startup *s = kvmi__calloc(1, sizeof(*s));
	uint8_t *where;
	uint32_t seq;
	int err;

	if (!s) {
		kvmi__dom_fail(dom, -ENOMEM);
		return;
	}
	dom->state = KVMI__DOM_INIT;
	s->ver = (struct kvmi__waiter){.out = &s->ver_reply,
				       .out_cap = sizeof(s->ver_reply),
				       .cb = on_startup_reply};
	s->info = (struct kvmi__waiter){.out = &s->info_reply,
					.out_cap = sizeof(s->info_reply),
					.cb = on_startup_reply};
	err = kvmi__out_reserve(dom, 2 * 16, &where);
	if (!err) {
		seq = kvmi_seq_next(&dom->seq);
		err = queue_command(dom,
				    kvmi_encode_get_version(where, 16, seq),
				    KVMI_GET_VERSION, seq, &s->ver);
	}
	if (!err) {
		where = dom->out + dom->out_len;
		seq = kvmi_seq_next(&dom->seq);
		err = queue_command(dom,
				    kvmi_encode_get_guest_info(where, 16, seq),
				    KVMI_GET_GUEST_INFO, seq, &s->info);
	}
	if (err) {
		kvmi__pending_drop_waiter(dom, &s->ver);
		free(s);
		kvmi__dom_fail(dom, err);
		return;
	}
	kvmi__dom_flush(dom, false);
}

/* handshake: QEMU's struct; 1 when complete, 0 for more, <0 error */
static int handshake_read(struct kvmi_dom *dom)
{
	uint8_t chunk[4096];

	for (;;) {
		size_t want = kvmi__hs_want(&dom->hs);
		ssize_t n;
		int r;

		n = recv(dom->fd, chunk, want < sizeof(chunk) ? want : sizeof(chunk),
			 MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0)
			return n == 0 ? -ECONNRESET : -errno;
		r = kvmi__hs_feed(&dom->hs, chunk, (size_t)n);
		if (r == KVMI_E_HANDSHAKE_SIZE)
			kvmi__log(dom->srv, dom, KVMI_LOG_ERROR,
				  "QEMU handshake struct_size %u is outside "
				  "%u..%u",
				  dom->hs.size, KVMI_HANDSHAKE_MIN_QEMU_SIZE,
				  KVMI_HANDSHAKE_MAX_QEMU_SIZE);
		if (r)
			return r;
	}
}

static int handshake_finish(struct kvmi_dom *dom)
{
	struct kvmi_server *srv = dom->srv;
	struct kvmi_introspector2qemu reply = {.struct_size = sizeof(reply)};
	struct kvmi_guest_identity *id = &dom->identity;
	uint8_t *where;
	int err;

	kvmi__hs_identity(&dom->hs, id);

	if (srv->cfg.handshake) {
		err = srv->cfg.handshake(srv, id, srv->cfg.ctx);
		if (err < 0) {
			kvmi__log(srv, dom, KVMI_LOG_WARNING,
				  "handshake callback refused the guest (%d)",
				  err);
			return KVMI_E_HANDSHAKE_REFUSED;
		}
	}
	memcpy(reply.cookie_hash, srv->cookie, sizeof(reply.cookie_hash));
	err = kvmi__out_reserve(dom, sizeof(reply), &where);
	if (err)
		return err;
	memcpy(where, &reply, sizeof(reply));
	kvmi__out_commit(dom, sizeof(reply));
	kvmi__log(srv, dom, KVMI_LOG_DEBUG,
		  "handshake: struct_size %u, start_time %lld", dom->hs.size,
		  (long long)id->start_time);
	kvmi__dom_start_session(dom);
	return 0;
}

static void on_poll(uv_poll_t *h, int status, int events)
{
	struct kvmi_dom *dom = h->data;

	if (!kvmi__dom_usable(dom))
		return;
	kvmi_dom_ref(dom);
	if (status < 0) {
		kvmi__dom_fail(dom, status);
		goto out;
	}
	if (events & UV_WRITABLE)
		kvmi__dom_flush(dom, false);
	if (!(events & (UV_READABLE | UV_DISCONNECT)) || !kvmi__dom_usable(dom))
		goto out;
	if (dom->state == KVMI__DOM_HANDSHAKE) {
		int r = handshake_read(dom);

		if (r == 1)
			r = handshake_finish(dom);
		if (r < 0)
			kvmi__dom_fail(dom, r);
		goto out;
	}
	if (read_input(dom, 4) == 0 && dom->depth == 0) {
		kvmi__dom_dispatch_queue(dom);
		if (kvmi__dom_usable(dom) && dom->out_len)
			kvmi__dom_flush(dom, false);
	}
out:
	kvmi_dom_unref(dom);
}

static void on_handshake_timeout(uv_timer_t *t)
{
	struct kvmi_dom *dom = t->data;

	kvmi__log(dom->srv, dom, KVMI_LOG_ERROR,
		  "%s did not complete within %u ms",
		  dom->state == KVMI__DOM_HANDSHAKE ? "QEMU handshake"
						    : "start-up",
		  dom->srv->cfg.handshake_timeout_ms);
	kvmi__dom_fail(dom, -ETIMEDOUT);
}

/* called by the server for an accepted connection */
int kvmi__dom_accepted(struct kvmi_server *srv, int fd)
{
	struct kvmi_dom *dom = kvmi__dom_new(srv, fd);

	if (!dom)
		return -ENOMEM;
	uv_timer_start(&dom->timer, on_handshake_timeout,
		       srv->cfg.handshake_timeout_ms, 0);
	dom->poll_events = UV_READABLE;
	uv_poll_start(&dom->poll, UV_READABLE, on_poll);
	return 0;
}

/* ---- accessors ---- */

KVMI_EXPORT const struct kvmi_guest_identity *
kvmi_dom_identity(const struct kvmi_dom *dom)
{
	return dom ? &dom->identity : NULL;
}

KVMI_EXPORT struct kvmi_server *kvmi_dom_server(const struct kvmi_dom *dom)
{
	return dom ? dom->srv : NULL;
}

KVMI_EXPORT unsigned int kvmi_dom_vcpu_count(const struct kvmi_dom *dom)
{
	return dom ? dom->vcpu_count : 0;
}

KVMI_EXPORT uint32_t kvmi_dom_version(const struct kvmi_dom *dom)
{
	return dom ? dom->version : 0;
}

KVMI_EXPORT void kvmi_dom_set_user(struct kvmi_dom *dom, void *user)
{
	if (dom)
		dom->user = user;
}

KVMI_EXPORT void *kvmi_dom_user(const struct kvmi_dom *dom)
{
	return dom ? dom->user : NULL;
}

KVMI_EXPORT int kvmi_dom_is_connected(const struct kvmi_dom *dom)
{
	return dom && dom->state < KVMI__DOM_CLOSING;
}

KVMI_EXPORT int kvmi_dom_error(const struct kvmi_dom *dom)
{
	return dom ? dom->error : -EINVAL;
}

KVMI_EXPORT int kvmi_dom_set_command_timeout(struct kvmi_dom *dom,
					     unsigned int ms)
{
	if (!dom || !ms)
		return -EINVAL;
	dom->timeout_ms = ms;
	return 0;
}

KVMI_EXPORT int kvmi_dom_fd(const struct kvmi_dom *dom)
{
	return dom && dom->state < KVMI__DOM_CLOSING ? dom->fd : -1;
}

KVMI_EXPORT int kvmi_dom_capture_start(struct kvmi_dom *dom, const char *path)
{
	struct kvmi_capture_writer *w;
	int err;

	if (!dom || !path)
		return -EINVAL;
	if (!kvmi__dom_usable(dom))
		return -ENOTCONN;
	err = kvmi_capture_writer_open(path, &w);
	if (err)
		return err;
	kvmi_dom_capture_stop(dom);
	dom->capture = w;
	return 0;
}

KVMI_EXPORT void kvmi_dom_capture_stop(struct kvmi_dom *dom)
{
	if (!dom || !dom->capture)
		return;
	kvmi_capture_writer_close(dom->capture);
	dom->capture = NULL;
}
