/*
 * libkvmi - tests/v7/test_v7.c: the kvmi-v7 calls of <kvmi/domain-v7.h>
 * against kvmi-fakehost in each dialect (v7-2023, v7-2021, v6, v12), as a
 * real process over a real socket.  One script of calls runs in the
 * synchronous and in the asynchronous forms; each step has, per dialect,
 * the result it must get and whether the host must have seen it (a call
 * the dialect lacks is refused before anything is sent: the fakehost's
 * command count in its report proves it), and the values the host
 * answers are checked against the fakehost's model (commands.c: 64 MiB of
 * RAM as one memslot, gva = gpa, XCR0 = 7, views created from 1 up).  The
 * script undoes what it did, so the host's report must be clean with no
 * view, gfn, single-step or vCPU off view 0 left.  Batches are tested with
 * and without replies.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define RAM_PAGES (64u * 1024 * 1024 / 4096) /* the fakehost's default */
#define MAX_STEPS 64

/* ------------------------------------------------------------------ */
/* the script                                                          */
/* ------------------------------------------------------------------ */

struct run {
	struct kvmi_dom *dom;
	enum kvmi_dialect dialect;
	bool async;
	size_t nsteps; /* steps to run (0: only the start-up commands) */
	size_t i;      /* the step running */
	bool waiting;  /* for step i's callback */
	int stray_callbacks;
	int result[MAX_STEPS];
	int value_ok[MAX_STEPS]; /* 1 right, 0 wrong, -1 not checked */
	/* outputs of the calls */
	uint16_t view, view2, view_out;
	uint64_t u64, gfn, gfn2;
	struct kvmi_v7_vm_query_physical_reply qp;
	uint8_t xsave[4097];
};

static struct run run;

static void step_done(struct kvmi_dom *dom, int result, void *ctx);

