/*
 * libkvmi - hooks.h: what a tool places in a guest and must take back -
 * INT3 breakpoints, page-access restrictions, CR/MSR intercepts - and the
 * unhook-and-close that takes it all back within a deadline.
 *
 * Threads: loop thread only, like domain.h.  Every call that talks to the
 * host has an asynchronous form (..._async: the outcome comes to a
 * callback from the loop, as for commands - see domain.h) and a
 * synchronous one (the same, waited for).  The library's own work - the
 * hit path, re-arming, new vCPUs, the unhook - never waits.
 *
 * Breakpoints.  kvmi_bp_set() reads and saves the original byte, writes
 * 0xCC and makes sure KVMI_EVENT_BREAKPOINT is enabled on every vCPU (and,
 * through KVMI_EVENT_CREATE_VCPU, on vCPUs created later).  Several users
 * of one address share it (reference count); the last kvmi_bp_remove()
 * writes the original byte back.  An address whose original byte already
 * is 0xCC belongs to the guest: kvmi_bp_set() refuses it (-EBUSY).
 *
 * A BREAKPOINT event at one of our addresses calls every user's callback,
 * then writes the original byte back and replies RETRY: the guest executes
 * its own instruction and never sees a #BP.  The write is sent before the
 * reply and not waited for (the host applies it first), so a hit costs no
 * round trip of its own; a write the host refuses is logged and the
 * breakpoint counted as still armed.  A breakpoint whose users all
 * want it kept is re-armed (0xCC written again) when the vCPU that hit it
 * reports its next event at another instruction - proof it has executed
 * the original one - or, when that vCPU reports nothing, 10 ms after the
 * hit (from the loop, with a write not waited for), so a guest where only
 * breakpoints are enabled keeps hitting them.  Where the host can single-
 * step (kvmi-v7 and v12 hosts whose feature block says singlestep;
 * kvmi_dom_features) the re-arm is exact instead: the library enables
 * SINGLESTEP events on every vCPU with the BREAKPOINT ones, makes the vCPU
 * that hit step the restored instruction (CONTROL_SINGLESTEP, queued
 * before the RETRY) and re-arms at its SINGLESTEP event, then stops the
 * stepping; the timer stays as a fallback (1 s).  While the library steps
 * a vCPU, that vCPU's SINGLESTEP events are the library's (answered, not
 * passed to handlers); the unhook turns stepping and SINGLESTEP events
 * off.  The races, stated plainly (timer re-arm only):
 * while a breakpoint is disarmed, other vCPUs executing that address pass
 * it without a callback; a vCPU that had not yet executed the restored
 * instruction when the timer re-armed it traps again, so the users'
 * callbacks see that one execution twice.  No vCPU ever gets a #BP it did
 * not expect, and the unhook cancels every pending re-arm first.  A
 * BREAKPOINT event at an address that is not ours is the guest's own
 * INT3: CONTINUE, so the guest gets its #BP.
 *
 * Unhook.  kvmi_dom_unhook() restores every breakpoint byte (before
 * disabling BREAKPOINT events, so a vCPU already trapped still reaches the
 * tool), answers every event the tool still holds or has queued
 * (BREAKPOINT at our address: RETRY, others: CONTINUE), restores page
 * access (in every EPT view), disables intercepts and events (and puts
 * the EPT-view hooks back: see "EPT views" below), verifies by reading
 * everything back (and re-applies once what did not stick: the host may apply part
 * of a page-access batch and still fail), then closes the channel - with
 * pipelined batches, so thousands of hooks cost a handful of writes.  At
 * the deadline it closes anyway and reports what was left.
 */
#ifndef KVMI_HOOKS_H
#define KVMI_HOOKS_H

#include <kvmi/domain.h>

