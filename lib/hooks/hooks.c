/*
 * libkvmi - hooks.c: the per-domain registry of what the tool placed in
 * the guest (breakpoints with their original bytes, page restrictions
 * with the previous access, CR/MSR intercepts, enabled events) and the
 * breakpoint event handling (see include/kvmi/hooks.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <kvmi/domain-v7.h>

#include "alloc.h"
#include "hooks_int.h"
#include "internal.h"

/* a byte write on the hit path, answered later (see site_write) */
struct kvmi__byte_write {
	struct kvmi__waiter w; /* first: the callback gets &w */
	struct kvmi__bp_site *s; /* NULL once the site is gone or a later
				    write superseded this one */
	uint8_t val;
};

#define INT3 0xcc

/* the site goes away: answers to its writes still in flight find nothing */
static void site_forget_writes(struct kvmi__bp_site *s)
{
	if (s->inflight)
		s->inflight->s = NULL;
	s->inflight = NULL;
}

/* ---- registry ---- */

static size_t site_slot(const struct kvmi__hooks *hk, uint64_t gpa)
{
	return (size_t)((gpa * 0x9e3779b97f4a7c15ull) >> 20) & (hk->cap - 1);
}

struct kvmi__bp_site *kvmi__site_find(struct kvmi__hooks *hk, uint64_t gpa)
{
	size_t j;

	if (!hk || !hk->cap)
		return NULL;
	for (j = site_slot(hk, gpa); hk->table[j]; j = (j + 1) & (hk->cap - 1))
		if (hk->table[j]->gpa == gpa)
			return hk->table[j];
	return NULL;
}

int kvmi__site_put(struct kvmi__hooks *hk, struct kvmi__bp_site *s)
{
	size_t j;

	if ((hk->nsites + 1) * 2 > hk->cap) {
		size_t ncap = hk->cap ? hk->cap * 2 : 64;
		struct kvmi__bp_site **nt = kvmi__calloc(ncap, sizeof(*nt));

		if (!nt)
			return -ENOMEM;
		for (size_t i = 0; i < hk->cap; i++) {
			if (!hk->table[i])
				continue;
			j = (size_t)((hk->table[i]->gpa * 0x9e3779b97f4a7c15ull) >>
				     20) &
			    (ncap - 1);
			while (nt[j])
				j = (j + 1) & (ncap - 1);
			nt[j] = hk->table[i];
		}
		free(hk->table);
		hk->table = nt;
		hk->cap = ncap;
	}
	for (j = site_slot(hk, s->gpa); hk->table[j]; j = (j + 1) & (hk->cap - 1))
		;
	hk->table[j] = s;
	hk->nsites++;
	return 0;
}

void kvmi__site_del(struct kvmi__hooks *hk, struct kvmi__bp_site *s)
{
	size_t mask = hk->cap - 1, j, i;

	for (j = site_slot(hk, s->gpa); hk->table[j] != s; j = (j + 1) & mask)
		;
	hk->table[j] = NULL;
	hk->nsites--;
	/* backward-shift the rest of the probe run */
	for (i = (j + 1) & mask; hk->table[i]; i = (i + 1) & mask) {
		size_t home = site_slot(hk, hk->table[i]->gpa);

		if (((i - home) & mask) >= ((i - j) & mask)) {
			hk->table[j] = hk->table[i];
			hk->table[i] = NULL;
			j = i;
		}
	}
}

static void hooks_observe(struct kvmi_dom *dom, struct kvmi_event_ctx *ev,
			  void *state);
static uint64_t hooks_deadline(struct kvmi_dom *dom, void *state);
static void hooks_expire(struct kvmi_dom *dom, uint64_t now, void *state);
static void hooks_free(struct kvmi_dom *dom, void *state);

/* the hooks' attachment to a domain (see struct kvmi__ext_ops) */
static const struct kvmi__ext_ops hooks_ops = {
	.name = "hooks",
	.observe = hooks_observe,
	.closing = kvmi__hooks_closing,
	.drain = kvmi__hooks_drain,
	.free = hooks_free,
	.deadline = hooks_deadline,
	.expire = hooks_expire,
};

struct kvmi__hooks *kvmi__hooks_get(struct kvmi_dom *dom, bool create)
{
	struct kvmi__hooks *hk = kvmi__dom_ext(dom, &hooks_ops);

