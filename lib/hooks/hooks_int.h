/*
 * libkvmi - hooks_int.h: the hook registry's structures, shared by
 * hooks.c (placing hooks, breakpoint events) and unhook.c (taking them
 * back).
 */
#ifndef KVMI_LIB_HOOKS_INT_H
#define KVMI_LIB_HOOKS_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <kvmi/domain-v7.h>
#include <kvmi/hooks.h>

struct kvmi__bp_site;
struct kvmi__byte_write;

/* one user of a breakpoint address (the public handle) */
struct kvmi_bp {
	struct kvmi_bp *next;
	struct kvmi__bp_site *site;
	kvmi_bp_cb cb;
	void *ctx;
	bool remove; /* asked to go while its site was busy */
	kvmi_dom_cmd_cb done; /* placement pending: told the outcome */
	void *done_ctx;
};

/* one breakpoint address */
struct kvmi__bp_site {
	struct kvmi_dom *dom;
	uint64_t gpa;
	uint8_t orig;	 /* the guest's byte */
	bool armed;	 /* 0xCC is in guest memory */
	bool placing;	 /* original byte or events not confirmed yet */
	bool orig_known; /* @orig was read */
	struct kvmi__bp_site *wait_next; /* waiting for BREAKPOINT events */
	bool busy;	 /* its users' callbacks are running */
	struct kvmi_bp *users;
	unsigned int nusers;
	int rearm_vcpu;	 /* re-arm at this vCPU's next event, -1: none */
	uint64_t rearm_rip;
	uint64_t rearm_at_ms; /* ... or at this time, whichever is first */
	struct kvmi__bp_site *rearm_next, *rearm_prev; /* pending, oldest
							 first */
	struct kvmi__byte_write *inflight; /* last write not yet answered */
	int restore_failures; /* consecutive refused restores */
	uint64_t hits;
};

/* one restricted page */
struct kvmi__page {
	uint64_t gfn;
	uint8_t prev; /* access before the first restriction */
	uint8_t cur;
};

/* one page restricted in an EPT view other than 0 (views.c) */
struct kvmi__vpage {
	uint64_t gfn;
	uint16_t view;
	uint8_t prev; /* access before the first restriction (rwx: kvmi-v7
			 cannot read it) */
	uint8_t cur;
};

/* a view made visible to VMFUNC on a vCPU */
struct kvmi__vis {
	uint16_t vcpu, view;
};

/* what a vCPU's view state was before we touched it */
struct kvmi__vcpu_view {
	int32_t start; /* its view before our first switch, -1: not switched */
	uint16_t cur;  /* the view we switched it to last */
	uint8_t ve;    /* we gave it a #VE info page */
	uint8_t wrong; /* the unhook's read-back found it off @start */
	struct kvmi_v7_vcpu_get_ept_view_reply got; /* that read-back */
};

/* the EPT-view hooks (views.c) */
struct kvmi__views {
	struct kvmi__vpage *pages;
	size_t npages, pcap;
	uint16_t *created; /* views we created and did not destroy */
	size_t ncreated, ccap;
	uint64_t *gfns; /* gfns we allocated and did not free */
	size_t ngfns, gcap;
	struct kvmi__vis *vis;
	size_t nvis, vcap;
	struct kvmi__vcpu_view *vcpus; /* by vCPU index */
	unsigned int nvcpus;
	int cleanup; /* v12 VM_CONTROL_CLEANUP(1) sent */
};

struct kvmi__hooks {
	struct kvmi__bp_site **table; /* open addressing by gpa */
	size_t cap, nsites;
	struct kvmi__page *pages;
	size_t npages, pcap;
	uint32_t events; /* vCPU events enabled on every vCPU */
	uint32_t crs;	 /* CRs intercepted on every vCPU */
	uint32_t *msrs;
	size_t nmsrs;
	bool create_on;	 /* KVMI_EVENT_CREATE_VCPU enabled by us */
	int bp_events;	 /* BREAKPOINT on every vCPU: 0 no, 1 asked, 2 yes */
	struct kvmi__bp_site *bp_waiting; /* sites waiting for bp_events */
	bool unhooking;	 /* an unhook runs: no hit handling, no re-arm */
	void *unhook;	 /* the unhook run (unhook.c), NULL when none */
	struct kvmi__bp_site *rearm_head, *rearm_tail; /* disarmed by a hit */
	/* single-step re-arm (hosts with CONTROL_SINGLESTEP): SINGLESTEP
	 * events on (ss_events: 0 no, 1 asked, 2 yes), and the vCPUs we
	 * made step one instruction past a restored INT3 */
	int ss_events;
	uint8_t *stepping; /* per vCPU, @nstepping of them */
	unsigned int nstepping;
	uint64_t hits;
	struct kvmi__views views;
};

