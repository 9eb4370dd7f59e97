/*
 * tests/fakehost - harness.c: see harness.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "testmsg.h"

void h_config(struct fh_vm_config *cfg)
{
	static const uint64_t hot[] = { H_HOT };

	memset(cfg, 0, sizeof(*cfg));
	cfg->vcpus = 2;
	cfg->max_vcpus = 3;
	cfg->mem_mb = 4;
	cfg->seed = 1;
	cfg->hot_gpas = hot;
	cfg->n_hot_gpas = 1;
}

void h_init(struct harness *h, const struct fh_vm_config *cfg)
{
	struct fh_vm_config def;

	memset(h, 0, sizeof(*h));
	if (!cfg) {
		h_config(&def);
		cfg = &def;
	}
	assert_int_equal(fh_vm_new(cfg, &h->vm), 0);
	h->dec = kvmi_decoder_new(KVMI_DIR_HOST_TO_TOOL);
	assert_non_null(h->dec);
	h->dialect = cfg->dialect;
	assert_int_equal(kvmi_decoder_set_dialect(h->dec, h->dialect), 0);
	h->seq = 100;
}

void h_free(struct harness *h)
{
	fh_vm_free(h->vm);
	kvmi_decoder_free(h->dec);
}

int h_feed(struct harness *h, const void *p, size_t len)
{
	return fh_vm_feed(h->vm, p, len);
}

const struct test_msg *h_next(struct harness *h)
{
	struct fh_buf *out = &h->vm->out;
	const struct kvmi_msg *m = NULL;
	struct test_msg *o = &h->msg;
	ssize_t n;

	if (!out->len)
		return NULL;
	n = kvmi_decoder_feed(h->dec, out->data, out->len, &m);
	assert_true(n > 0);
	assert_non_null(m);
	test_msg_copy(o, m);
	fh_buf_consume(out, (size_t)n);
	return o;
}

int32_t h_cmd(struct harness *h, int n)
{
	struct kvmi_msg_hdr sent;
	const struct test_msg *r;

	assert_true(n >= 8);
	memcpy(&sent, h->buf, sizeof(sent));
	assert_int_equal(h_feed(h, h->buf, (size_t)n), 0);
	r = h_next(h);
	assert_non_null(r);
	assert_int_equal(r->kind, KVMI_MSG_REPLY);
	assert_int_equal(r->hdr.id, sent.id);
	assert_int_equal(r->hdr.seq, sent.seq);
	return r->err;
}

void h_silent(struct harness *h, int n)
{
	assert_true(n >= 8);
	assert_int_equal(h_feed(h, h->buf, (size_t)n), 0);
	assert_int_equal(h->vm->out.len, 0);
	assert_false(h->vm->closed);
}

void h_closes(struct harness *h, int n)
{
	assert_true(n >= 8);
	assert_int_equal(h_feed(h, h->buf, (size_t)n), -1);
	assert_true(h->vm->closed);
	assert_true(h->vm->host_closed);
	assert_true(h->vm->close_reason[0] != 0);
}

int h_raw(struct harness *h, uint16_t id, int vcpu, const void *body,
	  size_t len)
{
	return kvmi_encode_command_raw(h->buf, sizeof(h->buf), id, h->seq++,
				       vcpu >= 0, (uint16_t)(vcpu >= 0 ? vcpu : 0),
				       body, len);
}

const struct test_msg *h_run_event(struct harness *h)
{
	for (int i = 0; i < 1000; i++) {
		const struct test_msg *m;

		h->vm->wake = 1;
		fh_vm_run(h->vm);
		m = h_next(h);
		if (m) {
			assert_int_equal(m->kind, KVMI_MSG_EVENT);
			return m;
		}
	}
	fail_msg("no event after 1000 runs");
	return NULL;
}

int h_reply(struct harness *h, const struct test_msg *ev, uint8_t action)
{
	int n;

	n = test_encode_event_reply_d(h->dialect, h->buf, sizeof(h->buf),
				      ev->hdr.seq, &ev->event, &ev->ev, action);
	assert_true(n > 0);
	return h_feed(h, h->buf, (size_t)n);
}
