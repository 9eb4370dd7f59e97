/*
 * libkvmi - batch_v7.c: the kvmi-v7 commands of domain-v7.h queued in
 * pipelined batches (kvmi_pipeline_*): views, page access per view,
 * #VE, SVE, SPP, XSAVE, single-step, gfn remapping, allocation and
 * freeing, and the ones that return data (their reply structs).  Items go through
 * batch.c's buffer (kvmi__pipeline_reserve / _add) under the same dialect
 * and argument rules as the domain calls (commands_v7.c).
 */
#include <errno.h>

#include <kvmi/domain-v7.h>

#include "internal.h"

#define MAXM KVMI_ENCODE_MAX

/* @b given, its dialect has @op, @bad (0 or the argument's error) is 0;
 * then room for the item */
static int item_start(struct kvmi_pipeline *b, unsigned int op, int bad,
		      uint8_t **where)
{
	int err;

	if (!b)
		return -EINVAL;
	err = kvmi__dialect_lacks(kvmi_dom_dialect(kvmi_pipeline_dom(b)), op);
	if (err || bad)
		return err ? err : bad;
	return kvmi__pipeline_reserve(b, where);
}

/* the dialect and the next sequence number of @b's domain */
#define DIALECT	       (kvmi_pipeline_dom(b)->sess->dialect)
#define SEQ	       (kvmi_seq_next(&kvmi_pipeline_dom(b)->sess->seq))
#define VIEW_ARG(view) (b ? kvmi__view_arg(DIALECT, (view)) : 0)

/* one item without reply data, encoded by EXPR at `where` */
#define ITEM(op, bad, EXPR)                                                    \
	do {                                                                   \
		uint8_t *where;                                                \
		int r_ = item_start(b, (op), (bad), &where);                   \
		return r_ ? r_ : kvmi__pipeline_add(b, (EXPR));                \
	} while (0)

KVMI_EXPORT int kvmi_pipeline_set_ept_view(struct kvmi_pipeline *b,
					   uint16_t vcpu, uint16_t view)
{
	ITEM(KVMI_V7_VCPU_SET_EPT_VIEW, VIEW_ARG(view),
	     kvmi_encode_set_ept_view_d(DIALECT, where, MAXM, SEQ, vcpu, view));
}

KVMI_EXPORT int kvmi_pipeline_control_ept_view(struct kvmi_pipeline *b,
					       uint16_t vcpu, uint16_t view,
					       int visible)
{
	ITEM(KVMI_V7_VCPU_CONTROL_EPT_VIEW, VIEW_ARG(view),
	     kvmi_encode_control_ept_view_d(DIALECT, where, MAXM, SEQ, vcpu,
					    view, visible));
}

KVMI_EXPORT int kvmi_pipeline_destroy_ept_view(struct kvmi_pipeline *b,
					       uint16_t view)
{
	ITEM(KVMI_V7_VM_DESTROY_EPT_VIEW, view ? VIEW_ARG(view) : -EINVAL,
	     kvmi_encode_destroy_ept_view_d(DIALECT, where, MAXM, SEQ, view));
}

KVMI_EXPORT int
kvmi_pipeline_set_page_access_view(struct kvmi_pipeline *b, uint16_t view,
				   const struct kvmi_page_access_entry *entries,
				   size_t count)
{
	int err;

	if (!b)
		return -EINVAL;
	err = kvmi__view_arg(DIALECT, view);
	if (err)
		return err;
	return kvmi__pipeline_set_page_access_view(b, view, entries, count);
}

KVMI_EXPORT int kvmi_pipeline_set_page_sve(struct kvmi_pipeline *b,
					   uint16_t view, uint64_t gpa,
					   int suppress)
{
	ITEM(KVMI_V7_VM_SET_PAGE_SVE, VIEW_ARG(view),
	     kvmi_encode_set_page_sve_d(DIALECT, where, MAXM, SEQ, view, gpa,
					suppress));
}

KVMI_EXPORT int kvmi_pipeline_set_ve_info(struct kvmi_pipeline *b,
					  uint16_t vcpu, uint64_t gpa,
					  int trigger_vmexit)
{
	ITEM(KVMI_V7_VCPU_SET_VE_INFO, 0,
	     kvmi_encode_set_ve_info_d(DIALECT, where, MAXM, SEQ, vcpu, gpa,
				       trigger_vmexit));
}

KVMI_EXPORT int kvmi_pipeline_disable_ve(struct kvmi_pipeline *b, uint16_t vcpu)
{
	ITEM(KVMI_V7_VCPU_DISABLE_VE, 0,
	     kvmi_encode_disable_ve_d(DIALECT, where, MAXM, SEQ, vcpu));
}

KVMI_EXPORT int kvmi_pipeline_control_singlestep(struct kvmi_pipeline *b,
						 uint16_t vcpu, int enable)
{
	ITEM(KVMI_V7_VCPU_CONTROL_SINGLESTEP, 0,
	     kvmi_encode_control_singlestep_d(DIALECT, where, MAXM, SEQ, vcpu,
					      enable));
}

