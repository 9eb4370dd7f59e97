/*
 * libkvmi - session.c: a connection's protocol state without I/O.
 *
 * Bytes read from the host go in (kvmi__session_input): replies are
 * matched to outstanding commands by (id, seq), events are copied into
 * their vCPU's slot and queued for dispatch, protocol violations fail the
 * domain.  Bytes to send collect in the output buffer (kvmi__out_*).
 * Nothing here reads or writes a socket or calls a handler, so tests and
 * fuzzers can drive it with any byte stream.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "internal.h"

/* ---- outstanding commands ---- */

static size_t slot_of(const struct kvmi__pending_table *t, uint32_t seq)
{
	return (size_t)(seq * 2654435761u) & (t->cap - 1);
}

static int table_grow(struct kvmi__pending_table *t)
{
	size_t ncap = t->cap ? t->cap * 2 : 16;
	struct kvmi__pending *old = t->slots, *ns;
	size_t ocap = t->cap;

	ns = kvmi__calloc(ncap, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	t->slots = ns;
	t->cap = ncap;
	for (size_t i = 0; i < ocap; i++) {
		size_t j;

		if (!old[i].w)
			continue;
		j = slot_of(t, old[i].seq);
		while (ns[j].w)
			j = (j + 1) & (ncap - 1);
		ns[j] = old[i];
	}
	free(old);
	return 0;
}

int kvmi__pending_add(struct kvmi_dom *dom, uint16_t id, uint32_t seq,
		      bool optional, struct kvmi__waiter *w)
{
	struct kvmi__pending_table *t = &dom->pending;
	size_t j;

	if ((t->count + 1) * 2 > t->cap) {
		int err = table_grow(t);

		if (err)
			return err;
	}
	j = slot_of(t, seq);
	while (t->slots[j].w) {
		if (t->slots[j].seq == seq)
			return -EEXIST; /* 2^32 commands outstanding */
		j = (j + 1) & (t->cap - 1);
	}
	w->done = false;
	w->result = 0;
	w->out_len = 0;
	t->slots[j] = (struct kvmi__pending){
		.w = w, .seq = seq, .id = id, .optional = optional};
	t->count++;
	return 0;
}

/* remove slot j, shifting back the entries of its probe run */
static void table_remove_at(struct kvmi__pending_table *t, size_t j)
{
	size_t mask = t->cap - 1, i = j;

	t->slots[j].w = NULL;
	t->count--;
	for (;;) {
		size_t home;

		i = (i + 1) & mask;
		if (!t->slots[i].w)
			return;
		home = slot_of(t, t->slots[i].seq);
		/* can the entry at i move back to the hole at j? */
		if (((i - home) & mask) >= ((i - j) & mask)) {
			t->slots[j] = t->slots[i];
			t->slots[i].w = NULL;
			j = i;
		}
	}
}

static struct kvmi__pending *table_find(struct kvmi__pending_table *t,
					uint32_t seq, size_t *at)
{
	size_t j;

	if (!t->cap)
		return NULL;
	j = slot_of(t, seq);
	while (t->slots[j].w) {
		if (t->slots[j].seq == seq) {
			*at = j;
			return &t->slots[j];
		}
		j = (j + 1) & (t->cap - 1);
	}
	return NULL;
}

static void waiter_finish(struct kvmi_dom *dom, struct kvmi__waiter *w,
			  int result)
{
	w->result = result;
	w->done = true;
	if (w->cb)
		w->cb(dom, w);
}

void kvmi__pending_drop_waiter(struct kvmi_dom *dom, struct kvmi__waiter *w)
{
	struct kvmi__pending_table *t = &dom->pending;

	for (size_t j = 0; j < t->cap;) {
		if (t->slots[j].w == w)
			table_remove_at(t, j); /* re-check slot j */
		else
			j++;
	}
}

/*
 * Take every entry out of the table; entries for which @keep returns true
 * are put back, the others' waiters finish with @result.  O(n).
 */
static void table_sweep(struct kvmi_dom *dom,
			bool (*keep)(const struct kvmi__pending *, uint32_t),
			uint32_t arg, int result)
{
	struct kvmi__pending_table *t = &dom->pending;
	struct kvmi__pending *old = t->slots;
	size_t ocap = t->cap;
	struct kvmi__waiter **done;
	size_t ndone = 0;

	if (!t->count)
		return;
	done = kvmi__malloc(t->count * sizeof(*done));
	if (!done) {
		/* out of memory: finish in place, one at a time */
		for (size_t j = 0; j < t->cap;) {
			struct kvmi__waiter *w = t->slots[j].w;

			if (w && !keep(&t->slots[j], arg)) {
				table_remove_at(t, j);
				if (!w->done)
					waiter_finish(dom, w, result);
			} else {
				j++;
			}
		}
		return;
	}
	t->slots = NULL;
	t->cap = 0;
	t->count = 0;
	for (size_t i = 0; i < ocap; i++) {
		if (!old[i].w)
			continue;
		if (keep(&old[i], arg) &&
		    kvmi__pending_add(dom, old[i].id, old[i].seq,
				      old[i].optional, old[i].w) == 0)
			continue;
		done[ndone++] = old[i].w;
	}
	free(old);
	for (size_t i = 0; i < ndone; i++)
		if (!done[i]->done)
			waiter_finish(dom, done[i], result);
	free(done);
}

static bool keep_none(const struct kvmi__pending *p, uint32_t arg)
{
	(void)p;
	(void)arg;
	return false;
}

void kvmi__pending_fail_all(struct kvmi_dom *dom, int err)
{
	table_sweep(dom, keep_none, 0, err);
}

static bool keep_unless_optional_before(const struct kvmi__pending *p,
					uint32_t upto_seq)
{
	return !p->optional || (int32_t)(p->seq - upto_seq) > 0;
}

/*
 * The confirmation of a batch sent with replies disabled arrived: every
 * optional command before it that got no error reply succeeded.
 */
void kvmi__pending_finish_optional(struct kvmi_dom *dom, uint32_t upto_seq)
{
	table_sweep(dom, keep_unless_optional_before, upto_seq, 0);
}

void kvmi__pending_free(struct kvmi_dom *dom)
{
	free(dom->pending.slots);
	memset(&dom->pending, 0, sizeof(dom->pending));
}

/* ---- output buffer ---- */

int kvmi__out_reserve(struct kvmi_dom *dom, size_t n, uint8_t **where)
{
	if (dom->out_len + n > dom->out_cap) {
		size_t ncap = dom->out_cap ? dom->out_cap : 4096;
		uint8_t *nb;

		while (ncap < dom->out_len + n)
			ncap *= 2;
		nb = kvmi__realloc(dom->out, ncap);
		if (!nb)
			return -ENOMEM;
		dom->out = nb;
		dom->out_cap = ncap;
	}
	*where = dom->out + dom->out_len;
	return 0;
}

void kvmi__out_commit(struct kvmi_dom *dom, size_t n)
{
	dom->out_len += n;
}

/* ---- events ---- */

struct kvmi_event_ctx *kvmi__event_slot(struct kvmi_dom *dom, unsigned int vcpu,
				       bool create)
{
	if (vcpu >= dom->nslots) {
		unsigned int n = dom->nslots ? dom->nslots : 4;
		struct kvmi_event_ctx **ns;

		if (!create)
			return NULL;
		while (n <= vcpu)
			n *= 2;
		ns = kvmi__realloc(dom->slots, n * sizeof(*ns));
		if (!ns)
			return NULL;
		memset(ns + dom->nslots, 0, (n - dom->nslots) * sizeof(*ns));
		dom->slots = ns;
		dom->nslots = n;
	}
	if (!dom->slots[vcpu] && create) {
		dom->slots[vcpu] = kvmi__calloc(1, sizeof(struct kvmi_event_ctx));
		if (dom->slots[vcpu])
			dom->slots[vcpu]->dom = dom;
	}
	return dom->slots[vcpu];
}

static void enqueue(struct kvmi_dom *dom, struct kvmi_event_ctx *ev)
{
	ev->qnext = NULL;
	ev->state = KVMI__EV_QUEUED;
	ev->held = false;
	ev->arrival = ++dom->arrivals;
	if (dom->qtail)
		dom->qtail->qnext = ev;
	else
		dom->qhead = ev;
	dom->qtail = ev;
	dom->queued++;
}

/* take a queued event out of the dispatch queue (it is being replied to
 * before its handler ran) */
void kvmi__queue_unlink(struct kvmi_dom *dom, struct kvmi_event_ctx *ev)
{
	struct kvmi_event_ctx **pp, *prev = NULL;

	for (pp = &dom->qhead; *pp; prev = *pp, pp = &(*pp)->qnext) {
		if (*pp != ev)
			continue;
		*pp = ev->qnext;
		if (dom->qtail == ev)
			dom->qtail = prev;
		ev->qnext = NULL;
		dom->queued--;
		return;
	}
}

static int on_event(struct kvmi_dom *dom, const struct kvmi_msg *m)
{
	const struct kvmi_event *c = m->u.event.common;
	struct kvmi_event_ctx *ev;
	unsigned int max = dom->srv->cfg.max_vcpus;

	if (c->event == KVMI_EVENT_UNHOOK) {
		ev = &dom->unhook_ev;
		if (ev->state != KVMI__EV_FREE)
			return 0; /* already queued: once is enough */
	} else {
		if (c->vcpu >= max ||
		    (c->vcpu >= dom->vcpu_count &&
		     c->event != KVMI_EVENT_CREATE_VCPU)) {
			kvmi__log(dom->srv, dom, KVMI_LOG_ERROR,
				  "host sent %s seq=%u for vCPU %u, which does "
				  "not exist (%u known)",
				  kvmi_event_name(c->event), m->hdr.seq,
				  c->vcpu, dom->vcpu_count);
			return -EPROTO;
		}
		ev = kvmi__event_slot(dom, c->vcpu, true);
		if (!ev)
			return -ENOMEM;
		if (ev->state != KVMI__EV_FREE) {
			kvmi__log(dom->srv, dom, KVMI_LOG_ERROR,
				  "host sent %s seq=%u for vCPU %u while its "
				  "event seq=%u is not replied",
				  kvmi_event_name(c->event), m->hdr.seq,
				  c->vcpu, ev->seq);
			return -EPROTO;
		}
		if (c->event == KVMI_EVENT_CREATE_VCPU &&
		    c->vcpu >= dom->vcpu_count)
			dom->vcpu_count = c->vcpu + 1u;
	}
	ev->dom = dom;
	ev->seq = m->hdr.seq;
	ev->common = *c;
	ev->data = *m->u.event.data;
	enqueue(dom, ev);
	if (dom->queued > dom->srv->cfg.event_queue_max) {
		kvmi__log(dom->srv, dom, KVMI_LOG_ERROR,
			  "%zu events waiting for dispatch exceed the queue "
			  "bound %zu",
			  dom->queued, dom->srv->cfg.event_queue_max);
		return KVMI_E_QUEUE_FULL;
	}
	return 0;
}

static int on_reply(struct kvmi_dom *dom, const struct kvmi_msg *m)
{
	struct kvmi__pending *p;
	struct kvmi__waiter *w;
	size_t at;

	p = table_find(&dom->pending, m->hdr.seq, &at);
	if (!p || p->id != m->hdr.id) {
		kvmi__log(dom->srv, dom, KVMI_LOG_ERROR,
			  "reply %s seq=%u matches no outstanding command",
			  kvmi_msg_name(m->hdr.id), m->hdr.seq);
		return KVMI_E_UNEXPECTED_REPLY;
	}
	w = p->w;
	table_remove_at(&dom->pending, at);
	if (m->u.reply.err == 0 && w->out && m->u.reply.data_len) {
		size_t n = m->u.reply.data_len < w->out_cap ? m->u.reply.data_len
							    : w->out_cap;

		memcpy(w->out, m->u.reply.data, n);
	}
	w->out_len = m->u.reply.data_len;
	if (m->hdr.id == KVMI_CONTROL_CMD_RESPONSE && m->u.reply.err == 0)
		kvmi__pending_finish_optional(dom, m->hdr.seq);
	waiter_finish(dom, w, m->u.reply.err);
	return 0;
}

int kvmi__session_input(struct kvmi_dom *dom, const uint8_t *buf, size_t len)
{
	while (len && dom->state < KVMI__DOM_CLOSING) {
		const struct kvmi_msg *m;
		ssize_t n = kvmi_decoder_feed(dom->dec, buf, len, &m);
		int err = 0;

		if (n < 0) {
			uint64_t off = 0;
			const char *why = kvmi_decoder_error(dom->dec, &off);

			kvmi__log(dom->srv, dom, KVMI_LOG_ERROR,
				  "malformed message from the host: %s: %s",
				  kvmi_err_name((int)n),
				  why ? why : kvmi_strerror((int)n));
			return (int)n;
		}
		buf += n;
		len -= (size_t)n;
		if (!m)
			break;
		switch (m->kind) {
		case KVMI_MSG_EVENT:
			err = on_event(dom, m);
			break;
		case KVMI_MSG_REPLY:
			err = on_reply(dom, m);
			break;
		case KVMI_MSG_EVENT_REPLY_ERROR:
			kvmi__log(dom->srv, dom, KVMI_LOG_ERROR,
				  "host rejected the reply to event seq=%u: %s",
				  m->hdr.seq,
				  kvmi_host_error_name(m->u.reply.host_err));
			err = KVMI_E_EVENT_REPLY_REJECTED;
			break;
		default:
			err = -EPROTO;
			break;
		}
		if (err)
			return err;
	}
	return 0;
}