	if (hk || !create)
		return hk;
	hk = kvmi__calloc(1, sizeof(*hk));
	if (hk && kvmi__dom_attach(dom, &hooks_ops, hk) < 0) {
		free(hk);
		hk = NULL;
	}
	if (hk)
		kvmi__views_cleanup(dom, hk); /* v12: the host's safety net */
	return hk;
}

/* the domain's memory goes: forget everything (the guest's memory is
 * whatever the unhook, or the closing restores, made it) */
static void hooks_free(struct kvmi_dom *dom, void *state)
{
	struct kvmi__hooks *hk = state;

	(void)dom;
	for (size_t i = 0; i < hk->cap; i++) {
		struct kvmi__bp_site *s = hk->table[i];

		if (!s)
			continue;
		while (s->users) {
			struct kvmi_bp *u = s->users;

			s->users = u->next;
			free(u);
		}
		site_forget_writes(s);
		free(s);
	}
	free(hk->table);
	free(hk->pages);
	free(hk->msrs);
	free(hk->stepping);
	kvmi__views_free(&hk->views);
	free(hk);
}

/* ---- events the hooks need on every vCPU ---- */

static void on_new_vcpu_enabled(struct kvmi_dom *dom, int result, void *ctx)
{
	(void)ctx;
	if (!result || result == -ENOTCONN || !kvmi__dom_usable(dom))
		return;
	/* a vCPU without the events our hooks rely on would hand the
	 * guest a #BP at our INT3s: take everything back and close */
	kvmi__log(dom->srv, dom, KVMI_LOG_ERROR,
		  "enabling the hooks' events on a new vCPU failed: %s; "
		  "unhooking",
		  kvmi_strerror(result));
	kvmi_dom_unhook_async(dom, 0, NULL, NULL);
}

/* a new vCPU gets every event and intercept the others have, queued
 * before its CREATE_VCPU reply so it runs with them from the start */
static void new_vcpu(struct kvmi_dom *dom, struct kvmi__hooks *hk,
		     uint16_t v)
{
	struct kvmi_pipeline *b;
	int err = kvmi_pipeline_new(dom, 0, &b);

	for (unsigned e = 0; !err && e < KVMI_NUM_EVENTS; e++)
		if (hk->events & (1u << e))
			err = kvmi_pipeline_control_events(b, v, (uint16_t)e, 1);
	for (unsigned cr = 0; err >= 0 && cr < 5; cr++)
		if (hk->crs & (1u << cr))
			err = kvmi_pipeline_control_cr(b, v, cr, 1);
	for (size_t i = 0; err >= 0 && i < hk->nmsrs; i++)
		err = kvmi_pipeline_control_msr(b, v, hk->msrs[i], 1);
	if (err >= 0 && b && kvmi_pipeline_count(b))
		err = kvmi_pipeline_send(b, on_new_vcpu_enabled, NULL);
	else if (b)
		kvmi_pipeline_free(b);
	if (err < 0)
		on_new_vcpu_enabled(dom, err, NULL);
}

/* ---- breakpoints ---- */

/*
 * Writes on the hit path (restore before RETRY, re-arm) are not waited
 * for: the host handles a VM command before the event reply queued after
 * it, so the vCPU resumes on the byte we wrote, and the loop is not held
 * for a round trip per hit.  The site's armed flag is set at once; a
 * write that fails puts it back (the unhook verifies every byte anyway).
 */
/* consecutive failed restores of one site before the domain is unhooked:
 * each hit retries (the vCPU re-executes the INT3 and reports again) */
#define KVMI__RESTORE_TRIES 3

static void on_byte_written(struct kvmi_session *sess, struct kvmi__waiter *w)
{
	struct kvmi__byte_write *bw = (struct kvmi__byte_write *)w;
	struct kvmi_dom *dom = kvmi_session_user(sess);
	struct kvmi__bp_site *s = bw->s;

	if (s) {
		s->inflight = NULL;
		if (!w->result && bw->val != INT3)
			s->restore_failures = 0;
		if (w->result) {
			s->armed = bw->val != INT3;
			if (w->result != -ENOTCONN)
				kvmi__log(dom->srv, dom, KVMI_LOG_WARNING,
					  "writing 0x%02x at breakpoint gpa "
					  "0x%llx failed: %s",
					  bw->val, (unsigned long long)s->gpa,
					  kvmi_strerror(w->result));
			if (bw->val != INT3 && w->result != -ENOTCONN &&
			    ++s->restore_failures >= KVMI__RESTORE_TRIES) {
				kvmi__log(dom->srv, dom, KVMI_LOG_ERROR,
					  "the host refused %d restores of "
					  "breakpoint gpa 0x%llx: unhooking",
					  s->restore_failures,
					  (unsigned long long)s->gpa);
				kvmi_dom_unhook_async(dom, 0, NULL, NULL);
			}
		}
	}
	free(bw);
}

