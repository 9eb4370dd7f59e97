/*
 * libkvmi - names.h: internal per-id facts shared by the decoder and the
 * encoders.
 */
#ifndef KVMI_LIB_NAMES_H
#define KVMI_LIB_NAMES_H

#include <stddef.h>

#include <kvmi/wire.h>

/* id is a Bitdefender extension message id */
int kvmi__is_ext_id(unsigned int id);
/* v6: id is a valid host->tool reply id (core command or extension);
 * the reply data a successful reply to id must carry at least */
int kvmi__is_reply_id(unsigned int id);
size_t kvmi__reply_min_data(unsigned int id);
/* the same in dialect d */
int kvmi__is_reply_id_d(enum kvmi_dialect d, unsigned int id);
/* the reply data a successful reply to id must carry at least */
size_t kvmi__reply_min_data_d(enum kvmi_dialect d, unsigned int id);

/* v6 event-specific data sizes by event id */
extern const signed char kvmi__event_data_sizes[];

/* kvmi_event_data_size() for the hot path */
static inline int kvmi__event_data_size(unsigned int event_id)
{
	return event_id < 12 /* KVMI_NUM_EVENTS */
		       ? kvmi__event_data_sizes[event_id]
		       : -1;
}

#endif
