/*
 * libkvmi - lib/compat/safety.c: the unhook safety net for 1.x tools.
 *
 * Most 1.x tools (LibVMI among them) never enable KVMI_EVENT_UNHOOK, so
 * when QEMU pauses, snapshots or migrates the guest their INT3s and page
 * restrictions stay behind.  Unless KVMI_SAFETY_NET=0 is in the
 * environment when a guest connects, the library enables UNHOOK itself,
 * remembers the original byte under every INT3 (0xCC) the tool writes
 * with kvmi_write_physical (read before the write; forgotten when the
 * tool writes another value there) and every page whose access the tool
 * restricts (forgotten when set back to rwx).  When the UNHOOK arrives and
 * the tool did not enable it itself (kvmi_control_vm_events), the net -
 * run by whichever call is reading the domain's socket - writes the bytes
 * back, makes those pages rwx again, answers every event still open
 * (RETRY for a breakpoint on a restored byte, so the original instruction
 * runs; CONTINUE otherwise; again after one round trip, for the events
 * raised meanwhile) and shuts the connection down, all within the
 * session's command timeout.  The tool then sees ENOTCONN.  A tool that
 * enabled UNHOOK gets it as an event (kvmi_pop_event) and unhooks itself.
 * On a kvmi-v7 host the pages are remembered per EPT view and restored
 * in each, and the net also undoes what the tool turned on and left on
 * (kvmi1__net_hook): single-stepping, vCPUs switched to views other than
 * 0, views made visible to VMFUNC, views created, gfns allocated - in that
 * order, after the pages, so no restriction outlives its view.  Each step
 * goes on after another's error (logged).  v6 has one EPT view and no
 * single-step control, so there is nothing more to undo there.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "compat.h"

bool kvmi1__net_wanted(void)
{
	const char *v = getenv("KVMI_SAFETY_NET");

	return !v || strcmp(v, "0") != 0;
}

/* room for one more of the @size-byte elements of *@v (@n used of
 * *@cap): 0, or -ENOMEM (logged with @what, *@v unchanged) */
static int grow(struct kvmi1_dom *d, void **v, size_t n, size_t *cap,
		size_t size, const char *what, unsigned long long at)
{
	size_t nc = *cap ? *cap * 2 : 64;
	void *p;

	if (n < *cap)
		return 0;
	p = realloc(*v, nc * size);
	if (!p) {
		kvmi1__log(KVMI_LOG_LEVEL_ERROR,
			   "%s: out of memory: %s 0x%llx will not be undone",
			   d->qemu.name, what, at);
		return -ENOMEM;
	}
	*v = p;
	*cap = nc;
	return 0;
}

static struct kvmi1_byte *find_byte(struct kvmi1_dom *d, uint64_t gpa)
{
	for (size_t i = 0; i < d->n_bytes; i++)
		if (d->bytes[i].gpa == gpa)
			return &d->bytes[i];
	return NULL;
}

bool kvmi1__net_needs_read(struct kvmi1_dom *d, uint64_t gpa,
			   const uint8_t *buf, size_t n)
{
	if (!d->net)
		return false;
	for (size_t i = 0; i < n; i++)
		if (buf[i] == 0xcc && !find_byte(d, gpa + i))
			return true;
	return false;
}

void kvmi1__net_wrote(struct kvmi1_dom *d, uint64_t gpa, const uint8_t *buf,
		      const uint8_t *orig, size_t n)
{
	if (!d->net)
		return;
	for (size_t i = 0; i < n; i++) {
		struct kvmi1_byte *b = find_byte(d, gpa + i);

		if (buf[i] != 0xcc) {
			if (b) /* the tool wrote the byte back (or its own) */
				*b = d->bytes[--d->n_bytes];
			continue;
		}
		if (b || !orig || orig[i] == 0xcc)
			continue;
		if (grow(d, (void **)&d->bytes, d->n_bytes, &d->cap_bytes,
			 sizeof(*d->bytes), "the INT3 at",
			 (unsigned long long)(gpa + i)))
			continue;
		d->bytes[d->n_bytes].gpa = gpa + i;
		d->bytes[d->n_bytes++].orig = orig[i];
	}
}

void kvmi1__net_access(struct kvmi1_dom *d, const unsigned long long *gpa,
		       const unsigned char *access, size_t count,
		       unsigned short view)
{
	if (!d->net)
		return;
	for (size_t i = 0; i < count; i++) {
		uint64_t page = gpa[i] & ~(uint64_t)(KVMI_PAGE_SIZE - 1);
		size_t j = 0;

		while (j < d->n_pages &&
		       (d->pages[j].gpa != page || d->pages[j].view != view))
			j++;
		if ((access[i] & KVMI_PAGE_ACCESS_RWX) ==
		    KVMI_PAGE_ACCESS_RWX) {
			if (j < d->n_pages)
				d->pages[j] = d->pages[--d->n_pages];
			continue;
		}
		if (j < d->n_pages)
			continue;
		if (grow(d, (void **)&d->pages, d->n_pages, &d->cap_pages,
			 sizeof(*d->pages), "the access of page",
			 (unsigned long long)page))
			continue;
		d->pages[d->n_pages].gpa = page;
		d->pages[d->n_pages++].view = view;
	}
}

