/*
 * libkvmi - batch.c: pipelined batches of commands and event replies,
 * written in as few writes as the socket takes, with every reply collected
 * or with replies disabled (KVMI_CONTROL_CMD_RESPONSE) and one
 * confirmation at the end; sent asynchronously (kvmi_pipeline_send: a
 * callback when the last reply is in) or waited for (kvmi_pipeline_commit).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "internal.h"

enum item_kind {
	ITEM_COMMAND,
	ITEM_EVENT_REPLY,
};

struct item {
	struct kvmi__waiter w; /* first: the waiter is the item */
	struct kvmi_pipeline *b;
	enum item_kind kind;
	bool wants_data; /* a command that returns data */
	uint16_t id;
	uint32_t seq;
	struct kvmi_event_ctx *ev;
	size_t expect_len; /* reply data expected (reads) */
};

struct kvmi_pipeline {
	struct kvmi_dom *dom;
	unsigned int flags;
	bool committed;
	bool free_after; /* sent with kvmi_pipeline_send: ours to free */
	bool in_sync;	 /* delivered during synchronous waits */
	struct item *items;
	size_t n, cap;
	uint8_t *buf; /* the encoded messages, in order */
	size_t len, bcap;
	size_t writes, writes0;
	size_t left; /* waiters not finished */
	int result;
	struct kvmi__waiter confirm; /* replies disabled: the confirmation */
	struct kvmi__waiter fin;     /* an empty batch's completion */
	kvmi_dom_cmd_cb cb;
	void *ctx;
};

KVMI_EXPORT int kvmi_pipeline_new(struct kvmi_dom *dom, unsigned int flags,
				  struct kvmi_pipeline **out)
{
	struct kvmi_pipeline *b;

	if (!dom || !out || (flags & ~KVMI_PIPELINE_NO_REPLIES))
		return -EINVAL;
	b = kvmi__calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->dom = dom;
	b->flags = flags;
	kvmi_dom_ref(dom);
	*out = b;
	return 0;
}

KVMI_EXPORT void kvmi_pipeline_free(struct kvmi_pipeline *b)
{
	if (!b)
		return;
	/* replies queued but never sent: the events are still owed one */
	for (size_t i = 0; i < b->n; i++)
		if (b->items[i].kind == ITEM_EVENT_REPLY && !b->committed &&
		    b->items[i].ev->state == KVMI__EV_BATCHED)
			b->items[i].ev->state = KVMI__EV_DISPATCHED;
	if (b->committed)
		for (size_t i = 0; i < b->n; i++)
			kvmi__waiter_drop(b->dom->sess, &b->items[i].w);
	kvmi__waiter_drop(b->dom->sess, &b->confirm);
	kvmi__waiter_drop(b->dom->sess, &b->fin);
	kvmi_dom_unref(b->dom);
	free(b->items);
	free(b->buf);
	free(b);
}

KVMI_EXPORT struct kvmi_dom *kvmi_pipeline_dom(const struct kvmi_pipeline *b)
{
	return b ? b->dom : NULL;
}

KVMI_EXPORT size_t kvmi_pipeline_count(const struct kvmi_pipeline *b)
{
	return b ? b->n : 0;
}

KVMI_EXPORT size_t kvmi_pipeline_writes(const struct kvmi_pipeline *b)
{
	return b ? b->writes : 0;
}

KVMI_EXPORT int kvmi_pipeline_result(const struct kvmi_pipeline *b, size_t i)
{
	if (!b || i >= b->n)
		return -EINVAL;
	if (!b->committed)
		return -EAGAIN;
	return b->items[i].w.result;
}

/* room for one more message and one more item */
static int grow(struct kvmi_pipeline *b, uint8_t **where)
{
	if (b->committed)
		return -EBUSY;
	if (b->n == b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 16;
		struct item *ni = kvmi__realloc(b->items, nc * sizeof(*ni));

		if (!ni)
			return -ENOMEM;
		b->items = ni;
		b->cap = nc;
	}
	if (b->len + KVMI_ENCODE_MAX > b->bcap) {
		size_t nc = b->bcap ? b->bcap * 2 : 4 * KVMI_ENCODE_MAX;
		uint8_t *nb;

		while (nc < b->len + KVMI_ENCODE_MAX)
			nc *= 2;
		nb = kvmi__realloc(b->buf, nc);
		if (!nb)
			return -ENOMEM;
		b->buf = nb;
		b->bcap = nc;
	}
	*where = b->buf + b->len;
	return 0;
}

