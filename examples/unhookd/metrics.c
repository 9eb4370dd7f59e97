/*
 * libkvmi - examples/unhookd/metrics.c: kvmi-unhookd's counters and the
 * --metrics-file writer: the Prometheus text exposition format, written
 * to PATH.tmp, fsync()ed and renamed over PATH (so a reader - the
 * node_exporter textfile collector - never sees half a file) every
 * --metrics-interval and once more at exit.
 *
 * What is counted (all since the start):
 *   kvmi_unhookd_guests_connected            gauge
 *   kvmi_unhookd_events_total{type}          events delivered to the
 *       daemon: breakpoint hits at its hooks, page faults, KVMI_EVENT_
 *       UNHOOK requests, and any other event the hooks leave to it; not
 *       the events the library answers by itself (breakpoints arriving
 *       while an unhook restores them)
 *   kvmi_unhookd_replies_total               event replies sent for the
 *       daemon (its own, and the hooks' RETRY after each hit)
 *   kvmi_unhookd_commands_total, kvmi_unhookd_command_errors_total
 *       the daemon's commands (enable UNHOOK, place a breakpoint,
 *       restrict a page, enable PF) and those that failed
 *   kvmi_unhookd_unhooks_total{result}       finished unhooks, result
 *       "ok" or the error name (KVMI_E_DEADLINE, ...)
 *   kvmi_unhookd_unhook_duration_seconds     histogram of their time
 *   kvmi_unhookd_disconnects_total{reason}   "closed" or the error name
 *   kvmi_unhookd_protocol_errors_total{code} disconnects for a protocol
 *       error (a KVMI_E_* code)
 *   kvmi_unhookd_bytes_{received,sent}_total bytes from and to the hosts
 *       of every guest that reached the daemon (kvmi_dom_bytes())
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unhookd.h"

#define MAX_LABELS 32 /* distinct result / reason / code values */

struct label_count {
	const char *name; /* static: "ok", "closed" or kvmi_err_name() */
	uint64_t n;
};

static const double buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
				 0.1,	0.25,	0.5,   1,    2.5,   5,
				 10,	30};
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

static struct {
	uint64_t events[KVMI_NUM_EVENTS];
	uint64_t replies, commands, command_errors;
	struct label_count unhooks[MAX_LABELS], disconnects[MAX_LABELS],
		protocol[MAX_LABELS];
	uint64_t hist[NBUCKETS]; /* per bucket, not cumulative */
	uint64_t hist_count;
	double hist_sum;
	uint64_t bytes_in, bytes_out; /* of guests gone */
	uv_timer_t timer;
	int timer_on;
	int failing; /* the last write failed (logged once) */
} m;

static void label_add(struct label_count *t, const char *name)
{
	int i;

	for (i = 0; i < MAX_LABELS && t[i].name && strcmp(t[i].name, name); i++)
		;
	if (i == MAX_LABELS)
		i = MAX_LABELS - 1; /* more kinds than expected: lumped in the
				     * last one (never seen in practice) */
	if (!t[i].name)
		t[i].name = name;
	t[i].n++;
}

void metrics_event(unsigned int event_id)
{
	if (event_id < KVMI_NUM_EVENTS)
		m.events[event_id]++;
}

void metrics_reply(void)
{
	m.replies++;
}

void metrics_command(int result)
{
	m.commands++;
	if (result < 0)
		m.command_errors++;
}

void metrics_unhook(const struct kvmi_unhook_report *r)
{
	double s = (double)r->elapsed_us / 1e6;
	size_t i;

	label_add(m.unhooks, r->result ? kvmi_err_name(r->result) : "ok");
	for (i = 0; i < NBUCKETS && s > buckets[i]; i++)
		;
	if (i < NBUCKETS)
		m.hist[i]++;
	m.hist_count++;
	m.hist_sum += s;
}

void metrics_disconnect(struct kvmi_dom *dom, int reason)
{
	uint64_t in, out;

	kvmi_dom_bytes(dom, &in, &out);
	m.bytes_in += in;
	m.bytes_out += out;
	label_add(m.disconnects, reason ? kvmi_err_name(reason) : "closed");
	if (reason <= -(KVMI_ERRNO_BASE + 1) && reason > KVMI_E__LAST)
		label_add(m.protocol, kvmi_err_name(reason));
}

static int add_live_bytes(struct kvmi_dom *dom, void *arg)
{
	uint64_t *sum = arg, in, out;

	kvmi_dom_bytes(dom, &in, &out);
	sum[0] += in;
	sum[1] += out;
	return 0;
}

/* "KVMI_EVENT_X" -> "x": the label of an event id */
static const char *event_label(unsigned int id, char *buf, size_t len)
{
	const char *n = kvmi_event_name(id);
	size_t i = 0;

	if (!strncmp(n, "KVMI_EVENT_", 11))
		n += 11;
	for (; n[i] && i + 1 < len; i++)
		buf[i] = (char)(n[i] >= 'A' && n[i] <= 'Z' ? n[i] + 32 : n[i]);
	buf[i] = 0;
	return buf;
}