/* write @val at @s without waiting; sets s->armed to what the byte will
 * be; 0 or an error (nothing queued, s->armed unchanged) */
static int site_write(struct kvmi_dom *dom, struct kvmi__bp_site *s,
		      uint8_t val)
{
	struct kvmi__byte_write *bw = kvmi__calloc(1, sizeof(*bw));
	int err = bw ? 0 : -ENOMEM;

	if (bw) {
		bw->w.cb = on_byte_written;
		bw->s = s;
		bw->val = val;
		err = kvmi__write_physical_async(dom, s->gpa, &bw->val, 1,
						 &bw->w);
		if (err) {
			free(bw);
			bw = NULL;
		}
	}
	if (err)
		return err;
	if (s->inflight)
		s->inflight->s = NULL; /* this write decides */
	s->inflight = bw;
	s->armed = val == INT3;
	return 0;
}

/* ---- re-arming after a hit ---- */

static void rearm_unlink(struct kvmi__hooks *hk, struct kvmi__bp_site *s)
{
	if (s->rearm_vcpu < 0)
		return;
	if (s->rearm_prev)
		s->rearm_prev->rearm_next = s->rearm_next;
	else
		hk->rearm_head = s->rearm_next;
	if (s->rearm_next)
		s->rearm_next->rearm_prev = s->rearm_prev;
	else
		hk->rearm_tail = s->rearm_prev;
	s->rearm_next = s->rearm_prev = NULL;
	s->rearm_vcpu = -1;
}

/* ---- single-step re-arm ---- */

bool kvmi__hooks_can_step(struct kvmi_dom *dom)
{
	struct kvmi_host_features f;

	/* v6 has no feature block: all zero there */
	return kvmi_dom_features(dom, &f) == 0 && f.singlestep;
}

static void step_done(struct kvmi_dom *dom, int result, void *ctx)
{
	(void)ctx;
	if (result && result != -ENOTCONN && kvmi__dom_usable(dom))
		kvmi__log(dom->srv, dom, KVMI_LOG_WARNING,
			  "single-step control failed: %s (breakpoints "
			  "re-arm on the timer)",
			  kvmi_strerror(result));
}

/* the host steps vCPU @v (@on) or stops; not waited for: queued before
 * the event reply that lets the vCPU run, so it applies first */
static void step(struct kvmi_dom *dom, struct kvmi__hooks *hk, unsigned v,
		 bool on)
{
	if (on && v >= hk->nstepping) {
		unsigned int n = kvmi_dom_vcpu_count(dom);
		uint8_t *p;

		n = n > v ? n : v + 1;
		p = kvmi__realloc(hk->stepping, n);
		if (!p)
			return; /* the timer re-arms it */
		memset(p + hk->nstepping, 0, n - hk->nstepping);
		hk->stepping = p;
		hk->nstepping = n;
	}
	if (v >= hk->nstepping || hk->stepping[v] == on)
		return;
	if (kvmi_dom_control_singlestep_async(dom, (uint16_t)v, on, step_done,
					      NULL) == 0)
		hk->stepping[v] = on;
}

/* vCPU @v has no re-arm pending any more: stop stepping it */
static void step_off_if_done(struct kvmi_dom *dom, struct kvmi__hooks *hk,
			     int v)
{
	if (v < 0 || (unsigned)v >= hk->nstepping || !hk->stepping[v])
		return;
	for (struct kvmi__bp_site *s = hk->rearm_head; s; s = s->rearm_next)
		if (s->rearm_vcpu == v)
			return;
	step(dom, hk, (unsigned)v, false);
}

/* a SINGLESTEP event of a vCPU we made step: ours (answered here) */
static bool our_step(struct kvmi__hooks *hk, struct kvmi_event_ctx *ev)
{
	unsigned int v = kvmi_event_vcpu(ev);

	return kvmi_event_id(ev) == KVMI_EVENT_SINGLESTEP &&
	       v < hk->nstepping && hk->stepping[v];
}

