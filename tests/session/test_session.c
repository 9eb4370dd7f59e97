/*
 * libkvmi - tests/session/test_session.c: the I/O-less session fed the
 * recorded streams of tests/data/ directly (no socket traffic): replies
 * are matched to the commands the capture's tool side sent (including a
 * batch sent with replies disabled), events are queued in order, and each
 * malformed or hostile stream fails with its own error - whether the bytes
 * come one at a time or split at every offset.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "internal.h"

struct fixture {
	uv_loop_t loop;
	struct kvmi_server *srv;
	struct kvmi_dom *dom;
	int sv[2];
	struct kvmi__waiter w[256];
	uint8_t out[256][64];
	int expect[256]; /* expected result per waiter */
	int nw;
	uint8_t h2t[1 << 16];
	size_t h2t_len;
	int events;
};

static int never(struct kvmi_dom *dom, void *ctx)
{
	(void)dom;
	(void)ctx;
	return 0;
}

static void fx_init(struct fixture *f)
{
	struct kvmi_server_config cfg = {.size = sizeof(cfg),
					 .unix_path = "/nonexistent/x",
					 .new_domain = never};

	memset(f, 0, sizeof(*f));
	assert_int_equal(uv_loop_init(&f->loop), 0);
	assert_int_equal(kvmi_server_new(&f->loop, &cfg, &f->srv), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				    f->sv),
			 0);
	f->dom = kvmi__dom_new(f->srv, f->sv[0]);
	assert_non_null(f->dom);
	f->dom->state = KVMI__DOM_READY;
	f->dom->vcpu_count = 2;
}

static void fx_fini(struct fixture *f)
{
	kvmi_server_shutdown(f->srv);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	kvmi_server_free(f->srv);
	close(f->sv[1]);
	assert_int_equal(uv_loop_close(&f->loop), 0);
}

/* read a capture: register the tool's commands as outstanding, keep the
 * host->tool bytes */
static void load(struct fixture *f, const char *name)
{
	const char *dir = getenv("KVMI_TEST_DATA");
	char path[4096], err[256];
	struct kvmi_capture_reader *r;
	struct kvmi_capture_record rec;
	struct kvmi_decoder *tool = kvmi_decoder_new(KVMI_DIR_TOOL_TO_HOST);
	bool replies_off = false;

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/%s.kvmicap", dir, name);
	assert_int_equal(kvmi_capture_reader_open(path, &r, err, sizeof(err)), 0);
	while (kvmi_capture_reader_next(r, &rec) == 1) {
		const uint8_t *p = rec.data;
		size_t left = rec.len;

		if (rec.type != KVMI_CAPTURE_DATA)
			continue;
		if (rec.dir == KVMI_DIR_HOST_TO_TOOL) {
			assert_true(f->h2t_len + rec.len <= sizeof(f->h2t));
			memcpy(f->h2t + f->h2t_len, rec.data, rec.len);
			f->h2t_len += rec.len;
			continue;
		}
		while (left) {
			const struct kvmi_msg *m;
			ssize_t n = kvmi_decoder_feed(tool, p, left, &m);
			bool optional = replies_off;

			assert_true(n > 0);
			p += n;
			left -= (size_t)n;
			if (!m || m->kind != KVMI_MSG_COMMAND)
				continue;
			if (m->hdr.id == KVMI_CONTROL_CMD_RESPONSE) {
				bool enable = m->u.command.body[0],
				     now = m->u.command.body[1];

				if (!enable && now) {
					replies_off = true;
					continue; /* not answered */
				}
				replies_off = !enable;
				optional = false;
			}
			assert_true(f->nw < 256);
			f->w[f->nw] = (struct kvmi__waiter){
				.out = f->out[f->nw], .out_cap = 64};
			assert_int_equal(kvmi__pending_add(f->dom, m->hdr.id,
							   m->hdr.seq, optional,
							   &f->w[f->nw]),
					 0);
			f->nw++;
		}
	}
	kvmi_capture_reader_free(r);
	kvmi_decoder_free(tool);
}

/* the tool's part: take queued events and reply (release the slot) */
static void drain(struct fixture *f)
{
	while (f->dom->qhead) {
		struct kvmi_event_ctx *ev = f->dom->qhead;

		f->dom->qhead = ev->qnext;
		if (!f->dom->qhead)
			f->dom->qtail = NULL;
		f->dom->queued--;
		kvmi__event_release(ev);
		f->events++;
	}
}

/* feed [0,split) and [split,len) (chunk 0) or `chunk` bytes at a time,
 * draining after each call; the first error */
