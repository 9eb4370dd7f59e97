/*
 * libkvmi - tests/compat/test_compat.c: programs written against
 * <libkvmi.h> only, run against kvmi-fakehost in real processes: an event
 * loop in LibVMI's style (kvmi_wait_event/kvmi_pop_event on one thread,
 * kvmi_reply_event on another), physical memory, registers, page access,
 * pause/resume with the PAUSE_VCPU accounting, batches, a breakpoint
 * hook (INT3 planted, restored and RETRY on each hit), the v6 host's
 * answer to extension calls, the socket's mode and close-on-exec,
 * kvmi_close in a forked child, LibVMI's reconnect, kvmi_wait_event's
 * timeout, and its busy polling (KVMI_BUSY_POLL_US); against a kvmi-v7 host also its features, EPT views,
 * single-step and CPUID events, gfn allocation and the TRAP after each
 * injection.  Run once per host dialect ($KVMI_TEST_DIALECT: v6, v7,
 * v7-2023).  Every guest must come out "clean" in the fakehost's
 * verdict.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness1.h"

#define EVENTS_PER_VCPU 200

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* ---- LibVMI-style loop: one thread waits and pops, another replies ---- */

struct loop {
	void *dom;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct kvmi_dom_event *q[64];
	size_t n;
	int wait_errors; /* kvmi_wait_event failures other than ETIMEDOUT */
	int max_pending;
	int wait_ms;	      /* kvmi_wait_event's timeout */
	int expect;	      /* the waiter ends after popping this many */
	long long slowest_ms; /* the longest wait for an event */
};

static void *waiter(void *arg)
{
	struct loop *l = arg;

	for (int popped = 0; popped < l->expect;) {
		struct kvmi_dom_event *ev = NULL;
		long long t0 = now_ms();
		int pending;

		if (kvmi_wait_event(l->dom, l->wait_ms) < 0) {
			if (errno != ETIMEDOUT)
				l->wait_errors++;
			continue;
		}
		if (now_ms() - t0 > l->slowest_ms)
			l->slowest_ms = now_ms() - t0;
		pending = (int)kvmi_get_pending_events(l->dom);
		if (kvmi_pop_event(l->dom, &ev) < 0)
			continue;
		popped++;
		pthread_mutex_lock(&l->lock);
		if (pending > l->max_pending)
			l->max_pending = pending;
		l->q[l->n++] = ev;
		pthread_cond_signal(&l->cond);
		pthread_mutex_unlock(&l->lock);
	}
	return NULL;
}

static void set_cr3_interception(void *dom, unsigned int vcpus, bool on)
{
	for (unsigned short v = 0; v < vcpus; v++) {
		if (on) {
			assert_int_equal(
			    kvmi_control_events(dom, v, KVMI_EVENT_CR, 1), 0);
			assert_int_equal(kvmi_control_cr(dom, v, 3, 1), 0);
		} else {
			assert_int_equal(kvmi_control_cr(dom, v, 3, 0), 0);
			assert_int_equal(
			    kvmi_control_events(dom, v, KVMI_EVENT_CR, 0), 0);
		}
	}
}

/*
 * @wait_ms: the waiter's timeout; @busy: the replying thread also sends a
 * command after each reply, so its calls read events off the socket while
 * the waiter is in kvmi_wait_event - which must still return at once.
 * Returns the waiter's longest wait.
 */
