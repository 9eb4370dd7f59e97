/*
 * libkvmi - domain-v7.h: the commands of the kvmi-v7 dialect (KVM-VMI's
 * kvmi-v7 branch, KVMI-V7.md) in the domain API - EPT views, page access
 * per view, #VE, the suppress-#VE bit, SPP, GVA translation, XCR/XSAVE,
 * single-step, gfn remapping and allocation, memslot queries - with the
 * v12 counterparts mapped to the same calls.
 *
 * Included by <kvmi/kvmi.h>; includes <kvmi/domain.h>.  Everything in
 * domain.h's "Commands" section holds for these calls too: an
 * asynchronous form (_async: 0 or a
 * negative error with nothing sent and @cb never called; @cb runs once,
 * from the loop; outputs written only on success, before @cb, and they
 * must stay valid until then) and a synchronous form (the same command,
 * waited for, other events of the domain queued meanwhile).  Threads:
 * the loop thread only, callbacks included (as domain.h).
 *
 * Dialects.  Each call says which dialects have it:
 *   v7    - both kvmi-v7 generations (KVMI_DIALECT_V7 and _V7_2023);
 *   2023  - the 2023 generation only (KVMI_DIALECT_V7_2023);
 *   v12   - the v12 dialect has the same command under its own id;
 *   v6    - the v6 protocol has it.
 * On a host whose dialect (kvmi_dom_dialect()) lacks the call, it fails
 * with -EOPNOTSUPP before anything is encoded or sent (no sequence
 * number is used, @cb is never called).
 *
 * Errors common to every call: -EINVAL for a NULL @dom, @cb or output
 * pointer or an argument the dialect cannot carry (below); -ENOTCONN when
 * the connection is closed; -ENOMEM; then what the host answers, as a
 * negative errno (kvmi_host_error_to_errno: -KVM_EINVAL -> -EINVAL, ...)
 * and -ETIMEDOUT as in domain.h.  Views: v7-2021 has the three fixed
 * views 0..2 (KVMI_V7_2021_MAX_EPT_VIEWS), v7-2023 view 0 plus the ones
 * created with kvmi_dom_create_ept_view (index < KVMI_V7_2023_MAX_EPT_VIEWS);
 * a view number at or beyond the dialect's limit is -EINVAL here, one
 * below it that the host does not have is the host's -EINVAL.
 */
#ifndef KVMI_DOMAIN_V7_H
#define KVMI_DOMAIN_V7_H

#include <kvmi/domain.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* EPT views                                                           */
/* ------------------------------------------------------------------ */

/*
 * kvmi_dom_create_ept_view - a new EPT view (2023): the host picks the
 * lowest free index >= 1 and *@view gets it.  The view starts with full
 * access on every page; it lives until kvmi_dom_destroy_ept_view or the
 * unhook.  Host errors: -EINVAL when no index is left.
 */
KVMI_EXPORT int kvmi_dom_create_ept_view(struct kvmi_dom *dom, uint16_t *view);
KVMI_EXPORT int kvmi_dom_create_ept_view_async(struct kvmi_dom *dom,
					       uint16_t *view,
					       kvmi_dom_cmd_cb cb, void *ctx);

/*
 * kvmi_dom_destroy_ept_view - destroy a view made by
 * kvmi_dom_create_ept_view (2023); its page access is dropped.  View 0
 * cannot be destroyed (-EINVAL here); a view that was not created is the
 * host's -EINVAL.  Switch the vCPUs that run on it back first: what the
 * host does with them is not established (KVMI-V7.md sec. 15).
 */
KVMI_EXPORT int kvmi_dom_destroy_ept_view(struct kvmi_dom *dom, uint16_t view);
KVMI_EXPORT int kvmi_dom_destroy_ept_view_async(struct kvmi_dom *dom,
						uint16_t view,
						kvmi_dom_cmd_cb cb, void *ctx);

/*
 * kvmi_dom_set_ept_view - switch @vcpu to @view (v7; KVMI_SWITCH_EPT_VIEW
 * in libkvmi 1.x).  Host errors: -EINVAL (view unknown), -EOPNOTSUPP (no
 * EPTP switching, or a view other than 0 while SPP is on).
 */
