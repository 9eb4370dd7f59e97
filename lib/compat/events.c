/*
 * libkvmi - lib/compat/events.c: the 1.x event calls - kvmi_wait_event,
 * kvmi_pop_event, kvmi_reply_event, kvmi_get_pending_events - on top of
 * the session's events.  Every event the session delivers is held (so it
 * is never default-replied behind the tool's back) and queued; popping
 * builds the 1.x struct kvmi_dom_event from it; the 1.x raw reply is
 * checked and sent through the session's reply calls, which keep the
 * exactly-one-reply rule.  No event is ever dropped: the session keeps
 * at most one per vCPU.  With KVMI_BUSY_POLL_US in the environment,
 * kvmi_wait_event polls without sleeping for that long after an event.
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <kvmi/server.h>

#include "compat.h"

static int push(struct kvmi_event_ctx ***v, size_t *n, size_t *cap,
		struct kvmi_event_ctx *ev)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		struct kvmi_event_ctx **p = realloc(*v, nc * sizeof(*p));

		if (!p)
			return -ENOMEM;
		*v = p;
		*cap = nc;
	}
	(*v)[(*n)++] = ev;
	return 0;
}

void kvmi1__on_event(struct kvmi_session *s, struct kvmi_event_ctx *ev,
		     void *user)
{
	struct kvmi1_dom *d = user;

	(void)s;
	/* when the queue cannot grow, the session's default reply lets the
	 * vCPU go on (it is not left blocked, as 1.x would leave it) */
	if (push(&d->queued, &d->n_queued, &d->cap_queued, ev) == 0) {
		kvmi_event_hold(ev);
		kvmi1__wake(d);
	} else
		kvmi1__log(KVMI_LOG_LEVEL_ERROR,
			   "%s: out of memory queueing an event; replied "
			   "CONTINUE",
			   d->qemu.name);
}

void kvmi1__on_unhook(struct kvmi_session *s, void *user)
{
	struct kvmi1_dom *d = user;

	(void)s;
	if (d->net && !d->tool_unhook) {
		d->unhook_net = true; /* the net's (read_some runs it) */
		return;
	}
	if (push(&d->queued, &d->n_queued, &d->cap_queued, NULL))
		kvmi1__log(KVMI_LOG_LEVEL_ERROR,
			   "%s: out of memory queueing the UNHOOK event",
			   d->qemu.name);
	else
		kvmi1__wake(d);
}

void kvmi1__wake(struct kvmi1_dom *d)
{
	/* under d->lock: a thread that is not waiting yet looks at the
	 * queue (and the connection) under the lock before it sleeps, so
	 * only sleeping ones need the eventfd */
	if (d->waiters && !d->efd_signalled) {
		eventfd_write(d->efd, 1);
		d->efd_signalled = true;
	}
}

void kvmi1__forget_events_locked(struct kvmi1_dom *d)
{
	d->n_queued = 0;
	d->n_popped = 0;
}

KVMI_EXPORT size_t kvmi_get_pending_events(void *dom)
{
	struct kvmi1_dom *d = dom;
	size_t n;

	if (!d)
		return 0;
	pthread_mutex_lock(&d->lock);
	n = d->n_queued;
	pthread_mutex_unlock(&d->lock);
	return n;
}

uint64_t kvmi1__busy_poll_ns(void)
{
	const char *v = getenv("KVMI_BUSY_POLL_US");
	char *e;
	unsigned long us;

	if (!v || !*v)
		return 0;
	errno = 0;
	us = strtoul(v, &e, 10);
	if (errno || *e || v[0] == '-' || us > KVMI_SERVER_BUSY_POLL_MAX_US) {
		kvmi1__log(KVMI_LOG_LEVEL_ERROR,
			   "KVMI_BUSY_POLL_US=%s is not a number of "
			   "microseconds from 0 to %u: busy polling is off",
			   v, KVMI_SERVER_BUSY_POLL_MAX_US);
		return 0;
	}
	return (uint64_t)us * 1000;
}

