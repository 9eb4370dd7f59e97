/*
 * libkvmi - unhook.c: take every hook back and close the channel, within
 * a deadline, with pipelined batches sent asynchronously (see
 * include/kvmi/hooks.h for the order and why): restore -> events off ->
 * answer open events -> verify -> re-apply once -> verify -> views
 * destroyed and gfns freed (kvmi-v7, once every vCPU is back) -> close.
 * The EPT-view items of each step come from views.c.  Each
 * step is one batch; its completion starts the next, so an unhook never
 * holds the loop and many guests unhook at once.  Also the best-effort
 * restores sent when the library closes a domain on its own.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kvmi/domain-v7.h>

#include "alloc.h"
#include "hooks_int.h"
#include "internal.h"

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000;
}

enum step {
	STEP_RESTORE,
	STEP_DISABLE,
	STEP_VERIFY,
	STEP_REAPPLY,
	STEP_VERIFY_AGAIN,
	STEP_TEARDOWN,
};

struct run {
	struct kvmi_dom *dom;
	struct kvmi__hooks *hk;
	struct kvmi_unhook_report r;
	uint64_t t0, deadline;
	size_t writes0; /* the domain's write(2) count at the start */
	enum step step;
	bool sync; /* a synchronous kvmi_dom_unhook waits on it */
	struct kvmi__bp_site **sites; /* every site, for indexed results */
	size_t nsites, npages;
	uint8_t *byte_ok, *page_ok;
	uint8_t *bytes, *access; /* what verify read */
	uint64_t *gfns;
	size_t disabled; /* items of the disable batch */
	unsigned int view_items; /* ... of them EPT-view undoing */
	size_t vpages;	 /* pages restricted in views other than 0 */
	bool vpages_ok;	 /* their restore confirmed (see can_read_access) */
	unsigned int vcpus_back; /* switched vCPUs read back on their view */
	kvmi_unhook_done_cb cb;
	void *ctx;
};

static void step_done(struct kvmi_dom *dom, int result, void *ctx);

/* the next step's commands get what is left of the deadline as their
 * timeout (a host that stops answering fails the domain at the
 * deadline); 0 when it passed */
static int time_left(struct run *u)
{
	uint64_t now = now_us();
	unsigned int ms;

	if (now >= u->deadline)
		return 0;
	ms = (unsigned int)((u->deadline - now + 999) / 1000);
	kvmi_dom_set_command_timeout(u->dom, ms ? ms : 1);
	return 1;
}

static int send_step(struct run *u, struct kvmi_pipeline *b)
{
	return kvmi__pipeline_send_flagged(b, step_done, u, u->sync);
}

/* restore bytes and page access (what is not verified yet); replies off */
static int restore(struct run *u, bool only_wrong)
{
	struct kvmi_pipeline *b;
	int err;

	err = kvmi_pipeline_new(u->dom, KVMI_PIPELINE_NO_REPLIES, &b);
	if (err)
		return err;
	for (size_t i = 0; i < u->nsites && err >= 0; i++) {
		struct kvmi__bp_site *s = u->sites[i];

		if (only_wrong ? u->byte_ok[i] : !s->armed)
			continue;
		err = kvmi_pipeline_write_physical(b, s->gpa, &s->orig, 1);
	}
	for (size_t i = 0; i < u->npages && err >= 0; i++) {
		struct kvmi_page_access_entry e = {
			.gpa = u->hk->pages[i].gfn << KVMI_PAGE_SHIFT,
			.access = u->hk->pages[i].prev};

		if (only_wrong && u->page_ok[i])
			continue;
		err = kvmi_pipeline_set_page_access(b, &e, 1);
	}
	/* the other views' pages (before any view is destroyed); a re-apply
	 * sends the vCPUs found off their view back again */
	if (err >= 0)
		err = only_wrong ? kvmi__views_reapply(b, u->hk)
				 : kvmi__views_restore(b, u->hk);
	if (err < 0) {
		kvmi_pipeline_free(b);
		return err;
	}
	return send_step(u, b);
}

/* turn off every event and intercept we turned on; answered by the vCPUs
 * themselves, so every event they sent before is in our queue after it */
