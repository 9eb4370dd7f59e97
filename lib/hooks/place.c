/*
 * libkvmi - place.c: placing hooks, asynchronously (each one a short
 * chain of pipelined batches; the tool hears the outcome from the loop)
 * with synchronous forms on top: intercepts and events tracked on every
 * vCPU, INT3 breakpoints (original byte read, BREAKPOINT events confirmed
 * on every vCPU before the first INT3 is written), page restrictions
 * (previous access read first).  The registry and the hit path are in
 * hooks.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "hooks_int.h"
#include "internal.h"

#define INT3 0xcc

/* ---- the tool's callback, from the loop ---- */

struct deferred {
	struct kvmi__waiter w; /* first */
	struct kvmi_dom *dom;
	kvmi_dom_cmd_cb cb;
	void *ctx;
};

static void deferred_run(struct kvmi_session *s, struct kvmi__waiter *w)
{
	struct deferred *d = (struct deferred *)w;

	(void)s;
	d->cb(d->dom, w->result, d->ctx);
	kvmi_dom_unref(d->dom);
	free(d);
}

/* call @cb(dom, result, ctx) from the next dispatch (at once when it is
 * the wait of a synchronous call, which is running one) */
static void tell(struct kvmi_dom *dom, kvmi_dom_cmd_cb cb, void *ctx,
		 int result)
{
	struct deferred *d;

	if (cb == kvmi__sync_cb) {
		cb(dom, result, ctx);
		return;
	}
	d = kvmi__calloc(1, sizeof(*d));
	if (!d) {
		cb(dom, result, ctx); /* no memory to wait: now */
		return;
	}
	d->w.cb = deferred_run;
	d->dom = dom;
	d->cb = cb;
	d->ctx = ctx;
	kvmi_dom_ref(dom);
	kvmi__waiter_finish(dom->sess, &d->w, result);
	kvmi__dom_schedule_dispatch(dom);
}

/* a batch of the hooks' own: delivered also while a synchronous call
 * waits, since that call may be waiting for the chain it belongs to */
static int send_own(struct kvmi_pipeline *b, kvmi_dom_cmd_cb cb, void *ctx)
{
	return kvmi__pipeline_send_flagged(b, cb, ctx, true);
}


/* ---- intercepts and events on every vCPU ---- */

enum what { EVENT, CR, MSR };

struct control {
	enum what what;
	uint32_t arg;
	int enable;
	kvmi_dom_cmd_cb cb;
	void *ctx;
};

static int track_msr(struct kvmi__hooks *hk, uint32_t msr, int enable)
{
	size_t i;

	for (i = 0; i < hk->nmsrs && hk->msrs[i] != msr; i++)
		;
	if (enable && i == hk->nmsrs) {
		uint32_t *n = kvmi__realloc(hk->msrs,
					    (hk->nmsrs + 1) * sizeof(*n));

		if (!n)
			return -ENOMEM;
		hk->msrs = n;
		hk->msrs[hk->nmsrs++] = msr;
	} else if (!enable && i < hk->nmsrs) {
		hk->msrs[i] = hk->msrs[--hk->nmsrs];
	}
	return 0;
}

static void control_done(struct kvmi_dom *dom, int result, void *ctx)
{
	struct control *c = ctx;
	struct kvmi__hooks *hk = kvmi__hooks_get(dom, false);
	uint32_t bit = 1u << (c->arg & 31);

	if (!result && hk) {
		switch (c->what) {
		case EVENT:
			hk->events = c->enable ? hk->events | bit
					       : hk->events & ~bit;
			break;
		case CR:
			hk->crs = c->enable ? hk->crs | bit : hk->crs & ~bit;
			break;
		case MSR:
			result = track_msr(hk, c->arg, c->enable);
			break;
		}
	}
	c->cb(dom, result, c->ctx);
	free(c);
}

static void create_vcpu_done(struct kvmi_dom *dom, int result, void *ctx)
{
	struct kvmi__hooks *hk = kvmi__hooks_get(dom, false);

	(void)ctx;
	/* a host that refuses CREATE_VCPU still works for the vCPUs it has */
	if (hk && !result)
		hk->create_on = true;
}

/* switch @arg on or off on every vCPU (one batch; on the first switch on,
 * KVMI_EVENT_CREATE_VCPU too, so new vCPUs get what the others have) */
