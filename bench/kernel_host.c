/*
 * libkvmi - bench/kernel_host.c: a host model that behaves like the
 * kernel's KVMI code, for benchmarks (bench-kernel-host).
 *
 * kvmi-fakehost is a single-threaded event loop that writes every free
 * event slot at once and reads whatever the tool sent.  The kernel does
 * not: each vCPU thread sends its own event with its own write and blocks
 * until its reply arrives, and one receiving thread reads the socket a
 * message at a time (the 8-byte header, then exactly the body), answers
 * commands and hands each event reply to the vCPU waiting for it
 * (KVMI-PROTOCOL.md sec. 3.8).  This program does the same with threads:
 *
 *   - it connects to the tool's unix socket as QEMU does and plays QEMU's
 *     handshake (a 96-byte struct out, the tool's struct_size and the
 *     rest of its struct in);
 *   - the receive thread answers GET_VERSION, CHECK_COMMAND/EVENT,
 *     GET_GUEST_INFO, GET_VCPU_INFO, CONTROL_VM_EVENTS, CONTROL_EVENTS,
 *     CONTROL_CR, CONTROL_MSR and CONTROL_CMD_RESPONSE (with its reply
 *     suppression); anything else gets the "unknown command" error;
 *   - vCPU i starts once the tool enabled KVMI_EVENT_CR and CR3
 *     interception on it, then loops: one KVMI_EVENT_CR (a CR3 write,
 *     576 bytes on the wire) in one send(), wait on a futex until the
 *     receive thread has its reply (same seq, action CONTINUE), repeat;
 *   - it runs until the tool closes the connection, then prints one line:
 *     events answered, the rate after the warm-up, and the latency of
 *     each event (send -> reply read by the receive thread) at p50, p99
 *     and p99.9.
 *
 * --guests N: N such guests, each its own connection to the same tool
 * socket with its own handshake, receive thread and vCPU threads (64 KiB
 * stacks: 1,000 guests x 1 vCPU are 2,000 threads); the guests connect
 * one after the other, and the vCPUs of all start together once the tool
 * has enabled every one of them; the timing starts once --warmup events
 * have been answered in all.  The latencies of
 * every guest are merged into one set of percentiles; the run ends when
 * the tool has closed every connection.  --slow-guests K --slow-ms D:
 * the first K guests are slow hosts: once their vCPUs run, their receive
 * thread sleeps D ms before each command reply it sends (the start-up
 * commands that enable the events are answered at once); their
 * latencies are kept out of the merged percentiles and shown apart.
 * With --guests (or --slow-guests) the line gains guests=, answered_min=
 * (the fewest events one guest had answered), samples= and the slow
 * guests' figures; without, it is what one guest always printed.
 *
 * --dialect v7 answers GET_VERSION with the 16-byte kvmi-v7 reply
 * (version 1, an all-zero feature block) and unknown ids with
 * -KVM_ENOSYS (KVMI-V7.md sec. 2, 9, 13), which is what Bitdefender's
 * libkvmi HEAD expects; v6 (the default) sends the 8-byte reply and
 * -KVM_EOPNOTSUPP.  Every message the event loop uses is the same in both.
 *
 * Usage: bench-kernel-host --connect PATH [--vcpus N] [--warmup N]
 *                          [--dialect v6|v7] [--timeout-ms N]
 *                          [--guests N] [--slow-guests K --slow-ms D]
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <kvmi/wire.h>

#include "bench_util.h"

#define MAX_VCPUS    256
#define MAX_GUESTS   4096
#define MAX_SAMPLES  (4u << 20)
#define SLOW_SAMPLES (64u << 10)
#define STACK_BYTES  (64 * 1024)

/* a vCPU's state: REPLIED (also at start) -> WAITING (its event sent) ->
 * REPLIED ...; GONE once the connection is over */
enum { V_REPLIED = 0, V_WAITING = 1, V_GONE = 2 };
enum { GO_WAIT = 0, GO_RUN = 1, GO_ABORT = 2 };