/* record the message just encoded at the end of buf (length @len) */
static int add(struct kvmi_pipeline *b, int len, void *out, size_t out_cap,
	       bool wants_data)
{
	struct item *it;
	struct kvmi_msg_hdr hdr;

	if (len < 0)
		return len;
	if (wants_data && (b->flags & KVMI_PIPELINE_NO_REPLIES))
		return -EINVAL;
	memcpy(&hdr, b->buf + b->len, sizeof(hdr));
	it = &b->items[b->n];
	memset(it, 0, sizeof(*it));
	it->kind = ITEM_COMMAND;
	it->id = hdr.id;
	it->seq = hdr.seq;
	it->wants_data = wants_data;
	it->w.out = out;
	it->w.out_cap = out_cap;
	it->expect_len = out_cap;
	b->len += (size_t)len;
	return (int)b->n++;
}

/* GET_PAGE_ACCESS exists in v6 only (kvmi-v7 and v12 dropped it) */
static int encode_get_page_access(enum kvmi_dialect d, void *buf,
					size_t cap, uint32_t seq,
					const uint64_t *gpas, size_t n)
{
	if (d != KVMI_DIALECT_V6)
		return -EOPNOTSUPP;
	return kvmi_encode_get_page_access(buf, cap, seq, 0, gpas, n);
}

#define SEQ (kvmi_seq_next(&b->dom->sess->seq))
#define DIALECT (b->dom->sess->dialect)
#define EVENT_WIRE(id) ((uint16_t)kvmi__event_to_wire(b->dom->sess, (id)))
#define MAXM KVMI_ENCODE_MAX

/* physical access split per 4 KiB page: one item per page; a write when
 * @wbuf is set, a read into @rbuf otherwise */
static int add_physical(struct kvmi_pipeline *b, uint64_t gpa, const void *wbuf,
			void *rbuf, size_t len)
{
	const uint8_t *wp = wbuf;
	uint8_t *rp = rbuf;
	int first = -1;

	if (!b || (!wbuf && !rbuf) || !len || gpa + len < gpa)
		return -EINVAL;
	if (rbuf && (b->flags & KVMI_PIPELINE_NO_REPLIES))
		return -EINVAL;
	while (len) {
		size_t in_page = KVMI_PAGE_SIZE - (gpa & (KVMI_PAGE_SIZE - 1));
		size_t n = len < in_page ? len : in_page;
		uint8_t *where;
		int r = grow(b, &where);

		if (!r)
			r = wp ? add(b, kvmi_encode_write_physical_d(DIALECT, where, MAXM,
								   SEQ, gpa, wp,
								   n),
				     NULL, 0, false)
			       : add(b, kvmi_encode_read_physical_d(DIALECT, where, MAXM,
								  SEQ, gpa, n),
				     rp, n, true);
		if (r < 0)
			return r; /* earlier pages stay queued */
		if (first < 0)
			first = r;
		gpa += n;
		len -= n;
		if (wp)
			wp += n;
		else
			rp += n;
	}
	return first;
}

KVMI_EXPORT int kvmi_pipeline_write_physical(struct kvmi_pipeline *b,
					     uint64_t gpa, const void *buf,
					     size_t len)
{
	if (!buf)
		return -EINVAL;
	return add_physical(b, gpa, buf, NULL, len);
}

KVMI_EXPORT int kvmi_pipeline_read_physical(struct kvmi_pipeline *b,
					    uint64_t gpa, void *out, size_t len)
{
	if (!out)
		return -EINVAL;
	return add_physical(b, gpa, NULL, out, len);
}

int kvmi__pipeline_reserve(struct kvmi_pipeline *b, uint8_t **where)
{
	return grow(b, where);
}

