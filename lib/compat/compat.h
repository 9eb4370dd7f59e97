/*
 * libkvmi - lib/compat/compat.h: internal state of the libkvmi 1.x layer
 * (<libkvmi.h>): the listening context with its accept thread, the
 * per-guest domain (a socket, a mutex and one kvmi_session fed by
 * blocking/poll I/O), and the helpers the 1.x calls share.
 *
 * Locking: dom->lock guards the session, the socket's reads and writes
 * and the event lists; every helper named *_locked expects it held.
 * Errors inside the layer are negative errno values (or KVMI_E_*); the
 * exported functions turn them into -1 + errno with kvmi1__ret().
 */
#ifndef KVMI_COMPAT_H
#define KVMI_COMPAT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <kvmi/codec.h>
#include <kvmi/session.h>
#include <libkvmi.h>

#include "clock.h"

/* the budget of QEMU's handshake and of the start-up commands */
#define KVMI1__HANDSHAKE_MS 10000

struct kvmi1_ctx {
	int lfd;     /* listening socket */
	int wake[2]; /* kvmi_uninit -> accept thread */
	pthread_t thread;
	bool thread_started;
	kvmi_new_guest_cb accept_cb;
	kvmi_handshake_cb hsk_cb;
	void *cb_ctx;
	pthread_mutex_t cb_lock; /* the callbacks run one at a time */
	pthread_mutex_t lock;	 /* n_conns */
	pthread_cond_t idle;	 /* n_conns reached 0 */
	unsigned int n_conns;	 /* handshake threads running */
};

/* what the unhook safety net restores (safety.c) */
struct kvmi1_byte {
	uint64_t gpa;
	uint8_t orig;
};
struct kvmi1_page {
	uint64_t gpa;
	unsigned short view;
};
/* kvmi-v7 state the tool turned on (kvmi1__net_hook) */
enum kvmi1_hook_kind {
	KVMI1_HOOK_SINGLESTEP = 1, /* vcpu stepping (value 0) */
	KVMI1_HOOK_VIEW,	   /* vcpu switched to view @value (!= 0) */
	KVMI1_HOOK_VISIBLE,	   /* view @value visible to vcpu's VMFUNC */
	KVMI1_HOOK_CREATED,	   /* view @value created (vcpu 0) */
	KVMI1_HOOK_GFN,		   /* gfn @value allocated (vcpu 0) */
};
struct kvmi1_hook {
	uint8_t kind;
	uint16_t vcpu;
	uint64_t value;
};

struct kvmi1_dom {
	pthread_mutex_t lock;
	int fd;
	int efd; /* eventfd: an event was queued, or the connection went */
	/* threads in kvmi_wait_event's poll (efd is written only for them),
	 * and whether efd holds a write not read yet; both under @lock */
	unsigned int waiters;
	bool efd_signalled;
	/* busy polling (KVMI_BUSY_POLL_US, kvmi1__busy_poll_ns): after an
	 * event came, kvmi_wait_event polls without sleeping until
	 * spin_until (kvmi__now_ns), under @lock */
	uint64_t busy_ns, spin_until;
	struct kvmi_session *s;
	struct kvmi_qemu2introspector qemu; /* name NUL-terminated */
	atomic_bool connected;
	bool ext; /* the host sent the feature block */
	struct kvmi_features features;
	unsigned int version;
	/* events delivered by the session and not yet popped (a NULL entry
	 * is the KVMI_EVENT_UNHOOK), then popped and not yet replied */
	struct kvmi_event_ctx **queued;
	size_t n_queued, cap_queued;
	struct kvmi_event_ctx **popped;
	size_t n_popped, cap_popped;
	bool unhook_popped; /* the UNHOOK event was handed to the tool */
	/* the safety net */
	bool net;	  /* on for this domain (UNHOOK enabled by us) */
	bool tool_unhook; /* the tool enabled UNHOOK: it is the tool's */
	bool unhook_net;  /* an UNHOOK arrived for the net to handle */
	bool in_net;
	struct kvmi1_byte *bytes;
	size_t n_bytes, cap_bytes;
	struct kvmi1_page *pages;
	size_t n_pages, cap_pages;
	struct kvmi1_hook *hooks;
	size_t n_hooks, cap_hooks;
};

