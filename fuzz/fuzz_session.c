/*
 * libkvmi - fuzz_session.c: libFuzzer target for the session layer,
 * driven through its public API alone (no loop, no socket): host bytes
 * arrive while commands are outstanding.  The first input byte chooses
 * the chunk size; a handful of commands (ids/seqs from the next bytes)
 * are queued, some of them inside a replies-disabled batch; the rest is
 * the host->tool stream, dispatched after every chunk with every event
 * answered.  Errors are expected; crashes, leaks, undefined behaviour,
 * a command completed twice or never are not.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <kvmi/codec.h>
#include <kvmi/session.h>

static int completions[8];

static void on_event(struct kvmi_session *s, struct kvmi_event_ctx *ev,
		     void *user)
{
	(void)s;
	(void)user;
	kvmi_event_reply(ev, KVMI_EVENT_ACTION_CONTINUE);
}

static void on_done(struct kvmi_session *s, int result, size_t len, void *ctx)
{
	(void)s;
	(void)result;
	(void)len;
	if (completions[(intptr_t)ctx]++)
		abort(); /* completed twice */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kvmi_session_config cfg = {.size = sizeof(cfg),
					  .max_vcpus = 16};
	struct kvmi_session_callbacks cbs = {.event = on_event};
	static uint8_t out[8][64];
	struct kvmi_session *s;
	bool queued[8] = {0};
	size_t chunk, pos;

	if (size < 1 + 8 * 3)
		return 0;
	chunk = (size_t)data[0] * 4 + 1;
	if (kvmi_session_new(&cfg, &cbs, NULL, &s))
		abort();
	memset(completions, 0, sizeof(completions));
	/* start-up first: the stream may answer it and raise events */
	if (kvmi_session_start(s))
		abort();
	for (int i = 0; i < 8; i++) {
		const uint8_t *p = data + 1 + i * 3;
		uint8_t msg[64];
		int n;

		if (p[2] & 0x80) /* a replies-disabled switch first */
			n = kvmi_encode_control_cmd_response(
				msg, sizeof(msg), kvmi_session_next_seq(s),
				p[0] & 1, 1);
		else
			n = kvmi_encode_command_raw(
				msg, sizeof(msg), (uint16_t)(2 + p[0] % 28),
				kvmi_session_next_seq(s), 0, 0, NULL, 0);
		if (n > 0 && kvmi_session_command(s, msg, (size_t)n, out[i], 64,
						  on_done, (void *)(intptr_t)i) ==
				     0)
			queued[i] = true;
	}
	pos = 1 + 8 * 3;
	while (pos < size) {
		size_t n = size - pos < chunk ? size - pos : chunk;
		ssize_t r = kvmi_session_recv(s, data + pos, n);

		pos += n;
		kvmi_session_dispatch(s);
		kvmi_session_output_done(s, SIZE_MAX);
		if (r < 0)
			break;
	}
	kvmi_session_free(s); /* completes every outstanding command */
	for (int i = 0; i < 8; i++)
		if (queued[i] != (completions[i] == 1))
			abort();
	return 0;
}
