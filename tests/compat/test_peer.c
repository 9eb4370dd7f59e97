/*
 * libkvmi - tests/compat/test_peer.c: the 1.x layer against a scripted
 * host in a child process (built with the native codec, so this file also
 * includes <libkvmi.h> and <kvmi/codec.h> together), for what
 * kvmi-fakehost does not produce: a v6 TRAP event converted into the 1.x
 * trap layout, and a host that speaks the Bitdefender extension (16-byte
 * version reply with features), whose extension commands are sent and
 * answered.  The peer checks what the tool sent and exits 0 when all of
 * it was right.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <kvmi/codec.h>
#include <libkvmi.h>
#include "host_encoder.h"

/* ---- the scripted host (child) ---- */

struct host {
	int fd;
	uint32_t seq;
};

/* one tool->host message, framed by hand (the codec's decoder refuses
 * extension ids, which this host must see) */
struct raw {
	struct kvmi_msg_hdr hdr;
	uint8_t body[KVMI_MSG_SIZE_VALUE];
};

static int send_all(int fd, const void *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w <= 0)
			return -1;
		p = (const uint8_t *)p + w;
		n -= (size_t)w;
	}
	return 0;
}

/* the next message into @m; 0 at EOF or on a malformed header */
static int next(struct host *h, struct raw *m)
{
	if (recv(h->fd, &m->hdr, sizeof(m->hdr), MSG_WAITALL) !=
		(ssize_t)sizeof(m->hdr) ||
	    m->hdr.size > sizeof(m->body))
		return 0;
	return m->hdr.size == 0 ||
	       recv(h->fd, m->body, m->hdr.size, MSG_WAITALL) == m->hdr.size;
}

static void reply(struct host *h, const struct raw *m, const void *data,
		  size_t len)
{
	uint8_t buf[KVMI_ENCODE_MAX];
	int n = kvmi_encode_reply(buf, sizeof(buf), m->hdr.id, m->hdr.seq, 0,
				  data, len);

	if (n > 0)
		send_all(h->fd, buf, (size_t)n);
}

/* a v6 TRAP event on vCPU 0: vector 14, type 3, error 7, cr2 0xdead000 */
static void send_trap(struct host *h)
{
	struct kvmi_event common;
	struct kvmi_event_trap t = {
	    .vector = 14, .type = 3, .error_code = 7, .cr2 = 0xdead000};
	uint8_t buf[KVMI_ENCODE_MAX];
	int n;

	memset(&common, 0, sizeof(common));
	common.event = KVMI_EVENT_TRAP;
	common.arch.mode = 8;
	n = kvmi_encode_event(buf, sizeof(buf), h->seq++, &common,
			      sizeof(common), &t, sizeof(t));
	if (n > 0)
		send_all(h->fd, buf, (size_t)n);
}

