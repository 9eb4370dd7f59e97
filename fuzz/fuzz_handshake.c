/*
 * libkvmi - fuzz_handshake.c: libFuzzer target for the reader of QEMU's
 * handshake struct (lib/transport/handshake.c).  The input is fed in the pieces the
 * reader asks for (first byte: chunk size); it must never ask for a byte
 * beyond the announced struct, and a completed struct must give a
 * NUL-terminated name.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kvmi__hs hs;
	size_t chunk, pos = 1, total = 0;
	int r = 0;

	if (size < 1)
		return 0;
	chunk = (size_t)data[0] + 1;
	memset(&hs, 0, sizeof(hs));
	while (pos < size && r == 0) {
		size_t want = kvmi__hs_want(&hs), n = size - pos;

		if (want == 0)
			abort(); /* incomplete but wants nothing */
		if (n > want)
			n = want;
		if (n > chunk)
			n = chunk;
		r = kvmi__hs_feed(&hs, data + pos, n);
		pos += n;
		total += n;
	}
	if (r == 1) {
		struct kvmi_guest_identity id;

		if (total != hs.size || hs.size < KVMI_HANDSHAKE_MIN_QEMU_SIZE ||
		    hs.size > KVMI_HANDSHAKE_MAX_QEMU_SIZE)
			abort();
		kvmi__hs_identity(&hs, &id);
		if (strnlen(id.name, sizeof(id.name)) >= sizeof(id.name))
			abort();
	} else if (r < 0 && r != KVMI_E_HANDSHAKE_SIZE) {
		abort();
	}
	return 0;
}
