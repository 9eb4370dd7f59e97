/*
 * libkvmi - bench/harness.h: what the library benchmarks share: a libkvmi
 * server on its own loop listening on a unix socket in a temporary
 * directory, kvmi-fakehost started against it (optionally pinned to a
 * CPU), the loop run until the simulated host exits, and small readings
 * (the host's JSON report; clock and memory are in bench_util.h).
 */
#ifndef KVMI_BENCH_HARNESS_H
#define KVMI_BENCH_HARNESS_H

#include <stdint.h>

#include <kvmi/kvmi.h>

#include "bench_util.h"

struct bh {
	uv_loop_t *loop;
	struct kvmi_server *srv;
	struct kvmi_server_config cfg;
	char dir[64];
	char sock[128];
	char report[128];
	uv_process_t host;
	int host_running;
	int host_cpu; /* -1: not pinned */
	const char *fakehost;
};

/*
 * bh_init - fill @b with defaults: a temporary directory and socket path,
 * a config with log level WARNING to stderr and @new_domain.  The caller
 * may adjust b->cfg, then bh_start().  @fakehost may be NULL:
 * $KVMI_FAKEHOST, then the build tree's binary.  With @tool_cpu >= 0 the
 * calling process is pinned to it; @host_cpu (or -1) is kept for
 * bh_spawn.
 */
void bh_init(struct bh *b, const char *fakehost, kvmi_new_domain_cb new_domain,
	     int tool_cpu, int host_cpu);
/* bh_start - create and start the server; exits on failure */
void bh_start(struct bh *b);
/* bh_spawn - run kvmi-fakehost --connect SOCK --report FILE ARGS...
 * (NULL-ended), pinned to b->host_cpu when >= 0; the server is shut
 * down when it exits */
void bh_spawn(struct bh *b, const char *const *args);
/* bh_run - run the loop until the host exited and the server is idle */
void bh_run(struct bh *b);
/* bh_report_count - occurrences of @needle in the host's report */
int bh_report_count(struct bh *b, const char *needle);
/* bh_fini - free the server and loop, remove the temporary files */
void bh_fini(struct bh *b);

/*
 * bh_common_opt - the options every library benchmark takes: --cpus
 * TOOL,HOST and --fakehost PATH.  When argv[*i] is one, consumes it (and
 * its value) and returns 1; 0 when it is not; -1 when its value is bad.
 */
int bh_common_opt(int argc, char **argv, int *i, int *tool_cpu,
		  int *host_cpu, const char **fakehost);

/* a breakpoint callback that only keeps the breakpoint armed */
int bh_bp_keep(struct kvmi_dom *dom, struct kvmi_event_ctx *ev, uint64_t gpa,
	       void *ctx);

#endif
