/*
 * libkvmi - lib/compat/batch.c: 1.x batches (kvmi_batch_alloc/commit/
 * free, kvmi_queue_*) and kvmi_pause_all_vcpus, which is one.
 *
 * A batch records its items (encoded commands without a sequence number,
 * and raw event replies) in order.  Commit, under the domain's lock:
 * CONTROL_CMD_RESPONSE{enable=0, now=1}, every item (commands through the
 * session with this connection's sequence numbers, event replies through
 * the session's checked reply path), CONTROL_CMD_RESPONSE{enable=1,
 * now=1}; one write; then the final reply is awaited (an EPERM or
 * EOPNOTSUPP the host still answers with replies off is the commit's
 * result; other item failures are silent on the host).  A batch of one
 * event reply is sent bare.  Unlike 1.x, commit waits for the final reply
 * also when the batch holds event replies, and the batch is emptied.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"

struct item {
	bool is_reply;
	unsigned int seq; /* event replies */
	size_t len;
	uint8_t *data; /* a command (seq patched at commit) or reply bytes */
};

struct kvmi1_batch {
	struct kvmi1_dom *d;
	struct item *items;
	size_t n, cap;
};

KVMI_EXPORT void *kvmi_batch_alloc(void *dom)
{
	struct kvmi1_batch *b;

	if (!dom) {
		errno = EINVAL;
		return NULL;
	}
	b = calloc(1, sizeof(*b));
	if (!b) {
		errno = ENOMEM;
		return NULL;
	}
	b->d = dom;
	return b;
}

static void reset(struct kvmi1_batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->items[i].data);
	b->n = 0;
}

KVMI_EXPORT void kvmi_batch_free(void *batch)
{
	struct kvmi1_batch *b = batch;

	if (!b)
		return;
	reset(b);
	free(b->items);
	free(b);
}

static int add(struct kvmi1_batch *b, bool is_reply, unsigned int seq,
	       const void *data, size_t len)
{
	struct item *it;

	if (b->n == b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 16;
		struct item *p = realloc(b->items, nc * sizeof(*p));

		if (!p)
			return -ENOMEM;
		b->items = p;
		b->cap = nc;
	}
	it = &b->items[b->n];
	it->data = malloc(len ? len : 1);
	if (!it->data)
		return -ENOMEM;
	memcpy(it->data, data, len);
	it->len = len;
	it->is_reply = is_reply;
	it->seq = seq;
	b->n++;
	return 0;
}

/* encode in the host's dialect into a scratch buffer (seq 0; patched
 * at commit) and add to the struct kvmi1_batch @b */
#define ADD(err, b, ENC, ...)                                                  \
	do {                                                                   \
		uint8_t m_[KVMI_ENCODE_MAX];                                   \
		int n_ = ENC##_d(kvmi1__dialect((b)->d), m_, sizeof(m_), 0,   \
				 __VA_ARGS__);                                 \
		(err) = n_ < 0 ? n_ : add((b), false, 0, m_, (size_t)n_);      \
	} while (0)

/* kvmi-v7 reads PAUSE_VCPU's wait flag from the vCPU header and closes
 * the connection for an index >= 256 (KVMI-V7.md 5.4): refused here */
static int pause_vcpu_ok(struct kvmi1_dom *d, unsigned int vcpu)
{
	return kvmi1__is_v7(d) && vcpu > UINT8_MAX ? -EINVAL : 0;
}

KVMI_EXPORT int kvmi_queue_registers(void *batch, unsigned short vcpu,
				     const struct kvm_regs *regs)
{
	struct kvmi1_batch *b = batch;
	int err;

	if (!b)
		return kvmi1__ret(-EINVAL);
	ADD(err, b, kvmi_encode_set_registers, vcpu, regs);
	return kvmi1__ret(err);
}

KVMI_EXPORT int kvmi_queue_reply_event(void *batch, unsigned int msg_seq,
				       const void *data, size_t data_size)
{
	if (!batch || !data)
		return kvmi1__ret(-EINVAL);
	if (data_size > UINT_MAX)
		return kvmi1__ret(-E2BIG);
	return kvmi1__ret(add(batch, true, msg_seq, data, data_size));
}

KVMI_EXPORT int kvmi_queue_page_access(void *batch, unsigned long long int *gpa,
				       unsigned char *access,
				       unsigned short count,
				       unsigned short view)
{
	struct kvmi1_batch *b = batch;
	struct kvmi_page_access_entry e[KVMI_SET_PAGE_ACCESS_MAX_ENTRIES];
	int err = 0;

	if (!b || (count && (!gpa || !access)))
		return kvmi1__ret(-EINVAL);
	if (view && !kvmi1__is_v7(b->d))
		return kvmi1__ret(-EOPNOTSUPP);
	for (size_t done = 0; !err && done < count;) {
		size_t n = kvmi1__access_chunk(e, gpa, access, done, count);

		ADD(err, b, kvmi_encode_set_page_access, view, e, n);
		if (!err) /* remembered when queued: restoring more is harmless
			   */
			kvmi1__net_access(b->d, gpa + done, access + done, n,
					  view);
		done += n;
	}
	return kvmi1__ret(err);
}

