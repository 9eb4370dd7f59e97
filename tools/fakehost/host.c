/*
 * kvmi-fakehost - host.c: the libuv runtime of host.h (sockets, timers,
 * signals, capture files, reports).  Each guest's bytes go through the
 * I/O-less handshake.c and vm.c; everything readable is read and handled
 * before the vCPUs run and the output is flushed in one write.
 */
#include "host.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include <kvmi/capture.h>

#include "handshake.h"
#include "misbehave.h"
#include "report.h"

#define READ_BUDGET (1u << 20) /* bytes read per guest and wake-up */
/* Back-pressure: with this much output unsent (a tool that writes but does
 * not read), stop reading its commands until the output drains, as the
 * host kernel blocks on a full socket. */
#define OUT_HIGH (4u << 20)

enum guest_state {
	G_CONNECTING = 0,
	G_HANDSHAKE,
	G_RUNNING,
	G_UNHOOKING,
	G_DONE,
};

struct host;

struct guest {
	struct host *host;
	unsigned index;
	char name[64];
	uint8_t uuid[16];
	enum guest_state state;
	int fd;
	uv_poll_t poll;
	int poll_init;
	int poll_events;
	uv_timer_t t_main; /* connect retry, handshake and unhook timeouts */
	uv_timer_t t_unhook;
	uv_timer_t t_duration;
	uv_timer_t t_hotplug;
	uv_timer_t t_mb; /* --misbehave stop-reading / slowloris ticks */
	uv_idle_t t_run; /* vCPUs that keep running without tool input */
	uint64_t connect_start;
	struct fh_handshake hs;
	size_t hs_out_left; /* bytes of QEMU's struct still to send */
	struct fh_vm *vm;
	struct kvmi_capture_writer *cap;
	struct fh_outcome outcome;
	char hs_error[200];
	uint64_t unhook_sent_ns;
};

struct host {
	const struct fh_host_config *cfg;
	uv_loop_t loop;
	uv_signal_t sig_usr1, sig_int, sig_term;
	struct guest *guests;
	unsigned remaining;
	unsigned unclean;
	FILE *report;
	uint8_t rbuf[65536];
};

