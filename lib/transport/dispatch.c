/*
 * libkvmi - dispatch.c: event handler chains (registration, removal,
 * dispatch order) and what a domain does with an event or an UNHOOK the
 * session delivers: extensions first, then the domain's handlers, then
 * the server's, until one consumes it; the default reply otherwise.
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
	h->has_handle = out != NULL;
	h->head = &slots[slot];
	h->next = slots[slot]; /* newest first */
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

int kvmi__server_on_unhook_owned(struct kvmi_server *srv, kvmi_unhook_cb cb,
				 void *ctx, void (*ctx_free)(void *))
{
	struct kvmi_handler *h;
	int err = add_handler(srv->handlers, KVMI__UNHOOK_SLOT, NULL, cb, ctx,
			      &h);

	if (err)
		return err;
	h->has_handle = false; /* goes with the server */
	h->ctx_free = ctx_free;
	return 0;
}

KVMI_EXPORT int kvmi_dom_on_unhook(struct kvmi_dom *dom, kvmi_unhook_cb cb,
				   void *ctx, struct kvmi_handler **out)
{
	if (!dom || !cb)
		return -EINVAL;
	return add_handler(dom->handlers, KVMI__UNHOOK_SLOT, NULL, cb, ctx, out);
}

static void handler_free(struct kvmi_handler *h)
{
	if (h->ctx_free)
		h->ctx_free(h->ctx);
	free(h);
}

static void unlink_handler(struct kvmi_handler *h)
{
	struct kvmi_handler **pp;

	if (!h->head)
		return;
	for (pp = h->head; *pp; pp = &(*pp)->next) {
		if (*pp == h) {
			*pp = h->next;
			break;
		}
	}
	h->head = NULL;
	h->next = NULL;
}

KVMI_EXPORT void kvmi_handler_remove(struct kvmi_handler *h)
{
	if (!h || h->removed)
		return;
	unlink_handler(h);
	h->removed = true;
	if (!h->busy)
		handler_free(h); /* else the dispatch running it does */
}

void kvmi__handlers_free(struct kvmi_handler **slots)
{
	for (unsigned int i = 0; i < KVMI__HANDLER_SLOTS; i++) {
		while (slots[i]) {
			struct kvmi_handler *h = slots[i];

			slots[i] = h->next;
			h->head = NULL;
			h->next = NULL;
			/* a handle the tool holds stays valid: removing it
			 * later frees it */
			if (!h->has_handle)
				handler_free(h);
		}
	}
}

/* ---- the chain of one event id ---- */

#define CHAIN_MAX 32

/* the handlers to run for @slot, domain's first then the server's, each
 * list newest first; pinned (busy) so removal during dispatch is safe */
static size_t chain_take(struct kvmi_dom *dom, unsigned int slot,
			 struct kvmi_handler **out)
{
	struct kvmi_handler *lists[2] = {dom->handlers[slot],
					 dom->srv->handlers[slot]};
	size_t n = 0;

	for (int l = 0; l < 2; l++)
		for (struct kvmi_handler *h = lists[l]; h && n < CHAIN_MAX;
		     h = h->next) {
			h->busy++;
			out[n++] = h;
		}
	return n;
}

static void chain_release(struct kvmi_handler **hs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (--hs[i]->busy == 0 && hs[i]->removed)
			handler_free(hs[i]);
}

static bool consumed(const struct kvmi_event_ctx *ev)
{
	return ev->state != KVMI__EV_DISPATCHED || ev->held;
}

void kvmi__dom_on_event(struct kvmi_session *s, struct kvmi_event_ctx *ev,
			void *user)
{
	struct kvmi_dom *dom = user;
	unsigned int id = ev->common.event;
	struct kvmi_handler *hs[CHAIN_MAX];
	size_t n, i;

	(void)s;
	kvmi_dom_ref(dom);
	for (struct kvmi__ext *e = dom->exts; e && !consumed(ev); e = e->next)
		if (e->ops->observe)
			e->ops->observe(dom, ev, e->state);
	if (consumed(ev) || !kvmi__dom_usable(dom))
		goto out;
	n = chain_take(dom, id, hs);
	dom->depth++;
	for (i = 0; i < n && !consumed(ev) && kvmi__dom_usable(dom); i++)
		if (!hs[i]->removed)
			hs[i]->cb(dom, ev, hs[i]->ctx);
	dom->depth--;
	chain_release(hs, n);
	if (consumed(ev) || !kvmi__dom_usable(dom))
		goto out;
	if (n) {
		kvmi__log(dom->srv, dom, KVMI_LOG_WARNING,
			  "handlers of %s seq=%u returned without a reply: "
			  "replying CONTINUE",
			  kvmi_event_name(id), ev->seq);
	} else if (!ev->default_ok && !(dom->sess->warned & (1u << id))) {
		/* (an event a library layer expects to go by default, the
		 * guest's own INT3, is not worth a warning) */
		dom->sess->warned |= 1u << id;
		kvmi__log(dom->srv, dom, KVMI_LOG_WARNING,
			  "no handler for %s: replying CONTINUE (warned once)",
			  kvmi_event_name(id));
	}
	kvmi__event_reply(ev, KVMI_EVENT_ACTION_CONTINUE, NULL, 0);
out:
	kvmi_dom_unref(dom);
}

void kvmi__dom_on_unhook(struct kvmi_session *s, void *user)
{
	struct kvmi_dom *dom = user;
	struct kvmi_handler *hs[CHAIN_MAX];
	size_t n;

	(void)s;
	kvmi_dom_ref(dom);
	n = chain_take(dom, KVMI__UNHOOK_SLOT, hs);
	if (!n)
		kvmi__log(dom->srv, dom, KVMI_LOG_INFO,
			  "no unhook handler registered");
	/* the newest handler answers the UNHOOK: it is not an event one
	 * can pass on (nothing to reply), and two unhooks would race */
	dom->depth++;
	for (size_t i = 0; i < n; i++)
		if (!hs[i]->removed) {
			hs[i]->unhook_cb(dom, hs[i]->ctx);
			break;
		}
	dom->depth--;
	chain_release(hs, n);
	kvmi_dom_unref(dom);
}

/* ---- the event, from the domain's side ---- */

KVMI_EXPORT struct kvmi_dom *kvmi_event_dom(const struct kvmi_event_ctx *ev)
{
	return ev ? kvmi_session_user(ev->sess) : NULL;
}

KVMI_EXPORT size_t kvmi_dom_held_events(struct kvmi_dom *dom,
					struct kvmi_event_ctx **out,
					size_t max)
{
	return dom ? kvmi_session_open_events(dom->sess, out, max) : 0;
}

KVMI_EXPORT struct kvmi_session *kvmi_dom_session(const struct kvmi_dom *dom)
{
	return dom ? dom->sess : NULL;
}
