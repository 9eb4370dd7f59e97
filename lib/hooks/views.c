/*
 * libkvmi - views.c: the EPT-view part of the hook registry (kvmi-v7):
 * page access per view with the access each (view, gfn) had before,
 * the views the tool created, each vCPU's view before the first switch,
 * the views made visible to VMFUNC, the vCPUs given a #VE info page and
 * the gfns allocated - placed through tracked calls (include/kvmi/
 * hooks.h), each one a pipelined batch of the hooks' own, and taken back
 * by the unhook (unhook.c calls the kvmi__views_* steps below) or, fire
 * and forget, when the library closes the domain on its own.  Also v12's
 * VM_CONTROL_CLEANUP, sent when a domain's hooks are first used.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <kvmi/domain-v7.h>

#include "alloc.h"
#include "hooks_int.h"
#include "internal.h"

#define MAXM KVMI_ENCODE_MAX

/* room for one more element of size @size in *@arr (*@cap of them) */
static int room(void *arr, size_t *cap, size_t n, size_t size)
{
	void **p = arr;
	size_t nc;
	void *na;

	if (n < *cap)
		return 0;
	nc = *cap ? *cap * 2 : 8;
	na = kvmi__realloc(*p, nc * size);
	if (!na)
		return -ENOMEM;
	*p = na;
	*cap = nc;
	return 0;
}

/* the vCPU record of @vcpu, grown to hold it (NULL: no memory) */
static struct kvmi__vcpu_view *vcpu_rec(struct kvmi__views *vw,
					unsigned int vcpu)
{
	if (vcpu >= vw->nvcpus) {
		struct kvmi__vcpu_view *n =
		    kvmi__realloc(vw->vcpus, (vcpu + 1) * sizeof(*n));

		if (!n)
			return NULL;
		for (unsigned int i = vw->nvcpus; i <= vcpu; i++)
			n[i] = (struct kvmi__vcpu_view){.start = -1};
		vw->vcpus = n;
		vw->nvcpus = vcpu + 1;
	}
	return &vw->vcpus[vcpu];
}

static struct kvmi__vpage *vpage_find(struct kvmi__views *vw, uint16_t view,
				      uint64_t gfn)
{
	for (size_t i = 0; i < vw->npages; i++)
		if (vw->pages[i].view == view && vw->pages[i].gfn == gfn)
			return &vw->pages[i];
	return NULL;
}

static size_t find16(const uint16_t *a, size_t n, uint16_t v)
{
	size_t i;

	for (i = 0; i < n && a[i] != v; i++)
		;
	return i;
}

static size_t find_gfn(const struct kvmi__views *vw, uint64_t gfn)
{
	size_t i;

	for (i = 0; i < vw->ngfns && vw->gfns[i] != gfn; i++)
		;
	return i;
}

static size_t find_vis(const struct kvmi__views *vw, uint16_t vcpu,
		       uint16_t view)
{
	size_t i;

	for (i = 0; i < vw->nvis &&
		    !(vw->vis[i].vcpu == vcpu && vw->vis[i].view == view);
	     i++)
		;
	return i;
}

void kvmi__views_free(struct kvmi__views *vw)
{
	free(vw->pages);
	free(vw->created);
	free(vw->gfns);
	free(vw->vis);
	free(vw->vcpus);
	memset(vw, 0, sizeof(*vw));
}

/* ---- queueing raw items in a batch (the dialect checked first) ---- */

#define DIALECT(b) (kvmi_pipeline_dom(b)->sess->dialect)
#define SEQ(b)	   (kvmi_seq_next(&kvmi_pipeline_dom(b)->sess->seq))

/* @b's dialect has @op: room for its message at *@where */
static int q_start(struct kvmi_pipeline *b, unsigned int op, uint8_t **where)
{
	int err = kvmi__dialect_lacks(DIALECT(b), op);

	return err ? err : kvmi__pipeline_reserve(b, where);
}

static int q_get_view(struct kvmi_pipeline *b, uint16_t vcpu,
		      struct kvmi_v7_vcpu_get_ept_view_reply *out)
{
	uint8_t *where;
	int err = q_start(b, KVMI_V7_VCPU_GET_EPT_VIEW, &where);

	return err ? err
		   : kvmi__pipeline_add_reply(
			 b,
			 kvmi_encode_get_ept_view_d(DIALECT(b), where, MAXM,
						    SEQ(b), vcpu),
			 out, sizeof(*out));
}

