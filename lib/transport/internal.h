/*
 * libkvmi - internal.h: the connection layer's internal structures
 * (server, domain, session state, events, handlers) shared by server.c,
 * domain.c, session.c, dispatch.c, commands.c and batch.c.
 */
#ifndef KVMI_LIB_INTERNAL_H
#define KVMI_LIB_INTERNAL_H

#include <stdbool.h>
#include <uv.h>

#include <kvmi/capture.h>
#include <kvmi/codec.h>
#include <kvmi/domain.h>
#include <kvmi/hooks.h>
#include <kvmi/server.h>

#define KVMI__READ_BUF 65536
#define KVMI__DEFAULT_TIMEOUT_MS 10000
#define KVMI__DEFAULT_QUEUE 1024
#define KVMI__DEFAULT_MAX_VCPUS 1024

/* ---- handlers ---- */

struct kvmi_handler {
	struct kvmi_handler *next;
	struct kvmi_handler **head; /* list it lives in (NULL once removed) */
	unsigned int event_id;	   /* KVMI_NUM_EVENTS for UNHOOK */
	kvmi_event_cb cb;
	kvmi_unhook_cb unhook_cb;
	void *ctx;
	bool removed;
};

#define KVMI__UNHOOK_SLOT KVMI_NUM_EVENTS
#define KVMI__HANDLER_SLOTS (KVMI_NUM_EVENTS + 1)

/* ---- events ---- */

enum kvmi__ev_state {
	KVMI__EV_FREE = 0,   /* slot unused */
	KVMI__EV_QUEUED,     /* received, not yet dispatched */
	KVMI__EV_DISPATCHED, /* handed to a handler, not replied */
	KVMI__EV_BATCHED,    /* reply queued in an uncommitted batch */
};

/* One received event; one slot per vCPU (a vCPU has at most one
 * outstanding event, so slots never run out for a well-behaved host). */
struct kvmi_event_ctx {
	struct kvmi_dom *dom;
	struct kvmi_event_ctx *qnext; /* dispatch queue link */
	enum kvmi__ev_state state;
	bool held;
	uint32_t seq;
	uint64_t arrival; /* arrival counter (oldest first) */
	struct kvmi_event common;
	union kvmi_event_data data;
};

/* ---- outstanding commands ---- */

/*
 * Where a command's outcome goes.  Lives in the caller's memory (the
 * stack of a synchronous call, a batch item, the domain for its start-up
 * commands); the table entry pointing to it is always removed before that
 * memory goes away.
 */
struct kvmi__waiter;
typedef void (*kvmi__waiter_cb)(struct kvmi_dom *dom, struct kvmi__waiter *w);

struct kvmi__waiter {
	bool done;
	int result;	/* 0 / -errno / KVMI_E_* */
	void *out;	/* reply data destination (may be NULL) */
	size_t out_cap;
	size_t out_len;	/* reply data bytes received */
	kvmi__waiter_cb cb; /* called when done (may be NULL) */
};

struct kvmi__pending {
	struct kvmi__waiter *w; /* NULL: free slot */
	uint32_t seq;
	uint16_t id;
	bool optional; /* sent with replies disabled: a reply only on error */
};

/* open-addressing table (linear probing) of outstanding commands */
struct kvmi__pending_table {
	struct kvmi__pending *slots;
	size_t cap; /* power of two or 0 */
	size_t count;
};

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
	KVMI__DOM_CLOSING,   /* closed; handles being released */
	KVMI__DOM_CLOSED,
};

struct kvmi_dom {
	struct kvmi_server *srv;
	struct kvmi_dom *next, *prev; /* server's list */
	unsigned int refs;
	enum kvmi__dom_state state;
	bool reported;	    /* new_domain returned 0 */
	bool disconnected;  /* disconnect callback done */
	int error;	    /* what ended it */
	int fd;
	uv_poll_t poll;
	int poll_events; /* what the poll handle watches now (UV_*) */
	unsigned long poll_restarts; /* uv_poll_start calls (tests read it) */
	uv_timer_t timer;   /* handshake timeout */
	uv_idle_t idle;	    /* dispatch of queued events */
	int open_handles;
	void *user;

	/* handshake */
	struct kvmi_guest_identity identity;
	struct kvmi__hs hs;

	/* session */
	struct kvmi_decoder *dec;
	struct kvmi_seq seq;
	struct kvmi__pending_table pending;
	uint32_t version;
	unsigned int vcpu_count;
	unsigned int timeout_ms;
	uint8_t *out;	     /* bytes waiting to be written */
	size_t out_len, out_cap;
	struct kvmi_event_ctx **slots; /* per vCPU */
	unsigned int nslots;
	struct kvmi_event_ctx *qhead, *qtail; /* undispatched events */
	size_t queued;
	uint64_t arrivals;
	int depth;	/* handler nesting */
	bool in_input;	/* inside the read path (flush deferred) */
	struct kvmi_event_ctx unhook_ev; /* KVMI_EVENT_UNHOOK, never replied */
	uint32_t warned; /* event ids warned about (no handler) */
	struct kvmi_handler *handlers[KVMI__HANDLER_SLOTS];
	struct kvmi_capture_writer *capture;
	size_t writes; /* successful send() calls */
	struct kvmi__hooks *hooks; /* hooks.c registry, NULL until used */
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
	bool free_requested;
	bool freeing; /* kvmi_server_free running our own loop */
	/* kvmi_server_unhook_on_event */
	unsigned int unhook_deadline_ms;
	kvmi_unhook_before_cb unhook_before;
	kvmi_unhook_after_cb unhook_after;
	void *unhook_ctx;
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
	size_t ndoms_ready;
	struct kvmi_handler *handlers[KVMI__HANDLER_SLOTS];
	uint8_t rbuf[KVMI__READ_BUF]; /* shared read buffer */
};