struct guest;

struct vcpu {
	struct guest *g;
	pthread_t thread;
	unsigned int index;
	int event_on, cr3_on; /* written by the receive thread */
	int enabled;	      /* both were on once (receive thread) */
	atomic_uint ready;    /* futex: 1 when both are on, 2 when gone */
	atomic_uint state;    /* futex: V_WAITING / V_REPLIED / V_GONE */
	uint32_t seq;	      /* of the event it waits for */
	uint64_t sent_ns;
	uint64_t cr3;
};

/* one connection: a guest with its receive thread and vCPU threads */
struct guest {
	int fd;
	int slow; /* delays every command reply once its vCPUs run */
	pthread_t rx;
	pthread_mutex_t write_lock;
	atomic_uint seq;
	int replies_off; /* CONTROL_CMD_RESPONSE state (receive thread) */
	struct vcpu *vcpus;
	/* receive thread only */
	unsigned int running; /* vCPUs the tool has enabled */
	long replied;
	long delayed; /* command replies sent late (slow guest) */
	char body[KVMI_HOST_MSG_SIZE_VALUE];
};

/* what every guest shares; the receive threads update it */
struct samples {
	uint32_t *v;
	size_t cap;
	atomic_size_t n;
};

static struct {
	unsigned int nvcpus, nguests, nslow, slow_ms;
	int v7, multi;
	long warmup;
	struct guest *guests;
	atomic_uint running; /* vCPUs enabled, every guest */
	atomic_long replied; /* event replies, every guest */
	atomic_long timed;   /* of them, since the timing started */
	atomic_int timing;
	atomic_uint go;	     /* more guests: GO_WAIT, then GO_RUN or GO_ABORT */
	atomic_uint started; /* guests whose threads run (set by main) */
	_Atomic uint64_t t_first, t_last;
	struct samples lat, slow_lat;
	_Atomic(const char *) error;
} H;

static void set_error(const char *what)
{
	const char *none = NULL;

	atomic_compare_exchange_strong(&H.error, &none, what);
}

static long futex(atomic_uint *addr, int op, unsigned int val)
{
	return syscall(SYS_futex, (unsigned int *)addr, op, val, NULL, NULL, 0);
}

static void wait_while(atomic_uint *addr, unsigned int val)
{
	while (atomic_load(addr) == val)
		if (futex(addr, FUTEX_WAIT_PRIVATE, val) < 0 &&
		    errno != EAGAIN && errno != EINTR)
			break;
}

static void set_wake(atomic_uint *addr, unsigned int val)
{
	atomic_store(addr, val);
	futex(addr, FUTEX_WAKE_PRIVATE, 1);
}

/* one message, one write, under the socket's write lock as the kernel's
 * kvmi_sock_write does (SIGPIPE is ignored: a closed socket is EPIPE) */
static int send_msg(struct guest *g, const void *buf, size_t len)
{
	int err;

	pthread_mutex_lock(&g->write_lock);
	err = bench_write_all(g->fd, buf, len);
	pthread_mutex_unlock(&g->write_lock);
	return err;
}

static int read_full(struct guest *g, void *buf, size_t len)
{
	return bench_read_all(g->fd, buf, len);
}

