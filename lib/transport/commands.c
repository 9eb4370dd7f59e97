/*
 * libkvmi - commands.c: every core command in two forms: asynchronous
 * (kvmi_dom_*_async: queued, the callback runs from the loop with the
 * result) and synchronous (the same, then a wait that keeps every other
 * message queued).  A single-message command is one struct kvmi__cmd;
 * physical accesses and page-access lists are split per page / per
 * message into a pipelined batch.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "internal.h"

#define MSG_MAX KVMI_ENCODE_MAX

struct kvmi__cmd {
	struct kvmi__waiter w;
	struct kvmi_dom *dom;
	kvmi__cmd_finish finish; /* reply -> the caller's outputs */
	void *out[4];		 /* the caller's outputs */
	size_t aux;		 /* what finish needs (counts, lengths) */
	size_t off, size;	 /* finish_copy: the field to copy */
	kvmi_dom_cmd_cb cb;
	void *ctx;
	uint8_t reply[];
};

int kvmi__cmd_reserve(struct kvmi_dom *dom, uint8_t **where)
{
	if (!kvmi__dom_usable(dom))
		return -ENOTCONN;
	return kvmi__out_reserve(dom->sess, MSG_MAX, where);
}

static void cmd_done(struct kvmi_session *s, struct kvmi__waiter *w)
{
	struct kvmi__cmd *c = (struct kvmi__cmd *)w;

	(void)s;
	if (w->result == 0 && c->finish)
		c->finish(c); /* may turn the result into an error or count */
	c->cb(c->dom, w->result, c->ctx);
	free(c);
}

static struct kvmi__cmd *cmd_queue(struct kvmi_dom *dom, int len,
				   size_t reply_cap, kvmi__cmd_finish finish,
				   kvmi_dom_cmd_cb cb, void *ctx, int *err)
{
	struct kvmi__cmd *c;

	*err = len < 0 ? len : 0;
	if (*err)
		return NULL;
	c = kvmi__calloc(1, sizeof(*c) + reply_cap);
	if (!c) {
		*err = -ENOMEM;
		return NULL;
	}
	c->w.out = reply_cap ? c->reply : NULL;
	c->w.out_cap = reply_cap;
	c->w.cb = cmd_done;
	c->w.sync = cb == kvmi__sync_cb;
	c->dom = dom;
	c->finish = finish;
	c->cb = cb;
	c->ctx = ctx;
	*err = kvmi__sess_queue_command(dom->sess, len, &c->w);
	if (*err) {
		free(c);
		return NULL;
	}
	kvmi__dom_output(dom);
	return c;
}

/* copy one field of the reply into the caller's output */
static void finish_copy(struct kvmi__cmd *c)
{
	if (c->w.out_len < c->off + c->size) {
		c->w.result = KVMI_E_MSG_SIZE;
		return;
	}
	memcpy(c->out[0], c->reply + c->off, c->size);
}

int kvmi__cmd_queue_copy(struct kvmi_dom *dom, int len, size_t reply_cap,
			 void *out, size_t off, size_t size,
			 kvmi_dom_cmd_cb cb, void *ctx)
{
	int err;
	struct kvmi__cmd *c = cmd_queue(dom, len, reply_cap,
					size ? finish_copy : NULL, cb, ctx,
					&err);

	if (c) {
		c->out[0] = out;
		c->off = off;
		c->size = size;
	}
	return err;
}

/* encode with EXPR into `where` and queue it; the reply is @cap bytes */
#define QUEUE(dom, cap, finish, EXPR)                                          \
	({                                                                     \
		uint8_t *where;                                                \
		int e_ = kvmi__cmd_reserve(dom, &where);                       \
		struct kvmi__cmd *c_ = NULL;                                   \
		if (!e_)                                                       \
			c_ = cmd_queue(dom, (EXPR), cap, finish, cb, ctx,      \
				       &e_);                                   \
		(void)c_;                                                      \
		c_;                                                            \
	})
#define SEQ (kvmi_seq_next(&dom->sess->seq))
#define DIALECT (dom->sess->dialect)
/* an event id of the common numbering as the connected host's wire id */
#define EVENT_WIRE(id) ((uint16_t)kvmi__event_to_wire(dom->sess, (id)))

