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
 * --dialect v7 answers GET_VERSION with the 16-byte kvmi-v7 reply
 * (version 1, an all-zero feature block) and unknown ids with
 * -KVM_ENOSYS (KVMI-V7.md sec. 2, 9, 13), which is what Bitdefender's
 * libkvmi HEAD expects; v6 (the default) sends the 8-byte reply and
 * -KVM_EOPNOTSUPP.  Every message the event loop uses is the same in both.
 *
 * Usage: bench-kernel-host --connect PATH [--vcpus N] [--warmup N]
 *                          [--dialect v6|v7] [--timeout-ms N]
 */
#include <errno.h>
#include <inttypes.h>
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

#define MAX_VCPUS   256
#define MAX_SAMPLES (4u << 20)

/* a vCPU's state: REPLIED (also at start) -> WAITING (its event sent) ->
 * REPLIED ...; GONE once the connection is over */
enum { V_REPLIED = 0, V_WAITING = 1, V_GONE = 2 };

struct vcpu {
	pthread_t thread;
	unsigned int index;
	int event_on, cr3_on; /* written by the receive thread */
	atomic_uint ready;    /* futex: 1 when both are on, 2 when gone */
	atomic_uint state;    /* futex: V_WAITING / V_REPLIED / V_GONE */
	uint32_t seq;	      /* of the event it waits for */
	uint64_t sent_ns;
	uint64_t cr3;
};

static struct {
	int fd;
	unsigned int nvcpus;
	int v7;
	long warmup;
	pthread_mutex_t write_lock;
	atomic_uint seq;
	int replies_off; /* CONTROL_CMD_RESPONSE state (receive thread) */
	struct vcpu vcpus[MAX_VCPUS];
	/* receive thread only */
	long replied;
	uint64_t t_first, t_last;
	uint32_t *lat;
	size_t nlat;
	const char *error;
} H;

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
static int send_msg(const void *buf, size_t len)
{
	int err;

	pthread_mutex_lock(&H.write_lock);
	err = bench_write_all(H.fd, buf, len);
	pthread_mutex_unlock(&H.write_lock);
	return err;
}

static int read_full(void *buf, size_t len)
{
	return bench_read_all(H.fd, buf, len);
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
		v->seq = atomic_fetch_add(&H.seq, 1) + 1;
		m.hdr.seq = v->seq;
		if (!atomic_compare_exchange_strong(&v->state, &idle,
						    V_WAITING))
			return NULL; /* gone */
		v->sent_ns = bench_now_ns();
		if (send_msg(&m, sizeof(m)))
			return NULL;
		wait_while(&v->state, V_WAITING);
		if (atomic_load(&v->state) == V_GONE)
			return NULL;
	}
}

static int reply(const struct kvmi_msg_hdr *req, int err, const void *data,
		 size_t len)
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
	return send_msg(&r, sizeof(r.hdr) + sizeof(r.ec) + len);
}

static struct vcpu *vcpu_of(const void *body, size_t size)
{
	const struct kvmi_vcpu_hdr *vh = body;

	if (size < sizeof(*vh) || vh->vcpu >= H.nvcpus)
		return NULL;
	return &H.vcpus[vh->vcpu];
}

static void enable_check(struct vcpu *v)
{
	if (v->event_on && v->cr3_on && !atomic_load(&v->ready))
		set_wake(&v->ready, 1);
}

static int on_event_reply(const struct kvmi_msg_hdr *hdr, const char *body)
{
	const struct kvmi_event_reply *er =
	    (const void *)(body + sizeof(struct kvmi_vcpu_hdr));
	struct vcpu *v = vcpu_of(body, hdr->size);
	uint64_t now = bench_now_ns();

	if (!v || hdr->size < 16 || atomic_load(&v->state) != V_WAITING ||
	    hdr->seq != v->seq) {
		H.error = "an event reply for no waiting vCPU, or with a seq "
			  "it does not wait for";
		return -1;
	}
	if (er->event != KVMI_EVENT_CR ||
	    er->action != KVMI_EVENT_ACTION_CONTINUE) {
		H.error = "an event reply that is not CONTINUE for a CR event";
		return -1;
	}
	H.replied++;
	if (H.replied == H.warmup)
		H.t_first = now;
	if (H.replied > H.warmup) {
		H.t_last = now;
		if (H.nlat < MAX_SAMPLES)
			H.lat[H.nlat++] =
			    (uint32_t)(now - v->sent_ns > UINT32_MAX
					   ? UINT32_MAX
					   : now - v->sent_ns);
	}
	set_wake(&v->state, V_REPLIED);
	return 0;
}