static int control_async(struct kvmi_dom *dom, enum what what, uint32_t arg,
			 int enable, kvmi_dom_cmd_cb cb, void *ctx)
{
	struct kvmi__hooks *hk;
	struct kvmi_pipeline *b;
	struct control *c;
	int err;

	if (!dom || !cb)
		return -EINVAL;
	hk = kvmi__hooks_get(dom, true);
	if (!hk)
		return -ENOMEM;
	if (!hk->create_on && enable) {
		err = kvmi_pipeline_new(dom, 0, &b);
		if (err)
			return err;
		/* a dialect without CREATE_VCPU as a VM event (v12) works
		 * like a host that refuses it: the vCPUs it has */
		if (kvmi_pipeline_control_vm_events(b, KVMI_EVENT_CREATE_VCPU,
						    1) >= 0) {
			err = send_own(b, create_vcpu_done, NULL);
			if (err < 0)
				return err;
		} else {
			kvmi_pipeline_free(b);
		}
	}
	c = kvmi__calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	*c = (struct control){what, arg, enable, cb, ctx};
	err = kvmi_pipeline_new(dom, 0, &b);
	for (unsigned v = 0; err >= 0 && v < kvmi_dom_vcpu_count(dom); v++)
		err = what == EVENT ? kvmi_pipeline_control_events(
					      b, (uint16_t)v, (uint16_t)arg,
					      enable)
		      : what == CR ? kvmi_pipeline_control_cr(b, (uint16_t)v, arg,
							   enable)
				   : kvmi_pipeline_control_msr(b, (uint16_t)v, arg,
							    enable);
	if (err >= 0)
		err = send_own(b, control_done, c); /* frees b */
	else if (b)
		kvmi_pipeline_free(b);
	if (err < 0)
		free(c);
	return err < 0 ? err : 0;
}

KVMI_EXPORT int kvmi_hooks_control_event_async(struct kvmi_dom *dom,
					       uint16_t event_id, int enable,
					       kvmi_dom_cmd_cb cb, void *ctx)
{
	if (event_id >= KVMI_NUM_EVENTS)
		return -EINVAL;
	return control_async(dom, EVENT, event_id, enable, cb, ctx);
}

KVMI_EXPORT int kvmi_hooks_control_event(struct kvmi_dom *dom,
					 uint16_t event_id, int enable)
{
	SYNC(dom, kvmi_hooks_control_event_async(dom, event_id, enable, SCB));
}

KVMI_EXPORT int kvmi_hooks_control_cr_async(struct kvmi_dom *dom, uint32_t cr,
					    int enable, kvmi_dom_cmd_cb cb,
					    void *ctx)
{
	if (cr != 0 && cr != 3 && cr != 4)
		return -EINVAL;
	return control_async(dom, CR, cr, enable, cb, ctx);
}

KVMI_EXPORT int kvmi_hooks_control_cr(struct kvmi_dom *dom, uint32_t cr,
				      int enable)
{
	SYNC(dom, kvmi_hooks_control_cr_async(dom, cr, enable, SCB));
}

KVMI_EXPORT int kvmi_hooks_control_msr_async(struct kvmi_dom *dom,
					     uint32_t msr, int enable,
					     kvmi_dom_cmd_cb cb, void *ctx)
{
	return control_async(dom, MSR, msr, enable, cb, ctx);
}

KVMI_EXPORT int kvmi_hooks_control_msr(struct kvmi_dom *dom, uint32_t msr,
				       int enable)
{
	SYNC(dom, kvmi_hooks_control_msr_async(dom, msr, enable, SCB));
}

/* ---- breakpoints ---- */

/* the placement of @s ends with @result: tell every pending user; on
 * failure the site goes (nothing of it is in the guest) */
static void site_placed(struct kvmi_dom *dom, struct kvmi__bp_site *s,
			int result)
{
	struct kvmi__hooks *hk = kvmi__hooks_get(dom, false);
	struct kvmi_bp *u, *next;

	s->placing = false;
	for (u = s->users; u; u = next) {
		kvmi_dom_cmd_cb cb = u->done;
		void *ctx = u->done_ctx;

		next = u->next;
		u->done = NULL;
		if (result)
			free(u); /* the handle was never valid */
		if (cb)
			tell(dom, cb, ctx, result);
	}
	if (result) {
		s->users = NULL;
		s->nusers = 0;
		if (hk->unhooking)
			return; /* the unhook holds it: freed with the rest */
		kvmi__site_del(hk, s);
		free(s);
	}
}