static void *vcpu_main(void *arg)
{
	struct vcpu *v = arg;
	struct {
		struct kvmi_msg_hdr hdr;
		struct kvmi_event common;
		struct kvmi_event_cr cr;
	} m;

	wait_while(&v->ready, 0);
	if (atomic_load(&v->ready) != 1)
		return NULL;
	if (H.nguests > 1) {
		wait_while(&H.go, GO_WAIT);
		if (atomic_load(&H.go) != GO_RUN)
			return NULL;
	}
	memset(&m, 0, sizeof(m));
	m.hdr.id = KVMI_EVENT;
	m.hdr.size = sizeof(m) - sizeof(m.hdr);
	m.common.size = sizeof(m.common);
	m.common.vcpu = (__u16)v->index;
	m.common.event = KVMI_EVENT_CR;
	m.common.arch.mode = 8;
	m.common.arch.regs.rip = 0xffffffff81000000ull;
	m.cr.cr = 3;
	v->cr3 = 0x1000000ull + 0x100000ull * v->index;
	for (;;) {
		unsigned int idle = V_REPLIED;

		m.cr.old_value = v->cr3;
		v->cr3 ^= 0x1000; /* a CR3 write that changes the value */
		m.cr.new_value = v->cr3;
		m.common.arch.sregs.cr3 = m.cr.old_value;
		v->seq = atomic_fetch_add(&v->g->seq, 1) + 1;
		m.hdr.seq = v->seq;
		if (!atomic_compare_exchange_strong(&v->state, &idle,
						    V_WAITING))
			return NULL; /* gone */
		v->sent_ns = bench_now_ns();
		if (send_msg(v->g, &m, sizeof(m)))
			return NULL;
		wait_while(&v->state, V_WAITING);
		if (atomic_load(&v->state) == V_GONE)
			return NULL;
	}
}

static int reply(struct guest *g, const struct kvmi_msg_hdr *req, int err,
		 const void *data, size_t len)
{
	struct {
		struct kvmi_msg_hdr hdr;
		struct kvmi_error_code ec;
		char data[64];
	} r;

	memset(&r, 0, sizeof(r));
	if (err)
		len = 0;
	r.hdr.id = req->id;
	r.hdr.seq = req->seq;
	r.hdr.size = (__u16)(sizeof(r.ec) + len);
	r.ec.err = err;
	memcpy(r.data, data, len);
	return send_msg(g, &r, sizeof(r.hdr) + sizeof(r.ec) + len);
}

static struct vcpu *vcpu_of(struct guest *g, const void *body, size_t size)
{
	const struct kvmi_vcpu_hdr *vh = body;

	if (size < sizeof(*vh) || vh->vcpu >= H.nvcpus)
		return NULL;
	return &g->vcpus[vh->vcpu];
}

static void enable_check(struct guest *g, struct vcpu *v)
{
	if (!v->event_on || !v->cr3_on || v->enabled)
		return;
	v->enabled = 1;
	g->running++;
	if (H.nguests == 1) {
		atomic_fetch_add(&H.running, 1);
		set_wake(&v->ready, 1);
		return;
	}
	/* more guests: every vCPU starts once the tool has enabled them all
	 * (as if they had all booted), so that the warm-up and the timing
	 * see every guest running */
	set_wake(&v->ready, 1);
	if (atomic_fetch_add(&H.running, 1) + 1 == H.nguests * H.nvcpus) {
		/* one futex word: every vCPU wakes at once */
		atomic_store(&H.go, GO_RUN);
		futex(&H.go, FUTEX_WAKE_PRIVATE, INT_MAX);
	}
}

static void sample(struct samples *s, uint64_t ns)
{
	size_t i = atomic_fetch_add(&s->n, 1);

	if (i < s->cap)
		s->v[i] = (uint32_t)(ns > UINT32_MAX ? UINT32_MAX : ns);
}

/* one more event answered (any guest): the timing starts with the
 * warm-up's last event once every vCPU runs; every later one is timed */
static void count_reply(struct guest *g, uint64_t now, uint64_t ns)
{
	long r = atomic_fetch_add(&H.replied, 1) + 1;
	uint64_t last;
	int off = 0;

	g->replied++;
	if (!atomic_load(&H.timing)) {
		if (r >= H.warmup &&
		    atomic_load(&H.running) == H.nguests * H.nvcpus &&
		    atomic_compare_exchange_strong(&H.timing, &off, 1))
			atomic_store(&H.t_first, now);
		return;
	}
	atomic_fetch_add(&H.timed, 1);
	last = atomic_load(&H.t_last);
	while (last < now &&
	       !atomic_compare_exchange_weak(&H.t_last, &last, now))
		;
	sample(g->slow ? &H.slow_lat : &H.lat, ns);
}