/* @ext: answer GET_VERSION with the extension's feature block */
static int host_main(const char *path, int ext)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct kvmi_qemu2introspector q;
	struct kvmi_introspector2qemu r;
	struct host h = {.seq = 100};
	static struct raw m;
	int want = ext ? 2 : 1, got = 0;

	h.fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (connect(h.fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return 10;
	memset(&q, 0, sizeof(q));
	q.struct_size = sizeof(q);
	q.start_time = 42;
	snprintf(q.name, sizeof(q.name), "scripted");
	if (send_all(h.fd, &q, sizeof(q)) ||
	    recv(h.fd, &r, sizeof(r), MSG_WAITALL) != sizeof(r))
		return 11;
	while (next(&h, &m)) {
		uint8_t ver[16] = {1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0};
		struct kvmi_get_guest_info_reply gi = {.vcpu_count = 1};
		uint64_t gfn = 0x1234;

		switch (m.hdr.id) {
		case KVMI_EVENT_REPLY:
			/* the trap's reply: vcpu header, CONTINUE, TRAP */
			if (!ext && m.hdr.size == 16 &&
			    m.body[8] == KVMI_EVENT_ACTION_CONTINUE &&
			    m.body[9] == KVMI_EVENT_TRAP)
				got++;
			break;
		case KVMI_GET_VERSION:
			reply(&h, &m, ver, ext ? 16 : 8);
			break;
		case KVMI_GET_GUEST_INFO:
			reply(&h, &m, &gi, sizeof(gi));
			break;
		case KVMI_CONTROL_EVENTS:
			reply(&h, &m, NULL, 0);
			if (!ext)
				send_trap(&h);
			break;
		case KVMI_EXT_VCPU_CONTROL_SINGLESTEP:
			/* vcpu header for vCPU 0, then enable = 1 */
			if (ext && m.hdr.size == 16 && m.body[0] == 0 &&
			    m.body[8] == 1)
				got++;
			reply(&h, &m, NULL, 0);
			break;
		case KVMI_EXT_GET_NEXT_AVAILABLE_GFN:
			/* a VM command without a body */
			if (ext && m.hdr.size == 0)
				got++;
			reply(&h, &m, &gfn, sizeof(gfn));
			break;
		default:
			reply(&h, &m, NULL, 0);
		}
	}
	return got == want ? 0 : 12;
}

/* ---- the tool (this process) ---- */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static void *the_dom;

static int new_guest(void *dom, unsigned char (*uuid)[16], void *ctx)
{
	(void)uuid;
	(void)ctx;
	pthread_mutex_lock(&lock);
	the_dom = dom;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	return 0;
}

/* listen, start the host, return the domain */
static void *start(char *dir, char *path, size_t cap, pid_t *child, void **ctx,
		   int ext)
{
	struct timespec until;
	void *dom;

	strcpy(dir, "/tmp/kvmi-peer-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, cap, "%s/sock", dir);
	the_dom = NULL;
	*ctx = kvmi_init_unix_socket(path, new_guest, NULL, NULL);
	assert_non_null(*ctx);
	*child = fork();
	assert_true(*child >= 0);
	if (*child == 0)
		_exit(host_main(path, ext));
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&lock);
	while (!the_dom && pthread_cond_timedwait(&cond, &lock, &until) == 0)
		;
	dom = the_dom;
	pthread_mutex_unlock(&lock);
	assert_non_null(dom);
	return dom;
}

static void finish(char *dir, char *path, pid_t child, void *ctx, void *dom)
{
	int status = -1;

	kvmi_domain_close(dom, true);
	assert_int_equal(waitpid(child, &status, 0), child);
	kvmi_uninit(ctx);
	unlink(path);
	rmdir(dir);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_v6_trap_in_1x_layout(void **state)
{
	char dir[64], path[128];
	struct kvmi_dom_event *ev = NULL;
	struct {
		struct kvmi_vcpu_hdr hdr;
		struct kvmi_event_reply common;
	} r;
	bool sup = true;
	pid_t child;
	void *ctx, *dom;

	(void)state;
	dom = start(dir, path, sizeof(path), &child, &ctx, 0);
	assert_int_equal(kvmi_spp_support(dom, &sup), 0);
	assert_false(sup);
	assert_int_equal(kvmi_get_starttime(dom), 42);
	assert_int_equal(kvmi_control_events(dom, 0, KVMI_EVENT_TRAP, 1), 0);
	assert_int_equal(kvmi_wait_event(dom, 10000), 0);
	assert_int_equal(kvmi_pop_event(dom, &ev), 0);
	assert_int_equal(ev->event.common.event, KVMI_EVENT_TRAP);
	assert_int_equal(ev->event.trap.vector, 14);
	assert_int_equal(ev->event.trap.error_code, 7);
	assert_int_equal(ev->event.trap.cr2, 0xdead000);
	/* buf: the payload as the host sent it (v6 layout) */
	assert_int_equal(((struct kvmi_event_trap *)(ev->buf + 544))->type, 3);
	memset(&r, 0, sizeof(r));
	r.common.event = KVMI_EVENT_TRAP;
	r.common.action = KVMI_EVENT_ACTION_CONTINUE;
	assert_int_equal(kvmi_reply_event(dom, ev->seq, &r, sizeof(r)), 0);
	free(ev);
	/* no extension on a v6 host */
	assert_int_equal(kvmi_control_singlestep(dom, 0, 1), -1);
	assert_int_equal(errno, EOPNOTSUPP);
	finish(dir, path, child, ctx, dom);
}

static void test_extension_host(void **state)
{
	char dir[64], path[128];
	unsigned long long gfn = 0;
	bool sup = false;
	pid_t child;
	void *ctx, *dom;

	(void)state;
	dom = start(dir, path, sizeof(path), &child, &ctx, 1);
	assert_int_equal(kvmi_spp_support(dom, &sup), 0);
	assert_true(sup);
	assert_int_equal(kvmi_vmfunc_support(dom, &sup), 0);
	assert_false(sup);
	assert_int_equal(kvmi_eptp_support(dom, &sup), 0);
	assert_true(sup);
	assert_int_equal(kvmi_control_singlestep(dom, 0, 1), 0);
	assert_int_equal(kvmi_get_next_available_gfn(dom, &gfn), 0);
	assert_int_equal(gfn, 0x1234);
	finish(dir, path, child, ctx, dom);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_v6_trap_in_1x_layout),
	    cmocka_unit_test(test_extension_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
