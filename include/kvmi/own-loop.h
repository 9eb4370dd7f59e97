/*
 * libkvmi - own-loop.h: driving a guest connection from a loop of your
 * own (poll, epoll, glib, a thread per guest) instead of the server's
 * libuv loop.
 *
 * The server's libuv binding is built on the same interface: a domain
 * says which poll events it wants on its socket and when it next needs
 * to run, and is "processed" when either comes.  For the connections a
 * server accepts, its libuv loop does that; a connection the tool
 * accepted itself and handed over with kvmi_server_adopt() is the tool's
 * to drive:
 *
 *	kvmi_server_adopt(srv, fd, &dom);
 *	for (;;) {
 *		struct pollfd p = {kvmi_dom_fd(dom), kvmi_dom_poll_events(dom)};
 *		int n = poll(&p, 1, kvmi_dom_timeout(dom));
 *		if (kvmi_dom_process(dom, n > 0 ? p.revents : 0))
 *			break;	// closed: the disconnect callback ran
 *	}
 *
 * or kvmi_dom_run(dom), which is that loop.  Everything else is as for
 * the server's own domains: the handshake (and its timeout), the
 * new_domain, event and disconnect callbacks, handlers, hooks, the
 * unhook, commands in both forms.  Callbacks run inside
 * kvmi_dom_process() (or kvmi_dom_run()), never while input is parsed.
 *
 * Synchronous calls and other guests.  A synchronous command waits on its
 * own domain's socket only, so it holds whatever loop called it.  To keep
 * every other guest going meanwhile, give each guest a thread of its own:
 * in that thread, a server of its own (kvmi_server_new with a NULL loop
 * and nothing to listen on), kvmi_server_adopt() of the guest's
 * connection, kvmi_dom_run(), kvmi_server_free().  Servers share nothing
 * (server.h), so a handler blocked in a synchronous call stops only its
 * own guest; tests/server/test_own_loop.c does this with one host that
 * holds its replies.
 *
 * Threads: a domain and its server belong to one thread (the one calling
 * these functions); no locking is done.
 */
#ifndef KVMI_OWN_LOOP_H
#define KVMI_OWN_LOOP_H

#include <kvmi/domain.h>
#include <kvmi/server.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * kvmi_server_adopt - make @fd, a connected stream socket whose peer is
 * QEMU (it starts with QEMU's handshake), a domain of @srv driven by the
 * caller; *@out gets it.  The server need not listen (nor be started).
 * The peer passes the server's allow-lists as at accept (uids for a unix
 * socket, CIDs for vsock).  On success the domain owns @fd (made
 * non-blocking; closed when the domain closes) and holds the
 * connection's reference as an accepted one does (take your own with
 * kvmi_dom_ref to use it after its close); on failure @fd stays the
 * caller's, untouched but for O_NONBLOCK.  Returns 0, -EINVAL (NULL or
 * negative argument), -ESHUTDOWN (the server is shut down or stops after
 * its last guest), -ENOTSOCK or -EPROTOTYPE (@fd is not a stream
 * socket), -EACCES (refused by an allow-list; logged) or -ENOMEM.
 */
KVMI_EXPORT int kvmi_server_adopt(struct kvmi_server *srv, int fd,
				  struct kvmi_dom **out);

/*
 * kvmi_dom_poll_events - the poll(2) events the domain wants watched on
 * kvmi_dom_fd(): POLLIN while it reads (not while its output is past
 * the server's output_max), POLLOUT while output waits; 0 once closed.
 * kvmi_dom_timeout - milliseconds until kvmi_dom_process() is due even
 * without an event (a deadline, or 0: a dispatch or a close waits); -1
 * for none.  Both change with every call into the domain: read them
 * again after each, or register a watch callback.  Both answer for any
 * domain (for the server's own ones, what its libuv loop watches).
 */
KVMI_EXPORT int kvmi_dom_poll_events(const struct kvmi_dom *dom);
KVMI_EXPORT int kvmi_dom_timeout(const struct kvmi_dom *dom);

/*
 * kvmi_dom_process - let an adopted domain act on @revents (what poll
 * said for its fd: POLLIN, POLLOUT, POLLHUP, POLLERR, POLLNVAL; 0 when
 * the timeout came): read, write, expire deadlines, dispatch callbacks.
 * Returns 0 while the domain is open; 1 once it is closed - its fd is
 * closed, the disconnect callback has run (from inside this call) and
 * the connection's reference is gone: stop watching the fd and, unless
 * you hold a reference, stop using @dom.  Returns -EINVAL for NULL or a
 * domain the server accepted itself (its libuv loop drives it), -EBUSY
 * from inside one of the domain's own callbacks.
 */
KVMI_EXPORT int kvmi_dom_process(struct kvmi_dom *dom, int revents);

/*
 * kvmi_dom_set_watch - call @cb(dom, ctx) whenever what an adopted domain
 * wants (kvmi_dom_poll_events, kvmi_dom_timeout) changed: once at the end
 * of a kvmi_dom_process() call that changed it, and at once for a change
 * made outside one - a command queued from one of your own timers, say,
 * or kvmi_dom_close() - so an epoll or glib integration can update its
 * watch.  @cb may run inside any libkvmi call on the domain; it must not
 * call into libkvmi except for those two getters.  NULL @cb removes it.
 * 0, or -EINVAL (NULL or a domain the server accepted itself).
 */
typedef void (*kvmi_dom_watch_cb)(struct kvmi_dom *dom, void *ctx);
KVMI_EXPORT int kvmi_dom_set_watch(struct kvmi_dom *dom, kvmi_dom_watch_cb cb,
				   void *ctx);

/*
 * kvmi_dom_run - drive an adopted domain with poll(2) until it closes
 * (the loop at the top of this file; with the server's busy_poll_us set,
 * it polls without sleeping for that long after the host's bytes came,
 * yielding the CPU between polls, as the server's loop does - a loop of
 * the tool's own does whatever it likes).  Returns the reason it closed: 0
 * when the tool closed it (kvmi_dom_close, an unhook), else what ended it
 * (as the disconnect callback's @reason: -ECONNRESET, -ETIMEDOUT, a
 * protocol error, ...); -EINVAL or -EBUSY as kvmi_dom_process.  @dom
 * is not used after it returns (unless you hold a reference).
 */
KVMI_EXPORT int kvmi_dom_run(struct kvmi_dom *dom);

#ifdef __cplusplus
}
#endif

#endif /* KVMI_OWN_LOOP_H */