static int on_event_reply(struct guest *g, const struct kvmi_msg_hdr *hdr,
			  const char *body)
{
	const struct kvmi_event_reply *er =
	    (const void *)(body + sizeof(struct kvmi_vcpu_hdr));
	struct vcpu *v = vcpu_of(g, body, hdr->size);
	uint64_t now = bench_now_ns();

	if (!v || hdr->size < 16 || atomic_load(&v->state) != V_WAITING ||
	    hdr->seq != v->seq) {
		set_error("an event reply for no waiting vCPU, or with a seq "
			  "it does not wait for");
		return -1;
	}
	if (er->event != KVMI_EVENT_CR ||
	    er->action != KVMI_EVENT_ACTION_CONTINUE) {
		set_error("an event reply that is not CONTINUE for a CR event");
		return -1;
	}
	count_reply(g, now, now - v->sent_ns);
	set_wake(&v->state, V_REPLIED);
	return 0;
}

/* a command: answer it (unless replies are off), as the receive thread */
static int on_command(struct guest *g, const struct kvmi_msg_hdr *hdr,
		      const char *body)
{
	int unknown = H.v7 ? -KVM_ENOSYS : -KVM_EOPNOTSUPP;
	int off = g->replies_off, err = 0;
	struct vcpu *v = NULL;
	char data[16];
	size_t len = 0;

	memset(data, 0, sizeof(data));
	switch (hdr->id) {
	case KVMI_GET_VERSION: {
		struct kvmi_get_version_reply r = {.version = KVMI_VERSION};

		memcpy(data, &r, sizeof(r));
		len = H.v7 ? 16 : sizeof(r);
		break;
	}
	case KVMI_CHECK_COMMAND:
	case KVMI_CHECK_EVENT:
		break;
	case KVMI_GET_GUEST_INFO: {
		struct kvmi_get_guest_info_reply r = {.vcpu_count = H.nvcpus};

		memcpy(data, &r, sizeof(r));
		len = sizeof(r);
		break;
	}
	case KVMI_GET_VCPU_INFO: {
		struct kvmi_get_vcpu_info_reply r = {.tsc_speed =
							 2000000000ull};

		if (!vcpu_of(g, body, hdr->size))
			err = -KVM_EINVAL;
		memcpy(data, &r, sizeof(r));
		len = sizeof(r);
		break;
	}
	case KVMI_CONTROL_VM_EVENTS:
		break;
	case KVMI_CONTROL_EVENTS:
	case KVMI_CONTROL_CR:
	case KVMI_CONTROL_MSR:
		v = vcpu_of(g, body, hdr->size);
		if (!v || hdr->size < 16) {
			err = -KVM_EINVAL;
			break;
		}
		if (hdr->id == KVMI_CONTROL_EVENTS) {
			const struct kvmi_control_events *c =
			    (const void *)(body + 8);

			if (c->event_id == KVMI_EVENT_CR)
				v->event_on = c->enable != 0;
		} else if (hdr->id == KVMI_CONTROL_CR) {
			const struct kvmi_control_cr *c =
			    (const void *)(body + 8);

			if (c->cr == 3)
				v->cr3_on = c->enable != 0;
		}
		break;
	case KVMI_CONTROL_CMD_RESPONSE: {
		const struct kvmi_control_cmd_response *c = (const void *)body;

		if (hdr->size < sizeof(*c)) {
			set_error("a short CONTROL_CMD_RESPONSE");
			return -1;
		}
		g->replies_off = !c->enable;
		if (c->now == 1)
			off = g->replies_off;
		break;
	}
	default:
		err = unknown;
		break;
	}
	if (off && len && !err) {
		set_error("a command that returns data while replies are off");
		return -1;
	}
	if ((!off || err == unknown) && g->slow && g->running == H.nvcpus) {
		/* a slow host: late with every reply once its vCPUs run */
		struct timespec d = {H.slow_ms / 1000,
				     (long)(H.slow_ms % 1000) * 1000000};

		while (nanosleep(&d, &d) && errno == EINTR)
			;
		g->delayed++;
	}
	/* the reply first, then the vCPU runs (as the kernel's vCPU thread
	 * replies to its command before it enters the guest again) */
	/* a reply that cannot be written (the tool has closed: a slow
	 * host's late reply) ends nothing: the read sees the end, after the
	 * event replies the tool wrote before it closed */
	if (!off || err == unknown)
		reply(g, hdr, err, data, len);
	if (v)
		enable_check(g, v);
	return 0;
}