/* a command without reply data */
#define PLAIN(dom, EXPR)                                                       \
	do {                                                                   \
		uint8_t *where;                                                \
		int e_;                                                        \
		if (!dom || !cb)                                               \
			return -EINVAL;                                        \
		e_ = kvmi__cmd_reserve(dom, &where);                           \
		if (!e_)                                                       \
			cmd_queue(dom, (EXPR), 0, NULL, cb, ctx, &e_);         \
		return e_;                                                     \
	} while (0)

/* a command whose reply struct @T has one field @F for output @outp */
#define FIELD(dom, T, F, outp, EXPR)                                           \
	do {                                                                   \
		uint8_t *where;                                                \
		struct kvmi__cmd *c_;                                          \
		int e_;                                                        \
		if (!dom || !cb || !(outp))                                    \
			return -EINVAL;                                        \
		e_ = kvmi__cmd_reserve(dom, &where);                           \
		if (e_)                                                        \
			return e_;                                             \
		c_ = cmd_queue(dom, (EXPR), sizeof(T), finish_copy, cb, ctx,   \
			       &e_);                                           \
		if (c_) {                                                      \
			c_->out[0] = (outp);                                   \
			c_->off = offsetof(T, F);                              \
			c_->size = sizeof(((T *)0)->F);                        \
		}                                                              \
		return e_;                                                     \
	} while (0)



/* ---- one message each ---- */

KVMI_EXPORT int kvmi_dom_get_version_async(struct kvmi_dom *dom,
					   uint32_t *version,
					   kvmi_dom_cmd_cb cb, void *ctx)
{
	FIELD(dom, struct kvmi_get_version_reply, version, version,
	      kvmi_encode_get_version(where, MSG_MAX, SEQ));
}

KVMI_EXPORT int kvmi_dom_get_version(struct kvmi_dom *dom, uint32_t *version)
{
	SYNC(dom, kvmi_dom_get_version_async(dom, version, SCB));
}

KVMI_EXPORT int kvmi_dom_check_command_async(struct kvmi_dom *dom,
					     uint16_t id, kvmi_dom_cmd_cb cb,
					     void *ctx)
{
	/* @id is in the common numbering, like every other id of this API;
	 * the host is asked about its own (wire) id for that command */
	int wire = dom ? kvmi_dialect_msg_to_wire(DIALECT, id) : -EINVAL;

	if (wire < 0)
		return dom ? -EOPNOTSUPP : -EINVAL;
	PLAIN(dom, kvmi_encode_check_command_d(DIALECT, where, MSG_MAX, SEQ,
					       (uint16_t)wire));
}

KVMI_EXPORT int kvmi_dom_check_command(struct kvmi_dom *dom, uint16_t id)
{
	SYNC(dom, kvmi_dom_check_command_async(dom, id, SCB));
}

KVMI_EXPORT int kvmi_dom_check_event_async(struct kvmi_dom *dom,
					   uint16_t event_id,
					   kvmi_dom_cmd_cb cb, void *ctx)
{
	PLAIN(dom, kvmi_encode_check_event_d(DIALECT, where, MSG_MAX, SEQ,
					     EVENT_WIRE(event_id)));
}

KVMI_EXPORT int kvmi_dom_check_event(struct kvmi_dom *dom, uint16_t event_id)
{
	SYNC(dom, kvmi_dom_check_event_async(dom, event_id, SCB));
}

KVMI_EXPORT int kvmi_dom_get_guest_info_async(struct kvmi_dom *dom,
					      uint32_t *vcpu_count,
					      kvmi_dom_cmd_cb cb, void *ctx)
{
	FIELD(dom, struct kvmi_get_guest_info_reply, vcpu_count, vcpu_count,
	      kvmi_encode_get_guest_info_d(DIALECT, where, MSG_MAX, SEQ));
}

KVMI_EXPORT int kvmi_dom_get_guest_info(struct kvmi_dom *dom,
					uint32_t *vcpu_count)
{
	SYNC(dom, kvmi_dom_get_guest_info_async(dom, vcpu_count, SCB));
}

KVMI_EXPORT int kvmi_dom_get_vcpu_info_async(struct kvmi_dom *dom,
					     uint16_t vcpu,
					     uint64_t *tsc_speed,
					     kvmi_dom_cmd_cb cb, void *ctx)
{
	FIELD(dom, struct kvmi_get_vcpu_info_reply, tsc_speed, tsc_speed,
	      kvmi_encode_get_vcpu_info_d(DIALECT, where, MSG_MAX, SEQ, vcpu));
}

