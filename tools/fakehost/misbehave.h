/*
 * kvmi-fakehost - misbehave.h: a host that breaks the protocol on purpose
 * (--misbehave MODE), to test how a tool survives hostile or broken hosts.
 * Every mode starts once the guest has sent --misbehave-after events; the
 * guest model keeps running and its verdict is computed as usual, so a
 * test sees whether the tool left memory and page access as they were.
 */
#ifndef FH_MISBEHAVE_H
#define FH_MISBEHAVE_H

#include <stdint.h>

struct fh_vm;

enum fh_misbehave {
	FH_MB_NONE = 0,
	FH_MB_GARBAGE,	     /* 256 seeded random bytes, once */
	FH_MB_OVERSIZED,     /* a header announcing a 65535-byte event */
	FH_MB_WRONG_SIZE,    /* a BREAKPOINT event 12 bytes short */
	FH_MB_UNKNOWN_ID,    /* a message with id 0x7777 */
	FH_MB_UNKNOWN_EVENT, /* an event with id 200 */
	FH_MB_UNKNOWN_SEQ,   /* a reply for a seq the tool never used */
	FH_MB_DUP_REPLY,     /* the next command reply sent twice */
	FH_MB_UNHOOK_FLOOD,  /* 1000 UNHOOK events back to back */
	FH_MB_NO_REPLIES,    /* commands applied, never answered */
	FH_MB_STOP_READING,  /* never read again; PF events keep coming */
	FH_MB_BP_BURST,	     /* at an INT3 write: a BREAKPOINT on every
				vCPU and an UNHOOK before the reply */
	FH_MB_SLOWLORIS,     /* the handshake one byte per second */
	FH_MB_IDLE,	     /* connect, send nothing */
	FH_MB_COUNT,
};

/* the mode named @s, or -1 */
int fh_misbehave_parse(const char *s);
/* the names, comma-separated, for --help and errors */
extern const char fh_misbehave_names[];

/* the mode is on (configured and --misbehave-after events sent) */
int fh_misbehave_active(const struct fh_vm *vm);
/* the one-shot injections of the active mode (after the vCPUs ran) */
void fh_misbehave_inject(struct fh_vm *vm);
/* the stop-reading mode's events: a PF on every vCPU (vm->out bounded by
 * the caller) */
void fh_misbehave_pf_all(struct fh_vm *vm);
/* bp-burst: the tool wrote @byte at @gpa (called before the reply) */
void fh_misbehave_on_write(struct fh_vm *vm, uint64_t gpa, const void *data,
			   uint64_t len);

#endif
