/*
 * libkvmi - uv_binding.c: the libuv driver of the domains a server
 * accepts.  A domain's wants (domain.c) become one uv_poll_t on its
 * socket, one uv_timer_t for its deadline and one uv_idle_t for a
 * dispatch left for the next loop iteration; each of them calls
 * kvmi__dom_process, as a tool's own loop does for an adopted domain
 * (own_loop.c).  Nothing else in the library touches a domain's handles.
 * It also runs the server's busy polling (cfg.busy_poll_us): one uv_idle_t
 * that keeps uv_run() polling with a zero timeout while a host's bytes
 * came less than busy_poll_us ago.
 */
#include <poll.h>

#include "internal.h"

static void spin_touch(struct kvmi_server *srv);

static void on_poll(uv_poll_t *h, int status, int events)
{
	struct kvmi_dom *dom = h->data;
	int revents = 0;

	if (status < 0) {
		/* libuv stopped the handle and hides the poll bits: an
		 * error (the socket's own says which, domain.c) */
		dom->uv_events = 0;
		revents = POLLERR;
	} else {
		if (events & UV_READABLE)
			revents |= POLLIN;
		if (events & UV_WRITABLE)
			revents |= POLLOUT;
		if (events & UV_DISCONNECT)
			revents |= POLLHUP;
	}
	if ((revents & POLLIN) && dom->srv->cfg.busy_poll_us)
		spin_touch(dom->srv);
	kvmi__dom_process(dom, revents);
}

static void on_spin(uv_idle_t *h)
{
	struct kvmi_server *srv = h->data;

	if (!kvmi__spin_on(srv->spin_until))
		uv_idle_stop(h); /* the loop may sleep again */
}

/* a host's bytes came: the loop busy-polls from now on (not once the
 * server is shut) */
static void spin_touch(struct kvmi_server *srv)
{
	if (srv->shut)
		return;
	kvmi__spin_touch(srv, &srv->spin_until);
	if (!srv->spin_open) {
		uv_idle_init(srv->loop, &srv->spin); /* cannot fail */
		srv->spin.data = srv;
		srv->spin_open = true;
		srv->open_handles++;
	}
	if (!uv_is_active((uv_handle_t *)&srv->spin))
		uv_idle_start(&srv->spin, on_spin);
}

void kvmi__uv_spin_close(struct kvmi_server *srv, uv_close_cb cb)
{
	if (!srv->spin_open)
		return;
	srv->spin_open = false;
	uv_close((uv_handle_t *)&srv->spin, cb);
}

static void on_timer(uv_timer_t *t)
{
	struct kvmi_dom *dom = t->data;

	/* libuv may fire a little early by its cached clock: the update
	 * after process re-arms for a deadline not reached yet */
	dom->uv_armed = 0;
	dom->dirty = true;
	kvmi__dom_process(dom, 0);
}

static void on_idle(uv_idle_t *h)
{
	kvmi__dom_process(h->data, 0);
}

static int uv_init(struct kvmi_dom *dom)
{
	uv_loop_t *loop = dom->srv->loop;
	int err = uv_poll_init_socket(loop, &dom->poll, dom->fd);

	if (err < 0)
		return err;
	/* neither can fail on an initialised loop */
	uv_timer_init(loop, &dom->timer);
	uv_idle_init(loop, &dom->idle);
	dom->poll.data = dom->timer.data = dom->idle.data = dom;
	dom->open_handles = 3;
	return 0;
}

static void uv_update(struct kvmi_dom *dom)
{
	int ev = 0;

	if (dom->state >= KVMI__DOM_CLOSING)
		return; /* the handles are closing */
	if (dom->want & POLLIN)
		ev |= UV_READABLE;
	if (dom->want & POLLOUT)
		ev |= UV_WRITABLE;
	/* restarting the poll handle costs epoll_ctl calls: only on change */
	if (ev != dom->uv_events) {
		dom->uv_events = ev;
#ifdef KVMI_TEST_HOOKS
		dom->poll_restarts++;
#endif
		if (ev)
			uv_poll_start(&dom->poll, ev, on_poll);
		else
			uv_poll_stop(&dom->poll);
	}
	if (dom->due != dom->uv_armed) {
		dom->uv_armed = dom->due;
		if (dom->due == UINT64_MAX) {
			uv_timer_stop(&dom->timer);
		} else {
			uint64_t now = kvmi__now_ms();

			uv_timer_start(&dom->timer, on_timer,
				       dom->due > now ? dom->due - now : 0, 0);
		}
	}
	if (dom->run_soon)
		uv_idle_start(&dom->idle, on_idle);
	else
		uv_idle_stop(&dom->idle);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct kvmi_dom *dom = h->data;

	if (--dom->open_handles == 0)
		kvmi__dom_released(dom);
}

static void uv_release(struct kvmi_dom *dom)
{
	uv_close((uv_handle_t *)&dom->poll, on_handle_closed);
	uv_close((uv_handle_t *)&dom->timer, on_handle_closed);
	uv_close((uv_handle_t *)&dom->idle, on_handle_closed);
}

const struct kvmi__driver kvmi__uv_driver = {
	.init = uv_init,
	.update = uv_update,
	.release = uv_release,
};