int kvmi__pipeline_add(struct kvmi_pipeline *b, int len)
{
	return add(b, len, NULL, 0, false);
}

int kvmi__pipeline_add_reply(struct kvmi_pipeline *b, int len, void *out,
			     size_t cap)
{
	return add(b, len, out, cap, true);
}

KVMI_EXPORT int
kvmi_pipeline_set_page_access(struct kvmi_pipeline *b,
			      const struct kvmi_page_access_entry *entries,
			      size_t count)
{
	return kvmi__pipeline_set_page_access_view(b, 0, entries, count);
}

int kvmi__pipeline_set_page_access_view(
	struct kvmi_pipeline *b, uint16_t view,
	const struct kvmi_page_access_entry *entries, size_t count)
{
	int first = -1;

	if (!b || !entries || !count)
		return -EINVAL;
	while (count) {
		size_t n = count < KVMI_SET_PAGE_ACCESS_MAX_ENTRIES
				   ? count
				   : KVMI_SET_PAGE_ACCESS_MAX_ENTRIES;
		uint8_t *where;
		int r = grow(b, &where);

		if (!r)
			r = add(b, kvmi_encode_set_page_access_d(DIALECT, where, MAXM, SEQ, view,
							       entries, n),
				NULL, 0, false);
		if (r < 0)
			return r;
		if (first < 0)
			first = r;
		entries += n;
		count -= n;
	}
	return first;
}

KVMI_EXPORT int kvmi_pipeline_get_page_access(struct kvmi_pipeline *b,
					      const uint64_t *gpas,
					      uint8_t *out, size_t count)
{
	int first = -1;

	if (!b || !gpas || !out || !count)
		return -EINVAL;
	if (b->flags & KVMI_PIPELINE_NO_REPLIES)
		return -EINVAL;
	while (count) {
		size_t n = count < KVMI_GET_PAGE_ACCESS_MAX_GPAS
				   ? count
				   : KVMI_GET_PAGE_ACCESS_MAX_GPAS;
		uint8_t *where;
		int r = grow(b, &where);

		if (!r)
			r = add(b, encode_get_page_access(DIALECT, where, MAXM, SEQ,
							       gpas, n),
				out, n, true);
		if (r < 0)
			return r;
		if (first < 0)
			first = r;
		gpas += n;
		out += n;
		count -= n;
	}
	return first;
}

#define SIMPLE(EXPR)                                                           \
	do {                                                                   \
		uint8_t *where;                                                \
		int r;                                                         \
		if (!b)                                                        \
			return -EINVAL;                                        \
		r = grow(b, &where);                                           \
		if (r)                                                         \
			return r;                                              \
		return add(b, (EXPR), NULL, 0, false);                         \
	} while (0)

KVMI_EXPORT int kvmi_pipeline_control_events(struct kvmi_pipeline *b,
					     uint16_t vcpu, uint16_t event_id,
					     int enable)
{
	SIMPLE(kvmi_encode_control_events_d(DIALECT, where, MAXM, SEQ, vcpu,
					    EVENT_WIRE(event_id), enable));
}

KVMI_EXPORT int kvmi_pipeline_control_vm_events(struct kvmi_pipeline *b,
						uint16_t event_id, int enable)
{
	SIMPLE(kvmi_encode_control_vm_events_d(DIALECT, where, MAXM, SEQ,
					       EVENT_WIRE(event_id), enable));
}

KVMI_EXPORT int kvmi_pipeline_control_cr(struct kvmi_pipeline *b, uint16_t vcpu,
					 uint32_t cr, int enable)
{
	SIMPLE(kvmi_encode_control_cr_d(DIALECT, where, MAXM, SEQ, vcpu, cr,
					enable));
}

KVMI_EXPORT int kvmi_pipeline_control_msr(struct kvmi_pipeline *b,
					  uint16_t vcpu, uint32_t msr,
					  int enable)
{
	SIMPLE(kvmi_encode_control_msr_d(DIALECT, where, MAXM, SEQ, vcpu, msr,
					 enable));
}

KVMI_EXPORT int kvmi_pipeline_pause_vcpu(struct kvmi_pipeline *b, uint16_t vcpu,
					 int wait)
{
	SIMPLE(kvmi_encode_pause_vcpu_d(DIALECT, where, MAXM, SEQ, vcpu, wait));
}

