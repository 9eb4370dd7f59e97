/*
 * libkvmi - seq.c: per-connection command sequence numbers.
 */
#include <kvmi/codec.h>

KVMI_EXPORT void kvmi_seq_init(struct kvmi_seq *s, uint32_t first)
{
	if (s)
		s->next = first;
}

KVMI_EXPORT uint32_t kvmi_seq_next(struct kvmi_seq *s)
{
	return s->next++; /* unsigned: wraps from 0xffffffff to 0 */
}