static long long event_loop(int wait_ms, bool busy)
{
	static const char *const args[] = {"--vcpus",
					   "2",
					   "--insn",
					   "cr3",
					   "--events-per-vcpu",
					   "200",
					   "--duration-ms",
					   "60000",
					   NULL};
	struct h1 h;
	struct loop l = {0};
	pthread_t t;
	unsigned int vcpus = 0, version = 0, seen_vcpu[2] = {0};
	void *dom;
	char name[64];

	h1_start(&h, args);
	dom = h1_dom(&h);
	assert_int_equal(kvmi_get_version(dom, &version), 0);
	assert_int_equal(version, 1);
	kvmi_domain_name(dom, name, sizeof(name));
	assert_string_equal(name, "fakehost");
	assert_true(kvmi_domain_is_connected(dom));
	assert_int_equal(kvmi_get_vcpu_count(dom, &vcpus), 0);
	assert_int_equal(vcpus, 2);

	l.dom = dom;
	l.wait_ms = wait_ms;
	l.expect = 2 * EVENTS_PER_VCPU;
	pthread_mutex_init(&l.lock, NULL);
	pthread_cond_init(&l.cond, NULL);
	assert_int_equal(pthread_create(&t, NULL, waiter, &l), 0);
	set_cr3_interception(dom, vcpus, true);
	for (int done = 0; done < 2 * EVENTS_PER_VCPU; done++) {
		struct kvmi_dom_event *ev;
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 10;
		pthread_mutex_lock(&l.lock);
		while (!l.n &&
		       pthread_cond_timedwait(&l.cond, &l.lock, &until) == 0)
			;
		assert_true(l.n > 0);
		ev = l.q[0];
		memmove(l.q, l.q + 1, --l.n * sizeof(l.q[0]));
		pthread_mutex_unlock(&l.lock);
		assert_int_equal(ev->event.common.event, KVMI_EVENT_CR);
		assert_true(ev->event.common.vcpu < 2);
		assert_int_equal(ev->event.cr.cr, 3);
		assert_int_equal(ev->event.common.arch.view, 0);
		assert_null(ev->next);
		seen_vcpu[ev->event.common.vcpu]++;
		assert_int_equal(h1_reply(dom, ev, KVMI_EVENT_ACTION_CONTINUE),
				 0);
		/* a second reply is refused, nothing is sent */
		assert_int_equal(h1_reply(dom, ev, KVMI_EVENT_ACTION_CONTINUE),
				 -1);
		assert_int_equal(errno, EINVAL);
		free(ev);
		if (busy)
			assert_int_equal(kvmi_get_vcpu_count(dom, &vcpus), 0);
	}
	pthread_join(t, NULL);
	set_cr3_interception(dom, vcpus, false);
	assert_int_equal(l.wait_errors, 0);
	assert_int_equal(l.n, 0);
	/* one open event per vCPU at most: the session's bound */
	assert_true(l.max_pending <= 2);
	assert_int_equal(seen_vcpu[0], EVENTS_PER_VCPU);
	assert_int_equal(seen_vcpu[1], EVENTS_PER_VCPU);

	h1_finish(&h, dom);
	assert_int_equal(h1_count(&h, "\"verdict\":\"clean\""), 1);
	assert_int_equal(h1_count(&h, "\"end\":\"tool-closed\""), 1);
	assert_int_equal(h1_count(&h, "\"events_unreplied\":0"), 1);
	h1_fini(&h);
	pthread_cond_destroy(&l.cond);
	pthread_mutex_destroy(&l.lock);
	return l.slowest_ms;
}

static void test_event_loop_two_threads(void **state)
{
	(void)state;
	event_loop(50, false);
}

/* an event read by another thread's command wakes kvmi_wait_event: no
 * wait near the 5 s timeout although events come every few ms */
static void test_event_loop_wakes_waiter(void **state)
{
	long long slowest;

	(void)state;
	slowest = event_loop(5000, true);
	assert_true(slowest < 2500);
}

/* ---- state and memory ---- */

/* ---- busy polling: KVMI_BUSY_POLL_US ---- */

#define SPIN_EVENTS 2000

/* times this thread slept (voluntary context switches) */
static long thread_sleeps(void)
{
	struct rusage ru;

	assert_int_equal(getrusage(RUSAGE_THREAD, &ru), 0);
	return ru.ru_nvcsw;
}

/* a one-thread wait/pop/reply loop over SPIN_EVENTS CR3 events of one
 * vCPU with KVMI_BUSY_POLL_US=@env (NULL: unset): the times the loop
 * slept; *@log_errors: the library's error and warning lines */
static long spin_loop(const char *env, int *log_errors)
{
	static const char *const args[] = {"--vcpus", "1", "--insn", "cr3",
					   "--events-per-vcpu", "2000", NULL};
	struct h1 h;
	long slept;
	void *dom;

	if (env)
		assert_int_equal(setenv("KVMI_BUSY_POLL_US", env, 1), 0);
	else
		unsetenv("KVMI_BUSY_POLL_US");
	h1_start(&h, args);
	dom = h1_dom(&h); /* read at connect time */
	unsetenv("KVMI_BUSY_POLL_US");
	set_cr3_interception(dom, 1, true);
	slept = thread_sleeps();
	for (int i = 0; i < SPIN_EVENTS; i++) {
		struct kvmi_dom_event *ev = h1_next_event(dom);

		assert_int_equal(ev->event.common.event, KVMI_EVENT_CR);
		assert_int_equal(h1_reply(dom, ev, KVMI_EVENT_ACTION_CONTINUE),
				 0);
		free(ev);
	}
	slept = thread_sleeps() - slept;
	set_cr3_interception(dom, 1, false);
	h1_finish(&h, dom);
	assert_int_equal(h1_count(&h, "\"verdict\":\"clean\""), 1);
	assert_int_equal(h1_count(&h, "\"events_unreplied\":0"), 1);
	*log_errors = h.log_errors;
	h1_fini(&h);
	return slept;
}