KVMI_EXPORT int kvmi_dom_set_ept_view(struct kvmi_dom *dom, uint16_t vcpu,
				      uint16_t view);
KVMI_EXPORT int kvmi_dom_set_ept_view_async(struct kvmi_dom *dom, uint16_t vcpu,
					    uint16_t view, kvmi_dom_cmd_cb cb,
					    void *ctx);

/* kvmi_dom_get_ept_view - the view @vcpu runs on, into *@view (v7).  Every
 * event also carries it (kvmi_v7_event_view()). */
KVMI_EXPORT int kvmi_dom_get_ept_view(struct kvmi_dom *dom, uint16_t vcpu,
				      uint16_t *view);
KVMI_EXPORT int kvmi_dom_get_ept_view_async(struct kvmi_dom *dom, uint16_t vcpu,
					    uint16_t *view, kvmi_dom_cmd_cb cb,
					    void *ctx);

/*
 * kvmi_dom_control_ept_view - let the guest on @vcpu switch to @view
 * itself with VMFUNC (@visible non-zero) or not (0: VMFUNC to it exits and
 * the guest gets #UD) (v7).  Host errors: -EINVAL, -EOPNOTSUPP (SPP on).
 */
KVMI_EXPORT int kvmi_dom_control_ept_view(struct kvmi_dom *dom, uint16_t vcpu,
					  uint16_t view, int visible);
KVMI_EXPORT int kvmi_dom_control_ept_view_async(struct kvmi_dom *dom,
						uint16_t vcpu, uint16_t view,
						int visible, kvmi_dom_cmd_cb cb,
						void *ctx);

/*
 * kvmi_dom_set_page_access_view - kvmi_dom_set_page_access (domain.h) in
 * EPT view @view: restrictions act only while a vCPU runs on that view.
 * @entries (borrowed until @cb) are split per 511, pipelined; the first
 * error is the result and a failed call may have been applied in part.
 * View 0: every dialect (the same as kvmi_dom_set_page_access); other
 * views: v7 only (v6 and v12 have no views: -EOPNOTSUPP).  KVMI_V7_PAGE_SVE
 * is not an access bit (the host's -EINVAL): use kvmi_dom_set_page_sve.
 */
KVMI_EXPORT int
kvmi_dom_set_page_access_view(struct kvmi_dom *dom, uint16_t view,
			      const struct kvmi_page_access_entry *entries,
			      size_t count);
KVMI_EXPORT int kvmi_dom_set_page_access_view_async(
    struct kvmi_dom *dom, uint16_t view,
    const struct kvmi_page_access_entry *entries, size_t count,
    kvmi_dom_cmd_cb cb, void *ctx);

/* ------------------------------------------------------------------ */
/* #VE, suppress-#VE, SPP                                              */
/* ------------------------------------------------------------------ */

/*
 * kvmi_dom_set_ve_info - give @vcpu its #VE information page at guest
 * physical @gpa; @trigger_vmexit non-zero makes a #VE a VM exit instead of
 * a guest exception (vector 20) (v7).  Host errors: -EINVAL also when KVM
 * has no #VE (as the host codes it; check the feature block first).
 */
KVMI_EXPORT int kvmi_dom_set_ve_info(struct kvmi_dom *dom, uint16_t vcpu,
				     uint64_t gpa, int trigger_vmexit);
KVMI_EXPORT int kvmi_dom_set_ve_info_async(struct kvmi_dom *dom, uint16_t vcpu,
					   uint64_t gpa, int trigger_vmexit,
					   kvmi_dom_cmd_cb cb, void *ctx);

/* kvmi_dom_disable_ve - turn #VE off for @vcpu (v7; the host answers 0
 * also when it has no #VE). */
KVMI_EXPORT int kvmi_dom_disable_ve(struct kvmi_dom *dom, uint16_t vcpu);
KVMI_EXPORT int kvmi_dom_disable_ve_async(struct kvmi_dom *dom, uint16_t vcpu,
					  kvmi_dom_cmd_cb cb, void *ctx);