static void family(FILE *f, const char *name, const char *type,
		   const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* a family of one unlabelled sample */
static void scalar(FILE *f, const char *name, const char *type,
		   const char *help, uint64_t v)
{
	family(f, name, type, help);
	fprintf(f, "%s %llu\n", name, (unsigned long long)v);
}

static void labelled(FILE *f, const char *name, const char *label,
		     const struct label_count *t)
{
	for (int i = 0; i < MAX_LABELS && t[i].name; i++)
		fprintf(f, "%s{%s=\"%s\"} %llu\n", name, label, t[i].name,
			(unsigned long long)t[i].n);
}

static void write_all(FILE *f)
{
	uint64_t live[2] = {0, 0}, cum = 0;
	char ev[32];

	if (d.srv)
		kvmi_server_foreach_domain(d.srv, add_live_bytes, live);
	scalar(f, "kvmi_unhookd_guests_connected", "gauge",
	       "Guests connected now.", d.nlive);
	family(f, "kvmi_unhookd_events_total", "counter",
	       "Events delivered to the daemon, by type.");
	for (unsigned int i = 0; i < KVMI_NUM_EVENTS; i++)
		fprintf(f, "kvmi_unhookd_events_total{type=\"%s\"} %llu\n",
			event_label(i, ev, sizeof(ev)),
			(unsigned long long)m.events[i]);
	scalar(f, "kvmi_unhookd_replies_total", "counter",
	       "Event replies sent for the daemon.", m.replies);
	scalar(f, "kvmi_unhookd_commands_total", "counter",
	       "Commands the daemon sent.", m.commands);
	scalar(f, "kvmi_unhookd_command_errors_total", "counter",
	       "Commands of the daemon that failed.", m.command_errors);
	family(f, "kvmi_unhookd_unhooks_total", "counter",
	       "Finished unhooks, by result.");
	labelled(f, "kvmi_unhookd_unhooks_total", "result", m.unhooks);
	family(f, "kvmi_unhookd_unhook_duration_seconds", "histogram",
	       "Time from the start of an unhook to the channel closed.");
	for (size_t i = 0; i < NBUCKETS; i++) {
		cum += m.hist[i];
		fprintf(f,
			"kvmi_unhookd_unhook_duration_seconds_bucket{le=\"%g\"} "
			"%llu\n",
			buckets[i], (unsigned long long)cum);
	}
	fprintf(f,
		"kvmi_unhookd_unhook_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
		"kvmi_unhookd_unhook_duration_seconds_sum %.6f\n"
		"kvmi_unhookd_unhook_duration_seconds_count %llu\n",
		(unsigned long long)m.hist_count, m.hist_sum,
		(unsigned long long)m.hist_count);
	family(f, "kvmi_unhookd_disconnects_total", "counter",
	       "Guests gone, by reason.");
	labelled(f, "kvmi_unhookd_disconnects_total", "reason", m.disconnects);
	family(f, "kvmi_unhookd_protocol_errors_total", "counter",
	       "Guests closed for a protocol error, by code.");
	labelled(f, "kvmi_unhookd_protocol_errors_total", "code", m.protocol);
	scalar(f, "kvmi_unhookd_bytes_received_total", "counter",
	       "Bytes read from the hosts.", m.bytes_in + live[0]);
	scalar(f, "kvmi_unhookd_bytes_sent_total", "counter",
	       "Bytes sent to the hosts.", m.bytes_out + live[1]);
}

/* PATH.tmp written, fsync()ed and renamed over PATH; 0 or -errno */
static int write_file(void)
{
	size_t len = strlen(d.metrics_file) + 5;
	char *tmp = malloc(len);
	FILE *f;
	int err = 0;

	if (!tmp)
		return -ENOMEM;
	snprintf(tmp, len, "%s.tmp", d.metrics_file);
	f = fopen(tmp, "w");
	if (!f) {
		err = -errno;
		free(tmp);
		return err;
	}
	write_all(f);
	/* (EINVAL: a file that cannot be synced, a pipe: nothing to sync) */
	if (fflush(f) || ferror(f) || (fsync(fileno(f)) && errno != EINVAL))
		err = errno ? -errno : -EIO;
	if (fclose(f) && !err)
		err = -errno;
	if (!err && rename(tmp, d.metrics_file))
		err = -errno;
	if (err)
		unlink(tmp);
	free(tmp);
	return err ? err : 0;
}

static void write_logged(void)
{
	int err = write_file();
	char q[4 * 256 + 3];

	if (err && !m.failing) {
		kvmi_logfmt_value(q, sizeof(q), d.metrics_file);
		logkv("error", "event=metrics-write-failed file=%s error=%s", q,
		      kvmi_err_name(err));
	} else if (!err && m.failing) {
		logkv("info", "event=metrics-write-ok");
	}
	m.failing = err != 0;
}

static void on_timer(uv_timer_t *t)
{
	(void)t;
	write_logged();
}

int metrics_start(void)
{
	int err;

	if (!d.metrics_file)
		return 0;
	err = write_file();
	if (err) {
		fprintf(stderr, "kvmi-unhookd: --metrics-file %s: %s\n",
			d.metrics_file, strerror(-err));
		return -1;
	}
	uv_timer_init(d.loop, &m.timer);
	uv_timer_start(&m.timer, on_timer, d.metrics_interval_ms,
		       d.metrics_interval_ms);
	m.timer_on = 1;
	return 0;
}

void metrics_stop(void)
{
	if (m.timer_on) {
		uv_close((uv_handle_t *)&m.timer, NULL);
		m.timer_on = 0;
	}
}

void metrics_final(void)
{
	if (d.metrics_file)
		write_logged();
}
