/*
 * libkvmi - session.c: a connection's protocol state without I/O: bytes
 * in (replies matched to outstanding commands, events copied into their
 * vCPU's slot), bytes out (the output buffer), the delivery queue that
 * dispatch empties in arrival order, deadlines (the start-up commands are
 * startup.c).
 * Nothing here reads or writes a socket, and no callback runs from
 * kvmi_session_recv.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "session_int.h"

void kvmi__sess_log(struct kvmi_session *s, enum kvmi_log_level level,
		    const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!s->cbs.log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	s->cbs.log(s, level, line, s->user);
}

void kvmi__sess_wake(struct kvmi_session *s)
{
	if (!s->depth && s->cbs.wake)
		s->cbs.wake(s, s->user);
}


/* ---- life ---- */

KVMI_EXPORT int kvmi_session_new(const struct kvmi_session_config *cfg,
				 const struct kvmi_session_callbacks *cbs,
				 void *user, struct kvmi_session **out)
{
	struct kvmi_session *s;

	if (!out || (cfg && cfg->size < sizeof(*cfg)))
		return -EINVAL;
	s = kvmi__calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->dec = kvmi_decoder_new(KVMI_DIR_HOST_TO_TOOL);
	if (!s->dec) {
		free(s);
		return -ENOMEM;
	}
	if (cfg && cfg->force_dialect > KVMI_NUM_DIALECTS) {
		kvmi_decoder_free(s->dec);
		free(s);
		return -EINVAL;
	}
	if (cfg)
		s->cfg = *cfg;
	if (s->cfg.force_dialect)
		kvmi__sess_use_dialect(s,
				       (enum kvmi_dialect)(s->cfg.force_dialect - 1));
	s->cfg.size = sizeof(s->cfg);
	if (!s->cfg.max_vcpus)
		s->cfg.max_vcpus = KVMI__DEFAULT_MAX_VCPUS;
	if (!s->cfg.command_timeout_ms)
		s->cfg.command_timeout_ms = KVMI__DEFAULT_TIMEOUT_MS;
	if (cbs)
		s->cbs = *cbs;
	s->user = user;
	s->unhook_ev.sess = s;
	kvmi_seq_init(&s->seq, 1);
	*out = s;
	return 0;
}

KVMI_EXPORT void kvmi_session_free(struct kvmi_session *s)
{
	if (!s)
		return;
	kvmi_session_fail(s, -ENOTCONN);
	/* the outstanding commands' callbacks run before the memory goes */
	while (kvmi_session_dispatch(s) > 0)
		;
	kvmi__waiters_free(s);
	kvmi__events_free(s);
	kvmi_decoder_free(s->dec);
	free(s->out);
	free(s);
}

KVMI_EXPORT void kvmi_session_fail(struct kvmi_session *s, int err)
{
	if (!s || s->error)
		return;
	s->error = err < 0 ? err : -EPROTO;
	/* the commands' own result says the connection went (or that the
	 * host did not answer in time); the session keeps the reason */
	kvmi__waiters_fail_all(s, s->error == -ETIMEDOUT ? -ETIMEDOUT
							 : -ENOTCONN);
	/* undispatched events are never dispatched now, but stay open: the
	 * owner may still answer them (kvmi_session_open_events) before the
	 * connection goes - the host takes an unanswered one as CONTINUE */
	for (unsigned int v = 0; v < s->nslots; v++)
		if (s->slots[v] && s->slots[v]->item.queued)
			kvmi__undeliver(s, &s->slots[v]->item);
	if (s->unhook_ev.state != KVMI__EV_FREE)
		kvmi__event_release(&s->unhook_ev);
}

KVMI_EXPORT int kvmi_session_error(const struct kvmi_session *s)
{
	return s ? s->error : -EINVAL;
}

KVMI_EXPORT void *kvmi_session_user(const struct kvmi_session *s)
{
	return s ? s->user : NULL;
}

KVMI_EXPORT enum kvmi_dialect
kvmi_session_dialect(const struct kvmi_session *s)
{
	return s ? s->dialect : KVMI_DIALECT_V6;
}

KVMI_EXPORT uint32_t kvmi_session_version(const struct kvmi_session *s)
{
	return s ? s->version : 0;
}

KVMI_EXPORT uint64_t kvmi_session_bytes_received(const struct kvmi_session *s)
{
	return s ? kvmi_decoder_offset(s->dec) : 0;
}

KVMI_EXPORT unsigned int kvmi_session_vcpu_count(const struct kvmi_session *s)
{
	return s ? s->vcpu_count : 0;
}