/*
 * kvmi_dom_set_page_sve - set (@suppress non-zero) or clear the
 * suppress-#VE bit of the page at @gpa in @view (v7).  Every page
 * suppresses #VE until the tool clears the bit.  Host errors: -EINVAL,
 * -EOPNOTSUPP (a view other than 0 without EPTP switching).
 */
KVMI_EXPORT int kvmi_dom_set_page_sve(struct kvmi_dom *dom, uint16_t view,
				      uint64_t gpa, int suppress);
KVMI_EXPORT int kvmi_dom_set_page_sve_async(struct kvmi_dom *dom, uint16_t view,
					    uint64_t gpa, int suppress,
					    kvmi_dom_cmd_cb cb, void *ctx);

/*
 * kvmi_dom_control_spp - turn sub-page write protection on (v6, v7).  It
 * cannot be turned off (the host answers -EOPNOTSUPP to @enable 0, and to
 * a CPU without SPP); on kvmi-v7 views other than 0 are refused while it
 * is on, and the first answer sticks for the session.
 */
KVMI_EXPORT int kvmi_dom_control_spp(struct kvmi_dom *dom, int enable);
KVMI_EXPORT int kvmi_dom_control_spp_async(struct kvmi_dom *dom, int enable,
					   kvmi_dom_cmd_cb cb, void *ctx);

/* ------------------------------------------------------------------ */
/* vCPU state                                                          */
/* ------------------------------------------------------------------ */

/*
 * kvmi_dom_translate_gva - the guest physical address of @gva in @vcpu's
 * page tables (a supervisor read), into *@gpa (v7, v12).  An unmapped
 * @gva is not an error: *@gpa is then ~0 (all ones).
 */
KVMI_EXPORT int kvmi_dom_translate_gva(struct kvmi_dom *dom, uint16_t vcpu,
				       uint64_t gva, uint64_t *gpa);
KVMI_EXPORT int kvmi_dom_translate_gva_async(struct kvmi_dom *dom,
					     uint16_t vcpu, uint64_t gva,
					     uint64_t *gpa, kvmi_dom_cmd_cb cb,
					     void *ctx);

/* kvmi_dom_get_xcr - extended control register @xcr of @vcpu into *@value
 * (v7, v12).  Hosts have XCR0 only: another @xcr is the host's -EINVAL. */
KVMI_EXPORT int kvmi_dom_get_xcr(struct kvmi_dom *dom, uint16_t vcpu,
				 uint8_t xcr, uint64_t *value);
KVMI_EXPORT int kvmi_dom_get_xcr_async(struct kvmi_dom *dom, uint16_t vcpu,
				       uint8_t xcr, uint64_t *value,
				       kvmi_dom_cmd_cb cb, void *ctx);

/*
 * kvmi_dom_set_xsave - load @len bytes (1..4096) of XSAVE area @area into
 * @vcpu (v7, v12); the host zero-fills what is shorter than its area, so
 * start from what kvmi_dom_get_xsave returned.  @area is copied into the
 * output before the call returns.  -EINVAL for @len 0 or above 4096; the
 * host's -EINVAL when KVM rejects the contents.
 */
KVMI_EXPORT int kvmi_dom_set_xsave(struct kvmi_dom *dom, uint16_t vcpu,
				   const void *area, size_t len);
KVMI_EXPORT int kvmi_dom_set_xsave_async(struct kvmi_dom *dom, uint16_t vcpu,
					 const void *area, size_t len,
					 kvmi_dom_cmd_cb cb, void *ctx);

/*
 * kvmi_dom_control_singlestep - start (@enable non-zero) or stop
 * single-stepping @vcpu with MTF (v7, v12).  Each step raises
 * KVMI_EVENT_SINGLESTEP when that event is enabled for the vCPU
 * (kvmi_dom_control_events); otherwise stepping goes on silently.  Host
 * errors: -EINVAL also when KVM lacks MTF (see the feature block).
 */
KVMI_EXPORT int kvmi_dom_control_singlestep(struct kvmi_dom *dom, uint16_t vcpu,
					    int enable);
