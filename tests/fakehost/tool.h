/*
 * tests/fakehost - tool.h: a tiny blocking introspection tool on the codec
 * only (no connection layer): it listens on a unix socket, starts
 * kvmi-fakehost (path in $KVMI_FAKEHOST) against it, does the tool side of
 * QEMU's handshake, sends commands and waits for their replies while
 * queueing events.  Every wait is bounded (TOOL_TIMEOUT_MS).
 */
#ifndef FH_TEST_TOOL_H
#define FH_TEST_TOOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <kvmi/codec.h>

#include "testmsg.h"

#define TOOL_TIMEOUT_MS 10000
#define TOOL_MAX_QUEUE 64

struct tool {
	char dir[64];
	char path[108];
	char report_path[128];
	int lfd;
	int fd;
	pid_t pid;
	int pidfd;
	struct kvmi_decoder *dec;
	uint8_t rbuf[65536];
	size_t rlen, roff;
	uint32_t seq;
	uint8_t buf[KVMI_ENCODE_MAX];
	struct test_msg q[TOOL_MAX_QUEUE];
	size_t nq;
	struct test_msg tmp;
	char report[262144];
	int status; /* fakehost exit status after tool_finish */
};

/* listen and spawn kvmi-fakehost --connect <path> --report <file> @args
 * without accepting; 0 or -1 */
int tool_spawn(struct tool *t, const char *const *args);
/* accept one connection on the listening socket (bounded wait); the
 * connected fd or -1 */
int tool_accept(struct tool *t);
/* read exactly @n bytes from @fd (bounded wait); 0 or -1 */
int tool_read_fd(int fd, void *p, size_t n);
/* listen, spawn kvmi-fakehost --connect <path> --report <file> @args
 * (NULL-terminated), accept its connection.  0 or -1. */
int tool_start(struct tool *t, const char *const *args);
/* read QEMU's struct; its struct_size in *@qsize (may be NULL) */
int tool_read_qemu_struct(struct tool *t, uint32_t *qsize);
/* tool_read_qemu_struct, then send ours: @size bytes with SHA-1(@secret)
 * (NULL: zero hash), then @extra. */
int tool_handshake(struct tool *t, uint32_t size, const char *secret,
		   const void *extra, size_t extra_len, uint32_t *qsize);
int tool_send(struct tool *t, const void *p, size_t n);
/* next message: 1, 0 on EOF, -1 on timeout/error */
int tool_recv(struct tool *t, struct test_msg *m);
/* send t->buf[0..n), wait for its reply (events queued); returns the
 * host error (0 or -KVM_E*), or INT32_MIN when the channel died.
 * @reply, if not NULL, receives the reply. */
int32_t tool_cmd(struct tool *t, int n, struct test_msg *reply);
/* next event (queued first); 1, 0 on EOF, -1 timeout */
int tool_event(struct tool *t, struct test_msg *ev);
/* reply to @ev with @action (CR/MSR: new_val = new_value) */
int tool_reply(struct tool *t, const struct test_msg *ev, uint8_t action);
/* 1 when the host closed the socket (EOF seen) within the timeout */
int tool_wait_eof(struct tool *t);
/* close our socket (when @close_first), wait for kvmi-fakehost to exit
 * (bounded; killed otherwise), read the report.  Returns its exit status,
 * -1 when it did not exit. */
int tool_finish(struct tool *t, int close_first);
/* the raw JSON value of @key in the report ("" when missing) */
const char *tool_field(struct tool *t, const char *key, char *out, size_t len);
void tool_cleanup(struct tool *t);

#endif
