/*
 * libkvmi - bench/harness.c: the server-plus-kvmi-fakehost scaffolding
 * the library benchmarks share (see harness.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#ifndef BENCH_FAKEHOST
#define BENCH_FAKEHOST "kvmi-fakehost"
#endif

static void log_stderr(enum kvmi_log_level level, const char *msg,
		       struct kvmi_dom *dom, void *ctx)
{
	(void)level;
	(void)dom;
	(void)ctx;
	fprintf(stderr, "libkvmi: %s\n", msg);
}

void bh_init(struct bh *b, const char *fakehost, kvmi_new_domain_cb new_domain,
	     int tool_cpu, int host_cpu)
{
	if (tool_cpu >= 0)
		bench_pin(tool_cpu);
	memset(b, 0, sizeof(*b));
	snprintf(b->dir, sizeof(b->dir), "/tmp/kvmi-bench-XXXXXX");
	if (!mkdtemp(b->dir)) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(b->sock, sizeof(b->sock), "%s/sock", b->dir);
	snprintf(b->report, sizeof(b->report), "%s/report", b->dir);
	b->host_cpu = host_cpu;
	b->fakehost = fakehost ? fakehost : getenv("KVMI_FAKEHOST");
	if (!b->fakehost)
		b->fakehost = BENCH_FAKEHOST;
	b->loop = malloc(sizeof(*b->loop));
	if (!b->loop || uv_loop_init(b->loop)) {
		fprintf(stderr, "bench: cannot create a loop\n");
		exit(1);
	}
	b->cfg.size = sizeof(b->cfg);
	b->cfg.unix_path = b->sock;
	b->cfg.backlog = 1024;
	b->cfg.log = log_stderr;
	b->cfg.log_level = KVMI_LOG_WARNING;
	b->cfg.new_domain = new_domain;
	b->cfg.ctx = b;
}

void bh_start(struct bh *b)
{
	int err = kvmi_server_new(b->loop, &b->cfg, &b->srv);

	if (!err)
		err = kvmi_server_start(b->srv);
	if (err) {
		fprintf(stderr, "bench: server: %s\n", kvmi_strerror(err));
		exit(1);
	}
}

static void on_host_exit(uv_process_t *p, int64_t status, int sig)
{
	struct bh *b = p->data;

	(void)status; /* each benchmark reads the host's report instead */
	(void)sig;
	b->host_running = 0;
	uv_close((uv_handle_t *)p, NULL);
	kvmi_server_shutdown(b->srv);
}

void bh_spawn(struct bh *b, const char *const *args)
{
	char *argv[64], cpu[16];
	uv_process_options_t o;
	size_t n = 0;
	int err;

	if (b->host_cpu >= 0) {
		/* taskset(1) pins the exec'd host */
		snprintf(cpu, sizeof(cpu), "%d", b->host_cpu);
		argv[n++] = "taskset";
		argv[n++] = "-c";
		argv[n++] = cpu;
	}
	argv[n++] = (char *)b->fakehost;
	argv[n++] = "--connect";
	argv[n++] = b->sock;
	argv[n++] = "--report";
	argv[n++] = b->report;
	for (size_t i = 0; args[i] && n < 63; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	memset(&o, 0, sizeof(o));
	o.file = argv[0];
	o.args = argv;
	o.exit_cb = on_host_exit;
	b->host.data = b;
	err = uv_spawn(b->loop, &b->host, &o);
	if (err) {
		fprintf(stderr, "bench: cannot start %s: %s\n", argv[0],
			uv_strerror(err));
		exit(1);
	}
	b->host_running = 1;
}

void bh_run(struct bh *b)
{
	uv_run(b->loop, UV_RUN_DEFAULT);
	if (b->host_running) {
		fprintf(stderr, "bench: the loop ended before the host\n");
		exit(1);
	}
}

int bh_report_count(struct bh *b, const char *needle)
{
	static char buf[1 << 22];
	FILE *f = fopen(b->report, "r");
	size_t n;
	int count = 0;

	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	for (char *p = buf; (p = strstr(p, needle)); p++)
		count++;
	return count;
}

void bh_fini(struct bh *b)
{
	kvmi_server_free(b->srv);
	uv_run(b->loop, UV_RUN_DEFAULT);
	uv_loop_close(b->loop);
	free(b->loop);
	unlink(b->report);
	unlink(b->sock);
	rmdir(b->dir);
}

int bh_common_opt(int argc, char **argv, int *i, int *tool_cpu,
		  int *host_cpu, const char **fakehost)
{
	const char *a = argv[*i];

	if (*i + 1 >= argc)
		return 0;
	if (!strcmp(a, "--cpus")) {
		++*i;
		return sscanf(argv[*i], "%d,%d", tool_cpu, host_cpu) == 2 &&
				       *tool_cpu >= 0 && *host_cpu >= 0
			       ? 1
			       : -1;
	}
	if (!strcmp(a, "--fakehost")) {
		*fakehost = argv[++*i];
		return 1;
	}
	return 0;
}

int bh_bp_keep(struct kvmi_dom *dom, struct kvmi_event_ctx *ev, uint64_t gpa,
	       void *ctx)
{
	(void)dom;
	(void)ev;
	(void)gpa;
	(void)ctx;
	return 0;
}