static int add_reply(struct kvmi_pipeline *b, struct kvmi_event_ctx *ev,
		     uint8_t action, const void *tail, size_t tlen)
{
	uint8_t *where;
	struct item *it;
	int r;

	if (!b || !ev || ev->sess != b->dom->sess ||
	    ev == &b->dom->sess->unhook_ev)
		return -EINVAL;
	if (!kvmi__event_open(ev))
		return KVMI_E_ALREADY_REPLIED;
	r = grow(b, &where);
	if (r)
		return r;
	r = kvmi__event_encode_reply(ev, where, MAXM, action, tail, tlen);
	if (r < 0)
		return r;
	it = &b->items[b->n];
	memset(it, 0, sizeof(*it));
	it->kind = ITEM_EVENT_REPLY;
	it->ev = ev;
	kvmi__event_claim(ev); /* not dispatched any more */
	ev->state = KVMI__EV_BATCHED;
	b->len += (size_t)r;
	return (int)b->n++;
}

KVMI_EXPORT int kvmi_pipeline_event_reply(struct kvmi_pipeline *b,
					  struct kvmi_event_ctx *ev,
					  uint8_t action)
{
	return add_reply(b, ev, action, NULL, 0);
}

KVMI_EXPORT int kvmi_pipeline_event_reply_cr(struct kvmi_pipeline *b,
					     struct kvmi_event_ctx *ev,
					     uint8_t action, uint64_t new_val)
{
	if (!ev || ev->common.event != KVMI_EVENT_CR)
		return -EINVAL;
	return add_reply(b, ev, action, &new_val, sizeof(new_val));
}

KVMI_EXPORT int kvmi_pipeline_event_reply_msr(struct kvmi_pipeline *b,
					      struct kvmi_event_ctx *ev,
					      uint8_t action, uint64_t new_val)
{
	if (!ev || ev->common.event != KVMI_EVENT_MSR)
		return -EINVAL;
	return add_reply(b, ev, action, &new_val, sizeof(new_val));
}

/* ---- sending ---- */

static void batch_complete(struct kvmi_pipeline *b)
{
	struct kvmi_dom *dom = b->dom;
	int result = b->confirm.result;

	for (size_t i = 0; !result && i < b->n; i++) {
		struct item *it = &b->items[i];

		if (it->w.result)
			result = it->w.result;
		else if (it->wants_data && it->w.out_len != it->expect_len)
			result = it->w.result = KVMI_E_MSG_SIZE;
	}
	b->result = result;
	b->writes = dom->writes - b->writes0;
	b->cb(dom, result, b->ctx);
	if (b->free_after)
		kvmi_pipeline_free(b);
}

static void waiter_done(struct kvmi_session *s, struct kvmi__waiter *w)
{
	struct kvmi_pipeline *b = w->ctx;

	(void)s;
	if (--b->left == 0)
		batch_complete(b);
}

static void arm(struct kvmi_pipeline *b, struct kvmi__waiter *w)
{
	w->cb = waiter_done;
	w->ctx = b;
	w->sync = b->in_sync;
}

/* every item fails with @err before anything was sent */
static void fail_all(struct kvmi_pipeline *b, int err)
{
	for (size_t i = 0; i < b->n; i++) {
		struct item *it = &b->items[i];

		if (it->kind == ITEM_EVENT_REPLY &&
		    it->ev->state == KVMI__EV_BATCHED)
			it->ev->state = KVMI__EV_DISPATCHED;
		kvmi__waiter_drop(b->dom->sess, &it->w);
		it->w.done = true;
		it->w.result = err;
	}
	kvmi__waiter_drop(b->dom->sess, &b->confirm);
	b->result = err;
}

