/*
 * tests/fakehost - reply.c: see reply.h.
 */
#include "reply.h"

int test_encode_event_reply(void *buf, size_t cap, uint32_t seq,
			    const struct kvmi_event *ev,
			    const union kvmi_event_data *data, uint8_t action)
{
	switch (ev->event) {
	case KVMI_EVENT_CR:
		return kvmi_encode_event_reply_cr(buf, cap, seq, ev->vcpu, action,
						  data->cr.new_value);
	case KVMI_EVENT_MSR:
		return kvmi_encode_event_reply_msr(buf, cap, seq, ev->vcpu, action,
						   data->msr.new_value);
	case KVMI_EVENT_PF:
		return kvmi_encode_event_reply_pf(buf, cap, seq, ev->vcpu, action,
						  NULL);
	default:
		return kvmi_encode_event_reply(buf, cap, seq, ev->vcpu, ev->event,
					       action);
	}
}
