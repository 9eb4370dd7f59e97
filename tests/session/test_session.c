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

#include <kvmi/capture.h>
#include <kvmi/session.h>

#include "session_int.h"
#include "host_encoder.h"

#define MAXCMD 256

struct fixture {
	struct kvmi_session *s;
	struct cmd {
		bool done;
		int result;
		size_t len;
	} c[MAXCMD];
	uint8_t out[MAXCMD][64];
	int nw;
	uint8_t h2t[1 << 16];
	size_t h2t_len;
	int events;
	enum kvmi_dialect dialect;
};

/* the tool's part: answer every event (slot released) */
static void on_event(struct kvmi_session *s, struct kvmi_event_ctx *ev,
		     void *user)
{
	struct fixture *f = user;

	(void)s;
	assert_int_equal(kvmi_event_reply(ev, KVMI_EVENT_ACTION_CONTINUE), 0);
	f->events++;
}

/* a session in dialect @d (v6 is detected, the others forced) */
static void fx_init_d(struct fixture *f, enum kvmi_dialect d)
{
	struct kvmi_session_callbacks cbs = {.event = on_event};
	struct kvmi_session_config cfg = {
		.size = sizeof(cfg),
		.force_dialect = d == KVMI_DIALECT_V6 ? 0 : KVMI_SESSION_DIALECT(d),
	};

	memset(f, 0, sizeof(*f));
	f->dialect = d;
	assert_int_equal(kvmi_session_new(&cfg, &cbs, f, &f->s), 0);
	/* the recorded streams start after the start-up commands: the tool
	 * knows the guest's two vCPUs */
	f->s->vcpu_count = 2;
	f->s->ready = true;
}

static void fx_init(struct fixture *f)
{
	fx_init_d(f, KVMI_DIALECT_V6);
}

static void fx_fini(struct fixture *f)
{
	kvmi_session_free(f->s);
}

static void on_done(struct kvmi_session *s, int result, size_t len, void *ctx)
{
	struct cmd *c = ctx;

	(void)s;
	assert_false(c->done);
	c->done = true;
	c->result = result;
	c->len = len;
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

	assert_non_null(dir);
	assert_int_equal(kvmi_decoder_set_dialect(tool, f->dialect), 0);
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
		/* the tool's recorded commands, queued as the tool sent
		 * them: the session matches the host's replies to them and
		 * follows replies-disabled mode itself */
		while (left) {
			const struct kvmi_msg *m;
			const uint8_t *start = p;
			ssize_t n = kvmi_decoder_feed(tool, p, left, &m);

			assert_true(n > 0);
			p += n;
			left -= (size_t)n;
			if (!m || m->kind != KVMI_MSG_COMMAND)
				continue;
			assert_true(f->nw < MAXCMD);
			assert_int_equal(
				kvmi_session_command(f->s, start, (size_t)n,
						     f->out[f->nw], 64, on_done,
						     &f->c[f->nw]),
				0);
			f->nw++;
		}
	}
	kvmi_capture_reader_free(r);
	kvmi_decoder_free(tool);
}

/* feed [0,split) and [split,len) (chunk 0) or `chunk` bytes at a time,
 * dispatching after each call (our output is not read: the host side is
 * recorded); the first error */
static int feed(struct fixture *f, size_t split, size_t chunk)
{
	size_t pos = 0;

	while (pos < f->h2t_len) {
		size_t end = chunk ? pos + chunk : (pos < split ? split : f->h2t_len);
		ssize_t n;

		if (end > f->h2t_len)
			end = f->h2t_len;
		n = kvmi_session_recv(f->s, f->h2t + pos, end - pos);
		if (n < 0)
			return (int)n;
		assert_int_equal(n, end - pos);
		kvmi_session_dispatch(f->s);
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
	/* the failure's completions come from dispatch too */
	kvmi_session_dispatch(f.s);
	for (int i = 0; i < f.nw; i++)
		done += f.c[i].done && f.c[i].result != -ENOTCONN;
	/* every command before it was answered; the pipelined batch after
	 * it (replies off, three commands, the confirmation) was still
	 * outstanding and ends with the connection */
	assert_int_equal(done, f.nw - 5);
	for (int i = f.nw - 5; i < f.nw; i++)
		assert_int_equal(f.c[i].result, -ENOTCONN);
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
		assert_int_equal(kvmi_session_bytes_received(f.s), 0);
		assert_int_equal(feed(&f, split, 0), 0);
		assert_int_equal(kvmi_session_bytes_received(f.s), f.h2t_len);
		assert_int_equal(f.events, 2);
		assert_int_equal(f.nw, 2);
		assert_true(f.c[0].done && f.c[1].done);
		assert_int_equal(f.c[0].result, 0); /* READ_PHYSICAL */
		assert_int_equal(f.c[0].len, 4096);
		assert_int_equal(f.c[1].result, -EAGAIN); /* GET_REGISTERS */
		fx_fini(&f);
	}
}