static int disable(struct run *u)
{
	struct kvmi__hooks *hk = u->hk;
	unsigned int nv = kvmi_dom_vcpu_count(u->dom);
	struct kvmi_pipeline *b;
	int err;

	err = kvmi_pipeline_new(u->dom, 0, &b);
	if (err)
		return err;
	for (unsigned int v = 0; v < nv && err >= 0; v++) {
		for (unsigned int e = 0; e < KVMI_NUM_EVENTS && err >= 0; e++)
			if (hk->events & (1u << e))
				err = kvmi_pipeline_control_events(
				    b, (uint16_t)v, (uint16_t)e, 0);
		for (unsigned int cr = 0; cr < 5 && err >= 0; cr++)
			if (hk->crs & (1u << cr))
				err = kvmi_pipeline_control_cr(b, (uint16_t)v,
							       cr, 0);
		for (size_t i = 0; i < hk->nmsrs && err >= 0; i++)
			err = kvmi_pipeline_control_msr(b, (uint16_t)v,
							hk->msrs[i], 0);
	}
	/* the vCPUs we left single-stepping past a restored INT3 */
	for (unsigned int v = 0; v < hk->nstepping && err >= 0; v++)
		if (hk->stepping[v]) {
			err = kvmi_pipeline_control_singlestep(b, (uint16_t)v,
							       0);
			hk->stepping[v] = 0;
		}
	if (hk->create_on && err >= 0)
		err = kvmi_pipeline_control_vm_events(b, KVMI_EVENT_CREATE_VCPU,
						      0);
	/* views invisible, vCPUs back on their first view, #VE off: vCPU
	 * commands, answered before the views go (teardown) */
	if (err >= 0)
		err = kvmi__views_disable(b, hk, &u->view_items);
	if (err < 0) {
		kvmi_pipeline_free(b);
		return err;
	}
	u->disabled = kvmi_pipeline_count(b) - u->view_items;
	return send_step(u, b);
}

/* the answer to an event open while the hooks are taken back: a
 * BREAKPOINT at one of our (restored) addresses RETRY - the vCPU re-runs
 * the guest's own instruction -, every other event CONTINUE */
static uint8_t closing_action(struct kvmi__hooks *hk,
			      struct kvmi_event_ctx *ev)
{
	if (kvmi_event_id(ev) == KVMI_EVENT_BREAKPOINT &&
	    kvmi__site_find(hk, kvmi_event_data(ev)->breakpoint.gpa))
		return KVMI_EVENT_ACTION_RETRY;
	return KVMI_EVENT_ACTION_CONTINUE;
}

/* answer every event still open: ours (BREAKPOINT at a restored address)
 * RETRY, the rest the default */
static void answer_events(struct run *u)
{
	struct kvmi_event_ctx *evs[64];
	size_t n;

	while ((n = kvmi_dom_held_events(u->dom, evs, 64)) > 0) {
		size_t got = n < 64 ? n : 64, done = 0;

		for (size_t i = 0; i < got; i++) {
			struct kvmi_event_ctx *ev = evs[i];

			if (!kvmi_event_reply(ev, closing_action(u->hk, ev))) {
				u->r.events_replied++;
				done++;
			}
		}
		if (!done)
			break; /* connection gone */
	}
}

/* GET_PAGE_ACCESS exists in v6 only: on kvmi-v7 and v12 a page's
 * restore is confirmed by the host's answer to the SET itself (a refused
 * one ends the restore step with its error) */
static bool can_read_access(const struct run *u)
{
	return !kvmi__dialect_lacks(kvmi_dom_dialect(u->dom),
				    KVMI_GET_PAGE_ACCESS);
}

