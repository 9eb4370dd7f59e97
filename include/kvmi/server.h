/*
 * libkvmi - server.h: accepting guests (QEMU connections) on a libuv loop.
 *
 * A server listens on a unix socket and/or a vsock port.  For every QEMU
 * connection it runs QEMU's handshake (reads QEMU's struct under the size
 * rules, lets the tool accept or refuse the guest, answers with the cookie
 * hash), then asks the host for KVMI_GET_VERSION and KVMI_GET_GUEST_INFO
 * and hands the tool a struct kvmi_dom (see domain.h) through the
 * new_domain callback.  Nothing blocks the loop during the handshake: a
 * peer that never finishes is cut off by the handshake timeout.
 *
 * Threads: every function here and in domain.h must be called on the
 * thread that runs the uv_loop_t given to kvmi_server_new() (the "loop
 * thread"), including from inside callbacks.  Callbacks always run on the
 * loop thread.  There is no global state: two servers on two loops in two
 * threads are independent.  A server whose domains are all adopted and
 * driven by the tool (own-loop.h) belongs to the thread that drives them.
 */
#ifndef KVMI_SERVER_H
#define KVMI_SERVER_H

#include <stddef.h>
#include <sys/types.h>
#include <uv.h>

#include <kvmi/common.h>
#include <kvmi/error.h>
#include <kvmi/session.h>