static int submit(struct kvmi_pipeline *b, kvmi_dom_cmd_cb cb, void *ctx,
		  bool in_sync)
{
	struct kvmi_dom *dom = b->dom;
	struct kvmi_session *s;
	bool no_replies, appended = false;
	struct kvmi_msg_hdr hdr;
	uint8_t msg[32];
	int err = 0, len;

	if (b->committed)
		return -EBUSY;
	b->committed = true;
	b->cb = cb;
	b->ctx = ctx;
	b->in_sync = in_sync;
	if (!kvmi__dom_usable(dom)) {
		fail_all(b, -ENOTCONN);
		return -ENOTCONN;
	}
	s = dom->sess;
	/* replies-disabled mode on v6 only: v12 has none, and a kvmi-v7
	 * host with replies off only logs a failed command (or, with the
	 * CMD_ERROR flag, closes the socket when QEMU disallows that event):
	 * every reply instead - the same results, a few more bytes */
	no_replies = (b->flags & KVMI_PIPELINE_NO_REPLIES) &&
		     s->dialect == KVMI_DIALECT_V6;
	b->writes0 = dom->writes;
	b->left = 0;
	if (no_replies) {
		len = kvmi_encode_control_cmd_response_d(
			s->dialect, msg, sizeof(msg), kvmi_seq_next(&s->seq), 0,
			1, 0);
		err = len < 0 ? len : kvmi__out_append(s, msg, (size_t)len);
		appended = !err;
	}
	for (size_t i = 0; !err && i < b->n; i++) {
		struct item *it = &b->items[i];

		it->b = b;
		if (it->kind == ITEM_EVENT_REPLY) {
			it->w.done = true;
			continue;
		}
		arm(b, &it->w);
		err = kvmi__waiter_add(s, it->id, it->seq, no_replies, &it->w);
		if (!err)
			b->left++;
	}
	if (!err) {
		err = kvmi__out_append(s, b->buf, b->len);
		appended = appended || !err;
	}
	if (!err && no_replies) {
		uint32_t seq = kvmi_seq_next(&s->seq);

		len = kvmi_encode_control_cmd_response_d(s->dialect, msg,
							 sizeof(msg), seq, 1,
							 1, 0);
		if (len < 0) {
			err = len;
			goto failed;
		}
		arm(b, &b->confirm);
		memcpy(&hdr, msg, sizeof(hdr)); /* the dialect's id */
		err = kvmi__waiter_add(s, hdr.id, seq, false, &b->confirm);
		if (!err) {
			b->left++;
			err = kvmi__out_append(s, msg, (size_t)len);
		}
	}
failed:
	if (err) {
		fail_all(b, err);
		/* half a batch in the output (replies left disabled, or
		 * commands nobody waits for): the stream cannot go on */
		if (appended)
			kvmi__dom_fail(dom, err);
		return err;
	}
	/* the event replies are on their way */
	for (size_t i = 0; i < b->n; i++)
		if (b->items[i].kind == ITEM_EVENT_REPLY)
			kvmi__event_release(b->items[i].ev);
	if (!b->left) {
		arm(b, &b->fin);
		b->left = 1;
		kvmi__waiter_finish(s, &b->fin, 0);
	}
	kvmi__dom_output(dom);
	return 0;
}

int kvmi__pipeline_send_flagged(struct kvmi_pipeline *b, kvmi_dom_cmd_cb cb,
				void *ctx, bool in_sync)
{
	int err;

	if (!b || !cb)
		return -EINVAL;
	if (b->committed)
		return -EBUSY;
	err = submit(b, cb, ctx, in_sync);
	if (err)
		kvmi_pipeline_free(b);
	else
		b->free_after = true;
	return err;
}

KVMI_EXPORT int kvmi_pipeline_send(struct kvmi_pipeline *b, kvmi_dom_cmd_cb cb,
				   void *ctx)
{
	return kvmi__pipeline_send_flagged(b, cb, ctx, cb == kvmi__sync_cb);
}

KVMI_EXPORT int kvmi_pipeline_commit(struct kvmi_pipeline *b)
{
	struct kvmi__sync sc = {0};
	int err;

	if (!b)
		return -EINVAL;
	err = submit(b, kvmi__sync_cb, &sc, true);
	if (err)
		return err;
	err = kvmi__dom_sync_wait(b->dom, &sc);
	if (!sc.done)
		fail_all(b, err); /* the domain failed first */
	return err;
}
