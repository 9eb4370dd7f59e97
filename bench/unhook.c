/*
 * libkvmi - bench/unhook.c: unhook latency.
 *
 * A kvmi-fakehost guest gets BPS breakpoints and PAGES restricted pages
 * (a tenth as many by default), placed through the hooks helpers; then
 * everything is taken back, verified by reading it back, and the channel
 * closed, either
 *   --mode pipelined  kvmi_dom_unhook(): pipelined batches, or
 *   --mode serial     one command at a time, the baseline: per breakpoint
 *                     kvmi_bp_remove() then a 1-byte read to verify, per
 *                     page kvmi_page_unrestrict() then GET_PAGE_ACCESS,
 *                     the BREAKPOINT event off, close.
 * Prints the time from the start of the unhook to the channel closed, and
 * whether kvmi-fakehost found the guest clean (every byte and page back).
 *
 * Usage: bench-unhook --bps N [--pages N] [--mode pipelined|serial]
 *                     [--cpus TOOL,HOST] [--fakehost PATH]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define BP_BASE 0x100000ull
#define BP_STRIDE 37	      /* spread over pages, several per page */
#define PAGE_BASE 0x4000000ull /* 64 MiB: above the breakpoints */

static long n_bps, n_pages;
static int serial;
static struct kvmi_bp **bps;
static uint64_t *bp_gpa;
static long planted, busy;
static double ms;
static int result;
static unsigned int writes;

static int unhook_serial(struct kvmi_dom *dom)
{
	uint8_t byte;

	for (long i = 0; i < planted; i++) {
		if (kvmi_bp_remove(bps[i]) ||
		    kvmi_dom_read_physical(dom, bp_gpa[i], &byte, 1) ||
		    byte == 0xCC)
			return -1;
	}
	for (long i = 0; i < n_pages; i++) {
		uint64_t gpa = PAGE_BASE + (uint64_t)i * 4096;
		uint8_t access = 0;

		if (kvmi_page_unrestrict(dom, gpa) ||
		    kvmi_dom_get_page_access(dom, &gpa, &access, 1) ||
		    access != KVMI_PAGE_ACCESS_RWX)
			return -1;
	}
	if (kvmi_hooks_control_event(dom, KVMI_EVENT_BREAKPOINT, 0))
		return -1;
	kvmi_dom_close(dom);
	return 0;
}

static int on_new(struct kvmi_dom *dom, void *ctx)
{
	uint64_t t0;

	(void)ctx;
	kvmi_dom_set_command_timeout(dom, 60000);
	for (long i = 0; i < n_bps; i++) {
		uint64_t gpa = BP_BASE + (uint64_t)i * BP_STRIDE;
		int err = kvmi_bp_set(dom, gpa, bh_bp_keep, NULL,
				      &bps[planted]);

		if (err == -EBUSY) {
			busy++; /* the guest's own INT3 is there */
			continue;
		}
		if (err) {
			fprintf(stderr, "bench-unhook: kvmi_bp_set: %s\n",
				kvmi_strerror(err));
			exit(1);
		}
		bp_gpa[planted++] = gpa;
	}
	for (long i = 0; i < n_pages; i++)
		if (kvmi_page_restrict(dom, PAGE_BASE + (uint64_t)i * 4096,
				       KVMI_PAGE_ACCESS_R |
					       KVMI_PAGE_ACCESS_X)) {
			fprintf(stderr, "bench-unhook: page restrict failed\n");
			exit(1);
		}
	t0 = bench_now_ns();
	if (serial) {
		result = unhook_serial(dom);
		writes = 0;
	} else {
		struct kvmi_unhook_report r = {.size = sizeof(r)};

		result = kvmi_dom_unhook(dom, 60000, &r);
		writes = r.writes;
		if (r.bps_restored != planted || r.pages_restored != n_pages)
			result = -1;
	}
	ms = (double)(bench_now_ns() - t0) / 1e6;
	return 0;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s --bps N [--pages N] [--mode pipelined|serial] "
		"[--cpus TOOL,HOST] [--fakehost PATH]\n",
		prog);
	exit(2);
}

int main(int argc, char **argv)
{
	const char *fakehost = NULL, *mode = "pipelined";
	int tool_cpu = -1, host_cpu = -1, clean;
	char mem[32];
	struct bh b;

	n_bps = -1;
	n_pages = -1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--bps") && i + 1 < argc)
			n_bps = atol(argv[++i]);
		else if (!strcmp(argv[i], "--pages") && i + 1 < argc)
			n_pages = atol(argv[++i]);
		else if (!strcmp(argv[i], "--mode") && i + 1 < argc)
			mode = argv[++i];
		else if (bh_common_opt(argc, argv, &i, &tool_cpu, &host_cpu,
				       &fakehost) != 1)
			usage(argv[0]);
	}
	if (n_bps < 1 || n_bps > 1000000 ||
	    (strcmp(mode, "pipelined") && strcmp(mode, "serial")))
		usage(argv[0]);
	if (n_pages < 0)
		n_pages = n_bps / 10;
	if (n_pages > 1000000)
		usage(argv[0]);
	serial = !strcmp(mode, "serial");
	bps = calloc((size_t)n_bps, sizeof(*bps));
	bp_gpa = calloc((size_t)n_bps, sizeof(*bp_gpa));
	if (!bps || !bp_gpa)
		return 1;
	bh_init(&b, fakehost, on_new, tool_cpu, host_cpu);
	bh_start(&b);
	/* RAM for the pages above PAGE_BASE */
	snprintf(mem, sizeof(mem), "%lld",
		 (long long)((PAGE_BASE + (uint64_t)n_pages * 4096) >> 20) + 1);
	{
		const char *args[] = {"--vcpus", "2", "--mem-mb", mem,
				      "--hot-count", "0", "--hot-gpa",
				      "0x3000", NULL};

		bh_spawn(&b, args);
	}
	bh_run(&b);
	clean = bh_report_count(&b, "\"verdict\":\"clean\"") == 1;
	printf("unhook mode=%s bps=%ld planted=%ld guest_int3=%ld pages=%ld "
	       "ms=%.3f writes=%u result=%d clean=%d\n",
	       mode, n_bps, planted, busy, n_pages, ms, writes, result, clean);
	bh_fini(&b);
	free(bps);
	free(bp_gpa);
	return result == 0 && clean ? 0 : 1;
}
