/*
 * tests/fakehost - harness.h: drives a struct fh_vm without sockets: encode
 * a command, feed it, decode what the simulated host answered.
 */
#ifndef FH_TEST_HARNESS_H
#define FH_TEST_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include <kvmi/codec.h>

#include "testmsg.h"
#include "vm.h"

struct harness {
	enum kvmi_dialect dialect; /* the guest's (cfg->dialect) */
	struct fh_vm *vm;
	struct kvmi_decoder *dec;
	uint32_t seq;
	uint8_t buf[KVMI_ENCODE_MAX + 64];
	struct test_msg msg;
};

/* The default test guest: 2 vCPUs, 4 MiB, seed 1, one hot address
 * H_HOT (its original byte is not 0xCC) and no generated ones. */
#define H_HOT 0x2010ULL
void h_config(struct fh_vm_config *cfg);
void h_init(struct harness *h, const struct fh_vm_config *cfg);
void h_free(struct harness *h);

/* feed @len raw bytes; returns fh_vm_feed's result */
int h_feed(struct harness *h, const void *p, size_t len);
/* the next message the host sent, or NULL when none is left */
const struct test_msg *h_next(struct harness *h);
/* feed h->buf[0..n) (n from an encoder, asserted >= 0) and return the
 * reply's error code; asserts one reply with the same id and seq */
int32_t h_cmd(struct harness *h, int n);
/* feed h->buf[0..n) and assert nothing came back (channel still open) */
void h_silent(struct harness *h, int n);
/* feed h->buf[0..n) and assert the host closed the channel */
void h_closes(struct harness *h, int n);
/* a raw command: id, optional vcpu header (@vcpu >= 0), body */
int h_raw(struct harness *h, uint16_t id, int vcpu, const void *body,
	  size_t len);
/* run the vCPUs until an event arrives (bounded); returns it */
const struct test_msg *h_run_event(struct harness *h);
/* encode and feed an event reply; returns fh_vm_feed's result */
int h_reply(struct harness *h, const struct test_msg *ev, uint8_t action);

#endif