#ifdef __cplusplus
extern "C" {
#endif

struct kvmi_server;
struct kvmi_dom;

/* What QEMU said about the guest in its handshake struct. */
struct kvmi_guest_identity {
	uint8_t uuid[16];
	char name[64];	    /* NUL-terminated (QEMU's name[63] forced to 0) */
	int64_t start_time; /* as sent (seconds or ms depending on QEMU) */
	uint64_t max_gpa;   /* 0 unless QEMU sent the 104-byte struct */
	uint32_t struct_size; /* QEMU's struct_size */
};


/*
 * handshake: optional; sees the guest before anything is answered.
 * Return 0 to accept, a negative value to refuse (the connection is
 * closed and the refusal logged).
 */
typedef int (*kvmi_server_handshake_cb)(struct kvmi_server *srv,
					const struct kvmi_guest_identity *id,
					void *ctx);

/*
 * new_domain: required; a guest is connected, its version checked and its
 * vCPU count known.  The library holds one reference to @dom while it is
 * connected (take your own with kvmi_dom_ref() to keep it longer).  Return
 * 0 to keep the domain, a negative value to close it at once.
 */
typedef int (*kvmi_new_domain_cb)(struct kvmi_dom *dom, void *ctx);

/*
 * disconnect: optional; the domain's connection is gone.  @reason is 0
 * when the tool closed it (kvmi_dom_close, server shutdown), otherwise the
 * error that ended it: -ECONNRESET / -EPIPE (peer gone), KVMI_E_* protocol
 * errors (malformed message, unexpected reply, queue overflow, rejected
 * event reply, ...).  Called exactly once per domain that reached
 * new_domain, from the loop once the connection is fully closed - never
 * from inside another callback or a synchronous command of the tool, so
 * per-domain state can be freed here safely.  @dom stays valid during the
 * call and until its last reference is dropped.
 */
typedef void (*kvmi_disconnect_cb)(struct kvmi_dom *dom, int reason,
				   void *ctx);

/*
 * log: optional; one formatted line (no trailing newline, borrowed for the
 * call) about @dom (NULL for server-wide messages).  Without it nothing is
 * printed.  A line about a guest starts with guest=NAME (or fd=N before
 * the name is known), NAME being QEMU's guest name as a logfmt value
 * (kvmi_logfmt_value()): a hostile name cannot forge a line or a field.
 */
typedef void (*kvmi_server_log_cb)(enum kvmi_log_level level, const char *msg,
				   struct kvmi_dom *dom, void *ctx);

struct kvmi_server_config {
	size_t size; /* sizeof(struct kvmi_server_config): set it */

	const char *unix_path; /* listen here (NULL: no unix socket) */
	unsigned int unix_mode; /* file mode of the socket; 0 means 0600 */
	/* listen on this vsock port; 0: no vsock socket.  Port 0 is no
	 * usable service port (vsock ports below 1024 are reserved and no
	 * service uses 0), so a zeroed config listens only where it names;
	 * VMADDR_PORT_ANY (0xffffffff) is refused with -EINVAL */
	unsigned int vsock_port;
	int backlog;		/* listen backlog; 0 means 128 */

	/* SO_PEERCRED allow-list of peer uids (unix socket only); empty:
	 * every peer the file mode lets in.  A refused peer is closed at
	 * accept and logged (WARNING) with its uid and pid */
	const uid_t *allowed_uids;
	size_t n_allowed_uids;

	/* cookie: SHA-1(secret) is sent to QEMU; or a ready 20-byte hash;
	 * neither: 20 zero bytes (QEMU without a key accepts any hash) */
	const void *secret;
	size_t secret_len;
	const uint8_t *cookie_hash;

	unsigned int handshake_timeout_ms; /* 0 means 10000 */
	unsigned int command_timeout_ms;   /* per-domain default; 0: 10000 */
	/* unused (kept for the ABI): a domain's undispatched events are
	 * bounded by its vCPUs - at most one open event each (a second one
	 * is a protocol error) - plus one KVMI_EVENT_UNHOOK, which always
	 * has its place */
	size_t event_queue_max;
	unsigned int max_vcpus; /* vCPU indices accepted; 0 means 1024 */

	kvmi_server_handshake_cb handshake;
	kvmi_new_domain_cb new_domain; /* required */
	kvmi_disconnect_cb disconnect;
	kvmi_server_log_cb log;
	enum kvmi_log_level log_level; /* least level passed to log */
	void *ctx; /* passed to every callback */

	/*
	 * Fields below were added after the first release: they are read
	 * only when @size covers them (a caller built against an older
	 * header passes a smaller size and gets the old behaviour).
	 */

	/* allow-list of peer CIDs (vsock only, from the accepted peer's
	 * sockaddr_vm); empty: any VM that can reach the port.  A refused
	 * peer is closed at accept and logged (WARNING) with its CID.
	 * Copied by kvmi_server_new() */
	const unsigned int *allowed_cids;
	size_t n_allowed_cids;

	/* the hosts' dialect: 0 detects it per connection from the
	 * GET_VERSION reply; KVMI_SESSION_DIALECT(d) forces d (session.h) */
	unsigned int force_dialect;

	/* bound of a domain's unsent output (bytes; 0 means 1 MiB, the
	 * default): past it the library stops reading from that host - its
	 * vCPUs wait on our replies anyway - until the output drains below
	 * it; a host that stays past it for @output_stall_ms (0 means the
	 * domain's command timeout) gets the domain closed with -ENOBUFS
	 * (the restores of every hook are attempted first) */
	size_t output_max;
	unsigned int output_stall_ms;

	/* busy polling (microseconds; 0, the default: off; at most
	 * KVMI_SERVER_BUSY_POLL_MAX_US): after a host's socket had bytes to
	 * read, the loop keeps polling without sleeping for this long -
	 * uv_run() polls with a zero timeout and the library calls
	 * sched_yield() between polls, so any other runnable thread on the
	 * tool's CPU goes first - and only sleeps once that long has passed
	 * with nothing to read.  A host whose next event comes while the tool
	 * polls need not wake the tool: against a kernel-like host at 8 and
	 * 32 vCPUs, 50 us gave 14-20% more events/s (docs/benchmarks.md), for
	 * the CPU time of the polling (up to a whole CPU while events keep
	 * coming less than this apart).  For a tool with a CPU of its own: on
	 * a CPU it shares with the host's threads it gained nothing (1 vCPU:
	 * 11% fewer events/s).  One setting for the server's loop, every
	 * connection alike; kvmi_dom_run() (own-loop.h) polls its own
	 * connection the same way */
	unsigned int busy_poll_us;
};

/* the longest busy polling kvmi_server_new() accepts (10 ms) */
#define KVMI_SERVER_BUSY_POLL_MAX_US 10000u

/* the size of the first released struct kvmi_server_config (the least
 * @size kvmi_server_new() accepts) */
#define KVMI_SERVER_CONFIG_SIZE_V0 \
	(offsetof(struct kvmi_server_config, ctx) + sizeof(void *))

/*
 * kvmi_server_new - create a server on @loop with @cfg (copied; the
 * strings, uid list and secret are copied too).  Listens nowhere yet.
 * With @loop NULL the server creates and owns a loop of its own: run it
 * with kvmi_server_run(); kvmi_server_free() closes it.
 * Neither unix_path nor a vsock_port: a server for connections the tool
 * accepts itself and hands over with kvmi_server_adopt() (own-loop.h);
 * kvmi_server_start() refuses it.
 * Returns 0 and the server in *@out, -EINVAL (bad config: no new_domain,
 * vsock_port VMADDR_PORT_ANY, a count without its list, size below
 * KVMI_SERVER_CONFIG_SIZE_V0, bad timeouts, busy_poll_us above
 * KVMI_SERVER_BUSY_POLL_MAX_US) or -ENOMEM.
 */
KVMI_EXPORT int kvmi_server_new(uv_loop_t *loop,
				const struct kvmi_server_config *cfg,
				struct kvmi_server **out);

/*
 * kvmi_server_start - bind and listen.  The unix socket is created with
 * the configured mode atomically (bound under a temporary name, chmod-ed,
 * then renamed into place).  An existing path is replaced only if it is a
 * socket nobody listens on; a live socket gives -EADDRINUSE, anything
 * else (file, directory, link) -EEXIST and is left alone.  The liveness
 * check never blocks: a listener whose backlog is full counts as live
 * (-EADDRINUSE).  Every fd is CLOEXEC.  Returns 0 or a negative errno
 * (-EDESTADDRREQ: nothing to listen on is configured).
 *
 * Accepting: when accept() fails for want of descriptors or memory
 * (EMFILE, ENFILE, ENOBUFS, ENOMEM) the server stops watching that listen
 * socket and tries again on a timer, 100 ms first, doubling up to 2 s,
 * back to 100 ms after a connection is accepted; pending connections wait
 * in the backlog meanwhile.  The error is logged at most once per 10 s,
 * with the number of failures not logged since the previous line.
 */
KVMI_EXPORT int kvmi_server_start(struct kvmi_server *srv);

/*
 * kvmi_server_shutdown - stop listening (removing the unix socket file it
 * created) and close every domain and handshake in progress (each domain
 * gets its disconnect callback with reason 0).  Idempotent; safe from
 * callbacks.  The loop finishes the closing; run it until
 * kvmi_server_is_idle() before kvmi_server_free().
 */
KVMI_EXPORT void kvmi_server_shutdown(struct kvmi_server *srv);

/*
 * kvmi_server_stop_after_last_guest - stop listening now (new guests are
 * refused: QEMU retries later) and shut down, as kvmi_server_shutdown(),
 * once no connection is left - at once when there is none.  Connections
 * already accepted (handshakes in progress included) are served to their
 * end.  With a loop of the server's own, kvmi_server_run() then returns;
 * on the tool's loop, uv_run returns once the tool's own handles are
 * closed too.  Safe from callbacks (e.g. new_domain, for a tool that
 * serves one guest).  0, or -EINVAL for a NULL @srv; nothing to do after
 * a shutdown.
 */
KVMI_EXPORT int kvmi_server_stop_after_last_guest(struct kvmi_server *srv);

/* kvmi_server_is_idle - 1 when shut down and every handle is closed. */
KVMI_EXPORT int kvmi_server_is_idle(const struct kvmi_server *srv);

/*
 * kvmi_server_free - release the server (NULL accepted).  Call after
 * kvmi_server_shutdown() once kvmi_server_is_idle() (or after uv_run
 * returned): freeing earlier shuts down and frees what can be freed, but
 * domains the tool still references stay allocated until released.
 * Adopted domains still open are closed and driven here until released
 * (a domain the library was closing on its own finishes its drain: 200
 * ms at most), their disconnect callbacks running from this call; from
 * inside one of their callbacks the free completes when it returns.
 */
KVMI_EXPORT void kvmi_server_free(struct kvmi_server *srv);

/*
 * kvmi_server_run - run the server's loop until nothing is left to do
 * (after kvmi_server_shutdown(), or kvmi_server_stop_after_last_guest()'s
 * last guest, and every connection closed).  For tools
 * without a loop of their own; returns uv_run's value or -EINVAL.
 */
KVMI_EXPORT int kvmi_server_run(struct kvmi_server *srv);

/* kvmi_server_loop - the loop given at creation (or the server's own). */
KVMI_EXPORT uv_loop_t *kvmi_server_loop(const struct kvmi_server *srv);

/* kvmi_server_domain_count - connected domains (after new_domain). */
KVMI_EXPORT size_t kvmi_server_domain_count(const struct kvmi_server *srv);

/*
 * kvmi_server_connection_count - connections open: the connected domains
 * (kvmi_server_domain_count) plus those still in QEMU's handshake or the
 * start-up commands (a peer that connected and has not finished, or is
 * being cut off).  Tells "nothing connected" from "something connected
 * and is slow" (kvmi-probe's --timeout-ms).
 */
KVMI_EXPORT size_t kvmi_server_connection_count(const struct kvmi_server *srv);

/*
 * kvmi_server_foreach_domain - call @fn for every connected domain, in
 * connection order; stops early and returns @fn's value when it is
 * non-zero.  @fn may close the domain it is given.
 */
KVMI_EXPORT int kvmi_server_foreach_domain(struct kvmi_server *srv,
					   int (*fn)(struct kvmi_dom *dom,
						     void *arg),
					   void *arg);

/*
 * kvmi_logfmt_value - write the NUL-terminated string @s (untrusted: a
 * guest name or anything else from the wire) as one logfmt value into
 * @out (@cap bytes, always NUL-terminated when @cap > 0).  A non-empty
 * string of printable ASCII without space, '"', '=' and '\' is copied
 * as it is; anything else is put in double quotes, with '"' and '\'
 * backslash-escaped, newline, carriage return and tab written \n \r \t,
 * and every other byte below 0x20 or from 0x7f up (escape sequences,
 * UTF-8) written \xNN.  The value never contains a raw control byte.
 * When @cap is too small the value is cut before a whole character and
 * still closed with its quote; 4 * strlen(@s) + 3 bytes always suffice.
 * Returns the length of what was written (without the NUL).  Pure; any
 * thread.
 */
KVMI_EXPORT size_t kvmi_logfmt_value(char *out, size_t cap, const char *s);

/* kvmi_sha1 - SHA-1 of @len bytes (the cookie hash QEMU expects), from
 * nettle.  Pure; any thread. */
KVMI_EXPORT void kvmi_sha1(const void *data, size_t len, uint8_t out[20]);

#ifdef __cplusplus
}
#endif

#endif /* KVMI_SERVER_H */
