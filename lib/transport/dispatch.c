/*
 * libkvmi - dispatch.c: event handlers (registration, lookup, dispatch)
 * and the event reply API with its exactly-one-reply rule.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "internal.h"

/* ---- registrations ---- */

static int add_handler(struct kvmi_handler **slots, unsigned int slot,
		       kvmi_event_cb cb, kvmi_unhook_cb ucb, void *ctx,
		       struct kvmi_handler **out)
{
	struct kvmi_handler *h = kvmi__calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	h->event_id = slot;
	h->cb = cb;
	h->unhook_cb = ucb;
	h->ctx = ctx;
	h->head = &slots[slot];
	h->next = slots[slot]; /* newest first: the newest wins */
	slots[slot] = h;
	if (out)
		*out = h;
	return 0;
}

static int event_slot_ok(unsigned int event_id)
{
	return event_id > KVMI_EVENT_UNHOOK && event_id < KVMI_NUM_EVENTS;
}

KVMI_EXPORT int kvmi_server_on_event(struct kvmi_server *srv,
				     unsigned int event_id, kvmi_event_cb cb,
				     void *ctx, struct kvmi_handler **out)
{
	if (!srv || !cb || !event_slot_ok(event_id))
		return -EINVAL;
	return add_handler(srv->handlers, event_id, cb, NULL, ctx, out);
}

KVMI_EXPORT int kvmi_dom_on_event(struct kvmi_dom *dom, unsigned int event_id,
				  kvmi_event_cb cb, void *ctx,
				  struct kvmi_handler **out)
{
	if (!dom || !cb || !event_slot_ok(event_id))
		return -EINVAL;
	return add_handler(dom->handlers, event_id, cb, NULL, ctx, out);
}

KVMI_EXPORT int kvmi_server_on_unhook(struct kvmi_server *srv,
				      kvmi_unhook_cb cb, void *ctx,
				      struct kvmi_handler **out)
{
	if (!srv || !cb)
		return -EINVAL;
	return add_handler(srv->handlers, KVMI__UNHOOK_SLOT, NULL, cb, ctx, out);
}

KVMI_EXPORT int kvmi_dom_on_unhook(struct kvmi_dom *dom, kvmi_unhook_cb cb,
				   void *ctx, struct kvmi_handler **out)
{
	if (!dom || !cb)
		return -EINVAL;
	return add_handler(dom->handlers, KVMI__UNHOOK_SLOT, NULL, cb, ctx, out);
}

KVMI_EXPORT void kvmi_handler_remove(struct kvmi_handler *h)
{
	struct kvmi_handler **pp;

	if (!h || !h->head)
		return;
	for (pp = h->head; *pp; pp = &(*pp)->next) {
		if (*pp == h) {
			*pp = h->next;
			break;
		}
	}
	/* a dispatch in progress may still hold it: it only reads cb/ctx,
	 * which stay valid; freeing is safe because dispatch copies them
	 * before calling */
	free(h);
}

void kvmi__handlers_free(struct kvmi_handler **slots)
{
	for (unsigned int i = 0; i < KVMI__HANDLER_SLOTS; i++) {
		while (slots[i]) {
			struct kvmi_handler *h = slots[i];

			slots[i] = h->next;
			free(h);
		}
	}
}

static struct kvmi_handler *lookup(struct kvmi_dom *dom, unsigned int slot)
{
	return dom->handlers[slot] ? dom->handlers[slot]
				   : dom->srv->handlers[slot];
}

/* ---- the event ---- */

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

