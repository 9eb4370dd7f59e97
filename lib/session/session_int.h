/*
 * libkvmi - session_int.h: the session layer's internal structures
 * (struct kvmi_session, events, outstanding commands, the delivery
 * queue) and the calls the transport layer above makes into it.  Knows
 * nothing of sockets, loops, domains or servers.
 */
#ifndef KVMI_LIB_SESSION_INT_H
#define KVMI_LIB_SESSION_INT_H

#include <stdbool.h>

#include <kvmi/codec.h>
#include <kvmi/session.h>

#include "clock.h"

#define KVMI__DEFAULT_TIMEOUT_MS 10000
#define KVMI__DEFAULT_MAX_VCPUS 1024

/* ---- the delivery queue: what dispatch hands out, in arrival order ---- */

enum kvmi__item_kind {
	KVMI__ITEM_EVENT,  /* a struct kvmi_event_ctx */
	KVMI__ITEM_UNHOOK, /* the session's unhook_ev */
	KVMI__ITEM_DONE,   /* a finished struct kvmi__waiter */
};

struct kvmi__item {
	struct kvmi__item *next, *prev;
	uint64_t arrival;
	enum kvmi__item_kind kind;
	bool queued;
};

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
	struct kvmi__item item;
	struct kvmi_session *sess;
	enum kvmi__ev_state state;
	bool held;
	bool default_ok; /* a library layer saw it: the default reply is
			  * right when no tool handler takes it (quiet) */
	uint32_t seq;
	struct kvmi_event common;
	union kvmi_event_data data;
};

/* ---- outstanding commands ---- */

/*
 * Where a command's outcome goes.  Lives in the caller's memory (the
 * stack of a synchronous call, a batch item, the session for its start-up
 * commands); it is always out of the session's tables before that memory
 * goes away (kvmi__waiter_drop).  With @cb set, the outcome is delivered
 * from dispatch; without, the owner polls @done (synchronous waits).
 */
struct kvmi__waiter;
typedef void (*kvmi__waiter_cb)(struct kvmi_session *s,
				struct kvmi__waiter *w);

struct kvmi__waiter {
	struct kvmi__item item; /* delivery of @cb */
	struct kvmi__waiter *prev, *next; /* outstanding, in send order */
	bool done;
	bool outstanding;
	bool optional; /* sent with replies disabled: a reply only on error */
	uint16_t id;
	uint32_t seq;
	bool sync;	/* @cb belongs to a synchronous call: delivered by
			 * kvmi__sess_deliver_sync while it waits */
	int result;	/* 0 / -errno / KVMI_E_* */
	void *out;	/* reply data destination (may be NULL) */
	size_t out_cap;
	size_t out_len;	/* reply data bytes received */
	uint64_t deadline; /* CLOCK_MONOTONIC ms */
	kvmi__waiter_cb cb;
	void *ctx;	/* for the owner of @cb */
};

/* start-up: GET_VERSION alone (its reply tells the dialect), then
 * GET_GUEST_INFO in that dialect and, on kvmi-v7, the CHECK_COMMAND probe
 * that tells the 2023 generation */
struct kvmi__startup {
	struct kvmi__waiter ver, info, probe;
	/* v6's 8 bytes, or kvmi-v7's / v12's 16 with the feature block */
	struct kvmi_v7_get_version_reply ver_reply;
	struct kvmi_get_guest_info_reply info_reply;
	bool started;
	bool second; /* GET_GUEST_INFO (and the probe) sent */
	bool probing;
};

/*
 * The output buffer's sizes: KVMI__OUT_FIRST holds an idle guest's
 * start-up commands and the replies of a read of a few events; a buffer
 * grown past KVMI__OUT_KEEP (a burst: a large WRITE_PHYSICAL, a batch,
 * the replies of many events at once) is freed once drained.  So an idle
 * guest keeps at most KVMI__OUT_KEEP, and steady traffic never
 * allocates.
 */
#define KVMI__OUT_FIRST 512
#define KVMI__OUT_KEEP 4096

struct kvmi_session {
	struct kvmi_session_config cfg;
	struct kvmi_session_callbacks cbs;
	void *user;
	int error;	/* sticky */
	bool ready;	/* ready delivered */
	bool timeout_lowered; /* deadlines may not grow in send order */
	bool replies_off; /* KVMI_CONTROL_CMD_RESPONSE disabled replies */
	/* closing drain (after a failure the owner decided to answer): the
	 * host's events still open slots, and the reply to @drain_seq (the
	 * last command queued before it began) confirms all before it */
	bool draining, drain_wait, drain_confirmed;
	uint32_t drain_seq;
	int depth;	/* callbacks running */
	struct kvmi_decoder *dec;
	enum kvmi_dialect dialect; /* what we speak (and encode) */
	bool dec_switch; /* the decoder still has to switch to @dialect */
	struct kvmi_seq seq;
	uint32_t version;
	struct kvmi_host_features features; /* from the GET_VERSION reply */
	unsigned int vcpu_count;

	/* outstanding commands: by seq (open addressing) and in send order */
	struct kvmi__waiter **tab;
	size_t tab_cap, tab_count;
	struct kvmi__waiter *first, *last;

	/* bytes for the host (its sizes: KVMI__OUT_FIRST, above) */
	uint8_t *out;
	size_t out_len, out_cap;