static void test_busy_poll(void **state)
{
	int errs_busy, errs_plain, errs_bad;
	long busy = spin_loop("10000", &errs_busy);
	long plain = spin_loop(NULL, &errs_plain);
	long bad = spin_loop("10ms", &errs_bad);

	(void)state;
	print_message("kvmi_wait_event slept %ld times over %d events with "
		      "KVMI_BUSY_POLL_US=10000, %ld without, %ld with a bad "
		      "value\n",
		      busy, SPIN_EVENTS, plain, bad);
	assert_int_equal(errs_busy, 0);
	assert_int_equal(errs_plain, 0);
	/* without it, about once per event: each reply waits for the
	 * host's next event; with it, a few stalls of a loaded machine */
	assert_true(busy < SPIN_EVENTS / 100);
	/* a bad value is said (an error line) and means off (how often an
	 * idle loop sleeps depends on the machine: under valgrind the next
	 * event is nearly always there before the tool is back to wait) */
	assert_int_equal(errs_bad, 1);
}

static void test_state_and_memory(void **state)
{
	static const char *const args[] = {
	    "--vcpus", "2", "--mem-mb", "16", "--duration-ms", "60000", NULL};
	struct h1 h;
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[2];
	} msrs;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	unsigned int mode = 0, eax = 0, ebx = 0, ecx = 0, edx = 0;
	unsigned long long gfn = 0, tsc = 0, gpa = 0x1f00;
	unsigned char orig[6000], pat[6000], back[6000], type = 0xff;
	unsigned long long pages[2] = {0x5000, 0x6000};
	unsigned char acc[2] = {KVMI_PAGE_ACCESS_R,
				KVMI_PAGE_ACCESS_R | KVMI_PAGE_ACCESS_X};
	unsigned char rwx[2] = {KVMI_PAGE_ACCESS_RWX, KVMI_PAGE_ACCESS_RWX};
	unsigned char xsave[8192];
	bool sup = true;
	void *dom;

	(void)state;
	h1_start(&h, args);
	dom = h1_dom(&h);

	memset(&msrs, 0, sizeof(msrs));
	msrs.hdr.nmsrs = 2;
	msrs.e[0].index = 0xc0000080; /* EFER */
	msrs.e[1].index = 0x174;      /* SYSENTER_CS */
	assert_int_equal(
	    kvmi_get_registers(dom, 1, &regs, &sregs, &msrs.hdr, &mode), 0);
	assert_true(mode == 2 || mode == 4 || mode == 8);
	/* outside an event: v6 drops it, kvmi-v7 refuses it */
	if (h1_v7()) {
		assert_int_equal(kvmi_set_registers(dom, 1, &regs), -1);
		assert_int_equal(errno, EOPNOTSUPP);
	} else
		assert_int_equal(kvmi_set_registers(dom, 1, &regs), 0);
	assert_int_equal(kvmi_get_cpuid(dom, 0, 0, 0, &eax, &ebx, &ecx, &edx),
			 0);
	assert_int_equal(kvmi_get_tsc_speed(dom, &tsc), 0);
	assert_true(tsc > 0);
	assert_int_equal(kvmi_get_maximum_gfn(dom, &gfn), 0);
	assert_true(gfn >= (16ull << 20) / 4096 - 1);
	assert_int_equal(kvmi_get_mtrr_type(dom, 0x1000, &type), 0);
	memset(xsave, 0xa5, sizeof(xsave));
	assert_int_equal(kvmi_get_xsave(dom, 0, xsave, sizeof(xsave)), 0);
	assert_int_equal(xsave[sizeof(xsave) - 1], 0); /* zero-filled */
	assert_int_equal(kvmi_check_command(dom, KVMI_GET_VERSION), 0);
	assert_int_equal(kvmi_check_event(dom, KVMI_EVENT_CR), 0);

	/* reads and writes across pages (split by the library) */
	assert_int_equal(kvmi_read_physical(dom, gpa, orig, sizeof(orig)), 0);
	for (size_t i = 0; i < sizeof(pat); i++)
		pat[i] = (unsigned char)(i * 7 + 1);
	assert_int_equal(kvmi_write_physical(dom, gpa, pat, sizeof(pat)), 0);
	assert_int_equal(kvmi_read_physical(dom, gpa, back, sizeof(back)), 0);
	assert_memory_equal(back, pat, sizeof(pat));
	assert_int_equal(kvmi_write_physical(dom, gpa, orig, sizeof(orig)), 0);
	/* a host error becomes -1 + errno */
	assert_int_equal(kvmi_read_physical(dom, (gfn + 16) << 12, back, 8),
			 -1);
	assert_true(errno != 0);

	/* page access restricted, then restored */
	assert_int_equal(kvmi_set_page_access(dom, pages, acc, 2, 0), 0);
	assert_int_equal(kvmi_set_page_access(dom, pages, rwx, 2, 0), 0);
	if (h1_v7()) /* the kvmi-v7 calls: test_v7_calls */
		goto out;
	/* a v6 host has no EPT views: refused without a round trip */
	assert_int_equal(kvmi_set_page_access(dom, pages, rwx, 2, 1), -1);
	assert_int_equal(errno, EOPNOTSUPP);

	/* extension calls on a v6 host */
	assert_int_equal(kvmi_control_singlestep(dom, 0, 1), -1);
	assert_int_equal(errno, EOPNOTSUPP);
	assert_int_equal(kvmi_get_next_available_gfn(dom, &gfn), -1);
	assert_int_equal(errno, EOPNOTSUPP);
	assert_int_equal(kvmi_create_ept_view(dom, NULL), -1);
	assert_int_equal(errno, EOPNOTSUPP);
	assert_int_equal(kvmi_switch_ept_view(dom, 0, 1), -1);
	assert_int_equal(errno, EOPNOTSUPP);
	assert_int_equal(kvmi_get_ept_view(dom, 0, NULL), -1);
	assert_int_equal(errno, EOPNOTSUPP);
	assert_int_equal(kvmi_alloc_gfn(dom, gfn + 1), -1);
	assert_int_equal(errno, EOPNOTSUPP);
	assert_int_equal(kvmi_free_gfn(dom, gfn + 1), -1);
	assert_int_equal(errno, EOPNOTSUPP);
	assert_int_equal(kvmi_spp_support(dom, &sup), 0);
	assert_false(sup);
	assert_int_equal(kvmi_memory_mapping(dom, true), -1);
	assert_int_equal(errno, ENODEV);

