/*
 * libkvmi - internal.h: the transport layer's internal structures
 * (server, domain and its drivers, handlers, extensions, synchronous
 * waits) shared by the files of lib/transport/.
 * Below it is the session layer (session_int.h); above it the hooks,
 * which attach through the extension interface declared here.
 */
#ifndef KVMI_LIB_INTERNAL_H
#define KVMI_LIB_INTERNAL_H

#include <stdbool.h>
#include <uv.h>

#include <kvmi/capture.h>
#include <kvmi/codec.h>
#include <kvmi/domain.h>
#include <kvmi/server.h>

#include "session_int.h"

#define KVMI__READ_BUF 65536
#define KVMI__DEFAULT_OUTPUT_MAX (1u << 20) /* cfg.output_max 0 */

/* ---- handlers ---- */

/*
 * One registration.  Lists are newest first; a handler removed during a
 * dispatch is only marked (and freed when the dispatch is over).  A
 * registration whose handle the tool asked for is freed by
 * kvmi_handler_remove, also after its domain or server is gone (the
 * handle is then detached: @head NULL); one without a handle goes with
 * its list.
 */
struct kvmi_handler {
	struct kvmi_handler *next;
	struct kvmi_handler **head; /* list it lives in (NULL: detached) */
	unsigned int event_id;	   /* KVMI__UNHOOK_SLOT for UNHOOK */
	kvmi_event_cb cb;
	kvmi_unhook_cb unhook_cb;
	void *ctx;
	void (*ctx_free)(void *ctx); /* the library's own: frees @ctx */
	bool has_handle; /* the tool holds a pointer to it */
	bool removed;	 /* kvmi_handler_remove called */
	unsigned int busy; /* dispatches running it */
};

#define KVMI__UNHOOK_SLOT KVMI_NUM_EVENTS
#define KVMI__HANDLER_SLOTS (KVMI_NUM_EVENTS + 1)

/* an unhook handler of the library's own whose @ctx (heap) goes with it */
int kvmi__server_on_unhook_owned(struct kvmi_server *srv, kvmi_unhook_cb cb,
				 void *ctx, void (*ctx_free)(void *));

/* ---- domain extensions (extension.c): layers above the transport ---- */

/*
 * A layer above the transport (the hooks) attaches its per-domain state
 * to a domain with kvmi__dom_attach.  Every member is optional:
 *   observe - an event, before any tool handler; replying to it (or
 *             holding it) consumes it, the tool's handlers never see it;
 *   vcpus   - the vCPU count grew (KVMI_EVENT_CREATE_VCPU) to @count;
 *   closing - the domain is about to close, for a reason of the
 *             library's own (protocol error, overflow, timeout) or
 *             because the tool closes it (@by_tool: kvmi_dom_close,
 *             kvmi_server_shutdown): queue the restores you can
 *             (pipelined, no waiting) - they are sent first - and
 *             answer the open events; returns how many restores were
 *             queued (the domain drains until the host confirms them;
 *             0: it closes at once);
 *   drain   - the closing domain read more events since (the host's own,
 *             raised before it applied the restores): answer them
 *             (kvmi_session_open_events); called until the domain closes;
 *   gone    - the connection is gone: pending commands have failed (their
 *             callbacks ran); the tool's disconnect callback follows;
 *   free    - the domain's memory goes (its last reference): free @state;
 *   deadline/expire - your next timer (CLOCK_MONOTONIC ms, UINT64_MAX
 *             none), and the call when it is due; the domain's one
 *             deadline covers the session's and every extension's.
 * Nothing in the transport names a particular extension.
 */
struct kvmi__ext_ops {
	const char *name;
	void (*observe)(struct kvmi_dom *dom, struct kvmi_event_ctx *ev,
			void *state);
	void (*vcpus)(struct kvmi_dom *dom, unsigned int count, void *state);
	unsigned int (*closing)(struct kvmi_dom *dom, bool by_tool,
				void *state);
	void (*drain)(struct kvmi_dom *dom, void *state);
	void (*gone)(struct kvmi_dom *dom, void *state);
	void (*free)(struct kvmi_dom *dom, void *state);
	uint64_t (*deadline)(struct kvmi_dom *dom, void *state);
	void (*expire)(struct kvmi_dom *dom, uint64_t now_ms, void *state);
};