static void *receive_main(void *arg)
{
	struct guest *g = arg;
	char *body = g->body;
	struct kvmi_msg_hdr hdr;

	for (;;) {
		if (read_full(g, &hdr, sizeof(hdr)))
			break; /* the tool closed the connection */
		if (hdr.size > KVMI_MSG_SIZE_VALUE) {
			set_error("a message larger than 8184 bytes");
			break;
		}
		if (read_full(g, body, hdr.size)) {
			set_error("the connection ended inside a message");
			break;
		}
		if (hdr.id == KVMI_EVENT_REPLY ? on_event_reply(g, &hdr, body)
					       : on_command(g, &hdr, body))
			break;
	}
	/* release every vCPU, as the kernel does when the socket dies */
	shutdown(g->fd, SHUT_RDWR);
	if (H.nguests > 1) {
		unsigned int wait = GO_WAIT;

		/* gone before every guest ran: the run is off, for all */
		if (atomic_compare_exchange_strong(&H.go, &wait, GO_ABORT)) {
			set_error("a close before every guest's vCPUs ran");
			futex(&H.go, FUTEX_WAKE_PRIVATE, INT_MAX);
			for (unsigned int i = 0; i < atomic_load(&H.started);
			     i++)
				shutdown(H.guests[i].fd, SHUT_RDWR);
		}
	}
	for (unsigned int i = 0; i < H.nvcpus; i++) {
		set_wake(&g->vcpus[i].ready, 2);
		set_wake(&g->vcpus[i].state, V_GONE);
	}
	return NULL;
}

static int connect_retry(const char *path, unsigned int timeout_ms)
{
	uint64_t end = bench_now_ns() + (uint64_t)timeout_ms * 1000000u;
	struct sockaddr_un sa;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "bench-kernel-host: socket path too long\n");
		return -1;
	}
	strcpy(sa.sun_path, path);
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct timespec ms = {0, 1000000};

		if (fd < 0)
			return -1;
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			return fd;
		close(fd);
		/* the tool has not listened yet: QEMU's reconnect=N waits
		 * too; a benchmark start-up, not a synchronization */
		if ((errno != ENOENT && errno != ECONNREFUSED) ||
		    bench_now_ns() > end) {
			fprintf(stderr, "bench-kernel-host: connect %s: %s\n",
				path, strerror(errno));
			return -1;
		}
		nanosleep(&ms, NULL);
	}
}