KVMI_EXPORT int kvmi_dom_control_singlestep_async(struct kvmi_dom *dom,
						  uint16_t vcpu, int enable,
						  kvmi_dom_cmd_cb cb,
						  void *ctx);

/* ------------------------------------------------------------------ */
/* Guest frames                                                        */
/* ------------------------------------------------------------------ */

/*
 * kvmi_dom_change_gfn - make @old_gfn show the page behind @new_gfn
 * (@old_gfn == @new_gfn restores it) (v7).  2023: in view @view; 2021:
 * always in @vcpu's current view, so @view must be 0 there (another view
 * is -EOPNOTSUPP: the 2021 message cannot carry it).  Host errors (as
 * documented by the branch): -EINVAL, -ENOMEM, -EAGAIN, -EFAULT, -EPERM.
 */
KVMI_EXPORT int kvmi_dom_change_gfn(struct kvmi_dom *dom, uint16_t vcpu,
				    uint16_t view, uint64_t old_gfn,
				    uint64_t new_gfn);
KVMI_EXPORT int kvmi_dom_change_gfn_async(struct kvmi_dom *dom, uint16_t vcpu,
					  uint16_t view, uint64_t old_gfn,
					  uint64_t new_gfn, kvmi_dom_cmd_cb cb,
					  void *ctx);

/*
 * kvmi_dom_alloc_gfn / kvmi_dom_free_gfn - add a 4 KiB RAM page to the
 * guest at @gfn (take it from kvmi_dom_get_next_available_gfn) / remove
 * one added so (2023).  QEMU serves them on vCPU 0 only, so they go to
 * vCPU 0.  Host errors: -ETIME (QEMU's helper did not answer in 100 ms),
 * -EINVAL (page already present / not found); QEMU's own failure code 1,
 * if a host passes it through (not established, KVMI-V7.md 10.6), is
 * -EPROTO.
 */
KVMI_EXPORT int kvmi_dom_alloc_gfn(struct kvmi_dom *dom, uint64_t gfn);
KVMI_EXPORT int kvmi_dom_alloc_gfn_async(struct kvmi_dom *dom, uint64_t gfn,
					 kvmi_dom_cmd_cb cb, void *ctx);
KVMI_EXPORT int kvmi_dom_free_gfn(struct kvmi_dom *dom, uint64_t gfn);
KVMI_EXPORT int kvmi_dom_free_gfn_async(struct kvmi_dom *dom, uint64_t gfn,
					kvmi_dom_cmd_cb cb, void *ctx);

/* kvmi_dom_get_next_available_gfn - a gfn no memslot or MMIO range uses,
 * into *@gfn (2023); unlike kvmi_dom_get_max_gfn it is meant for
 * kvmi_dom_alloc_gfn. */
KVMI_EXPORT int kvmi_dom_get_next_available_gfn(struct kvmi_dom *dom,
						uint64_t *gfn);
KVMI_EXPORT int kvmi_dom_get_next_available_gfn_async(struct kvmi_dom *dom,
						      uint64_t *gfn,
						      kvmi_dom_cmd_cb cb,
						      void *ctx);

/*
 * kvmi_dom_query_physical - the memslot that holds @gfn, into *@out
 * (2023): ->gfn its first gfn, ->size its length in pages.  Host errors:
 * -ENOENT when no memslot holds @gfn.
 */
KVMI_EXPORT int
kvmi_dom_query_physical(struct kvmi_dom *dom, uint64_t gfn,
			struct kvmi_v7_vm_query_physical_reply *out);
KVMI_EXPORT int
kvmi_dom_query_physical_async(struct kvmi_dom *dom, uint64_t gfn,
			      struct kvmi_v7_vm_query_physical_reply *out,
			      kvmi_dom_cmd_cb cb, void *ctx);

/* ------------------------------------------------------------------ */
/* In pipelined batches (domain.h "Pipelined batches")                 */
/* ------------------------------------------------------------------ */

/*
 * The same commands queued in a batch: one item each (set_page_access_view:
 * one per 511 entries), the index of the (first) item or a negative error
 * with nothing queued by the call.  The dialect and argument rules above
 * apply at queueing time: -EOPNOTSUPP when the domain's dialect lacks the
 * command, -EINVAL for a bad argument.  These return no data, so they
 * may be queued with KVMI_PIPELINE_NO_REPLIES (which only v6 hosts
 * honour: elsewhere every reply comes, see domain.h).
 */