struct kvmi__ext {
	struct kvmi__ext *next;
	const struct kvmi__ext_ops *ops;
	void *state;
};

/* attach @state under @ops (one per ops); 0, -EEXIST or -ENOMEM */
int kvmi__dom_attach(struct kvmi_dom *dom, const struct kvmi__ext_ops *ops,
		     void *state);
/* batch.c: kvmi_pipeline_send, delivered also during synchronous waits when
 * @in_sync (a synchronous call runs the chain of batches it waits on) */
int kvmi__pipeline_send_flagged(struct kvmi_pipeline *b, kvmi_dom_cmd_cb cb,
				void *ctx, bool in_sync);
/* batch.c, for batch_v7.c: room for one more item, its message encoded
 * at *@where (KVMI_ENCODE_MAX bytes); then kvmi__pipeline_add records it
 * (@len: the encoder's result) as a command without reply data and
 * returns its index, or the error */
int kvmi__pipeline_reserve(struct kvmi_pipeline *b, uint8_t **where);
int kvmi__pipeline_add(struct kvmi_pipeline *b, int len);
/* ... the same for a command whose reply carries @cap bytes of data,
 * copied to @out when the item succeeds (lib/hooks: GET_EPT_VIEW,
 * CREATE_EPT_VIEW in the hooks' own batches) */
int kvmi__pipeline_add_reply(struct kvmi_pipeline *b, int len, void *out,
			     size_t cap);
/* kvmi_pipeline_set_page_access in EPT view @view (checked by the caller) */
int kvmi__pipeline_set_page_access_view(
	struct kvmi_pipeline *b, uint16_t view,
	const struct kvmi_page_access_entry *entries, size_t count);
/* the state attached under @ops, or NULL */
void *kvmi__dom_ext(const struct kvmi_dom *dom,
		    const struct kvmi__ext_ops *ops);
/* the domain's deadline must be recomputed (an extension's moved) */
void kvmi__dom_timer_update(struct kvmi_dom *dom);

/* ---- synchronous calls ---- */

/* what a synchronous call waits for (its async form's callback fills it) */
struct kvmi__sync {
	bool done;
	int result;
};
void kvmi__sync_cb(struct kvmi_dom *dom, int result, void *ctx);
/* run the loop-less wait of a synchronous call until @sc is done (or the
 * domain fails); the call's result */
int kvmi__dom_sync_wait(struct kvmi_dom *dom, struct kvmi__sync *sc);
/* the body of a synchronous function: its asynchronous form @CALL,
 * written with SCB as its callback and context, then the wait */
#define SYNC(dom, CALL)                                                        \
	do {                                                                   \
		struct kvmi__sync sc = {0};                                    \
		int e_ = (CALL);                                               \
		return e_ ? e_ : kvmi__dom_sync_wait(dom, &sc);                \
	} while (0)
#define SCB kvmi__sync_cb, &sc

/* ---- QEMU's handshake struct, read without I/O (handshake.c) ---- */

struct kvmi__hs {
	uint8_t buf[sizeof(struct kvmi_qemu2introspector_ext)];
	uint32_t size; /* QEMU's struct_size, 0 until known */
	size_t have;   /* bytes consumed */
};

/* bytes to read next (never beyond QEMU's struct) */
size_t kvmi__hs_want(const struct kvmi__hs *h);
/* consume @n <= want bytes: 1 complete, 0 more needed,
 * KVMI_E_HANDSHAKE_SIZE for a struct_size outside 32..65536 */
int kvmi__hs_feed(struct kvmi__hs *h, const uint8_t *p, size_t n);
/* the identity in a complete struct (name NUL-terminated) */
void kvmi__hs_identity(const struct kvmi__hs *h,
		       struct kvmi_guest_identity *id);

/* ---- domain ---- */