/* read everything back */
static int verify(struct run *u)
{
	struct kvmi_pipeline *b;
	int err;

	err = kvmi_pipeline_new(u->dom, 0, &b);
	if (err)
		return err;
	for (size_t i = 0; i < u->nsites && err >= 0; i++)
		err = kvmi_pipeline_read_physical(b, u->sites[i]->gpa,
						  &u->bytes[i], 1);
	for (size_t i = 0; i < u->npages; i++)
		u->gfns[i] = u->hk->pages[i].gfn << KVMI_PAGE_SHIFT;
	if (err >= 0 && u->npages && can_read_access(u))
		err = kvmi_pipeline_get_page_access(b, u->gfns, u->access,
						    u->npages);
	if (err >= 0)
		err = kvmi__views_verify(b, u->hk);
	if (err < 0) {
		kvmi_pipeline_free(b);
		return err;
	}
	return send_step(u, b);
}

/* what the last verify found wrong */
static size_t judge(struct run *u)
{
	size_t wrong = 0;

	for (size_t i = 0; i < u->nsites; i++) {
		u->byte_ok[i] = u->bytes[i] == u->sites[i]->orig;
		wrong += !u->byte_ok[i];
	}
	for (size_t i = 0; i < u->npages; i++) {
		u->page_ok[i] = !can_read_access(u) ||
				u->access[i] == u->hk->pages[i].prev;
		wrong += !u->page_ok[i];
	}
	/* pages in other views: kvmi-v7 only, confirmed like view 0's */
	u->vpages_ok = true;
	wrong += kvmi__views_judge(u->hk, &u->vcpus_back);
	return wrong;
}

static void run_free(struct run *u)
{
	free(u->sites);
	free(u->byte_ok);
	free(u->page_ok);
	free(u->bytes);
	free(u->access);
	free(u->gfns);
	free(u);
}

static void finish(struct run *u, int err)
{
	struct kvmi_dom *dom = u->dom;

	if (!err && now_us() >= u->deadline)
		err = KVMI_E_DEADLINE;
	if (err == -ETIMEDOUT)
		err = KVMI_E_DEADLINE;
	for (size_t i = 0; i < u->nsites; i++)
		u->r.bps_restored += u->byte_ok[i];
	for (size_t i = 0; i < u->npages; i++)
		u->r.pages_restored += u->page_ok[i];
	if (u->vpages_ok)
		u->r.pages_restored += (unsigned int)u->vpages;
	u->r.vcpu_views_restored = u->vcpus_back;
	if (kvmi__dom_usable(dom))
		answer_events(u);
	kvmi_dom_close(dom);
	u->r.result = err;
	u->r.writes = (unsigned int)(dom->writes - u->writes0);
	u->r.elapsed_us = now_us() - u->t0;
	kvmi__log(dom->srv, dom, err ? KVMI_LOG_ERROR : KVMI_LOG_INFO,
		  "unhook: result=%s bps=%u/%u pages=%u/%u intercepts_off=%u "
		  "events_replied=%u reapplied=%u vcpu_views=%u/%u "
		  "view_items_off=%u views_destroyed=%u gfns_freed=%u "
		  "writes=%u elapsed_us=%llu",
		  err ? kvmi_err_name(err) : "ok", u->r.bps_restored, u->r.bps,
		  u->r.pages_restored, u->r.pages, u->r.intercepts_disabled,
		  u->r.events_replied, u->r.reapplied, u->r.vcpu_views_restored,
		  u->r.vcpu_views, u->r.view_items_disabled,
		  u->r.views_destroyed, u->r.gfns_freed, u->r.writes,
		  (unsigned long long)u->r.elapsed_us);
	if (u->hk)
		u->hk->unhook = NULL;
	if (u->cb)
		u->cb(dom, &u->r, u->ctx);
	kvmi_dom_unref(dom);
	run_free(u);
}

/* every vCPU is back on its first view: destroy the views we created and
 * free the gfns we allocated (replies on: their answers confirm it); 1
 * (done) when there are none */
static int teardown(struct run *u)
{
	struct kvmi_pipeline *b;
	int err;

	if (!u->hk->views.ncreated && !u->hk->views.ngfns)
		return 1;
	err = kvmi_pipeline_new(u->dom, 0, &b);
	if (err)
		return err;
	err = kvmi__views_teardown(b, u->hk);
	if (err < 0) {
		kvmi_pipeline_free(b);
		return err;
	}
	u->step = STEP_TEARDOWN;
	return send_step(u, b);
}

