/*
 * libkvmi - pending.c: a session's outstanding commands.  A table by
 * seq (open addressing, linear probing) finds the command a reply
 * answers; a list in send order gives the oldest deadline and the
 * commands a replies-disabled batch's confirmation finishes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "session_int.h"

static size_t slot_of(size_t cap, uint32_t seq)
{
	return (size_t)(seq * 2654435761u) & (cap - 1);
}

static void tab_put(struct kvmi__waiter **tab, size_t cap,
		    struct kvmi__waiter *w)
{
	size_t j = slot_of(cap, w->seq);

	while (tab[j])
		j = (j + 1) & (cap - 1);
	tab[j] = w;
}

static int tab_grow(struct kvmi_session *s)
{
	size_t ncap = s->tab_cap ? s->tab_cap * 2 : 16;
	struct kvmi__waiter **nt = kvmi__calloc(ncap, sizeof(*nt));

	if (!nt)
		return -ENOMEM;
	for (size_t i = 0; i < s->tab_cap; i++)
		if (s->tab[i])
			tab_put(nt, ncap, s->tab[i]);
	free(s->tab);
	s->tab = nt;
	s->tab_cap = ncap;
	return 0;
}

static size_t tab_index(const struct kvmi_session *s, uint32_t seq)
{
	size_t j;

	if (!s->tab_cap)
		return SIZE_MAX;
	for (j = slot_of(s->tab_cap, seq); s->tab[j];
	     j = (j + 1) & (s->tab_cap - 1))
		if (s->tab[j]->seq == seq)
			return j;
	return SIZE_MAX;
}

/* remove slot j, shifting back the entries of its probe run */
static void tab_remove_at(struct kvmi_session *s, size_t j)
{
	size_t mask = s->tab_cap - 1, i = j;

	s->tab[j] = NULL;
	s->tab_count--;
	for (;;) {
		size_t home;

		i = (i + 1) & mask;
		if (!s->tab[i])
			return;
		home = slot_of(s->tab_cap, s->tab[i]->seq);
		/* can the entry at i move back to the hole at j? */
		if (((i - home) & mask) >= ((i - j) & mask)) {
			s->tab[j] = s->tab[i];
			s->tab[i] = NULL;
			j = i;
		}
	}
}

int kvmi__waiter_add(struct kvmi_session *s, uint16_t id, uint32_t seq,
		     bool optional, struct kvmi__waiter *w)
{
	if (s->error)
		return -ENOTCONN;
	if (tab_index(s, seq) != SIZE_MAX)
		return -EEXIST; /* 2^32 commands outstanding */
	if ((s->tab_count + 1) * 2 > s->tab_cap) {
		int err = tab_grow(s);

		if (err)
			return err;
	}
	w->id = id;
	w->seq = seq;
	w->optional = optional;
	w->done = false;
	w->result = 0;
	w->out_len = 0;
	w->deadline = kvmi__now_ms() + s->cfg.command_timeout_ms;
	w->item.queued = false;
	tab_put(s->tab, s->tab_cap, w);
	s->tab_count++;
	w->outstanding = true;
	w->next = NULL;
	w->prev = s->last;
	if (s->last)
		s->last->next = w;
	else
		s->first = w;
	s->last = w;
	return 0;
}

static void list_unlink(struct kvmi_session *s, struct kvmi__waiter *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		s->first = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		s->last = w->prev;
	w->prev = w->next = NULL;
}

/* out of the tables (not finished) */
static void take_out(struct kvmi_session *s, struct kvmi__waiter *w)
{
	size_t j;

	if (!w->outstanding)
		return;
	j = tab_index(s, w->seq);
	if (j != SIZE_MAX && s->tab[j] == w)
		tab_remove_at(s, j);
	list_unlink(s, w);
	w->outstanding = false;
}

struct kvmi__waiter *kvmi__waiter_find(struct kvmi_session *s, uint32_t seq)
{
	size_t j = tab_index(s, seq);

	return j == SIZE_MAX ? NULL : s->tab[j];
}

void kvmi__waiter_drop(struct kvmi_session *s, struct kvmi__waiter *w)
{
	take_out(s, w);
	if (w->item.queued)
		kvmi__undeliver(s, &w->item);
}

void kvmi__waiter_finish(struct kvmi_session *s, struct kvmi__waiter *w,
			 int result)
{
	take_out(s, w);
	if (w->done)
		return;
	w->result = result;
	w->done = true;
	if (w->cb)
		kvmi__deliver(s, &w->item, KVMI__ITEM_DONE);
}

void kvmi__waiters_fail_all(struct kvmi_session *s, int err)
{
	while (s->first)
		kvmi__waiter_finish(s, s->first, err);
}

/*
 * The confirmation of a batch sent with replies disabled arrived: every
 * optional command before it that got no error reply succeeded.
 */
void kvmi__waiters_finish_optional(struct kvmi_session *s, uint32_t upto_seq)
{
	struct kvmi__waiter *w = s->first, *next;

	for (; w; w = next) {
		next = w->next;
		if (w->optional && (int32_t)(w->seq - upto_seq) < 0)
			kvmi__waiter_finish(s, w, 0);
	}
}

void kvmi__waiters_free(struct kvmi_session *s)
{
	free(s->tab);
	s->tab = NULL;
	s->tab_cap = s->tab_count = 0;
	s->first = s->last = NULL;
}

int kvmi__sess_queue_command(struct kvmi_session *s, int len,
			     struct kvmi__waiter *w)
{
	struct kvmi_msg_hdr hdr;
	int err;

	if (len < 0)
		return len;
	memcpy(&hdr, s->out + s->out_len, sizeof(hdr));
	err = kvmi__waiter_add(s, hdr.id, hdr.seq, false, w);
	if (err)
		return err;
	kvmi__out_commit(s, (size_t)len);
	return 0;
}

KVMI_EXPORT size_t kvmi_session_outstanding(const struct kvmi_session *s)
{
	return s ? s->tab_count : 0;
}

KVMI_EXPORT uint64_t kvmi_session_next_deadline(const struct kvmi_session *s)
{
	uint64_t d = UINT64_MAX;

	if (!s || s->error || !s->first)
		return UINT64_MAX;
	/* deadlines grow in send order, unless the timeout was ever
	 * lowered: then look at every command */
	if (!s->timeout_lowered)
		return s->first->deadline;
	for (const struct kvmi__waiter *w = s->first; w; w = w->next)
		if (w->deadline < d)
			d = w->deadline;
	return d;
}
