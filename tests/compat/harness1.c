/*
 * libkvmi - tests/compat/harness1.c: see harness1.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness1.h"

static struct h1 *current;

const char *h1_dialect(void)
{
	const char *d = getenv("KVMI_TEST_DIALECT");

	return d && strcmp(d, "v6") ? d : "";
}

bool h1_v7(void)
{
	return h1_dialect()[0] == 'v' && h1_dialect()[1] == '7';
}

static int new_guest(void *dom, unsigned char (*uuid)[16], void *ctx)
{
	struct h1 *h = ctx;

	(void)uuid;
	pthread_mutex_lock(&h->lock);
	if (h->close_previous && h->dom)
		kvmi_domain_close(h->dom, true);
	h->dom = dom;
	h->guests++;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
	return 0;
}

static void log_cb(kvmi_log_level level, const char *s, void *ctx)
{
	struct h1 *h = ctx;

	if (level >= KVMI_LOG_LEVEL_ERROR)
		h->log_errors++;
	if (getenv("KVMI_TEST_VERBOSE"))
		fprintf(stderr, "[libkvmi %d] %s\n", level, s);
}

static void listen_only(struct h1 *h, bool closing)
{
	memset(h, 0, sizeof(*h));
	h->close_previous = closing;
	current = h;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	snprintf(h->dir, sizeof(h->dir), "/tmp/kvmi-compat-XXXXXX");
	assert_non_null(mkdtemp(h->dir));
	snprintf(h->path, sizeof(h->path), "%s/sock", h->dir);
	snprintf(h->report, sizeof(h->report), "%s/report.json", h->dir);
	kvmi_set_log_cb(log_cb, h);
	h->ctx = kvmi_init_unix_socket(h->path, new_guest, NULL, h);
	assert_non_null(h->ctx);
}

void h1_listen(struct h1 *h)
{
	listen_only(h, false);
}

void h1_run(struct h1 *h, const char *const *args)
{
	const char *exe = getenv("KVMI_FAKEHOST");
	const char *argv[64];
	int n = 0;

	assert_non_null(exe);
	argv[n++] = exe;
	argv[n++] = "--connect";
	argv[n++] = h->path;
	argv[n++] = "--report";
	argv[n++] = h->report;
	for (int i = 0; args && args[i]; i++)
		argv[n++] = args[i];
	if (h1_dialect()[0]) {
		argv[n++] = "--dialect";
		argv[n++] = h1_dialect();
	}
	argv[n] = NULL;
	h->child = fork();
	assert_true(h->child >= 0);
	if (h->child == 0) {
		execv(exe, (char *const *)argv);
		_exit(127);
	}
}

void h1_start(struct h1 *h, const char *const *args)
{
	listen_only(h, false);
	h1_run(h, args);
}

void h1_start_closing(struct h1 *h, const char *const *args)
{
	listen_only(h, true);
	h1_run(h, args);
}

pid_t h1_spawn_stalling(struct h1 *h, const char *mode)
{
	const char *exe = getenv("KVMI_FAKEHOST");
	int pfd[2];
	char line[512];
	FILE *err;
	pid_t pid;
	bool connected = false;

	assert_non_null(exe);
	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(pfd[1], 2);
		close(pfd[0]);
		close(pfd[1]);
		execl(exe, exe, "--connect", h->path, "--misbehave", mode,
		      "--report", "/dev/null", "-v", (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	/* -v says "connected to PATH" once connect() returned: the
	 * connection waits in the listener's queue (or was accepted) */
	err = fdopen(pfd[0], "r");
	assert_non_null(err);
	while (!connected && fgets(line, sizeof(line), err))
		connected = strstr(line, "connected to") != NULL;
	/* the pipe stays open (its later log lines must not fail) until
	 * h1_stop_stalling */
	h->stall_err = err;
	assert_true(connected);
	return pid;
}

void h1_stop_stalling(struct h1 *h, pid_t pid)
{
	int status;

	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (h->stall_err)
		fclose(h->stall_err);
	h->stall_err = NULL;
}

void h1_wait_guests(struct h1 *h, int n)
{
	struct timespec until;
	int got;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&h->lock);
	while (h->guests < n &&
	       pthread_cond_timedwait(&h->cond, &h->lock, &until) == 0)
		;
	got = h->guests;
	pthread_mutex_unlock(&h->lock);
	assert_int_equal(got, n);
}

void *h1_dom(struct h1 *h)
{
	void *dom;

	h1_wait_guests(h, 1);
	pthread_mutex_lock(&h->lock);
	dom = h->dom;
	pthread_mutex_unlock(&h->lock);
	return dom;
}

const char *h1_finish(struct h1 *h, void *dom)
{
	int status = 0;
	FILE *f;
	size_t n;

	if (dom)
		kvmi_domain_close(dom, true);
	assert_int_equal(waitpid(h->child, &status, 0), h->child);
	h->child = 0;
	f = fopen(h->report, "r");
	assert_non_null(f);
	n = fread(h->text, 1, sizeof(h->text) - 1, f);
	h->text[n] = 0;
	fclose(f);
	if (getenv("KVMI_TEST_VERBOSE"))
		fprintf(stderr, "report: %s", h->text);
	return h->text;
}

int h1_count(struct h1 *h, const char *needle)
{
	int n = 0;

	for (const char *p = h->text; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

int h1_v7_hooks_left(struct h1 *h)
{
	static const char *const keys[] = {
	    "\"vcpus_off_view0\":", "\"vcpus_with_visible_views\":",
	    "\"vcpus_singlestepping\":", "\"views_created\":",
	    "\"gfns_allocated\":"};
	int sum = 0;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *p = strstr(h->text, keys[i]);

		if (!p)
			return -1;
		sum += atoi(p + strlen(keys[i]));
	}
	return sum;
}

void h1_fini(struct h1 *h)
{
	char p[200];

	kvmi_uninit(h->ctx);
	kvmi_set_log_cb(NULL, NULL);
	snprintf(p, sizeof(p), "%s/sock", h->dir);
	unlink(p);
	unlink(h->report);
	rmdir(h->dir);
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->lock);
	current = NULL;
}

int h1_reply(void *dom, const struct kvmi_dom_event *ev, unsigned char action)
{
	struct h1_reply r;
	size_t size = sizeof(r.hdr) + sizeof(r.common);

	memset(&r, 0, sizeof(r));
	r.hdr.vcpu = ev->event.common.vcpu;
	r.common.action = action;
	r.common.event = ev->event.common.event;
	switch (ev->event.common.event) {
	case KVMI_EVENT_CR:
		r.cr.new_val = ev->event.cr.new_value;
		size += sizeof(r.cr);
		break;
	case KVMI_EVENT_MSR:
		r.msr.new_val = ev->event.msr.new_value;
		size += sizeof(r.msr);
		break;
	case KVMI_EVENT_PF:
		size += sizeof(r.pf);
		break;
	}
	return kvmi_reply_event(dom, ev->seq, &r, size);
}

struct kvmi_dom_event *h1_next_event(void *dom)
{
	struct kvmi_dom_event *ev = NULL;

	assert_int_equal(kvmi_wait_event(dom, 10000), 0);
	assert_int_equal(kvmi_pop_event(dom, &ev), 0);
	assert_non_null(ev);
	return ev;
}
