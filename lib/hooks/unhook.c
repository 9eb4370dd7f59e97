/*
 * libkvmi - unhook.c: take every hook back and close the channel, within
 * a deadline, with pipelined batches (see include/kvmi/hooks.h for the
 * order and why).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "hooks_int.h"
#include "internal.h"

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000;
}

struct run {
	struct kvmi_dom *dom;
	struct kvmi__hooks *hk;
	struct kvmi_unhook_report *r;
	uint64_t t0, deadline;
	struct kvmi__bp_site **sites; /* every site, for indexed results */
	size_t nsites;
};

/* give the next step what is left of the deadline; 0 when it passed */
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

static int commit(struct run *u, struct kvmi_batch *b)
{
	int err = kvmi_batch_commit(b);

	u->r->writes += (unsigned int)kvmi_batch_writes(b);
	return err;
}

/* restore bytes and page access (what is not verified yet); replies off */
static int restore(struct run *u, const uint8_t *byte_ok,
		   const uint8_t *page_ok)
{
	struct kvmi_batch *b;
	int err, any = 0;

	err = kvmi_batch_new(u->dom, KVMI_BATCH_NO_REPLIES, &b);
	if (err)
		return err;
	for (size_t i = 0; i < u->nsites && err >= 0; i++) {
		struct kvmi__bp_site *s = u->sites[i];

		if (byte_ok ? byte_ok[i] : !s->armed)
			continue;
		err = kvmi_batch_write_physical(b, s->gpa, &s->orig, 1);
		any = 1;
	}
	for (size_t i = 0; i < u->hk->npages && err >= 0; i++) {
		struct kvmi_page_access_entry e = {
			.gpa = u->hk->pages[i].gfn << KVMI_PAGE_SHIFT,
			.access = u->hk->pages[i].prev};

		if (page_ok && page_ok[i])
			continue;
		err = kvmi_batch_set_page_access(b, &e, 1);
		any = 1;
	}
	if (err >= 0)
		err = any ? commit(u, b) : 0;
	kvmi_batch_free(b);
	return err;
}

/* turn off every event and intercept we turned on; answered by the vCPUs
 * themselves, so every event they sent before is in our queue after it */
static int disable(struct run *u)
{
	struct kvmi__hooks *hk = u->hk;
	unsigned int nv = kvmi_dom_vcpu_count(u->dom);
	struct kvmi_batch *b;
	int err;

	err = kvmi_batch_new(u->dom, 0, &b);
	if (err)
		return err;
	for (unsigned int v = 0; v < nv && err >= 0; v++) {
		for (unsigned int e = 0; e < KVMI_NUM_EVENTS && err >= 0; e++)
			if (hk->events & (1u << e))
				err = kvmi_batch_control_events(b, (uint16_t)v,
								(uint16_t)e, 0);
		for (unsigned int cr = 0; cr < 5 && err >= 0; cr++)
			if (hk->crs & (1u << cr))
				err = kvmi_batch_control_cr(b, (uint16_t)v, cr,
							    0);
		for (size_t i = 0; i < hk->nmsrs && err >= 0; i++)
			err = kvmi_batch_control_msr(b, (uint16_t)v,
						     hk->msrs[i], 0);
	}
	if (hk->create_on && err >= 0)
		err = kvmi_batch_control_vm_events(b, KVMI_EVENT_CREATE_VCPU, 0);
	if (err >= 0) {
		size_t n = kvmi_batch_count(b);

		err = n ? commit(u, b) : 0;
		if (!err)
			u->r->intercepts_disabled += (unsigned int)n;
	}
	kvmi_batch_free(b);
	return err;
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
			uint8_t action = KVMI_EVENT_ACTION_CONTINUE;

			if (kvmi_event_id(ev) == KVMI_EVENT_BREAKPOINT &&
			    kvmi__site_find(u->hk,
					    kvmi_event_data(ev)->breakpoint.gpa))
				action = KVMI_EVENT_ACTION_RETRY;
			if (kvmi_event_reply(ev, action) == 0) {
				u->r->events_replied++;
				done++;
			}
		}
		if (!done)
			break; /* connection gone */
	}
}

/* read everything back; marks what is right; returns how many are wrong */
static int verify(struct run *u, uint8_t *byte_ok, uint8_t *page_ok,
		  int *err)
{
	struct kvmi_batch *b;
	uint8_t *bytes = NULL, *access = NULL;
	uint64_t *gfns = NULL;
	int wrong = 0;

	*err = kvmi_batch_new(u->dom, 0, &b);
	if (*err)
		return -1;
	bytes = kvmi__calloc(u->nsites + 1, 1);
	access = kvmi__calloc(u->hk->npages + 1, 1);
	gfns = kvmi__calloc(u->hk->npages + 1, sizeof(*gfns));
	if (!bytes || !access || !gfns)
		*err = -ENOMEM;
	for (size_t i = 0; i < u->nsites && *err >= 0; i++)
		*err = kvmi_batch_read_physical(b, u->sites[i]->gpa, &bytes[i],
						1);
	for (size_t i = 0; i < u->hk->npages; i++)
		if (gfns)
			gfns[i] = u->hk->pages[i].gfn << KVMI_PAGE_SHIFT;
	if (*err >= 0 && u->hk->npages)
		*err = kvmi_batch_get_page_access(b, gfns, access,
						  u->hk->npages);
	if (*err >= 0)
		*err = kvmi_batch_count(b) ? commit(u, b) : 0;
	if (!*err) {
		for (size_t i = 0; i < u->nsites; i++) {
			byte_ok[i] = bytes[i] == u->sites[i]->orig;
			wrong += !byte_ok[i];
		}
		for (size_t i = 0; i < u->hk->npages; i++) {
			page_ok[i] = access[i] == u->hk->pages[i].prev;
			wrong += !page_ok[i];
		}
	}
	kvmi_batch_free(b);
	free(bytes);
	free(access);
	free(gfns);
	return *err ? -1 : wrong;
}