out:
	h1_finish(&h, dom);
	assert_int_equal(h1_count(&h, "\"verdict\":\"clean\""), 1);
	assert_int_equal(h1_count(&h, "\"bytes_differing\":0"), 1);
	assert_int_equal(h1_count(&h, "\"pages_restricted\":0"), 1);
	h1_fini(&h);
}

/* ---- the kvmi-v7 calls: features, EPT views, single-step, gfns ---- */

/* a view to work in: created on v7-2023, fixed view 1 on v7-2021 (where
 * creating one is refused without a round trip) */
static unsigned short v7_view(void *dom)
{
	unsigned short view = 0;

	if (strcmp(h1_dialect(), "v7-2023") == 0) {
		assert_int_equal(kvmi_create_ept_view(dom, &view), 0);
		assert_true(view > 0);
		return view;
	}
	assert_int_equal(kvmi_create_ept_view(dom, &view), -1);
	assert_int_equal(errno, EOPNOTSUPP);
	return 1;
}

static void test_v7_calls(void **state)
{
	static const char *const args[] = {"--vcpus", "2", "--insn", "read",
					   "--duration-ms", "60000", NULL};
	bool y2023 = strcmp(h1_dialect(), "v7-2023") == 0, sup = false;
	unsigned long long page = 0x5000, gfn = 0;
	unsigned char ro = KVMI_PAGE_ACCESS_R, rwx = KVMI_PAGE_ACCESS_RWX;
	unsigned short view, cur = 99;
	struct kvmi_dom_event *ev;
	__u64 gpa = 0, xcr0 = 0;
	struct h1 h;
	void *dom, *b;

	(void)state;
	if (!h1_v7())
		skip(); /* the v6 answers: test_state_and_memory */
	h1_start(&h, args);
	dom = h1_dom(&h);
	/* the feature block of the 16-byte GET_VERSION reply */
	assert_int_equal(kvmi_eptp_support(dom, &sup), 0);
	assert_true(sup);
	assert_int_equal(kvmi_vmfunc_support(dom, &sup), 0);
	assert_true(sup);
	assert_int_equal(kvmi_spp_support(dom, &sup), 0);
	assert_false(sup);
	assert_int_equal(kvmi_ve_support(dom, &sup), 0);
	assert_false(sup);
	assert_int_equal(kvmi_get_xcr(dom, 0, 0, &xcr0), 0);
	assert_true(xcr0 & 1); /* x87 is always on */
	assert_int_equal(kvmi_translate_gva(dom, 0, 0x1000, &gpa), 0);
	/* PAUSE_VCPU for a vCPU >= 256 would make kvmi-v7 close the
	 * connection: refused before anything is sent */
	b = kvmi_batch_alloc(dom);
	assert_non_null(b);
	assert_int_equal(kvmi_queue_pause_vcpu(b, 256), -1);
	assert_int_equal(errno, EINVAL);
	kvmi_batch_free(b);
	assert_int_equal(kvmi_pause_all_vcpus(dom, 257), -1);
	assert_int_equal(errno, EINVAL);
	assert_true(kvmi_domain_is_connected(dom));

	/* a view of its own: page access there, vCPU 0 on it */
	view = v7_view(dom);
	assert_int_equal(kvmi_set_page_access(dom, &page, &ro, 1, view), 0);
	assert_int_equal(kvmi_switch_ept_view(dom, 0, view), 0);
	assert_int_equal(kvmi_get_ept_view(dom, 0, &cur), 0);
	assert_int_equal(cur, view);
	assert_int_equal(kvmi_control_ept_view(dom, 0, view, true), 0);

	/* single-step vCPU 0: SINGLESTEP events carry failed and the view */
	assert_int_equal(
	    kvmi_control_events(dom, 0, KVMI_EVENT_SINGLESTEP, 1), 0);
	assert_int_equal(kvmi_control_singlestep(dom, 0, 1), 0);
	ev = h1_next_event(dom);
	assert_int_equal(ev->event.common.event, KVMI_EVENT_SINGLESTEP);
	assert_int_equal(ev->event.common.vcpu, 0);
	assert_int_equal(ev->event.common.arch.view, view);
	assert_true(ev->event.ss.failed <= 1);
	assert_int_equal(h1_reply(dom, ev, KVMI_EVENT_ACTION_CONTINUE), 0);
	free(ev);
	assert_int_equal(kvmi_control_singlestep(dom, 0, 0), 0);
	assert_int_equal(
	    kvmi_control_events(dom, 0, KVMI_EVENT_SINGLESTEP, 0), 0);
	/* a step raised before it was turned off */
	while (kvmi_wait_event(dom, 0) == 0) {
		ev = h1_next_event(dom);
		assert_int_equal(h1_reply(dom, ev, KVMI_EVENT_ACTION_CONTINUE),
				 0);
		free(ev);
	}

	/* gfn allocation (v7-2023 only) */
	if (y2023) {
		assert_int_equal(kvmi_get_next_available_gfn(dom, &gfn), 0);
		assert_true(gfn > 0);
		assert_int_equal(kvmi_alloc_gfn(dom, gfn), 0);
		assert_int_equal(kvmi_free_gfn(dom, gfn), 0);
	} else {
		assert_int_equal(kvmi_get_next_available_gfn(dom, &gfn), -1);
		assert_int_equal(errno, EOPNOTSUPP);
		assert_int_equal(kvmi_alloc_gfn(dom, 0x12345), -1);
		assert_int_equal(errno, EOPNOTSUPP);
	}

	/* undo it all: the guest comes out clean */
	assert_int_equal(kvmi_control_ept_view(dom, 0, view, false), 0);
	assert_int_equal(kvmi_switch_ept_view(dom, 0, 0), 0);
	assert_int_equal(kvmi_set_page_access(dom, &page, &rwx, 1, view), 0);
	if (y2023)
		assert_int_equal(kvmi_destroy_ept_view(dom, view), 0);
	h1_finish(&h, dom);
	assert_int_equal(h1_count(&h, "\"verdict\":\"clean\""), 1);
	assert_int_equal(h1_count(&h, "\"pages_restricted\":0"), 1);
	assert_int_equal(h1_v7_hooks_left(&h), 0);
	h1_fini(&h);
}

