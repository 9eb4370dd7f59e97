/*
 * libkvmi - tests/interop/libvmi-tool.c: a small LibVMI program of ours for
 * the LibVMI interop test (test-libvmi.py).  Compiled against the LibVMI
 * built unchanged from ../shared/interop/libvmi.tar.gz, whose KVM driver
 * dlopens OUR libkvmi.so; run against kvmi-fakehost.  It initialises LibVMI
 * on KVM with the KVMI socket init data, pauses the VM, reads guest
 * physical memory and vCPU registers and checks them against the
 * fakehost's seeded model, then takes a software-breakpoint (INT3) event,
 * a memory-access (execute) event and single-step events, pauses and
 * resumes once more, undoes everything and calls vmi_destroy.  The guest
 * must then come out clean (the fakehost's report; checked by the test).
 *
 * With --hold it behaves as LibVMI tools do when the host unhooks them: it
 * plants the INT3 and the watch, keeps them (it never enables UNHOOK;
 * LibVMI cannot), and listens until the connection ends; our library's
 * safety net must then restore the guest on the host's unhook request.
 *
 * Usage: libvmi-tool SOCKET DOMAIN SEED BP_GPA MEM_GPA [--hold]
 * (BP_GPA and MEM_GPA are hot addresses the fakehost's vCPUs execute, on
 * different pages).  Exit 0 when every check held; 1 with a message naming
 * the failed check otherwise.
 */
#define _GNU_SOURCE
#include <libvmi/events.h>
#include <libvmi/libvmi.h>

#include <dlfcn.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* the fakehost's fixed register values (tools/fakehost/vcpu.c) */
#define FH_CR0	    0x80050033ULL
#define FH_CR4	    0x3606e0ULL
#define FH_IDT_BASE 0x3000ULL
#define FH_GDT_BASE 0x2000ULL

static uint64_t seed, bp_gpa, mem_gpa;
static uint8_t bp_orig;
static unsigned bp_hits, bp_bad, mem_hits, mem_bad, ss_hits, ss_bad;
static int hold; /* --hold: keep the hooks until the host unhooks */
static uint8_t int3_byte = 0xcc;

static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("libvmi-tool: FAIL: ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
	fflush(stdout);
	exit(1);
}

/* The fakehost's original guest byte at @gpa for @seed: its documented
 * seeded model (splitmix64 of the 8-byte word index, xored with the seed,
 * mixed again; byte i of the word is bits 8i..8i+7). */
static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint8_t model_byte(uint64_t gpa)
{
	return (uint8_t)(mix64(seed ^ mix64(gpa >> 3)) >> (8 * (gpa & 7)));
}

static void check_memory(vmi_instance_t vmi, uint64_t gpa, size_t len)
{
	uint8_t buf[256];
	size_t got = 0;

	if (vmi_read_pa(vmi, gpa, len, buf, &got) != VMI_SUCCESS || got != len)
		fail("vmi_read_pa(0x%" PRIx64 ", %zu) read %zu bytes", gpa, len,
		     got);
	for (size_t i = 0; i < len; i++)
		if (buf[i] != model_byte(gpa + i))
			fail("guest byte at 0x%" PRIx64
			     " is 0x%02x, the seeded model says 0x%02x",
			     gpa + i, buf[i], model_byte(gpa + i));
	printf("read %zu bytes at 0x%" PRIx64 ": equal to the seeded model\n",
	       len, gpa);
}

static void check_reg(vmi_instance_t vmi, reg_t reg, const char *name,
		      uint64_t want)
{
	uint64_t v = 0;

	if (vmi_get_vcpureg(vmi, &v, reg, 0) != VMI_SUCCESS)
		fail("vmi_get_vcpureg(%s, vcpu 0) failed", name);
	if (v != want)
		fail("vCPU 0 %s = 0x%" PRIx64 ", want 0x%" PRIx64, name, v,
		     want);
	printf("vCPU 0 %s = 0x%" PRIx64 "\n", name, v);
}

static event_response_t on_int3(vmi_instance_t vmi, vmi_event_t *ev)
{
	addr_t gpa =
	    (ev->interrupt_event.gfn << 12) + ev->interrupt_event.offset;

	bp_hits++;
	if (gpa != bp_gpa || ev->x86_regs->rip != bp_gpa)
		bp_bad++;
	/* our breakpoint: put the guest's byte back (unless holding), do
	 * not reinject; the driver then answers RETRY and the vCPU runs the
	 * original byte (or hits the INT3 again) */
	if (!hold && vmi_write_8_pa(vmi, bp_gpa, &bp_orig) != VMI_SUCCESS)
		bp_bad++;
	ev->interrupt_event.reinject = 0;
	return VMI_EVENT_RESPONSE_NONE;
}