/* a breakpoint disarmed by a hit is written back at the latest this long
 * after the hit, when its vCPU reported nothing else meanwhile */
#define KVMI__REARM_MS 10
/* ... or, while the host single-steps that vCPU (its SINGLESTEP event
 * after the instruction re-arms it), this long: a fallback only */
#define KVMI__REARM_STEP_MS 1000

/* the domain's hook registry (attached on first use when @create) */
struct kvmi__hooks *kvmi__hooks_get(struct kvmi_dom *dom, bool create);
/* the library closes @dom on its own: queue the restore of every hook,
 * fire and forget (unhook.c) */
unsigned int kvmi__hooks_closing(struct kvmi_dom *dom, bool by_tool,
				  void *state);
/* ... and answer the events the closing drain read since (unhook.c) */
void kvmi__hooks_drain(struct kvmi_dom *dom, void *state);
/* single-step re-arm (hooks.c): the host can step (feature block and a
 * dialect with CONTROL_SINGLESTEP); turn SINGLESTEP events on for it
 * once BREAKPOINT events are on (place.c calls it) */
bool kvmi__hooks_can_step(struct kvmi_dom *dom);
void kvmi__hooks_step_events(struct kvmi_dom *dom, struct kvmi__hooks *hk);
/* forget every pending re-arm and stop its timer (the unhook begins) */
void kvmi__hooks_stop_rearm(struct kvmi_dom *dom);
struct kvmi__bp_site *kvmi__site_find(struct kvmi__hooks *hk, uint64_t gpa);
/* add / remove a site of the table (0 or -ENOMEM) */
int kvmi__site_put(struct kvmi__hooks *hk, struct kvmi__bp_site *s);
void kvmi__site_del(struct kvmi__hooks *hk, struct kvmi__bp_site *s);

/* ---- EPT views (views.c) ---- */
void kvmi__views_free(struct kvmi__views *vw);
/* v12: enable VM_CONTROL_CLEANUP once (the hooks are first used) */
void kvmi__views_cleanup(struct kvmi_dom *dom, struct kvmi__hooks *hk);
/* the unhook's items, queued in its batches (0 or the first error):
 * restore page access in every view other than 0 (restore step);
 * visibility off, vCPUs back to their first view, #VE off (disable
 * step; *@count: items queued); read the switched vCPUs' views back
 * (verify step); what the read-back found wrong, re-sent (re-apply);
 * destroy the views we created and free the gfns (last, once every vCPU
 * is back) */
size_t kvmi__views_pages(const struct kvmi__hooks *hk);
int kvmi__views_restore(struct kvmi_pipeline *b, struct kvmi__hooks *hk);
int kvmi__views_disable(struct kvmi_pipeline *b, struct kvmi__hooks *hk,
			unsigned int *count);
int kvmi__views_verify(struct kvmi_pipeline *b, struct kvmi__hooks *hk);
/* vCPUs found off their first view (*@ok: those back on it) */
size_t kvmi__views_judge(struct kvmi__hooks *hk, unsigned int *ok);
unsigned int kvmi__views_switched(const struct kvmi__hooks *hk);
int kvmi__views_reapply(struct kvmi_pipeline *b, struct kvmi__hooks *hk);
int kvmi__views_teardown(struct kvmi_pipeline *b, struct kvmi__hooks *hk);
/* the library closes the domain: queue every view restore, fire and
 * forget; the number of messages queued */
unsigned int kvmi__views_closing(struct kvmi_dom *dom, struct kvmi__hooks *hk);

#endif
