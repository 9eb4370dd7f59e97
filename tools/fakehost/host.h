/*
 * kvmi-fakehost - host.h: the simulated QEMU + host runtime: N guests,
 * one unix-socket connection each, on one libuv loop (no thread per vCPU).
 *
 * Per guest: connect to the tool (retrying until it listens), QEMU's
 * handshake, then the channel belongs to the simulated kernel (vm.h);
 * unhook as QEMU does it (UNHOOK event if the tool enabled it, then wait
 * for the tool to close up to the unhook timeout); one JSON report line
 * when the channel is gone (report.h).
 */
#ifndef FH_HOST_H
#define FH_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "vm.h"

#define FH_MAX_HOT 4096

struct fh_host_config {
	const char *connect_path;
	unsigned guests;		/* >= 1 */
	unsigned retry_ms;		/* between connection attempts */
	unsigned connect_timeout_ms;	/* 0: the handshake timeout */
	unsigned handshake_timeout_ms;	/* connection open -> tool struct */
	const char *secret;		/* NULL: no cookie check */
	const char *name;		/* guest name (suffixed -i when > 1) */
	uint8_t uuid[16];		/* guest i gets uuid with i in the last
					   bytes when guests > 1 */
	int64_t start_time;
	uint32_t handshake_size;	/* QEMU struct_size: 96, 104, custom */
	struct fh_vm_config vm;		/* per guest */
	uint64_t hot[FH_MAX_HOT];	/* storage for vm.hot_gpas */
	unsigned unhook_after_ms;	/* 0: never */
	uint64_t unhook_after_events;	/* 0: never */
	unsigned unhook_timeout_ms;
	unsigned duration_ms;		/* 0: no bound */
	unsigned hotplug_after_ms;	/* 0: never */
	const char *report_path;	/* "-" = stdout, NULL = none */
	const char *record_dir;		/* NULL: no capture */
	int verbose;
};

/* fh_host_config_defaults - the documented defaults (see --help). */
void fh_host_config_defaults(struct fh_host_config *cfg);

/*
 * fh_host_run - run every guest to its end.  Returns 0 when every guest's
 * verdict is clean, 1 when one is not, or a negative errno when the run
 * could not start (report file, loop).  Blocks; installs SIGUSR1 (unhook
 * now), SIGINT and SIGTERM (end every guest and report) handlers on its
 * own loop.
 */
int fh_host_run(const struct fh_host_config *cfg);

#endif