static void int3_written(struct kvmi_dom *dom, int result, void *ctx)
{
	struct kvmi__bp_site *s = ctx;

	if (result)
		s->armed = false;
	site_placed(dom, s, result);
}

/* original byte read and BREAKPOINT events on: write the INT3 */
static void site_arm(struct kvmi_dom *dom, struct kvmi__bp_site *s)
{
	struct kvmi_pipeline *b = NULL;
	int err = kvmi__hooks_get(dom, false)->unhooking
			  ? -ESHUTDOWN /* nothing goes in any more */
			  : kvmi_pipeline_new(dom, 0, &b);

	if (!err)
		err = kvmi_pipeline_write_physical(b, s->gpa, "\xcc", 1);
	if (err >= 0) {
		s->armed = true; /* from now on a hit is ours */
		err = send_own(b, int3_written, s);
	} else if (b) {
		kvmi_pipeline_free(b);
	}
	if (err < 0) {
		s->armed = false;
		site_placed(dom, s, err);
	}
}

static void bp_events_done(struct kvmi_dom *dom, int result, void *ctx)
{
	struct kvmi__hooks *hk = kvmi__hooks_get(dom, false);
	struct kvmi__bp_site *s, *next;

	(void)ctx;
	if (!hk)
		return;
	hk->bp_events = result ? 0 : 2;
	if (!result)
		kvmi__hooks_step_events(dom, hk);
	s = hk->bp_waiting;
	hk->bp_waiting = NULL;
	for (; s; s = next) {
		next = s->wait_next;
		s->wait_next = NULL;
		if (result)
			site_placed(dom, s, result);
		else
			site_arm(dom, s);
	}
}

static void ss_events_done(struct kvmi_dom *dom, int result, void *ctx)
{
	struct kvmi__hooks *hk = kvmi__hooks_get(dom, false);

	(void)ctx;
	if (!hk)
		return;
	hk->ss_events = result ? 0 : 2;
	if (result && result != -ENOTCONN)
		kvmi__log(dom->srv, dom, KVMI_LOG_WARNING,
			  "enabling SINGLESTEP events failed: %s (breakpoints "
			  "re-arm on the timer)",
			  kvmi_strerror(result));
}

void kvmi__hooks_step_events(struct kvmi_dom *dom, struct kvmi__hooks *hk)
{
	if (hk->ss_events || !kvmi__hooks_can_step(dom))
		return;
	if (hk->events & (1u << KVMI_EVENT_SINGLESTEP)) {
		hk->ss_events = 2; /* on already (kvmi_hooks_control_event) */
		return;
	}
	if (control_async(dom, EVENT, KVMI_EVENT_SINGLESTEP, 1, ss_events_done,
			  NULL) == 0)
		hk->ss_events = 1;
}

static void orig_read(struct kvmi_dom *dom, int result, void *ctx)
{
	struct kvmi__bp_site *s = ctx;
	struct kvmi__hooks *hk = kvmi__hooks_get(dom, false);

	if (!result && s->orig == INT3)
		result = -EBUSY; /* the guest's own INT3 */
	if (result) {
		site_placed(dom, s, result);
		return;
	}
	s->orig_known = true;
	if (hk->bp_events == 2) {
		site_arm(dom, s);
		return;
	}
	s->wait_next = hk->bp_waiting; /* armed once the events are on */
	hk->bp_waiting = s;
}

/* a new site: read its byte; make sure BREAKPOINT events get enabled */
static int site_new(struct kvmi_dom *dom, struct kvmi__hooks *hk,
		    uint64_t gpa, struct kvmi__bp_site **out)
{
	struct kvmi__bp_site *s = kvmi__calloc(1, sizeof(*s));
	struct kvmi_pipeline *b = NULL;
	int err;

	if (!s)
		return -ENOMEM;
	s->dom = dom;
	s->gpa = gpa;
	s->rearm_vcpu = -1;
	s->placing = true;
	err = kvmi_pipeline_new(dom, 0, &b);
	if (!err)
		err = kvmi_pipeline_read_physical(b, gpa, &s->orig, 1);
	if (err >= 0)
		err = kvmi__site_put(hk, s);
	if (err < 0) {
		kvmi_pipeline_free(b);
		free(s);
		return err;
	}
	if (hk->bp_events == 0 &&
	    !(hk->events & (1u << KVMI_EVENT_BREAKPOINT))) {
		err = control_async(dom, EVENT, KVMI_EVENT_BREAKPOINT, 1,
				    bp_events_done, NULL);
		if (err < 0) {
			kvmi_pipeline_free(b);
			kvmi__site_del(hk, s);
			free(s);
			return err;
		}
		hk->bp_events = 1;
	} else if (hk->events & (1u << KVMI_EVENT_BREAKPOINT)) {
		hk->bp_events = 2;
		kvmi__hooks_step_events(dom, hk);
	}
	err = send_own(b, orig_read, s);
	if (err < 0) {
		/* the domain is failing: the events batch fails with it */
		kvmi__site_del(hk, s);
		free(s);
		return err;
	}
	*out = s;
	return 0;
}

