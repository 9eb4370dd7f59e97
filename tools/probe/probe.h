/*
 * kvmi-probe - probe.h: what the probe learns about one QEMU connection
 * (struct probe_result), how it is run (probe_run, run.c) and printed
 * (probe_print_text / probe_print_json, report.c).  The options and the
 * exit statuses are kvmi-probe.c's; the meaning of each status is here.
 */
#ifndef KVMI_PROBE_H
#define KVMI_PROBE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <kvmi/kvmi.h>

/* Exit statuses, in the order a connection gets through its stages. */
enum probe_exit {
	PROBE_OK = 0,		 /* every question answered */
	PROBE_USAGE = 1,	 /* bad arguments */
	PROBE_LISTEN = 2,	 /* cannot listen where asked */
	PROBE_NO_CONNECTION = 3, /* no connection within --timeout-ms */
	PROBE_HANDSHAKE = 4,	 /* QEMU's handshake failed, or QEMU hung
				  * up after our reply with no KVMI message
				  * (the cookie, most likely) */
	PROBE_CLOSED_EARLY = 5,	 /* the host closed after KVMI messages
				  * began, before the probe was done */
	PROBE_HOST_ERROR = 6,	 /* the host broke the protocol, or did not
				  * answer in time */
};

struct probe_opts {
	const char *unix_path;	 /* NULL: no unix socket */
	unsigned int vsock_port; /* 0: no vsock socket */
	const char *secret;	 /* NULL: 20 zero bytes as the cookie */
	const char *secret_from; /* "--secret", "--secret-file",
				  * "KVMI_SECRET" or NULL */
	unsigned int timeout_ms; /* wait for a connection; 0: forever */
	unsigned int handshake_timeout_ms; /* 0: the library's 10000 */
	unsigned int command_timeout_ms;   /* 0: the library's 10000 */
	int force_dialect; /* 1: take @dialect instead of detecting */
	enum kvmi_dialect dialect;
	int json;
	int verbose; /* the library's log lines on stderr */
};

/* One CHECK_COMMAND or CHECK_EVENT and its answer. */
struct probe_check {
	uint16_t id;	  /* the dialect's wire id */
	int common;	  /* the common (kvmi-v7) number, -1 none */
	const char *name; /* the dialect's name (static) */
	int done;	  /* answered (or failed) */
	int result;	  /* 0 allowed, -EPERM denied, another error */
};

/* probe_answered - the host answered (allowed, denied or an error of its
 * own), rather than the connection failing under the command (the
 * command then completes with the error that ended the connection) */
static inline int probe_answered(int done, int result)
{
	return done && result != -ETIMEDOUT && !kvmi_error_is_fatal(result);
}

#define PROBE_MAX_COMMANDS 256
#define PROBE_MAX_EVENTS   64

struct probe_result {
	enum probe_exit code;
	char summary[256]; /* one line: what happened */
	char cause[768];   /* the likely cause and what to try; "" none */
	char detail[512];  /* the library's last warning about the
			    * connection before it ended; "" none */
	int error;	   /* what ended the connection (0: we did) */

	/* the peer (from the accepted socket) */
	int have_peer_cred;
	pid_t pid;
	uid_t uid;
	gid_t gid;
	int have_peer_cid;
	unsigned int cid;

	/* QEMU's handshake (when it arrived and we accepted it) */
	int have_identity;
	struct kvmi_guest_identity identity;
	uint64_t reply_ns;	  /* our handshake reply (uv_hrtime) */
	uint64_t end_ns;	  /* the connection ended */
	uint64_t bytes_from_host; /* KVMI bytes the host sent */

	/* start-up (new_domain) */
	int ready;
	enum kvmi_dialect dialect;
	uint32_t version;
	unsigned int vcpus;
	/* our own GET_VERSION: its reply carries the feature block */
	int ver_done;
	int ver_result;
	size_t ver_len; /* reply data bytes the host sent */
	uint8_t ver_reply[16];

	struct probe_check commands[PROBE_MAX_COMMANDS];
	size_t ncommands;
	struct probe_check events[PROBE_MAX_EVENTS];
	size_t nevents;
};

/*
 * probe_run - listen as @o says, take one connection, ask the host what
 * it allows, close without enabling anything.  Fills @r (zeroed first)
 * and returns r->code.  Prints one line on stderr once it listens (a
 * caller may wait for it before starting QEMU).
 */
enum probe_exit probe_run(const struct probe_opts *o, struct probe_result *r);

/* probe_print_text / probe_print_json - @r for a person (several lines)
 * or as one JSON object on one line. */
void probe_print_text(FILE *f, const struct probe_opts *o,
		      const struct probe_result *r);
void probe_print_json(FILE *f, const struct probe_opts *o,
		      const struct probe_result *r);

/* probe_result_name - "ok", "listen-failed", ... for @code. */
const char *probe_result_name(enum probe_exit code);

#endif