static int q_create(struct kvmi_pipeline *b,
		    struct kvmi_v7_vm_create_ept_view_reply *out)
{
	uint8_t *where;
	int err = q_start(b, KVMI_V7_VM_CREATE_EPT_VIEW, &where);

	return err ? err
		   : kvmi__pipeline_add_reply(
			 b,
			 kvmi_encode_create_ept_view_d(DIALECT(b), where, MAXM,
						       SEQ(b)),
			 out, sizeof(*out));
}

/* ALLOC_GFN goes to vCPU 0 (the only one QEMU serves, KVMI-V7.md 10.6) */
static int q_alloc_gfn(struct kvmi_pipeline *b, uint64_t gfn)
{
	uint8_t *where;
	int err = q_start(b, KVMI_V7_VCPU_ALLOC_GFN, &where);

	return err ? err
		   : kvmi__pipeline_add(
			 b, kvmi_encode_alloc_gfn_d(DIALECT(b), where, MAXM,
						    SEQ(b), 0, gfn));
}

/* v12: VM_CONTROL_CLEANUP(1) */
static int q_cleanup(struct kvmi_pipeline *b)
{
	uint8_t *where;
	int err = q_start(b, KVMI_COMMON_VM_CONTROL_CLEANUP, &where);

	return err ? err
		   : kvmi__pipeline_add(
			 b, kvmi_encode_control_cleanup_d(DIALECT(b), where,
							  MAXM, SEQ(b), 1));
}

/* ---- the tracked calls ---- */

enum vkind {
	V_ACCESS, /* page access in a view other than 0 */
	V_SWITCH, /* a vCPU to a view */
	V_CREATE,
	V_DESTROY,
	V_VISIBLE,
	V_VE,
	V_ALLOC,
	V_FREE,
};

struct vop {
	enum vkind kind;
	uint16_t vcpu, view;
	uint64_t gfn;
	uint8_t access;
	int flag;	/* visible */
	bool read_prev; /* V_SWITCH: the vCPU's view was read first */
	struct kvmi_v7_vcpu_get_ept_view_reply got;
	struct kvmi_v7_vm_create_ept_view_reply made;
	uint16_t *out; /* V_CREATE */
	kvmi_dom_cmd_cb cb;
	void *ctx;
};

/* what a successful @op changed, remembered (0 or -ENOMEM) */
static int track(struct kvmi_dom *dom, struct kvmi__views *vw, struct vop *op)
{
	struct kvmi__vcpu_view *c;
	struct kvmi__vpage *p;
	size_t i;

	switch (op->kind) {
	case V_ACCESS:
		p = vpage_find(vw, op->view, op->gfn);
		if (!p) {
			if (room(&vw->pages, &vw->pcap, vw->npages,
				 sizeof(*vw->pages)))
				return -ENOMEM;
			p = &vw->pages[vw->npages++];
			/* no GET_PAGE_ACCESS on kvmi-v7: a page we never
			 * restricted in this view has the host's default */
			*p = (struct kvmi__vpage){.gfn = op->gfn,
						  .view = op->view,
						  .prev = KVMI_PAGE_ACCESS_RWX};
		}
		p->cur = op->access;
		return 0;
	case V_SWITCH:
		c = vcpu_rec(vw, op->vcpu);
		if (!c)
			return -ENOMEM;
		if (c->start < 0)
			c->start = op->read_prev ? op->got.view : 0;
		c->cur = op->view;
		return 0;
	case V_CREATE:
		if (room(&vw->created, &vw->ccap, vw->ncreated,
			 sizeof(*vw->created)))
			return -ENOMEM;
		vw->created[vw->ncreated++] = op->made.view;
		*op->out = op->made.view;
		return 0;
	case V_DESTROY:
		i = find16(vw->created, vw->ncreated, op->view);
		if (i < vw->ncreated)
			vw->created[i] = vw->created[--vw->ncreated];
		/* the host dropped the view's access table */
		for (i = 0; i < vw->npages;)
			if (vw->pages[i].view == op->view)
				vw->pages[i] = vw->pages[--vw->npages];
			else
				i++;
		return 0;
	case V_VISIBLE:
		i = find_vis(vw, op->vcpu, op->view);
		if (op->flag && i == vw->nvis) {
			if (room(&vw->vis, &vw->vcap, vw->nvis,
				 sizeof(*vw->vis)))
				return -ENOMEM;
			vw->vis[vw->nvis++] =
			    (struct kvmi__vis){op->vcpu, op->view};
		} else if (!op->flag && i < vw->nvis) {
			vw->vis[i] = vw->vis[--vw->nvis];
		}
		return 0;
	case V_VE:
		c = vcpu_rec(vw, op->vcpu);
		if (!c)
			return -ENOMEM;
		c->ve = 1;
		return 0;
	case V_ALLOC:
		if (room(&vw->gfns, &vw->gcap, vw->ngfns, sizeof(*vw->gfns)))
			return -ENOMEM;
		vw->gfns[vw->ngfns++] = op->gfn;
		return 0;
	case V_FREE:
		i = find_gfn(vw, op->gfn);
		if (i < vw->ngfns)
			vw->gfns[i] = vw->gfns[--vw->ngfns];
		return 0;
	}
	(void)dom;
	return 0;
}

