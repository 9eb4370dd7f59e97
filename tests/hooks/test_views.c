/*
 * libkvmi - tests/hooks/test_views.c: the EPT-view hooks of
 * <kvmi/hooks.h> (page access per view, created views, vCPU switches,
 * visibility, #VE, allocated gfns) against kvmi-fakehost as a real
 * process: placed through the tracked calls, then taken back by the
 * unhook QEMU asks for (UNHOOK event -> kvmi_dom_unhook) or by the
 * library closing the domain on its own (a host protocol error), and the
 * host's report must show nothing left - no page restricted in any view,
 * no vCPU off the view it started in, no view visible, created or gfn
 * allocated.  The same calls made raw (<kvmi/domain-v7.h>) stay on the
 * host: the report sees what is left.  v7-2021 (three fixed views), v6
 * and v12 (-EOPNOTSUPP, v12's VM_CONTROL_CLEANUP).
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
#define PAGE_A	  0x5000ull
#define PAGE_B	  0x9000ull

enum how {
	UNHOOK,	 /* QEMU's UNHOOK event: kvmi_dom_unhook */
	CLOSING, /* the host breaks the protocol: the closing restores */
	RAW,	 /* the same state through the raw calls, then close */
};

/* what the domain's setup and the unhook saw */
struct seen {
	enum how how;
	int res[16];
	uint16_t view;
	uint64_t gfn;
	int async_result;
	bool async_done;
	bool unhooked;
	int hypercalls;
	bool probe_sent;
	int probe_result;
	struct kvmi_unhook_report r;
	char log[65536];
	char capture[192];
	int cleanups; /* v12 VM_CONTROL_CLEANUP(1) messages the tool sent */
	int log_errors;
};
static struct seen S;

static void log_cb(enum kvmi_log_level level, const char *msg,
		   struct kvmi_dom *dom, void *ctx)
{
	size_t n = strlen(S.log);

	(void)dom;
	(void)ctx;
	if (level >= KVMI_LOG_ERROR)
		S.log_errors++;
	snprintf(S.log + n, sizeof(S.log) - n, "%s\n", msg);
}

static void after_unhook(struct kvmi_dom *dom,
			 const struct kvmi_unhook_report *r, void *ctx)
{
	(void)dom;
	(void)ctx;
	S.unhooked = true;
	S.r = *r;
}

static void async_cb(struct kvmi_dom *dom, int result, void *ctx)
{
	(void)dom;
	(void)ctx;
	S.async_result = result;
	S.async_done = true;
}

#define report_number h_report_number

static void assert_host_state(struct harness *h, long off_view0, long visible,
			      long views, long gfns, long pages)
{
	assert_int_equal(report_number(h, "vcpus_off_view0"), off_view0);
	assert_int_equal(report_number(h, "vcpus_with_visible_views"), visible);
	assert_int_equal(report_number(h, "vcpus_singlestepping"), 0);
	assert_int_equal(report_number(h, "views_created"), views);
	assert_int_equal(report_number(h, "gfns_allocated"), gfns);
	assert_int_equal(report_number(h, "pages_restricted"), pages);
}

static void probe_done(struct kvmi_dom *dom, int result, void *ctx)
{
	(void)dom;
	(void)ctx;
	S.probe_result = result;
}

/* a hypercall once the host stopped answering: one command, which times
 * out, and the library closes the domain on its own */
static void on_hypercall(struct kvmi_dom *dom, struct kvmi_event_ctx *ev,
			 void *ctx)
{
	static uint16_t view;

	(void)ctx;
	kvmi_event_reply(ev, KVMI_EVENT_ACTION_CONTINUE);
	if (S.how == CLOSING && !S.probe_sent && ++S.hypercalls > 5)
		S.probe_sent = kvmi_dom_get_ept_view_async(
				   dom, 0, &view, probe_done, NULL) == 0;
}

/* the unhook's report: result 0 and these counts */
static void assert_report(unsigned int pages, unsigned int vcpu_views,
			  unsigned int view_items, unsigned int views,
			  unsigned int gfns)
{
	assert_true(S.unhooked);
	assert_int_equal(S.r.result, 0);
	assert_int_equal(S.r.pages, pages);
	assert_int_equal(S.r.pages_restored, pages);
	assert_int_equal(S.r.vcpu_views, vcpu_views);
	assert_int_equal(S.r.vcpu_views_restored, vcpu_views);
	assert_int_equal(S.r.view_items_disabled, view_items);
	assert_int_equal(S.r.views_destroyed, views);
	assert_int_equal(S.r.gfns_freed, gfns);
	assert_int_equal(S.r.reapplied, 0);
}

