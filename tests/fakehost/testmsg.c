/*
 * tests/fakehost - testmsg.c: see testmsg.h.
 */
#include "testmsg.h"

#include <stddef.h>
#include <string.h>

void test_msg_copy(struct test_msg *o, const struct kvmi_msg *m)
{
	memset(o, 0, offsetof(struct test_msg, data));
	o->kind = m->kind;
	o->hdr = m->hdr;
	o->data_len = 0;
	if (m->kind == KVMI_MSG_EVENT) {
		o->event = *m->u.event.common;
		o->ev = *m->u.event.data;
	} else {
		o->err = m->u.reply.host_err;
		o->data_len = m->u.reply.data_len;
		if (o->data_len)
			memcpy(o->data, m->u.reply.data, o->data_len);
	}
}

int test_encode_event_reply_d(enum kvmi_dialect d, void *buf, size_t cap,
			      uint32_t seq, const struct kvmi_event *ev,
			      const union kvmi_event_data *data, uint8_t action)
{
	switch (kvmi_dialect_event_from_wire(d, ev->event)) {
	case KVMI_EVENT_CR:
		return kvmi_encode_event_reply_cr_d(d, buf, cap, seq, ev->vcpu,
						    action, data->cr.new_value);
	case KVMI_EVENT_MSR:
		return kvmi_encode_event_reply_msr_d(d, buf, cap, seq, ev->vcpu,
						     action, data->msr.new_value);
	case KVMI_EVENT_PF:
		return kvmi_encode_event_reply_pf_d(d, buf, cap, seq, ev->vcpu,
						    action, NULL);
	default:
		return kvmi_encode_event_reply_d(d, buf, cap, seq, ev->vcpu,
						 ev->event, action);
	}
}

int test_encode_event_reply(void *buf, size_t cap, uint32_t seq,
			    const struct kvmi_event *ev,
			    const union kvmi_event_data *data, uint8_t action)
{
	return test_encode_event_reply_d(KVMI_DIALECT_V6, buf, cap, seq, ev,
					 data, action);
}