/* the synchronous or the asynchronous form of kvmi_dom_<fn> */
#define BOTH(fn, ...)                                                          \
	(r->async ? kvmi_dom_##fn##_async(r->dom, __VA_ARGS__, step_done, r)   \
		  : kvmi_dom_##fn(r->dom, __VA_ARGS__))

/* per dialect: the result, and whether the host saw the command */
struct expect {
	int result;
	bool local;
};
#define OK                                                                     \
	{                                                                      \
		0, false                                                       \
	}
#define HOST(e)                                                                \
	{                                                                      \
		-(e), false                                                    \
	}
#define LOCAL(e)                                                               \
	{                                                                      \
		-(e), true                                                     \
	}
#define NOTSUP LOCAL(EOPNOTSUPP)

struct step {
	const char *name;
	int (*call)(struct run *r);
	/* indexed by enum kvmi_dialect: v6, v7 (2021), v7-2023, v12 */
	struct expect exp[KVMI_NUM_DIALECTS];
	/* on success: the outputs are right (NULL: nothing to check) */
	bool (*check)(const struct run *r);
};

static const struct kvmi_page_access_entry restrict_r = {
    .gpa = 0x5000, .access = KVMI_PAGE_ACCESS_R};
static const struct kvmi_page_access_entry restore_rwx = {
    .gpa = 0x5000, .access = KVMI_PAGE_ACCESS_RWX};

static int s_create(struct run *r)
{
	return BOTH(create_ept_view, &r->view);
}
static int s_create2(struct run *r)
{
	return BOTH(create_ept_view, &r->view2);
}
static int s_access(struct run *r)
{
	return BOTH(set_page_access_view, r->view, &restrict_r, 1);
}
static int s_access0(struct run *r)
{
	return BOTH(set_page_access_view, 0, &restore_rwx, 1);
}
static int s_access_view3(struct run *r)
{
	return BOTH(set_page_access_view, 3, &restrict_r, 1);
}
static int s_access_none(struct run *r)
{
	return BOTH(set_page_access_view, r->view, NULL, 1);
}
static int s_restore(struct run *r)
{
	return BOTH(set_page_access_view, r->view, &restore_rwx, 1);
}
static int s_switch(struct run *r)
{
	return BOTH(set_ept_view, 0, r->view);
}
static int s_switch_back(struct run *r)
{
	return BOTH(set_ept_view, 0, 0);
}
static int s_switch_600(struct run *r)
{
	return BOTH(set_ept_view, 1, 600);
}
static int s_get0(struct run *r)
{
	return BOTH(get_ept_view, 0, &r->view_out);
}
static int s_get1(struct run *r)
{
	return BOTH(get_ept_view, 1, &r->view_out);
}
static int s_get_null(struct run *r)
{
	return BOTH(get_ept_view, 0, NULL);
}
static int s_visible(struct run *r)
{
	return BOTH(control_ept_view, 0, r->view, 1);
}
static int s_invisible(struct run *r)
{
	return BOTH(control_ept_view, 0, r->view, 0);
}
static int s_ve_info(struct run *r)
{
	return BOTH(set_ve_info, 0, 0x7000, 1);
}
static int s_disable_ve(struct run *r)
{
	return BOTH(disable_ve, 0);
}
static int s_sve_clear(struct run *r)
{
	return BOTH(set_page_sve, r->view, 0x5000, 0);
}
static int s_sve_set(struct run *r)
{
	return BOTH(set_page_sve, r->view, 0x5000, 1);
}
static int s_spp(struct run *r)
{
	return BOTH(control_spp, 1);
}
static int s_gva(struct run *r)
{
	return BOTH(translate_gva, 1, 0x5123, &r->u64);
}
static int s_gva_unmapped(struct run *r)
{
	return BOTH(translate_gva, 0, 1ull << 40, &r->u64);
}
static int s_xcr0(struct run *r)
{
	return BOTH(get_xcr, 0, 0, &r->u64);
}
static int s_xcr1(struct run *r)
{
	return BOTH(get_xcr, 0, 1, &r->u64);
}
static int s_get_xsave(struct run *r)
{
	return BOTH(get_xsave, 0, r->xsave, 4096);
}
static int s_set_xsave(struct run *r)
{
	return BOTH(set_xsave, 0, r->xsave, 4096);
}
static int s_set_xsave0(struct run *r)
{
	return BOTH(set_xsave, 0, r->xsave, 0);
}
static int s_set_xsave_long(struct run *r)
{
	return BOTH(set_xsave, 0, r->xsave, sizeof(r->xsave));
}
static int s_step_on(struct run *r)
{
	return BOTH(control_singlestep, 1, 1);
}
static int s_step_off(struct run *r)
{
	return BOTH(control_singlestep, 1, 0);
}
static int s_next_gfn(struct run *r)
{
	return BOTH(get_next_available_gfn, &r->gfn);
}
static int s_next_gfn2(struct run *r)
{
	return BOTH(get_next_available_gfn, &r->gfn2);
}
static int s_alloc(struct run *r)
{
	return BOTH(alloc_gfn, r->gfn);
}
static int s_free(struct run *r)
{
	return BOTH(free_gfn, r->gfn);
}
static int s_query(struct run *r)
{
	return BOTH(query_physical, 5, &r->qp);
}
static int s_query_none(struct run *r)
{
	return BOTH(query_physical, 1ull << 30, &r->qp);
}
static int s_change0(struct run *r)
{
	return BOTH(change_gfn, 0, 0, 5, 6);
}
static int s_change_view(struct run *r)
{
	return BOTH(change_gfn, 0, r->view, 5, 5);
}
static int s_change_view9(struct run *r)
{
	return BOTH(change_gfn, 0, 9, 5, 5);
}
static int s_destroy(struct run *r)
{
	return BOTH(destroy_ept_view, r->view);
}
static int s_destroy2(struct run *r)
{
	return BOTH(destroy_ept_view, r->view2);
}
static int s_destroy0(struct run *r)
{
	return BOTH(destroy_ept_view, 0);
}
static int s_get_max_gfn(struct run *r)
{
	return BOTH(get_max_gfn, &r->u64);
}

static bool c_view1(const struct run *r)
{
	return r->view == 1;
}
static bool c_view2(const struct run *r)
{
	return r->view2 == 2;
}
static bool c_on_view(const struct run *r)
{
	return r->view_out == r->view;
}
static bool c_on_view0(const struct run *r)
{
	return r->view_out == 0;
}
static bool c_gpa(const struct run *r)
{
	return r->u64 == 0x5123;
}
static bool c_unmapped(const struct run *r)
{
	return r->u64 == ~0ull;
}
static bool c_xcr0(const struct run *r)
{
	return r->u64 == 7;
}
static bool c_xsave(const struct run *r)
{
	uint16_t fcw;

	memcpy(&fcw, r->xsave, sizeof(fcw));
	return fcw == 0x37f; /* the model's x87 control word */
}
static bool c_gfn(const struct run *r)
{
	return r->gfn == RAM_PAGES;
}
static bool c_gfn2(const struct run *r)
{
	return r->gfn2 == RAM_PAGES + 1;
}
static bool c_slot(const struct run *r)
{
	return r->qp.gfn == 0 && r->qp.size == RAM_PAGES;
}

/* columns: v6, v7 (2021), v7-2023, v12 */
static const struct step steps[] = {
    {"create_ept_view", s_create, {NOTSUP, NOTSUP, OK, NOTSUP}, c_view1},
    {"create_ept_view (2nd)", s_create2, {NOTSUP, NOTSUP, OK, NOTSUP}, c_view2},
    /* page access in a view; view 0 in every dialect */
    {"set_page_access_view R", s_access, {NOTSUP, OK, OK, NOTSUP}, NULL},
    {"set_page_access_view 0", s_access0, {OK, OK, OK, OK}, NULL},
    {"set_page_access_view 3",
     s_access_view3,
     {NOTSUP, LOCAL(EINVAL), HOST(EINVAL), NOTSUP},
     NULL},
    {"set_page_access_view NULL",
     s_access_none,
     {NOTSUP, LOCAL(EINVAL), LOCAL(EINVAL), NOTSUP},
     NULL},
    /* switch, read back, visibility */
    {"set_ept_view", s_switch, {NOTSUP, OK, OK, NOTSUP}, NULL},
    {"get_ept_view vcpu 0", s_get0, {NOTSUP, OK, OK, NOTSUP}, c_on_view},
    {"get_ept_view vcpu 1", s_get1, {NOTSUP, OK, OK, NOTSUP}, c_on_view0},
    {"get_ept_view NULL",
     s_get_null,
     {NOTSUP, LOCAL(EINVAL), LOCAL(EINVAL), NOTSUP},
     NULL},
    {"set_ept_view 600",
     s_switch_600,
     {NOTSUP, LOCAL(EINVAL), LOCAL(EINVAL), NOTSUP},
     NULL},
    {"control_ept_view visible", s_visible, {NOTSUP, OK, OK, NOTSUP}, NULL},
    /* #VE (the model CPU has none), SVE, SPP (none either) */
    {"set_ve_info",
     s_ve_info,
     {NOTSUP, HOST(EINVAL), HOST(EINVAL), NOTSUP},
     NULL},
    {"disable_ve", s_disable_ve, {NOTSUP, OK, OK, NOTSUP}, NULL},
    {"set_page_sve clear", s_sve_clear, {NOTSUP, OK, OK, NOTSUP}, NULL},
    {"set_page_sve set", s_sve_set, {NOTSUP, OK, OK, NOTSUP}, NULL},
    {"control_spp",
     s_spp,
     {HOST(EOPNOTSUPP), HOST(EOPNOTSUPP), HOST(EOPNOTSUPP), NOTSUP},
     NULL},
    /* vCPU state: v12 has these too */
    {"translate_gva", s_gva, {NOTSUP, OK, OK, OK}, c_gpa},
    {"translate_gva unmapped",
     s_gva_unmapped,
     {NOTSUP, OK, OK, OK},
     c_unmapped},
    {"get_xcr 0", s_xcr0, {NOTSUP, OK, OK, OK}, c_xcr0},
    {"get_xcr 1",
     s_xcr1,
     {NOTSUP, HOST(EINVAL), HOST(EINVAL), HOST(EINVAL)},
     NULL},
    {"get_xsave",
     s_get_xsave,
     {{4096, false}, {4096, false}, {4096, false}, {4096, false}},
     c_xsave},
    {"set_xsave", s_set_xsave, {NOTSUP, OK, OK, OK}, NULL},
    {"set_xsave 0 bytes",
     s_set_xsave0,
     {NOTSUP, LOCAL(EINVAL), LOCAL(EINVAL), LOCAL(EINVAL)},
     NULL},
    {"set_xsave 4097 bytes",
     s_set_xsave_long,
     {NOTSUP, LOCAL(EINVAL), LOCAL(EINVAL), LOCAL(EINVAL)},
     NULL},
    {"control_singlestep on", s_step_on, {NOTSUP, OK, OK, OK}, NULL},
    {"control_singlestep off", s_step_off, {NOTSUP, OK, OK, OK}, NULL},
    /* gfns (2023) */
    {"get_next_available_gfn", s_next_gfn, {NOTSUP, NOTSUP, OK, NOTSUP}, c_gfn},
    {"alloc_gfn", s_alloc, {NOTSUP, NOTSUP, OK, NOTSUP}, NULL},
    {"get_next_available_gfn (after alloc)",
     s_next_gfn2,
     {NOTSUP, NOTSUP, OK, NOTSUP},
     c_gfn2},
    {"alloc_gfn again", s_alloc, {NOTSUP, NOTSUP, HOST(EINVAL), NOTSUP}, NULL},
    {"query_physical", s_query, {NOTSUP, NOTSUP, OK, NOTSUP}, c_slot},
    {"query_physical outside RAM",
     s_query_none,
     {NOTSUP, NOTSUP, HOST(ENOENT), NOTSUP},
     NULL},
    {"change_gfn view 0", s_change0, {NOTSUP, OK, OK, NOTSUP}, NULL},
    {"change_gfn in the view",
     s_change_view,
     {NOTSUP, NOTSUP, OK, NOTSUP},
     NULL},
    {"change_gfn view 9",
     s_change_view9,
     {NOTSUP, NOTSUP, HOST(EINVAL), NOTSUP},
     NULL},
    {"free_gfn", s_free, {NOTSUP, NOTSUP, OK, NOTSUP}, NULL},
    {"free_gfn again", s_free, {NOTSUP, NOTSUP, HOST(EINVAL), NOTSUP}, NULL},
    /* undo */
    {"control_ept_view invisible", s_invisible, {NOTSUP, OK, OK, NOTSUP}, NULL},
    {"set_ept_view 0", s_switch_back, {NOTSUP, OK, OK, NOTSUP}, NULL},
    {"set_page_access_view RWX", s_restore, {NOTSUP, OK, OK, NOTSUP}, NULL},
    {"destroy_ept_view (2nd)", s_destroy2, {NOTSUP, NOTSUP, OK, NOTSUP}, NULL},
    {"destroy_ept_view", s_destroy, {NOTSUP, NOTSUP, OK, NOTSUP}, NULL},
    {"destroy_ept_view again",
     s_destroy,
     {NOTSUP, NOTSUP, HOST(EINVAL), NOTSUP},
     NULL},
    {"destroy_ept_view 0",
     s_destroy0,
     {NOTSUP, NOTSUP, LOCAL(EINVAL), NOTSUP},
     NULL},
    {"get_ept_view (after)", s_get0, {NOTSUP, OK, OK, NOTSUP}, c_on_view0},
    /* the core calls still follow the dialect afterwards */
    {"get_max_gfn", s_get_max_gfn, {OK, OK, OK, NOTSUP}, NULL},
};
#define NSTEPS (sizeof(steps) / sizeof(steps[0]))
_Static_assert(NSTEPS <= MAX_STEPS, "MAX_STEPS");

static void finish(struct run *r, int result)
{
	const struct step *s = &steps[r->i];

	r->result[r->i] = result;
	r->value_ok[r->i] = result >= 0 && s->check ? s->check(r) : -1;
	r->i++;
}

/* run steps from r->i until one waits for its callback, then close */
static void run_steps(struct run *r)
{
	while (r->i < r->nsteps) {
		int e = steps[r->i].call(r);

		if (r->async && e == 0) {
			r->waiting = true;
			return;
		}
		finish(r, e);
	}
	kvmi_dom_close(r->dom);
}

static void step_done(struct kvmi_dom *dom, int result, void *ctx)
{
	struct run *r = ctx;

	(void)dom;
	if (!r->waiting) { /* a call that failed called back */
		r->stray_callbacks++;
		return;
	}
	r->waiting = false;
	finish(r, result);
	run_steps(r);
}

static int start_script(struct kvmi_dom *dom, void *ctx)
{
	struct harness *h = ctx;

	h->new_domains++;
	run.dom = dom;
	run.dialect = kvmi_dom_dialect(dom);
	run_steps(&run);
	return 0;
}

/* the number after "@key": in the fakehost's report (one guest) */
#define report_number h_report_number

static const char *const dialect_arg[KVMI_NUM_DIALECTS] = {"v6", "v7",
							   "v7-2023", "v12"};

/* one guest of a fakehost of dialect @d whose connection @new_domain
 * drives; run until the fakehost is gone.  No XSETBV in the workload:
 * XCR0 stays the model's 7. */
static void run_host(struct harness *h, enum kvmi_dialect d,
		     int (*new_domain)(struct kvmi_dom *dom, void *ctx))
{
	const char *args[] = {"--dialect", dialect_arg[d], "--insn", "exec",
			      NULL};

	h_init(h);
	h->cfg.new_domain = new_domain;
	h_start(h);
	h_spawn_fakehost(h, args);
	h_run(h, 30000);
	assert_int_equal(h->new_domains, 1);
}

/* the v7 state the fakehost reports at the end */
static void assert_host_state(struct harness *h, long off_view0, long visible,
			      long stepping, long views, long gfns)
{
	assert_int_equal(report_number(h, "vcpus_off_view0"), off_view0);
	assert_int_equal(report_number(h, "vcpus_with_visible_views"), visible);
	assert_int_equal(report_number(h, "vcpus_singlestepping"), stepping);
	assert_int_equal(report_number(h, "views_created"), views);
	assert_int_equal(report_number(h, "gfns_allocated"), gfns);
}

/* run the first @nsteps steps against a fakehost of dialect @d; the
 * host's command count */
static long run_script(enum kvmi_dialect d, bool async, size_t nsteps,
		       struct harness *h)
{
	memset(&run, 0, sizeof(run));
	run.async = async;
	run.nsteps = nsteps;
	run.view = 1; /* v7-2021's fixed views; create overwrites it */
	run.view2 = 2;
	run_host(h, d, start_script);
	assert_int_equal((int)run.dialect, (int)d);
	assert_int_equal(h->log_errors, 0);
	return report_number(h, "commands");
}

static void check_script(enum kvmi_dialect d, bool async)
{
	struct harness h;
	long base, sent, expect_sent = 0;

	base = run_script(d, async, 0, &h); /* the start-up commands */
	h_fini(&h);
	sent = run_script(d, async, NSTEPS, &h);
	assert_int_equal(run.i, NSTEPS);
	assert_int_equal(run.stray_callbacks, 0);
	for (size_t i = 0; i < NSTEPS; i++) {
		const struct expect *e = &steps[i].exp[d];

		if (run.result[i] != e->result || run.value_ok[i] == 0)
			fail_msg("%s %s, step %zu %s: result %d (%s), expected "
				 "%d%s",
				 dialect_arg[d], async ? "async" : "sync", i,
				 steps[i].name, run.result[i],
				 kvmi_strerror(run.result[i]), e->result,
				 run.value_ok[i] == 0 ? "; wrong value" : "");
		if (!e->local)
			expect_sent++;
	}
	assert_int_equal(sent - base, expect_sent);
	/* everything undone: the host's verdict and its v7 state */
	assert_int_equal(h_report_count(&h, "\"verdict\":\"clean\""), 1);
	if (d != KVMI_DIALECT_V6)
		assert_host_state(&h, 0, 0, 0, 0, 0);
	h_fini(&h);
}

/* the script in one dialect (the test's prestate), sync then async:
 * v7-2023 has every call, v7-2021 all but the 2023 ones, v6 none but
 * SPP and view 0, v12 its counterparts */
static void test_script(void **state)
{
	enum kvmi_dialect d = *(const enum kvmi_dialect *)*state;

	check_script(d, false);
	check_script(d, true);
}

/* a state left on the host shows in its report: the calls really act */
static int leave_state(struct kvmi_dom *dom, void *ctx)
{
	struct harness *h = ctx;
	uint16_t view = 0;

	h->new_domains++;
	run.result[0] = kvmi_dom_create_ept_view(dom, &view);
	run.result[1] = kvmi_dom_set_ept_view(dom, 1, view);
	run.result[2] = kvmi_dom_control_ept_view(dom, 0, view, 1);
	run.result[3] = kvmi_dom_control_singlestep(dom, 0, 1);
	run.result[4] =
	    kvmi_dom_set_page_access_view(dom, view, &restrict_r, 1);
	run.result[5] = kvmi_dom_alloc_gfn(dom, RAM_PAGES + 7);
	kvmi_dom_close(dom);
	return 0;
}

static void test_state_reaches_host(void **state)
{
	struct harness h;

	(void)state;
	memset(&run, 0, sizeof(run));
	run_host(&h, KVMI_DIALECT_V7_2023, leave_state);
	for (int i = 0; i < 6; i++)
		assert_int_equal(run.result[i], 0);
	assert_host_state(&h, 1, 1, 1, 1, 1);
	/* the restriction in the view is still there */
	assert_int_equal(h_report_count(&h, "\"verdict\":\"clean\""), 0);
	assert_int_equal(report_number(&h, "pages_restricted"), 1);
	h_fini(&h);
}

/* ------------------------------------------------------------------ */
/* batches                                                             */
/* ------------------------------------------------------------------ */

struct batch_seen {
	enum kvmi_dialect dialect;
	uint16_t view;
	int create;
	int queue_bad[4]; /* refused at queueing */
	size_t count_after_bad;
	int commit; /* the first batch */
	int item[10];
	size_t nitems;
	uint16_t view_mid, view_end;
	int get_mid, get_end;
	int destroy_idx; /* queueing destroy in the second batch */
	int send;	 /* kvmi_pipeline_send's return */
	int sent_result; /* its callback's result */
	int sent_items[8];
	size_t sent_n;
	int callbacks;
};
static struct batch_seen bs;

static void second_done(struct kvmi_dom *dom, int result, void *ctx)
{
	struct kvmi_pipeline *b = ctx;

	bs.callbacks++;
	bs.sent_result = result;
	bs.sent_n = kvmi_pipeline_count(b);
	for (size_t i = 0; i < bs.sent_n && i < 8; i++)
		bs.sent_items[i] = kvmi_pipeline_result(b, i);
	bs.get_end = kvmi_dom_get_ept_view(dom, 0, &bs.view_end);
	kvmi_dom_close(dom);
}

static int run_batches(struct kvmi_dom *dom, void *ctx)
{
	struct harness *h = ctx;
	struct kvmi_pipeline *b;
	bool y23;

	h->new_domains++;
	bs.dialect = kvmi_dom_dialect(dom);
	y23 = bs.dialect == KVMI_DIALECT_V7_2023;
	bs.view = 1;
	bs.create = y23 ? kvmi_dom_create_ept_view(dom, &bs.view) : 0;

	/* replies on: every item's own result */
	assert_int_equal(kvmi_pipeline_new(dom, 0, &b), 0);
	bs.queue_bad[0] = kvmi_pipeline_set_ept_view(b, 0, 600);
	bs.queue_bad[1] = kvmi_pipeline_destroy_ept_view(b, 0);
	bs.queue_bad[2] =
	    kvmi_pipeline_set_page_access_view(b, bs.view, NULL, 1);
	bs.queue_bad[3] = kvmi_pipeline_change_gfn(b, 0, 600, 1, 1);
	bs.count_after_bad = kvmi_pipeline_count(b);
	kvmi_pipeline_set_page_access_view(b, bs.view, &restrict_r, 1);
	kvmi_pipeline_set_ept_view(b, 0, bs.view);
	kvmi_pipeline_control_ept_view(b, 0, bs.view, 1);
	kvmi_pipeline_set_page_sve(b, bs.view, 0x5000, 0);
	kvmi_pipeline_set_ve_info(b, 0, 0x7000, 0); /* the host: -EINVAL */
	kvmi_pipeline_disable_ve(b, 0);
	kvmi_pipeline_control_singlestep(b, 1, 1);
	kvmi_pipeline_change_gfn(b, 0, 0, 5, 6);
	bs.nitems = kvmi_pipeline_count(b);
	bs.commit = kvmi_pipeline_commit(b);
	for (size_t i = 0; i < bs.nitems && i < 10; i++)
		bs.item[i] = kvmi_pipeline_result(b, i);
	kvmi_pipeline_free(b);
	bs.get_mid = kvmi_dom_get_ept_view(dom, 0, &bs.view_mid);

	/* replies off, sent asynchronously: undo it all */
	assert_int_equal(kvmi_pipeline_new(dom, KVMI_PIPELINE_NO_REPLIES, &b),
			 0);
	kvmi_pipeline_control_singlestep(b, 1, 0);
	kvmi_pipeline_control_ept_view(b, 0, bs.view, 0);
	kvmi_pipeline_set_ept_view(b, 0, 0);
	kvmi_pipeline_set_page_access_view(b, bs.view, &restore_rwx, 1);
	kvmi_pipeline_set_page_sve(b, bs.view, 0x5000, 1);
	bs.destroy_idx = kvmi_pipeline_destroy_ept_view(b, bs.view);
	bs.send = kvmi_pipeline_send(b, second_done, b);
	if (bs.send)
		kvmi_dom_close(dom);
	return 0;
}

static void check_batches(enum kvmi_dialect d)
{
	struct harness h;
	bool y23 = d == KVMI_DIALECT_V7_2023;

	memset(&bs, 0, sizeof(bs));
	run_host(&h, d, run_batches);
	assert_int_equal((int)bs.dialect, (int)d);
	assert_int_equal(bs.create, 0);
	assert_int_equal(bs.view, 1);
	assert_int_equal(bs.queue_bad[0], -EINVAL);
	assert_int_equal(bs.queue_bad[1], y23 ? -EINVAL : -EOPNOTSUPP);
	assert_int_equal(bs.queue_bad[2], -EINVAL);
	assert_int_equal(bs.queue_bad[3], y23 ? -EINVAL : -EOPNOTSUPP);
	assert_int_equal(bs.count_after_bad, 0);
	assert_int_equal(bs.nitems, 8);
	assert_int_equal(bs.commit, -EINVAL); /* the first error: set_ve_info */
	for (size_t i = 0; i < 8; i++)
		assert_int_equal(bs.item[i], i == 4 ? -EINVAL : 0);
	assert_int_equal(bs.get_mid, 0);
	assert_int_equal(bs.view_mid, bs.view);
	/* the second batch: destroy only where views are created */
	assert_int_equal(bs.destroy_idx, y23 ? 5 : -EOPNOTSUPP);
	assert_int_equal(bs.send, 0);
	assert_int_equal(bs.callbacks, 1);
	assert_int_equal(bs.sent_result, 0);
	assert_int_equal(bs.sent_n, y23 ? 6 : 5);
	for (size_t i = 0; i < bs.sent_n; i++)
		assert_int_equal(bs.sent_items[i], 0);
	assert_int_equal(bs.get_end, 0);
	assert_int_equal(bs.view_end, 0);
	assert_int_equal(h.log_errors, 0);
	assert_int_equal(h_report_count(&h, "\"verdict\":\"clean\""), 1);
	assert_host_state(&h, 0, 0, 0, 0, 0);
	h_fini(&h);
}

/* in batches, v7-2023 then v7-2021 */
static void test_batches(void **state)
{
	(void)state;
	check_batches(KVMI_DIALECT_V7_2023);
	check_batches(KVMI_DIALECT_V7);
}

/* the batch forms that return data: each reply struct as the call's
 * own synchronous form reads it; refused with replies off */
static struct {
	int queued[6], commit, results[6], no_replies[2];
	uint16_t view_sync, view_of0_sync;
	uint64_t gpa_sync, xcr_sync, gfn_sync;
	struct kvmi_v7_vm_create_ept_view_reply cv;
	struct kvmi_v7_vcpu_get_ept_view_reply gv;
	struct kvmi_v7_vcpu_translate_gva_reply tg;
	struct kvmi_v7_vcpu_get_xcr_reply xr;
	struct kvmi_v7_vm_get_next_available_gfn_reply ng;
	struct kvmi_v7_vm_query_physical_reply qp, qp_sync;
	int destroy[2];
} bd;

static int run_batch_data(struct kvmi_dom *dom, void *ctx)
{
	struct harness *h = ctx;
	struct kvmi_pipeline *b;

	h->new_domains++;
	kvmi_dom_get_ept_view(dom, 0, &bd.view_of0_sync);
	kvmi_dom_translate_gva(dom, 1, 0x5123, &bd.gpa_sync);
	kvmi_dom_get_xcr(dom, 0, 0, &bd.xcr_sync);
	kvmi_dom_get_next_available_gfn(dom, &bd.gfn_sync);
	kvmi_dom_query_physical(dom, 5, &bd.qp_sync);
	assert_int_equal(kvmi_pipeline_new(dom, 0, &b), 0);
	bd.queued[0] = kvmi_pipeline_create_ept_view(b, &bd.cv);
	bd.queued[1] = kvmi_pipeline_get_ept_view(b, 0, &bd.gv);
	bd.queued[2] = kvmi_pipeline_translate_gva(b, 1, 0x5123, &bd.tg);
	bd.queued[3] = kvmi_pipeline_get_xcr(b, 0, 0, &bd.xr);
	bd.queued[4] = kvmi_pipeline_get_next_available_gfn(b, &bd.ng);
	bd.queued[5] = kvmi_pipeline_query_physical(b, 5, &bd.qp);
	bd.commit = kvmi_pipeline_commit(b);
	for (size_t i = 0; i < 6; i++)
		bd.results[i] = kvmi_pipeline_result(b, i);
	kvmi_pipeline_free(b);
	assert_int_equal(kvmi_pipeline_new(dom, KVMI_PIPELINE_NO_REPLIES, &b),
			 0);
	bd.no_replies[0] = kvmi_pipeline_get_ept_view(b, 0, &bd.gv);
	bd.no_replies[1] = kvmi_pipeline_query_physical(b, 5, &bd.qp);
	kvmi_pipeline_free(b);
	bd.destroy[0] = kvmi_dom_destroy_ept_view(dom, bd.cv.view);
	kvmi_dom_close(dom);
	return 0;
}

static void test_batch_data(void **state)
{
	struct harness h;

	(void)state;
	memset(&bd, 0, sizeof(bd));
	run_host(&h, KVMI_DIALECT_V7_2023, run_batch_data);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(bd.queued[i], i);
		assert_int_equal(bd.results[i], 0);
	}
	assert_int_equal(bd.commit, 0);
	assert_true(bd.cv.view >= 1); /* a created view: never view 0 */
	assert_int_equal(bd.gv.view, bd.view_of0_sync);
	assert_true(bd.gpa_sync != 0);
	assert_int_equal(bd.tg.gpa, bd.gpa_sync);
	assert_int_equal(bd.xr.value, bd.xcr_sync);
	assert_int_equal(bd.ng.gfn, bd.gfn_sync);
	assert_memory_equal(&bd.qp, &bd.qp_sync, sizeof(bd.qp));
	assert_int_equal(bd.no_replies[0], -EINVAL);
	assert_int_equal(bd.no_replies[1], -EINVAL);
	assert_int_equal(bd.destroy[0], 0);
	assert_int_equal(h.log_errors, 0);
	assert_int_equal(h_report_count(&h, "\"verdict\":\"clean\""), 1);
	assert_host_state(&h, 0, 0, 0, 0, 0);
	h_fini(&h);
}