/* the record of @kind/@vcpu/@value (the value is no key for a vCPU's
 * view or single-stepping); NULL if none */
static struct kvmi1_hook *find_hook(struct kvmi1_dom *d, uint8_t kind,
				    uint16_t vcpu, uint64_t value)
{
	bool per_vcpu = kind == KVMI1_HOOK_SINGLESTEP || kind == KVMI1_HOOK_VIEW;

	for (size_t i = 0; i < d->n_hooks; i++) {
		struct kvmi1_hook *h = &d->hooks[i];

		if (h->kind == kind && h->vcpu == vcpu &&
		    (per_vcpu || h->value == value))
			return h;
	}
	return NULL;
}

void kvmi1__net_hook(struct kvmi1_dom *d, enum kvmi1_hook_kind kind,
		     uint16_t vcpu, uint64_t value, bool on)
{
	struct kvmi1_hook *h;

	if (!d->net)
		return;
	pthread_mutex_lock(&d->lock);
	h = find_hook(d, (uint8_t)kind, vcpu, value);
	if (!on && h) {
		*h = d->hooks[--d->n_hooks];
		/* a destroyed view takes its page restrictions with it */
		for (size_t i = 0; kind == KVMI1_HOOK_CREATED && i < d->n_pages;)
			if (d->pages[i].view == value)
				d->pages[i] = d->pages[--d->n_pages];
			else
				i++;
	} else if (on && h) {
		h->value = value;
	} else if (on) {
		if (grow(d, (void **)&d->hooks, d->n_hooks, &d->cap_hooks,
			 sizeof(*d->hooks), "the kvmi-v7 setting of",
			 (unsigned long long)value)) {
			pthread_mutex_unlock(&d->lock);
			return;
		}
		d->hooks[d->n_hooks++] = (struct kvmi1_hook){
		    .kind = (uint8_t)kind, .vcpu = vcpu, .value = value};
	}
	pthread_mutex_unlock(&d->lock);
}

/* undo one remembered kvmi-v7 setting: 0 or the host's error */
static int undo_hook(struct kvmi1_dom *d, const struct kvmi1_hook *h)
{
	uint8_t msg[KVMI_ENCODE_MAX]; /* copied by the session */
	enum kvmi_dialect dl = kvmi1__dialect(d);
	uint32_t seq = kvmi_session_next_seq(d->s);
	int n;

	switch (h->kind) {
	case KVMI1_HOOK_SINGLESTEP:
		n = kvmi_encode_control_singlestep_d(dl, msg, sizeof(msg),
						     seq, h->vcpu, 0);
		break;
	case KVMI1_HOOK_VIEW:
		n = kvmi_encode_set_ept_view_d(dl, msg, sizeof(msg), seq,
					       h->vcpu, 0);
		break;
	case KVMI1_HOOK_VISIBLE:
		n = kvmi_encode_control_ept_view_d(dl, msg, sizeof(msg),
						   seq, h->vcpu,
						   (uint16_t)h->value, 0);
		break;
	case KVMI1_HOOK_CREATED:
		n = kvmi_encode_destroy_ept_view_d(dl, msg, sizeof(msg),
						   seq, (uint16_t)h->value);
		break;
	default:
		n = kvmi_encode_free_gfn_d(dl, msg, sizeof(msg), seq, 0,
					   h->value);
	}
	return kvmi1__cmd_locked(d, msg, n, NULL, 0, NULL);
}

/* undo every remembered setting, kind by kind in enum order; the first
 * error */
static int restore_hooks(struct kvmi1_dom *d)
{
	int first = 0;

	for (uint8_t kind = KVMI1_HOOK_SINGLESTEP; kind <= KVMI1_HOOK_GFN;
	     kind++)
		for (size_t i = 0; i < d->n_hooks; i++) {
			int err;

			if (d->hooks[i].kind != kind)
				continue;
			err = undo_hook(d, &d->hooks[i]);
			if (err && !first)
				first = err;
		}
	d->n_hooks = 0;
	return first;
}