KVMI_EXPORT int kvmi_session_is_ready(const struct kvmi_session *s)
{
	return s && s->ready;
}

KVMI_EXPORT int kvmi_session_set_timeout(struct kvmi_session *s,
					 unsigned int ms)
{
	if (!s || !ms)
		return -EINVAL;
	if (ms < s->cfg.command_timeout_ms)
		s->timeout_lowered = true;
	s->cfg.command_timeout_ms = ms;
	return 0;
}

/* ---- output (its sizes: session_int.h) ---- */

int kvmi__out_reserve(struct kvmi_session *s, size_t n, uint8_t **where)
{
	if (n > SIZE_MAX / 4 - s->out_len)
		return -ENOMEM; /* never: a caller's bug, not a loop */
	if (s->out_len + n > s->out_cap) {
		size_t ncap = s->out_cap ? s->out_cap : KVMI__OUT_FIRST;
		uint8_t *nb;

		while (ncap < s->out_len + n)
			ncap *= 2;
		nb = kvmi__realloc(s->out, ncap);
		if (!nb)
			return -ENOMEM;
		s->out = nb;
		s->out_cap = ncap;
	}
	*where = s->out + s->out_len;
	return 0;
}

void kvmi__out_commit(struct kvmi_session *s, size_t n)
{
	s->out_len += n;
}

int kvmi__out_append(struct kvmi_session *s, const void *p, size_t n)
{
	uint8_t *where;
	int err;

	if (!n)
		return 0;
	err = kvmi__out_reserve(s, n, &where);
	if (err)
		return err;
	memcpy(where, p, n);
	kvmi__out_commit(s, n);
	return 0;
}

KVMI_EXPORT const uint8_t *kvmi_session_output(const struct kvmi_session *s,
					       size_t *len)
{
	if (!s || !s->out_len) {
		if (len)
			*len = 0;
		return NULL;
	}
	if (len)
		*len = s->out_len;
	return s->out;
}

KVMI_EXPORT void kvmi_session_output_done(struct kvmi_session *s, size_t n)
{
	if (!s || !n)
		return;
	if (n > s->out_len)
		n = s->out_len;
	if (n < s->out_len) /* a part was sent: the rest moves up */
		memmove(s->out, s->out + n, s->out_len - n);
	s->out_len -= n;
	if (s->out_len == 0 && s->out_cap > KVMI__OUT_KEEP) {
		free(s->out); /* give back what a burst needed */
		s->out = NULL;
		s->out_cap = 0;
	}
}

/* ---- commands ---- */

KVMI_EXPORT uint32_t kvmi_session_next_seq(struct kvmi_session *s)
{
	return s ? kvmi_seq_next(&s->seq) : 0;
}

/*
 * Replies-disabled mode (KVMI_CONTROL_CMD_RESPONSE): will the host answer
 * this command?  A command it does not answer is finished (0) by the
 * reply to the next CONTROL_CMD_RESPONSE that is answered, or fails with
 * the error reply the host sends even then.
 */
static bool replies_follow(struct kvmi_session *s, const uint8_t *msg,
			   size_t len)
{
	struct kvmi_msg_hdr hdr;
	bool answered = !s->replies_off;

	memcpy(&hdr, msg, sizeof(hdr));
	if (hdr.id == KVMI_CONTROL_CMD_RESPONSE &&
	    len >= sizeof(hdr) + sizeof(struct kvmi_control_cmd_response)) {
		struct kvmi_control_cmd_response c;

		memcpy(&c, msg + sizeof(hdr), sizeof(c));
		if (c.now == 1)
			answered = c.enable != 0;
		s->replies_off = c.enable == 0;
	}
	return answered;
}

/* a public command: the waiter and the user's callback in one block */
struct pub_cmd {
	struct kvmi__waiter w;
	kvmi_session_cmd_cb cb;
};

static void pub_cmd_done(struct kvmi_session *s, struct kvmi__waiter *w)
{
	struct pub_cmd *c = (struct pub_cmd *)w;

	c->cb(s, w->result, w->out_len, w->ctx);
	free(c);
}

