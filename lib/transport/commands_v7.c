/*
 * libkvmi - commands_v7.c: the kvmi-v7 commands of the domain API
 * (include/kvmi/domain-v7.h) in their asynchronous and synchronous forms,
 * and the v12 commands that share their meaning.  A call the domain's
 * dialect lacks, or an argument the dialect cannot carry, is refused
 * before anything is encoded (no sequence number taken).
 */
#include <errno.h>
#include <stddef.h>

#include <kvmi/domain-v7.h>

#include "internal.h"

#define MSG_MAX KVMI_ENCODE_MAX
#define SEQ	(kvmi_seq_next(&dom->sess->seq))
#define DIALECT (dom->sess->dialect)

static int is_v7(enum kvmi_dialect d)
{
	return d == KVMI_DIALECT_V7 || d == KVMI_DIALECT_V7_2023;
}

int kvmi__dialect_lacks(enum kvmi_dialect d, unsigned int op)
{
	return kvmi_dialect_msg_to_wire(d, op) < 0 ? -EOPNOTSUPP : 0;
}

int kvmi__view_arg(enum kvmi_dialect d, unsigned int view)
{
	unsigned int n = d == KVMI_DIALECT_V7 ? KVMI_V7_2021_MAX_EPT_VIEWS
			 : d == KVMI_DIALECT_V7_2023
			     ? KVMI_V7_2023_MAX_EPT_VIEWS
			     : 1;

	if (view < n)
		return 0;
	return is_v7(d) ? -EINVAL : -EOPNOTSUPP;
}

int kvmi__change_gfn_arg(enum kvmi_dialect d, unsigned int view)
{
	if (d == KVMI_DIALECT_V7 && view)
		return -EOPNOTSUPP; /* the 2021 message has no view */
	return kvmi__view_arg(d, view);
}

/* what every call checks first: @dom and @cb given, the dialect has
 * @op, then @bad (0 or the argument's error); room for the message */
static int start(struct kvmi_dom *dom, unsigned int op, kvmi_dom_cmd_cb cb,
		 int bad, uint8_t **where)
{
	int err;

	if (!dom || !cb)
		return -EINVAL;
	err = kvmi__dialect_lacks(kvmi_dom_dialect(dom), op);
	if (err || bad)
		return err ? err : bad;
	return kvmi__cmd_reserve(dom, where);
}

/* queue EXPR (encoded at `where`) for operation @op; @size bytes at @off
 * of the reply go to @outp */
#define QUEUE_V7(op, bad, cap, outp, off, size, EXPR)                          \
	do {                                                                   \
		uint8_t *where;                                                \
		int e_ = start(dom, (op), cb, (bad), &where);                  \
		if (e_)                                                        \
			return e_;                                             \
		return kvmi__cmd_queue_copy(dom, (EXPR), (cap), (outp), (off), \
					    (size), cb, ctx);                  \
	} while (0)
/* a command without reply data */
#define PLAIN_V7(op, bad, EXPR) QUEUE_V7(op, bad, 0, NULL, 0, 0, EXPR)
/* a command whose reply struct @T has the one field @F for @outp */
#define FIELD_V7(op, bad, T, F, outp, EXPR)                                    \
	QUEUE_V7(op, (outp) ? (bad) : -EINVAL, sizeof(T), outp,                \
		 offsetof(T, F), sizeof(((T *)0)->F), EXPR)

/* ---- EPT views ---- */

KVMI_EXPORT int kvmi_dom_create_ept_view_async(struct kvmi_dom *dom,
					       uint16_t *view,
					       kvmi_dom_cmd_cb cb, void *ctx)
{
	FIELD_V7(KVMI_V7_VM_CREATE_EPT_VIEW, 0,
		 struct kvmi_v7_vm_create_ept_view_reply, view, view,
		 kvmi_encode_create_ept_view_d(DIALECT, where, MSG_MAX, SEQ));
}

KVMI_EXPORT int kvmi_dom_create_ept_view(struct kvmi_dom *dom, uint16_t *view)
{
	SYNC(dom, kvmi_dom_create_ept_view_async(dom, view, SCB));
}

KVMI_EXPORT int kvmi_dom_destroy_ept_view_async(struct kvmi_dom *dom,
						uint16_t view,
						kvmi_dom_cmd_cb cb, void *ctx)
{
	PLAIN_V7(
	    KVMI_V7_VM_DESTROY_EPT_VIEW,
	    view ? kvmi__view_arg(kvmi_dom_dialect(dom), view) : -EINVAL,
	    kvmi_encode_destroy_ept_view_d(DIALECT, where, MSG_MAX, SEQ, view));
}