KVMI_EXPORT int kvmi_pipeline_set_ept_view(struct kvmi_pipeline *b,
					   uint16_t vcpu, uint16_t view);
KVMI_EXPORT int kvmi_pipeline_control_ept_view(struct kvmi_pipeline *b,
					       uint16_t vcpu, uint16_t view,
					       int visible);
KVMI_EXPORT int kvmi_pipeline_destroy_ept_view(struct kvmi_pipeline *b,
					       uint16_t view);
KVMI_EXPORT int
kvmi_pipeline_set_page_access_view(struct kvmi_pipeline *b, uint16_t view,
				   const struct kvmi_page_access_entry *entries,
				   size_t count);
KVMI_EXPORT int kvmi_pipeline_set_page_sve(struct kvmi_pipeline *b,
					   uint16_t view, uint64_t gpa,
					   int suppress);
KVMI_EXPORT int kvmi_pipeline_set_ve_info(struct kvmi_pipeline *b,
					  uint16_t vcpu, uint64_t gpa,
					  int trigger_vmexit);
KVMI_EXPORT int kvmi_pipeline_disable_ve(struct kvmi_pipeline *b,
					 uint16_t vcpu);
KVMI_EXPORT int kvmi_pipeline_control_singlestep(struct kvmi_pipeline *b,
						 uint16_t vcpu, int enable);
KVMI_EXPORT int kvmi_pipeline_change_gfn(struct kvmi_pipeline *b, uint16_t vcpu,
					 uint16_t view, uint64_t old_gfn,
					 uint64_t new_gfn);
KVMI_EXPORT int kvmi_pipeline_free_gfn(struct kvmi_pipeline *b, uint64_t gfn);
KVMI_EXPORT int kvmi_pipeline_alloc_gfn(struct kvmi_pipeline *b, uint64_t gfn);
/* @area (@len bytes, 1..4096) is borrowed until the batch completes */
KVMI_EXPORT int kvmi_pipeline_set_xsave(struct kvmi_pipeline *b, uint16_t vcpu,
					const void *area, size_t len);
KVMI_EXPORT int kvmi_pipeline_control_spp(struct kvmi_pipeline *b, int enable);

/*
 * The batch forms of the calls that return data: the host's reply struct
 * (wire-v7.h; @out, borrowed) is written when the batch completes, for an
 * item that succeeded (kvmi_pipeline_result() == 0); a short reply is the
 * item's KVMI_E_MSG_SIZE.  They cannot be queued with
 * KVMI_PIPELINE_NO_REPLIES (-EINVAL); otherwise the rules above.
 */
KVMI_EXPORT int
kvmi_pipeline_create_ept_view(struct kvmi_pipeline *b,
			      struct kvmi_v7_vm_create_ept_view_reply *out);
KVMI_EXPORT int
kvmi_pipeline_get_ept_view(struct kvmi_pipeline *b, uint16_t vcpu,
			   struct kvmi_v7_vcpu_get_ept_view_reply *out);
KVMI_EXPORT int
kvmi_pipeline_translate_gva(struct kvmi_pipeline *b, uint16_t vcpu,
			    uint64_t gva,
			    struct kvmi_v7_vcpu_translate_gva_reply *out);
KVMI_EXPORT int kvmi_pipeline_get_xcr(struct kvmi_pipeline *b, uint16_t vcpu,
				      uint8_t xcr,
				      struct kvmi_v7_vcpu_get_xcr_reply *out);
KVMI_EXPORT int kvmi_pipeline_get_next_available_gfn(
	struct kvmi_pipeline *b,
	struct kvmi_v7_vm_get_next_available_gfn_reply *out);
KVMI_EXPORT int
kvmi_pipeline_query_physical(struct kvmi_pipeline *b, uint64_t gfn,
			     struct kvmi_v7_vm_query_physical_reply *out);

#ifdef __cplusplus
}
#endif

#endif /* KVMI_DOMAIN_V7_H */