KVMI_EXPORT int kvmi_bp_set_async(struct kvmi_dom *dom, uint64_t gpa,
				  kvmi_bp_cb cb, void *ctx, struct kvmi_bp **out,
				  kvmi_dom_cmd_cb done, void *done_ctx)
{
	struct kvmi__hooks *hk;
	struct kvmi__bp_site *s;
	struct kvmi_bp *u;
	int err;

	if (!dom || !done)
		return -EINVAL;
	if (!kvmi__dom_usable(dom))
		return -ENOTCONN;
	hk = kvmi__hooks_get(dom, true);
	if (!hk)
		return -ENOMEM;
	if (hk->unhooking)
		return -ESHUTDOWN;
	u = kvmi__calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->cb = cb;
	u->ctx = ctx;
	s = kvmi__site_find(hk, gpa);
	if (!s) {
		err = site_new(dom, hk, gpa, &s);
		if (err) {
			free(u);
			return err;
		}
	}
	u->site = s;
	u->next = s->users;
	s->users = u;
	s->nusers++;
	if (s->placing) {
		u->done = done; /* told with the others */
		u->done_ctx = done_ctx;
	} else {
		tell(dom, done, done_ctx, 0);
	}
	if (out)
		*out = u;
	return 0;
}

KVMI_EXPORT int kvmi_bp_set(struct kvmi_dom *dom, uint64_t gpa, kvmi_bp_cb cb,
			    void *ctx, struct kvmi_bp **out)
{
	struct kvmi_bp *u = NULL;
	struct kvmi__sync sc = {0};
	int err = kvmi_bp_set_async(dom, gpa, cb, ctx, &u, SCB);

	if (!err)
		err = kvmi__dom_sync_wait(dom, &sc);
	if (!err && out)
		*out = u;
	return err;
}

/* ---- page restrictions ---- */

static struct kvmi__page *page_find(struct kvmi__hooks *hk, uint64_t gfn)
{
	for (size_t i = 0; i < hk->npages; i++)
		if (hk->pages[i].gfn == gfn)
			return &hk->pages[i];
	return NULL;
}

struct restrict_op {
	struct kvmi_page_access_entry e;
	uint64_t page;
	uint8_t prev;
	bool known; /* the page was tracked already */
	kvmi_dom_cmd_cb cb;
	void *ctx;
};

static void put_back_done(struct kvmi_dom *dom, int result, void *ctx)
{
	(void)ctx;
	if (result && result != -ENOTCONN)
		kvmi__log(dom->srv, dom, KVMI_LOG_ERROR,
			  "putting back the access of a page we could not "
			  "track failed: %s",
			  kvmi_strerror(result));
}

static void access_set(struct kvmi_dom *dom, int result, void *ctx)
{
	struct restrict_op *r = ctx;
	struct kvmi__hooks *hk = kvmi__hooks_get(dom, false);
	struct kvmi__page *p = hk ? page_find(hk, r->page >> KVMI_PAGE_SHIFT)
				  : NULL;

	if (!result && !p && hk->unhooking) {
		/* an unhook began while this SET was on its way: it does not
		 * know the page; put the access back before it closes */
		struct kvmi_page_access_entry e = {.gpa = r->page,
						   .access = r->prev};

		kvmi_dom_set_page_access_async(dom, &e, 1, put_back_done,
					       NULL);
		result = -ESHUTDOWN;
		goto out;
	}
	if (!result && !p) {
		if (hk->npages == hk->pcap) {
			size_t nc = hk->pcap ? hk->pcap * 2 : 16;
			struct kvmi__page *np =
				kvmi__realloc(hk->pages, nc * sizeof(*np));

			if (!np) {
				/* it is restricted and we cannot remember it:
				 * put it back */
				struct kvmi_page_access_entry e = {
					.gpa = r->page, .access = r->prev};

				kvmi_dom_set_page_access_async(
					dom, &e, 1, put_back_done, NULL);
				result = -ENOMEM;
				goto out;
			}
			hk->pages = np;
			hk->pcap = nc;
		}
		p = &hk->pages[hk->npages++];
		p->gfn = r->page >> KVMI_PAGE_SHIFT;
		p->prev = r->prev;
	}
	if (!result)
		p->cur = r->e.access;
	/* a failed SET may have been applied in part: the unhook verifies
	 * every tracked page; an untracked one was not changed by a host
	 * that refused the only entry */
out:
	r->cb(dom, result, r->ctx);
	free(r);
}

