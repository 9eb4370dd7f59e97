/*
 * kvmi-fakehost - report.c: verdict and JSON report of one guest
 * (report.h says what "clean" requires).
 */
#include "report.h"

#include <errno.h>
#include <string.h>

/* by common event id; kvmi-v7 adds the last two */
static const char *const event_keys[FH_NUM_EVENTS] = {
	"unhook", "cr", "msr", "xsetbv", "breakpoint", "hypercall",
	"pf", "trap", "descriptor", "create_vcpu", "pause_vcpu", "singlestep",
	"cmd_error", "cpuid",
};

/* the event ids the guest's dialect has (v6: 12, kvmi-v7 and v12's
 * common numbering: 14) */
static unsigned num_events(const struct fh_vm *vm)
{
	return vm && vm->cfg.dialect != KVMI_DIALECT_V6 ? FH_NUM_EVENTS
							: KVMI_NUM_EVENTS;
}

static void add_reason(struct fh_verdict *v, const char *r)
{
	size_t n = strlen(v->text);

	v->clean = 0;
	snprintf(v->text + n, sizeof(v->text) - n, "%s%s", n ? ", " : "", r);
}

void fh_verdict_compute(const struct fh_outcome *o, struct fh_verdict *v)
{
	const struct fh_vm *vm = o->vm;
	char r[256];

	memset(v, 0, sizeof(*v));
	v->clean = 1;
	if (!o->handshake_ok || !vm) {
		add_reason(v, "handshake failed");
		return;
	}
	v->bytes_differing = fh_memory_diff(&vm->mem);
	v->pages_restricted = vm->mem.restricted;
	if (vm->host_closed) {
		snprintf(r, sizeof(r), "host closed the channel: %s",
			 vm->close_reason);
		add_reason(v, r);
	}
	if (vm->crashed)
		add_reason(v, "guest crashed by the tool");
	if (v->bytes_differing) {
		snprintf(r, sizeof(r), "%llu bytes of guest memory differ",
			 (unsigned long long)v->bytes_differing);
		add_reason(v, r);
	}
	if (v->pages_restricted) {
		snprintf(r, sizeof(r), "%llu pages still restricted",
			 (unsigned long long)v->pages_restricted);
		add_reason(v, r);
	}
	if (vm->stats.guest_integrity_errors) {
		snprintf(r, sizeof(r), "%llu guest integrity errors",
			 (unsigned long long)vm->stats.guest_integrity_errors);
		add_reason(v, r);
	}
	if (o->unhook_sent && !o->closed_in_time)
		add_reason(v, "tool did not close within the unhook timeout");
	if (v->clean)
		snprintf(v->text, sizeof(v->text), "clean");
}