static int handshake(struct guest *g)
{
	struct kvmi_qemu2introspector q;
	char rest[256];
	uint32_t size;

	memset(&q, 0, sizeof(q));
	q.struct_size = sizeof(q);
	memset(q.uuid, 0xab, sizeof(q.uuid));
	q.start_time = 1700000000;
	snprintf(q.name, sizeof(q.name), "bench-kernel-host");
	if (send_msg(g, &q, sizeof(q)) || read_full(g, &size, sizeof(size)))
		return -1;
	if (size < sizeof(struct kvmi_introspector2qemu)) {
		fprintf(stderr,
			"bench-kernel-host: the tool's handshake struct_size "
			"%u is below 24\n",
			size);
		return -1;
	}
	for (size -= 4; size;) {
		size_t n = size < sizeof(rest) ? size : sizeof(rest);

		if (read_full(g, rest, n))
			return -1;
		size -= (uint32_t)n;
	}
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* the samples kept, sorted */
static size_t sorted(struct samples *s)
{
	size_t n = atomic_load(&s->n);

	if (n > s->cap)
		n = s->cap;
	qsort(s->v, n, sizeof(*s->v), cmp_u32);
	return n;
}

static double pct(const struct samples *s, size_t n, double p)
{
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);

	return n ? (double)s->v[i] : 0;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s --connect PATH [--vcpus N (1..%d)] [--warmup N] "
		"[--dialect v6|v7] [--timeout-ms N] [--guests N (1..%d)] "
		"[--slow-guests K (0..guests) --slow-ms D (1..60000)]\n",
		prog, MAX_VCPUS, MAX_GUESTS);
	exit(2);
}

/* a bad value: say which argument, then the usage */
static void bad_arg(const char *prog, const char *arg, const char *why)
{
	fprintf(stderr, "%s: %s %s\n", prog, arg, why);
	usage(prog);
}