static void vop_done(struct kvmi_dom *dom, int result, void *ctx)
{
	struct vop *op = ctx;
	struct kvmi__hooks *hk = kvmi__hooks_get(dom, false);

	if (!result && hk) {
		result = track(dom, &hk->views, op);
		if (result)
			kvmi__log(dom->srv, dom, KVMI_LOG_ERROR,
				  "a view change the host applied could not be "
				  "remembered (no memory): the unhook will not "
				  "undo it");
	}
	op->cb(dom, result, op->ctx);
	free(op);
}

/* queue @op's commands in a new batch and send it (0 or the error, with
 * nothing sent and @op freed) */
static int vop_send(struct kvmi_dom *dom, struct vop *op)
{
	struct kvmi__hooks *hk;
	struct kvmi_pipeline *b = NULL;
	struct kvmi_page_access_entry e;
	int err = 0;

	if (!dom || !op->cb)
		err = -EINVAL;
	else if (!kvmi__dom_usable(dom))
		err = -ENOTCONN;
	else if (!(hk = kvmi__hooks_get(dom, true)))
		err = -ENOMEM;
	else if (hk->unhooking)
		err = -ESHUTDOWN; /* nothing goes in any more */
	if (!err)
		err = kvmi_pipeline_new(dom, 0, &b);
	if (err) {
		free(op);
		return err;
	}
	switch (op->kind) {
	case V_ACCESS:
		e = (struct kvmi_page_access_entry){
		    .gpa = op->gfn << KVMI_PAGE_SHIFT, .access = op->access};
		err = kvmi_pipeline_set_page_access_view(b, op->view, &e, 1);
		break;
	case V_SWITCH:
		if (op->vcpu >= kvmi_dom_vcpu_count(dom)) {
			err = -EINVAL;
			break;
		}
		op->read_prev = op->vcpu >= hk->views.nvcpus ||
				hk->views.vcpus[op->vcpu].start < 0;
		/* one vCPU runs both in order: the view it had, then ours */
		if (op->read_prev)
			err = q_get_view(b, op->vcpu, &op->got);
		if (err >= 0)
			err = kvmi_pipeline_set_ept_view(b, op->vcpu, op->view);
		break;
	case V_CREATE:
		err = op->out ? q_create(b, &op->made) : -EINVAL;
		break;
	case V_DESTROY:
		err = kvmi_pipeline_destroy_ept_view(b, op->view);
		break;
	case V_VISIBLE:
		err = kvmi_pipeline_control_ept_view(b, op->vcpu, op->view,
						     op->flag);
		break;
	case V_VE:
		err = kvmi_pipeline_set_ve_info(b, op->vcpu, op->gfn, op->flag);
		break;
	case V_ALLOC:
		err = q_alloc_gfn(b, op->gfn);
		break;
	case V_FREE:
		err = kvmi_pipeline_free_gfn(b, op->gfn);
		break;
	}
	if (err >= 0)
		err = kvmi__pipeline_send_flagged(b, vop_done, op, true);
	else
		kvmi_pipeline_free(b);
	if (err < 0) {
		free(op);
		return err;
	}
	return 0;
}

static struct vop *vop_new(enum vkind kind, kvmi_dom_cmd_cb cb, void *ctx)
{
	struct vop *op = kvmi__calloc(1, sizeof(*op));

	if (op) {
		op->kind = kind;
		op->cb = cb;
		op->ctx = ctx;
	}
	return op;
}