KVMI_EXPORT int kvmi_session_command(struct kvmi_session *s, const void *msg,
				     size_t len, void *out, size_t out_cap,
				     kvmi_session_cmd_cb cb, void *ctx)
{
	struct kvmi_msg_hdr hdr;
	struct pub_cmd *c;
	int err;

	if (!s || !msg || len < sizeof(hdr) || len > KVMI_ENCODE_MAX || !cb)
		return -EINVAL;
	memcpy(&hdr, msg, sizeof(hdr));
	if (hdr.size != len - sizeof(hdr) || hdr.id == KVMI_EVENT_REPLY ||
	    hdr.id == KVMI_EVENT)
		return -EINVAL;
	if (s->error)
		return -ENOTCONN;
	c = kvmi__calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->w.out = out;
	c->w.out_cap = out_cap;
	c->w.cb = pub_cmd_done;
	c->w.ctx = ctx;
	c->cb = cb;
	err = kvmi__waiter_add(s, hdr.id, hdr.seq, !replies_follow(s, msg, len),
			       &c->w);
	if (!err) {
		err = kvmi__out_append(s, msg, len);
		if (err)
			kvmi__waiter_drop(s, &c->w);
	}
	if (err)
		free(c);
	else
		kvmi__sess_wake(s);
	return err;
}

/* ---- input ---- */

/* @ev holds the event @m (common-numbered id @id), open, not replied */
static void event_fill(struct kvmi_event_ctx *ev, const struct kvmi_msg *m,
		       unsigned int id)
{
	ev->seq = m->hdr.seq;
	ev->common = *m->u.event.common;
	ev->common.event = (__u8)id;
	ev->data = *m->u.event.data;
	ev->state = KVMI__EV_QUEUED;
	ev->held = false;
	ev->default_ok = false;
}

/*
 * kvmi-v7's CMD_ERROR (sent only while replies are off with its flag set,
 * which the library itself never asks for): the failed command's result.
 * It is never answered (a reply would go to vCPU 0); one for no command
 * we wait for is only logged.
 */
static int on_cmd_error(struct kvmi_session *s,
			const struct kvmi_v7_event_cmd_error *ce)
{
	struct kvmi__waiter *w = kvmi__waiter_find(s, ce->msg_seq);

	if (!w || w->id != ce->msg_id) {
		kvmi__sess_log(s, KVMI_LOG_WARNING,
			       "CMD_ERROR for %s seq=%u (%s) matches no "
			       "outstanding command",
			       kvmi_msg_name_d(s->dialect, ce->msg_id),
			       ce->msg_seq, kvmi_host_error_name(ce->err));
		return 0;
	}
	kvmi__waiter_finish(s, w, ce->err < 0 ? ce->err : -EPROTO);
	return 0;
}

static int on_event(struct kvmi_session *s, const struct kvmi_msg *m)
{
	const struct kvmi_event *c = m->u.event.common;
	unsigned int id = (unsigned int)kvmi__event_from_wire(s, c->event);
	struct kvmi_event_ctx *ev;

	if (id == KVMI_V7_EVENT_CMD_ERROR)
		return on_cmd_error(s, &m->u.event.data->v7_cmd_error);
	if (id == KVMI_EVENT_UNHOOK) {
		ev = &s->unhook_ev;
		if (ev->state != KVMI__EV_FREE)
			return 0; /* already queued: once is enough */
	} else {
		if (c->vcpu >= s->cfg.max_vcpus ||
		    (c->vcpu >= s->vcpu_count &&
		     id != KVMI_EVENT_CREATE_VCPU)) {
			kvmi__sess_log(s, KVMI_LOG_ERROR,
				       "host sent %s seq=%u for vCPU %u, which "
				       "does not exist (%u known)",
				       kvmi_event_name(id), m->hdr.seq,
				       c->vcpu, s->vcpu_count);
			return -EPROTO;
		}
		ev = kvmi__event_slot(s, c->vcpu, true);
		if (!ev)
			return -ENOMEM;
		if (ev->state != KVMI__EV_FREE) {
			kvmi__sess_log(s, KVMI_LOG_ERROR,
				       "host sent %s seq=%u for vCPU %u while "
				       "its event seq=%u is not replied",
				       kvmi_event_name(id), m->hdr.seq,
				       c->vcpu, ev->seq);
			return -EPROTO;
		}
		if (id == KVMI_EVENT_CREATE_VCPU &&
		    c->vcpu >= s->vcpu_count)
			s->vcpu_count = c->vcpu + 1u;
	}
	event_fill(ev, m, id);
	/* one open event per vCPU plus the UNHOOK: the queue is bounded by
	 * the vCPU count, and the UNHOOK always has its place */
	kvmi__deliver(s, &ev->item,
		      ev == &s->unhook_ev ? KVMI__ITEM_UNHOOK
					  : KVMI__ITEM_EVENT);
	return 0;
}