/* run a fakehost with @args (NULL-ended) whose one guest @new_domain
 * sets up; the unhook on the UNHOOK event is registered */
static void run_host(struct harness *h, const char *const *args,
		     int (*new_domain)(struct kvmi_dom *dom, void *ctx))
{
	h_init(h);
	h->cfg.new_domain = new_domain;
	h->cfg.log = log_cb;
	h->cfg.command_timeout_ms = 1000; /* the closing case's probe */
	h_start(h);
	assert_int_equal(kvmi_server_on_event(h->srv, KVMI_EVENT_HYPERCALL,
					      on_hypercall, NULL, NULL),
			 0);
	assert_int_equal(
	    kvmi_server_unhook_on_event(h->srv, 5000, NULL, after_unhook, NULL),
	    0);
	h_spawn_fakehost(h, args);
	h_run(h, 30000);
	if (getenv("TEST_VIEWS_DEBUG"))
		fprintf(stderr, "report: %s\nlog:\n%s\n", h_report(h), S.log);
}

/* ---- kvmi-v7 2023: every kind of view hook ---- */

static int setup_2023(struct kvmi_dom *dom, void *ctx)
{
	struct harness *h = ctx;
	int *res = S.res;
	uint64_t next = 0;

	h->new_domains++;
	if (S.how == RAW) {
		res[0] = kvmi_dom_create_ept_view(dom, &S.view);
		res[1] = kvmi_page_restrict(dom, PAGE_A, KVMI_PAGE_ACCESS_R);
		{
			struct kvmi_page_access_entry e = {
			    .gpa = PAGE_B, .access = KVMI_PAGE_ACCESS_R};

			res[2] =
			    kvmi_dom_set_page_access_view(dom, S.view, &e, 1);
		}
		res[3] = kvmi_dom_set_ept_view(dom, 1, S.view);
		res[4] = kvmi_dom_control_ept_view(dom, 0, S.view, 1);
		res[5] = -EINVAL; /* as the tracked #VE below */
		res[6] = kvmi_dom_get_next_available_gfn(dom, &next);
		S.gfn = next;
		res[7] = kvmi_dom_alloc_gfn(dom, next);
		res[8] = 0;
		S.async_done = true;
		kvmi_dom_close(dom);
		return 0;
	}
	res[0] = kvmi_hooks_view_create(dom, &S.view);
	res[1] = kvmi_page_restrict_view(dom, 0, PAGE_A, KVMI_PAGE_ACCESS_R);
	res[2] =
	    kvmi_page_restrict_view(dom, S.view, PAGE_B, KVMI_PAGE_ACCESS_R);
	res[3] = kvmi_hooks_vcpu_set_view(dom, 1, S.view);
	res[4] = kvmi_hooks_view_visible(dom, 0, S.view, 1);
	res[5] = kvmi_hooks_ve_enable(dom, 0, 0x7000, 0); /* no #VE here */
	res[6] = kvmi_dom_get_next_available_gfn(dom, &next);
	S.gfn = next;
	res[7] = kvmi_hooks_gfn_alloc(dom, next);
	/* the asynchronous form, and a second restriction of a page keeps
	 * its first previous access */
	res[8] = kvmi_page_restrict_view_async(dom, S.view, PAGE_B, 0, async_cb,
					       NULL);
	if (S.how == CLOSING) /* the events the host misbehaves after */
		res[9] = kvmi_hooks_control_event(dom, KVMI_EVENT_HYPERCALL, 1);
	else
		res[9] = kvmi_dom_control_vm_events(dom, KVMI_EVENT_UNHOOK, 1);
	return 0;
}

static void run_2023(struct harness *h, enum how how)
{
	static const char *const unhook[] = {
	    "--dialect",	 "v7-2023", "--insn", "exec",
	    "--unhook-after-ms", "300",	    NULL};
	static const char *const closing[] = {"--dialect",
					      "v7-2023",
					      "--insn",
					      "hypercall",
					      "--misbehave",
					      "no-replies",
					      "--misbehave-after",
					      "5",
					      "--events-per-vcpu",
					      "50",
					      "--duration-ms",
					      "8000",
					      NULL};
	static const char *const raw[] = {"--dialect", "v7-2023", "--insn",
					  "exec", NULL};

	memset(&S, 0, sizeof(S));
	S.how = how;
	run_host(h,
		 how == UNHOOK	  ? unhook
		 : how == CLOSING ? closing
				  : raw,
		 setup_2023);
	assert_int_equal(h->new_domains, 1);
	for (int i = 0; i < 10; i++)
		if (i == 5)
			assert_int_equal(S.res[i], -EINVAL); /* no #VE */
		else if (S.res[i])
			fail_msg("setup call %d: %s", i,
				 kvmi_strerror(S.res[i]));
	assert_int_equal(S.view, 1);
	assert_true(S.gfn >= RAM_PAGES);
	assert_true(S.async_done);
	assert_int_equal(S.async_result, 0);
}