KVMI_EXPORT int kvmi_wait_event(void *dom, kvmi_timeout_t ms)
{
	struct kvmi1_dom *d = dom;
	uint64_t end = ms < 0 ? UINT64_MAX : kvmi__now_ms() + (uint64_t)ms;

	if (!d)
		return kvmi1__ret(-EINVAL);
	for (;;) {
		struct pollfd pfd[2] = {
		    {.fd = d->fd, .events = POLLIN},
		    {.fd = d->efd, .events = POLLIN},
		};
		eventfd_t junk;
		uint64_t now;
		int err, left;
		bool spin;

		pthread_mutex_lock(&d->lock);
		/* drained under the lock: a wake-up after this is not lost */
		if (d->efd_signalled) {
			eventfd_read(d->efd, &junk);
			d->efd_signalled = false;
		}
		err = d->n_queued ? 0 : kvmi1__poll_input_locked(d);
		if (!err && !d->n_queued)
			err = -EAGAIN;
		if (!err && d->busy_ns)
			d->spin_until = kvmi__now_ns() + d->busy_ns;
		/* busy polling: an event came less than busy_ns ago, so
		 * read again instead of sleeping (anything else runnable on
		 * this CPU first; yielded without the lock, so the thread
		 * that replies is not held) - within the caller's timeout */
		spin = err == -EAGAIN && d->busy_ns &&
		       kvmi__now_ns() < d->spin_until && kvmi__now_ms() < end;
		if (err == -EAGAIN && !spin)
			d->waiters++; /* until the poll below returns */
		pthread_mutex_unlock(&d->lock);
		if (spin) {
			sched_yield();
			continue;
		}
		if (err != -EAGAIN)
			return kvmi1__ret(err == -ETIMEDOUT ? -ENOTCONN : err);
		now = kvmi__now_ms();
		err = 0;
		if (now < end) {
			left = end == UINT64_MAX   ? -1
			       : end - now > 60000 ? 60000
						   : (int)(end - now);
			/* wait without the lock: other threads may send
			 * commands (and read events with their replies: they
			 * wake us) */
			if (poll(pfd, 2, left) < 0 && errno != EINTR)
				err = -errno;
		}
		pthread_mutex_lock(&d->lock);
		d->waiters--;
		pthread_mutex_unlock(&d->lock);
		if (now >= end)
			return kvmi1__ret(-ETIMEDOUT);
		if (err)
			return kvmi1__ret(err);
	}
}

/* the v6 trap event in the 1.x layout */
static void trap_to_ext(const struct kvmi_event_trap *v6,
			struct kvmi_event_trap_ext *ext)
{
	memset(ext, 0, sizeof(*ext));
	ext->vector = (__u8)v6->vector;
	ext->error_code = v6->error_code;
	ext->cr2 = v6->cr2;
}

/*
 * fill @e (malloc'd, not zeroed) from the session's event @ev, which the
 * host sent in @dialect: a kvmi-v7 host's data (16-byte TRAP, SINGLESTEP
 * with `failed`, CPUID) already has the 1.x layout and is copied as is,
 * like its common struct with arch.view; a v6 TRAP is converted.
 */
static void fill(struct kvmi_dom_event *e, struct kvmi_event_ctx *ev,
		 enum kvmi_dialect dialect)
{
	const struct kvmi_event *c = kvmi_event_common(ev);
	const union kvmi_event_data *data = kvmi_event_data(ev);
	int dsize = kvmi_event_data_size_d(dialect, c->event);
	size_t csize = c->size < sizeof(*c) ? c->size : sizeof(*c);

	if (dsize > (int)sizeof(e->event.cr))
		dsize = (int)sizeof(e->event.cr);
	e->next = NULL;
	e->event.common = *c;
	memset(&e->event.cr, 0, sizeof(e->event.cr));
	if (c->event == KVMI_EVENT_TRAP && dialect == KVMI_DIALECT_V6)
		trap_to_ext(&data->trap, &e->event.trap);
	else if (dsize > 0)
		memcpy(&e->event.cr, data, (size_t)dsize);
	/* the payload as the host laid it out: common, then the data */
	memcpy(e->buf, c, csize);
	if (dsize > 0)
		memcpy(e->buf + csize, data, (size_t)dsize);
	e->seq = kvmi_event_seq(ev);
}

/* the UNHOOK event: no vCPU, no data, seq 0 */
static void fill_unhook(struct kvmi_dom_event *e)
{
	memset(e, 0,
	       offsetof(struct kvmi_dom_event, buf) +
		   sizeof(struct kvmi_event));
	e->event.common.size = sizeof(struct kvmi_event);
	e->event.common.event = KVMI_EVENT_UNHOOK;
	e->seq = 0;
}

KVMI_EXPORT int kvmi_pop_event(void *dom, struct kvmi_dom_event **event)
{
	struct kvmi1_dom *d = dom;
	struct kvmi_dom_event *e;
	struct kvmi_event_ctx *ev;
	int err = 0;

	if (!event)
		return kvmi1__ret(-EINVAL);
	*event = NULL;
	if (!d)
		return kvmi1__ret(-EINVAL);
	pthread_mutex_lock(&d->lock);
	if (!d->n_queued) {
		err = -EAGAIN;
		goto out;
	}
	/* 8768 bytes because the 1.x layout says so, but not zeroed: only
	 * what the event uses is written */
	e = malloc(sizeof(*e));
	if (!e) {
		err = -ENOMEM;
		goto out;
	}
	ev = d->queued[0];
	if (ev && push(&d->popped, &d->n_popped, &d->cap_popped, ev)) {
		free(e);
		err = -ENOMEM;
		goto out;
	}
	if (ev)
		fill(e, ev, kvmi1__dialect(d));
	else
		fill_unhook(e);
	d->unhook_popped |= !ev;
	memmove(d->queued, d->queued + 1, --d->n_queued * sizeof(*d->queued));
	*event = e;
out:
	pthread_mutex_unlock(&d->lock);
	return kvmi1__ret(err);
}