/* start the step after @u->step; 0, or the error that ends the run */
static int next(struct run *u)
{
	size_t wrong;

	switch (u->step) {
	case STEP_RESTORE:
		/* 2. events and intercepts off, confirmed by every vCPU */
		for (size_t i = 0; i < u->nsites; i++)
			u->sites[i]->armed = false;
		u->step = STEP_DISABLE;
		return time_left(u) ? disable(u) : KVMI_E_DEADLINE;
	case STEP_DISABLE:
		u->r.intercepts_disabled += (unsigned int)u->disabled;
		u->r.view_items_disabled += u->view_items;
		/* 3. every event still open gets its answer; 4. read back */
		answer_events(u);
		u->step = STEP_VERIFY;
		return time_left(u) ? verify(u) : KVMI_E_DEADLINE;
	case STEP_VERIFY:
		wrong = judge(u);
		if (!wrong)
			return time_left(u) ? teardown(u) : KVMI_E_DEADLINE;
		/* re-apply once what did not stick */
		u->r.reapplied = (unsigned int)wrong;
		u->step = STEP_REAPPLY;
		return time_left(u) ? restore(u, true) : KVMI_E_VERIFY;
	case STEP_REAPPLY:
		u->step = STEP_VERIFY_AGAIN;
		return time_left(u) ? verify(u) : KVMI_E_VERIFY;
	case STEP_VERIFY_AGAIN:
		if (judge(u))
			return KVMI_E_VERIFY; /* no view goes under a vCPU */
		return time_left(u) ? teardown(u) : KVMI_E_DEADLINE;
	case STEP_TEARDOWN:
		u->r.views_destroyed = (unsigned int)u->hk->views.ncreated;
		u->r.gfns_freed = (unsigned int)u->hk->views.ngfns;
		u->hk->views.ncreated = 0;
		u->hk->views.ngfns = 0;
		return 1;
	}
	return -EINVAL;
}

static void step_done(struct kvmi_dom *dom, int result, void *ctx)
{
	struct run *u = ctx;
	int err = result;

	(void)dom;
	if (!err)
		err = next(u);
	if (err)
		finish(u, err == 1 ? 0 : err);
}

static int run_start(struct kvmi_dom *dom, unsigned int deadline_ms,
		     bool sync, kvmi_unhook_done_cb cb, void *ctx)
{
	struct run *u;
	int err = 0;

	if (!dom)
		return -EINVAL;
	u = kvmi__calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->dom = dom;
	u->sync = sync;
	u->cb = cb;
	u->ctx = ctx;
	u->r.size = sizeof(u->r);
	u->t0 = now_us();
	u->writes0 = dom->writes;
	if (!deadline_ms)
		deadline_ms = dom->sess->cfg.command_timeout_ms;
	u->deadline = u->t0 + (uint64_t)deadline_ms * 1000;
	kvmi_dom_ref(dom);
	u->hk = kvmi__hooks_get(dom, true);
	if (u->hk && u->hk->unhook) {
		kvmi_dom_unref(dom);
		free(u);
		return -EALREADY;
	}
	if (u->hk) {
		u->hk->unhook = u;
		u->hk->unhooking = true;
		kvmi__hooks_stop_rearm(dom); /* nothing goes back in now */
		u->npages = u->hk->npages;
		u->sites = kvmi__calloc(u->hk->nsites + 1, sizeof(*u->sites));
		u->byte_ok = kvmi__calloc(u->hk->nsites + 1, 1);
		u->bytes = kvmi__calloc(u->hk->nsites + 1, 1);
		u->page_ok = kvmi__calloc(u->npages + 1, 1);
		u->access = kvmi__calloc(u->npages + 1, 1);
		u->gfns = kvmi__calloc(u->npages + 1, sizeof(*u->gfns));
	}
	if (!u->hk || !kvmi__dom_usable(dom))
		err = u->hk ? -ENOTCONN : -ENOMEM;
	else if (!u->sites || !u->byte_ok || !u->bytes || !u->page_ok ||
		 !u->access || !u->gfns)
		err = -ENOMEM;
	if (!err) {
		/* a site whose INT3 was never sent has nothing to restore
		 * (its placement fails now: see place.c) */
		for (size_t i = 0; i < u->hk->cap; i++) {
			struct kvmi__bp_site *s = u->hk->table[i];

			if (s && !(s->placing && !s->armed))
				u->sites[u->nsites++] = s;
		}
		u->r.bps = (unsigned int)u->nsites;
		u->vpages = kvmi__views_pages(u->hk);
		u->r.pages = (unsigned int)(u->npages + u->vpages);
		u->r.vcpu_views = kvmi__views_switched(u->hk);
		/* 1. bytes first (BREAKPOINT events still on), then pages */
		u->step = STEP_RESTORE;
		err = time_left(u) ? restore(u, false) : KVMI_E_DEADLINE;
	}
	if (err) {
		/* nothing is in flight: the run ends here, the tool still
		 * hears of it through @cb (from here: we are in its call) */
		finish(u, err);
	}
	return 0;
}

