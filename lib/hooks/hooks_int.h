/*
 * libkvmi - hooks_int.h: the hook registry's structures, shared by
 * hooks.c (placing hooks, breakpoint events) and unhook.c (taking them
 * back).
 */
#ifndef KVMI_LIB_HOOKS_INT_H
#define KVMI_LIB_HOOKS_INT_H

#include <stdbool.h>
#include <stdint.h>

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
void kvmi__hooks_closing(struct kvmi_dom *dom, void *state);
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

#endif