KVMI_EXPORT struct kvmi_dom *kvmi_event_dom(const struct kvmi_event_ctx *ev)
{
	return ev ? ev->dom : NULL;
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

void kvmi__event_claim(struct kvmi_event_ctx *ev)
{
	if (ev->state == KVMI__EV_QUEUED) {
		kvmi__queue_unlink(ev->dom, ev);
		ev->state = KVMI__EV_DISPATCHED;
	}
}

void kvmi__event_release(struct kvmi_event_ctx *ev)
{
	ev->state = KVMI__EV_FREE;
	ev->held = false;
}

/* encode the reply for @ev (tail = event-specific reply struct) */
int kvmi__event_encode_reply(struct kvmi_event_ctx *ev, uint8_t *buf,
			     size_t cap, uint8_t action, const void *tail,
			     size_t tlen)
{
	uint16_t vcpu = ev->common.vcpu;

	switch (ev->common.event) {
	case KVMI_EVENT_CR: {
		uint64_t v = ev->data.cr.new_value;

		if (tail)
			memcpy(&v, tail, sizeof(v));
		return kvmi_encode_event_reply_cr(buf, cap, ev->seq, vcpu,
						  action, v);
	}
	case KVMI_EVENT_MSR: {
		uint64_t v = ev->data.msr.new_value;

		if (tail)
			memcpy(&v, tail, sizeof(v));
		return kvmi_encode_event_reply_msr(buf, cap, ev->seq, vcpu,
						   action, v);
	}
	case KVMI_EVENT_PF:
		return kvmi_encode_event_reply_pf(buf, cap, ev->seq, vcpu,
						  action, tail);
	default:
		(void)tlen;
		return kvmi_encode_event_reply(buf, cap, ev->seq, vcpu,
					       ev->common.event, action);
	}
}

static int reply_common(struct kvmi_event_ctx *ev, uint8_t action,
			const void *tail, size_t tlen)
{
	struct kvmi_dom *dom;
	uint8_t *where;
	int n, err;

	if (!ev)
		return -EINVAL;
	dom = ev->dom;
	if (ev == &dom->unhook_ev)
		return -EINVAL; /* KVMI_EVENT_UNHOOK is never replied to */
	if (!kvmi__event_open(ev))
		return KVMI_E_ALREADY_REPLIED;
	if (!kvmi__dom_usable(dom))
		return -ENOTCONN;
	err = kvmi__out_reserve(dom, 8 + 16 + sizeof(struct kvmi_event_pf_reply),
				&where);
	if (err)
		return err;
	n = kvmi__event_encode_reply(ev, where,
				     8 + 16 + sizeof(struct kvmi_event_pf_reply),
				     action, tail, tlen);
	if (n < 0)
		return n;
	kvmi__out_commit(dom, (size_t)n);
	kvmi__event_claim(ev);
	kvmi__event_release(ev);
	if (!dom->in_input && dom->depth == 0)
		kvmi__dom_flush(dom, false);
	return 0;
}

KVMI_EXPORT int kvmi_event_reply(struct kvmi_event_ctx *ev, uint8_t action)
{
	return reply_common(ev, action, NULL, 0);
}

KVMI_EXPORT int kvmi_event_reply_cr(struct kvmi_event_ctx *ev, uint8_t action,
				    uint64_t new_val)
{
	if (!ev || ev->common.event != KVMI_EVENT_CR)
		return -EINVAL;
	return reply_common(ev, action, &new_val, sizeof(new_val));
}

KVMI_EXPORT int kvmi_event_reply_msr(struct kvmi_event_ctx *ev,
				     uint8_t action, uint64_t new_val)
{
	if (!ev || ev->common.event != KVMI_EVENT_MSR)
		return -EINVAL;
	return reply_common(ev, action, &new_val, sizeof(new_val));
}

KVMI_EXPORT int kvmi_event_reply_pf(struct kvmi_event_ctx *ev, uint8_t action,
				    const struct kvmi_event_pf_reply *pf)
{
	if (!ev || ev->common.event != KVMI_EVENT_PF)
		return -EINVAL;
	return reply_common(ev, action, pf, pf ? sizeof(*pf) : 0);
}

KVMI_EXPORT size_t kvmi_dom_held_events(struct kvmi_dom *dom,
					struct kvmi_event_ctx **out,
					size_t max)
{
	size_t n = 0;

	if (!dom)
		return 0;
	for (unsigned int v = 0; v < dom->nslots; v++) {
		struct kvmi_event_ctx *ev = dom->slots[v];
		size_t i;

		if (!ev || !kvmi__event_open(ev))
			continue;
		/* insertion by arrival order into the first @max */
		if (out) {
			for (i = n < max ? n : max; i > 0; i--) {
				if (out[i - 1]->arrival < ev->arrival)
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

/* ---- dispatch ---- */

void kvmi__dispatch_event(struct kvmi_dom *dom, struct kvmi_event_ctx *ev)
{
	unsigned int id = ev->common.event;
	struct kvmi_handler *h = lookup(dom, id);

	ev->state = KVMI__EV_DISPATCHED;
	if (dom->hooks)
		kvmi__hooks_observe(dom, ev); /* re-arms breakpoints */
	if (h) {
		kvmi_event_cb cb = h->cb;
		void *ctx = h->ctx;

		cb(dom, ev, ctx);
	} else if (!(dom->warned & (1u << id))) {
		dom->warned |= 1u << id;
		kvmi__log(dom->srv, dom, KVMI_LOG_WARNING,
			  "no handler for %s: replying CONTINUE (warned once)",
			  kvmi_event_name(id));
	}
	if (ev->state == KVMI__EV_DISPATCHED && !ev->held &&
	    kvmi__dom_usable(dom)) {
		if (h)
			kvmi__log(dom->srv, dom, KVMI_LOG_WARNING,
				  "handler of %s seq=%u returned without a "
				  "reply: replying CONTINUE",
				  kvmi_event_name(id), ev->seq);
		kvmi_event_reply(ev, KVMI_EVENT_ACTION_CONTINUE);
	}
}

void kvmi__dispatch_unhook(struct kvmi_dom *dom)
{
	struct kvmi_handler *h = lookup(dom, KVMI__UNHOOK_SLOT);

	kvmi__event_release(&dom->unhook_ev);
	kvmi__log(dom->srv, dom, KVMI_LOG_INFO,
		  "KVMI_EVENT_UNHOOK: the host asks the tool to unhook%s",
		  h ? "" : " (no unhook handler registered)");
	if (h) {
		kvmi_unhook_cb cb = h->unhook_cb;
		void *ctx = h->ctx;

		cb(dom, ctx);
	}
}
