/*
 * libkvmi - tests/compat/harness1.h: what the <libkvmi.h> tests share: a
 * 1.x listening context on a temporary socket, kvmi-fakehost (path from
 * $KVMI_FAKEHOST) spawned against it, the domain the new-guest callback
 * hands over (waited for on a condition variable), and the fakehost's
 * JSON report once it exited.  Written against <libkvmi.h> only.
 */
#ifndef KVMI_TEST_HARNESS1_H
#define KVMI_TEST_HARNESS1_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include <libkvmi.h>

struct h1 {
	char dir[64];
	char path[128];
	char report[160];
	void *ctx;
	pid_t child;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	void *dom;
	int guests;
	bool close_previous; /* a new guest closes the previous domain */
	int log_errors;
	FILE *stall_err; /* h1_spawn_stalling's fakehost's stderr */
	char text[16384]; /* the report */
};

/* the fakehost's dialect, from $KVMI_TEST_DIALECT ("" = v6, its default;
 * else "v7" or "v7-2023", passed as --dialect); h1_v7: a kvmi-v7 one */
const char *h1_dialect(void);
bool h1_v7(void);

/* temp dir, kvmi_init_unix_socket, fakehost with ARGS (NULL-ended);
 * h1_start_closing: as LibVMI, each new guest's callback closes the
 * previous guest's domain with kvmi_domain_close(old, true) */
void h1_start(struct h1 *h, const char *const *args);
void h1_start_closing(struct h1 *h, const char *const *args);
/* h1_start in two steps: the listening context only, then the fakehost
 * with ARGS (as h1_start) */
void h1_listen(struct h1 *h);
void h1_run(struct h1 *h, const char *const *args);
/* another fakehost against the socket with --misbehave @mode (slowloris,
 * idle: a handshake that stalls), returned once its connect() returned;
 * h1_stop_stalling ends it */
pid_t h1_spawn_stalling(struct h1 *h, const char *mode);
void h1_stop_stalling(struct h1 *h, pid_t pid);
/* wait until @n guests were handed over (fails the test after 10 s) */
void h1_wait_guests(struct h1 *h, int n);
/* the guest's domain (fails the test after 10 s) */
void *h1_dom(struct h1 *h);
/* close @dom (if not NULL), wait for fakehost, read its report */
const char *h1_finish(struct h1 *h, void *dom);
/* occurrences of @needle in the report */
int h1_count(struct h1 *h, const char *needle);
/* the kvmi-v7 settings the report's hooks_left counts (vCPUs off view 0,
 * with visible views or single-stepping, views created, gfns allocated):
 * their sum, -1 when the report has none of those fields */
int h1_v7_hooks_left(struct h1 *h);
void h1_fini(struct h1 *h);

/* a 1.x event reply: vcpu header, common reply, event-specific part */
struct h1_reply {
	struct kvmi_vcpu_hdr hdr;
	struct kvmi_event_reply common;
	union {
		struct kvmi_event_cr_reply cr;
		struct kvmi_event_msr_reply msr;
		struct kvmi_event_pf_reply pf;
	};
};
/* answer @ev with @action; returns kvmi_reply_event's result */
int h1_reply(void *dom, const struct kvmi_dom_event *ev, unsigned char action);
/* wait for and pop one event (10 s); fails the test when none came */
struct kvmi_dom_event *h1_next_event(void *dom);

#endif
