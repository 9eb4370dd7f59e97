/*
 * libkvmi - tests/server/harness.h: a libkvmi server on its own loop in
 * the test process, with a peer in a child process: kvmi-fakehost
 * (exec'd) or a scripted blocking peer (a function run in a fork).  The
 * loop runs until the child exits, bounded by a guard timer.
 */
#ifndef KVMI_TEST_HARNESS_H
#define KVMI_TEST_HARNESS_H

#include <stdbool.h>
#include <sys/types.h>

#include <kvmi/kvmi.h>

struct harness {
	uv_loop_t loop;
	struct kvmi_server *srv;
	struct kvmi_server_config cfg;
	char dir[64];
	char path[128];
	char report[160];
	pid_t child;
	int child_pipe;	/* read end: EOF when the child exits */
	uv_poll_t child_poll;
	uv_timer_t guard;
	uv_check_t drain; /* after the child exits: wait for its domains */
	int child_status; /* exit status, -1 while running */
	bool timed_out;
	int new_domains;
	int disconnects;
	int last_reason;
	int log_errors;
	char last_log[8192]; /* every error line, concatenated */
	void *test; /* the test's own state */
};

/* temp dir, socket path, default config (callbacks counting into h) */
void h_init(struct harness *h);
/* create and start the server with h->cfg (after the test adjusted it) */
void h_start(struct harness *h);
/* run kvmi-fakehost --connect PATH --report FILE ARGS... (NULL-ended) */
void h_spawn_fakehost(struct harness *h, const char *const *args);
/* run this test program again as `PROG --peer NAME PATH ARG` in a child
 * (a fresh process image: nothing of the parent's heap is inherited);
 * the test's main() dispatches that to the named scripted peer, whose
 * return value is the exit status */
void h_spawn_peer(struct harness *h, const char *name, const char *arg);
/* run the loop until the child exited and the server is idle again;
 * shuts the server down once the child is gone; fails after timeout_ms */
void h_run(struct harness *h, unsigned int timeout_ms);
/* the report file's contents (static buffer) */
const char *h_report(struct harness *h);
/* count occurrences of a string in the report */
int h_report_count(struct harness *h, const char *needle);
/* the number after "KEY": in the report (one guest); fails the test when
 * the report has no such key */
long h_report_number(struct harness *h, const char *key);
void h_fini(struct harness *h);

/* the times the calling thread slept (voluntary context switches) */
long h_thread_sleeps(void);
/* KVMI_EVENT_CR and CR3 interception on every vCPU of @dom (hooks.h);
 * fails the test when the host refuses */
void h_enable_cr3(struct kvmi_dom *dom);

/* ---- blocking scripted peer (runs in the child) ---- */
struct peer {
	int fd;
	struct kvmi_decoder *dec;
	uint8_t buf[65536];
	size_t have, off;
	uint32_t event_seq;
};
int peer_connect(struct peer *p, const char *path, unsigned int vcpus);
/* connect and do QEMU's handshake only (the start-up commands are the
 * caller's to answer) */
int peer_handshake(struct peer *p, const char *path);
/* next tool->host message (decoded); NULL on EOF/error */
const struct kvmi_msg *peer_read(struct peer *p);
int peer_send(struct peer *p, const void *buf, size_t len);
int peer_reply(struct peer *p, const struct kvmi_msg *cmd, int32_t err,
	       const void *data, size_t len);
int peer_event(struct peer *p, uint16_t vcpu, uint8_t event_id,
	       const void *data, size_t len);
/* 1 when the tool closed the connection (EOF) within timeout_ms */
int peer_wait_eof(struct peer *p, unsigned int timeout_ms);
/* release what peer_connect allocated (call before the peer exits) */
void peer_cleanup(void);

/* a scripted peer a test program can be re-run as (h_spawn_peer) */
struct h_peer {
	const char *name;
	int (*fn)(const char *path, const char *arg);
};

/*
 * h_peer_main - when argv is `PROG --peer NAME PATH ARG`, run that peer
 * from @peers and return its exit status; otherwise return -1 (a normal
 * test run).  Also ignores SIGPIPE for both.
 */
int h_peer_main(int argc, char **argv, const struct h_peer *peers, size_t n);

#endif