KVMI_EXPORT int kvmi_pipeline_change_gfn(struct kvmi_pipeline *b, uint16_t vcpu,
					 uint16_t view, uint64_t old_gfn,
					 uint64_t new_gfn)
{
	ITEM(KVMI_V7_VCPU_CHANGE_GFN,
	     b ? kvmi__change_gfn_arg(DIALECT, view) : 0,
	     kvmi_encode_change_gfn_d(DIALECT, where, MAXM, SEQ, vcpu, view,
				      old_gfn, new_gfn));
}

KVMI_EXPORT int kvmi_pipeline_free_gfn(struct kvmi_pipeline *b, uint64_t gfn)
{
	ITEM(KVMI_V7_VCPU_FREE_GFN, 0,
	     kvmi_encode_free_gfn_d(DIALECT, where, MAXM, SEQ, 0, gfn));
}

KVMI_EXPORT int kvmi_pipeline_alloc_gfn(struct kvmi_pipeline *b, uint64_t gfn)
{
	ITEM(KVMI_V7_VCPU_ALLOC_GFN, 0,
	     kvmi_encode_alloc_gfn_d(DIALECT, where, MAXM, SEQ, 0, gfn));
}

KVMI_EXPORT int kvmi_pipeline_set_xsave(struct kvmi_pipeline *b, uint16_t vcpu,
					const void *area, size_t len)
{
	ITEM(KVMI_V7_VCPU_SET_XSAVE,
	     area && len && len <= sizeof(struct kvm_xsave) ? 0 : -EINVAL,
	     kvmi_encode_set_xsave_d(DIALECT, where, MAXM, SEQ, vcpu, area,
				     len));
}

KVMI_EXPORT int kvmi_pipeline_control_spp(struct kvmi_pipeline *b, int enable)
{
	ITEM(KVMI_CONTROL_SPP, 0,
	     kvmi_encode_control_spp_d(DIALECT, where, MAXM, SEQ, enable));
}

/* one item whose reply struct goes to @out, encoded by EXPR at `where` */
#define DATA_ITEM(op, EXPR)                                                    \
	do {                                                                   \
		uint8_t *where;                                                \
		int r_ = out ? item_start(b, (op), 0, &where) : -EINVAL;       \
		return r_ ? r_                                                 \
			  : kvmi__pipeline_add_reply(b, (EXPR), out,           \
						     sizeof(*out));            \
	} while (0)

KVMI_EXPORT int
kvmi_pipeline_create_ept_view(struct kvmi_pipeline *b,
			      struct kvmi_v7_vm_create_ept_view_reply *out)
{
	DATA_ITEM(KVMI_V7_VM_CREATE_EPT_VIEW,
		  kvmi_encode_create_ept_view_d(DIALECT, where, MAXM, SEQ));
}

KVMI_EXPORT int
kvmi_pipeline_get_ept_view(struct kvmi_pipeline *b, uint16_t vcpu,
			   struct kvmi_v7_vcpu_get_ept_view_reply *out)
{
	DATA_ITEM(KVMI_V7_VCPU_GET_EPT_VIEW,
		  kvmi_encode_get_ept_view_d(DIALECT, where, MAXM, SEQ, vcpu));
}

KVMI_EXPORT int
kvmi_pipeline_translate_gva(struct kvmi_pipeline *b, uint16_t vcpu,
			    uint64_t gva,
			    struct kvmi_v7_vcpu_translate_gva_reply *out)
{
	DATA_ITEM(KVMI_V7_VCPU_TRANSLATE_GVA,
		  kvmi_encode_translate_gva_d(DIALECT, where, MAXM, SEQ, vcpu,
					      gva));
}

KVMI_EXPORT int kvmi_pipeline_get_xcr(struct kvmi_pipeline *b, uint16_t vcpu,
				      uint8_t xcr,
				      struct kvmi_v7_vcpu_get_xcr_reply *out)
{
	DATA_ITEM(KVMI_V7_VCPU_GET_XCR,
		  kvmi_encode_get_xcr_d(DIALECT, where, MAXM, SEQ, vcpu, xcr));
}

KVMI_EXPORT int kvmi_pipeline_get_next_available_gfn(
	struct kvmi_pipeline *b,
	struct kvmi_v7_vm_get_next_available_gfn_reply *out)
{
	DATA_ITEM(KVMI_V7_VM_GET_NEXT_AVAILABLE_GFN,
		  kvmi_encode_get_next_available_gfn_d(DIALECT, where, MAXM,
						       SEQ));
}

KVMI_EXPORT int
kvmi_pipeline_query_physical(struct kvmi_pipeline *b, uint64_t gfn,
			     struct kvmi_v7_vm_query_physical_reply *out)
{
	DATA_ITEM(KVMI_V7_VM_QUERY_PHYSICAL,
		  kvmi_encode_query_physical_d(DIALECT, where, MAXM, SEQ, gfn));
}