	/* events: a slot per vCPU, and the one UNHOOK */
	struct kvmi_event_ctx **slots;
	unsigned int nslots;
	struct kvmi_event_ctx unhook_ev;
	uint32_t warned; /* event ids warned about (no handler) */

	/* deliveries */
	struct kvmi__item *qhead, *qtail;
	size_t queued_events;
	uint64_t arrivals;

	struct kvmi__startup st;
};

/* session.c */
void kvmi__sess_log(struct kvmi_session *s, enum kvmi_log_level level,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* output was queued outside the session's callbacks: tell the owner */
void kvmi__sess_wake(struct kvmi_session *s);

/*
 * The closing drain: the session failed (kvmi_session_fail) and its owner
 * queued last commands (restores) and answers; from now on received bytes
 * are still decoded, events open their vCPU's slot (never dispatched: the
 * owner answers them with kvmi_session_open_events) and replies are only
 * watched for the one to the last command queued.  A decoding error ends
 * it (kvmi_session_recv returns it).  drain_mark: taken before the owner
 * queues its last commands; drain_begin waits for the reply to the last
 * command queued since the mark (none queued, or replies off: nothing to
 * wait for).  drain_waits: that reply may still come; drain_confirmed:
 * it came (the host applied everything before it).
 */
uint32_t kvmi__sess_drain_mark(const struct kvmi_session *s);
void kvmi__sess_drain_begin(struct kvmi_session *s, uint32_t mark);
bool kvmi__sess_drain_confirmed(const struct kvmi_session *s);
bool kvmi__sess_drain_waits(const struct kvmi_session *s);

/* startup.c: speak (and decode) dialect @d from now on; the GET_VERSION
 * reply as it is read (the dialect of everything after it) */
void kvmi__sess_use_dialect(struct kvmi_session *s, enum kvmi_dialect d);
void kvmi__sess_version_seen(struct kvmi_session *s, const struct kvmi_msg *m);

/* output: room for @n more bytes at *@where, then commit what was used */
int kvmi__out_reserve(struct kvmi_session *s, size_t n, uint8_t **where);
void kvmi__out_commit(struct kvmi_session *s, size_t n);
int kvmi__out_append(struct kvmi_session *s, const void *p, size_t n);

/* pending.c: outstanding commands */
int kvmi__waiter_add(struct kvmi_session *s, uint16_t id, uint32_t seq,
		     bool optional, struct kvmi__waiter *w);
void kvmi__waiter_drop(struct kvmi_session *s, struct kvmi__waiter *w);
struct kvmi__waiter *kvmi__waiter_find(struct kvmi_session *s, uint32_t seq);
void kvmi__waiter_finish(struct kvmi_session *s, struct kvmi__waiter *w,
			 int result);
void kvmi__waiters_fail_all(struct kvmi_session *s, int err);
void kvmi__waiters_finish_optional(struct kvmi_session *s,
				   uint32_t upto_seq);
void kvmi__waiters_free(struct kvmi_session *s);

/*
 * Queue the encoded message at the end of the output (length @len, or a
 * negative encoder error) as a command whose outcome goes to @w.  0, or
 * an error with nothing queued.
 */
int kvmi__sess_queue_command(struct kvmi_session *s, int len,
			     struct kvmi__waiter *w);

/* the delivery queue (session.c) */
void kvmi__deliver(struct kvmi_session *s, struct kvmi__item *it,
		   enum kvmi__item_kind kind);
void kvmi__undeliver(struct kvmi_session *s, struct kvmi__item *it);
/* deliver now every finished command of a synchronous call in progress
 * (they only record their result); events and other completions wait */
void kvmi__sess_deliver_sync(struct kvmi_session *s);

/* events.c: event ids of the common numbering (kvmi-v7's) <-> the wire
 * ids of the session's dialect */
int kvmi__event_to_wire(const struct kvmi_session *s, unsigned int id);
int kvmi__event_from_wire(const struct kvmi_session *s, unsigned int id);
struct kvmi_event_ctx *kvmi__event_slot(struct kvmi_session *s,
				       unsigned int vcpu, bool create);
int kvmi__event_encode_reply(struct kvmi_event_ctx *ev, uint8_t *buf,
			     size_t cap, uint8_t action, const void *tail,
			     size_t tlen);
void kvmi__event_release(struct kvmi_event_ctx *ev);
/* an event that may still be replied to (queued or dispatched) */
static inline bool kvmi__event_open(const struct kvmi_event_ctx *ev)
{
	return ev->state == KVMI__EV_QUEUED || ev->state == KVMI__EV_DISPATCHED;
}
/* take @ev out of the delivery queue if it is there; it will be replied
 * to before (or instead of) being dispatched */
void kvmi__event_claim(struct kvmi_event_ctx *ev);
/* the reply with @action (and the event-specific @tail) queued for
 * sending; the event is done.  0 or an error with nothing queued. */
int kvmi__event_reply(struct kvmi_event_ctx *ev, uint8_t action,
		      const void *tail, size_t tlen);
/* dispatch one event to the event callback, then the default reply */
void kvmi__event_dispatch(struct kvmi_session *s, struct kvmi_event_ctx *ev);
/* answer every undispatched event with the default reply; how many */
size_t kvmi__events_answer_queued(struct kvmi_session *s);
void kvmi__events_free(struct kvmi_session *s);

#endif /* KVMI_LIB_SESSION_INT_H */