KVMI_EXPORT int kvmi_page_restrict_view_async(struct kvmi_dom *dom,
					      uint16_t view, uint64_t gpa,
					      uint8_t access,
					      kvmi_dom_cmd_cb cb, void *ctx)
{
	struct vop *op;

	if (!view) /* view 0 is every dialect's page access */
		return kvmi_page_restrict_async(dom, gpa, access, cb, ctx);
	if (access & ~KVMI_PAGE_ACCESS_RWX)
		return -EINVAL;
	op = vop_new(V_ACCESS, cb, ctx);
	if (!op)
		return -ENOMEM;
	op->view = view;
	op->gfn = gpa >> KVMI_PAGE_SHIFT;
	op->access = access;
	return vop_send(dom, op);
}

KVMI_EXPORT int kvmi_page_restrict_view(struct kvmi_dom *dom, uint16_t view,
					uint64_t gpa, uint8_t access)
{
	SYNC(dom, kvmi_page_restrict_view_async(dom, view, gpa, access, SCB));
}

KVMI_EXPORT int kvmi_hooks_view_create_async(struct kvmi_dom *dom,
					     uint16_t *view, kvmi_dom_cmd_cb cb,
					     void *ctx)
{
	struct vop *op = vop_new(V_CREATE, cb, ctx);

	if (!op)
		return -ENOMEM;
	op->out = view;
	return vop_send(dom, op);
}

KVMI_EXPORT int kvmi_hooks_view_create(struct kvmi_dom *dom, uint16_t *view)
{
	SYNC(dom, kvmi_hooks_view_create_async(dom, view, SCB));
}

KVMI_EXPORT int kvmi_hooks_view_destroy(struct kvmi_dom *dom, uint16_t view)
{
	struct kvmi__hooks *hk = dom ? kvmi__hooks_get(dom, false) : NULL;
	struct kvmi__views *vw = hk ? &hk->views : NULL;
	struct kvmi__sync sc = {0};
	struct vop *op;
	int err;

	if (!dom)
		return -EINVAL;
	err = kvmi__dialect_lacks(kvmi_dom_dialect(dom),
				  KVMI_V7_VM_DESTROY_EPT_VIEW);
	if (err)
		return err;
	if (!vw || find16(vw->created, vw->ncreated, view) == vw->ncreated)
		return -ENOENT;
	for (unsigned int v = 0; v < vw->nvcpus; v++)
		if (vw->vcpus[v].start >= 0 && vw->vcpus[v].cur == view)
			return -EBUSY; /* switch it back first */
	for (size_t i = 0; i < vw->nvis; i++)
		if (vw->vis[i].view == view)
			return -EBUSY; /* make it invisible first */
	op = vop_new(V_DESTROY, SCB);
	if (!op)
		return -ENOMEM;
	op->view = view;
	err = vop_send(dom, op);
	return err ? err : kvmi__dom_sync_wait(dom, &sc);
}

KVMI_EXPORT int kvmi_hooks_vcpu_set_view_async(struct kvmi_dom *dom,
					       uint16_t vcpu, uint16_t view,
					       kvmi_dom_cmd_cb cb, void *ctx)
{
	struct vop *op = vop_new(V_SWITCH, cb, ctx);

	if (!op)
		return -ENOMEM;
	op->vcpu = vcpu;
	op->view = view;
	return vop_send(dom, op);
}

KVMI_EXPORT int kvmi_hooks_vcpu_set_view(struct kvmi_dom *dom, uint16_t vcpu,
					 uint16_t view)
{
	SYNC(dom, kvmi_hooks_vcpu_set_view_async(dom, vcpu, view, SCB));
}

/* a synchronous tracked call of kind @kind */
static int vop_sync(struct kvmi_dom *dom, enum vkind kind, uint16_t vcpu,
		    uint16_t view, uint64_t arg, int flag)
{
	struct kvmi__sync sc = {0};
	struct vop *op = vop_new(kind, SCB);
	int err;

	if (!op)
		return -ENOMEM;
	op->vcpu = vcpu;
	op->view = view;
	op->gfn = arg;
	op->flag = flag;
	err = vop_send(dom, op);
	return err ? err : kvmi__dom_sync_wait(dom, &sc);
}

KVMI_EXPORT int kvmi_hooks_view_visible(struct kvmi_dom *dom, uint16_t vcpu,
					uint16_t view, int visible)
{
	return vop_sync(dom, V_VISIBLE, vcpu, view, 0, visible ? 1 : 0);
}

KVMI_EXPORT int kvmi_hooks_ve_enable(struct kvmi_dom *dom, uint16_t vcpu,
				     uint64_t gpa, int trigger_vmexit)
{
	return vop_sync(dom, V_VE, vcpu, 0, gpa, trigger_vmexit);
}