static event_response_t on_mem(vmi_instance_t vmi, vmi_event_t *ev)
{
	mem_hits++;
	if (ev->mem_event.gfn != mem_gpa >> 12 ||
	    !(ev->mem_event.out_access & VMI_MEMACCESS_X))
		mem_bad++;
	/* lift the watch before this vCPU resumes: the other vCPU's faults
	 * on the page are then already on the way and still find the
	 * handler (the event stays registered until drained) */
	if (mem_hits == 1 && !hold &&
	    vmi_set_mem_event(vmi, mem_gpa >> 12, VMI_MEMACCESS_N, 0) !=
		VMI_SUCCESS)
		mem_bad++;
	/* --hold: the INT3 goes in only now, so the watch fires first even
	 * though the vCPUs will then loop on the breakpoint */
	if (mem_hits == 1 && hold &&
	    vmi_write_8_pa(vmi, bp_gpa, &int3_byte) != VMI_SUCCESS)
		mem_bad++;
	return VMI_EVENT_RESPONSE_NONE; /* the host emulates the access */
}

static event_response_t on_ss(vmi_instance_t vmi, vmi_event_t *ev)
{
	(void)vmi;
	ss_hits++;
	if (ev->vcpu_id != 0 || ev->ss_event.gla != ev->x86_regs->rip)
		ss_bad++;
	/* the third step turns stepping off before the vCPU runs on, so no
	 * step event is left in flight when the event is cleared */
	return ss_hits == 3 ? VMI_EVENT_RESPONSE_TOGGLE_SINGLESTEP
			    : VMI_EVENT_RESPONSE_NONE;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* listen until *@count reaches @want; 20 s at most */
static void listen_for(vmi_instance_t vmi, unsigned *count, unsigned want,
		       const char *what)
{
	double end = now_s() + 20;

	while (*count < want) {
		if (now_s() > end)
			fail("no %s event within 20 s (%u of %u)", what, *count,
			     want);
		if (vmi_events_listen(vmi, 200) != VMI_SUCCESS)
			fail("vmi_events_listen failed waiting for %s", what);
	}
}

/* handle every event already queued, so that none arrives for an event
 * about to be cleared (LibVMI leaves such an event unanswered) */
static void drain(vmi_instance_t vmi)
{
	int n;

	while ((n = vmi_are_events_pending(vmi)) > 0)
		if (vmi_events_listen(vmi, 0) != VMI_SUCCESS)
			fail("vmi_events_listen failed while draining");
	if (n < 0)
		fail("vmi_are_events_pending failed");
}

/* the libkvmi LibVMI loaded must be ours: only ours exports kvmi_version */
static void check_loaded_library(void)
{
	void *h = dlopen("libkvmi.so", RTLD_NOW | RTLD_NOLOAD);
	const char *(*ver)(void);

	if (!h)
		fail("libkvmi.so is not loaded after vmi_init");
	*(void **)&ver = dlsym(h, "kvmi_version");
	if (!ver)
		fail("the loaded libkvmi.so is not ours (no kvmi_version)");
	printf("LibVMI loaded our libkvmi %s\n", ver());
	dlclose(h);
}

/* --hold: answer events with the hooks in place until the connection
 * ends (the safety net closes it after restoring the guest), then tear
 * LibVMI down on the closed domain */
static int hold_until_unhooked(vmi_instance_t vmi, vmi_init_data_t *init)
{
	double end = now_s() + 30;

	while (vmi_events_listen(vmi, 200) == VMI_SUCCESS)
		if (now_s() > end)
			fail("--hold: the connection did not end within 30 s");
	if (!bp_hits || !mem_hits || bp_bad || mem_bad)
		fail("--hold: %u INT3 (%u wrong), %u memory (%u wrong) events "
		     "before the connection ended",
		     bp_hits, bp_bad, mem_hits, mem_bad);
	printf("--hold: %u INT3 and %u memory events, then the connection "
	       "ended\n",
	       bp_hits, mem_hits);
	vmi_destroy(vmi);
	free(init);
	printf("vmi_destroy: done\n");
	return 0;
}

int main(int argc, char **argv)
{
	vmi_instance_t vmi = NULL;
	vmi_init_error_t err = VMI_INIT_ERROR_NONE;
	vmi_init_data_t *init;
	vmi_event_t bp_ev, mem_ev, ss_ev;
	uint8_t b = 0;

	if (argc == 7 && !strcmp(argv[6], "--hold"))
		hold = 1;
	else if (argc != 6)
		fail("usage: libvmi-tool SOCKET DOMAIN SEED BP_GPA MEM_GPA "
		     "[--hold]");
	seed = strtoull(argv[3], NULL, 0);
	bp_gpa = strtoull(argv[4], NULL, 0);
	mem_gpa = strtoull(argv[5], NULL, 0);
	if (bp_gpa >> 12 == mem_gpa >> 12)
		fail("BP_GPA and MEM_GPA must be on different pages");

	init = calloc(1, sizeof(*init) + sizeof(init->entry[0]));
	if (!init)
		fail("out of memory");
	init->count = 1;
	init->entry[0].type = VMI_INIT_DATA_KVMI_SOCKET;
	init->entry[0].data = argv[1];
	if (vmi_init(&vmi, VMI_KVM, argv[2],
		     VMI_INIT_DOMAINNAME | VMI_INIT_EVENTS, init,
		     &err) != VMI_SUCCESS)
		fail("vmi_init on KVM failed (vmi_init_error %d)", (int)err);
	printf("vmi_init: KVM driver, domain %s, %u vCPUs\n", argv[2],
	       vmi_get_num_vcpus(vmi));
	check_loaded_library();

	/* memory and registers, with the VM paused */
	if (vmi_pause_vm(vmi) != VMI_SUCCESS)
		fail("vmi_pause_vm");
	check_memory(vmi, bp_gpa & ~0xfffULL, 256);
	check_memory(vmi, mem_gpa - 7, 16);
	check_reg(vmi, CR0, "CR0", FH_CR0);
	check_reg(vmi, CR4, "CR4", FH_CR4);
	check_reg(vmi, IDTR_BASE, "IDTR_BASE", FH_IDT_BASE);
	check_reg(vmi, GDTR_BASE, "GDTR_BASE", FH_GDT_BASE);

	/* an INT3 at a hot address and an execute watch on another page */
	memset(&bp_ev, 0, sizeof(bp_ev));
	SETUP_INTERRUPT_EVENT(&bp_ev, on_int3);
	if (vmi_register_event(vmi, &bp_ev) != VMI_SUCCESS)
		fail("vmi_register_event(INT3)");
	if (vmi_read_8_pa(vmi, bp_gpa, &bp_orig) != VMI_SUCCESS ||
	    (!hold && vmi_write_8_pa(vmi, bp_gpa, &int3_byte) != VMI_SUCCESS))
		fail("planting the INT3 at 0x%" PRIx64, bp_gpa);
	memset(&mem_ev, 0, sizeof(mem_ev));
	SETUP_MEM_EVENT(&mem_ev, mem_gpa >> 12, VMI_MEMACCESS_X, on_mem, 0);
	if (vmi_register_event(vmi, &mem_ev) != VMI_SUCCESS)
		fail("vmi_register_event(memory, X on gfn 0x%" PRIx64 ")",
		     mem_gpa >> 12);
	if (vmi_resume_vm(vmi) != VMI_SUCCESS)
		fail("vmi_resume_vm");

	if (hold)
		return hold_until_unhooked(vmi, init);
	listen_for(vmi, &bp_hits, 1, "INT3");
	if (bp_bad)
		fail("%u INT3 event(s) at the wrong address", bp_bad);
	printf("INT3 at 0x%" PRIx64 ": %u event(s), byte restored\n", bp_gpa,
	       bp_hits);
	listen_for(vmi, &mem_hits, 1, "memory-access");
	drain(vmi);
	if (vmi_clear_event(vmi, &mem_ev, NULL) != VMI_SUCCESS)
		fail("vmi_clear_event(memory)");
	if (mem_bad)
		fail("%u memory event(s) with the wrong gfn or access",
		     mem_bad);
	printf("execute on gfn 0x%" PRIx64 ": %u event(s)\n", mem_gpa >> 12,
	       mem_hits);

	/* single-step vCPU 0 */
	memset(&ss_ev, 0, sizeof(ss_ev));
	SETUP_SINGLESTEP_EVENT(&ss_ev, 1, on_ss, 1);
	if (vmi_register_event(vmi, &ss_ev) != VMI_SUCCESS)
		fail("vmi_register_event(single-step on vCPU 0)");
	listen_for(vmi, &ss_hits, 3, "single-step");
	drain(vmi);
	if (ss_hits != 3)
		fail("%u single-step events after stepping was turned off at 3",
		     ss_hits);
	if (vmi_clear_event(vmi, &ss_ev, NULL) != VMI_SUCCESS)
		fail("vmi_clear_event(single-step)");
	if (ss_bad)
		fail("%u single-step event(s) not on vCPU 0 or gla != rip",
		     ss_bad);
	printf("single-step on vCPU 0: %u event(s)\n", ss_hits);

	/* pause/resume once more; the guest memory is back to its original */
	drain(vmi);
	if (vmi_pause_vm(vmi) != VMI_SUCCESS)
		fail("vmi_pause_vm (second)");
	if (vmi_read_8_pa(vmi, bp_gpa, &b) != VMI_SUCCESS ||
	    b != model_byte(bp_gpa))
		fail("byte at 0x%" PRIx64
		     " is 0x%02x after the INT3, want 0x%02x",
		     bp_gpa, b, model_byte(bp_gpa));
	if (vmi_clear_event(vmi, &bp_ev, NULL) != VMI_SUCCESS)
		fail("vmi_clear_event(INT3)");
	if (vmi_resume_vm(vmi) != VMI_SUCCESS)
		fail("vmi_resume_vm (second)");
	printf("paused and resumed again; byte at 0x%" PRIx64 " is original\n",
	       bp_gpa);

	vmi_destroy(vmi);
	free(init);
	printf("vmi_destroy: done\n");
	return 0;
}