KVMI_EXPORT int kvmi_queue_pause_vcpu(void *batch, unsigned short vcpu)
{
	struct kvmi1_batch *b = batch;
	int err;

	if (!b)
		return kvmi1__ret(-EINVAL);
	err = pause_vcpu_ok(b->d, vcpu);
	if (!err)
		ADD(err, b, kvmi_encode_pause_vcpu, vcpu, 0);
	return kvmi1__ret(err);
}

KVMI_EXPORT int kvmi_queue_spp_access(void *batch, __u64 *gpa, __u32 *bitmap,
				      __u16 view, __u16 count)
{
	struct kvmi1_batch *b = batch;
	struct kvmi_page_write_bitmap_entry
	    e[KVMI_SET_PAGE_WRITE_BITMAP_MAX_ENTRIES];
	int err = 0;

	if (!b || (count && (!gpa || !bitmap)))
		return kvmi1__ret(-EINVAL);
	if (view && !kvmi1__is_v7(b->d))
		return kvmi1__ret(-EOPNOTSUPP);
	for (size_t done = 0; !err && done < count;) {
		size_t n = kvmi1__bitmap_chunk(e, gpa, bitmap, done, count);

		ADD(err, b, kvmi_encode_set_page_write_bitmap, view, e, n);
		done += n;
	}
	return kvmi1__ret(err);
}

/* queue one command of @b's item @it (or the bracket @msg) with a fresh
 * sequence number and the completion record @w */
static int send_cmd(struct kvmi1_dom *d, uint8_t *msg, size_t len,
		    struct kvmi1_wait *w)
{
	struct kvmi_msg_hdr h;

	memcpy(&h, msg, sizeof(h));
	h.seq = kvmi_session_next_seq(d->s);
	memcpy(msg, &h, sizeof(h));
	return kvmi_session_command(d->s, msg, len, NULL, 0, kvmi1__cmd_done,
				    w);
}

static int bracket(struct kvmi1_dom *d, int enable, struct kvmi1_wait *w)
{
	uint8_t m[32];
	int n = kvmi_encode_control_cmd_response_d(kvmi1__dialect(d), m,
						   sizeof(m), 0, enable, 1, 0);

	return n < 0 ? n : send_cmd(d, m, (size_t)n, w);
}

/* commit @b's items on @d (lock held) */
static int commit_locked(struct kvmi1_dom *d, struct kvmi1_batch *b)
{
	struct kvmi1_wait *w;
	size_t nw = 0;
	int err = 0, first = 0;

	if (b->n == 1 && b->items[0].is_reply) {
		err = kvmi1__reply_locked(d, b->items[0].seq, b->items[0].data,
					  b->items[0].len);
		return err ? err : kvmi1__flush_locked(d);
	}
	w = calloc(b->n + 2, sizeof(*w));
	if (!w)
		return -ENOMEM;
	err = bracket(d, 0, &w[nw++]);
	for (size_t i = 0; !err && i < b->n; i++) {
		struct item *it = &b->items[i];

		if (it->is_reply)
			err =
			    kvmi1__reply_locked(d, it->seq, it->data, it->len);
		else
			err = send_cmd(d, it->data, it->len, &w[nw++]);
	}
	/* replies are turned back on even after a refused item: the
	 * commands already queued must not stay unanswered */
	if (nw) {
		int e = bracket(d, 1, &w[nw]);

		if (!e)
			nw++;
		else if (!err)
			err = e;
	}
	if (nw)
		first = kvmi1__wait_locked(d, &w[nw - 1]);
	/* the items before the final reply are done with it */
	for (size_t i = 0; i < nw; i++) {
		if (!w[i].done)
			kvmi1__wait_locked(d, &w[i]);
		if (!first && w[i].result)
			first = w[i].result;
	}
	free(w);
	return err ? err : first;
}

KVMI_EXPORT int kvmi_batch_commit(void *batch)
{
	struct kvmi1_batch *b = batch;
	int err;

	if (!b)
		return kvmi1__ret(-EINVAL);
	if (!b->n)
		return 0;
	pthread_mutex_lock(&b->d->lock);
	err = commit_locked(b->d, b);
	pthread_mutex_unlock(&b->d->lock);
	reset(b);
	return kvmi1__ret(err);
}

KVMI_EXPORT int kvmi_pause_all_vcpus(void *dom, unsigned int count)
{
	struct kvmi1_batch b = {.d = dom};
	int err = 0;

	if (!dom)
		return kvmi1__ret(-EINVAL);
	if (!count)
		return 0;
	if (count > UINT16_MAX + 1u || pause_vcpu_ok(dom, count - 1))
		return kvmi1__ret(-EINVAL);
	for (unsigned int v = 0; !err && v < count; v++)
		ADD(err, &b, kvmi_encode_pause_vcpu, (uint16_t)v, 1);
	if (!err) {
		pthread_mutex_lock(&b.d->lock);
		err = commit_locked(b.d, &b);
		pthread_mutex_unlock(&b.d->lock);
	}
	reset(&b);
	free(b.items);
	return kvmi1__ret(err);
}