static void access_got(struct kvmi_dom *dom, int result, void *ctx)
{
	struct restrict_op *r = ctx;
	struct kvmi_pipeline *b;
	int err = result;

	if (!err && kvmi__hooks_get(dom, false)->unhooking)
		err = -ESHUTDOWN; /* nothing goes in any more */
	if (!err)
		err = kvmi_pipeline_new(dom, 0, &b);
	if (!err) {
		err = kvmi_pipeline_set_page_access(b, &r->e, 1);
		if (err >= 0)
			err = send_own(b, access_set, r);
		else
			kvmi_pipeline_free(b);
	}
	if (err < 0) {
		r->cb(dom, err, r->ctx);
		free(r);
	}
}

KVMI_EXPORT int kvmi_page_restrict_async(struct kvmi_dom *dom, uint64_t gpa,
					 uint8_t access, kvmi_dom_cmd_cb cb,
					 void *ctx)
{
	uint64_t gfn = gpa >> KVMI_PAGE_SHIFT;
	struct kvmi__hooks *hk;
	struct restrict_op *r;
	struct kvmi_pipeline *b;
	bool read_prev;
	int err;

	if (!dom || !cb || (access & ~KVMI_PAGE_ACCESS_RWX))
		return -EINVAL;
	hk = kvmi__hooks_get(dom, true);
	if (!hk)
		return -ENOMEM;
	if (hk->unhooking)
		return -ESHUTDOWN;
	r = kvmi__calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->page = gfn << KVMI_PAGE_SHIFT;
	r->e = (struct kvmi_page_access_entry){.gpa = r->page,
					       .access = access};
	r->cb = cb;
	r->ctx = ctx;
	r->known = page_find(hk, gfn) != NULL;
	/* kvmi-v7 and v12 cannot read a page's access (no GET_PAGE_ACCESS):
	 * a page we never restricted has the host's default, rwx (what it
	 * puts back at every unhook and teardown; SET rwx "forgets" it) */
	read_prev = !r->known && !kvmi__dialect_lacks(kvmi_dom_dialect(dom),
						      KVMI_GET_PAGE_ACCESS);
	if (!r->known && !read_prev)
		r->prev = KVMI_PAGE_ACCESS_RWX;
	err = kvmi_pipeline_new(dom, 0, &b);
	if (!err)
		err = read_prev ? kvmi_pipeline_get_page_access(b, &r->page,
								&r->prev, 1)
				: kvmi_pipeline_set_page_access(b, &r->e, 1);
	if (err >= 0)
		err = send_own(b, read_prev ? access_got : access_set, r);
	else if (b)
		kvmi_pipeline_free(b);
	if (err < 0) {
		free(r);
		return err;
	}
	return 0;
}

KVMI_EXPORT int kvmi_page_restrict(struct kvmi_dom *dom, uint64_t gpa,
				   uint8_t access)
{
	SYNC(dom, kvmi_page_restrict_async(dom, gpa, access, SCB));
}

KVMI_EXPORT int kvmi_page_unrestrict(struct kvmi_dom *dom, uint64_t gpa)
{
	uint64_t gfn = gpa >> KVMI_PAGE_SHIFT;
	struct kvmi__hooks *hk = dom ? kvmi__hooks_get(dom, false) : NULL;
	struct kvmi__page *p = hk ? page_find(hk, gfn) : NULL;
	struct kvmi_page_access_entry e;

	if (!p)
		return -ENOENT;
	e = (struct kvmi_page_access_entry){.gpa = gfn << KVMI_PAGE_SHIFT,
					    .access = p->prev};
	*p = hk->pages[--hk->npages];
	/* forgotten either way; a refusal is the caller's to see */
	return kvmi_dom_set_page_access(dom, &e, 1);
}