KVMI_EXPORT int kvmi_dom_unhook(struct kvmi_dom *dom, unsigned int deadline_ms,
				struct kvmi_unhook_report *report)
{
	struct kvmi_unhook_report local;
	struct run u = {.dom = dom};
	uint8_t *byte_ok = NULL, *page_ok = NULL;
	int err = 0, wrong;

	if (!dom)
		return -EINVAL;
	memset(&local, 0, sizeof(local));
	local.size = sizeof(local);
	u.r = &local;
	u.t0 = now_us();
	u.deadline = u.t0 + (uint64_t)(deadline_ms ? deadline_ms
						   : dom->timeout_ms) * 1000;
	kvmi_dom_ref(dom);
	u.hk = kvmi__hooks_get(dom, true);
	if (u.hk)
		kvmi__hooks_stop_rearm(dom); /* nothing goes back in now */
	if (!u.hk || !kvmi__dom_usable(dom)) {
		err = u.hk ? -ENOTCONN : -ENOMEM;
		goto close;
	}
	u.sites = kvmi__calloc(u.hk->nsites + 1, sizeof(*u.sites));
	byte_ok = kvmi__calloc(u.hk->nsites + 1, 1);
	page_ok = kvmi__calloc(u.hk->npages + 1, 1);
	if (!u.sites || !byte_ok || !page_ok) {
		err = -ENOMEM;
		goto close;
	}
	for (size_t i = 0; i < u.hk->cap; i++)
		if (u.hk->table[i])
			u.sites[u.nsites++] = u.hk->table[i];
	local.bps = (unsigned int)u.nsites;
	local.pages = (unsigned int)u.hk->npages;

	/* 1. bytes first (BREAKPOINT events still on), then page access */
	if (!time_left(&u) || (err = restore(&u, NULL, NULL)) != 0)
		goto close;
	for (size_t i = 0; i < u.nsites; i++)
		u.sites[i]->armed = false;
	/* 2. events and intercepts off, confirmed by every vCPU */
	if (!time_left(&u) || (err = disable(&u)) != 0)
		goto close;
	/* 3. every event still open gets its answer */
	answer_events(&u);
	/* 4. read back; re-apply once what did not stick */
	if (!time_left(&u))
		goto close;
	wrong = verify(&u, byte_ok, page_ok, &err);
	if (wrong > 0 && time_left(&u)) {
		local.reapplied = (unsigned int)wrong;
		err = restore(&u, byte_ok, page_ok);
		if (!err && time_left(&u))
			wrong = verify(&u, byte_ok, page_ok, &err);
	}
	if (!err && wrong > 0)
		err = KVMI_E_VERIFY;
close:
	if (!err && now_us() >= u.deadline)
		err = KVMI_E_DEADLINE;
	if (err == -ETIMEDOUT)
		err = KVMI_E_DEADLINE;
	for (size_t i = 0; i < u.nsites; i++)
		local.bps_restored += byte_ok && byte_ok[i];
	for (size_t i = 0; page_ok && i < local.pages; i++)
		local.pages_restored += page_ok[i];
	if (kvmi__dom_usable(dom))
		answer_events(&u);
	kvmi_dom_close(dom);
	local.result = err;
	local.elapsed_us = now_us() - u.t0;
	kvmi__log(dom->srv, dom, err ? KVMI_LOG_ERROR : KVMI_LOG_INFO,
		  "unhook: result=%s bps=%u/%u pages=%u/%u intercepts_off=%u "
		  "events_replied=%u reapplied=%u writes=%u elapsed_us=%llu",
		  err ? kvmi_err_name(err) : "ok", local.bps_restored, local.bps,
		  local.pages_restored, local.pages, local.intercepts_disabled,
		  local.events_replied, local.reapplied, local.writes,
		  (unsigned long long)local.elapsed_us);
	if (report) {
		size_t n = report->size && report->size < sizeof(local)
				   ? report->size
				   : sizeof(local);

		memcpy(report, &local, n);
		report->size = n;
	}
	free(u.sites);
	free(byte_ok);
	free(page_ok);
	kvmi_dom_unref(dom);
	return err;
}

static void unhook_handler(struct kvmi_dom *dom, void *ctx)
{
	struct kvmi_server *srv = ctx;
	struct kvmi_unhook_report r = {.size = sizeof(r)};

	if (srv->unhook_before)
		srv->unhook_before(dom, srv->unhook_ctx);
	kvmi_dom_unhook(dom, srv->unhook_deadline_ms, &r);
	if (srv->unhook_after)
		srv->unhook_after(dom, &r, srv->unhook_ctx);
}

KVMI_EXPORT int kvmi_server_unhook_on_event(struct kvmi_server *srv,
					    unsigned int deadline_ms,
					    kvmi_unhook_before_cb before,
					    kvmi_unhook_after_cb after,
					    void *ctx)
{
	if (!srv)
		return -EINVAL;
	srv->unhook_deadline_ms = deadline_ms;
	srv->unhook_before = before;
	srv->unhook_after = after;
	srv->unhook_ctx = ctx;
	return kvmi_server_on_unhook(srv, unhook_handler, srv, NULL);
}
