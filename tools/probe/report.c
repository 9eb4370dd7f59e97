/*
 * kvmi-probe - report.c: a probe's result for a person (aligned sections,
 * the outcome last) or as one JSON object on one line (probe.h).  Guest
 * names come from the wire: text output quotes them as logfmt values,
 * JSON escapes every control byte and every byte from 0x7f up (\u00XX),
 * so neither can be forged or break a parser.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "probe.h"

const char *probe_result_name(enum probe_exit code)
{
	switch (code) {
	case PROBE_OK:
		return "ok";
	case PROBE_USAGE:
		return "usage";
	case PROBE_LISTEN:
		return "listen-failed";
	case PROBE_NO_CONNECTION:
		return "no-connection";
	case PROBE_HANDSHAKE:
		return "handshake-failed";
	case PROBE_CLOSED_EARLY:
		return "host-closed-early";
	case PROBE_HOST_ERROR:
		return "host-error";
	}
	return "unknown";
}

/* ---- facts shared by both forms ---- */

static void uuid_text(const uint8_t u[16], char out[37])
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[n++] = '-';
		out[n++] = hex[u[i] >> 4];
		out[n++] = hex[u[i] & 15];
	}
	out[n] = 0;
}

/* the start time as a UTC date: QEMU sends seconds or milliseconds
 * (a value past the year 5138 in seconds is taken as ms) */
static void start_time_text(int64_t t, char *out, size_t cap)
{
	int ms = t > 100000000000LL;
	time_t s = (time_t)(ms ? t / 1000 : t);
	struct tm tm;

	if (t <= 0 || !gmtime_r(&s, &tm) ||
	    !strftime(out, cap, "%Y-%m-%d %H:%M:%S UTC", &tm)) {
		snprintf(out, cap, "not a date");
		return;
	}
	snprintf(out + strlen(out), cap - strlen(out), " (read as %s)",
		 ms ? "milliseconds" : "seconds");
}

/* the feature block of our GET_VERSION reply: 1 and its fields when the
 * dialect has one and it came whole */
struct features {
	int spp, vmfunc, eptp, ve, singlestep;
	int v12; /* only singlestep is defined */
	uint32_t max_msg_size;
};

static int features_of(const struct probe_result *r, struct features *f)
{
	memset(f, 0, sizeof(*f));
	if (!r->ready || !r->ver_done || r->ver_result || r->ver_len < 16 ||
	    r->dialect == KVMI_DIALECT_V6)
		return 0;
	if (r->dialect == KVMI_DIALECT_V12) {
		struct kvmi_v12_get_version_reply v;

		memcpy(&v, r->ver_reply, sizeof(v));
		f->v12 = 1;
		f->singlestep = v.features.singlestep;
		f->max_msg_size = v.max_msg_size;
	} else {
		struct kvmi_v7_get_version_reply v;

		memcpy(&v, r->ver_reply, sizeof(v));
		f->spp = v.features.spp;
		f->vmfunc = v.features.vmfunc;
		f->eptp = v.features.eptp;
		f->ve = v.features.ve;
		f->singlestep = v.features.singlestep;
	}
	return 1;
}

/* QEMU's verdict on our cookie as far as we can tell: 1 accepted (the
 * host spoke after our reply), 0 most likely refused, -1 unknown */
static int cookie_verdict(const struct probe_result *r)
{
	if (r->bytes_from_host)
		return 1;
	if (r->have_identity && r->code == PROBE_HANDSHAKE)
		return 0;
	return -1;
}

static const char *check_word(const struct probe_check *c)
{
	if (!probe_answered(c->done, c->result))
		return "no-answer";
	if (!c->result)
		return "allowed";
	return c->result == -EPERM ? "denied" : "unsupported";
}

/* ---- text ---- */

#define ROW "  %-18s "

static void text_checks(FILE *f, const char *title, const struct probe_check *c,
			size_t n)
{
	fprintf(f, "%s\n", title);
	for (size_t i = 0; i < n; i++, c++) {
		fprintf(f, "  %4u  %-36s %s", c->id, c->name, check_word(c));
		if (c->done && c->result)
			fprintf(f, " (%s)", kvmi_err_name(c->result));
		fputc('\n', f);
	}
}

