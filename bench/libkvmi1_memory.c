/*
 * libkvmi - bench/libkvmi1_memory.c: memory per connected idle guest and
 * per queued event through the libkvmi 1.x API (<libkvmi.h>)
 * (bench-memory-libkvmi1).
 *
 * One source for both libraries: meson builds it against our 1.x layer,
 * scripts/bench against Bitdefender's libkvmi (as bench-events-libkvmi1).
 * Only <libkvmi.h> (and what it includes) and libc are used
 * (bench_util.h and libkvmi1_util.h are header-only).
 *
 * kvmi_init_unix_socket() listens on --socket; heap in use
 * (bench_heap_bytes) and resident set are read, then again once --guests
 * guests were accepted and each answered kvmi_get_vcpu_count(): the
 * difference over the guests is the cost of an idle guest.
 *
 * --fakehost PATH: the tool starts the hosts itself, in waves of --wave
 * guests (default 50; our layer takes 64 handshakes at once), each wave
 * a kvmi-fakehost process started once the previous wave's guests were
 * all accepted and answered.  The first wave is the warm-up: the base
 * reading is taken after it, so what a library pays once however many
 * guests come - code pages read in at the first guest, its threads'
 * malloc arenas and cached stacks - is not divided among the guests;
 * the --guests guests after it are the ones counted.
 *
 * --queued: then CR events and CR3 interception are enabled on every vCPU
 * of every guest (the host is kvmi-fakehost --insn cr3 --events-per-vcpu
 * 2: a vCPU raises one event and waits for its reply).  The events are
 * left in the library's queue - the 1.x queue of events read but not yet
 * popped - by asking each guest kvmi_get_vcpu_count() until
 * kvmi_get_pending_events() counts one event per vCPU: a command's reply
 * comes after the events the host sent before it, which the library
 * reads and queues on the way.  With every event queued, heap and
 * resident set are read again: the growth over the idle reading divided
 * by the events is the cost of one queued event.  Then every event is
 * popped, answered CONTINUE (the CR reply of libkvmi1_events.c) and
 * freed; each vCPU's second event (popped and answered the same way)
 * proves its first reply reached the host.
 *
 * Usage: bench-memory-libkvmi1 --socket PATH [--guests N] [--queued]
 *                              [--fakehost PATH [--wave N]]
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libkvmi.h>

#include "bench_util.h"
#include "libkvmi1_util.h"

#define PROG "bench-memory-libkvmi1"

/* pop and answer @n CR events of @dom, waiting up to @ms for each (0:
 * only those queued); 0 or -1 (said why) */
static int answer(void *dom, unsigned int n, kvmi_timeout_t ms)
{
	for (unsigned int i = 0; i < n; i++) {
		struct kvmi_dom_event *ev;

		if (ms && kvmi_wait_event(dom, ms)) {
			fprintf(stderr, PROG ": %u of %u events: wait: %s\n", i,
				n, strerror(errno));
			return -1;
		}
		if (kvmi_pop_event(dom, &ev)) {
			fprintf(stderr, PROG ": %u of %u events: pop: %s\n", i,
				n, strerror(errno));
			return -1;
		}
		if (ev->event.common.event != KVMI_EVENT_CR ||
		    bench1_reply_cr(dom, ev)) {
			fprintf(stderr, PROG ": event %u not answered\n",
				ev->event.common.event);
			free(ev);
			return -1;
		}
		free(ev);
	}
	return 0;
}

/* ask @dom until one event per vCPU (@vcpus) is in the library's queue;
 * 0, or -1 after 30 s or a failed command */
static int fill_queue(void *dom, unsigned int vcpus)
{
	uint64_t end = bench_now_ns() + 30000000000u;
	unsigned int n;

	while (kvmi_get_pending_events(dom) < vcpus) {
		if (bench_now_ns() > end) {
			fprintf(stderr,
				PROG ": only %zu of %u events queued "
				     "in 30 s\n",
				kvmi_get_pending_events(dom), vcpus);
			return -1;
		}
		if (kvmi_get_vcpu_count(dom, &n)) {
			fprintf(stderr, PROG ": vCPU count: %s\n",
				strerror(errno));
			return -1;
		}
	}
	return 0;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s --socket PATH [--guests N (1..100000)] [--queued]\n"
		"       %s --socket PATH [--guests N] --fakehost PATH "
		"[--wave N (1..64)]\n",
		prog, prog);
	exit(2);
}

/* the hosts of --fakehost: one kvmi-fakehost process per wave */
struct waves {
	const char *fakehost, *path;
	long size;
	pid_t pids[2048];
	int n;
};

/* start a kvmi-fakehost of @n one-vCPU guests as the next wave (its
 * number in its guests' names and UUIDs; its stdout, the per-guest
 * reports, to /dev/null); 0 or -1 */
static int wave_start(struct waves *h, long n)
{
	char count[24], name[32], uuid[40];
	char *argv[] = {(char *)h->fakehost, "--connect", (char *)h->path,
			"--hot-count", "0", "--vcpus", "1", "--guests", count,
			"--name", name, "--uuid", uuid, NULL};
	posix_spawn_file_actions_t fa;
	extern char **environ;
	int err;

	if (h->n >= (int)(sizeof(h->pids) / sizeof(h->pids[0]))) {
		fprintf(stderr, PROG ": too many waves\n");
		return -1;
	}
	snprintf(count, sizeof(count), "%ld", n);
	snprintf(name, sizeof(name), "wave%d", h->n);
	snprintf(uuid, sizeof(uuid), "%08x-0000-4000-8000-000000000000",
		 (unsigned int)h->n);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	err = posix_spawn(&h->pids[h->n], h->fakehost, &fa, NULL, argv,
			  environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err) {
		fprintf(stderr, PROG ": cannot start %s: %s\n", h->fakehost,
			strerror(err));
		return -1;
	}
	h->n++;
	return 0;
}

