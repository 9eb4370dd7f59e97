/*
 * libkvmi - events.c: a session's events: one slot per vCPU, the reply
 * API with its exactly-one-reply rule, dispatch of one event to the
 * session's event callback followed by the default reply when the
 * callback gave none.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "session_int.h"

int kvmi__event_to_wire(const struct kvmi_session *s, unsigned int id)
{
	int w = kvmi_dialect_event_to_wire(s->dialect, id);

	return w < 0 ? (int)id : w; /* none: let the encoder refuse it */
}

int kvmi__event_from_wire(const struct kvmi_session *s, unsigned int id)
{
	int c = kvmi_dialect_event_from_wire(s->dialect, id);

	return c < 0 ? (int)id : c;
}

struct kvmi_event_ctx *kvmi__event_slot(struct kvmi_session *s,
				       unsigned int vcpu, bool create)
{
	if (vcpu >= s->nslots) {
		unsigned int n = s->nslots ? s->nslots : 4;
		struct kvmi_event_ctx **ns;

		if (!create)
			return NULL;
		while (n <= vcpu)
			n *= 2;
		ns = kvmi__realloc(s->slots, n * sizeof(*ns));
		if (!ns)
			return NULL;
		memset(ns + s->nslots, 0, (n - s->nslots) * sizeof(*ns));
		s->slots = ns;
		s->nslots = n;
	}
	if (!s->slots[vcpu] && create) {
		s->slots[vcpu] = kvmi__calloc(1, sizeof(struct kvmi_event_ctx));
		if (s->slots[vcpu])
			s->slots[vcpu]->sess = s;
	}
	return s->slots[vcpu];
}

void kvmi__events_free(struct kvmi_session *s)
{
	for (unsigned int i = 0; i < s->nslots; i++)
		free(s->slots[i]);
	free(s->slots);
	s->slots = NULL;
	s->nslots = 0;
}

void kvmi__event_claim(struct kvmi_event_ctx *ev)
{
	if (ev->state == KVMI__EV_QUEUED) {
		kvmi__undeliver(ev->sess, &ev->item);
		ev->state = KVMI__EV_DISPATCHED;
	}
}

void kvmi__event_release(struct kvmi_event_ctx *ev)
{
	if (ev->item.queued)
		kvmi__undeliver(ev->sess, &ev->item);
	ev->state = KVMI__EV_FREE;
	ev->held = false;
}

/* encode the reply for @ev (tail = event-specific reply struct) */
int kvmi__event_encode_reply(struct kvmi_event_ctx *ev, uint8_t *buf,
			     size_t cap, uint8_t action, const void *tail,
			     size_t tlen)
{
	enum kvmi_dialect d = ev->sess->dialect;
	uint16_t vcpu = ev->common.vcpu;

	(void)tlen;
	switch (ev->common.event) {
	case KVMI_EVENT_CR: {
		uint64_t v = ev->data.cr.new_value;

		if (tail)
			memcpy(&v, tail, sizeof(v));
		return kvmi_encode_event_reply_cr_d(d, buf, cap, ev->seq, vcpu,
						    action, v);
	}
	case KVMI_EVENT_MSR: {
		uint64_t v = ev->data.msr.new_value;

		if (tail)
			memcpy(&v, tail, sizeof(v));
		return kvmi_encode_event_reply_msr_d(d, buf, cap, ev->seq, vcpu,
						     action, v);
	}
	case KVMI_EVENT_PF:
		return kvmi_encode_event_reply_pf_d(d, buf, cap, ev->seq, vcpu,
						    action, tail);
	default:
		return kvmi_encode_event_reply_d(
			d, buf, cap, ev->seq, vcpu,
			(uint8_t)kvmi__event_to_wire(ev->sess, ev->common.event),
			action);
	}
}

#define REPLY_MAX (8 + 16 + sizeof(struct kvmi_event_pf_reply))

int kvmi__event_reply(struct kvmi_event_ctx *ev, uint8_t action,
		      const void *tail, size_t tlen)
{
	struct kvmi_session *s = ev->sess;
	uint8_t *where;
	int n, err;

	if (ev == &s->unhook_ev)
		return -EINVAL; /* KVMI_EVENT_UNHOOK is never replied to */
	if (!kvmi__event_open(ev))
		return KVMI_E_ALREADY_REPLIED;
	if (s->error)
		return -ENOTCONN;
	err = kvmi__out_reserve(s, REPLY_MAX, &where);
	if (err)
		return err;
	n = kvmi__event_encode_reply(ev, where, REPLY_MAX, action, tail, tlen);
	if (n < 0)
		return n;
	kvmi__out_commit(s, (size_t)n);
	kvmi__event_release(ev);
	kvmi__sess_wake(s);
	return 0;
}