static void text_host(FILE *f, const struct probe_opts *o,
		      const struct probe_result *r)
{
	struct features ft;

	fprintf(f, "Host\n");
	fprintf(f, ROW "%u\n", "KVMI version", r->version);
	fprintf(f, ROW "%s (%s)\n", "dialect", kvmi_dialect_name(r->dialect),
		o->force_dialect ? "forced with --dialect" : "detected");
	if (r->ver_done && !r->ver_result)
		fprintf(f, ROW "%zu bytes\n", "GET_VERSION reply", r->ver_len);
	else if (r->ver_done)
		fprintf(f, ROW "failed: %s\n", "GET_VERSION reply",
			kvmi_err_name(r->ver_result));
	if (!features_of(r, &ft))
		fprintf(f, ROW "%s\n", "features",
			r->dialect == KVMI_DIALECT_V6
			    ? "none (v6 sends no feature block)"
			    : "not received");
	else if (ft.v12)
		fprintf(f, ROW "singlestep=%d (max_msg_size %" PRIu32 ")\n",
			"features", ft.singlestep, ft.max_msg_size);
	else
		fprintf(f, ROW "spp=%d vmfunc=%d eptp=%d ve=%d singlestep=%d\n",
			"features", ft.spp, ft.vmfunc, ft.eptp, ft.ve,
			ft.singlestep);
	fprintf(f, ROW "%u\n", "vCPUs", r->vcpus);
}

void probe_print_text(FILE *f, const struct probe_opts *o,
		      const struct probe_result *r)
{
	const struct kvmi_guest_identity *id = &r->identity;
	char buf[4 * sizeof(id->name) + 3];
	int cookie = cookie_verdict(r);

	if (r->code != PROBE_LISTEN && r->code != PROBE_NO_CONNECTION) {
		fprintf(f, "Connection\n");
		if (r->have_peer_cred)
			fprintf(f, ROW "pid %d, uid %u, gid %u\n", "peer",
				(int)r->pid, (unsigned int)r->uid,
				(unsigned int)r->gid);
		else if (r->have_peer_cid)
			fprintf(f, ROW "vsock CID %u\n", "peer", r->cid);
		fprintf(f, ROW "%" PRIu64 " bytes of KVMI messages\n",
			"from the host", r->bytes_from_host);
	}
	if (r->have_identity) {
		fprintf(f, "QEMU handshake\n");
		fprintf(f, ROW "%u\n", "struct_size", id->struct_size);
		uuid_text(id->uuid, buf);
		fprintf(f, ROW "%s\n", "uuid", buf);
		kvmi_logfmt_value(buf, sizeof(buf), id->name);
		fprintf(f, ROW "%s\n", "name", buf);
		start_time_text(id->start_time, buf, sizeof(buf));
		fprintf(f, ROW "%" PRId64 " = %s\n", "start_time",
			id->start_time, buf);
		if (id->struct_size >= 104)
			fprintf(f, ROW "0x%" PRIx64 "\n", "max_gpa",
				id->max_gpa);
		else
			fprintf(f, ROW "not sent (struct_size below 104)\n",
				"max_gpa");
		fprintf(f, "Cookie\n");
		if (o->secret)
			fprintf(f, ROW "SHA-1 of the secret from %s\n", "sent",
				o->secret_from);
		else
			fprintf(f, ROW "20 zero bytes (no secret given)\n",
				"sent");
		fprintf(f, ROW "%s\n", "QEMU",
			cookie > 0    ? "accepted it (the host answered after "
					"our reply)"
			: cookie == 0 ? "most likely refused it (hung up "
					"before any KVMI message)"
				      : "unknown (no KVMI message yet)");
	}
	if (r->ready) {
		text_host(f, o, r);
		text_checks(f, "Commands (CHECK_COMMAND)", r->commands,
			    r->ncommands);
		text_checks(f, "Events (CHECK_EVENT)", r->events, r->nevents);
	}
	fprintf(f, "Result: %s (exit %d): %s\n", probe_result_name(r->code),
		(int)r->code, r->summary);
	if (r->cause[0])
		fprintf(f, "Likely cause: %s\n", r->cause);
	if (r->detail[0])
		fprintf(f, "libkvmi said: %s\n", r->detail);
}

/* ---- JSON ---- */

