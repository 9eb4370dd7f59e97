/*
 * kvmi-fakehost - handshake.h: QEMU's side of the introspection handshake
 * (KVMI-PROTOCOL.md sec. 2), without I/O.
 *
 * QEMU writes its struct first, then reads the tool's 4-byte struct_size
 * and exactly struct_size - 4 more bytes (never beyond: the tool's first
 * command may follow in the same write).  < 24 fails, > 24 is accepted
 * (extra bytes ignored), < 4 makes QEMU stop reading (the handshake then
 * times out).  With a secret, SHA-1(secret) must equal the cookie hash.
 */
#ifndef FH_HANDSHAKE_H
#define FH_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct fh_identity {
	uint32_t struct_size; /* what QEMU announces and sends (>= 4) */
	uint8_t uuid[16];
	int64_t start_time;
	char name[64];
	uint64_t max_gpa; /* sent when struct_size >= 104 */
};

enum fh_handshake_state {
	FH_HS_READ_SIZE = 0,
	FH_HS_READ_BODY,
	FH_HS_STALLED, /* struct_size < 4: QEMU stopped reading */
	FH_HS_OK,
	FH_HS_FAILED,
};

struct fh_handshake {
	enum fh_handshake_state state;
	uint8_t cookie[20];  /* expected SHA-1 */
	int check_cookie;
	uint8_t head[24];    /* struct_size and cookie_hash as received */
	uint32_t size;	     /* the tool's struct_size */
	uint64_t got;	     /* bytes of the tool's struct read so far */
	char error[160];     /* why it failed */
};

/* fh_handshake_message - QEMU's struct for @id appended to @out (struct_size
 * bytes, zero-filled beyond what QEMU knows).  0 or -ENOMEM. */
int fh_handshake_message(const struct fh_identity *id, struct fh_buf *out);

/* fh_handshake_init - expect the cookie of @secret (@len bytes; NULL = no
 * check, as QEMU without a key). */
void fh_handshake_init(struct fh_handshake *h, const void *secret, size_t len);

/* fh_handshake_feed - bytes from the tool; returns how many belong to the
 * handshake (the rest is KVMI traffic).  h->state tells the outcome. */
size_t fh_handshake_feed(struct fh_handshake *h, const void *data, size_t len);

#endif