KVMI_EXPORT int kvmi_dom_unhook_async(struct kvmi_dom *dom,
				      unsigned int deadline_ms,
				      kvmi_unhook_done_cb cb, void *ctx)
{
	return run_start(dom, deadline_ms, false, cb, ctx);
}

struct sync_unhook {
	struct kvmi__sync sc;
	struct kvmi_unhook_report *report;
};

static void sync_done(struct kvmi_dom *dom, const struct kvmi_unhook_report *r,
		      void *ctx)
{
	struct sync_unhook *su = ctx;

	(void)dom;
	if (su->report) {
		size_t n = su->report->size && su->report->size < sizeof(*r)
				   ? su->report->size
				   : sizeof(*r);

		memcpy(su->report, r, n);
		su->report->size = n;
	}
	su->sc.result = r->result;
	su->sc.done = true;
}

KVMI_EXPORT int kvmi_dom_unhook(struct kvmi_dom *dom, unsigned int deadline_ms,
				struct kvmi_unhook_report *report)
{
	struct sync_unhook su = {.report = report};
	int err;

	kvmi_dom_ref(dom);
	err = run_start(dom, deadline_ms, true, sync_done, &su);
	if (!err && !su.sc.done)
		kvmi__dom_sync_wait(dom, &su.sc);
	kvmi_dom_unref(dom);
	return err ? err : su.sc.result;
}

/* ---- best effort, when the library closes a domain on its own ---- */

/*
 * Answer every open event of a closing domain (its restores queued): a
 * vCPU stopped on one of our INT3s re-runs the restored instruction
 * (RETRY) instead of taking a #BP; every other event CONTINUE.  The
 * number answered.
 */
static unsigned int answer_open(struct kvmi_dom *dom, struct kvmi__hooks *hk)
{
	struct kvmi_session *s = dom->sess;
	unsigned int events = 0;
	uint8_t *where;

	for (;;) {
		struct kvmi_event_ctx *ev;
		int n;

		if (!kvmi_session_open_events(s, &ev, 1) ||
		    kvmi__out_reserve(s, KVMI_ENCODE_MAX, &where))
			break;
		n = kvmi__event_encode_reply(ev, where, KVMI_ENCODE_MAX,
					     closing_action(hk, ev), NULL, 0);
		if (n > 0) {
			kvmi__out_commit(s, (size_t)n);
			events++;
		}
		kvmi__event_release(ev);
	}
	return events;
}

/* the closing drain read more events: answer them the same way */
void kvmi__hooks_drain(struct kvmi_dom *dom, void *state)
{
	unsigned int n = answer_open(dom, state);

	if (n)
		kvmi__log(dom->srv, dom, KVMI_LOG_INFO,
			  "closing: answered %u more events that arrived "
			  "meanwhile",
			  n);
}

/*
 * Queue, without waiting for anything (the domain is closing: no reply
 * will be read), the restore of every armed breakpoint byte and every
 * restricted page (the host turns every event off when the channel
 * closes), single-step off, and every EPT-view hook undone (views.c);
 * the domain flushes them, bounded, before it closes.
 */
