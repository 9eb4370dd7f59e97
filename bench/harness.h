/*
 * libkvmi - bench/harness.h: what the library benchmarks share: a libkvmi
 * server on its own loop listening on a unix socket in a temporary
 * directory, kvmi-fakehost started against it (optionally pinned to a
 * CPU), the loop run until the simulated host exits, and small readings
 * (clock, resident memory, the host's JSON report).
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
	int64_t host_status;
	int host_cpu; /* -1: not pinned */
	const char *fakehost;
};

/*
 * bh_init - fill @b with defaults: a temporary directory and socket path,
 * a config with log level WARNING to stderr, no callbacks.  The caller
 * sets b->cfg.new_domain (and anything else), then bh_start().
 * @fakehost may be NULL: $KVMI_FAKEHOST, then the build tree's binary.
 */
void bh_init(struct bh *b, const char *fakehost);
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

/* resident set size of the calling process, bytes */
long bh_rss_bytes(void);
/* raise RLIMIT_NOFILE to its hard limit; returns the new soft limit */
long bh_raise_nofile(void);

#endif