KVMI_EXPORT int kvmi_hooks_gfn_alloc(struct kvmi_dom *dom, uint64_t gfn)
{
	return vop_sync(dom, V_ALLOC, 0, 0, gfn, 0);
}

KVMI_EXPORT int kvmi_hooks_gfn_free(struct kvmi_dom *dom, uint64_t gfn)
{
	return vop_sync(dom, V_FREE, 0, 0, gfn, 0);
}

/* ---- v12: the host undoes what we forget ---- */

static void cleanup_done(struct kvmi_dom *dom, int result, void *ctx)
{
	(void)ctx;
	if (result && result != -ENOTCONN)
		kvmi__log(dom->srv, dom, KVMI_LOG_WARNING,
			  "v12 VM_CONTROL_CLEANUP refused: %s (the host may "
			  "keep interceptions the unhook misses)",
			  kvmi_strerror(result));
}

void kvmi__views_cleanup(struct kvmi_dom *dom, struct kvmi__hooks *hk)
{
	struct kvmi_pipeline *b;

	if (hk->views.cleanup ||
	    kvmi__dialect_lacks(kvmi_dom_dialect(dom),
				KVMI_COMMON_VM_CONTROL_CLEANUP) ||
	    !kvmi__dom_usable(dom) || kvmi_pipeline_new(dom, 0, &b))
		return;
	if (q_cleanup(b) < 0) {
		kvmi_pipeline_free(b);
		return;
	}
	if (kvmi__pipeline_send_flagged(b, cleanup_done, NULL, true) == 0)
		hk->views.cleanup = 1;
}

/* ---- the unhook's steps (unhook.c) ---- */

size_t kvmi__views_pages(const struct kvmi__hooks *hk)
{
	return hk->views.npages;
}

int kvmi__views_restore(struct kvmi_pipeline *b, struct kvmi__hooks *hk)
{
	const struct kvmi__views *vw = &hk->views;
	int err = 0;

	for (size_t i = 0; i < vw->npages && err >= 0; i++) {
		struct kvmi_page_access_entry e = {.gpa = vw->pages[i].gfn
							  << KVMI_PAGE_SHIFT,
						   .access = vw->pages[i].prev};

		err = kvmi_pipeline_set_page_access_view(b, vw->pages[i].view,
							 &e, 1);
	}
	return err < 0 ? err : 0;
}

int kvmi__views_disable(struct kvmi_pipeline *b, struct kvmi__hooks *hk,
			unsigned int *count)
{
	const struct kvmi__views *vw = &hk->views;
	int err = 0;

	*count = 0;
	/* invisible first, so the guest cannot VMFUNC away again */
	for (size_t i = 0; i < vw->nvis && err >= 0; i++, ++*count)
		err = kvmi_pipeline_control_ept_view(b, vw->vis[i].vcpu,
						     vw->vis[i].view, 0);
	for (unsigned int v = 0; v < vw->nvcpus && err >= 0; v++) {
		if (vw->vcpus[v].start >= 0) {
			err = kvmi_pipeline_set_ept_view(
			    b, (uint16_t)v, (uint16_t)vw->vcpus[v].start);
			++*count;
		}
		if (vw->vcpus[v].ve && err >= 0) {
			err = kvmi_pipeline_disable_ve(b, (uint16_t)v);
			++*count;
		}
	}
	return err < 0 ? err : 0;
}

/* the vCPUs we switched, read back (GET_EPT_VIEW) */
int kvmi__views_verify(struct kvmi_pipeline *b, struct kvmi__hooks *hk)
{
	struct kvmi__views *vw = &hk->views;
	int err = 0;

	for (unsigned int v = 0; v < vw->nvcpus && err >= 0; v++)
		if (vw->vcpus[v].start >= 0)
			err = q_get_view(b, (uint16_t)v, &vw->vcpus[v].got);
	return err < 0 ? err : 0;
}

size_t kvmi__views_judge(struct kvmi__hooks *hk, unsigned int *ok)
{
	struct kvmi__views *vw = &hk->views;
	size_t wrong = 0;

	*ok = 0;
	for (unsigned int v = 0; v < vw->nvcpus; v++) {
		struct kvmi__vcpu_view *c = &vw->vcpus[v];

		if (c->start < 0)
			continue;
		c->wrong = c->got.view != (uint16_t)c->start;
		wrong += c->wrong;
		*ok += !c->wrong;
	}
	return wrong;
}

