/*
 * libkvmi - examples/unhookd/guests.c: what kvmi-unhookd does with a
 * guest: on connection it places the current set of hooks (all
 * asynchronously, so a slow host delays only its own guest), counts and
 * logs breakpoint hits and page faults, and records the unhook and the
 * disconnection; every event, reply and command also goes to metrics.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "unhookd.h"

static int on_hit(struct kvmi_dom *dom, struct kvmi_event_ctx *ev,
		  uint64_t gpa, void *ctx)
{
	struct guest *g = kvmi_dom_user(dom);

	(void)ctx;
	metrics_event(KVMI_EVENT_BREAKPOINT);
	metrics_reply(); /* the hooks answer RETRY after us */
	if (!g)
		return 0;
	g->hits++;
	if (d.verbose || g->hits <= HIT_LOG_LIMIT)
		logkv("info", "event=bp-hit guest=%s vcpu=%u gpa=0x%" PRIx64
			      " rip=0x%llx hits=%" PRIu64 "%s",
		      g->qname, kvmi_event_vcpu(ev), gpa,
		      (unsigned long long)kvmi_event_common(ev)->arch.regs.rip,
		      g->hits,
		      !d.verbose && g->hits == HIT_LOG_LIMIT
			      ? " more=counted-not-logged"
			      : "");
	return 0; /* keep it armed */
}

static void on_pf(struct kvmi_dom *dom, struct kvmi_event_ctx *ev, void *ctx)
{
	struct guest *g = kvmi_dom_user(dom);

	(void)ctx;
	metrics_event(KVMI_EVENT_PF);
	if (g)
		g->pfs++;
	/* emulate */
	if (!kvmi_event_reply_pf(ev, KVMI_EVENT_ACTION_CONTINUE, NULL))
		metrics_reply();
}

void on_other_event(struct kvmi_dom *dom, struct kvmi_event_ctx *ev,
		    void *ctx)
{
	(void)dom;
	(void)ctx;
	/* counted, and answered with what the library's default would be
	 * (CONTINUE: for a breakpoint not ours the guest gets its own #BP) */
	metrics_event(kvmi_event_id(ev));
	if (!kvmi_event_reply(ev, KVMI_EVENT_ACTION_CONTINUE))
		metrics_reply();
}

void on_unhook_request(struct kvmi_dom *dom, void *ctx)
{
	(void)dom;
	(void)ctx;
	metrics_event(KVMI_EVENT_UNHOOK);
}

/* the guest's name from its handshake as a logfmt value */
static const char *quoted_name(struct kvmi_dom *dom, char *buf, size_t len)
{
	kvmi_logfmt_value(buf, len, kvmi_dom_identity(dom)->name);
	return buf;
}

static void uuid_text(const uint8_t *u, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0, n = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[n++] = '-';
		out[n++] = hex[u[i] >> 4];
		out[n++] = hex[u[i] & 15];
		out[n] = 0;
	}
}

static void unhook_enabled(struct kvmi_dom *dom, int result, void *ctx)
{
	struct guest *g = kvmi_dom_user(dom);

	(void)ctx;
	metrics_command(result);
	if (result && g)
		logkv("error", "event=enable-unhook guest=%s error=%s", g->qname,
		      kvmi_err_name(result));
}

/* one hook of the set placed (or not); the guest is hooked when all are */
static void hook_placed(struct kvmi_dom *dom, int result, void *ctx)
{
	struct guest *g = kvmi_dom_user(dom);
	const struct hook *h;

	if (!g)
		return;
	h = ctx || g->hooks->n ? &g->hooks->h[(uintptr_t)ctx] : NULL;
	if (h && !result)
		h->is_page ? g->pages++ : g->bps++;
	else if (h && result != -ENOTCONN)
		logkv("warning", "event=hook-skipped guest=%s kind=%s "
				 "gpa=0x%" PRIx64 " error=%s",
		      g->qname, h->is_page ? "page" : "bp", h->gpa,
		      kvmi_err_name(result));
	if (h && --g->hooks_pending)
		return;
	if (kvmi_dom_is_connected(dom))
		logkv("info", "event=hooked guest=%s breakpoints=%u pages=%u",
		      g->qname, g->bps, g->pages);
}

/* the last command of a hook answered (KVMI_EVENT_PF enabled for a
 * page, the INT3 written for a breakpoint) */
static void hook_command_done(struct kvmi_dom *dom, int result, void *ctx)
{
	metrics_command(result);
	hook_placed(dom, result, ctx);
}

/* a restricted page needs PF events: enabled (tracked) once it is in */
static void page_restricted(struct kvmi_dom *dom, int result, void *ctx)
{
	metrics_command(result);
	if (result) {
		hook_placed(dom, result, ctx);
		return;
	}
	result = kvmi_hooks_control_event_async(dom, KVMI_EVENT_PF, 1,
						hook_command_done, ctx);
	if (result)
		hook_command_done(dom, result, ctx);
}

