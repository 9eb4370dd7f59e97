/*
 * libkvmi - extension.c: how a layer above the transport (the hooks)
 * attaches its per-domain state to a domain (see struct kvmi__ext_ops in
 * internal.h).  The transport calls the attached operations; it never
 * names the layer.
 */
#include <errno.h>
#include <stdlib.h>

#include "alloc.h"
#include "internal.h"

int kvmi__dom_attach(struct kvmi_dom *dom, const struct kvmi__ext_ops *ops,
		     void *state)
{
	struct kvmi__ext *e, **pp;

	if (kvmi__dom_ext(dom, ops))
		return -EEXIST;
	e = kvmi__calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->ops = ops;
	e->state = state;
	/* in attach order: the first attached observes first */
	for (pp = &dom->exts; *pp; pp = &(*pp)->next)
		;
	*pp = e;
	if (ops->vcpus && dom->vcpus_told)
		ops->vcpus(dom, dom->vcpus_told, state);
	return 0;
}

void *kvmi__dom_ext(const struct kvmi_dom *dom, const struct kvmi__ext_ops *ops)
{
	for (const struct kvmi__ext *e = dom->exts; e; e = e->next)
		if (e->ops == ops)
			return e->state;
	return NULL;
}
