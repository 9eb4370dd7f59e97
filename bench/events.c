/*
 * libkvmi - bench/events.c: event round trip through the library.
 *
 * kvmi-fakehost runs one guest with N vCPUs whose every instruction is a
 * CR3 load (--insn cr3), intercepted: each raises a KVMI_EVENT_CR (576
 * bytes on the wire, the size bench-floor uses), so the simulated guest
 * work between events does not count against the round trip; each
 * vCPU waits for the reply before going on, so N vCPUs keep N events
 * outstanding, like bench-floor's window.  The tool registers a handler
 * that answers CONTINUE.  After a warm-up, the time of COUNT replied
 * events gives events per second, and the process's CPU time over them
 * (getrusage) the CPU per event; then the tool closes the channel.
 *
 * --socket PATH: the tool side alone, for another host (bench-kernel-host,
 * or kvmi-fakehost started by scripts/bench): listen on PATH, answer the
 * guests' CR events the same way, and exit once a channel is closed (the
 * first one gone shuts the server down); --vcpus is then the host's
 * business.  Every guest that connects is served; --warmup and --events
 * count the events of all of them
 * together, and the event that ends the window closes every channel (the
 * line then gains guests=N, the domains served, when more than one).
 *
 * --command-every N: on the first event of each guest and every Nth after
 * it, its handler also sends an asynchronous KVMI_GET_VCPU_INFO for the
 * event's vCPU and does not wait for it, so that the tool depends on
 * every host's command replies (a slow host: bench-kernel-host
 * --slow-guests); the line gains
 * commands= (sent), commands_answered=, command_max_ms= (the slowest
 * reply, from the send) and command_errors= (any result but success, or
 * -ENOTCONN for those cut by the end; a non-zero count fails the run).
 *
 * --busy-poll US: the server's busy_poll_us (server.h): the loop polls
 * without sleeping for US microseconds after a host's bytes came.
 *
 * --own-loop (with --socket): no libuv loop; the tool listens on PATH
 * itself, accepts one guest, hands it to a server that listens nowhere
 * (kvmi_server_adopt) and drives it with kvmi_dom_run (own-loop.h) until
 * the window ends: the same handlers, the driver a tool of its own loop
 * would use.
 *
 * Usage: bench-events [--vcpus N] [--events N] [--warmup N]
 *                     [--cpus TOOL,HOST] [--fakehost PATH] [--socket PATH]
 *                     [--busy-poll US] [--command-every N] [--own-loop]
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <kvmi/own-loop.h>

#include "harness.h"

static struct bench_window win = {.warmup = 2000, .count = 200000};
static long command_every; /* 0: no commands */
static long ndoms;
static struct {
	long sent, answered, errors;
	uint64_t max_ns;
} cmds;

/* one GET_VCPU_INFO in flight: its output and when it was sent */
struct cmd {
	uint64_t tsc, t0;
};

static void on_cmd_done(struct kvmi_dom *dom, int result, void *ctx)
{
	struct cmd *c = ctx;
	uint64_t ns = bench_now_ns() - c->t0;

	(void)dom;
	if (!result) {
		cmds.answered++;
		if (ns > cmds.max_ns)
			cmds.max_ns = ns;
	} else if (result != -ENOTCONN || !win.t1) {
		cmds.errors++;
	}
	free(c);
}

/* events 1, 1 + command_every, ... of @dom: a command not waited for */
static void maybe_command(struct kvmi_dom *dom, struct kvmi_event_ctx *ev,
			  long *count)
{
	struct cmd *c;

	if ((*count)++ % command_every)
		return;
	c = malloc(sizeof(*c));
	if (!c) {
		cmds.errors++;
		return;
	}
	c->t0 = bench_now_ns();
	if (kvmi_dom_get_vcpu_info_async(dom, (uint16_t)kvmi_event_vcpu(ev),
					 &c->tsc, on_cmd_done, c)) {
		cmds.errors++;
		free(c);
		return;
	}
	cmds.sent++;
}

static void on_cr(struct kvmi_dom *dom, struct kvmi_event_ctx *ev, void *ctx)
{
	kvmi_event_reply(ev, KVMI_EVENT_ACTION_CONTINUE);
	if (ctx)
		maybe_command(dom, ev, ctx);
	if (bench_window_event(&win)) {
		kvmi_dom_close(dom);
		/* more than one guest: close all their channels */
		if (ndoms > 1)
			kvmi_server_shutdown(kvmi_dom_server(dom));
	}
}

/* --socket: the hosts are not ours to wait for; end with the first
 * channel that closes */
static void on_gone(struct kvmi_dom *dom, int reason, void *ctx)
{
	struct bh *b = ctx;

	(void)reason;
	free(kvmi_dom_user(dom));
	kvmi_server_shutdown(b->srv);
}

/* --own-loop: the one guest's channel closed (kvmi_dom_run returns) */
static void on_gone_own(struct kvmi_dom *dom, int reason, void *ctx)
{
	(void)reason;
	(void)ctx;
	free(kvmi_dom_user(dom));
}