KVMI_EXPORT int kvmi_dom_get_vcpu_info(struct kvmi_dom *dom, uint16_t vcpu,
				       uint64_t *tsc_speed)
{
	SYNC(dom, kvmi_dom_get_vcpu_info_async(dom, vcpu, tsc_speed, SCB));
}

KVMI_EXPORT int kvmi_dom_pause_vcpu_async(struct kvmi_dom *dom, uint16_t vcpu,
					  int wait, kvmi_dom_cmd_cb cb,
					  void *ctx)
{
	PLAIN(dom, kvmi_encode_pause_vcpu_d(DIALECT, where, MSG_MAX, SEQ, vcpu, wait));
}

KVMI_EXPORT int kvmi_dom_pause_vcpu(struct kvmi_dom *dom, uint16_t vcpu,
				    int wait)
{
	SYNC(dom, kvmi_dom_pause_vcpu_async(dom, vcpu, wait, SCB));
}

KVMI_EXPORT int kvmi_dom_control_vm_events_async(struct kvmi_dom *dom,
						 uint16_t event_id, int enable,
						 kvmi_dom_cmd_cb cb, void *ctx)
{
	PLAIN(dom, kvmi_encode_control_vm_events_d(DIALECT, where, MSG_MAX, SEQ,
						   EVENT_WIRE(event_id), enable));
}

KVMI_EXPORT int kvmi_dom_control_vm_events(struct kvmi_dom *dom,
					   uint16_t event_id, int enable)
{
	SYNC(dom, kvmi_dom_control_vm_events_async(dom, event_id, enable, SCB));
}

KVMI_EXPORT int kvmi_dom_control_events_async(struct kvmi_dom *dom,
					      uint16_t vcpu, uint16_t event_id,
					      int enable, kvmi_dom_cmd_cb cb,
					      void *ctx)
{
	PLAIN(dom, kvmi_encode_control_events_d(DIALECT, where, MSG_MAX, SEQ, vcpu,
						EVENT_WIRE(event_id), enable));
}

KVMI_EXPORT int kvmi_dom_control_events(struct kvmi_dom *dom, uint16_t vcpu,
					uint16_t event_id, int enable)
{
	SYNC(dom,
	     kvmi_dom_control_events_async(dom, vcpu, event_id, enable, SCB));
}

KVMI_EXPORT int kvmi_dom_control_cr_async(struct kvmi_dom *dom, uint16_t vcpu,
					  uint32_t cr, int enable,
					  kvmi_dom_cmd_cb cb, void *ctx)
{
	PLAIN(dom,
	      kvmi_encode_control_cr_d(DIALECT, where, MSG_MAX, SEQ, vcpu, cr, enable));
}

KVMI_EXPORT int kvmi_dom_control_cr(struct kvmi_dom *dom, uint16_t vcpu,
				    uint32_t cr, int enable)
{
	SYNC(dom, kvmi_dom_control_cr_async(dom, vcpu, cr, enable, SCB));
}

KVMI_EXPORT int kvmi_dom_control_msr_async(struct kvmi_dom *dom,
					   uint16_t vcpu, uint32_t msr,
					   int enable, kvmi_dom_cmd_cb cb,
					   void *ctx)
{
	PLAIN(dom, kvmi_encode_control_msr_d(DIALECT, where, MSG_MAX, SEQ, vcpu, msr,
					   enable));
}

KVMI_EXPORT int kvmi_dom_control_msr(struct kvmi_dom *dom, uint16_t vcpu,
				     uint32_t msr, int enable)
{
	SYNC(dom, kvmi_dom_control_msr_async(dom, vcpu, msr, enable, SCB));
}

/* GET_REGISTERS: out = regs, sregs, msrs, mode; aux = nmsrs */
static void finish_registers(struct kvmi__cmd *c)
{
	const struct kvmi_get_registers_reply *r = (const void *)c->reply;
	const struct kvm_msr_entry *e = (const void *)(r + 1);
	struct kvm_msr_entry *msrs = c->out[2];

	if (c->w.out_len != c->w.out_cap || r->msrs.nmsrs != c->aux) {
		c->w.result = KVMI_E_MSG_SIZE;
		return;
	}
	if (c->out[0])
		memcpy(c->out[0], &r->regs, sizeof(r->regs));
	if (c->out[1])
		memcpy(c->out[1], &r->sregs, sizeof(r->sregs));
	if (c->out[3])
		memcpy(c->out[3], &r->mode, sizeof(r->mode));
	for (size_t i = 0; i < c->aux; i++)
		msrs[i].data = e[i].data;
}