static int on_reply(struct kvmi_session *s, const struct kvmi_msg *m)
{
	struct kvmi__waiter *w = kvmi__waiter_find(s, m->hdr.seq);

	if (!w || w->id != m->hdr.id) {
		kvmi__sess_log(s, KVMI_LOG_ERROR,
			       "reply %s seq=%u matches no outstanding "
			       "command",
			       kvmi_msg_name(m->hdr.id), m->hdr.seq);
		return KVMI_E_UNEXPECTED_REPLY;
	}
	if (m->u.reply.err == 0 && w->out && m->u.reply.data_len) {
		size_t n = m->u.reply.data_len < w->out_cap ? m->u.reply.data_len
							    : w->out_cap;

		memcpy(w->out, m->u.reply.data, n);
	}
	w->out_len = m->u.reply.data_len;
	if (w == &s->st.ver)
		kvmi__sess_version_seen(s, m);
	if (m->hdr.id == KVMI_CONTROL_CMD_RESPONSE && m->u.reply.err == 0)
		kvmi__waiters_finish_optional(s, m->hdr.seq);
	kvmi__waiter_finish(s, w, m->u.reply.err);
	return 0;
}

/*
 * After the session failed over a message that was well framed, and while
 * the owner drains the connection before closing it: events are still
 * readable - keep them open (not dispatched) so the owner can answer them
 * before it closes (a vCPU stopped on one of our INT3s must not get a
 * #BP); a reply is only looked at for the drain's confirmation.  0, or
 * the decoder's error (the stream is lost).
 */
static ssize_t salvage_events(struct kvmi_session *s, const uint8_t *p,
			      size_t left)
{
	while (left) {
		const struct kvmi_msg *m;
		ssize_t n = kvmi_decoder_feed(s->dec, p, left, &m);
		const struct kvmi_event *c;
		struct kvmi_event_ctx *ev;
		unsigned int id;

		if (n < 0)
			return n;
		if (n == 0)
			return 0;
		p += n;
		left -= (size_t)n;
		if (m && m->kind == KVMI_MSG_REPLY && s->drain_wait &&
		    m->hdr.seq == s->drain_seq)
			s->drain_confirmed = true;
		if (!m || m->kind != KVMI_MSG_EVENT)
			continue;
		c = m->u.event.common;
		id = (unsigned int)kvmi__event_from_wire(s, c->event);
		if (id == KVMI_EVENT_UNHOOK || c->vcpu >= s->vcpu_count)
			continue;
		ev = kvmi__event_slot(s, c->vcpu, true);
		if (!ev || ev->state != KVMI__EV_FREE)
			continue;
		event_fill(ev, m, id);
		ev->item.arrival = ++s->arrivals;
	}
	return 0;
}

uint32_t kvmi__sess_drain_mark(const struct kvmi_session *s)
{
	return s->seq.next;
}

void kvmi__sess_drain_begin(struct kvmi_session *s, uint32_t mark)
{
	s->draining = true;
	/* the commands queued since @mark (the owner's last ones) are what
	 * the drain waits for: the reply to the last one issued (the host
	 * answers in order); with replies off none comes */
	s->drain_wait = !s->replies_off && s->seq.next != mark;
	s->drain_seq = s->seq.next - 1;
	s->drain_confirmed = false;
}

bool kvmi__sess_drain_confirmed(const struct kvmi_session *s)
{
	return s->drain_confirmed;
}

bool kvmi__sess_drain_waits(const struct kvmi_session *s)
{
	return s->draining && s->drain_wait && !s->drain_confirmed;
}

KVMI_EXPORT ssize_t kvmi_session_recv(struct kvmi_session *s, const void *buf,
				      size_t len)
{
	const uint8_t *p = buf;
	size_t left = len;

	if (!s || (!buf && len))
		return -EINVAL;
	if (s->error && !s->draining)
		return s->error;
	if (s->error) {
		ssize_t r = salvage_events(s, p, left);

		if (r < 0)
			s->draining = false;
		return r < 0 ? r : (ssize_t)len;
	}
	while (left) {
		const struct kvmi_msg *m;
		ssize_t n;
		int err = 0;

		if (s->dec_switch)
			s->dec_switch = kvmi_decoder_set_dialect(
						s->dec, s->dialect) == -EBUSY;
		n = kvmi_decoder_feed(s->dec, p, left, &m);

		if (n < 0) {
			uint64_t off = 0;
			const char *why = kvmi_decoder_error(s->dec, &off);

			kvmi__sess_log(s, KVMI_LOG_ERROR,
				       "malformed message from the host: %s: "
				       "%s",
				       kvmi_err_name((int)n),
				       why ? why : kvmi_strerror((int)n));
			kvmi_session_fail(s, (int)n);
			return n;
		}
		p += n;
		left -= (size_t)n;
		if (!m)
			break;
		switch (m->kind) {
		case KVMI_MSG_EVENT:
			err = on_event(s, m);
			break;
		case KVMI_MSG_REPLY:
			err = on_reply(s, m);
			break;
		case KVMI_MSG_EVENT_REPLY_ERROR:
			kvmi__sess_log(s, KVMI_LOG_ERROR,
				       "host rejected the reply to event "
				       "seq=%u: %s",
				       m->hdr.seq,
				       kvmi_host_error_name(m->u.reply.host_err));
			err = KVMI_E_EVENT_REPLY_REJECTED;
			break;
		default:
			err = -EPROTO;
			break;
		}
		if (err) {
			kvmi_session_fail(s, err);
			(void)salvage_events(s, p, left);
			return err;
		}
	}
	return (ssize_t)len;
}