/* QEMU's unhook takes every view hook back: clean, nothing left */
static void test_unhook_2023(void **state)
{
	struct harness h;

	(void)state;
	run_2023(&h, UNHOOK);
	/* 2 pages (views 0 and 1), 1 vCPU switched, its visibility and
	 * switch undone, 1 view destroyed, 1 gfn freed */
	assert_report(2, 1, 2, 1, 1);
	assert_int_equal(S.log_errors, 0);
	assert_int_equal(h_report_count(&h, "\"verdict\":\"clean\""), 1);
	assert_host_state(&h, 0, 0, 0, 0, 0);
	h_fini(&h);
}

/* the library closes the domain on its own: the restores go out first */
static void test_closing_2023(void **state)
{
	struct harness h;

	(void)state;
	run_2023(&h, CLOSING);
	assert_false(S.unhooked);
	assert_true(S.probe_sent);
	assert_int_equal(S.probe_result, -ETIMEDOUT);
	assert_non_null(strstr(S.log, "closing on the library's own "
				      "initiative"));
	/* page B (view 1) and A (view 0) counted apart: 1 page, 2+2+1 */
	assert_non_null(strstr(S.log, "sent the restore of 0 breakpoints and "
				      "1 pages, single-step off on 0 vCPUs, 5 "
				      "EPT-view restores"));
	assert_host_state(&h, 0, 0, 0, 0, 0);
	h_fini(&h);
}

/* the control: the same state made raw stays on the host, and the
 * report sees every part of it (so the tests above can fail) */
static void test_raw_calls_stay(void **state)
{
	struct harness h;

	(void)state;
	run_2023(&h, RAW);
	assert_int_equal(h_report_count(&h, "\"verdict\":\"clean\""), 0);
	/* the raw calls stay after the tool's own kvmi_dom_close: vCPU 1
	 * on the view, the view visible, created, the gfn, page B (view 1);
	 * page A, restricted through the hooks (kvmi_page_restrict), is
	 * restored by the close as every library hook is */
	assert_host_state(&h, 1, 1, 1, 1, 1);
	h_fini(&h);
}

/* destroying and freeing before the unhook: forgotten, not undone twice */
static int setup_destroy(struct kvmi_dom *dom, void *ctx)
{
	struct harness *h = ctx;
	int *res = S.res;

	h->new_domains++;
	res[0] = kvmi_dom_control_vm_events(dom, KVMI_EVENT_UNHOOK, 1);
	res[1] = kvmi_hooks_view_create(dom, &S.view);
	res[2] = kvmi_page_restrict_view(dom, S.view, PAGE_B, 0);
	res[3] = kvmi_hooks_vcpu_set_view(dom, 0, S.view);
	res[4] = kvmi_hooks_view_destroy(dom, S.view);	   /* vCPU 0 is on it */
	res[5] = kvmi_hooks_view_destroy(dom, S.view + 1); /* not created */
	res[6] = kvmi_hooks_vcpu_set_view(dom, 0, 0);
	res[7] = kvmi_hooks_view_visible(dom, 1, S.view, 1);
	res[8] = kvmi_hooks_view_destroy(dom, S.view); /* visible on 1 */
	res[9] = kvmi_hooks_view_visible(dom, 1, S.view, 0);
	res[10] = kvmi_hooks_view_destroy(dom, S.view);
	res[11] = kvmi_hooks_gfn_alloc(dom, RAM_PAGES + 9);
	res[12] = kvmi_hooks_gfn_free(dom, RAM_PAGES + 9);
	res[13] = kvmi_hooks_view_create(dom, NULL);
	return 0;
}

