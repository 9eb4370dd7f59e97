/*
 * tests/fakehost - reply.h: the event reply a test tool sends by default
 * (CR/MSR: new_val = new_value; PF: all-zero reply data).
 */
#ifndef FH_TEST_REPLY_H
#define FH_TEST_REPLY_H

#include <kvmi/codec.h>

/* encode into @buf the reply with @action to the event (@seq, @ev,
 * @data); returns the encoder's result */
int test_encode_event_reply(void *buf, size_t cap, uint32_t seq,
			    const struct kvmi_event *ev,
			    const union kvmi_event_data *data, uint8_t action);

#endif