/* kvmi-v7's CPUID event in struct kvmi_dom_event: the union's cpuid and
 * the raw payload (common part, then the 16 data bytes) */
static void test_v7_cpuid_event(void **state)
{
	static const char *const args[] = {"--vcpus", "1", "--insn", "cpuid",
					   "--duration-ms", "60000", NULL};
	struct kvmi_event_cpuid raw;
	struct kvmi_dom_event *ev;
	struct h1 h;
	void *dom;

	(void)state;
	if (!h1_v7())
		skip(); /* v6 has no CPUID event */
	h1_start(&h, args);
	dom = h1_dom(&h);
	assert_int_equal(kvmi_control_events(dom, 0, KVMI_EVENT_CPUID, 1), 0);
	ev = h1_next_event(dom);
	assert_int_equal(ev->event.common.event, KVMI_EVENT_CPUID);
	assert_int_equal(ev->event.cpuid.insn_length, 2);
	memcpy(&raw, ev->buf + sizeof(struct kvmi_event), sizeof(raw));
	assert_int_equal(raw.function, ev->event.cpuid.function);
	assert_int_equal(raw.index, ev->event.cpuid.index);
	assert_int_equal(h1_reply(dom, ev, KVMI_EVENT_ACTION_CONTINUE), 0);
	free(ev);
	assert_int_equal(kvmi_control_events(dom, 0, KVMI_EVENT_CPUID, 0), 0);
	while (kvmi_wait_event(dom, 0) == 0) {
		ev = h1_next_event(dom);
		assert_int_equal(h1_reply(dom, ev, KVMI_EVENT_ACTION_CONTINUE),
				 0);
		free(ev);
	}
	h1_finish(&h, dom);
	assert_int_equal(h1_count(&h, "\"verdict\":\"clean\""), 1);
	assert_int_equal(h1_count(&h, "\"events_unreplied\":0"), 1);
	h1_fini(&h);
}

