/*
 * kvmi-fakehost - report.h: the verdict on one guest after its channel
 * closed, and its one-line JSON report.
 *
 * "clean" requires all of: the handshake succeeded; the host did not
 * close the channel over a bad message; the guest was not crashed by a
 * CRASH reply; every byte of guest memory equals its original content
 * (bytes_differing 0); every page is back to rwx (pages_restricted 0); the
 * guest never got a #BP or #GP it did not expect (guest_integrity_errors 0,
 * counting events left pending at close, which the host continues); and,
 * when the UNHOOK event was sent, the tool closed the socket before the
 * unhook timeout.  Intercepts and events left enabled are reported
 * (hooks_left) but do not make a guest dirty: they die with the channel.
 */
#ifndef FH_REPORT_H
#define FH_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "vm.h"

struct fh_outcome {
	const char *name;
	const uint8_t *uuid;	     /* 16 bytes */
	int handshake_ok;
	const char *handshake_error; /* NULL when ok */
	int unhook_requested;	     /* QEMU asked for an unhook */
	int unhook_sent;	     /* ... and the UNHOOK event went out */
	int closed_in_time;	     /* the tool closed before the timeout */
	double unhook_ms;	     /* UNHOOK sent -> socket closed; < 0 n/a */
	const char *end;	     /* how the channel ended (see host.c) */
	const struct fh_vm *vm;	     /* NULL when there was no channel */
	enum kvmi_dialect dialect;   /* the host's dialect */
};

struct fh_verdict {
	uint64_t bytes_differing;
	uint64_t pages_restricted;
	int clean;
	char text[512]; /* "clean" or the reasons, comma-separated */
};

void fh_verdict_compute(const struct fh_outcome *o, struct fh_verdict *v);

/* fh_report_write - one JSON object and a newline on @f; 0 or -EIO. */
int fh_report_write(FILE *f, const struct fh_outcome *o,
		    const struct fh_verdict *v);

#endif