static int feed(struct fixture *f, size_t split, size_t chunk)
{
	size_t pos = 0;

	while (pos < f->h2t_len) {
		size_t end = chunk ? pos + chunk : (pos < split ? split : f->h2t_len);
		int err;

		if (end > f->h2t_len)
			end = f->h2t_len;
		err = kvmi__session_input(f->dom, f->h2t + pos, end - pos);
		if (err)
			return err;
		drain(f);
		pos = end;
	}
	return 0;
}

static void test_full_session_byte_by_byte(void **state)
{
	struct fixture f;
	int err, done = 0;

	(void)state;
	fx_init(&f);
	load(&f, "full-session");
	err = feed(&f, 0, 1);
	/* the host rejects an event reply in this capture: fatal */
	assert_int_equal(err, KVMI_E_EVENT_REPLY_REJECTED);
	for (int i = 0; i < f.nw; i++)
		done += f.w[i].done;
	/* every command before it was answered; the pipelined batch after
	 * it (three commands sent with replies off and the confirmation)
	 * is still outstanding */
	assert_int_equal(done, f.nw - 4);
	for (int i = f.nw - 4; i < f.nw; i++)
		assert_false(f.w[i].done);
	assert_int_equal(f.events, 12);
	fx_fini(&f);
}

static void test_split_points(void **state)
{
	struct fixture probe;

	(void)state;
	fx_init(&probe);
	load(&probe, "events-during-command");
	fx_fini(&probe);
	for (size_t split = 0; split <= probe.h2t_len; split++) {
		struct fixture f;

		fx_init(&f);
		load(&f, "events-during-command");
		assert_int_equal(feed(&f, split, 0), 0);
		assert_int_equal(f.events, 2);
		assert_int_equal(f.nw, 2);
		assert_true(f.w[0].done && f.w[1].done);
		assert_int_equal(f.w[0].result, 0); /* READ_PHYSICAL */
		assert_int_equal(f.w[0].out_len, 4096);
		assert_int_equal(f.w[1].result, -EAGAIN); /* GET_REGISTERS */
		fx_fini(&f);
	}
}

static void test_malformed_streams(void **state)
{
	static const struct {
		const char *name;
		int err;
	} bad[] = {
		{"bad-oversized", KVMI_E_MSG_TOO_BIG},
		{"bad-common-short", KVMI_E_EVENT_COMMON_SHORT},
		{"bad-common-overrun", KVMI_E_EVENT_COMMON_OVERRUN},
		{"bad-unknown-msg", KVMI_E_UNKNOWN_MSG},
		{"bad-unknown-event", KVMI_E_UNKNOWN_EVENT},
		{"bad-payload-short", KVMI_E_EVENT_PAYLOAD_SHORT},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (size_t chunk = 0; chunk <= 1; chunk++) {
			struct fixture f;

			fx_init(&f);
			load(&f, bad[i].name);
			assert_int_equal(feed(&f, 0, chunk), bad[i].err);
			fx_fini(&f);
		}
	}
}

static void test_larger_and_smaller_hosts(void **state)
{
	static const char *names[] = {"host-larger-common",
				      "host-smaller-common"};

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct fixture f;

		fx_init(&f);
		load(&f, names[i]);
		assert_int_equal(feed(&f, 0, 1), 0);
		assert_int_equal(f.events, 11); /* CR .. SINGLESTEP */
		fx_fini(&f);
	}
}

static void test_unexpected_reply_and_double_event(void **state)
{
	struct fixture f;
	uint8_t buf[1024];
	struct kvmi_event ev;
	int n;

	(void)state;
	fx_init(&f);
	n = kvmi_encode_reply(buf, sizeof(buf), KVMI_GET_VERSION, 77, 0,
			      "\1\0\0\0\0\0\0\0", 8);
	assert_int_equal(kvmi__session_input(f.dom, buf, (size_t)n),
			 KVMI_E_UNEXPECTED_REPLY);
	fx_fini(&f);

	/* a second event for a vCPU whose first is not replied */
	fx_init(&f);
	memset(&ev, 0, sizeof(ev));
	ev.event = KVMI_EVENT_XSETBV;
	n = kvmi_encode_event(buf, sizeof(buf), 1, &ev, sizeof(ev), NULL, 0);
	assert_int_equal(kvmi__session_input(f.dom, buf, (size_t)n), 0);
	n = kvmi_encode_event(buf, sizeof(buf), 2, &ev, sizeof(ev), NULL, 0);
	assert_int_equal(kvmi__session_input(f.dom, buf, (size_t)n), -EPROTO);
	drain(&f);
	fx_fini(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_session_byte_by_byte),
		cmocka_unit_test(test_split_points),
		cmocka_unit_test(test_malformed_streams),
		cmocka_unit_test(test_larger_and_smaller_hosts),
		cmocka_unit_test(test_unexpected_reply_and_double_event),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
