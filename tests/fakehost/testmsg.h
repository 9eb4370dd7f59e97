/*
 * tests/fakehost - testmsg.h: what both test tools share: a host->tool
 * message copied out of the decoder, and the event reply a test tool
 * sends by default (CR/MSR: new_val = new_value; PF: all-zero data).
 */
#ifndef FH_TEST_TESTMSG_H
#define FH_TEST_TESTMSG_H

#include <kvmi/codec.h>

/* One host->tool message, copied out of the decoder. */
struct test_msg {
	enum kvmi_msg_kind kind;
	struct kvmi_msg_hdr hdr;
	int32_t err;		  /* replies */
	uint8_t data[8192];	  /* reply data after the error code */
	size_t data_len;
	struct kvmi_event event;  /* events: common part */
	union kvmi_event_data ev; /* events: specific part */
};

/* copy @m (borrowed from a decoder) into @o */
void test_msg_copy(struct test_msg *o, const struct kvmi_msg *m);

/* encode into @buf the reply with @action to the event (@seq, @ev,
 * @data); returns the encoder's result */
int test_encode_event_reply(void *buf, size_t cap, uint32_t seq,
			    const struct kvmi_event *ev,
			    const union kvmi_event_data *data, uint8_t action);
/* the same in dialect @d (@ev->event is @d's wire id) */
int test_encode_event_reply_d(enum kvmi_dialect d, void *buf, size_t cap,
			      uint32_t seq, const struct kvmi_event *ev,
			      const union kvmi_event_data *data, uint8_t action);

#endif