/* a PF event on kvmi-v7 (arch.view of the faulting vCPU); a v6-style
 * reply asking for singlestep is refused locally (the host would close
 * the socket) and the event stays open for a good reply */
static void test_v7_pf_reply(void **state)
{
	static const char *const args[] = {
	    "--vcpus", "1",    "--hot-gpa",	"0x10000", "--hot-count", "0",
	    "--insn",  "exec", "--duration-ms", "60000",   NULL};
	unsigned long long page = 0x10000;
	unsigned char rw = KVMI_PAGE_ACCESS_R | KVMI_PAGE_ACCESS_W,
		      rwx = KVMI_PAGE_ACCESS_RWX;
	struct kvmi_dom_event *ev;
	struct h1_reply r;
	struct h1 h;
	void *dom;

	(void)state;
	if (!h1_v7())
		skip(); /* v6 takes PF singlestep requests */
	h1_start(&h, args);
	dom = h1_dom(&h);
	assert_int_equal(kvmi_control_events(dom, 0, KVMI_EVENT_PF, 1), 0);
	assert_int_equal(kvmi_set_page_access(dom, &page, &rw, 1, 0), 0);
	ev = h1_next_event(dom);
	assert_int_equal(ev->event.common.event, KVMI_EVENT_PF);
	assert_int_equal(ev->event.page_fault.gpa, page);
	assert_int_equal(ev->event.common.arch.view, 0);
	memset(&r, 0, sizeof(r));
	r.hdr.vcpu = 0;
	r.common.event = KVMI_EVENT_PF;
	r.common.action = KVMI_EVENT_ACTION_RETRY;
	r.pf.singlestep = 1;
	assert_int_equal(kvmi_reply_event(dom, ev->seq, &r, sizeof(r)), -1);
	assert_int_equal(errno, EINVAL);
	assert_true(kvmi_domain_is_connected(dom));
	/* the page back to rwx, the access retried */
	assert_int_equal(kvmi_set_page_access(dom, &page, &rwx, 1, 0), 0);
	assert_int_equal(h1_reply(dom, ev, KVMI_EVENT_ACTION_RETRY), 0);
	free(ev);
	assert_int_equal(kvmi_control_events(dom, 0, KVMI_EVENT_PF, 0), 0);
	h1_finish(&h, dom);
	assert_int_equal(h1_count(&h, "\"verdict\":\"clean\""), 1);
	assert_int_equal(h1_count(&h, "\"events_unreplied\":0"), 1);
	h1_fini(&h);
}

/* ---- pause / resume, batches ---- */

/* pop @n PAUSE_VCPU events, one per vCPU, and answer them in a batch */
static void resume(void *dom, unsigned int n)
{
	void *b = kvmi_batch_alloc(dom);
	bool seen[2] = {false, false};

	assert_non_null(b);
	for (unsigned int i = 0; i < n; i++) {
		struct kvmi_dom_event *ev = h1_next_event(dom);
		struct h1_reply r;

		assert_int_equal(ev->event.common.event, KVMI_EVENT_PAUSE_VCPU);
		assert_true(ev->event.common.vcpu < 2);
		assert_false(seen[ev->event.common.vcpu]);
		seen[ev->event.common.vcpu] = true;
		memset(&r, 0, sizeof(r));
		r.hdr.vcpu = ev->event.common.vcpu;
		r.common.event = KVMI_EVENT_PAUSE_VCPU;
		r.common.action = KVMI_EVENT_ACTION_CONTINUE;
		assert_int_equal(
		    kvmi_queue_reply_event(b, ev->seq, &r,
					   sizeof(r.hdr) + sizeof(r.common)),
		    0);
		free(ev);
	}
	assert_int_equal(kvmi_batch_commit(b), 0);
	kvmi_batch_free(b);
}

