/*
 * libkvmi - startup.c: a session's start-up commands: GET_VERSION alone
 * (its reply tells the dialect, switched to at once in the decoder),
 * then GET_GUEST_INFO in that dialect and, on kvmi-v7, the CHECK_COMMAND
 * probe that tells the 2023 generation; the host's feature block; ready.
 */
#include <errno.h>
#include <string.h>

#include "session_int.h"

static void startup_reply(struct kvmi_session *s, struct kvmi__waiter *w);
static void features_seen(struct kvmi_session *s);

static int queue_startup(struct kvmi_session *s, struct kvmi__waiter *w,
			 int len, void *out, size_t cap)
{
	*w = (struct kvmi__waiter){.out = out, .out_cap = cap,
				   .cb = startup_reply};
	return kvmi__sess_queue_command(s, len, w);
}

/* speak @d from now on (the decoder switches between messages) */
void kvmi__sess_use_dialect(struct kvmi_session *s, enum kvmi_dialect d)
{
	s->dialect = d;
	s->dec_switch = kvmi_decoder_set_dialect(s->dec, d) == -EBUSY;
}

/* the version is known: GET_GUEST_INFO, and the kvmi-v7 probe */
static int startup_second(struct kvmi_session *s)
{
	struct kvmi__startup *st = &s->st;
	uint8_t *where;
	int err = kvmi__out_reserve(s, 64, &where);

	if (err)
		return err;
	err = queue_startup(s, &st->info,
			    kvmi_encode_get_guest_info_d(s->dialect, where, 32,
							 kvmi_seq_next(&s->seq)),
			    &st->info_reply, sizeof(st->info_reply));
	if (!err && s->dialect == KVMI_DIALECT_V7 && !s->cfg.force_dialect) {
		/* kvmi-v7 2023 added CHANGE_GFN with a view (id 39): allowed
		 * there, unknown before */
		where = s->out + s->out_len;
		err = queue_startup(s, &st->probe,
				    kvmi_encode_check_command_d(
					    KVMI_DIALECT_V7, where, 32,
					    kvmi_seq_next(&s->seq), 39),
				    NULL, 0);
		st->probing = !err;
	}
	st->second = !err;
	if (!err)
		kvmi__sess_wake(s);
	return err;
}

static void startup_reply(struct kvmi_session *s, struct kvmi__waiter *w)
{
	struct kvmi__startup *st = &s->st;
	int err;

	if (s->error || s->ready)
		return;
	if (w == &st->ver) {
		err = st->ver.result;
		if (!err && st->ver_reply.version < 1) {
			kvmi__sess_log(s, KVMI_LOG_ERROR,
				       "host speaks KVMI version %u; version 1 "
				       "or later is required",
				       st->ver_reply.version);
			err = KVMI_E_VERSION;
		}
		if (!err)
			err = startup_second(s);
		if (err) {
			kvmi__sess_log(s, KVMI_LOG_ERROR,
				       "start-up commands failed: %s",
				       kvmi_strerror(err));
			kvmi_session_fail(s, err);
		}
		return;
	}
	if (!st->info.done || (st->probing && !st->probe.done))
		return;
	if (st->info.result) {
		kvmi__sess_log(s, KVMI_LOG_ERROR, "start-up commands failed: %s",
			       kvmi_strerror(st->info.result));
		kvmi_session_fail(s, st->info.result);
		return;
	}
	if (st->probing && st->probe.result == 0)
		kvmi__sess_use_dialect(s, KVMI_DIALECT_V7_2023);
	s->version = st->ver_reply.version;
	features_seen(s);
	if (st->info_reply.vcpu_count > s->vcpu_count)
		s->vcpu_count = st->info_reply.vcpu_count;
	if (s->vcpu_count > s->cfg.max_vcpus)
		s->vcpu_count = s->cfg.max_vcpus;
	s->ready = true;
	kvmi__sess_log(s, KVMI_LOG_DEBUG, "host dialect %s",
		       kvmi_dialect_name(s->dialect));
	if (s->cbs.ready) {
		s->depth++;
		s->cbs.ready(s, s->user);
		s->depth--;
	}
}

KVMI_EXPORT int kvmi_session_start(struct kvmi_session *s)
{
	struct kvmi__startup *st;
	uint8_t *where;
	int err;

	if (!s)
		return -EINVAL;
	st = &s->st;
	if (st->started)
		return -EALREADY;
	if (s->error)
		return -ENOTCONN;
	err = kvmi__out_reserve(s, 32, &where);
	if (!err)
		err = queue_startup(s, &st->ver,
				    kvmi_encode_get_version(
					    where, 32, kvmi_seq_next(&s->seq)),
				    &st->ver_reply, sizeof(st->ver_reply));
	if (!err)
		st->started = true;
	return err;
}

/* the host's feature block, in the layout of the dialect spoken, when
 * the reply had one (16 bytes: kvmi-v7, v12; v6 and early v12 have 8) */
static void features_seen(struct kvmi_session *s)
{
	const struct kvmi__startup *st = &s->st;
	const struct kvmi_v7_features *f = &st->ver_reply.features;

	memset(&s->features, 0, sizeof(s->features));
	if (st->ver.out_len < sizeof(st->ver_reply))
		return;
	switch (s->dialect) {
	case KVMI_DIALECT_V7:
	case KVMI_DIALECT_V7_2023:
		s->features.present = 1;
		s->features.spp = f->spp != 0;
		s->features.vmfunc = f->vmfunc != 0;
		s->features.eptp = f->eptp != 0;
		s->features.ve = f->ve != 0;
		s->features.singlestep = f->singlestep != 0;
		break;
	case KVMI_DIALECT_V12:
		/* v12's block has one flag, at its first byte */
		s->features.present = 1;
		s->features.singlestep = f->spp != 0;
		break;
	default:
		break;
	}
}

KVMI_EXPORT int kvmi_session_features(const struct kvmi_session *s,
				      struct kvmi_host_features *out)
{
	if (!s || !out)
		return -EINVAL;
	*out = s->features;
	return 0;
}

/* the GET_VERSION reply, as it is read: the dialect of everything after
 * it (decoded in this very call, so the switch cannot wait) */
void kvmi__sess_version_seen(struct kvmi_session *s, const struct kvmi_msg *m)
{
	enum kvmi_dialect d;

	if (s->cfg.force_dialect || m->u.reply.err ||
	    kvmi_dialect_from_version_reply(m->u.reply.data,
					    m->u.reply.data_len, &d) < 0)
		return;
	kvmi__sess_use_dialect(s, d);
}