/* take the popped event with @seq out of the list; NULL if none */
static struct kvmi_event_ctx *take_popped(struct kvmi1_dom *d, unsigned int seq)
{
	for (size_t i = 0; i < d->n_popped; i++) {
		struct kvmi_event_ctx *ev = d->popped[i];

		if (kvmi_event_seq(ev) != seq)
			continue;
		d->popped[i] = d->popped[--d->n_popped];
		return ev;
	}
	return NULL;
}

int kvmi1__reply_locked(struct kvmi1_dom *d, unsigned int seq, const void *data,
			size_t size)
{
	struct kvmi_vcpu_hdr vh;
	struct kvmi_event_reply r;
	const uint8_t *tail;
	struct kvmi_event_ctx *ev;
	size_t tail_len;
	int want, err;

	ev = take_popped(d, seq);
	if (!ev && seq == 0 && d->unhook_popped)
		return 0; /* the UNHOOK event: the host expects no reply */
	if (ev && (!data || size < sizeof(vh) + sizeof(r))) {
		push(&d->popped, &d->n_popped, &d->cap_popped, ev);
		return -EINVAL;
	}
	if (!ev) {
		kvmi1__log(KVMI_LOG_LEVEL_ERROR,
			   "%s: reply to seq %u: no popped event has it",
			   d->qemu.name, seq);
		return kvmi_session_error(d->s) ? -ENOTCONN : -EINVAL;
	}
	memcpy(&vh, data, sizeof(vh));
	memcpy(&r, (const uint8_t *)data + sizeof(vh), sizeof(r));
	tail = (const uint8_t *)data + sizeof(vh) + sizeof(r);
	tail_len = size - sizeof(vh) - sizeof(r);
	want = kvmi_event_reply_data_size_d(kvmi1__dialect(d),
					    kvmi_event_id(ev));
	if (vh.vcpu != kvmi_event_vcpu(ev) || r.event != kvmi_event_id(ev) ||
	    tail_len > (size_t)(want > 0 ? want : 0)) {
		kvmi1__log(KVMI_LOG_LEVEL_ERROR,
			   "%s: reply to seq %u (%s, vCPU %u) names vCPU %u, "
			   "event %u, %zu extra bytes: not sent",
			   d->qemu.name, seq,
			   kvmi_event_name_d(kvmi1__dialect(d), kvmi_event_id(ev)),
			   kvmi_event_vcpu(ev), vh.vcpu, r.event, tail_len);
		push(&d->popped, &d->n_popped, &d->cap_popped, ev);
		return -EINVAL;
	}
	switch (kvmi_event_id(ev)) {
	case KVMI_EVENT_CR:
	case KVMI_EVENT_MSR: {
		struct kvmi_event_cr_reply cr = {0};

		memcpy(&cr, tail, tail_len);
		err = kvmi_event_id(ev) == KVMI_EVENT_CR
			  ? kvmi_event_reply_cr(ev, r.action, cr.new_val)
			  : kvmi_event_reply_msr(ev, r.action, cr.new_val);
		break;
	}
	case KVMI_EVENT_PF: {
		struct kvmi_event_pf_reply pf;

		memset(&pf, 0, sizeof(pf));
		memcpy(&pf, tail, tail_len);
		if (pf.singlestep && kvmi1__is_v7(d)) {
			/* padding there: the host would close the socket */
			kvmi1__log(KVMI_LOG_LEVEL_ERROR,
				   "%s: PF reply to seq %u asks for singlestep, "
				   "which kvmi-v7 has no more (use "
				   "kvmi_control_singlestep): not sent",
				   d->qemu.name, seq);
			push(&d->popped, &d->n_popped, &d->cap_popped, ev);
			return -EINVAL;
		}
		err = kvmi_event_reply_pf(ev, r.action, &pf);
		break;
	}
	default:
		err = kvmi_event_reply(ev, r.action);
	}
	if (err == -EINVAL) {
		/* an action the event does not accept: still open */
		kvmi1__log(KVMI_LOG_LEVEL_ERROR,
			   "%s: action %u is not valid for %s: not sent",
			   d->qemu.name, r.action,
			   kvmi_event_name_d(kvmi1__dialect(d), kvmi_event_id(ev)));
		push(&d->popped, &d->n_popped, &d->cap_popped, ev);
	}
	return err;
}

KVMI_EXPORT int kvmi_reply_event(void *dom, unsigned int msg_seq,
				 const void *data, size_t data_size)
{
	struct kvmi1_dom *d = dom;
	int err;

	if (!d)
		return kvmi1__ret(-EINVAL);
	pthread_mutex_lock(&d->lock);
	err = kvmi1__reply_locked(d, msg_seq, data, data_size);
	if (!err)
		err = kvmi1__flush_locked(d);
	pthread_mutex_unlock(&d->lock);
	return kvmi1__ret(err);
}