enum kvmi__dom_state {
	KVMI__DOM_HANDSHAKE, /* QEMU handshake in progress */
	KVMI__DOM_INIT,	     /* GET_VERSION / GET_GUEST_INFO in flight */
	KVMI__DOM_READY,     /* reported with new_domain */
	KVMI__DOM_DRAINING,  /* failed; restores sent, events still answered */
	KVMI__DOM_CLOSING,   /* closed; handles being released */
	KVMI__DOM_CLOSED,
};

/* ---- how a domain is driven (the libuv binding, or the tool's loop) ---- */

/*
 * The domain itself does no waiting: it says what it wants (@want: the
 * POLLIN/POLLOUT it needs watched; @due: when kvmi__dom_process must run
 * for a deadline; @run_soon: a dispatch waits for the next loop
 * iteration) and a driver calls kvmi__dom_process when one of them comes.
 * uv_binding.c drives domains on the server's libuv loop; own_loop.c
 * lets the tool drive an adopted domain from a loop of its own.
 */
struct kvmi__driver {
	/* prepare @dom (0 or a negative errno) */
	int (*init)(struct kvmi_dom *dom);
	/* @want, @due or @run_soon changed */
	void (*update)(struct kvmi_dom *dom);
	/* the domain is torn down: stop watching it, then (from the loop,
	 * never inside this call) call kvmi__dom_released */
	void (*release)(struct kvmi_dom *dom);
};
extern const struct kvmi__driver kvmi__uv_driver;
extern const struct kvmi__driver kvmi__own_driver;

struct kvmi_dom {
	struct kvmi_server *srv;
	struct kvmi_dom *next, *prev; /* server's list */
	unsigned int refs;
	enum kvmi__dom_state state;
	bool reported;	    /* new_domain returned 0 */
	bool disconnected;  /* disconnect callback done */
	int error;	    /* what ended it */
	int fd;
	uint64_t drain_since; /* KVMI__DOM_DRAINING: when it began */
	void *user;

	/* what the driver watches for the domain (see struct kvmi__driver) */
	const struct kvmi__driver *drv;
	int want;	    /* POLLIN / POLLOUT */
	uint64_t due;	    /* CLOCK_MONOTONIC ms; UINT64_MAX: none */
	bool run_soon;
	bool dirty;	    /* changed since the driver last looked */
	int in_process;	    /* kvmi__dom_process frames running */
	/* the libuv binding's (uv_binding.c) */
	uv_poll_t poll;
	uv_timer_t timer;
	uv_idle_t idle;
	int uv_events;	    /* what the poll handle watches now (UV_*) */
	uint64_t uv_armed;  /* the due the timer runs for (0: none/fired) */
	int open_handles;
#ifdef KVMI_TEST_HOOKS
	unsigned long poll_restarts; /* uv_poll_start calls (tests read it) */
#endif
	/* the tool's loop's (own_loop.c) */
	void (*watch_cb)(struct kvmi_dom *dom, void *ctx);
	void *watch_ctx;
	bool release_pending; /* torn down: released by the next process */
	uint64_t spin_until; /* kvmi_dom_run's busy polling (kvmi__now_ns) */
	struct kvmi_dom *adopt_next; /* srv->adopted */

	/* handshake */
	struct kvmi_guest_identity identity;
	struct kvmi__hs hs;

	struct kvmi_session *sess;
	int depth; /* tool callbacks running on this domain */
	unsigned int vcpus_told; /* vCPU count the extensions know */
	struct kvmi_handler *handlers[KVMI__HANDLER_SLOTS];
	struct kvmi__ext *exts;
	struct kvmi_capture_writer *capture;
	size_t writes; /* successful send() calls */
	uint64_t bytes_in, bytes_out; /* kvmi_dom_bytes() */
	/* when the unsent output passed cfg.output_max (ms; 0: below it):
	 * reading is paused, the domain fails output_stall_ms later */
	uint64_t out_full_since;
};

/* ---- server ---- */