void kvmi__event_dispatch(struct kvmi_session *s, struct kvmi_event_ctx *ev)
{
	unsigned int id = ev->common.event;

	ev->state = KVMI__EV_DISPATCHED;
	if (s->cbs.event) {
		s->depth++;
		s->cbs.event(s, ev, s->user);
		s->depth--;
	} else if (!(s->warned & (1u << id))) {
		s->warned |= 1u << id;
		kvmi__sess_log(s, KVMI_LOG_WARNING,
			       "no handler for %s: replying CONTINUE (warned "
			       "once)",
			       kvmi_event_name(id));
	}
	if (ev->state == KVMI__EV_DISPATCHED && !ev->held && !s->error) {
		if (s->cbs.event)
			kvmi__sess_log(s, KVMI_LOG_WARNING,
				       "handler of %s seq=%u returned without "
				       "a reply: replying CONTINUE",
				       kvmi_event_name(id), ev->seq);
		kvmi__event_reply(ev, KVMI_EVENT_ACTION_CONTINUE, NULL, 0);
	}
}

size_t kvmi__events_answer_queued(struct kvmi_session *s)
{
	size_t n = 0;

	for (unsigned int v = 0; v < s->nslots; v++) {
		struct kvmi_event_ctx *ev = s->slots[v];

		if (!ev || ev->state != KVMI__EV_QUEUED)
			continue;
		if (kvmi__event_reply(ev, KVMI_EVENT_ACTION_CONTINUE, NULL, 0))
			kvmi__event_release(ev);
		n++;
	}
	if (s->unhook_ev.state != KVMI__EV_FREE)
		kvmi__event_release(&s->unhook_ev);
	return n;
}

/* ---- the public event API ---- */

KVMI_EXPORT uint32_t kvmi_event_seq(const struct kvmi_event_ctx *ev)
{
	return ev ? ev->seq : 0;
}

KVMI_EXPORT unsigned int kvmi_event_id(const struct kvmi_event_ctx *ev)
{
	return ev ? ev->common.event : 0;
}

KVMI_EXPORT unsigned int kvmi_event_vcpu(const struct kvmi_event_ctx *ev)
{
	return ev ? ev->common.vcpu : 0;
}

KVMI_EXPORT struct kvmi_session *
kvmi_event_session(const struct kvmi_event_ctx *ev)
{
	return ev ? ev->sess : NULL;
}

KVMI_EXPORT const struct kvmi_event *
kvmi_event_common(const struct kvmi_event_ctx *ev)
{
	return ev ? &ev->common : NULL;
}

KVMI_EXPORT const union kvmi_event_data *
kvmi_event_data(const struct kvmi_event_ctx *ev)
{
	return ev ? &ev->data : NULL;
}

KVMI_EXPORT int kvmi_event_replied(const struct kvmi_event_ctx *ev)
{
	return !ev || ev->state == KVMI__EV_FREE;
}

KVMI_EXPORT void kvmi_event_hold(struct kvmi_event_ctx *ev)
{
	if (ev && ev->state == KVMI__EV_DISPATCHED)
		ev->held = true;
}

KVMI_EXPORT int kvmi_event_reply(struct kvmi_event_ctx *ev, uint8_t action)
{
	if (!ev)
		return -EINVAL;
	return kvmi__event_reply(ev, action, NULL, 0);
}

KVMI_EXPORT int kvmi_event_reply_cr(struct kvmi_event_ctx *ev, uint8_t action,
				    uint64_t new_val)
{
	if (!ev || ev->common.event != KVMI_EVENT_CR)
		return -EINVAL;
	return kvmi__event_reply(ev, action, &new_val, sizeof(new_val));
}

KVMI_EXPORT int kvmi_event_reply_msr(struct kvmi_event_ctx *ev,
				     uint8_t action, uint64_t new_val)
{
	if (!ev || ev->common.event != KVMI_EVENT_MSR)
		return -EINVAL;
	return kvmi__event_reply(ev, action, &new_val, sizeof(new_val));
}

KVMI_EXPORT int kvmi_event_reply_pf(struct kvmi_event_ctx *ev, uint8_t action,
				    const struct kvmi_event_pf_reply *pf)
{
	if (!ev || ev->common.event != KVMI_EVENT_PF)
		return -EINVAL;
	return kvmi__event_reply(ev, action, pf, pf ? sizeof(*pf) : 0);
}

KVMI_EXPORT size_t kvmi_session_open_events(struct kvmi_session *s,
					    struct kvmi_event_ctx **out,
					    size_t max)
{
	size_t n = 0;

	if (!s)
		return 0;
	for (unsigned int v = 0; v < s->nslots; v++) {
		struct kvmi_event_ctx *ev = s->slots[v];
		size_t i;

		if (!ev || !kvmi__event_open(ev))
			continue;
		/* insertion by arrival order into the first @max */
		if (out) {
			for (i = n < max ? n : max; i > 0; i--) {
				if (out[i - 1]->item.arrival < ev->item.arrival)
					break;
				if (i < max)
					out[i] = out[i - 1];
			}
			if (i < max)
				out[i] = ev;
		}
		n++;
	}
	return n;
}