static void js_str(FILE *f, const char *s)
{
	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* "text" or null for an empty one */
static void js_opt(FILE *f, const char *s)
{
	js_str(f, s && *s ? s : NULL);
}

static void js_bool(FILE *f, int v)
{
	fputs(v < 0 ? "null" : v ? "true" : "false", f);
}

static void js_checks(FILE *f, const struct probe_check *c, size_t n)
{
	fputc('[', f);
	for (size_t i = 0; i < n; i++, c++) {
		fprintf(f, "%s{\"id\":%u,\"common_id\":", i ? "," : "", c->id);
		if (c->common < 0)
			fputs("null", f);
		else
			fprintf(f, "%d", c->common);
		fputs(",\"name\":", f);
		js_str(f, c->name);
		fputs(",\"result\":", f);
		js_str(f, check_word(c));
		fputs(",\"allowed\":", f);
		js_bool(f,
			probe_answered(c->done, c->result) ? !c->result : -1);
		fputs(",\"error\":", f);
		js_str(f,
		       c->done && c->result ? kvmi_err_name(c->result) : NULL);
		fputc('}', f);
	}
	fputc(']', f);
}

static void js_host(FILE *f, const struct probe_opts *o,
		    const struct probe_result *r)
{
	struct features ft;

	if (!r->ready) {
		fputs("null", f);
		return;
	}
	fputs("{\"dialect\":", f);
	js_str(f, kvmi_dialect_name(r->dialect));
	fputs(",\"dialect_forced\":", f);
	js_bool(f, o->force_dialect);
	fprintf(f, ",\"version\":%" PRIu32 ",\"vcpus\":%u", r->version,
		r->vcpus);
	fputs(",\"version_reply_size\":", f);
	if (r->ver_done && !r->ver_result)
		fprintf(f, "%zu", r->ver_len);
	else
		fputs("null", f);
	fputs(",\"features\":", f);
	if (!features_of(r, &ft))
		fputs("null", f);
	else if (ft.v12)
		fprintf(f, "{\"singlestep\":%s,\"max_msg_size\":%" PRIu32 "}",
			ft.singlestep ? "true" : "false", ft.max_msg_size);
	else
		fprintf(f,
			"{\"spp\":%s,\"vmfunc\":%s,\"eptp\":%s,\"ve\":%s,"
			"\"singlestep\":%s}",
			ft.spp ? "true" : "false", ft.vmfunc ? "true" : "false",
			ft.eptp ? "true" : "false", ft.ve ? "true" : "false",
			ft.singlestep ? "true" : "false");
	fputc('}', f);
}

static void js_handshake(FILE *f, const struct probe_result *r)
{
	const struct kvmi_guest_identity *id = &r->identity;
	char uuid[37];

	if (!r->have_identity) {
		fputs("null", f);
		return;
	}
	uuid_text(id->uuid, uuid);
	fprintf(f, "{\"struct_size\":%u,\"uuid\":\"%s\",\"name\":",
		id->struct_size, uuid);
	js_str(f, id->name);
	fprintf(f, ",\"start_time\":%" PRId64 ",\"max_gpa\":", id->start_time);
	if (id->struct_size >= 104)
		fprintf(f, "%" PRIu64, id->max_gpa);
	else
		fputs("null", f);
	fputc('}', f);
}

void probe_print_json(FILE *f, const struct probe_opts *o,
		      const struct probe_result *r)
{
	fprintf(f, "{\"exit_code\":%d,\"result\":", (int)r->code);
	js_str(f, probe_result_name(r->code));
	fputs(",\"summary\":", f);
	js_opt(f, r->summary);
	fputs(",\"cause\":", f);
	js_opt(f, r->cause);
	fputs(",\"detail\":", f);
	js_opt(f, r->detail);
	fputs(",\"error\":", f);
	js_str(f, r->error ? kvmi_err_name(r->error) : NULL);
	fputs(",\"listen\":{\"unix\":", f);
	js_str(f, o->unix_path);
	fputs(",\"vsock_port\":", f);
	if (o->vsock_port)
		fprintf(f, "%u", o->vsock_port);
	else
		fputs("null", f);
	fputs("},\"peer\":", f);
	if (r->have_peer_cred)
		fprintf(f, "{\"pid\":%d,\"uid\":%u,\"gid\":%u}", (int)r->pid,
			(unsigned int)r->uid, (unsigned int)r->gid);
	else if (r->have_peer_cid)
		fprintf(f, "{\"cid\":%u}", r->cid);
	else
		fputs("null", f);
	fputs(",\"handshake\":", f);
	js_handshake(f, r);
	fputs(",\"cookie\":{\"sent\":", f);
	js_str(f, o->secret ? "sha1-of-secret" : "zeros");
	fputs(",\"secret_from\":", f);
	js_str(f, o->secret ? o->secret_from : NULL);
	fputs(",\"accepted\":", f);
	js_bool(f, cookie_verdict(r));
	fprintf(f, "},\"bytes_from_host\":%" PRIu64 ",\"ms_after_reply\":",
		r->bytes_from_host);
	if (r->have_identity && r->reply_ns && r->end_ns >= r->reply_ns)
		fprintf(f, "%" PRIu64, (r->end_ns - r->reply_ns) / 1000000);
	else
		fputs("null", f);
	fputs(",\"host\":", f);
	js_host(f, o, r);
	fputs(",\"commands\":", f);
	js_checks(f, r->commands, r->ncommands);
	fputs(",\"events\":", f);
	js_checks(f, r->events, r->nevents);
	fputs("}\n", f);
}