/* a command: answer it (unless replies are off), as the receive thread */
static int on_command(const struct kvmi_msg_hdr *hdr, const char *body)
{
	int unknown = H.v7 ? -KVM_ENOSYS : -KVM_EOPNOTSUPP;
	int off = H.replies_off, err = 0;
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

		if (!vcpu_of(body, hdr->size))
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
		v = vcpu_of(body, hdr->size);
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
			H.error = "a short CONTROL_CMD_RESPONSE";
			return -1;
		}
		H.replies_off = !c->enable;
		if (c->now == 1)
			off = H.replies_off;
		break;
	}
	default:
		err = unknown;
		break;
	}
	if (off && len && !err) {
		H.error = "a command that returns data while replies are off";
		return -1;
	}
	/* the reply first, then the vCPU runs (as the kernel's vCPU thread
	 * replies to its command before it enters the guest again) */
	if ((!off || err == unknown) && reply(hdr, err, data, len))
		return -1;
	if (v)
		enable_check(v);
	return 0;
}

static void *receive_main(void *arg)
{
	static char body[KVMI_HOST_MSG_SIZE_VALUE];
	struct kvmi_msg_hdr hdr;

	(void)arg;
	for (;;) {
		if (read_full(&hdr, sizeof(hdr)))
			break; /* the tool closed the connection */
		if (hdr.size > KVMI_MSG_SIZE_VALUE) {
			H.error = "a message larger than 8184 bytes";
			break;
		}
		if (read_full(body, hdr.size)) {
			H.error = "the connection ended inside a message";
			break;
		}
		if (hdr.id == KVMI_EVENT_REPLY ? on_event_reply(&hdr, body)
					       : on_command(&hdr, body))
			break;
	}
	/* release every vCPU, as the kernel does when the socket dies */
	shutdown(H.fd, SHUT_RDWR);
	for (unsigned int i = 0; i < H.nvcpus; i++) {
		set_wake(&H.vcpus[i].ready, 2);
		set_wake(&H.vcpus[i].state, V_GONE);
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

static int handshake(void)
{
	struct kvmi_qemu2introspector q;
	char rest[256];
	uint32_t size;

	memset(&q, 0, sizeof(q));
	q.struct_size = sizeof(q);
	memset(q.uuid, 0xab, sizeof(q.uuid));
	q.start_time = 1700000000;
	snprintf(q.name, sizeof(q.name), "bench-kernel-host");
	if (send_msg(&q, sizeof(q)) || read_full(&size, sizeof(size)))
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

		if (read_full(rest, n))
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

static double pct(double p)
{
	size_t i = (size_t)(p * (double)(H.nlat - 1) + 0.5);

	return H.nlat ? (double)H.lat[i] : 0;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s --connect PATH [--vcpus N (1..%d)] [--warmup N] "
		"[--dialect v6|v7] [--timeout-ms N]\n",
		prog, MAX_VCPUS);
	exit(2);
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	unsigned int timeout_ms = 10000;
	pthread_t rx;
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
	H.nvcpus = (unsigned int)vcpus;
	signal(SIGPIPE, SIG_IGN);
	H.lat = malloc(MAX_SAMPLES * sizeof(*H.lat));
	pthread_mutex_init(&H.write_lock, NULL);
	if (!H.lat)
		return 1;
	H.fd = connect_retry(path, timeout_ms);
	if (H.fd < 0)
		return 1;
	if (handshake()) {
		fprintf(stderr, "bench-kernel-host: handshake failed\n");
		return 1;
	}
	for (unsigned int i = 0; i < H.nvcpus; i++) {
		H.vcpus[i].index = i;
		if (pthread_create(&H.vcpus[i].thread, NULL, vcpu_main,
				   &H.vcpus[i])) {
			fprintf(stderr, "bench-kernel-host: no thread\n");
			return 1;
		}
	}
	if (pthread_create(&rx, NULL, receive_main, NULL))
		return 1;
	pthread_join(rx, NULL);
	for (unsigned int i = 0; i < H.nvcpus; i++)
		pthread_join(H.vcpus[i].thread, NULL);
	close(H.fd);
	if (H.error) {
		fprintf(stderr, "bench-kernel-host: the tool sent %s\n",
			H.error);
		return 1;
	}
	if (H.replied <= H.warmup) {
		fprintf(stderr,
			"bench-kernel-host: only %ld events answered (warm-up "
			"%ld)\n",
			H.replied, H.warmup);
		return 1;
	}
	qsort(H.lat, H.nlat, sizeof(*H.lat), cmp_u32);
	printf("kernel-host vcpus=%u dialect=%s answered=%ld "
	       "host_events_per_s=%.0f lat_p50_ns=%.0f lat_p99_ns=%.0f "
	       "lat_p999_ns=%.0f\n",
	       H.nvcpus, H.v7 ? "v7" : "v6", H.replied,
	       (double)(H.replied - H.warmup) * 1e9 /
		   (double)(H.t_last - H.t_first),
	       pct(0.50), pct(0.99), pct(0.999));
	return 0;
}