/* write 0xCC back (the site stays disarmed if the write fails: the
 * domain is failing then) */
static void rearm(struct kvmi_dom *dom, struct kvmi__bp_site *s)
{
	struct kvmi__hooks *hk = kvmi__hooks_get(dom, false);
	int v = s->rearm_vcpu;

	rearm_unlink(hk, s);
	if (!s->armed && s->nusers)
		site_write(dom, s, INT3);
	step_off_if_done(dom, hk, v);
}

static uint64_t hooks_deadline(struct kvmi_dom *dom, void *state)
{
	struct kvmi__hooks *hk = state;

	(void)dom;
	return hk->rearm_head ? hk->rearm_head->rearm_at_ms : UINT64_MAX;
}

/* a vCPU that hit a breakpoint and then reported nothing for
 * KVMI__REARM_MS: write the INT3 back anyway.  If the vCPU has not yet
 * executed the restored instruction, it traps on the INT3 again and the
 * users' callbacks see that execution twice; the guest never sees a #BP. */
static void hooks_expire(struct kvmi_dom *dom, uint64_t now, void *state)
{
	struct kvmi__hooks *hk = state;

	while (hk->rearm_head && hk->rearm_head->rearm_at_ms <= now &&
	       kvmi__dom_usable(dom))
		rearm(dom, hk->rearm_head);
	kvmi__dom_output(dom);
}

static void rearm_add(struct kvmi_dom *dom, struct kvmi__bp_site *s,
		      int vcpu, uint64_t rip)
{
	struct kvmi__hooks *hk = kvmi__hooks_get(dom, false);
	bool stepping;

	rearm_unlink(hk, s);
	/* where the host steps, the vCPU's SINGLESTEP event after the
	 * restored instruction re-arms it, exactly */
	if (hk->ss_events == 2 && (hk->events & (1u << KVMI_EVENT_SINGLESTEP)))
		step(dom, hk, (unsigned)vcpu, true);
	stepping = (unsigned)vcpu < hk->nstepping && hk->stepping[vcpu];
	s->rearm_vcpu = vcpu;
	s->rearm_rip = rip;
	s->rearm_at_ms = kvmi__now_ms() +
			 (stepping ? KVMI__REARM_STEP_MS : KVMI__REARM_MS);
	s->rearm_prev = hk->rearm_tail;
	if (hk->rearm_tail)
		hk->rearm_tail->rearm_next = s;
	else
		hk->rearm_head = s;
	hk->rearm_tail = s;
	if (hk->rearm_head == s)
		kvmi__dom_timer_update(dom);
}

void kvmi__hooks_stop_rearm(struct kvmi_dom *dom)
{
	struct kvmi__hooks *hk = kvmi__hooks_get(dom, false);

	while (hk && hk->rearm_head)
		rearm_unlink(hk, hk->rearm_head);
	kvmi__dom_timer_update(dom);
}

/* unlink @u from its site; when it was the last user, restore the byte
 * (if armed) and forget the site */
static int drop_user(struct kvmi_dom *dom, struct kvmi_bp *u)
{
	struct kvmi__bp_site *s = u->site;
	struct kvmi_bp **pp;
	int err = 0;

	for (pp = &s->users; *pp; pp = &(*pp)->next)
		if (*pp == u) {
			*pp = u->next;
			break;
		}
	free(u);
	if (--s->nusers)
		return 0;
	if (s->armed)
		err = site_write(dom, s, s->orig); /* answered later: logged */
	rearm_unlink(kvmi__hooks_get(dom, false), s);
	site_forget_writes(s);
	kvmi__site_del(kvmi__hooks_get(dom, false), s);
	free(s);
	return err;
}

KVMI_EXPORT int kvmi_bp_remove(struct kvmi_bp *bp)
{
	struct kvmi_dom *dom;

	if (!bp)
		return -EINVAL;
	dom = bp->site->dom;
	if (bp->site->busy) {
		bp->remove = true; /* from inside a hit: after the callbacks */
		return 0;
	}
	return drop_user(dom, bp);
}

KVMI_EXPORT size_t kvmi_bp_count(const struct kvmi_dom *dom)
{
	struct kvmi__hooks *hk =
		dom ? kvmi__dom_ext(dom, &hooks_ops) : NULL;

	return hk ? hk->nsites : 0;
}