KVMI_EXPORT int kvmi_dom_get_registers_async(
	struct kvmi_dom *dom, uint16_t vcpu, struct kvm_regs *regs,
	struct kvm_sregs *sregs, struct kvm_msr_entry *msrs, size_t nmsrs,
	uint32_t *mode, kvmi_dom_cmd_cb cb, void *ctx)
{
	size_t cap = sizeof(struct kvmi_get_registers_reply) +
		     nmsrs * sizeof(struct kvm_msr_entry);
	uint32_t idx[KVMI_GET_REGISTERS_MAX_MSRS];
	struct kvmi__cmd *c;

	if (!dom || !cb || (nmsrs && !msrs))
		return -EINVAL;
	if (nmsrs > KVMI_GET_REGISTERS_MAX_MSRS)
		return KVMI_E_TOO_MANY;
	for (size_t i = 0; i < nmsrs; i++)
		idx[i] = msrs[i].index;
	c = QUEUE(dom, cap, finish_registers,
		  kvmi_encode_get_registers_d(DIALECT, where, MSG_MAX, SEQ, vcpu, idx,
					    nmsrs));
	if (!c)
		return kvmi__dom_usable(dom) ? -ENOMEM : -ENOTCONN;
	c->out[0] = regs;
	c->out[1] = sregs;
	c->out[2] = msrs;
	c->out[3] = mode;
	c->aux = nmsrs;
	return 0;
}

KVMI_EXPORT int kvmi_dom_get_registers(struct kvmi_dom *dom, uint16_t vcpu,
				       struct kvm_regs *regs,
				       struct kvm_sregs *sregs,
				       struct kvm_msr_entry *msrs,
				       size_t nmsrs, uint32_t *mode)
{
	SYNC(dom, kvmi_dom_get_registers_async(dom, vcpu, regs, sregs, msrs,
					       nmsrs, mode, SCB));
}

KVMI_EXPORT int kvmi_dom_set_registers_async(struct kvmi_dom *dom,
					     uint16_t vcpu,
					     const struct kvm_regs *regs,
					     kvmi_dom_cmd_cb cb, void *ctx)
{
	if (!regs)
		return -EINVAL;
	PLAIN(dom, kvmi_encode_set_registers_d(DIALECT, where, MSG_MAX, SEQ, vcpu, regs));
}

KVMI_EXPORT int kvmi_dom_set_registers(struct kvmi_dom *dom, uint16_t vcpu,
				       const struct kvm_regs *regs)
{
	SYNC(dom, kvmi_dom_set_registers_async(dom, vcpu, regs, SCB));
}

KVMI_EXPORT int kvmi_dom_get_cpuid_async(struct kvmi_dom *dom, uint16_t vcpu,
					 uint32_t function, uint32_t index,
					 struct kvmi_get_cpuid_reply *out,
					 kvmi_dom_cmd_cb cb, void *ctx)
{
	struct kvmi__cmd *c;

	if (!dom || !cb || !out)
		return -EINVAL;
	c = QUEUE(dom, sizeof(*out), finish_copy,
		  kvmi_encode_get_cpuid_d(DIALECT, where, MSG_MAX, SEQ, vcpu, function,
					index));
	if (!c)
		return kvmi__dom_usable(dom) ? -ENOMEM : -ENOTCONN;
	c->out[0] = out;
	c->size = sizeof(*out);
	return 0;
}

KVMI_EXPORT int kvmi_dom_get_cpuid(struct kvmi_dom *dom, uint16_t vcpu,
				   uint32_t function, uint32_t index,
				   struct kvmi_get_cpuid_reply *out)
{
	SYNC(dom,
	     kvmi_dom_get_cpuid_async(dom, vcpu, function, index, out, SCB));
}

/* GET_XSAVE: min(size, aux) bytes to out[0]; the result is that count */
static void finish_xsave(struct kvmi__cmd *c)
{
	size_t n = c->w.out_len < c->aux ? c->w.out_len : c->aux;

	if (n)
		memcpy(c->out[0], c->reply, n);
	c->w.result = (int)n;
}