static int on_new(struct kvmi_dom *dom, void *ctx)
{
	long *count = NULL;

	(void)ctx;
	if (win.t1)
		return -1; /* the window has ended: no more guests */
	ndoms++;
	if (command_every) {
		count = calloc(1, sizeof(*count));
		if (!count) {
			fprintf(stderr, "bench-events: out of memory\n");
			exit(1);
		}
		kvmi_dom_set_user(dom, count);
	}
	if (kvmi_dom_on_event(dom, KVMI_EVENT_CR, on_cr, count, NULL) ||
	    kvmi_hooks_control_event(dom, KVMI_EVENT_CR, 1) ||
	    kvmi_hooks_control_cr(dom, 3, 1)) {
		fprintf(stderr, "bench-events: cannot enable CR3 events\n");
		exit(1);
	}
	return 0;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [--vcpus N (1..64)] [--events N] [--warmup N] "
		"[--cpus TOOL,HOST] [--fakehost PATH] [--socket PATH "
		"[--own-loop]] [--busy-poll US] [--command-every N (1..)]\n",
		prog);
	exit(2);
}

/* --own-loop: listen on @path, accept one guest (60 s at most), adopt it
 * into a server without a loop and run it until it closes; 0 or -1 */
static int own_loop(struct bh *b, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct pollfd p = {.fd = -1, .events = POLLIN};
	struct kvmi_dom *dom;
	int fd = -1, err;

	b->cfg.unix_path = NULL;
	b->cfg.disconnect = on_gone_own;
	err = kvmi_server_new(NULL, &b->cfg, &b->srv);
	if (err) {
		fprintf(stderr, "bench-events: server: %s\n",
			kvmi_strerror(err));
		return -1;
	}
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "bench-events: %s: path too long\n", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	p.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (p.fd < 0 || bind(p.fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("bench-events: listen");
		if (p.fd >= 0)
			close(p.fd);
		return -1;
	}
	if (listen(p.fd, 1))
		perror("bench-events: listen");
	else if (poll(&p, 1, 60000) != 1 ||
		 (fd = accept4(p.fd, NULL, NULL, SOCK_CLOEXEC)) < 0)
		fprintf(stderr, "bench-events: no guest came in 60 s\n");
	close(p.fd);
	unlink(path); /* ours: bound above */
	if (fd < 0)
		return -1;
	err = kvmi_server_adopt(b->srv, fd, &dom);
	if (err) {
		fprintf(stderr, "bench-events: adopt: %s\n",
			kvmi_strerror(err));
		close(fd);
		return -1;
	}
	err = kvmi_dom_run(dom);
	kvmi_server_free(b->srv);
	b->srv = NULL;
	if (err) {
		fprintf(stderr, "bench-events: the guest's channel ended: %s\n",
			kvmi_strerror(err));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *fakehost = NULL, *listen_path = NULL;
	int vcpus = 1, tool_cpu = -1, host_cpu = -1, busy = 0, own = 0;
	char vbuf[16], ebuf[32], label[256];
	struct bh b;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--vcpus") && i + 1 < argc)
			vcpus = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--own-loop"))
			own = 1;
		else if (!strcmp(argv[i], "--busy-poll") && i + 1 < argc)
			busy = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--command-every") && i + 1 < argc) {
			command_every = atol(argv[++i]);
			if (command_every < 1) {
				fprintf(stderr,
					"%s: --command-every must be at "
					"least 1\n",
					argv[0]);
				usage(argv[0]);
			}
		} else if (bench_window_opt(argc, argv, &i, &win, &listen_path))
			continue;
		else if (bh_common_opt(argc, argv, &i, &tool_cpu, &host_cpu,
				       &fakehost) != 1)
			usage(argv[0]);
	}
	if (vcpus < 1 || vcpus > 64 || win.count < 1 || win.warmup < 1 ||
	    busy < 0 || busy > (int)KVMI_SERVER_BUSY_POLL_MAX_US ||
	    (own && !listen_path))
		usage(argv[0]);
	bh_init(&b, fakehost, on_new, tool_cpu, host_cpu);
	b.cfg.busy_poll_us = (unsigned int)busy;
	if (listen_path) {
		if (own) {
			if (own_loop(&b, listen_path)) {
				bh_fini(&b);
				return 1;
			}
		} else {
			b.cfg.unix_path = listen_path;
			b.cfg.disconnect = on_gone;
			bench_raise_nofile();
			bh_start(&b);
			bh_run(&b);
		}
		bh_fini(&b);
		snprintf(label, sizeof(label), "events host=external%s",
			 own ? " driver=own-loop" : "");
		if (ndoms > 1)
			snprintf(label + strlen(label),
				 sizeof(label) - strlen(label), " guests=%ld",
				 ndoms);
		if (command_every)
			snprintf(label + strlen(label),
				 sizeof(label) - strlen(label),
				 " command_every=%ld commands=%ld "
				 "commands_answered=%ld command_max_ms=%.1f "
				 "command_errors=%ld",
				 command_every, cmds.sent, cmds.answered,
				 (double)cmds.max_ns / 1e6, cmds.errors);
		rc = bench_window_print(&win, label);
		return rc || cmds.errors;
	}
	bh_start(&b);
	snprintf(vbuf, sizeof(vbuf), "%d", vcpus);
	/* enough events that the vCPUs never run dry before COUNT */
	snprintf(ebuf, sizeof(ebuf), "%ld",
		 (win.warmup + win.count) / vcpus + 1000);
	{
		const char *args[] = {"--vcpus", vbuf, "--events-per-vcpu",
				      ebuf, "--hot-count", "0", "--insn", "cr3",
				      NULL};

		bh_spawn(&b, args);
	}
	bh_run(&b);
	snprintf(label, sizeof(label), "events vcpus=%d", vcpus);
	rc = bench_window_print(&win, label);
	bh_fini(&b);
	return rc;
}