/* server.c */
void kvmi__server_maybe_free(struct kvmi_server *srv);
/* is a vsock peer with @cid let in by the CID allow-list? */
bool kvmi__server_cid_allowed(const struct kvmi_server *srv, unsigned int cid);

/* log.c */
void kvmi__log(struct kvmi_server *srv, struct kvmi_dom *dom,
	       enum kvmi_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* session.c: outstanding commands and the output buffer */
int kvmi__pending_add(struct kvmi_dom *dom, uint16_t id, uint32_t seq,
		      bool optional, struct kvmi__waiter *w);
void kvmi__pending_drop_waiter(struct kvmi_dom *dom, struct kvmi__waiter *w);
void kvmi__pending_fail_all(struct kvmi_dom *dom, int err);
void kvmi__pending_finish_optional(struct kvmi_dom *dom, uint32_t upto_seq);
void kvmi__pending_free(struct kvmi_dom *dom);
int kvmi__out_reserve(struct kvmi_dom *dom, size_t n, uint8_t **where);
void kvmi__out_commit(struct kvmi_dom *dom, size_t n);
int kvmi__session_input(struct kvmi_dom *dom, const uint8_t *buf, size_t len);
void kvmi__queue_unlink(struct kvmi_dom *dom, struct kvmi_event_ctx *ev);
struct kvmi_event_ctx *kvmi__event_slot(struct kvmi_dom *dom, unsigned int vcpu,
				       bool create);

/* domain.c */
struct kvmi_dom *kvmi__dom_new(struct kvmi_server *srv, int fd);
void kvmi__dom_fail(struct kvmi_dom *dom, int err);
int kvmi__dom_flush(struct kvmi_dom *dom, bool block);
int kvmi__dom_wait(struct kvmi_dom *dom, struct kvmi__waiter *const *ws,
		   size_t n);
void kvmi__dom_dispatch_queue(struct kvmi_dom *dom);
void kvmi__dom_schedule_dispatch(struct kvmi_dom *dom);
void kvmi__dom_start_session(struct kvmi_dom *dom);
int kvmi__dom_accepted(struct kvmi_server *srv, int fd);
void kvmi__dom_unlink(struct kvmi_dom *dom);
int kvmi__dom_usable(struct kvmi_dom *dom);

/* dispatch.c */
void kvmi__dispatch_event(struct kvmi_dom *dom, struct kvmi_event_ctx *ev);
void kvmi__dispatch_unhook(struct kvmi_dom *dom);
void kvmi__handlers_free(struct kvmi_handler **slots);
int kvmi__event_encode_reply(struct kvmi_event_ctx *ev, uint8_t *buf,
			     size_t cap, uint8_t action, const void *tail,
			     size_t tlen);
void kvmi__event_release(struct kvmi_event_ctx *ev);
/* an event that may still be replied to (queued or dispatched) */
static inline bool kvmi__event_open(const struct kvmi_event_ctx *ev)
{
	return ev->state == KVMI__EV_QUEUED || ev->state == KVMI__EV_DISPATCHED;
}
/* take @ev out of the dispatch queue if it is there; it will be replied
 * to before (or instead of) being dispatched */
void kvmi__event_claim(struct kvmi_event_ctx *ev);

/* hooks.c */
void kvmi__hooks_observe(struct kvmi_dom *dom, struct kvmi_event_ctx *ev);
void kvmi__hooks_free(struct kvmi_dom *dom);

/* commands.c: send one encoded command (length @len, or a negative
 * encoder error) and wait for its reply */
/* CLOCK_MONOTONIC in milliseconds (command deadlines, breakpoint re-arm) */
uint64_t kvmi__now_ms(void);
int kvmi__command(struct kvmi_dom *dom, const uint8_t *msg, int len,
		  void *out, size_t out_cap, size_t *out_len);
/*
 * kvmi__write_physical_async - queue a write of @len bytes (one page at
 * most) at @gpa whose reply finishes @w (its cb runs then, from inside
 * input processing: no synchronous commands there); nothing is waited
 * for and nothing is flushed.  0, or an error with nothing queued.
 */
int kvmi__write_physical_async(struct kvmi_dom *dom, uint64_t gpa,
			       const void *buf, size_t len,
			       struct kvmi__waiter *w);

#endif /* KVMI_LIB_INTERNAL_H */