static void json_str(FILE *f, const char *s)
{
	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void json_counts(FILE *f, const uint64_t *counts, unsigned n)
{
	fputc('{', f);
	for (unsigned i = 0; i < n; i++)
		fprintf(f, "%s\"%s\":%llu", i ? "," : "", event_keys[i],
			(unsigned long long)counts[i]);
	fputc('}', f);
}

static void json_hooks_left(FILE *f, const struct fh_vm *vm)
{
	uint64_t per_event[FH_NUM_EVENTS] = { 0 };
	unsigned crs = 0, msrs = 0, first = 1;

	for (unsigned i = 0; i < vm->nvcpus; i++) {
		const struct fh_vcpu *c = &vm->vcpus[i];

		for (unsigned e = 0; e < FH_NUM_EVENTS; e++)
			per_event[e] += (c->events >> e) & 1;
		crs += (unsigned)__builtin_popcount(c->crs);
		msrs += c->msrs_intercepted;
	}
	fputs("{\"vcpu_events\":{", f);
	for (unsigned e = 0; e < FH_NUM_EVENTS; e++)
		if (per_event[e]) {
			fprintf(f, "%s\"%s\":%llu", first ? "" : ",", event_keys[e],
				(unsigned long long)per_event[e]);
			first = 0;
		}
	fputs("},\"vm_events\":[", f);
	first = 1;
	for (unsigned e = 0; e < FH_NUM_EVENTS; e++)
		if ((vm->vm_events >> e) & 1) {
			fprintf(f, "%s\"%s\"", first ? "" : ",", event_keys[e]);
			first = 0;
		}
	fprintf(f, "],\"cr_intercepts\":%u,\"msr_intercepts\":%u", crs, msrs);
	if (vm->cfg.dialect != KVMI_DIALECT_V6) {
		unsigned off_view0 = 0, visible = 0, stepping = 0;

		/* kvmi-v7 / v12 state the host undoes at unhook */
		for (unsigned i = 0; i < vm->nvcpus; i++) {
			off_view0 += vm->vcpus[i].view != 0;
			visible += vm->vcpus[i].views_visible != 0;
			stepping += vm->vcpus[i].singlestep != 0;
		}
		fprintf(f,
			",\"vcpus_off_view0\":%u,\"vcpus_with_visible_views\":%u,"
			"\"vcpus_singlestepping\":%u,\"views_created\":%u,"
			"\"gfns_allocated\":%u",
			off_view0, visible, stepping,
			(unsigned)__builtin_popcount(vm->views_created),
			vm->ngfns);
	}
	fputc('}', f);
}

int fh_report_write(FILE *f, const struct fh_outcome *o,
		    const struct fh_verdict *v)
{
	static const uint64_t none[FH_NUM_EVENTS];
	const struct fh_vm *vm = o->vm;
	char uuid[37];
	const uint8_t *u = o->uuid;

	snprintf(uuid, sizeof(uuid),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
		 u[10], u[11], u[12], u[13], u[14], u[15]);
	fputs("{\"name\":", f);
	json_str(f, o->name);
	fprintf(f, ",\"uuid\":\"%s\",\"handshake_ok\":%s,\"handshake_error\":",
		uuid, o->handshake_ok ? "true" : "false");
	json_str(f, o->handshake_error);
	fprintf(f, ",\"dialect\":\"%s\"",
		kvmi_dialect_name(o->dialect));
	fprintf(f, ",\"vcpus\":%u,\"events_sent\":", vm ? vm->nvcpus : 0);
	json_counts(f, vm ? vm->stats.events_sent : none, num_events(vm));
	fputs(",\"events_replied\":", f);
	json_counts(f, vm ? vm->stats.events_replied : none,
		    num_events(vm));
	fprintf(f, ",\"events_total\":%llu,\"events_unreplied\":%llu,"
		   "\"commands\":%llu",
		(unsigned long long)(vm ? fh_vm_total_events(vm) : 0),
		(unsigned long long)(vm ? vm->stats.events_unreplied : 0),
		(unsigned long long)(vm ? vm->stats.commands : 0));
	fprintf(f, ",\"unhook_requested\":%s,\"unhook_sent\":%s,"
		   "\"closed_in_time\":%s,\"unhook_ms\":",
		o->unhook_requested ? "true" : "false",
		o->unhook_sent ? "true" : "false",
		o->unhook_sent && o->closed_in_time ? "true" : "false");
	if (o->unhook_sent && o->unhook_ms >= 0)
		fprintf(f, "%.3f", o->unhook_ms);
	else
		fputs("null", f);
	fputs(",\"end\":", f);
	json_str(f, o->end);
	fputs(",\"close_reason\":", f);
	json_str(f, vm && vm->host_closed ? vm->close_reason : NULL);
	fprintf(f, ",\"crashed\":%s,\"bytes_differing\":%llu,"
		   "\"pages_restricted\":%llu,\"guest_integrity_errors\":%llu,"
		   "\"integrity_error\":",
		vm && vm->crashed ? "true" : "false",
		(unsigned long long)v->bytes_differing,
		(unsigned long long)v->pages_restricted,
		(unsigned long long)(vm ? vm->stats.guest_integrity_errors : 0));
	json_str(f, vm && vm->stats.guest_integrity_errors ? vm->integrity_first
							   : NULL);
	fprintf(f, ",\"guest_int3_handled\":%llu,\"unsupported_actions\":%llu,"
		   "\"exceptions_injected\":%llu,\"exceptions_dropped\":%llu,"
		   "\"hooks_left\":",
		(unsigned long long)(vm ? vm->stats.guest_int3_continued : 0),
		(unsigned long long)(vm ? vm->stats.unsupported_actions : 0),
		(unsigned long long)(vm ? vm->stats.exceptions_injected : 0),
		(unsigned long long)(vm ? vm->stats.exceptions_dropped : 0));
	if (vm)
		json_hooks_left(f, vm);
	else
		fputs("null", f);
	fputs(",\"verdict\":", f);
	json_str(f, v->text);
	fputs("}\n", f);
	fflush(f);
	return ferror(f) ? -EIO : 0;
}