KVMI_EXPORT int kvmi_dom_get_xsave_async(struct kvmi_dom *dom, uint16_t vcpu,
					 void *buf, size_t len,
					 kvmi_dom_cmd_cb cb, void *ctx)
{
	struct kvmi__cmd *c;

	if (!dom || !cb || (!buf && len))
		return -EINVAL;
	c = QUEUE(dom, KVMI_HOST_MSG_SIZE_VALUE, finish_xsave,
		  kvmi_encode_get_xsave_d(DIALECT, where, MSG_MAX, SEQ, vcpu));
	if (!c)
		return kvmi__dom_usable(dom) ? -ENOMEM : -ENOTCONN;
	c->out[0] = buf;
	c->aux = len;
	return 0;
}

KVMI_EXPORT int kvmi_dom_get_xsave(struct kvmi_dom *dom, uint16_t vcpu,
				   void *buf, size_t len)
{
	SYNC(dom, kvmi_dom_get_xsave_async(dom, vcpu, buf, len, SCB));
}

KVMI_EXPORT int kvmi_dom_inject_exception_async(
	struct kvmi_dom *dom, uint16_t vcpu, uint8_t nr, int has_error,
	uint32_t error_code, uint64_t address, kvmi_dom_cmd_cb cb, void *ctx)
{
	PLAIN(dom, kvmi_encode_inject_exception_d(DIALECT, where, MSG_MAX, SEQ, vcpu, nr,
						has_error, error_code,
						address));
}

KVMI_EXPORT int kvmi_dom_inject_exception(struct kvmi_dom *dom, uint16_t vcpu,
					  uint8_t nr, int has_error,
					  uint32_t error_code,
					  uint64_t address)
{
	SYNC(dom, kvmi_dom_inject_exception_async(dom, vcpu, nr, has_error,
						  error_code, address, SCB));
}

KVMI_EXPORT int kvmi_dom_get_mtrr_type_async(struct kvmi_dom *dom,
					     uint16_t vcpu, uint64_t gpa,
					     uint8_t *type, kvmi_dom_cmd_cb cb,
					     void *ctx)
{
	FIELD(dom, struct kvmi_get_mtrr_type_reply, type, type,
	      kvmi_encode_get_mtrr_type_d(DIALECT, where, MSG_MAX, SEQ, vcpu, gpa));
}

KVMI_EXPORT int kvmi_dom_get_mtrr_type(struct kvmi_dom *dom, uint16_t vcpu,
				       uint64_t gpa, uint8_t *type)
{
	SYNC(dom, kvmi_dom_get_mtrr_type_async(dom, vcpu, gpa, type, SCB));
}

KVMI_EXPORT int kvmi_dom_get_max_gfn_async(struct kvmi_dom *dom,
					   uint64_t *gfn, kvmi_dom_cmd_cb cb,
					   void *ctx)
{
	FIELD(dom, struct kvmi_get_max_gfn_reply, gfn, gfn,
	      kvmi_encode_get_max_gfn_d(DIALECT, where, MSG_MAX, SEQ));
}

KVMI_EXPORT int kvmi_dom_get_max_gfn(struct kvmi_dom *dom, uint64_t *gfn)
{
	SYNC(dom, kvmi_dom_get_max_gfn_async(dom, gfn, SCB));
}

int kvmi__write_physical_async(struct kvmi_dom *dom, uint64_t gpa,
			       const void *buf, size_t len,
			       struct kvmi__waiter *w)
{
	uint8_t *where;
	int err = kvmi__cmd_reserve(dom, &where);

	if (err)
		return err;
	return kvmi__sess_queue_command(
		dom->sess,
		kvmi_encode_write_physical_d(DIALECT, where, MSG_MAX, SEQ, gpa, buf, len),
		w);
}

/* ---- several messages: a batch sent whole ---- */

/* queue the items with @add into a new batch and send it with @cb */
int kvmi__dom_batched(struct kvmi_dom *dom,
		      int (*add)(struct kvmi_pipeline *, const void *),
		      const void *args, kvmi_dom_cmd_cb cb, void *ctx)
{
	struct kvmi_pipeline *b;
	int err;

	if (!dom || !cb)
		return -EINVAL;
	err = kvmi_pipeline_new(dom, 0, &b);
	if (err)
		return err;
	err = add(b, args);
	if (err < 0) {
		kvmi_pipeline_free(b);
		return err;
	}
	return kvmi_pipeline_send(b, cb, ctx); /* frees @b, also on failure */
}

struct phys_args {
	uint64_t gpa;
	void *rbuf;
	const void *wbuf;
	size_t len;
	const uint64_t *gpas;
	uint8_t *access;
	const struct kvmi_page_access_entry *entries;
};