/* the end offsets of the host's messages in @f's stream (at most @max) */
static size_t msg_ends(struct fixture *f, size_t *ends, size_t max)
{
	struct kvmi_decoder *d = kvmi_decoder_new(KVMI_DIR_HOST_TO_TOOL);
	size_t pos = 0, n = 0;

	assert_int_equal(kvmi_decoder_set_dialect(d, f->dialect), 0);
	while (pos < f->h2t_len) {
		const struct kvmi_msg *m;
		ssize_t r = kvmi_decoder_feed(d, f->h2t + pos,
					      f->h2t_len - pos, &m);

		assert_true(r > 0 && m);
		pos += (size_t)r;
		assert_true(n < max);
		ends[n++] = pos;
	}
	kvmi_decoder_free(d);
	return n;
}

/* feed one message at a time, as a host whose vCPUs wait for their
 * replies sends them, the one holding byte @split cut there; dispatch
 * after each piece */
static int feed_cut(struct fixture *f, const size_t *ends, size_t n,
		    size_t split)
{
	size_t start = 0;

	for (size_t i = 0; i < n; i++) {
		size_t cut[3] = {start, ends[i], ends[i]}, k = 2;

		if (split > start && split < ends[i]) {
			cut[1] = split;
			k = 3;
		}
		for (size_t j = 1; j < k; j++) {
			ssize_t r = kvmi_session_recv(f->s, f->h2t + cut[j - 1],
						      cut[j] - cut[j - 1]);

			if (r < 0)
				return (int)r;
			kvmi_session_dispatch(f->s);
		}
		start = ends[i];
	}
	return 0;
}

/*
 * 13.5: the kvmi-v7 sessions (tests/data/README) cut at every byte (one
 * message at a time otherwise: a vCPU's next event follows its reply):
 * every command answered as recorded - the probe's CHECK_COMMAND 39
 * refused on 2021 and allowed on 2023, CHECK_COMMAND 0xffff -KVM_EINVAL,
 * the unknown id 12 ENOSYS, 2023's ALLOC_GFN on vCPU 1 -KVM_ETIME,
 * SET_PAGE_WRITE_BITMAP -KVM_EPERM (the host bug), the CONTROL_CR sent
 * with replies off failed through its CMD_ERROR event (never answered),
 * the rest 0 - and the six vCPU events (BREAKPOINT, TRAP, CPUID, two
 * SINGLESTEPs, PF) delivered once each.
 */
static void v7_split_points(const char *name, enum kvmi_dialect d,
			    int probe, int etime_seq)
{
	struct fixture ref;
	size_t ends[256], n;

	fx_init_d(&ref, d);
	load(&ref, name);
	n = msg_ends(&ref, ends, 256);
	fx_fini(&ref);
	for (size_t split = 0; split <= ref.h2t_len; split++) {
		struct fixture f;

		fx_init_d(&f, d);
		load(&f, name);
		assert_int_equal(feed_cut(&f, ends, n, split), 0);
		assert_int_equal(f.events, 6);
		for (int i = 0; i < f.nw; i++) {
			int want = 0;

			switch (i + 1) { /* the commands' seq */
			case 2: want = probe; break;
			case 4: want = -KVM_EINVAL; break; /* CHECK 0xffff */
			case 5: want = -ENOSYS; break;
			case 21: want = -KVM_EPERM; break;
			case 26: want = -KVM_EINVAL; break;
			}
			if (i + 1 == etime_seq)
				want = -KVM_ETIME; /* ALLOC_GFN on vCPU 1 */
			assert_true(f.c[i].done);
			if (f.c[i].result != want)
				fail_msg("%s split %zu: command seq=%d: %d, "
					 "not %d",
					 name, split, i + 1, f.c[i].result,
					 want);
		}
		fx_fini(&f);
	}
}

static void test_v7_split_points(void **state)
{
	(void)state;
	v7_split_points("v7-session", KVMI_DIALECT_V7, -KVM_EPERM, 0);
	/* 2023: the probe allowed, ALLOC_GFN (seq 30) refused on vCPU 1 */
	v7_split_points("v7-2023-session", KVMI_DIALECT_V7_2023, 0, 30);
}

/* v12, one byte at a time: its three events before the host refuses the
 * PF's reply (fatal: KVMI_E_EVENT_REPLY_REJECTED), every command before
 * it answered as recorded */