/* guest @g: connect, handshake, then its vCPU and receive threads */
static int guest_start(struct guest *g, const char *path,
		       unsigned int timeout_ms, const pthread_attr_t *attr)
{
	pthread_mutex_init(&g->write_lock, NULL);
	g->vcpus = calloc(H.nvcpus, sizeof(*g->vcpus));
	if (!g->vcpus)
		return -1;
	g->fd = connect_retry(path, timeout_ms);
	if (g->fd < 0)
		return -1;
	if (handshake(g)) {
		fprintf(stderr, "bench-kernel-host: handshake failed\n");
		return -1;
	}
	for (unsigned int i = 0; i < H.nvcpus; i++) {
		g->vcpus[i].g = g;
		g->vcpus[i].index = i;
		if (pthread_create(&g->vcpus[i].thread, attr, vcpu_main,
				   &g->vcpus[i])) {
			fprintf(stderr, "bench-kernel-host: no thread\n");
			return -1;
		}
	}
	return pthread_create(&g->rx, attr, receive_main, g) ? -1 : 0;
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	unsigned int timeout_ms = 10000;
	long guests = 1, slow = 0, slow_ms = 0, min_answered = -1;
	long delayed = 0, slow_answered = 0;
	pthread_attr_t attr;
	size_t n, ns;
	int vcpus = 1;

	H.warmup = 2000;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--connect") && i + 1 < argc)
			path = argv[++i];
		else if (!strcmp(argv[i], "--vcpus") && i + 1 < argc)
			vcpus = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--warmup") && i + 1 < argc)
			H.warmup = atol(argv[++i]);
		else if (!strcmp(argv[i], "--timeout-ms") && i + 1 < argc)
			timeout_ms = (unsigned int)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--guests") && i + 1 < argc) {
			guests = atol(argv[++i]);
			H.multi = 1;
		} else if (!strcmp(argv[i], "--slow-guests") && i + 1 < argc) {
			slow = atol(argv[++i]);
			H.multi = 1;
		} else if (!strcmp(argv[i], "--slow-ms") && i + 1 < argc)
			slow_ms = atol(argv[++i]);
		else if (!strcmp(argv[i], "--dialect") && i + 1 < argc) {
			i++;
			if (!strcmp(argv[i], "v7"))
				H.v7 = 1;
			else if (strcmp(argv[i], "v6"))
				usage(argv[0]);
		} else
			usage(argv[0]);
	}
	if (!path || vcpus < 1 || vcpus > MAX_VCPUS || H.warmup < 1)
		usage(argv[0]);
	if (guests < 1 || guests > MAX_GUESTS)
		bad_arg(argv[0], "--guests", "must be 1..4096");
	if (slow < 0 || slow > guests)
		bad_arg(argv[0], "--slow-guests", "must be 0..--guests");
	if (slow && (slow_ms < 1 || slow_ms > 60000))
		bad_arg(argv[0], "--slow-ms",
			"must be 1..60000 with "
			"--slow-guests");
	if (!slow && slow_ms)
		bad_arg(argv[0], "--slow-ms", "needs --slow-guests");
	H.nvcpus = (unsigned int)vcpus;
	H.nguests = (unsigned int)guests;
	H.nslow = (unsigned int)slow;
	H.slow_ms = (unsigned int)slow_ms;
	signal(SIGPIPE, SIG_IGN);
	if (H.nguests > 1)
		bench_raise_nofile();
	H.lat.cap = MAX_SAMPLES;
	H.lat.v = malloc(MAX_SAMPLES * sizeof(*H.lat.v));
	H.slow_lat.cap = SLOW_SAMPLES;
	H.slow_lat.v = malloc(SLOW_SAMPLES * sizeof(*H.slow_lat.v));
	H.guests = calloc(H.nguests, sizeof(*H.guests));
	if (!H.lat.v || !H.slow_lat.v || !H.guests)
		return 1;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, STACK_BYTES);
	for (unsigned int i = 0; i < H.nguests; i++) {
		H.guests[i].slow = i < H.nslow;
		if (atomic_load(&H.go) == GO_ABORT)
			break; /* an earlier guest's connection is gone */
		if (guest_start(&H.guests[i], path, timeout_ms, &attr)) {
			fprintf(stderr,
				"bench-kernel-host: guest %u of %u did "
				"not start\n",
				i + 1, H.nguests);
			return 1;
		}
		atomic_fetch_add(&H.started, 1);
	}
	for (unsigned int i = 0; i < atomic_load(&H.started); i++) {
		struct guest *g = &H.guests[i];

		pthread_join(g->rx, NULL);
		for (unsigned int j = 0; j < H.nvcpus; j++)
			pthread_join(g->vcpus[j].thread, NULL);
		close(g->fd);
		if (min_answered < 0 || g->replied < min_answered)
			min_answered = g->replied;
		delayed += g->delayed;
		if (g->slow)
			slow_answered += g->replied;
	}
	if (H.error) {
		fprintf(stderr, "bench-kernel-host: the tool sent %s\n",
			atomic_load(&H.error));
		return 1;
	}
	if (!atomic_load(&H.timed)) {
		fprintf(stderr,
			"bench-kernel-host: only %ld events answered (warm-up "
			"%ld)\n",
			atomic_load(&H.replied), H.warmup);
		return 1;
	}
	n = sorted(&H.lat);
	ns = sorted(&H.slow_lat);
	printf("kernel-host vcpus=%u dialect=%s answered=%ld "
	       "host_events_per_s=%.0f lat_p50_ns=%.0f lat_p99_ns=%.0f "
	       "lat_p999_ns=%.0f",
	       H.nvcpus, H.v7 ? "v7" : "v6", atomic_load(&H.replied),
	       (double)atomic_load(&H.timed) * 1e9 /
		   (double)(atomic_load(&H.t_last) - atomic_load(&H.t_first)),
	       pct(&H.lat, n, 0.50), pct(&H.lat, n, 0.99),
	       pct(&H.lat, n, 0.999));
	if (H.multi)
		printf(" guests=%u answered_min=%ld samples=%zu", H.nguests,
		       min_answered, n);
	if (H.nslow)
		printf(" slow_guests=%u slow_ms=%u slow_answered=%ld "
		       "slow_replies_delayed=%ld slow_samples=%zu "
		       "slow_lat_p50_ns=%.0f slow_lat_p99_ns=%.0f",
		       H.nslow, H.slow_ms, slow_answered, delayed, ns,
		       pct(&H.slow_lat, ns, 0.50), pct(&H.slow_lat, ns, 0.99));
	printf("\n");
	return 0;
}