/* write every remembered byte back; the first error */
static int restore_bytes(struct kvmi1_dom *d)
{
	uint8_t msg[KVMI_ENCODE_MAX]; /* copied by the session */
	int first = 0;

	for (size_t i = 0; i < d->n_bytes; i++) {
		int err = kvmi1__cmd_locked(
		    d, msg,
		    kvmi_encode_write_physical_d(
			kvmi1__dialect(d), msg, sizeof(msg),
			kvmi_session_next_seq(d->s), d->bytes[i].gpa,
			&d->bytes[i].orig, 1),
		    NULL, 0, NULL);

		if (err && !first)
			first = err;
	}
	return first;
}

/* every restricted page back to rwx, 511 per message, per view */
static int restore_pages(struct kvmi1_dom *d)
{
	uint8_t msg[KVMI_ENCODE_MAX]; /* copied by the session */
	struct kvmi_page_access_entry e[KVMI_SET_PAGE_ACCESS_MAX_ENTRIES];
	int first = 0;

	while (d->n_pages) {
		unsigned short view = d->pages[0].view;
		size_t n = 0;
		int err;

		for (size_t i = 0;
		     i < d->n_pages && n < KVMI_SET_PAGE_ACCESS_MAX_ENTRIES;) {
			if (d->pages[i].view != view) {
				i++;
				continue;
			}
			memset(&e[n], 0, sizeof(e[n]));
			e[n].gpa = d->pages[i].gpa;
			e[n++].access = KVMI_PAGE_ACCESS_RWX;
			d->pages[i] = d->pages[--d->n_pages];
		}
		err = kvmi1__cmd_locked(
		    d, msg,
		    kvmi_encode_set_page_access_d(
			kvmi1__dialect(d), msg, sizeof(msg),
			kvmi_session_next_seq(d->s), view, e, n),
		    NULL, 0, NULL);
		if (err && !first)
			first = err;
	}
	return first;
}

/* answer one event the tool left open */
static void answer(struct kvmi_event_ctx *ev, const struct kvmi1_byte *restored,
		   size_t n_restored)
{
	uint8_t action = KVMI_EVENT_ACTION_CONTINUE;

	if (kvmi_event_id(ev) == KVMI_EVENT_BREAKPOINT) {
		uint64_t gpa = kvmi_event_data(ev)->breakpoint.gpa;

		for (size_t i = 0; i < n_restored; i++)
			if (restored[i].gpa == gpa)
				action = KVMI_EVENT_ACTION_RETRY;
	}
	kvmi_event_reply(ev, action);
}

void kvmi1__net_run_locked(struct kvmi1_dom *d)
{
	uint8_t msg[KVMI_ENCODE_MAX]; /* copied by the session */
	struct kvmi1_byte *restored = d->bytes;
	size_t n_restored = d->n_bytes;
	int err;

	d->unhook_net = false;
	d->in_net = true;
	kvmi1__log(KVMI_LOG_LEVEL_WARNING,
		   "%s: UNHOOK: restoring %zu INT3 bytes, %zu pages and %zu "
		   "kvmi-v7 settings the tool left, then closing",
		   d->qemu.name, d->n_bytes, d->n_pages, d->n_hooks);
	err = restore_bytes(d);
	if (err)
		kvmi1__log(KVMI_LOG_LEVEL_ERROR, "%s: UNHOOK: restoring bytes: %s",
			   d->qemu.name, kvmi_strerror(err));
	err = restore_pages(d);
	if (err)
		kvmi1__log(KVMI_LOG_LEVEL_ERROR, "%s: UNHOOK: restoring pages: %s",
			   d->qemu.name, kvmi_strerror(err));
	err = restore_hooks(d);
	if (err)
		kvmi1__log(KVMI_LOG_LEVEL_ERROR,
			   "%s: UNHOOK: undoing kvmi-v7 settings: %s",
			   d->qemu.name, kvmi_strerror(err));
	/* the events still open: popped by the tool, or still queued; then
	 * once more after a round trip, for those raised meanwhile */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < d->n_popped; i++)
			answer(d->popped[i], restored, n_restored);
		for (size_t i = 0; i < d->n_queued; i++)
			if (d->queued[i])
				answer(d->queued[i], restored, n_restored);
		d->n_popped = d->n_queued = 0;
		if (pass == 0)
			kvmi1__cmd_locked(d, msg,
					  kvmi_encode_get_version(
					      msg, sizeof(msg),
					      kvmi_session_next_seq(d->s)),
					  NULL, 0, NULL);
	}
	kvmi1__flush_locked(d);
	d->bytes = NULL;
	d->n_bytes = d->cap_bytes = 0;
	free(restored);
	shutdown(d->fd, SHUT_RDWR);
	kvmi_session_fail(d->s, -ENOTCONN);
	kvmi_session_dispatch(d->s);
	atomic_store(&d->connected, false);
	kvmi1__wake(d);
	d->in_net = false;
}