static void test_pause_and_batch(void **state)
{
	static const char *const args[] = {"--vcpus", "2", "--duration-ms",
					   "60000", NULL};
	struct h1 h;
	unsigned long long pages[3] = {0x7000, 0x8000, 0x9000};
	unsigned char ro[3] = {KVMI_PAGE_ACCESS_R, KVMI_PAGE_ACCESS_R,
			       KVMI_PAGE_ACCESS_R};
	unsigned char rwx[3] = {KVMI_PAGE_ACCESS_RWX, KVMI_PAGE_ACCESS_RWX,
				KVMI_PAGE_ACCESS_RWX};
	struct kvmi_dom_event *ev;
	void *dom, *b;

	(void)state;
	h1_start(&h, args);
	dom = h1_dom(&h);
	assert_int_equal(kvmi_pause_all_vcpus(dom, 0), 0);
	assert_int_equal(kvmi_pause_all_vcpus(dom, 2), 0);
	/* LibVMI's page-fault request: #PF (vector 14) with an error code,
	 * delivered when the vCPU resumes */
	assert_int_equal(kvmi_inject_exception(dom, 0, 0x7fff0000, 2, 14), 0);
	/* every paused vCPU reports, and stays paused until answered */
	resume(dom, 2);
	if (h1_v7()) {
		/* kvmi-v7 reports every injection with a 16-byte TRAP, in
		 * the 1.x layout, before vCPU 0's next event */
		ev = h1_next_event(dom);
		assert_int_equal(ev->event.common.event, KVMI_EVENT_TRAP);
		assert_int_equal(ev->event.common.vcpu, 0);
		assert_int_equal(ev->event.trap.vector, 14);
		assert_int_equal(ev->event.trap.error_code, 2);
		assert_int_equal(ev->event.common.size, 544);
		assert_int_equal(h1_reply(dom, ev, KVMI_EVENT_ACTION_CONTINUE),
				 0);
		free(ev);
	}

	/* a batch of commands: page access and a pause, one write */
	b = kvmi_batch_alloc(dom);
	assert_non_null(b);
	assert_int_equal(kvmi_queue_page_access(b, pages, ro, 3, 0), 0);
	assert_int_equal(kvmi_queue_page_access(b, pages, rwx, 3, 0), 0);
	assert_int_equal(kvmi_queue_pause_vcpu(b, 1), 0);
	assert_int_equal(kvmi_batch_commit(b), 0);
	ev = h1_next_event(dom);
	assert_int_equal(ev->event.common.event, KVMI_EVENT_PAUSE_VCPU);
	assert_int_equal(ev->event.common.vcpu, 1);
	/* a batch of one event reply is sent bare */
	assert_int_equal(h1_reply(dom, ev, KVMI_EVENT_ACTION_CONTINUE), 0);
	free(ev);
	/* an item the protocol forbids is refused when queued; the batch
	 * keeps the others */
	assert_int_equal(kvmi_queue_page_access(b, pages, ro, 3, 0), 0);
	ro[1] = 0x10;
	assert_int_equal(kvmi_queue_page_access(b, pages, ro, 3, 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(kvmi_queue_page_access(b, pages, rwx, 3, 0), 0);
	assert_int_equal(kvmi_batch_commit(b), 0);
	/* committed batches are emptied */
	assert_int_equal(kvmi_batch_commit(b), 0);
	kvmi_batch_free(b);
	/* nothing else is pending: the wait times out */
	assert_int_equal(kvmi_wait_event(dom, 0), -1);
	assert_int_equal(errno, ETIMEDOUT);

	h1_finish(&h, dom);
	assert_int_equal(h1_count(&h, "\"verdict\":\"clean\""), 1);
	assert_int_equal(h1_count(&h, "\"events_unreplied\":0"), 1);
	assert_int_equal(h1_count(&h, "\"exceptions_injected\":1"), 1);
	h1_fini(&h);
}

/* ---- a hook-the-guest tool: an INT3, restored + RETRY on each hit ---- */

static void test_breakpoint_hook(void **state)
{
	static const char *const args[] = {
	    "--vcpus", "2",    "--hot-gpa",	"0x10000", "--hot-count", "0",
	    "--insn",  "exec", "--duration-ms", "60000",   NULL};
	const unsigned long long gpa = 0x10000;
	unsigned char orig, int3 = 0xcc;
	struct h1 h;
	void *dom;

	(void)state;
	h1_start(&h, args);
	dom = h1_dom(&h);
	for (unsigned short v = 0; v < 2; v++)
		assert_int_equal(
		    kvmi_control_events(dom, v, KVMI_EVENT_BREAKPOINT, 1), 0);
	assert_int_equal(kvmi_read_physical(dom, gpa, &orig, 1), 0);
	assert_int_not_equal(orig, 0xcc);
	for (int hits = 0; hits < 20; hits++) {
		struct kvmi_dom_event *ev;

		assert_int_equal(kvmi_write_physical(dom, gpa, &int3, 1), 0);
		ev = h1_next_event(dom);
		assert_int_equal(ev->event.common.event, KVMI_EVENT_BREAKPOINT);
		assert_int_equal(ev->event.breakpoint.gpa, gpa);
		assert_int_equal(ev->event.breakpoint.insn_len, 1);
		/* the original instruction runs: byte back, RETRY */
		assert_int_equal(kvmi_write_physical(dom, gpa, &orig, 1), 0);
		assert_int_equal(h1_reply(dom, ev, KVMI_EVENT_ACTION_RETRY), 0);
		free(ev);
	}
	/* a hit of the other vCPU may still be open: answer it the same way */
	while (kvmi_wait_event(dom, 0) == 0) {
		struct kvmi_dom_event *ev = h1_next_event(dom);

		assert_int_equal(h1_reply(dom, ev, KVMI_EVENT_ACTION_RETRY), 0);
		free(ev);
	}
	for (unsigned short v = 0; v < 2; v++)
		assert_int_equal(
		    kvmi_control_events(dom, v, KVMI_EVENT_BREAKPOINT, 0), 0);
	h1_finish(&h, dom);
	assert_int_equal(h1_count(&h, "\"guest_integrity_errors\":0"), 1);
	assert_int_equal(h1_count(&h, "\"bytes_differing\":0"), 1);
	assert_int_equal(h1_count(&h, "\"verdict\":\"clean\""), 1);
	h1_fini(&h);
}

/* ---- LibVMI's reconnect: the new guest's callback closes the old ---- */

static void test_second_guest_closes_first(void **state)
{
	static const char *const args[] = {
	    "--guests", "2", "--vcpus", "1", "--duration-ms", "60000", NULL};
	struct h1 h;
	unsigned int n = 0;

	(void)state;
	h1_start_closing(&h, args);
	h1_wait_guests(&h, 2);
	assert_int_equal(kvmi_get_vcpu_count(h.dom, &n), 0);
	assert_int_equal(n, 1);
	h1_finish(&h, h.dom);
	assert_int_equal(h1_count(&h, "\"end\":\"tool-closed\""), 2);
	assert_int_equal(h1_count(&h, "\"verdict\":\"clean\""), 2);
	h1_fini(&h);
}

/* ---- kvmi_close in a forked child ---- */

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void test_close_in_forked_child(void **state)
{
	static const char *const args[] = {"--vcpus", "1", "--duration-ms",
					   "60000", NULL};
	struct h1 h;
	int status = -1;
	pid_t pid;

	(void)state;
	h1_start(&h, args);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* the child drops the listening socket, and only that */
		int before = count_fds();

		kvmi_close(h.ctx);
		_exit(count_fds() == before - 1 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* the parent still listens: the guest is accepted */
	h1_finish(&h, h1_dom(&h));
	assert_int_equal(h1_count(&h, "\"verdict\":\"clean\""), 1);
	h1_fini(&h);
}

/* ---- the listener's fixes, kvmi_wait_event's timeout ---- */

static void test_socket_and_timeout(void **state)
{
	static const char *const args[] = {"--vcpus", "1", "--duration-ms",
					   "60000", NULL};
	struct h1 h;
	struct stat st;
	long long t0, dt;
	void *dom;

	(void)state;
	h1_start(&h, args);
	assert_int_equal(stat(h.path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	dom = h1_dom(&h);
	assert_true(fcntl(kvmi_connection_fd(dom), F_GETFD) & FD_CLOEXEC);
	assert_true(kvmi_get_starttime(dom) > 0);
	t0 = now_ms();
	assert_int_equal(kvmi_wait_event(dom, 200), -1);
	assert_int_equal(errno, ETIMEDOUT);
	dt = now_ms() - t0;
	assert_true(dt >= 200);
	assert_true(dt < 2000);
	h1_finish(&h, dom);
	assert_int_equal(h1_count(&h, "\"verdict\":\"clean\""), 1);
	h1_fini(&h);
	/* bad arguments */
	assert_null(kvmi_init_unix_socket("", NULL, NULL, NULL));
	assert_int_equal(errno, EINVAL);
	assert_null(kvmi_init_vsock(0, NULL, NULL, NULL));
	assert_int_equal(errno, EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_event_loop_two_threads),
	    cmocka_unit_test(test_event_loop_wakes_waiter),
	    cmocka_unit_test(test_busy_poll),
	    cmocka_unit_test(test_state_and_memory),
	    cmocka_unit_test(test_v7_calls),
	    cmocka_unit_test(test_v7_cpuid_event),
	    cmocka_unit_test(test_v7_pf_reply),
	    cmocka_unit_test(test_pause_and_batch),
	    cmocka_unit_test(test_breakpoint_hook),
	    cmocka_unit_test(test_second_guest_closes_first),
	    cmocka_unit_test(test_close_in_forked_child),
	    cmocka_unit_test(test_socket_and_timeout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