/* v6 and v12: every kvmi-v7 batch item is refused, nothing queued */
static int refuse_batch(struct kvmi_dom *dom, void *ctx)
{
	struct harness *h = ctx;
	struct kvmi_pipeline *b;
	int n = 0;

	h->new_domains++;
	assert_int_equal(kvmi_pipeline_new(dom, 0, &b), 0);
	run.result[n++] = kvmi_pipeline_set_ept_view(b, 0, 1);
	run.result[n++] = kvmi_pipeline_control_ept_view(b, 0, 1, 1);
	run.result[n++] = kvmi_pipeline_destroy_ept_view(b, 1);
	run.result[n++] =
	    kvmi_pipeline_set_page_access_view(b, 1, &restrict_r, 1);
	run.result[n++] = kvmi_pipeline_set_page_sve(b, 0, 0x5000, 1);
	run.result[n++] = kvmi_pipeline_set_ve_info(b, 0, 0x7000, 1);
	run.result[n++] = kvmi_pipeline_disable_ve(b, 0);
	run.result[n++] = kvmi_pipeline_change_gfn(b, 0, 0, 5, 6);
	run.result[n++] = kvmi_pipeline_free_gfn(b, RAM_PAGES);
	run.result[n++] = kvmi_pipeline_control_singlestep(b, 0, 1);
	run.value_ok[0] = (int)kvmi_pipeline_count(b);
	/* view 0 is every dialect's */
	run.result[n++] =
	    kvmi_pipeline_set_page_access_view(b, 0, &restore_rwx, 1);
	run.value_ok[1] = kvmi_pipeline_commit(b);
	kvmi_pipeline_free(b);
	run.i = (size_t)n;
	kvmi_dom_close(dom);
	return 0;
}

