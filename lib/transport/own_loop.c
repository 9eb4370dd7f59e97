/*
 * libkvmi - own_loop.c: domains the tool drives from a loop of its own
 * (include/kvmi/own-loop.h): kvmi_server_adopt, the driver that only
 * records what the domain wants (the tool reads it, or is told through
 * its watch callback), kvmi_dom_process, kvmi_dom_run, and finishing the
 * adopted domains when their server is freed.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/socket.h>

#include <kvmi/own-loop.h>

#include "internal.h"

static bool adopted(const struct kvmi_dom *dom)
{
	return dom && dom->drv == &kvmi__own_driver;
}

static int own_init(struct kvmi_dom *dom)
{
	struct kvmi_server *srv = dom->srv;

	dom->adopt_next = srv->adopted;
	srv->adopted = dom;
	return 0;
}

static void own_update(struct kvmi_dom *dom)
{
	if (dom->watch_cb)
		dom->watch_cb(dom, dom->watch_ctx);
}

static void own_release(struct kvmi_dom *dom)
{
	/* finished by the next kvmi_dom_process (kvmi_dom_timeout says 0),
	 * never inside the frame that closed it */
	dom->release_pending = true;
	if (!dom->in_process)
		own_update(dom);
}

const struct kvmi__driver kvmi__own_driver = {
	.init = own_init,
	.update = own_update,
	.release = own_release,
};

/* the domain leaves its server's adopted list and is released */
static void release_finish(struct kvmi_dom *dom)
{
	struct kvmi_dom **pp = &dom->srv->adopted;

	while (*pp && *pp != dom)
		pp = &(*pp)->adopt_next;
	if (*pp)
		*pp = dom->adopt_next;
	dom->adopt_next = NULL;
	dom->release_pending = false;
	kvmi__dom_released(dom); /* may free the server (free requested) */
}

KVMI_EXPORT int kvmi_server_adopt(struct kvmi_server *srv, int fd,
				  struct kvmi_dom **out)
{
	struct kvmi_dom *dom;
	socklen_t len = sizeof(int);
	int type, fl;

	if (!srv || fd < 0 || !out)
		return -EINVAL;
	if (srv->shut || srv->stop_when_empty)
		return -ESHUTDOWN;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
		return -errno;
	if (type != SOCK_STREAM)
		return -EPROTOTYPE;
	if (!kvmi__server_peer_allowed(srv, fd))
		return -EACCES;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	dom = kvmi__dom_new(srv, fd, &kvmi__own_driver);
	if (!dom)
		return -ENOMEM;
	kvmi__dom_begin(dom);
	*out = dom;
	return 0;
}

KVMI_EXPORT int kvmi_dom_poll_events(const struct kvmi_dom *dom)
{
	return dom && kvmi__dom_open(dom) ? dom->want : 0;
}

KVMI_EXPORT int kvmi_dom_timeout(const struct kvmi_dom *dom)
{
	uint64_t now;

	if (!dom)
		return -1;
	if (dom->release_pending || dom->run_soon)
		return 0;
	if (dom->due == UINT64_MAX)
		return -1;
	now = kvmi__now_ms();
	if (dom->due <= now)
		return 0;
	return dom->due - now > INT_MAX ? INT_MAX : (int)(dom->due - now);
}

KVMI_EXPORT int kvmi_dom_process(struct kvmi_dom *dom, int revents)
{
	int closed;

	if (!adopted(dom))
		return -EINVAL;
	if (dom->in_process || dom->depth)
		return -EBUSY;
	if (dom->state == KVMI__DOM_CLOSED)
		return 1;
	kvmi_dom_ref(dom);
	if (!dom->release_pending)
		kvmi__dom_process(dom, revents & (POLLIN | POLLOUT | POLLHUP |
						  POLLERR | POLLNVAL));
	if (dom->release_pending)
		release_finish(dom);
	closed = dom->state >= KVMI__DOM_CLOSING;
	kvmi_dom_unref(dom);
	return closed;
}

KVMI_EXPORT int kvmi_dom_set_watch(struct kvmi_dom *dom, kvmi_dom_watch_cb cb,
				   void *ctx)
{
	if (!adopted(dom))
		return -EINVAL;
	dom->watch_cb = cb;
	dom->watch_ctx = ctx;
	return 0;
}

/* one poll of @dom's socket and the process that follows: 0 open, 1 closed */
static int run_once(struct kvmi_dom *dom)
{
	struct pollfd p = {.fd = dom->fd, .events = (short)kvmi_dom_poll_events(dom)};
	int t = kvmi_dom_timeout(dom);
	int n;

	/* busy polling (cfg.busy_poll_us): no sleep while it runs */
	if (t && dom->srv->cfg.busy_poll_us && kvmi__spin_on(dom->spin_until))
		t = 0;
	n = poll(&p, p.fd >= 0 && p.events ? 1 : 0, t);
	if (n < 0 && errno != EINTR)
		kvmi__dom_fail(dom, -errno); /* processed below */
	if (n > 0 && (p.revents & POLLIN) && dom->srv->cfg.busy_poll_us)
		kvmi__spin_touch(dom->srv, &dom->spin_until);
	return kvmi_dom_process(dom, n > 0 ? p.revents : 0);
}

/* poll and process @dom until it is closed: 1, or kvmi_dom_process's
 * error */
static int run_to_close(struct kvmi_dom *dom)
{
	int r;

	kvmi_dom_ref(dom);
	while ((r = run_once(dom)) == 0)
		;
	kvmi_dom_unref(dom);
	return r;
}

KVMI_EXPORT int kvmi_dom_run(struct kvmi_dom *dom)
{
	int r, reason;

	if (!adopted(dom))
		return -EINVAL;
	if (dom->in_process || dom->depth)
		return -EBUSY;
	kvmi_dom_ref(dom);
	r = run_to_close(dom);
	reason = dom->error;
	kvmi_dom_unref(dom);
	return r < 0 ? r : reason;
}

int kvmi__own_finish(struct kvmi_server *srv)
{
	struct kvmi_dom *dom;

	/* closed (shutdown) or draining: each is done in its drain's
	 * 200 ms at most; one that is processing now (the free came from
	 * its callback) finishes when that returns */
	while ((dom = srv->adopted) != NULL) {
		int r = dom->in_process ? -EBUSY : run_to_close(dom);

		if (r < 0)
			return r;
	}
	return 0;
}