static void test_destroy_2023(void **state)
{
	static const char *const args[] = {
	    "--dialect",	 "v7-2023", "--insn", "exec",
	    "--unhook-after-ms", "300",	    NULL};
	/* clang-format off */
	static const int want[14] = {
		0, 0, 0, 0, -EBUSY, -ENOENT, 0,
		0, -EBUSY, 0, 0, 0, 0, -EINVAL,
	};
	/* clang-format on */
	struct harness h;

	(void)state;
	memset(&S, 0, sizeof(S));
	run_host(&h, args, setup_destroy);
	for (int i = 0; i < 14; i++)
		if (S.res[i] != want[i])
			fail_msg("call %d: %d (%s), expected %d", i, S.res[i],
				 kvmi_strerror(S.res[i]), want[i]);
	/* no page (the view's table went with it), the switch only */
	assert_report(0, 1, 1, 0, 0);
	assert_int_equal(h_report_count(&h, "\"verdict\":\"clean\""), 1);
	assert_host_state(&h, 0, 0, 0, 0, 0);
	h_fini(&h);
}

/* ---- kvmi-v7 2021: the three fixed views ---- */

static int setup_2021(struct kvmi_dom *dom, void *ctx)
{
	struct harness *h = ctx;
	int *res = S.res;
	uint16_t dummy;

	h->new_domains++;
	res[13] = kvmi_dom_control_vm_events(dom, KVMI_EVENT_UNHOOK, 1);
	/* vCPU 0 starts on view 1 (the tool's raw switch, not a hook) */
	res[0] = kvmi_dom_set_ept_view(dom, 0, 1);
	res[1] = kvmi_hooks_vcpu_set_view(dom, 0, 2);
	res[2] = kvmi_hooks_vcpu_set_view_async(dom, 1, 2, async_cb, NULL);
	res[3] = kvmi_page_restrict_view(
	    dom, 1, PAGE_A, KVMI_PAGE_ACCESS_R | KVMI_PAGE_ACCESS_W);
	res[4] = kvmi_page_restrict_view(dom, 2, PAGE_B, KVMI_PAGE_ACCESS_X);
	res[5] = kvmi_hooks_view_visible(dom, 1, 2, 1);
	/* a switch back to the start keeps the remembered view */
	res[6] = kvmi_hooks_vcpu_set_view(dom, 0, 1);
	res[7] = kvmi_hooks_vcpu_set_view(dom, 0, 2);
	/* 2023 only */
	res[8] = kvmi_hooks_view_create(dom, &dummy);
	res[9] = kvmi_hooks_gfn_alloc(dom, RAM_PAGES + 3);
	res[10] = kvmi_hooks_view_destroy(dom, 1);
	/* beyond the dialect's views */
	res[11] = kvmi_page_restrict_view(dom, 3, PAGE_A, 0);
	res[12] = kvmi_hooks_vcpu_set_view(dom, 7, 1); /* no such vCPU */
	return 0;
}

static void test_unhook_2021(void **state)
{
	static const char *const args[] = {
	    "--dialect",	 "v7",	"--insn", "exec",
	    "--unhook-after-ms", "300", NULL};
	/* clang-format off */
	static const int want[14] = {
		0, 0, 0, 0, 0, 0, 0, 0,
		-EOPNOTSUPP, -EOPNOTSUPP, -EOPNOTSUPP, /* 2023 only */
		-EINVAL, -EINVAL, 0,
	};
	/* clang-format on */
	struct harness h;

	(void)state;
	memset(&S, 0, sizeof(S));
	run_host(&h, args, setup_2021);
	assert_int_equal(h.new_domains, 1);
	for (int i = 0; i < 14; i++)
		if (S.res[i] != want[i])
			fail_msg("call %d: %d (%s), expected %d", i, S.res[i],
				 kvmi_strerror(S.res[i]), want[i]);
	assert_true(S.async_done);
	assert_int_equal(S.async_result, 0);
	/* views 1 and 2's pages, 2 vCPUs, 2 switches and 1 visibility */
	assert_report(2, 2, 3, 0, 0);
	assert_int_equal(h_report_count(&h, "\"verdict\":\"clean\""), 1);
	/* vCPU 0 is back on view 1, where it was: not a hook of ours */
	assert_host_state(&h, 1, 0, 0, 0, 0);
	h_fini(&h);
}

/* ---- v6 and v12: no views ---- */