static void test_v12_byte_by_byte(void **state)
{
	struct fixture f;
	int answered = 0;

	(void)state;
	fx_init_d(&f, KVMI_DIALECT_V12);
	load(&f, "v12-session");
	assert_int_equal(feed(&f, 0, 1), KVMI_E_EVENT_REPLY_REJECTED);
	kvmi_session_dispatch(f.s);
	assert_int_equal(f.events, 3);
	for (int i = 0; i < f.nw; i++)
		answered += f.c[i].done && f.c[i].result != -ENOTCONN;
	assert_true(answered >= 18); /* through the ENOSYS of seq 18 */
	assert_int_equal(f.c[2].result, -KVM_ENOENT); /* CHECK_COMMAND 31 */
	assert_int_equal(f.c[17].result, -ENOSYS); /* id 22 */
	fx_fini(&f);
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
	assert_int_equal(kvmi_session_recv(f.s, buf, (size_t)n),
			 KVMI_E_UNEXPECTED_REPLY);
	assert_int_equal(kvmi_session_error(f.s), KVMI_E_UNEXPECTED_REPLY);
	assert_int_equal(kvmi_session_recv(f.s, buf, (size_t)n),
			 KVMI_E_UNEXPECTED_REPLY); /* sticky */
	fx_fini(&f);

	/* a second event for a vCPU whose first is not replied */
	fx_init(&f);
	memset(&ev, 0, sizeof(ev));
	ev.event = KVMI_EVENT_XSETBV;
	n = kvmi_encode_event(buf, sizeof(buf), 1, &ev, sizeof(ev), NULL, 0);
	assert_int_equal(kvmi_session_recv(f.s, buf, (size_t)n), n);
	n = kvmi_encode_event(buf, sizeof(buf), 2, &ev, sizeof(ev), NULL, 0);
	assert_int_equal(kvmi_session_recv(f.s, buf, (size_t)n), -EPROTO);
	assert_int_equal(kvmi_session_dispatch(f.s), 0); /* the first died */
	assert_int_equal(f.events, 0);
	fx_fini(&f);
}

/* the output buffer: small to start with, kept for steady traffic, a
 * burst's buffer freed once it drained, bytes kept across partial sends */
static void test_output_buffer_sizes(void **state)
{
	static uint8_t big[3 * KVMI__OUT_KEEP];
	struct fixture f;
	struct kvmi_event ev;
	uint8_t buf[1024];
	const uint8_t *p, *first;
	size_t len;
	int n;

	(void)state;
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	fx_init(&f);
	assert_null(kvmi_session_output(f.s, &len));
	assert_int_equal(f.s->out_cap, 0);

	/* an event's reply: the first, small buffer */
	memset(&ev, 0, sizeof(ev));
	ev.event = KVMI_EVENT_XSETBV;
	n = kvmi_encode_event(buf, sizeof(buf), 1, &ev, sizeof(ev), NULL, 0);
	assert_int_equal(kvmi_session_recv(f.s, buf, (size_t)n), n);
	assert_int_equal(kvmi_session_dispatch(f.s), 1);
	first = kvmi_session_output(f.s, &len);
	assert_non_null(first);
	assert_true(len > 0 && len <= KVMI__OUT_FIRST);
	assert_int_equal(f.s->out_cap, KVMI__OUT_FIRST);
	kvmi_session_output_done(f.s, len);
	assert_null(kvmi_session_output(f.s, &len));
	assert_ptr_equal(f.s->out, first); /* kept: no allocation per reply */
	assert_int_equal(f.s->out_cap, KVMI__OUT_FIRST);

	/* a burst grows it; sent in parts, the rest stays in order */
	assert_int_equal(kvmi__out_append(f.s, big, sizeof(big)), 0);
	assert_true(f.s->out_cap > KVMI__OUT_KEEP);
	kvmi_session_output_done(f.s, 1000);
	p = kvmi_session_output(f.s, &len);
	assert_int_equal(len, sizeof(big) - 1000);
	assert_memory_equal(p, big + 1000, len);
	assert_non_null(f.s->out);
	kvmi_session_output_done(f.s, len);
	assert_null(f.s->out); /* drained: the burst's buffer is freed */
	assert_int_equal(f.s->out_cap, 0);

	/* the next small output starts small again */
	assert_int_equal(kvmi__out_append(f.s, big, 40), 0);
	assert_int_equal(f.s->out_cap, KVMI__OUT_FIRST);
	p = kvmi_session_output(f.s, &len);
	assert_int_equal(len, 40);
	assert_memory_equal(p, big, 40);
	fx_fini(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_session_byte_by_byte),
		cmocka_unit_test(test_split_points),
		cmocka_unit_test(test_v7_split_points),
		cmocka_unit_test(test_v12_byte_by_byte),
		cmocka_unit_test(test_malformed_streams),
		cmocka_unit_test(test_larger_and_smaller_hosts),
		cmocka_unit_test(test_unexpected_reply_and_double_event),
		cmocka_unit_test(test_output_buffer_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