static void test_batches_refused(void **state)
{
	(void)state;
	for (int d = KVMI_DIALECT_V6; d <= KVMI_DIALECT_V12; d += 3) {
		struct harness h;

		memset(&run, 0, sizeof(run));
		run_host(&h, (enum kvmi_dialect)d, refuse_batch);
		assert_int_equal(run.i, 11);
		for (size_t i = 0; i < 9; i++)
			assert_int_equal(run.result[i], -EOPNOTSUPP);
		/* v12 single-steps: the one item of the ten it takes */
		assert_int_equal(run.result[9],
				 d == KVMI_DIALECT_V12 ? 0 : -EOPNOTSUPP);
		assert_int_equal(run.value_ok[0],
				 d == KVMI_DIALECT_V12 ? 1 : 0);
		assert_int_equal(run.result[10], d == KVMI_DIALECT_V12 ? 1 : 0);
		assert_int_equal(run.value_ok[1], 0);
		assert_int_equal(h_report_count(&h, "\"verdict\":\"clean\""),
				 1);
		h_fini(&h);
	}
}

/* arguments checked before the dialect is even looked at */
static void test_null_arguments(void **state)
{
	uint16_t view;
	uint64_t v;

	(void)state;
	assert_int_equal(kvmi_dom_create_ept_view(NULL, &view), -EINVAL);
	assert_int_equal(kvmi_dom_get_xcr(NULL, 0, 0, &v), -EINVAL);
	assert_int_equal(
	    kvmi_dom_set_ept_view_async(NULL, 0, 0, step_done, NULL), -EINVAL);
	assert_int_equal(kvmi_dom_set_page_access_view(NULL, 0, &restrict_r, 1),
			 -EINVAL);
	assert_int_equal(kvmi_pipeline_set_ept_view(NULL, 0, 0), -EINVAL);
	assert_int_equal(
	    kvmi_pipeline_set_page_access_view(NULL, 0, &restrict_r, 1),
	    -EINVAL);
	assert_int_equal(kvmi_pipeline_change_gfn(NULL, 0, 0, 1, 1), -EINVAL);
}

static enum kvmi_dialect v7_2023 = KVMI_DIALECT_V7_2023,
			 v7_2021 = KVMI_DIALECT_V7, v6 = KVMI_DIALECT_V6,
			 v12 = KVMI_DIALECT_V12;

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_null_arguments),
	    cmocka_unit_test_prestate(test_script, &v7_2023),
	    cmocka_unit_test_prestate(test_script, &v7_2021),
	    cmocka_unit_test_prestate(test_script, &v6),
	    cmocka_unit_test_prestate(test_script, &v12),
	    cmocka_unit_test(test_state_reaches_host),
	    cmocka_unit_test(test_batches),
	    cmocka_unit_test(test_batch_data),
	    cmocka_unit_test(test_batches_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