KVMI_EXPORT int kvmi_session_expire(struct kvmi_session *s, uint64_t now_ms)
{
	uint64_t d = kvmi_session_next_deadline(s);

	if (!s || d == UINT64_MAX || now_ms < d)
		return 0;
	kvmi__sess_log(s, KVMI_LOG_ERROR, "command timed out after %u ms",
		       s->cfg.command_timeout_ms);
	kvmi_session_fail(s, -ETIMEDOUT);
	return -ETIMEDOUT;
}

/* ---- deliveries ---- */

void kvmi__deliver(struct kvmi_session *s, struct kvmi__item *it,
		   enum kvmi__item_kind kind)
{
	it->kind = kind;
	it->next = NULL;
	it->prev = s->qtail;
	it->arrival = ++s->arrivals;
	it->queued = true;
	if (s->qtail)
		s->qtail->next = it;
	else
		s->qhead = it;
	s->qtail = it;
	if (kind == KVMI__ITEM_EVENT)
		s->queued_events++;
}

void kvmi__undeliver(struct kvmi_session *s, struct kvmi__item *it)
{
	if (!it->queued)
		return;
	if (it->prev)
		it->prev->next = it->next;
	else
		s->qhead = it->next;
	if (it->next)
		it->next->prev = it->prev;
	else
		s->qtail = it->prev;
	it->next = it->prev = NULL;
	it->queued = false;
	if (it->kind == KVMI__ITEM_EVENT)
		s->queued_events--;
}

static void deliver_one(struct kvmi_session *s, struct kvmi__item *it)
{
	switch (it->kind) {
	case KVMI__ITEM_EVENT:
		kvmi__event_dispatch(s, (struct kvmi_event_ctx *)it);
		break;
	case KVMI__ITEM_UNHOOK:
		kvmi__event_release(&s->unhook_ev);
		kvmi__sess_log(s, KVMI_LOG_INFO,
			       "KVMI_EVENT_UNHOOK: the host asks the tool to "
			       "unhook");
		if (s->cbs.unhook) {
			s->depth++;
			s->cbs.unhook(s, s->user);
			s->depth--;
		}
		break;
	case KVMI__ITEM_DONE: {
		struct kvmi__waiter *w = (struct kvmi__waiter *)it;

		s->depth++;
		w->cb(s, w);
		s->depth--;
		break;
	}
	}
}

/* the first item dispatch may deliver: before start-up finished only
 * command completions (events wait for the ready callback) */
static struct kvmi__item *next_item(struct kvmi_session *s, uint64_t last)
{
	struct kvmi__item *it = s->qhead;

	/* before start-up finished, and once the session failed, only
	 * command completions */
	if (!s->ready || s->error)
		while (it && it->kind != KVMI__ITEM_DONE)
			it = it->next;
	return it && it->arrival <= last ? it : NULL;
}

KVMI_EXPORT int kvmi_session_dispatch(struct kvmi_session *s)
{
	struct kvmi__item *it;
	uint64_t last;
	int n = 0;

	if (!s)
		return -EINVAL;
	if (s->depth)
		return -EBUSY;
	last = s->arrivals;
	while ((it = next_item(s, last)) != NULL) {
		kvmi__undeliver(s, it);
		deliver_one(s, it);
		n++;
	}
	return n;
}

void kvmi__sess_deliver_sync(struct kvmi_session *s)
{
	struct kvmi__item *it = s->qhead, *next;

	for (; it; it = next) {
		next = it->next;
		if (it->kind != KVMI__ITEM_DONE ||
		    !((struct kvmi__waiter *)it)->sync)
			continue;
		kvmi__undeliver(s, it);
		deliver_one(s, it);
		/* a sync completion only records a result: @next is intact */
	}
}

KVMI_EXPORT int kvmi_session_has_work(const struct kvmi_session *s)
{
	return s && next_item((struct kvmi_session *)s, s->arrivals) != NULL;
}