static void logf_guest(const struct guest *g, int always, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void logf_guest(const struct guest *g, int always, const char *fmt, ...)
{
	va_list ap;

	if (!always && !g->host->cfg->verbose)
		return;
	fprintf(stderr, "kvmi-fakehost: %s: ", g->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void fh_host_config_defaults(struct fh_host_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->guests = 1;
	cfg->retry_ms = 100;
	cfg->handshake_timeout_ms = 10000;
	cfg->name = "fakehost";
	for (unsigned i = 0; i < 16; i++)
		cfg->uuid[i] = (uint8_t)(0xf0 + i);
	cfg->uuid[6] = 0x40 | (cfg->uuid[6] & 0x0f);
	cfg->uuid[8] = 0x80 | (cfg->uuid[8] & 0x3f);
	cfg->start_time = -1;
	cfg->handshake_size = sizeof(struct kvmi_qemu2introspector);
	cfg->vm.vcpus = 2;
	cfg->vm.mem_mb = 64;
	cfg->vm.seed = 1;
	cfg->vm.hot_generated = 16;
	cfg->vm.page_access_errors = FH_PA_ERRORS_LAST;
	cfg->unhook_timeout_ms = 60000;
	cfg->report_path = "-";
}

static double ms_since(uint64_t t0)
{
	return (double)(uv_hrtime() - t0) / 1e6;
}

/* ---- ending a guest ---- */

static void on_poll_closed(uv_handle_t *h)
{
	struct guest *g = h->data;

	if (g->fd >= 0)
		close(g->fd);
	g->fd = -1;
}

static void close_socket(struct guest *g)
{
	if (g->fd < 0)
		return;
	shutdown(g->fd, SHUT_RDWR);
	if (g->poll_init) {
		uv_poll_stop(&g->poll);
		uv_close((uv_handle_t *)&g->poll, on_poll_closed);
		g->poll_init = 0;
	} else {
		close(g->fd);
		g->fd = -1;
	}
}

static void finish(struct guest *g, const char *end)
{
	struct host *h = g->host;
	struct fh_verdict v;

	if (g->state == G_DONE)
		return;
	if (g->state == G_UNHOOKING && !strcmp(end, "tool-closed")) {
		g->outcome.closed_in_time = 1;
		g->outcome.unhook_ms = ms_since(g->unhook_sent_ns);
	}
	g->state = G_DONE;
	close_socket(g);
	uv_timer_stop(&g->t_main);
	uv_timer_stop(&g->t_unhook);
	uv_timer_stop(&g->t_duration);
	uv_timer_stop(&g->t_hotplug);
	uv_timer_stop(&g->t_mb);
	uv_idle_stop(&g->t_run);
	if (g->outcome.handshake_ok)
		fh_vm_disconnect(g->vm);
	if (g->cap) {
		kvmi_capture_writer_add(g->cap, KVMI_CAPTURE_EOF,
					KVMI_DIR_TOOL_TO_HOST, UINT64_MAX, NULL, 0);
		kvmi_capture_writer_add(g->cap, KVMI_CAPTURE_EOF,
					KVMI_DIR_HOST_TO_TOOL, UINT64_MAX, NULL, 0);
		if (kvmi_capture_writer_close(g->cap))
			logf_guest(g, 1, "writing the capture failed");
		g->cap = NULL;
	}
	g->outcome.end = end;
	g->outcome.vm = g->outcome.handshake_ok ? g->vm : NULL;
	fh_verdict_compute(&g->outcome, &v);
	if (!v.clean)
		h->unclean++;
	if (h->report && fh_report_write(h->report, &g->outcome, &v))
		logf_guest(g, 1, "writing the report failed");
	logf_guest(g, 0, "ended (%s): %s", end, v.text);
	if (--h->remaining == 0) {
		uv_close((uv_handle_t *)&h->sig_usr1, NULL);
		uv_close((uv_handle_t *)&h->sig_int, NULL);
		uv_close((uv_handle_t *)&h->sig_term, NULL);
	}
}

static void handshake_failed(struct guest *g, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void handshake_failed(struct guest *g, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(g->hs_error, sizeof(g->hs_error), fmt, ap);
	va_end(ap);
	g->outcome.handshake_error = g->hs_error;
	logf_guest(g, 1, "%s", g->hs_error);
	finish(g, "handshake-failed");
}

/* ---- output ---- */

static void on_poll(uv_poll_t *p, int status, int events);

/* --misbehave slowloris: the handshake goes out on t_mb's ticks only */
static int slow_handshake(const struct guest *g)
{
	return g->state == G_HANDSHAKE &&
	       g->host->cfg->vm.misbehave == FH_MB_SLOWLORIS;
}

/* --misbehave stop-reading, once on: the tool's bytes are never read */
static int stopped_reading(const struct guest *g)
{
	return g->vm->cfg.misbehave == FH_MB_STOP_READING &&
	       g->state != G_HANDSHAKE && fh_misbehave_active(g->vm);
}

static void update_poll(struct guest *g)
{
	int want = 0;

	if (!g->poll_init || g->state == G_DONE)
		return;
	if (g->vm->out.len < OUT_HIGH && !stopped_reading(g))
		want |= UV_READABLE | UV_DISCONNECT;
	if ((g->vm->out.len && !slow_handshake(g)) || g->state == G_CONNECTING)
		want |= UV_WRITABLE;
	if (want != g->poll_events) {
		g->poll_events = want;
		uv_poll_start(&g->poll, want, on_poll);
	}
}

static void record(struct guest *g, enum kvmi_direction dir, const void *p,
		   size_t n)
{
	if (g->cap && n &&
	    kvmi_capture_writer_add(g->cap, KVMI_CAPTURE_DATA, dir, UINT64_MAX, p,
				    n)) {
		logf_guest(g, 1, "capture write failed; recording stopped");
		kvmi_capture_writer_close(g->cap);
		g->cap = NULL;
	}
}

static int consume(struct guest *g, const uint8_t *p, size_t n);

/* The tool is gone for sending: what it sent before it closed is still
 * applied, as the host kernel's receiving side reads up to the end of the
 * stream (a tool's last restores arrive just before its close). */
static void drain(struct guest *g)
{
	struct host *h = g->host;

	while ((g->state == G_RUNNING || g->state == G_UNHOOKING) &&
	       !stopped_reading(g)) {
		ssize_t n = recv(g->fd, h->rbuf, sizeof(h->rbuf), MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || consume(g, h->rbuf, (size_t)n) || g->vm->closed)
			break;
	}
}

/* Returns 0, or -1 when the peer is gone (the guest was finished). */
static int flush(struct guest *g)
{
	struct fh_buf *out = &g->vm->out;

	while (out->len && !slow_handshake(g)) {
		ssize_t n = send(g->fd, out->data, out->len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0) {
			drain(g);
			finish(g, g->state == G_HANDSHAKE ? "handshake-failed"
							  : "tool-closed");
			return -1;
		}
		if (g->hs_out_left) {
			size_t hs = (size_t)n < g->hs_out_left ? (size_t)n
							       : g->hs_out_left;

			g->hs_out_left -= hs;
			record(g, KVMI_DIR_HOST_TO_TOOL, out->data + hs, (size_t)n - hs);
		} else {
			record(g, KVMI_DIR_HOST_TO_TOOL, out->data, (size_t)n);
		}
		fh_buf_consume(out, (size_t)n);
	}
	update_poll(g);
	return 0;
}

/* ---- unhook, hot-plug, duration ---- */

static void on_unhook_timeout(uv_timer_t *t)
{
	struct guest *g = t->data;

	logf_guest(g, 1,
		   "introspection tool is too slow: no close %u ms after the "
		   "UNHOOK event; disconnecting",
		   g->host->cfg->unhook_timeout_ms);
	g->outcome.closed_in_time = 0;
	finish(g, "unhook-timeout");
}

/* the UNHOOK event went out (QEMU's request, or a misbehaving burst):
 * the tool has the unhook timeout to close */
static void unhook_sent(struct guest *g)
{
	g->outcome.unhook_requested = 1;
	g->outcome.unhook_sent = 1;
	g->unhook_sent_ns = uv_hrtime();
	g->state = G_UNHOOKING;
	uv_timer_start(&g->t_main, on_unhook_timeout,
		       g->host->cfg->unhook_timeout_ms, 0);
}

static void start_unhook(struct guest *g)
{
	int r;

	if (g->state != G_RUNNING)
		return;
	g->outcome.unhook_requested = 1;
	r = fh_vm_unhook(g->vm);
	if (r) {
		logf_guest(g, 0, "unhook: the tool did not enable "
				 "KVMI_EVENT_UNHOOK; unhooking at once");
		finish(g, "unhook-not-enabled");
		return;
	}
	unhook_sent(g);
	logf_guest(g, 0, "UNHOOK event sent");
	flush(g);
}

static void on_unhook_timer(uv_timer_t *t)
{
	start_unhook(t->data);
}

static void on_duration(uv_timer_t *t)
{
	struct guest *g = t->data;

	if (g->state == G_RUNNING)
		finish(g, "duration");
}

static void progress_idle(struct guest *g, int idle_too);

/* --misbehave: stop-reading raises a PF on every vCPU every 20 ms whether
 * or not the tool answered (its output bounded like any other); slowloris
 * sends one byte of the handshake per second */
static void on_mb_tick(uv_timer_t *t)
{
	struct guest *g = t->data;

	if (g->state == G_HANDSHAKE) {
		struct fh_buf *out = &g->vm->out;
		ssize_t n = out->len ? send(g->fd, out->data, 1, MSG_NOSIGNAL)
				     : 0;

		if (n == 1) {
			fh_buf_consume(out, 1);
			if (g->hs_out_left)
				g->hs_out_left--;
		}
		return;
	}
	if (g->vm->out.len < OUT_HIGH)
		fh_misbehave_pf_all(g->vm);
	flush(g);
}

/* vCPUs that ran out of steps run again on the next loop iteration */
static void on_run(uv_idle_t *t)
{
	progress_idle(t->data, 1);
}

/* After input or a state change: let the vCPUs run and send. */
static void progress(struct guest *g)
{
	progress_idle(g, 0);
}

static void progress_idle(struct guest *g, int idle_too)
{
	const struct fh_host_config *cfg = g->host->cfg;

	if (g->state != G_RUNNING && g->state != G_UNHOOKING)
		return;
	if (idle_too)
		fh_vm_run_idle(g->vm);
	else
		fh_vm_run(g->vm);
	fh_misbehave_inject(g->vm);
	if (g->vm->mb_unhook_sent && g->state == G_RUNNING)
		unhook_sent(g);
	if (stopped_reading(g) && !uv_is_active((uv_handle_t *)&g->t_mb))
		uv_timer_start(&g->t_mb, on_mb_tick, 20, 20);
	if (fh_vm_keeps_running(g->vm))
		uv_idle_start(&g->t_run, on_run);
	else
		uv_idle_stop(&g->t_run);
	if (g->vm->crashed) {
		flush(g);
		finish(g, "crashed");
		return;
	}
	if (flush(g))
		return;
	if (g->vm->host_closed) {
		logf_guest(g, 1, "closing the channel: %s", g->vm->close_reason);
		finish(g, "host-closed");
		return;
	}
	if (cfg->unhook_after_events && !g->outcome.unhook_requested &&
	    fh_vm_total_events(g->vm) >= cfg->unhook_after_events)
		start_unhook(g);
}

static void on_hotplug(uv_timer_t *t)
{
	struct guest *g = t->data;

	if (g->state != G_RUNNING && g->state != G_UNHOOKING)
		return;
	if (fh_vm_hotplug(g->vm) >= 0)
		logf_guest(g, 0, "vCPU %u hot-plugged", g->vm->nvcpus - 1);
	progress(g);
}

/* ---- input ---- */

static void open_capture(struct guest *g)
{
	const char *dir = g->host->cfg->record_dir;
	char path[4096];
	char safe[64];
	int r;

	if (!dir)
		return;
	snprintf(safe, sizeof(safe), "%s", g->name);
	for (char *c = safe; *c; c++)
		if (*c == '/')
			*c = '_';
	snprintf(path, sizeof(path), "%s/%s.kvmicap", dir, safe);
	r = kvmi_capture_writer_open(path, &g->cap);
	if (r) {
		logf_guest(g, 1, "cannot record to %s: %s", path, kvmi_strerror(r));
		g->cap = NULL;
	}
}

static void handshake_done(struct guest *g)
{
	const struct fh_host_config *cfg = g->host->cfg;

	uv_timer_stop(&g->t_main);
	g->outcome.handshake_ok = 1;
	g->state = G_RUNNING;
	logf_guest(g, 0, "handshake done, channel handed to the kernel");
	open_capture(g);
	if (cfg->unhook_after_ms)
		uv_timer_start(&g->t_unhook, on_unhook_timer, cfg->unhook_after_ms, 0);
	if (cfg->duration_ms)
		uv_timer_start(&g->t_duration, on_duration, cfg->duration_ms, 0);
	if (cfg->hotplug_after_ms)
		uv_timer_start(&g->t_hotplug, on_hotplug, cfg->hotplug_after_ms, 0);
}

/* Returns -1 when the guest ended. */
static int consume(struct guest *g, const uint8_t *p, size_t n)
{
	if (g->state == G_HANDSHAKE) {
		size_t used = fh_handshake_feed(&g->hs, p, n);

		if (g->hs.state == FH_HS_FAILED) {
			handshake_failed(g, "%s", g->hs.error);
			return -1;
		}
		if (g->hs.state != FH_HS_OK)
			return 0; /* more to come, or stalled (QEMU stopped
				     reading: the bytes are dropped) */
		handshake_done(g);
		p += used;
		n -= used;
	}
	if (!n || g->state == G_DONE)
		return 0;
	record(g, KVMI_DIR_TOOL_TO_HOST, p, n);
	fh_vm_feed(g->vm, p, n);
	return 0;
}

static void on_readable(struct guest *g)
{
	struct host *h = g->host;
	size_t total = 0;

	while (total < READ_BUDGET && g->state != G_DONE &&
	       g->vm->out.len < OUT_HIGH) {
		ssize_t n = recv(g->fd, h->rbuf, sizeof(h->rbuf), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			if (g->state == G_HANDSHAKE)
				handshake_failed(g, "introspection: the tool closed "
						    "the connection during the "
						    "handshake");
			else
				finish(g, "tool-closed");
			return;
		}
		total += (size_t)n;
		if (consume(g, h->rbuf, (size_t)n) || g->vm->host_closed)
			break;
		if ((size_t)n < sizeof(h->rbuf))
			break; /* drained: no second recv just to see EAGAIN */
	}
	progress(g);
}

static void start_handshake(struct guest *g);

static void on_poll(uv_poll_t *p, int status, int events)
{
	struct guest *g = p->data;

	if (g->state == G_DONE)
		return;
	if (g->state == G_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (status < 0 || getsockopt(g->fd, SOL_SOCKET, SO_ERROR, &err, &len) ||
		    err) {
			handshake_failed(g, "cannot connect to %s: %s",
					 g->host->cfg->connect_path,
					 strerror(err ? err : EIO));
			return;
		}
		start_handshake(g);
		return;
	}
	if (status < 0) {
		/* a tool that closed with our events unread raises an error
		 * on the socket (EPOLLERR) before we read its last bytes */
		drain(g);
		finish(g, g->state == G_HANDSHAKE ? "handshake-failed" : "tool-closed");
		return;
	}
	if (events & (UV_READABLE | UV_DISCONNECT))
		on_readable(g);
	if (g->state != G_DONE && (events & UV_WRITABLE))
		flush(g);
}

/* ---- connecting ---- */

static void on_handshake_timeout(uv_timer_t *t)
{
	struct guest *g = t->data;

	handshake_failed(g, "introspection: handshake timed out after %u ms%s%s",
			 g->host->cfg->handshake_timeout_ms,
			 g->hs.state == FH_HS_STALLED ? ": " : "",
			 g->hs.state == FH_HS_STALLED ? g->hs.error : "");
}

static void start_handshake(struct guest *g)
{
	const struct fh_host_config *cfg = g->host->cfg;
	struct fh_identity id;

	memset(&id, 0, sizeof(id));
	id.struct_size = cfg->handshake_size;
	memcpy(id.uuid, g->uuid, sizeof(id.uuid));
	id.start_time = cfg->start_time >= 0 ? cfg->start_time : (int64_t)time(NULL);
	snprintf(id.name, sizeof(id.name), "%s", g->name);
	id.max_gpa = g->vm->mem.npages << FH_PAGE_SHIFT;
	if (fh_handshake_message(&id, &g->vm->out)) {
		handshake_failed(g, "out of memory");
		return;
	}
	g->hs_out_left = cfg->handshake_size;
	fh_handshake_init(&g->hs, cfg->secret, cfg->secret ? strlen(cfg->secret) : 0);
	g->state = G_HANDSHAKE;
	logf_guest(g, 0, "connected to %s", cfg->connect_path);
	uv_timer_start(&g->t_main, on_handshake_timeout, cfg->handshake_timeout_ms, 0);
	if (cfg->vm.misbehave == FH_MB_IDLE)
		fh_buf_consume(&g->vm->out, g->vm->out.len); /* says nothing */
	if (cfg->vm.misbehave == FH_MB_SLOWLORIS)
		uv_timer_start(&g->t_mb, on_mb_tick, 1000, 1000);
	flush(g);
}

static void try_connect(struct guest *g);

static void on_retry(uv_timer_t *t)
{
	try_connect(t->data);
}

static void try_connect(struct guest *g)
{
	const struct fh_host_config *cfg = g->host->cfg;
	unsigned limit = cfg->connect_timeout_ms ? cfg->connect_timeout_ms
						 : cfg->handshake_timeout_ms;
	struct sockaddr_un sa;
	int fd, r, err;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", cfg->connect_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = errno;
		goto retry;
	}
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	err = r ? errno : 0;
	if (!r || err == EINPROGRESS) {
		g->fd = fd;
		if (uv_poll_init(&g->host->loop, &g->poll, fd)) {
			handshake_failed(g, "cannot watch the socket");
			return;
		}
		g->poll.data = g;
		g->poll_init = 1;
		g->poll_events = 0;
		if (!r)
			start_handshake(g);
		else
			update_poll(g);
		return;
	}
	close(fd);
retry:
	if (err != ECONNREFUSED && err != ENOENT && err != EAGAIN &&
	    err != EMFILE && err != ENFILE) {
		handshake_failed(g, "cannot connect to %s: %s", cfg->connect_path,
				 strerror(err));
		return;
	}
	if (ms_since(g->connect_start) >= limit) {
		handshake_failed(g, "cannot connect to %s within %u ms: %s",
				 cfg->connect_path, limit, strerror(err));
		return;
	}
	uv_timer_start(&g->t_main, on_retry, cfg->retry_ms, 0);
}

/* ---- signals ---- */

static void on_usr1(uv_signal_t *s, int signum)
{
	struct host *h = s->data;

	(void)signum;
	for (unsigned i = 0; i < h->cfg->guests; i++)
		start_unhook(&h->guests[i]);
}

static void on_term(uv_signal_t *s, int signum)
{
	struct host *h = s->data;

	(void)signum;
	for (unsigned i = 0; i < h->cfg->guests; i++) {
		struct guest *g = &h->guests[i];

		if (g->state == G_CONNECTING || g->state == G_HANDSHAKE)
			handshake_failed(g, "interrupted before the handshake "
					    "completed");
		else
			finish(g, "shutdown");
	}
}

/* ---- setup and teardown ---- */

static int guest_init(struct host *h, struct guest *g, unsigned i)
{
	const struct fh_host_config *cfg = h->cfg;
	int r;

	g->host = h;
	g->index = i;
	g->fd = -1;
	if (cfg->guests > 1)
		snprintf(g->name, sizeof(g->name), "%.50s-%u", cfg->name, i);
	else
		snprintf(g->name, sizeof(g->name), "%s", cfg->name);
	memcpy(g->uuid, cfg->uuid, sizeof(g->uuid));
	if (cfg->guests > 1) {
		g->uuid[14] ^= (uint8_t)(i >> 8);
		g->uuid[15] ^= (uint8_t)i;
	}
	g->outcome.name = g->name;
	g->outcome.dialect = cfg->vm.dialect;
	g->outcome.uuid = g->uuid;
	g->outcome.unhook_ms = -1;
	r = fh_vm_new(&cfg->vm, &g->vm);
	if (r)
		return r;
	uv_timer_init(&h->loop, &g->t_main);
	uv_timer_init(&h->loop, &g->t_unhook);
	uv_timer_init(&h->loop, &g->t_duration);
	uv_timer_init(&h->loop, &g->t_hotplug);
	uv_timer_init(&h->loop, &g->t_mb);
	uv_idle_init(&h->loop, &g->t_run);
	g->t_main.data = g->t_unhook.data = g->t_duration.data =
		g->t_hotplug.data = g->t_run.data = g->t_mb.data = g;
	return 0;
}

static void close_walk(uv_handle_t *handle, void *arg)
{
	(void)arg;
	if (!uv_is_closing(handle))
		uv_close(handle, NULL);
}

int fh_host_run(const struct fh_host_config *cfg)
{
	struct host *h;
	int r = 0;

	if (!cfg || !cfg->connect_path || !cfg->guests)
		return -EINVAL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->cfg = cfg;
	h->guests = calloc(cfg->guests, sizeof(*h->guests));
	if (!h->guests || uv_loop_init(&h->loop)) {
		free(h->guests);
		free(h);
		return -ENOMEM;
	}
	if (cfg->report_path && !strcmp(cfg->report_path, "-")) {
		h->report = stdout;
	} else if (cfg->report_path) {
		h->report = fopen(cfg->report_path, "w");
		if (!h->report) {
			r = -errno;
			fprintf(stderr, "kvmi-fakehost: cannot open the report %s: %s\n",
				cfg->report_path, strerror(errno));
			goto out;
		}
	}
	uv_signal_init(&h->loop, &h->sig_usr1);
	uv_signal_init(&h->loop, &h->sig_int);
	uv_signal_init(&h->loop, &h->sig_term);
	h->sig_usr1.data = h->sig_int.data = h->sig_term.data = h;
	uv_signal_start(&h->sig_usr1, on_usr1, SIGUSR1);
	uv_signal_start(&h->sig_int, on_term, SIGINT);
	uv_signal_start(&h->sig_term, on_term, SIGTERM);
	h->remaining = cfg->guests;
	for (unsigned i = 0; i < cfg->guests; i++) {
		r = guest_init(h, &h->guests[i], i);
		if (r) {
			fprintf(stderr, "kvmi-fakehost: cannot create guest %u: %s\n",
				i, strerror(-r));
			h->remaining = 0;
			break;
		}
	}
	if (!r) {
		uint64_t now = uv_hrtime();

		for (unsigned i = 0; i < cfg->guests; i++) {
			h->guests[i].connect_start = now;
			try_connect(&h->guests[i]);
		}
		uv_run(&h->loop, UV_RUN_DEFAULT);
		r = h->unclean ? 1 : 0;
		if (cfg->verbose)
			fprintf(stderr, "kvmi-fakehost: %u guests, %u clean\n",
				cfg->guests, cfg->guests - h->unclean);
	}
	uv_walk(&h->loop, close_walk, NULL);
	uv_run(&h->loop, UV_RUN_DEFAULT);
out:
	for (unsigned i = 0; i < cfg->guests; i++) {
		struct guest *g = &h->guests[i];

		if (g->fd >= 0)
			close(g->fd);
		kvmi_capture_writer_close(g->cap);
		fh_vm_free(g->vm);
	}
	if (h->report && h->report != stdout)
		fclose(h->report);
	uv_loop_close(&h->loop);
	free(h->guests);
	free(h);
	return r;
}