KVMI_EXPORT int kvmi_dom_destroy_ept_view(struct kvmi_dom *dom, uint16_t view)
{
	SYNC(dom, kvmi_dom_destroy_ept_view_async(dom, view, SCB));
}

KVMI_EXPORT int kvmi_dom_set_ept_view_async(struct kvmi_dom *dom, uint16_t vcpu,
					    uint16_t view, kvmi_dom_cmd_cb cb,
					    void *ctx)
{
	PLAIN_V7(KVMI_V7_VCPU_SET_EPT_VIEW,
		 kvmi__view_arg(kvmi_dom_dialect(dom), view),
		 kvmi_encode_set_ept_view_d(DIALECT, where, MSG_MAX, SEQ, vcpu,
					    view));
}

KVMI_EXPORT int kvmi_dom_set_ept_view(struct kvmi_dom *dom, uint16_t vcpu,
				      uint16_t view)
{
	SYNC(dom, kvmi_dom_set_ept_view_async(dom, vcpu, view, SCB));
}

KVMI_EXPORT int kvmi_dom_get_ept_view_async(struct kvmi_dom *dom, uint16_t vcpu,
					    uint16_t *view, kvmi_dom_cmd_cb cb,
					    void *ctx)
{
	FIELD_V7(
	    KVMI_V7_VCPU_GET_EPT_VIEW, 0,
	    struct kvmi_v7_vcpu_get_ept_view_reply, view, view,
	    kvmi_encode_get_ept_view_d(DIALECT, where, MSG_MAX, SEQ, vcpu));
}

KVMI_EXPORT int kvmi_dom_get_ept_view(struct kvmi_dom *dom, uint16_t vcpu,
				      uint16_t *view)
{
	SYNC(dom, kvmi_dom_get_ept_view_async(dom, vcpu, view, SCB));
}

KVMI_EXPORT int kvmi_dom_control_ept_view_async(struct kvmi_dom *dom,
						uint16_t vcpu, uint16_t view,
						int visible, kvmi_dom_cmd_cb cb,
						void *ctx)
{
	PLAIN_V7(KVMI_V7_VCPU_CONTROL_EPT_VIEW,
		 kvmi__view_arg(kvmi_dom_dialect(dom), view),
		 kvmi_encode_control_ept_view_d(DIALECT, where, MSG_MAX, SEQ,
						vcpu, view, visible));
}

KVMI_EXPORT int kvmi_dom_control_ept_view(struct kvmi_dom *dom, uint16_t vcpu,
					  uint16_t view, int visible)
{
	SYNC(dom,
	     kvmi_dom_control_ept_view_async(dom, vcpu, view, visible, SCB));
}

struct access_args {
	uint16_t view;
	const struct kvmi_page_access_entry *entries;
	size_t count;
};

static int add_access_view(struct kvmi_pipeline *b, const void *args)
{
	const struct access_args *a = args;

	return kvmi_pipeline_set_page_access_view(b, a->view, a->entries,
						  a->count);
}

KVMI_EXPORT int kvmi_dom_set_page_access_view_async(
    struct kvmi_dom *dom, uint16_t view,
    const struct kvmi_page_access_entry *entries, size_t count,
    kvmi_dom_cmd_cb cb, void *ctx)
{
	struct access_args a = {
	    .view = view, .entries = entries, .count = count};

	return kvmi__dom_batched(dom, add_access_view, &a, cb, ctx);
}

KVMI_EXPORT int
kvmi_dom_set_page_access_view(struct kvmi_dom *dom, uint16_t view,
			      const struct kvmi_page_access_entry *entries,
			      size_t count)
{
	SYNC(dom, kvmi_dom_set_page_access_view_async(dom, view, entries, count,
						      SCB));
}

/* ---- #VE, suppress-#VE, SPP ---- */

KVMI_EXPORT int kvmi_dom_set_ve_info_async(struct kvmi_dom *dom, uint16_t vcpu,
					   uint64_t gpa, int trigger_vmexit,
					   kvmi_dom_cmd_cb cb, void *ctx)
{
	PLAIN_V7(KVMI_V7_VCPU_SET_VE_INFO, 0,
		 kvmi_encode_set_ve_info_d(DIALECT, where, MSG_MAX, SEQ, vcpu,
					   gpa, trigger_vmexit));
}

KVMI_EXPORT int kvmi_dom_set_ve_info(struct kvmi_dom *dom, uint16_t vcpu,
				     uint64_t gpa, int trigger_vmexit)
{
	SYNC(dom,
	     kvmi_dom_set_ve_info_async(dom, vcpu, gpa, trigger_vmexit, SCB));
}