static int setup_noviews(struct kvmi_dom *dom, void *ctx)
{
	struct harness *h = ctx;
	int *res = S.res;
	uint16_t view = 0;

	h->new_domains++;
	snprintf(S.capture, sizeof(S.capture), "%s/tool.kvmicap", h->dir);
	res[11] = kvmi_dom_capture_start(dom, S.capture);
	res[10] = kvmi_dom_control_vm_events(dom, KVMI_EVENT_UNHOOK, 1);
	res[0] = kvmi_hooks_view_create(dom, &view);
	res[1] = kvmi_page_restrict_view(dom, 1, PAGE_A, 0);
	res[2] = kvmi_hooks_vcpu_set_view(dom, 0, 1);
	res[3] = kvmi_hooks_view_visible(dom, 0, 1, 1);
	res[4] = kvmi_hooks_ve_enable(dom, 0, 0x7000, 0);
	res[5] = kvmi_hooks_gfn_alloc(dom, RAM_PAGES + 3);
	res[6] = kvmi_hooks_gfn_free(dom, RAM_PAGES + 3);
	res[7] = kvmi_hooks_view_destroy(dom, 1);
	res[8] = kvmi_hooks_vcpu_set_view_async(dom, 0, 0, async_cb, NULL);
	/* view 0 is every dialect's page access */
	res[9] = kvmi_page_restrict_view(dom, 0, PAGE_A, KVMI_PAGE_ACCESS_R);
	return 0;
}

/* the tool's messages in the capture taken from the first hook call on
 * (whole messages: the capture starts between two): how many have wire
 * id @id and the 8-byte payload {enable = 1, padding 0} */
static int count_enable_msgs(const char *path, uint16_t id)
{
	static uint8_t out[1 << 20];
	struct kvmi_capture_reader *rd;
	struct kvmi_capture_record rec;
	size_t len = 0, off = 0;
	int n = 0;

	assert_int_equal(kvmi_capture_reader_open(path, &rd, NULL, 0), 0);
	while (kvmi_capture_reader_next(rd, &rec) == 1)
		if (rec.type == KVMI_CAPTURE_DATA &&
		    rec.dir == KVMI_DIR_TOOL_TO_HOST &&
		    len + rec.len <= sizeof(out)) {
			memcpy(out + len, rec.data, rec.len);
			len += rec.len;
		}
	kvmi_capture_reader_free(rd);
	while (off + sizeof(struct kvmi_msg_hdr) <= len) {
		struct kvmi_msg_hdr hdr;
		static const uint8_t enable[8] = {1};

		memcpy(&hdr, out + off, sizeof(hdr));
		off += sizeof(hdr);
		if (hdr.id == id && hdr.size == 8 && off + 8 <= len &&
		    !memcmp(out + off, enable, 8))
			n++;
		off += hdr.size;
	}
	assert_int_equal(off, len); /* the walk stayed on message bounds */
	return n;
}

static void check_noviews(const char *dialect, const char *const *extra)
{
	const char *args[16] = {"--dialect",	     dialect, "--insn", "exec",
				"--unhook-after-ms", "300"};
	struct harness h;
	size_t n = 6;

	for (; extra && *extra; extra++)
		args[n++] = *extra;
	args[n] = NULL;
	memset(&S, 0, sizeof(S));
	run_host(&h, args, setup_noviews);
	assert_int_equal(h.new_domains, 1);
	for (int i = 0; i < 9; i++)
		if (S.res[i] != -EOPNOTSUPP)
			fail_msg("%s call %d: %d (%s)", dialect, i, S.res[i],
				 kvmi_strerror(S.res[i]));
	assert_int_equal(S.res[9], 0);
	assert_int_equal(S.res[10], 0);
	assert_int_equal(S.res[11], 0);
	assert_false(S.async_done); /* refused: never called back */
	assert_report(1, 0, 0, 0, 0);
	assert_int_equal(h_report_count(&h, "\"verdict\":\"clean\""), 1);
	S.cleanups = count_enable_msgs(S.capture, KVMI_V12_VM_CONTROL_CLEANUP);
	h_fini(&h);
}

static void test_v6(void **state)
{
	(void)state;
	check_noviews("v6", NULL);
	assert_null(strstr(S.log, "CLEANUP"));
}

/* v12: the hooks' first use turns the host's cleanup on, once */
static void test_v12(void **state)
{
	(void)state;
	check_noviews("v12", NULL);
	assert_int_equal(S.log_errors, 0);
	assert_null(strstr(S.log, "VM_CONTROL_CLEANUP refused"));
	assert_int_equal(S.cleanups, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_unhook_2023),
	    cmocka_unit_test(test_closing_2023),
	    cmocka_unit_test(test_raw_calls_stay),
	    cmocka_unit_test(test_destroy_2023),
	    cmocka_unit_test(test_unhook_2021),
	    cmocka_unit_test(test_v6),
	    cmocka_unit_test(test_v12),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
