/*
 * kvmi-probe - run.c: one connection through libkvmi's server (probe.h).
 *
 * The server does QEMU's handshake and the start-up commands; the probe
 * watches it through the public API: the handshake callback (QEMU's
 * identity, the moment we reply), new_domain (dialect, version, vCPUs),
 * then one asynchronous CHECK_COMMAND per command id and CHECK_EVENT per
 * event id of the dialect and a GET_VERSION of its own (the reply's
 * feature block), all pipelined; when every answer is in the domain is
 * closed, having enabled nothing.  A connection that ends before
 * new_domain is seen in the log callback (the library logs the error that
 * ended it with the domain; kvmi_dom_error() then holds it), and what it
 * had got through (handshake, KVMI bytes from the host) tells the stage.
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/vm_sockets.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "probe.h"

struct run {
	const struct probe_opts *o;
	struct probe_result *r;
	uv_loop_t loop;
	uv_timer_t timer;
	uv_signal_t sigint, sigterm;
	struct kvmi_server *srv;
	struct kvmi_dom *dom; /* the connection past new_domain */
	int accepted;	      /* a handshake was accepted (only one is) */
	int finished;	      /* the result is known: stop */
	size_t pending;	      /* commands not answered yet */
	/* the library's last warning about a domain, for the detail */
	const struct kvmi_dom *warn_dom;
	char warn[sizeof(((struct probe_result *)0)->detail)];
};

static const char *const level_names[] = {"debug", "info", "warning", "error"};

static void finish(struct run *p, enum probe_exit code)
{
	if (p->finished)
		return;
	p->finished = 1;
	p->r->code = code;
	p->r->end_ns = uv_hrtime();
}