KVMI_EXPORT int kvmi_dom_disable_ve_async(struct kvmi_dom *dom, uint16_t vcpu,
					  kvmi_dom_cmd_cb cb, void *ctx)
{
	PLAIN_V7(KVMI_V7_VCPU_DISABLE_VE, 0,
		 kvmi_encode_disable_ve_d(DIALECT, where, MSG_MAX, SEQ, vcpu));
}

KVMI_EXPORT int kvmi_dom_disable_ve(struct kvmi_dom *dom, uint16_t vcpu)
{
	SYNC(dom, kvmi_dom_disable_ve_async(dom, vcpu, SCB));
}

KVMI_EXPORT int kvmi_dom_set_page_sve_async(struct kvmi_dom *dom, uint16_t view,
					    uint64_t gpa, int suppress,
					    kvmi_dom_cmd_cb cb, void *ctx)
{
	PLAIN_V7(KVMI_V7_VM_SET_PAGE_SVE,
		 kvmi__view_arg(kvmi_dom_dialect(dom), view),
		 kvmi_encode_set_page_sve_d(DIALECT, where, MSG_MAX, SEQ, view,
					    gpa, suppress));
}

KVMI_EXPORT int kvmi_dom_set_page_sve(struct kvmi_dom *dom, uint16_t view,
				      uint64_t gpa, int suppress)
{
	SYNC(dom, kvmi_dom_set_page_sve_async(dom, view, gpa, suppress, SCB));
}

KVMI_EXPORT int kvmi_dom_control_spp_async(struct kvmi_dom *dom, int enable,
					   kvmi_dom_cmd_cb cb, void *ctx)
{
	PLAIN_V7(
	    KVMI_CONTROL_SPP, 0,
	    kvmi_encode_control_spp_d(DIALECT, where, MSG_MAX, SEQ, enable));
}

KVMI_EXPORT int kvmi_dom_control_spp(struct kvmi_dom *dom, int enable)
{
	SYNC(dom, kvmi_dom_control_spp_async(dom, enable, SCB));
}

/* ---- vCPU state ---- */

KVMI_EXPORT int kvmi_dom_translate_gva_async(struct kvmi_dom *dom,
					     uint16_t vcpu, uint64_t gva,
					     uint64_t *gpa, kvmi_dom_cmd_cb cb,
					     void *ctx)
{
	FIELD_V7(KVMI_V7_VCPU_TRANSLATE_GVA, 0,
		 struct kvmi_v7_vcpu_translate_gva_reply, gpa, gpa,
		 kvmi_encode_translate_gva_d(DIALECT, where, MSG_MAX, SEQ, vcpu,
					     gva));
}

KVMI_EXPORT int kvmi_dom_translate_gva(struct kvmi_dom *dom, uint16_t vcpu,
				       uint64_t gva, uint64_t *gpa)
{
	SYNC(dom, kvmi_dom_translate_gva_async(dom, vcpu, gva, gpa, SCB));
}

KVMI_EXPORT int kvmi_dom_get_xcr_async(struct kvmi_dom *dom, uint16_t vcpu,
				       uint8_t xcr, uint64_t *value,
				       kvmi_dom_cmd_cb cb, void *ctx)
{
	FIELD_V7(
	    KVMI_V7_VCPU_GET_XCR, 0, struct kvmi_v7_vcpu_get_xcr_reply, value,
	    value,
	    kvmi_encode_get_xcr_d(DIALECT, where, MSG_MAX, SEQ, vcpu, xcr));
}

KVMI_EXPORT int kvmi_dom_get_xcr(struct kvmi_dom *dom, uint16_t vcpu,
				 uint8_t xcr, uint64_t *value)
{
	SYNC(dom, kvmi_dom_get_xcr_async(dom, vcpu, xcr, value, SCB));
}

KVMI_EXPORT int kvmi_dom_set_xsave_async(struct kvmi_dom *dom, uint16_t vcpu,
					 const void *area, size_t len,
					 kvmi_dom_cmd_cb cb, void *ctx)
{
	PLAIN_V7(KVMI_V7_VCPU_SET_XSAVE,
		 area && len && len <= sizeof(struct kvm_xsave) ? 0 : -EINVAL,
		 kvmi_encode_set_xsave_d(DIALECT, where, MSG_MAX, SEQ, vcpu,
					 area, len));
}

KVMI_EXPORT int kvmi_dom_set_xsave(struct kvmi_dom *dom, uint16_t vcpu,
				   const void *area, size_t len)
{
	SYNC(dom, kvmi_dom_set_xsave_async(dom, vcpu, area, len, SCB));
}