KVMI_EXPORT uint64_t kvmi_bp_hits(const struct kvmi_dom *dom)
{
	struct kvmi__hooks *hk =
		dom ? kvmi__dom_ext(dom, &hooks_ops) : NULL;

	return hk ? hk->hits : 0;
}

/* a BREAKPOINT at one of our sites (others are not ours: they go on to
 * the tool's handlers, and by default the guest gets its own #BP) */
static void on_breakpoint(struct kvmi_dom *dom, struct kvmi__hooks *hk,
			  struct kvmi_event_ctx *ev, struct kvmi__bp_site *s)
{
	uint64_t gpa = s->gpa;
	struct kvmi_bp *u, *next;

	hk->hits++;
	s->hits++;
	s->busy = true; /* users may not free the site under us */
	for (u = s->users; u; u = next) {
		next = u->next;
		if (u->cb && u->cb(dom, ev, gpa, u->ctx) == 1)
			u->remove = true;
	}
	s->busy = false;
	/* the guest executes its own instruction: restore, then RETRY */
	if (s->armed)
		site_write(dom, s, s->orig);
	for (u = s->users; u; u = next) {
		next = u->next;
		if (u->remove) {
			if (s->nusers == 1) {
				drop_user(dom, u); /* frees the site */
				s = NULL;
				break;
			}
			drop_user(dom, u);
		}
	}
	if (s && !s->armed) /* re-armed when this vCPU shows it moved on */
		rearm_add(dom, s, (int)kvmi_event_vcpu(ev),
			  kvmi_event_common(ev)->arch.regs.rip);
	kvmi_event_reply(ev, KVMI_EVENT_ACTION_RETRY);
}

static void hooks_observe(struct kvmi_dom *dom, struct kvmi_event_ctx *ev,
			  void *state)
{
	struct kvmi__hooks *hk = state;
	int vcpu = (int)kvmi_event_vcpu(ev);
	uint64_t rip = kvmi_event_common(ev)->arch.regs.rip;
	struct kvmi__bp_site *s, *next;
	bool changed = false, ours;

	if (hk->unhooking) {
		/* our bytes are being restored (the restore went out before
		 * this reply will): the vCPU re-executes the guest's own
		 * instruction; nothing is re-armed any more */
		if (our_step(hk, ev)) {
			kvmi_event_reply(ev, KVMI_EVENT_ACTION_CONTINUE);
			return;
		}
		if (kvmi_event_id(ev) != KVMI_EVENT_BREAKPOINT)
			return;
		if (kvmi__site_find(hk, kvmi_event_data(ev)->breakpoint.gpa))
			kvmi_event_reply(ev, KVMI_EVENT_ACTION_RETRY);
		else
			ev->default_ok = true; /* the guest's own INT3 */
		return;
	}

	/* a step of ours, told before its re-arm may stop the stepping */
	ours = our_step(hk, ev);
	/* the pending list is short: about one site per vCPU */
	for (s = hk->rearm_head; s; s = next) {
		next = s->rearm_next;
		if (s->rearm_vcpu != vcpu || s->rearm_rip == rip)
			continue;
		changed |= s == hk->rearm_head;
		rearm(dom, s); /* unlinks s only; next stays valid */
	}
	if (changed)
		kvmi__dom_timer_update(dom);
	if (ours) {
		/* the step we asked for: its re-arms are done above (the rip
		 * moved) or wait for the next one (it did not: an exit
		 * before the instruction completed) */
		step_off_if_done(dom, hk, vcpu);
		kvmi_event_reply(ev, KVMI_EVENT_ACTION_CONTINUE);
		return;
	}
	switch (kvmi_event_id(ev)) {
	case KVMI_EVENT_BREAKPOINT:
		s = kvmi__site_find(hk, kvmi_event_data(ev)->breakpoint.gpa);
		/* a site whose INT3 is not written yet: not ours (yet) */
		if (s && !(s->placing && !s->armed))
			on_breakpoint(dom, hk, ev, s);
		else
			ev->default_ok = true; /* the guest's own INT3: its
						* #BP, unless a handler says */
		break;
	case KVMI_EVENT_CREATE_VCPU:
		new_vcpu(dom, hk, (uint16_t)vcpu);
		break;
	}
}

