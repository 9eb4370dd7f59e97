/*
 * libkvmi - bench/memory.c: resident memory per connected idle guest.
 *
 * The tool's resident set is read once the server listens, then with
 * GUESTS kvmi-fakehost guests connected (handshake and start-up done, no
 * events enabled); the difference divided by GUESTS is the cost of one
 * guest in the tool's process.  The kernel's socket buffers are not part
 * of a process's resident set, so they are excluded by construction.
 * Also prints the heap in use per guest (mallinfo2), which does not
 * depend on page granularity.
 *
 * Usage: bench-memory [--guests N] [--fakehost PATH]
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static long guests = 1000, connected;
static long rss_base, rss_full;
static size_t heap_base, heap_full;

static int on_new(struct kvmi_dom *dom, void *ctx)
{
	struct bh *b = ctx;

	(void)dom;
	if (++connected == guests) {
		rss_full = bh_rss_bytes();
		heap_full = mallinfo2().uordblks;
		kvmi_server_shutdown(b->srv);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *fakehost = NULL;
	char gbuf[16];
	struct bh b;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--guests") && i + 1 < argc)
			guests = atol(argv[++i]);
		else if (!strcmp(argv[i], "--fakehost") && i + 1 < argc)
			fakehost = argv[++i];
		else {
			fprintf(stderr,
				"usage: %s [--guests N] [--fakehost PATH]\n",
				argv[0]);
			return 2;
		}
	}
	if (guests < 1 || guests > 100000) {
		fprintf(stderr, "bench-memory: --guests must be 1..100000\n");
		return 2;
	}
	if (bh_raise_nofile() < guests + 64) {
		fprintf(stderr, "bench-memory: the fd limit is too low for "
				"%ld guests\n",
			guests);
		return 1;
	}
	bh_init(&b, fakehost, on_new, -1, -1);
	bh_start(&b);
	rss_base = bh_rss_bytes();
	heap_base = mallinfo2().uordblks;
	snprintf(gbuf, sizeof(gbuf), "%ld", guests);
	{
		const char *args[] = {"--guests", gbuf, "--vcpus", "1",
				      "--hot-count", "0", NULL};

		bh_spawn(&b, args);
	}
	bh_run(&b);
	if (connected != guests) {
		fprintf(stderr, "bench-memory: only %ld of %ld guests came\n",
			connected, guests);
		bh_fini(&b);
		return 1;
	}
	printf("memory guests=%ld rss_per_guest=%.0f heap_per_guest=%.0f "
	       "rss_base_kib=%ld rss_full_kib=%ld\n",
	       guests, (double)(rss_full - rss_base) / (double)guests,
	       (double)(heap_full - heap_base) / (double)guests,
	       rss_base / 1024, rss_full / 1024);
	bh_fini(&b);
	return 0;
}