#ifdef __cplusplus
extern "C" {
#endif

struct kvmi_bp;

/*
 * Called on a hit of @gpa (the vCPU is stopped on the event; synchronous
 * commands are fine).  Return 0 to keep the breakpoint armed, 1 to drop
 * this user's reference (as kvmi_bp_remove would).  Do not reply to @ev:
 * the helper does.
 */
typedef int (*kvmi_bp_cb)(struct kvmi_dom *dom, struct kvmi_event_ctx *ev,
			  uint64_t gpa, void *ctx);

/*
 * kvmi_bp_set - plant (or share) an INT3 at guest-physical @gpa.  Stores
 * a handle in *@out (may be NULL) to remove this user's reference.
 * Returns 0, -EBUSY (the guest's own INT3 is there), a command error
 * (-ENOTCONN, host errors) or -ENOMEM; on failure nothing stays planted.
 */
KVMI_EXPORT int kvmi_bp_set(struct kvmi_dom *dom, uint64_t gpa, kvmi_bp_cb cb,
			    void *ctx, struct kvmi_bp **out);

/*
 * kvmi_bp_set_async - the same without waiting: the handle is stored in
 * *@out at once (valid while the placement runs; it may be removed
 * then); @done(dom, result, done_ctx) follows from the loop with 0 or the
 * error above - on an error the handle is gone.  A hit before @done (the
 * INT3 is already in) calls @cb as usual.  -ESHUTDOWN while an unhook
 * runs.  Several placements run at once; BREAKPOINT events are enabled
 * on every vCPU, and confirmed, before the first INT3 is written.
 */
KVMI_EXPORT int kvmi_bp_set_async(struct kvmi_dom *dom, uint64_t gpa,
				  kvmi_bp_cb cb, void *ctx, struct kvmi_bp **out,
				  kvmi_dom_cmd_cb done, void *done_ctx);
/* kvmi_bp_remove - drop one user; the last restores the original byte
 * (queued, not waited for: a write the host refuses is logged, and the
 * breakpoint is forgotten anyway).  0 or -EINVAL. */
KVMI_EXPORT int kvmi_bp_remove(struct kvmi_bp *bp);

/* kvmi_bp_count - distinct breakpoint addresses planted in @dom. */
KVMI_EXPORT size_t kvmi_bp_count(const struct kvmi_dom *dom);

/* kvmi_bp_hits - breakpoint hits handled in @dom so far. */
KVMI_EXPORT uint64_t kvmi_bp_hits(const struct kvmi_dom *dom);

/*
 * kvmi_page_restrict - set the access of the page holding @gpa to
 * @access (R/W/X bits) in view 0, remembering the access it had before
 * the first restriction; kvmi_page_unrestrict puts that back.  0 or an
 * error.  v6 reads the previous access (GET_PAGE_ACCESS); kvmi-v7 and
 * v12 have no such command, so a page first restricted here is taken to
 * have had the host's default, rwx (what the host restores at every
 * unhook and teardown): a tool that restricts pages on those hosts must
 * do it through these calls, not kvmi_dom_set_page_access, for the
 * unhook to know them.  The unhook verifies restored pages by reading
 * them back on v6, by the host's answer to the restore elsewhere.
 */
KVMI_EXPORT int kvmi_page_restrict(struct kvmi_dom *dom, uint64_t gpa,
				   uint8_t access);
KVMI_EXPORT int kvmi_page_restrict_async(struct kvmi_dom *dom, uint64_t gpa,
					 uint8_t access, kvmi_dom_cmd_cb cb,
					 void *ctx);
KVMI_EXPORT int kvmi_page_unrestrict(struct kvmi_dom *dom, uint64_t gpa);

/*
 * kvmi_hooks_control_cr / _msr / _event - intercept a CR or MSR, or enable
 * a vCPU event, on every vCPU (and new ones), tracked so the unhook turns
 * them off.  0 or the first error.
 */
KVMI_EXPORT int kvmi_hooks_control_cr(struct kvmi_dom *dom, uint32_t cr,
				      int enable);
KVMI_EXPORT int kvmi_hooks_control_msr(struct kvmi_dom *dom, uint32_t msr,
				       int enable);
KVMI_EXPORT int kvmi_hooks_control_event(struct kvmi_dom *dom,
					 uint16_t event_id, int enable);
KVMI_EXPORT int kvmi_hooks_control_cr_async(struct kvmi_dom *dom, uint32_t cr,
					    int enable, kvmi_dom_cmd_cb cb,
					    void *ctx);
KVMI_EXPORT int kvmi_hooks_control_msr_async(struct kvmi_dom *dom,
					     uint32_t msr, int enable,
					     kvmi_dom_cmd_cb cb, void *ctx);
KVMI_EXPORT int kvmi_hooks_control_event_async(struct kvmi_dom *dom,
					       uint16_t event_id, int enable,
					       kvmi_dom_cmd_cb cb, void *ctx);

/*
 * EPT views (kvmi-v7; KVMI-V7.md sec. 10), tracked so the unhook takes
 * them back: a tool that uses views through these calls rather than the
 * raw ones of <kvmi/domain-v7.h> gets them undone by kvmi_dom_unhook in a
 * safe order - page access restored in every view first, then (vCPU
 * commands, confirmed) views made invisible, each switched vCPU back on
 * the view it had before its first switch, #VE disabled, then the
 * switched vCPUs read back with GET_EPT_VIEW (a vCPU found elsewhere is
 * switched again once; still elsewhere: KVMI_E_VERIFY and no view is
 * destroyed), and only then, every vCPU being back, the views created
 * here destroyed and the gfns allocated here freed.  When the library
 * closes a domain on its own, the same restores are sent, fire and
 * forget, the destroys and frees last (unconfirmed: the host's own
 * unhook destroys views too).
 *
 * Every call: 0 or a negative error; -EINVAL for a NULL @dom or @cb;
 * -ENOTCONN when the connection is closed; -ESHUTDOWN while an unhook
 * runs; -ENOMEM; -EOPNOTSUPP before anything is sent when the domain's
 * dialect lacks the command (dialects as in domain-v7.h: "v7" both
 * kvmi-v7 generations, "2023" KVMI_DIALECT_V7_2023 only; v6 and v12 have
 * no views); then the host's answer, as domain-v7.h says for the raw
 * command.  Nothing is remembered unless the host accepted it.  The
 * asynchronous forms follow domain.h (outputs written before @cb, which
 * runs once from the loop); the others are synchronous.
 */

/*
 * kvmi_page_restrict_view - set the access of the page holding @gpa in
 * @view to @access (R/W/X), remembering the access that (view, page) had
 * before the first restriction: the host's default rwx, since kvmi-v7
 * cannot read it back.  View 0 is kvmi_page_restrict (every dialect);
 * another view: v7.  -EINVAL for bits beyond R/W/X, a view beyond the
 * dialect's limit; the host's -EINVAL for a view it does not have.
 */
KVMI_EXPORT int kvmi_page_restrict_view(struct kvmi_dom *dom, uint16_t view,
					uint64_t gpa, uint8_t access);
KVMI_EXPORT int kvmi_page_restrict_view_async(struct kvmi_dom *dom,
					      uint16_t view, uint64_t gpa,
					      uint8_t access, kvmi_dom_cmd_cb cb,
					      void *ctx);

/*
 * kvmi_hooks_view_create - a new EPT view into *@view (2023; -EINVAL for
 * a NULL @view), remembered: the unhook destroys it.
 * kvmi_hooks_view_destroy - destroy one created so, now (2023; else
 * -EOPNOTSUPP): -ENOENT
 * for a view kvmi_hooks_view_create did not make (or already gone),
 * -EBUSY while a vCPU switched by kvmi_hooks_vcpu_set_view is on it or
 * it is visible on a vCPU (undo that first).  Its restrictions are
 * forgotten (the host drops the view's access table).
 */
KVMI_EXPORT int kvmi_hooks_view_create(struct kvmi_dom *dom, uint16_t *view);
KVMI_EXPORT int kvmi_hooks_view_create_async(struct kvmi_dom *dom,
					     uint16_t *view, kvmi_dom_cmd_cb cb,
					     void *ctx);
KVMI_EXPORT int kvmi_hooks_view_destroy(struct kvmi_dom *dom, uint16_t view);

/*
 * kvmi_hooks_vcpu_set_view - switch @vcpu to @view (v7).  At its first
 * switch the vCPU's current view is read (GET_EPT_VIEW, in the same
 * batch, before the switch) and remembered: the unhook puts it back
 * there.  -EINVAL for a @vcpu the domain does not have.
 */
KVMI_EXPORT int kvmi_hooks_vcpu_set_view(struct kvmi_dom *dom, uint16_t vcpu,
					 uint16_t view);
KVMI_EXPORT int kvmi_hooks_vcpu_set_view_async(struct kvmi_dom *dom,
					       uint16_t vcpu, uint16_t view,
					       kvmi_dom_cmd_cb cb, void *ctx);

/*
 * kvmi_hooks_view_visible - let the guest on @vcpu reach @view with
 * VMFUNC (@visible non-zero) or not (v7).  A view made visible is
 * remembered (until made invisible here): the unhook makes it invisible.
 */
KVMI_EXPORT int kvmi_hooks_view_visible(struct kvmi_dom *dom, uint16_t vcpu,
					uint16_t view, int visible);

/*
 * kvmi_hooks_ve_enable - give @vcpu its #VE info page at @gpa
 * (SET_VE_INFO; @trigger_vmexit as kvmi_dom_set_ve_info) (v7); once the
 * host accepted it the unhook disables #VE on that vCPU.  A host without
 * #VE answers -EINVAL (check the feature block: kvmi_dom_features) and
 * nothing is remembered.
 */
KVMI_EXPORT int kvmi_hooks_ve_enable(struct kvmi_dom *dom, uint16_t vcpu,
				     uint64_t gpa, int trigger_vmexit);

/*
 * kvmi_hooks_gfn_alloc / kvmi_hooks_gfn_free - add a page at @gfn
 * (kvmi_dom_alloc_gfn; 2023), remembered so the unhook frees it / free
 * one now (kvmi_dom_free_gfn), forgetting it.
 */
KVMI_EXPORT int kvmi_hooks_gfn_alloc(struct kvmi_dom *dom, uint64_t gfn);
KVMI_EXPORT int kvmi_hooks_gfn_free(struct kvmi_dom *dom, uint64_t gfn);

/*
 * v12.  The first use of a domain's hooks (any call of this file) sends
 * VM_CONTROL_CLEANUP(enable=1), not waited for: the host then undoes the
 * CR/MSR/#BP/descriptor interceptions itself at unhook, should the tool's
 * own unhook miss some.  A refusal is logged (WARNING).
 */

/* What an unhook did. */
struct kvmi_unhook_report {
	size_t size;		  /* sizeof(struct kvmi_unhook_report) */
	int result;		  /* 0, KVMI_E_DEADLINE, KVMI_E_VERIFY, ... */
	unsigned int bps;	  /* breakpoint addresses to restore */
	unsigned int bps_restored; /* verified back to the original byte */
	unsigned int pages;	  /* restricted pages to restore */
	unsigned int pages_restored; /* verified back to their old access */
	unsigned int intercepts_disabled; /* CR/MSR/event switches turned off */
	unsigned int events_replied; /* held or queued events answered */
	unsigned int reapplied;	  /* items re-sent after a failed verify */
	unsigned int writes;	  /* write(2) calls used */
	uint64_t elapsed_us;	  /* start -> channel closed */
	/* kvmi-v7 EPT views (0 elsewhere); @pages above counts the pages
	 * restricted in every view */
	unsigned int vcpu_views;  /* vCPUs switched by kvmi_hooks_vcpu_set_view */
	unsigned int vcpu_views_restored; /* read back on their first view */
	unsigned int view_items_disabled; /* visibility, switch, #VE undone */
	unsigned int views_destroyed; /* kvmi_hooks_view_create's views */
	unsigned int gfns_freed;      /* kvmi_hooks_gfn_alloc's gfns */
};

/*
 * kvmi_dom_unhook_async - take every hook back and close the channel (see
 * the top of this file), giving up at @deadline_ms after the start (0:
 * the domain's command timeout).  Each step is one pipelined batch sent
 * asynchronously: the loop, and every other guest, go on meanwhile, so
 * any number of guests unhook at once.  @cb (may be NULL) gets the report
 * (borrowed for the call) once the channel is closed; it runs from the
 * loop - or from inside this call when there is nothing to send (closed
 * connection, no memory).  The domain is closed in every case.  Returns
 * 0, -EINVAL, -ENOMEM, or -EALREADY when an unhook of @dom runs already
 * (that one's report is the answer).
 * kvmi_dom_unhook - the same, waited for (a synchronous call: see
 * domain.h); fills @report (may be NULL; set its size) and returns the
 * report's result.
 */
typedef void (*kvmi_unhook_done_cb)(struct kvmi_dom *dom,
				    const struct kvmi_unhook_report *r,
				    void *ctx);
KVMI_EXPORT int kvmi_dom_unhook_async(struct kvmi_dom *dom,
				      unsigned int deadline_ms,
				      kvmi_unhook_done_cb cb, void *ctx);
KVMI_EXPORT int kvmi_dom_unhook(struct kvmi_dom *dom, unsigned int deadline_ms,
				struct kvmi_unhook_report *report);

/*
 * kvmi_server_unhook_on_event - register unhook-and-close as every
 * domain's KVMI_EVENT_UNHOOK handler.  @before runs first (may be NULL),
 * @after gets the report once the channel is closed (may be NULL); both
 * get @ctx.  0, -EINVAL or -ENOMEM.
 */
typedef void (*kvmi_unhook_before_cb)(struct kvmi_dom *dom, void *ctx);
typedef void (*kvmi_unhook_after_cb)(struct kvmi_dom *dom,
				     const struct kvmi_unhook_report *r,
				     void *ctx);
KVMI_EXPORT int kvmi_server_unhook_on_event(struct kvmi_server *srv,
					    unsigned int deadline_ms,
					    kvmi_unhook_before_cb before,
					    kvmi_unhook_after_cb after,
					    void *ctx);

#ifdef __cplusplus
}
#endif

#endif /* KVMI_HOOKS_H */