/* guests @from.. of @g: wait for them to be accepted and answer a
 * command (the host connects @upto - @from of them); 0 or -1 */
static int wave_wait(struct bench1_guests *g, long upto, unsigned int *vcpus,
		     long from)
{
	if (bench1_wait_guests_upto(g, upto, 60) < upto) {
		fprintf(stderr, PROG ": only %ld of %ld guests in 60 s\n",
			bench1_wait_guests_upto(g, upto, 0), upto);
		return -1;
	}
	for (long i = from; i < upto; i++)
		if (kvmi_get_vcpu_count(g->doms[i], &vcpus[i])) {
			fprintf(stderr, PROG ": vCPU count: %s\n",
				strerror(errno));
			return -1;
		}
	return 0;
}

/* every wave's host, once its guests were closed: 0 when each exited 0
 * (kvmi-fakehost: every guest of it ended clean) */
static int waves_reap(struct waves *h)
{
	int rc = 0;

	for (int i = 0; i < h->n; i++) {
		int st = 0;

		if (waitpid(h->pids[i], &st, 0) < 0 || !WIFEXITED(st) ||
		    WEXITSTATUS(st)) {
			fprintf(stderr,
				PROG ": the host of wave %d failed (status "
				     "%#x)\n",
				i, (unsigned int)st);
			rc = -1;
		}
	}
	return rc;
}

int main(int argc, char **argv)
{
	struct bench1_guests g1 = BENCH1_GUESTS_INIT(NULL, 1);
	struct waves h = {.size = 50};
	struct bench_mem mem = {0};
	const char *path = NULL;
	unsigned int *vcpus;
	long guests = 1, total = 0, warm = 0, all;
	int queued = 0, rc = 1;
	void **doms;
	void *ctx;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--socket") && i + 1 < argc)
			path = argv[++i];
		else if (!strcmp(argv[i], "--guests") && i + 1 < argc)
			guests = atol(argv[++i]);
		else if (!strcmp(argv[i], "--queued"))
			queued = 1;
		else if (!strcmp(argv[i], "--fakehost") && i + 1 < argc)
			h.fakehost = argv[++i];
		else if (!strcmp(argv[i], "--wave") && i + 1 < argc)
			h.size = atol(argv[++i]);
		else
			usage(argv[0]);
	}
	if (!path || guests < 1 || guests > 100000 || h.size < 1 ||
	    h.size > 64 || (h.fakehost && queued))
		usage(argv[0]);
	h.path = path;
	warm = h.fakehost ? h.size : 0;
	all = warm + guests;
	if (bench_raise_nofile() < all + 64) {
		fprintf(stderr,
			PROG ": the fd limit is too low for %ld guests\n",
			all);
		return 1;
	}
	doms = calloc((size_t)all, sizeof(*doms));
	vcpus = calloc((size_t)all, sizeof(*vcpus));
	if (!doms || !vcpus) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	g1.doms = doms;
	g1.max = all;
	kvmi_set_log_cb(bench1_log_cb, NULL);
	ctx = kvmi_init_unix_socket(path, bench1_new_guest, NULL, &g1);
	if (!ctx) {
		fprintf(stderr, PROG ": cannot listen on %s: %s\n", path,
			strerror(errno));
		return 1;
	}
	if (!h.fakehost) {
		bench_mem_read(&mem, BENCH_MEM_BASE);
		if (wave_wait(&g1, all, vcpus, 0))
			goto out;
	} else {
		/* the warm-up wave, the base reading, then the counted
		 * guests a wave at a time */
		for (long done = 0; done < all;) {
			long n = all - done < h.size ? all - done : h.size;

			if (wave_start(&h, n) || wave_wait(&g1, done + n, vcpus,
							   done))
				goto out;
			done += n;
			if (done == warm)
				bench_mem_read(&mem, BENCH_MEM_BASE);
		}
	}
	bench_mem_read(&mem, BENCH_MEM_IDLE);
	if (queued) {
		for (long g = 0; g < guests; g++) {
			total += vcpus[g];
			for (unsigned short v = 0; v < vcpus[g]; v++)
				if (kvmi_control_events(doms[g], v,
							KVMI_EVENT_CR, true) ||
				    kvmi_control_cr(doms[g], v, 3, true)) {
					fprintf(stderr,
						PROG ": enabling CR3 events on "
						     "vCPU %u: %s\n",
						v, strerror(errno));
					goto out;
				}
		}
		for (long g = 0; g < guests; g++)
			if (fill_queue(doms[g], vcpus[g]))
				goto out;
		bench_mem_read(&mem, BENCH_MEM_QUEUED);
		/* the queued events, then each vCPU's second one */
		for (long g = 0; g < guests; g++)
			if (answer(doms[g], vcpus[g], 0))
				goto out;
		for (long g = 0; g < guests; g++)
			if (answer(doms[g], vcpus[g], 10000))
				goto out;
	}
	rc = 0;
out:
	/* no guest comes any more: the context's accept thread stops */
	kvmi_uninit(ctx);
	for (long g = 0; g < g1.n; g++)
		kvmi_domain_close(doms[g], true);
	if (waves_reap(&h))
		rc = 1;
	if (!rc)
		bench_mem_print("memory-libkvmi1", &mem, guests, total, total);
	free(vcpus);
	free(doms);
	return rc;
}