/* -1 with errno = -@err when @err < 0 (KVMI_E_* mapped), else @err */
int kvmi1__ret(int err);
/* the errno a negative library error stands for */
int kvmi1__errno(int err);
/* log through the process-wide callback (printf-style) */
void kvmi1__log(kvmi_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* a domain for a connected, handshaken socket: session started, ready
 * awaited within the handshake budget; 0 or a negative error (@fd closed) */
int kvmi1__dom_new(int fd, const struct kvmi_qemu2introspector *qemu,
		   struct kvmi1_dom **out);
void kvmi1__dom_free(struct kvmi1_dom *d);

/* send what the session has queued; wait for the socket at most until
 * @deadline_ms (CLOCK_MONOTONIC; UINT64_MAX: the command deadline) */
int kvmi1__flush_locked(struct kvmi1_dom *d);
/* wait for input up to @timeout_ms (< 0: forever), feed it to the
 * session, dispatch; 0, -ETIMEDOUT, or the connection's error */
int kvmi1__pump_locked(struct kvmi1_dom *d, int timeout_ms);
/* read what is there without waiting, dispatch (0 or an error) */
int kvmi1__poll_input_locked(struct kvmi1_dom *d);
/* KVMI_BUSY_POLL_US from the environment, in ns (0: off; a bad value is
 * logged as an error and means off) */
uint64_t kvmi1__busy_poll_ns(void);

/*
 * kvmi1__cmd - send one encoded command and wait for its reply: the reply
 * data (up to @cap bytes) in @out, its length in *@len (may be NULL).
 * Takes the lock.  0 or a negative error.  kvmi1__cmd_locked: lock held.
 */
int kvmi1__cmd(struct kvmi1_dom *d, const void *msg, int msg_len, void *out,
	       size_t cap, size_t *len);
int kvmi1__cmd_locked(struct kvmi1_dom *d, const void *msg, int msg_len,
		      void *out, size_t cap, size_t *len);
/* the dialect the domain's host speaks (known once the domain exists) */
static inline enum kvmi_dialect kvmi1__dialect(const struct kvmi1_dom *d)
{
	return kvmi_session_dialect(d->s);
}
/* the host speaks kvmi-v7 (either generation): EPT views, single-step */
static inline bool kvmi1__is_v7(const struct kvmi1_dom *d)
{
	return kvmi1__dialect(d) == KVMI_DIALECT_V7 ||
	       kvmi1__dialect(d) == KVMI_DIALECT_V7_2023;
}

/* entries done..count of a 1.x page-access (write-bitmap) list, at most
 * one message's worth, into @e; returns how many */
size_t kvmi1__access_chunk(struct kvmi_page_access_entry *e,
			   const unsigned long long *gpa,
			   const unsigned char *access, size_t done,
			   size_t count);
size_t kvmi1__bitmap_chunk(struct kvmi_page_write_bitmap_entry *e,
			   const __u64 *gpa, const __u32 *bitmap, size_t done,
			   size_t count);

/* completion record of one command (what kvmi1__cmd waits on) */
struct kvmi1_wait {
	bool done;
	int result;
	size_t len;
};
void kvmi1__cmd_done(struct kvmi_session *s, int result, size_t len, void *ctx);
/* wait until @w is done (lock held), reading and dispatching */
int kvmi1__wait_locked(struct kvmi1_dom *d, struct kvmi1_wait *w);

/* session event/unhook callbacks (events.c) and the list cleanup when
 * the session failed */
void kvmi1__on_event(struct kvmi_session *s, struct kvmi_event_ctx *ev,
		     void *user);
void kvmi1__on_unhook(struct kvmi_session *s, void *user);
void kvmi1__forget_events_locked(struct kvmi1_dom *d);
/* wake the threads in kvmi_wait_event */
void kvmi1__wake(struct kvmi1_dom *d);
/* answer an open event from a 1.x raw reply (lock held) */
int kvmi1__reply_locked(struct kvmi1_dom *d, unsigned int seq, const void *data,
			size_t size);

/*
 * The unhook safety net (safety.c).  kvmi1__net_wanted: not disabled by
 * KVMI_SAFETY_NET=0.  kvmi1__net_needs_read: writing @buf at @gpa plants
 * an INT3 whose original byte is not known yet.  kvmi1__net_wrote: @buf
 * was written over @orig (NULL: not read).  kvmi1__net_access: the tool
 * set these page accesses.  kvmi1__net_hook: the tool turned kvmi-v7
 * state @kind on (@on) or off (see enum kvmi1_hook_kind); takes the lock.
 * kvmi1__net_run_locked: restore, answer the open events, shut the
 * connection down.
 */
bool kvmi1__net_wanted(void);
bool kvmi1__net_needs_read(struct kvmi1_dom *d, uint64_t gpa,
			   const uint8_t *buf, size_t n);
void kvmi1__net_wrote(struct kvmi1_dom *d, uint64_t gpa, const uint8_t *buf,
		      const uint8_t *orig, size_t n);
void kvmi1__net_access(struct kvmi1_dom *d, const unsigned long long *gpa,
		       const unsigned char *access, size_t count,
		       unsigned short view);
void kvmi1__net_hook(struct kvmi1_dom *d, enum kvmi1_hook_kind kind,
		     uint16_t vcpu, uint64_t value, bool on);
void kvmi1__net_run_locked(struct kvmi1_dom *d);

#endif
