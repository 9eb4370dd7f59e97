/*
 * libkvmi - host_encoder.h: encoders for the host's side of the wire
 * (events, command replies, the event-reply error), for simulated hosts,
 * captures, benchmarks and tests.  Not in libkvmi's ABI: link the static
 * library kvmi_host (meson: kvmi_host_dep).  Return values as the
 * library's encoders (<kvmi/codec.h>): the length written, or a negative
 * error.
 */
#ifndef KVMI_HOST_ENCODER_H
#define KVMI_HOST_ENCODER_H

#include <stddef.h>
#include <stdint.h>

#include <kvmi/codec.h>

/*
 * kvmi_encode_event - a KVMI_EVENT message: @common (its size field is
 * overwritten with @common_size; padding zeroed) truncated or zero-
 * extended to @common_size bytes (>= 8; 544 is the v6 size), followed by
 * @data_len bytes of @data (may be NULL when 0).
 */
int kvmi_encode_event(void *buf, size_t cap, uint32_t seq,
		      const struct kvmi_event *common, size_t common_size,
		      const void *data, size_t data_len);

/*
 * kvmi_encode_event_d - kvmi_encode_event() in dialect @d (v6 and
 * kvmi-v7 frame events alike).  v12: @common->event is the v12 event id;
 * an even id (a VM event) becomes message 0 with only the event header
 * (@common_size is ignored, @data_len must be 0); an odd one message 1
 * with the event header, the common struct (its event byte sent as 0)
 * and the data.
 */
int kvmi_encode_event_d(enum kvmi_dialect d, void *buf, size_t cap,
			uint32_t seq, const struct kvmi_event *common,
			size_t common_size, const void *data, size_t data_len);

/*
 * kvmi_encode_reply - a command reply: id/seq of the command, error code
 * @host_err (0 or -KVM_E*), then @data_len bytes of @data only when
 * @host_err is 0.
 */
int kvmi_encode_reply(void *buf, size_t cap, uint16_t id, uint32_t seq,
		      int32_t host_err, const void *data, size_t data_len);

/*
 * kvmi_encode_event_reply_error - the host's error-only message with id
 * KVMI_EVENT_REPLY (the host refusing an event reply; @seq = the event's).
 */
int kvmi_encode_event_reply_error(void *buf, size_t cap, uint32_t seq,
				  int32_t host_err);
/* ... in @d (v12: message 1, and @host_err must be an error) */
int kvmi_encode_event_reply_error_d(enum kvmi_dialect d, void *buf, size_t cap,
				    uint32_t seq, int32_t host_err);

#endif /* KVMI_HOST_ENCODER_H */