unsigned int kvmi__views_switched(const struct kvmi__hooks *hk)
{
	unsigned int n = 0;

	for (unsigned int v = 0; v < hk->views.nvcpus; v++)
		n += hk->views.vcpus[v].start >= 0;
	return n;
}

int kvmi__views_reapply(struct kvmi_pipeline *b, struct kvmi__hooks *hk)
{
	const struct kvmi__views *vw = &hk->views;
	int err = 0;

	for (unsigned int v = 0; v < vw->nvcpus && err >= 0; v++)
		if (vw->vcpus[v].start >= 0 && vw->vcpus[v].wrong)
			err = kvmi_pipeline_set_ept_view(
			    b, (uint16_t)v, (uint16_t)vw->vcpus[v].start);
	return err < 0 ? err : 0;
}

/* every vCPU is back: destroy the views we created, free the gfns */
int kvmi__views_teardown(struct kvmi_pipeline *b, struct kvmi__hooks *hk)
{
	const struct kvmi__views *vw = &hk->views;
	int err = 0;

	for (size_t i = 0; i < vw->ncreated && err >= 0; i++)
		err = kvmi_pipeline_destroy_ept_view(b, vw->created[i]);
	for (size_t i = 0; i < vw->ngfns && err >= 0; i++)
		err = kvmi_pipeline_free_gfn(b, vw->gfns[i]);
	return err < 0 ? err : 0;
}

/* ---- fire and forget, when the library closes the domain ---- */

/* room for one message in the closing domain's output (NULL: none) */
static uint8_t *closing_room(struct kvmi_session *s)
{
	uint8_t *where;

	return kvmi__out_reserve(s, MAXM, &where) ? NULL : where;
}

/* the message of length @n (an encoder's result) committed: 1, or 0 */
static unsigned int closing_commit(struct kvmi_session *s, int n)
{
	if (n <= 0)
		return 0;
	kvmi__out_commit(s, (size_t)n);
	return 1;
}

unsigned int kvmi__views_closing(struct kvmi_dom *dom, struct kvmi__hooks *hk)
{
	struct kvmi_session *s = dom->sess;
	const struct kvmi__views *vw = &hk->views;
	enum kvmi_dialect d = s->dialect;
	unsigned int sent = 0;
	uint8_t *where;

	for (size_t i = 0; i < vw->npages; i++) {
		struct kvmi_page_access_entry e = {.gpa = vw->pages[i].gfn
							  << KVMI_PAGE_SHIFT,
						   .access = vw->pages[i].prev};

		if ((where = closing_room(s)))
			sent += closing_commit(
			    s, kvmi_encode_set_page_access_d(
				   d, where, MAXM, kvmi_seq_next(&s->seq),
				   vw->pages[i].view, &e, 1));
	}
	for (size_t i = 0; i < vw->nvis; i++)
		if ((where = closing_room(s)))
			sent += closing_commit(
			    s, kvmi_encode_control_ept_view_d(
				   d, where, MAXM, kvmi_seq_next(&s->seq),
				   vw->vis[i].vcpu, vw->vis[i].view, 0));
	for (unsigned int v = 0; v < vw->nvcpus; v++) {
		if (vw->vcpus[v].start >= 0 && (where = closing_room(s)))
			sent += closing_commit(
			    s, kvmi_encode_set_ept_view_d(
				   d, where, MAXM, kvmi_seq_next(&s->seq),
				   (uint16_t)v, (uint16_t)vw->vcpus[v].start));
		if (vw->vcpus[v].ve && (where = closing_room(s)))
			sent += closing_commit(
			    s, kvmi_encode_disable_ve_d(d, where, MAXM,
							kvmi_seq_next(&s->seq),
							(uint16_t)v));
	}
	/* last: no reply is read, so the switches back are not confirmed;
	 * the host's own unhook destroys the views as well (KVMI-V7.md 10) */
	for (size_t i = 0; i < vw->ncreated; i++)
		if ((where = closing_room(s)))
			sent += closing_commit(
			    s, kvmi_encode_destroy_ept_view_d(
				   d, where, MAXM, kvmi_seq_next(&s->seq),
				   vw->created[i]));
	for (size_t i = 0; i < vw->ngfns; i++)
		if ((where = closing_room(s)))
			sent += closing_commit(
			    s, kvmi_encode_free_gfn_d(d, where, MAXM,
						      kvmi_seq_next(&s->seq), 0,
						      vw->gfns[i]));
	return sent;
}