struct kvmi_server {
	uv_loop_t *loop;
	uv_loop_t *own_loop; /* created by us when the tool gave none */
	struct kvmi_server_config cfg; /* strings below are our copies */
	char *unix_path;
	uid_t *uids;
	uint8_t cookie[20];
	int unix_fd, vsock_fd;
	uv_poll_t unix_poll, vsock_poll;
	bool unix_polling, vsock_polling;
	int open_handles;
	size_t closing_doms; /* domains whose handles are still closing */
	bool shut;
	bool stop_when_empty; /* kvmi_server_stop_after_last_guest */
	bool free_requested;
	bool freeing; /* kvmi_server_free running our own loop */
	dev_t sock_dev;
	ino_t sock_ino;
	/* vsock CID allow-list (our copy of cfg.allowed_cids) */
	unsigned int *cids;
	/* accept() out of descriptors: the listen socket(s) paused, retried
	 * on accept_timer after accept_backoff_ms; the error logged at most
	 * every 10 s (accept_log_ms) with the failures not logged since */
	uv_timer_t accept_timer;
	bool accept_timer_open;
	bool unix_paused, vsock_paused;
	unsigned int accept_backoff_ms;
	uint64_t accept_log_ms;
	unsigned long accept_failures_unlogged;
	struct kvmi_dom *doms, *doms_tail; /* every connection, oldest first */
	/* adopted domains (own_loop.c) until released */
	struct kvmi_dom *adopted;
	size_t ndoms_ready;
	/* busy polling (cfg.busy_poll_us, uv_binding.c): the loop polls
	 * without sleeping until spin_until (kvmi__now_ns) */
	uv_idle_t spin;
	bool spin_open;
	uint64_t spin_until;
	struct kvmi_handler *handlers[KVMI__HANDLER_SLOTS];
	uint8_t rbuf[KVMI__READ_BUF]; /* shared read buffer */
};

/* busy polling (cfg.busy_poll_us): bytes came from a host, so poll on
 * without sleeping until busy_poll_us from now (kvmi__spin_on, clock.h) */
static inline void kvmi__spin_touch(const struct kvmi_server *srv,
				    uint64_t *until)
{
	*until = kvmi__now_ns() + (uint64_t)srv->cfg.busy_poll_us * 1000;
}

/* uv_binding.c: the server loop's busy polling stops for good - its idle
 * handle closes (kvmi_server_shutdown) */
void kvmi__uv_spin_close(struct kvmi_server *srv, uv_close_cb cb);

/* server.c */
void kvmi__server_maybe_free(struct kvmi_server *srv);
/* a domain left the list: shut down if asked to after the last one */
void kvmi__server_check_empty(struct kvmi_server *srv);
/* is a vsock peer with @cid let in by the CID allow-list? */
bool kvmi__server_cid_allowed(const struct kvmi_server *srv, unsigned int cid);