static int add_read(struct kvmi_pipeline *b, const void *a)
{
	const struct phys_args *p = a;

	return kvmi_pipeline_read_physical(b, p->gpa, p->rbuf, p->len);
}

static int add_write(struct kvmi_pipeline *b, const void *a)
{
	const struct phys_args *p = a;

	return kvmi_pipeline_write_physical(b, p->gpa, p->wbuf, p->len);
}

static int add_get_access(struct kvmi_pipeline *b, const void *a)
{
	const struct phys_args *p = a;

	return kvmi_pipeline_get_page_access(b, p->gpas, p->access, p->len);
}

static int add_set_access(struct kvmi_pipeline *b, const void *a)
{
	const struct phys_args *p = a;

	return kvmi_pipeline_set_page_access(b, p->entries, p->len);
}

KVMI_EXPORT int kvmi_dom_read_physical_async(struct kvmi_dom *dom,
					     uint64_t gpa, void *buf,
					     size_t len, kvmi_dom_cmd_cb cb,
					     void *ctx)
{
	struct phys_args a = {.gpa = gpa, .rbuf = buf, .len = len};

	if (!buf)
		return -EINVAL;
	return kvmi__dom_batched(dom, add_read, &a, cb, ctx);
}

KVMI_EXPORT int kvmi_dom_read_physical(struct kvmi_dom *dom, uint64_t gpa,
				       void *buf, size_t len)
{
	SYNC(dom, kvmi_dom_read_physical_async(dom, gpa, buf, len, SCB));
}

KVMI_EXPORT int kvmi_dom_write_physical_async(struct kvmi_dom *dom,
					      uint64_t gpa, const void *buf,
					      size_t len, kvmi_dom_cmd_cb cb,
					      void *ctx)
{
	struct phys_args a = {.gpa = gpa, .wbuf = buf, .len = len};

	if (!buf)
		return -EINVAL;
	return kvmi__dom_batched(dom, add_write, &a, cb, ctx);
}

KVMI_EXPORT int kvmi_dom_write_physical(struct kvmi_dom *dom, uint64_t gpa,
					const void *buf, size_t len)
{
	SYNC(dom, kvmi_dom_write_physical_async(dom, gpa, buf, len, SCB));
}

KVMI_EXPORT int kvmi_dom_get_page_access_async(struct kvmi_dom *dom,
					       const uint64_t *gpas,
					       uint8_t *access, size_t count,
					       kvmi_dom_cmd_cb cb, void *ctx)
{
	struct phys_args a = {.gpas = gpas, .access = access, .len = count};

	return kvmi__dom_batched(dom, add_get_access, &a, cb, ctx);
}

KVMI_EXPORT int kvmi_dom_get_page_access(struct kvmi_dom *dom,
					 const uint64_t *gpas, uint8_t *access,
					 size_t count)
{
	SYNC(dom, kvmi_dom_get_page_access_async(dom, gpas, access, count,
						 SCB));
}

KVMI_EXPORT int kvmi_dom_set_page_access_async(
	struct kvmi_dom *dom, const struct kvmi_page_access_entry *entries,
	size_t count, kvmi_dom_cmd_cb cb, void *ctx)
{
	struct phys_args a = {.entries = entries, .len = count};

	return kvmi__dom_batched(dom, add_set_access, &a, cb, ctx);
}

KVMI_EXPORT int
kvmi_dom_set_page_access(struct kvmi_dom *dom,
			 const struct kvmi_page_access_entry *entries,
			 size_t count)
{
	SYNC(dom, kvmi_dom_set_page_access_async(dom, entries, count, SCB));
}

static int add_pause_all(struct kvmi_pipeline *b, const void *a)
{
	unsigned int n = kvmi_dom_vcpu_count(kvmi_pipeline_dom(b));

	(void)a;
	for (unsigned int v = 0; v < n; v++) {
		int r = kvmi_pipeline_pause_vcpu(b, (uint16_t)v, 1);

		if (r < 0)
			return r;
	}
	return 0;
}

KVMI_EXPORT int kvmi_dom_pause_all_async(struct kvmi_dom *dom,
					 kvmi_dom_cmd_cb cb, void *ctx)
{
	return kvmi__dom_batched(dom, add_pause_all, NULL, cb, ctx);
}

KVMI_EXPORT int kvmi_dom_pause_all(struct kvmi_dom *dom)
{
	SYNC(dom, kvmi_dom_pause_all_async(dom, SCB));
}