KVMI_EXPORT int kvmi_dom_control_singlestep_async(struct kvmi_dom *dom,
						  uint16_t vcpu, int enable,
						  kvmi_dom_cmd_cb cb, void *ctx)
{
	PLAIN_V7(KVMI_V7_VCPU_CONTROL_SINGLESTEP, 0,
		 kvmi_encode_control_singlestep_d(DIALECT, where, MSG_MAX, SEQ,
						  vcpu, enable));
}

KVMI_EXPORT int kvmi_dom_control_singlestep(struct kvmi_dom *dom, uint16_t vcpu,
					    int enable)
{
	SYNC(dom, kvmi_dom_control_singlestep_async(dom, vcpu, enable, SCB));
}

/* ---- guest frames ---- */

KVMI_EXPORT int kvmi_dom_change_gfn_async(struct kvmi_dom *dom, uint16_t vcpu,
					  uint16_t view, uint64_t old_gfn,
					  uint64_t new_gfn, kvmi_dom_cmd_cb cb,
					  void *ctx)
{
	PLAIN_V7(KVMI_V7_VCPU_CHANGE_GFN,
		 kvmi__change_gfn_arg(kvmi_dom_dialect(dom), view),
		 kvmi_encode_change_gfn_d(DIALECT, where, MSG_MAX, SEQ, vcpu,
					  view, old_gfn, new_gfn));
}

KVMI_EXPORT int kvmi_dom_change_gfn(struct kvmi_dom *dom, uint16_t vcpu,
				    uint16_t view, uint64_t old_gfn,
				    uint64_t new_gfn)
{
	SYNC(dom,
	     kvmi_dom_change_gfn_async(dom, vcpu, view, old_gfn, new_gfn, SCB));
}

/* ALLOC/FREE_GFN go to vCPU 0, the only one QEMU serves (KVMI-V7.md 10.6) */
KVMI_EXPORT int kvmi_dom_alloc_gfn_async(struct kvmi_dom *dom, uint64_t gfn,
					 kvmi_dom_cmd_cb cb, void *ctx)
{
	PLAIN_V7(KVMI_V7_VCPU_ALLOC_GFN, 0,
		 kvmi_encode_alloc_gfn_d(DIALECT, where, MSG_MAX, SEQ, 0, gfn));
}

KVMI_EXPORT int kvmi_dom_alloc_gfn(struct kvmi_dom *dom, uint64_t gfn)
{
	SYNC(dom, kvmi_dom_alloc_gfn_async(dom, gfn, SCB));
}

KVMI_EXPORT int kvmi_dom_free_gfn_async(struct kvmi_dom *dom, uint64_t gfn,
					kvmi_dom_cmd_cb cb, void *ctx)
{
	PLAIN_V7(KVMI_V7_VCPU_FREE_GFN, 0,
		 kvmi_encode_free_gfn_d(DIALECT, where, MSG_MAX, SEQ, 0, gfn));
}

KVMI_EXPORT int kvmi_dom_free_gfn(struct kvmi_dom *dom, uint64_t gfn)
{
	SYNC(dom, kvmi_dom_free_gfn_async(dom, gfn, SCB));
}

KVMI_EXPORT int kvmi_dom_get_next_available_gfn_async(struct kvmi_dom *dom,
						      uint64_t *gfn,
						      kvmi_dom_cmd_cb cb,
						      void *ctx)
{
	FIELD_V7(
	    KVMI_V7_VM_GET_NEXT_AVAILABLE_GFN, 0,
	    struct kvmi_v7_vm_get_next_available_gfn_reply, gfn, gfn,
	    kvmi_encode_get_next_available_gfn_d(DIALECT, where, MSG_MAX, SEQ));
}

KVMI_EXPORT int kvmi_dom_get_next_available_gfn(struct kvmi_dom *dom,
						uint64_t *gfn)
{
	SYNC(dom, kvmi_dom_get_next_available_gfn_async(dom, gfn, SCB));
}

KVMI_EXPORT int
kvmi_dom_query_physical_async(struct kvmi_dom *dom, uint64_t gfn,
			      struct kvmi_v7_vm_query_physical_reply *out,
			      kvmi_dom_cmd_cb cb, void *ctx)
{
	QUEUE_V7(
	    KVMI_V7_VM_QUERY_PHYSICAL, out ? 0 : -EINVAL, sizeof(*out), out, 0,
	    sizeof(*out),
	    kvmi_encode_query_physical_d(DIALECT, where, MSG_MAX, SEQ, gfn));
}

KVMI_EXPORT int
kvmi_dom_query_physical(struct kvmi_dom *dom, uint64_t gfn,
			struct kvmi_v7_vm_query_physical_reply *out)
{
	SYNC(dom, kvmi_dom_query_physical_async(dom, gfn, out, SCB));
}