/* log.c */
void kvmi__log(struct kvmi_server *srv, struct kvmi_dom *dom,
	       enum kvmi_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* server.c: may @fd (a connected socket) become a domain of @srv?  The
 * uid / CID allow-lists, as at accept (a refusal is logged) */
bool kvmi__server_peer_allowed(struct kvmi_server *srv, int fd);

/* domain.c */
struct kvmi_dom *kvmi__dom_new(struct kvmi_server *srv, int fd,
			       const struct kvmi__driver *drv);
/* start QEMU's handshake on a new domain (its timeout running) */
void kvmi__dom_begin(struct kvmi_dom *dom);
/* the driver saw @revents (POLLIN, POLLOUT, POLLHUP, POLLERR, POLLNVAL;
 * 0: a deadline or a dispatch is due): read, write, expire, dispatch.
 * 1 when the domain is closed (torn down), else 0 */
int kvmi__dom_process(struct kvmi_dom *dom, int revents);
/* the driver let go of a torn-down domain: close its fd, finish its
 * commands, tell the extensions and the tool, drop its reference */
void kvmi__dom_released(struct kvmi_dom *dom);
void kvmi__dom_fail(struct kvmi_dom *dom, int err);
int kvmi__dom_flush(struct kvmi_dom *dom);
void kvmi__dom_schedule_dispatch(struct kvmi_dom *dom);
void kvmi__dom_start_session(struct kvmi_dom *dom);
int kvmi__dom_accepted(struct kvmi_server *srv, int fd);
void kvmi__dom_unlink(struct kvmi_dom *dom);
/* serving the tool: before DRAINING */
static inline int kvmi__dom_usable(const struct kvmi_dom *dom)
{
	return dom && dom->state < KVMI__DOM_DRAINING;
}
/* the socket is still ours to read and write: usable, or draining */
static inline bool kvmi__dom_open(const struct kvmi_dom *dom)
{
	return dom && dom->state <= KVMI__DOM_DRAINING;
}
/* output was queued: send it now unless a dispatch will */
void kvmi__dom_output(struct kvmi_dom *dom);
/* recompute what the driver must watch (after output changed) */
void kvmi__dom_update_poll(struct kvmi_dom *dom);

/* own_loop.c: drive the adopted domains of a server being freed until
 * each is released; -EBUSY when one is processing (the free came from
 * its callback: it finishes when that returns) */
int kvmi__own_finish(struct kvmi_server *srv);

/* dom_io.c: the socket's bytes */
/* read what is available (at most @max_reads buffers) into the session;
 * 0, or the error that failed the domain */
int kvmi__dom_read(struct kvmi_dom *dom, int max_reads);
/* QEMU's struct: read it, answer it, start the session; 0 or an error
 * (the caller fails the domain) */
int kvmi__dom_handshake_input(struct kvmi_dom *dom);

/* dispatch.c */
void kvmi__dom_on_event(struct kvmi_session *s, struct kvmi_event_ctx *ev,
			void *user);
void kvmi__dom_on_unhook(struct kvmi_session *s, void *user);
void kvmi__handlers_free(struct kvmi_handler **slots);

/* commands.c: a single-message command; @finish turns its reply into the
 * caller's outputs on success, before the caller's callback */
struct kvmi__cmd;
typedef void (*kvmi__cmd_finish)(struct kvmi__cmd *c);
/* room for one message in the output (-ENOTCONN when closed) */
int kvmi__cmd_reserve(struct kvmi_dom *dom, uint8_t **where);
/* queue the command just encoded at the reserved place (length @len or
 * a negative encoder error); on success @size bytes at @off of its reply
 * (@reply_cap bytes at most) are copied to @out (@size 0: no reply data)
 * before @cb runs.  0, or an error with nothing queued */
int kvmi__cmd_queue_copy(struct kvmi_dom *dom, int len, size_t reply_cap,
			 void *out, size_t off, size_t size,
			 kvmi_dom_cmd_cb cb, void *ctx);
/* queue the items @add puts into a new batch and send it with @cb (the
 * form of the commands split over several messages) */
int kvmi__dom_batched(struct kvmi_dom *dom,
		      int (*add)(struct kvmi_pipeline *, const void *),
		      const void *args, kvmi_dom_cmd_cb cb, void *ctx);

/* commands_v7.c: the dialect rules of the kvmi-v7 calls (domain-v7.h),
 * shared with batch_v7.c; each 0 or the call's error.  -EOPNOTSUPP when
 * @d has no message @op (common id) */
int kvmi__dialect_lacks(enum kvmi_dialect d, unsigned int op);
/* @view beyond @d's views: -EINVAL on kvmi-v7, -EOPNOTSUPP (no views)
 * elsewhere */
int kvmi__view_arg(enum kvmi_dialect d, unsigned int view);
/* CHANGE_GFN's view: v7-2021 cannot carry one (-EOPNOTSUPP unless 0) */
int kvmi__change_gfn_arg(enum kvmi_dialect d, unsigned int view);

/*
 * kvmi__write_physical_async - queue a write of @len bytes (one page at
 * most) at @gpa whose reply finishes @w (its cb runs from dispatch);
 * nothing is waited for and nothing is flushed.  0, or an error with
 * nothing queued.
 */
int kvmi__write_physical_async(struct kvmi_dom *dom, uint64_t gpa,
			       const void *buf, size_t len,
			       struct kvmi__waiter *w);

#endif /* KVMI_LIB_INTERNAL_H */