int on_guest(struct kvmi_dom *dom, void *ctx)
{
	const struct kvmi_guest_identity *id = kvmi_dom_identity(dom);
	char uuid[37];
	struct guest *g;
	int err;

	(void)ctx;
	if (d.stopping)
		return -1;
	if (d.nlive >= d.max_guests) {
		char q[sizeof(g->qname)];

		logkv("error", "event=guest-refused guest=%s reason=max-guests "
			       "max_guests=%u connected=%zu",
		      quoted_name(dom, q, sizeof(q)), d.max_guests, d.nlive);
		return -1;
	}
	g = calloc(1, sizeof(*g));
	if (!g) {
		logkv("error", "event=guest-refused reason=out-of-memory");
		return -1;
	}
	snprintf(g->name, sizeof(g->name), "%s", id->name);
	quoted_name(dom, g->qname, sizeof(g->qname));
	g->hooks = hookset_ref(d.hooks);
	g->next = d.table;
	if (d.table)
		d.table->prev = g;
	d.table = g;
	d.nlive++;
	kvmi_dom_set_user(dom, g);
	uuid_text(id->uuid, uuid);
	logkv("info", "event=guest-connected guest=%s uuid=%s vcpus=%u hooks=%zu",
	      g->qname, uuid, kvmi_dom_vcpu_count(dom), g->hooks->n);
	err = kvmi_dom_control_vm_events_async(dom, KVMI_EVENT_UNHOOK, 1,
					       unhook_enabled, NULL);
	if (err)
		unhook_enabled(dom, err, NULL);
	kvmi_dom_on_event(dom, KVMI_EVENT_PF, on_pf, NULL, NULL);
	for (size_t i = 0; i < g->hooks->n; i++) {
		const struct hook *h = &g->hooks->h[i];
		void *hctx = (void *)(uintptr_t)i;

		g->hooks_pending++;
		if (h->is_page)
			err = kvmi_page_restrict_async(dom, h->gpa, h->access,
						       page_restricted, hctx);
		else
			err = kvmi_bp_set_async(dom, h->gpa, on_hit, NULL, NULL,
						hook_command_done, hctx);
		if (err)
			(h->is_page ? page_restricted : hook_command_done)(
				dom, err, hctx);
	}
	if (!g->hooks->n)
		hook_placed(dom, 0, NULL);
	return 0;
}

void after_unhook(struct kvmi_dom *dom, const struct kvmi_unhook_report *r,
		  void *ctx)
{
	struct guest *g = kvmi_dom_user(dom);

	(void)ctx;
	metrics_unhook(r);
	if (!g)
		return;
	g->report = *r;
	g->unhooked = 1;
	logkv(r->result ? "error" : "info",
	      "event=unhooked guest=%s result=%s unhook_ms=%.3f "
	      "bps_restored=%u/%u pages_restored=%u/%u events_replied=%u "
	      "writes=%u",
	      g->qname, r->result ? kvmi_err_name(r->result) : "ok",
	      (double)r->elapsed_us / 1000.0, r->bps_restored, r->bps,
	      r->pages_restored, r->pages, r->events_replied, r->writes);
}

void on_disconnect(struct kvmi_dom *dom, int reason, void *ctx)
{
	struct guest *g = kvmi_dom_user(dom);
	char q[sizeof(g->qname)];

	(void)ctx;
	metrics_disconnect(dom, reason);
	logkv(reason ? "warning" : "info", "event=disconnected guest=%s reason=%s%s",
	      g ? g->qname : quoted_name(dom, q, sizeof(q)),
	      reason ? kvmi_err_name(reason) : "closed",
	      g ? "" : " hooked=no");
	if (!g)
		return; /* refused: never in the table */
	kvmi_dom_set_user(dom, NULL);
	d.nlive--;
	hookset_unref(g->hooks);
	g->hooks = NULL;
	if (d.demo)
		return; /* kept for the summary */
	if (g->prev)
		g->prev->next = g->next;
	else
		d.table = g->next;
	if (g->next)
		g->next->prev = g->prev;
	free(g);
}

void on_lib_log(enum kvmi_log_level level, const char *msg,
		struct kvmi_dom *dom, void *ctx)
{
	static const char *names[] = {"debug", "info", "warning", "error"};
	char q[4 * 512 + 3]; /* the library's lines are below 512 bytes */

	(void)dom;
	(void)ctx;
	kvmi_logfmt_value(q, sizeof(q), msg);
	logkv(names[level], "source=libkvmi msg=%s", q);
}