static void peer_of(struct probe_result *r, const struct kvmi_dom *dom)
{
	int fd = kvmi_dom_fd(dom);
	struct sockaddr_storage a;
	socklen_t len = sizeof(a);
	struct ucred cred;
	socklen_t clen = sizeof(cred);

	if (fd < 0 || getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		return;
	if (a.ss_family == AF_UNIX &&
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0) {
		r->have_peer_cred = 1;
		r->pid = cred.pid;
		r->uid = cred.uid;
		r->gid = cred.gid;
	}
	len = sizeof(a);
	if (a.ss_family == AF_VSOCK &&
	    getpeername(fd, (struct sockaddr *)&a, &len) == 0) {
		r->have_peer_cid = 1;
		r->cid = ((struct sockaddr_vm *)&a)->svm_cid;
	}
}

/* what the connection got through before @dom's connection ended */
static void take_progress(struct run *p, const struct kvmi_dom *dom)
{
	const struct kvmi_guest_identity *id = kvmi_dom_identity(dom);

	if (id && id->struct_size) {
		p->r->have_identity = 1;
		p->r->identity = *id;
	}
	p->r->bytes_from_host =
	    kvmi_session_bytes_received(kvmi_dom_session(dom));
	if (!p->r->have_peer_cred && !p->r->have_peer_cid)
		peer_of(p->r, dom);
	if (p->warn_dom == dom)
		snprintf(p->r->detail, sizeof(p->r->detail), "%s", p->warn);
}

/* ---- why a connection ended before it was ready ---- */

/* the peer closed or reset the connection (libuv reports an error on
 * the socket, such as a reset with our commands unread, as EBADF) */
static int is_peer_gone(int err)
{
	return err == -ECONNRESET || err == -EPIPE || err == -ENOTCONN ||
	       err == -EBADF;
}

static void explain_early_end(struct run *p, int err)
{
	struct probe_result *r = p->r;
	const struct probe_opts *o = p->o;
	unsigned int hs_ms =
	    o->handshake_timeout_ms ? o->handshake_timeout_ms : 10000;

	r->error = err;
	if (err == KVMI_E_HANDSHAKE_SIZE) {
		snprintf(r->summary, sizeof(r->summary),
			 "the peer's handshake struct_size is out of range");
		snprintf(r->cause, sizeof(r->cause),
			 "what connected does not speak QEMU's introspection "
			 "handshake (the first 4 bytes are its struct_size); "
			 "check that only QEMU's introspection socket points "
			 "here");
		finish(p, PROBE_HANDSHAKE);
	} else if (!r->have_identity && err == -ETIMEDOUT) {
		snprintf(r->summary, sizeof(r->summary),
			 "a peer connected but sent no complete QEMU "
			 "handshake within %u ms",
			 hs_ms);
		snprintf(r->cause, sizeof(r->cause),
			 "QEMU sends its handshake at once: what connected is "
			 "probably not QEMU's introspection channel, or QEMU "
			 "is stuck");
		finish(p, PROBE_HANDSHAKE);
	} else if (!r->have_identity) {
		snprintf(r->summary, sizeof(r->summary),
			 "a peer connected and closed before its handshake "
			 "was complete (%s)",
			 kvmi_err_name(err));
		snprintf(r->cause, sizeof(r->cause),
			 "QEMU sends its whole handshake at once: what "
			 "connected is probably not QEMU, or QEMU died");
		finish(p, PROBE_HANDSHAKE);
	} else if (!r->bytes_from_host && is_peer_gone(err)) {
		snprintf(r->summary, sizeof(r->summary),
			 "QEMU closed the connection %" PRIu64
			 " ms after our handshake reply, before the host "
			 "sent any KVMI message",
			 (uv_hrtime() - r->reply_ns) / 1000000);
		if (o->secret)
			snprintf(
			    r->cause, sizeof(r->cause),
			    "the cookie hash most likely did not match: we "
			    "sent SHA-1 of the secret given by %s, and QEMU "
			    "hangs up when it differs from the secret of "
			    "its introspection object; give kvmi-probe the "
			    "same secret as QEMU (check for a trailing "
			    "newline or an old token).  Otherwise QEMU "
			    "could not hand the socket to KVM (a kernel "
			    "without KVMI, a VM already introspected): "
			    "QEMU's log says which",
			    o->secret_from);
		else
			snprintf(r->cause, sizeof(r->cause),
				 "the cookie most likely did not match: no "
				 "secret was given, so we sent 20 zero bytes, "
				 "which only a QEMU without a secret accepts; "
				 "give QEMU's secret with --secret-file or "
				 "KVMI_SECRET.  Otherwise QEMU could not hand "
				 "the socket to KVM (a kernel without KVMI, a "
				 "VM already introspected): QEMU's log says "
				 "which");
		finish(p, PROBE_HANDSHAKE);
	} else if (is_peer_gone(err)) {
		snprintf(r->summary, sizeof(r->summary),
			 "the host closed the connection during the start-up "
			 "commands (after %" PRIu64 " bytes of KVMI messages)",
			 r->bytes_from_host);
		snprintf(r->cause, sizeof(r->cause),
			 "QEMU accepted the cookie (the host answered), then "
			 "the channel went: QEMU or the guest stopped, or the "
			 "host refused a start-up command");
		finish(p, PROBE_CLOSED_EARLY);
	} else if (err == -ETIMEDOUT) {
		snprintf(r->summary, sizeof(r->summary),
			 "the host did not finish the start-up commands "
			 "within %u ms (%" PRIu64 " bytes of KVMI messages "
			 "received)",
			 hs_ms, r->bytes_from_host);
		snprintf(r->cause, sizeof(r->cause),
			 "QEMU kept the connection but the host kernel did "
			 "not answer KVMI_GET_VERSION / KVMI_GET_GUEST_INFO: "
			 "a kernel without KVMI support behind this QEMU, or "
			 "a QEMU that waits on something; a QEMU that "
			 "refused the cookie would have closed");
		finish(p, PROBE_HOST_ERROR);
	} else {
		snprintf(r->summary, sizeof(r->summary),
			 "the start-up commands failed: %s (%s)",
			 kvmi_strerror(err), kvmi_err_name(err));
		snprintf(r->cause, sizeof(r->cause),
			 err == KVMI_E_VERSION
			     ? "the host speaks a KVMI version this library "
			       "does not support"
			     : "the host sent something the protocol does "
			       "not allow (see the detail; --dialect forces "
			       "a dialect when detection went wrong)");
		finish(p, PROBE_HOST_ERROR);
	}
}

/* ---- server callbacks ---- */

static int on_handshake(struct kvmi_server *srv,
			const struct kvmi_guest_identity *id, void *ctx)
{
	struct run *p = ctx;

	(void)srv;
	if (p->accepted || p->finished)
		return -1; /* one connection only: refuse the others */
	p->accepted = 1;
	p->r->have_identity = 1;
	p->r->identity = *id;
	p->r->reply_ns = uv_hrtime();
	return 0;
}

static void on_log(enum kvmi_log_level level, const char *msg,
		   struct kvmi_dom *dom, void *ctx)
{
	struct run *p = ctx;
	int err = dom ? kvmi_dom_error(dom) : 0;

	if (p->o->verbose)
		fprintf(stderr, "kvmi-probe: libkvmi %s: %s\n",
			level_names[level & 3], msg);
	if (p->finished)
		return;
	if (!err && level >= KVMI_LOG_WARNING) {
		/* the line before the one that ends a connection says why */
		p->warn_dom = dom;
		snprintf(p->warn, sizeof(p->warn), "%s", msg);
	}
	if (!err || dom == p->dom)
		return; /* p->dom's end comes to on_disconnect */
	/* a connection ended before new_domain: ours unless it is one we
	 * refused, or a later one that never got to its handshake */
	if (err == KVMI_E_HANDSHAKE_REFUSED ||
	    (p->accepted && !kvmi_dom_identity(dom)->struct_size))
		return;
	take_progress(p, dom);
	explain_early_end(p, err);
}

static void check_done(struct kvmi_dom *dom, int result, void *ctx);

static void ver_done(struct kvmi_session *s, int result, size_t reply_len,
		     void *ctx)
{
	struct run *p = ctx;

	(void)s;
	p->r->ver_done = 1;
	p->r->ver_result = result;
	p->r->ver_len = reply_len;
	check_done(p->dom, result, NULL);
}

static void check_done(struct kvmi_dom *dom, int result, void *ctx)
{
	struct probe_check *c = ctx;
	struct run *p = kvmi_dom_user(dom);

	if (c) {
		c->done = 1;
		c->result = result;
	}
	if (--p->pending == 0 && kvmi_dom_is_connected(dom))
		kvmi_dom_close(dom); /* every answer is in */
}

static void queue_version(struct run *p)
{
	struct kvmi_session *s = kvmi_dom_session(p->dom);
	uint8_t msg[32];
	int n =
	    kvmi_encode_get_version(msg, sizeof(msg), kvmi_session_next_seq(s));
	int err =
	    n < 0 ? n
		  : kvmi_session_command(s, msg, (size_t)n, p->r->ver_reply,
					 sizeof(p->r->ver_reply), ver_done, p);

	if (err) {
		p->r->ver_done = 1;
		p->r->ver_result = err;
		return;
	}
	p->pending++;
}

static void queue_check(struct run *p, struct probe_check *c, int event)
{
	int err =
	    event ? kvmi_dom_check_event_async(p->dom, (uint16_t)c->common,
					       check_done, c)
		  : kvmi_dom_check_command_async(p->dom, (uint16_t)c->common,
						 check_done, c);

	if (err) {
		c->done = 1;
		c->result = err;
		return;
	}
	p->pending++;
}

/* the ids below @max that @d has (@exists >= 0), in wire order, into @out;
 * returns how many */
static size_t list_ids(struct probe_check *out, unsigned int max,
		       enum kvmi_dialect d,
		       int (*exists)(enum kvmi_dialect, unsigned int),
		       int (*common)(enum kvmi_dialect, unsigned int),
		       const char *(*name)(enum kvmi_dialect, unsigned int))
{
	size_t n = 0;

	for (unsigned int id = 0; id < max; id++) {
		if (exists(d, id) < 0)
			continue;
		out[n].id = (uint16_t)id;
		out[n].common = common(d, id);
		out[n].name = name(d, id);
		n++;
	}
	return n;
}

/* every command and event id of the dialect */
static void queue_checks(struct run *p)
{
	struct probe_result *r = p->r;

	r->ncommands = list_ids(r->commands, PROBE_MAX_COMMANDS, r->dialect,
				kvmi_command_has_vcpu_d,
				kvmi_dialect_msg_from_wire, kvmi_msg_name_d);
	r->nevents = list_ids(r->events, PROBE_MAX_EVENTS, r->dialect,
			      kvmi_event_data_size_d,
			      kvmi_dialect_event_from_wire, kvmi_event_name_d);
	/* pending counts one extra until everything is queued, so an
	 * early failure cannot close the domain half way */
	p->pending++;
	queue_version(p);
	for (size_t i = 0; i < r->ncommands; i++)
		queue_check(p, &r->commands[i], 0);
	for (size_t i = 0; i < r->nevents; i++)
		queue_check(p, &r->events[i], 1);
	check_done(p->dom, 0, NULL);
}

static int on_new_domain(struct kvmi_dom *dom, void *ctx)
{
	struct run *p = ctx;
	struct probe_result *r = p->r;

	if (p->dom || p->finished)
		return -1;
	p->dom = dom;
	kvmi_dom_ref(dom);
	kvmi_dom_set_user(dom, p);
	r->ready = 1;
	r->dialect = kvmi_dom_dialect(dom);
	r->version = kvmi_dom_version(dom);
	r->vcpus = kvmi_dom_vcpu_count(dom);
	take_progress(p, dom);
	queue_checks(p);
	return 0;
}

static void on_disconnect(struct kvmi_dom *dom, int reason, void *ctx)
{
	struct run *p = ctx;
	struct probe_result *r = p->r;
	size_t open = 0;

	if (dom != p->dom)
		return;
	r->bytes_from_host = kvmi_session_bytes_received(kvmi_dom_session(dom));
	if (p->warn_dom == dom)
		snprintf(r->detail, sizeof(r->detail), "%s", p->warn);
	for (size_t i = 0; i < r->ncommands; i++)
		open +=
		    !probe_answered(r->commands[i].done, r->commands[i].result);
	for (size_t i = 0; i < r->nevents; i++)
		open += !probe_answered(r->events[i].done, r->events[i].result);
	open += !probe_answered(r->ver_done, r->ver_result);
	r->error = reason;
	if (!reason && !open) {
		snprintf(r->summary, sizeof(r->summary),
			 "probe complete: %zu commands and %zu events checked; "
			 "closed without enabling anything",
			 r->ncommands, r->nevents);
		finish(p, PROBE_OK);
	} else if (is_peer_gone(reason)) {
		snprintf(r->summary, sizeof(r->summary),
			 "the host closed the connection with %zu of our "
			 "questions unanswered (%s)",
			 open, kvmi_err_name(reason));
		snprintf(r->cause, sizeof(r->cause),
			 "QEMU or the guest went away, or the host closed the "
			 "channel over a command it did not accept");
		finish(p, PROBE_CLOSED_EARLY);
	} else {
		snprintf(r->summary, sizeof(r->summary),
			 "the connection failed with %zu of our questions "
			 "unanswered: %s (%s)",
			 open, kvmi_strerror(reason), kvmi_err_name(reason));
		snprintf(r->cause, sizeof(r->cause),
			 reason == -ETIMEDOUT
			     ? "the host left a command unanswered past "
			       "--command-timeout-ms"
			     : "the host sent something the protocol does "
			       "not allow (see the detail)");
		finish(p, PROBE_HOST_ERROR);
	}
}

static void on_timeout(uv_timer_t *t)
{
	struct run *p = t->data;

	/* something connected and is still in its handshake or start-up:
	 * the handshake timeout bounds it, its outcome is the answer */
	if (p->finished || p->accepted || kvmi_server_connection_count(p->srv))
		return;
	snprintf(p->r->summary, sizeof(p->r->summary),
		 "nothing connected within %u ms", p->o->timeout_ms);
	snprintf(p->r->cause, sizeof(p->r->cause),
		 "QEMU was not started, connects elsewhere (its "
		 "introspection chardev path or vsock port), or cannot "
		 "reach the socket (permissions: the socket is mode 0600)");
	finish(p, PROBE_NO_CONNECTION);
}

/* SIGINT/SIGTERM while waiting: nothing connected, said as with
 * --timeout-ms (and the socket removed); once something connected, the
 * signal's default action (a second one would be needed otherwise) */
static void on_signal(uv_signal_t *h, int signum)
{
	struct run *p = h->data;

	if (p->finished || p->accepted ||
	    kvmi_server_connection_count(p->srv)) {
		uv_signal_stop(&p->sigint);
		uv_signal_stop(&p->sigterm);
		raise(signum);
		return;
	}
	snprintf(p->r->summary, sizeof(p->r->summary),
		 "interrupted (%s) before anything connected",
		 signum == SIGINT ? "SIGINT" : "SIGTERM");
	finish(p, PROBE_NO_CONNECTION);
}

/* ---- the run ---- */

static int start(struct run *p)
{
	const struct probe_opts *o = p->o;
	struct kvmi_server_config cfg = {.size = sizeof(cfg)};
	int err;

	cfg.unix_path = o->unix_path;
	cfg.vsock_port = o->vsock_port;
	if (o->secret) {
		cfg.secret = o->secret;
		cfg.secret_len = strlen(o->secret);
	}
	cfg.handshake_timeout_ms = o->handshake_timeout_ms;
	cfg.command_timeout_ms = o->command_timeout_ms;
	cfg.force_dialect =
	    o->force_dialect ? KVMI_SESSION_DIALECT(o->dialect) : 0;
	cfg.handshake = on_handshake;
	cfg.new_domain = on_new_domain;
	cfg.disconnect = on_disconnect;
	cfg.log = on_log;
	cfg.log_level = KVMI_LOG_DEBUG;
	cfg.ctx = p;
	err = kvmi_server_new(&p->loop, &cfg, &p->srv);
	if (!err)
		err = kvmi_server_start(p->srv);
	if (err) {
		p->r->error = err;
		snprintf(p->r->summary, sizeof(p->r->summary),
			 "cannot listen: %s (%s)", kvmi_strerror(err),
			 kvmi_err_name(err));
		snprintf(p->r->cause, sizeof(p->r->cause), "%s",
			 err == -EADDRINUSE ? "another program listens on "
					      "that socket"
			 : err == -EEXIST   ? "the path exists and is not a "
					      "socket: it is left alone"
			 : err == -EAFNOSUPPORT || err == -ENODEV
			     ? "this machine has no vsock support (load "
			       "vhost_vsock / vsock_loopback)"
			     : "");
		if (!p->warn_dom)
			snprintf(p->r->detail, sizeof(p->r->detail), "%s",
				 p->warn);
		p->r->code = PROBE_LISTEN;
		return -1;
	}
	return 0;
}

static void announce(const struct probe_opts *o)
{
	fprintf(stderr, "kvmi-probe: listening on");
	if (o->unix_path)
		fprintf(stderr, " unix socket %s", o->unix_path);
	if (o->unix_path && o->vsock_port)
		fprintf(stderr, " and");
	if (o->vsock_port)
		fprintf(stderr, " vsock port %u", o->vsock_port);
	fprintf(stderr, "; waiting for one QEMU connection\n");
	fflush(stderr);
}

enum probe_exit probe_run(const struct probe_opts *o, struct probe_result *r)
{
	struct run p = {.o = o, .r = r};
	int err;

	memset(r, 0, sizeof(*r));
	err = uv_loop_init(&p.loop);
	if (err) {
		snprintf(r->summary, sizeof(r->summary), "uv_loop_init: %s",
			 uv_strerror(err));
		return r->code = PROBE_LISTEN;
	}
	if (start(&p) == 0) {
		uv_timer_init(&p.loop, &p.timer);
		p.timer.data = &p;
		if (o->timeout_ms)
			uv_timer_start(&p.timer, on_timeout, o->timeout_ms,
				       o->timeout_ms);
		uv_signal_init(&p.loop, &p.sigint);
		uv_signal_init(&p.loop, &p.sigterm);
		p.sigint.data = p.sigterm.data = &p;
		uv_signal_start(&p.sigint, on_signal, SIGINT);
		uv_signal_start(&p.sigterm, on_signal, SIGTERM);
		announce(o); /* once a signal finds its handler */
		while (!p.finished && uv_run(&p.loop, UV_RUN_ONCE))
			;
		uv_close((uv_handle_t *)&p.timer, NULL);
		uv_close((uv_handle_t *)&p.sigint, NULL);
		uv_close((uv_handle_t *)&p.sigterm, NULL);
		kvmi_server_shutdown(p.srv);
		while (!kvmi_server_is_idle(p.srv) &&
		       uv_run(&p.loop, UV_RUN_ONCE))
			;
	}
	kvmi_server_free(p.srv);
	uv_run(&p.loop, UV_RUN_DEFAULT);
	if (p.dom)
		kvmi_dom_unref(p.dom);
	uv_loop_close(&p.loop);
	return r->code;
}