unsigned int kvmi__hooks_closing(struct kvmi_dom *dom, bool by_tool,
				  void *state)
{
	struct kvmi__hooks *hk = state;
	struct kvmi_session *s = dom->sess;
	unsigned int bps = 0, pages = 0, events = 0, stepping = 0, views = 0;
	uint8_t *where;

	/* an unhook closes the domain as its last step: it restored what
	 * it could and said so in its report */
	if (by_tool && hk->unhooking)
		return 0;

	for (size_t i = 0; i < hk->cap; i++) {
		struct kvmi__bp_site *site = hk->table[i];
		int n;

		if (!site || !site->armed ||
		    kvmi__out_reserve(s, KVMI_ENCODE_MAX, &where))
			continue;
		n = kvmi_encode_write_physical_d(s->dialect, where,
						 KVMI_ENCODE_MAX,
						 kvmi_seq_next(&s->seq),
						 site->gpa, &site->orig, 1);
		if (n > 0) {
			kvmi__out_commit(s, (size_t)n);
			bps++;
		}
	}
	for (size_t i = 0; i < hk->npages; i++) {
		struct kvmi_page_access_entry e = {
			.gpa = hk->pages[i].gfn << KVMI_PAGE_SHIFT,
			.access = hk->pages[i].prev};
		int n;

		if (kvmi__out_reserve(s, KVMI_ENCODE_MAX, &where))
			continue;
		n = kvmi_encode_set_page_access_d(s->dialect, where,
						  KVMI_ENCODE_MAX,
						  kvmi_seq_next(&s->seq), 0,
						  &e, 1);
		if (n > 0) {
			kvmi__out_commit(s, (size_t)n);
			pages++;
		}
	}
	/* the vCPUs we left single-stepping, then the EPT views */
	for (unsigned int v = 0; v < hk->nstepping; v++) {
		int n;

		if (!hk->stepping[v] ||
		    kvmi__out_reserve(s, KVMI_ENCODE_MAX, &where))
			continue;
		n = kvmi_encode_control_singlestep_d(s->dialect, where,
						     KVMI_ENCODE_MAX,
						     kvmi_seq_next(&s->seq),
						     (uint16_t)v, 0);
		if (n > 0) {
			kvmi__out_commit(s, (size_t)n);
			hk->stepping[v] = 0;
			stepping++;
		}
	}
	views = kvmi__views_closing(dom, hk);
	events = answer_open(dom, hk);
	if (bps + pages + stepping + views + events)
		kvmi__log(dom->srv, dom, KVMI_LOG_WARNING,
			  "closing %s: sent the restore of %u breakpoints "
			  "and %u pages, single-step off on %u vCPUs, %u "
			  "EPT-view restores and the answer to %u open events "
			  "(unconfirmed)",
			  by_tool ? "(the tool closes it without an unhook)"
				  : "on the library's own initiative",
			  bps, pages, stepping, views, events);
	return bps + pages + stepping + views;
}

/* ---- unhook as every domain's KVMI_EVENT_UNHOOK handler ---- */

struct on_event_cfg {
	unsigned int deadline_ms;
	kvmi_unhook_before_cb before;
	kvmi_unhook_after_cb after;
	void *ctx;
};

static void unhook_handler(struct kvmi_dom *dom, void *ctx)
{
	struct on_event_cfg *c = ctx;

	if (c->before)
		c->before(dom, c->ctx);
	kvmi_dom_unhook_async(dom, c->deadline_ms, c->after, c->ctx);
}

KVMI_EXPORT int kvmi_server_unhook_on_event(struct kvmi_server *srv,
					    unsigned int deadline_ms,
					    kvmi_unhook_before_cb before,
					    kvmi_unhook_after_cb after,
					    void *ctx)
{
	struct on_event_cfg *c;
	int err;

	if (!srv)
		return -EINVAL;
	c = kvmi__calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	*c = (struct on_event_cfg){deadline_ms, before, after, ctx};
	err = kvmi__server_on_unhook_owned(srv, unhook_handler, c, free);
	if (err)
		free(c);
	return err;
}
