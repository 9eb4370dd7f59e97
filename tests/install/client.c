/*
 * libkvmi - tests/install/client.c: a small tool built by test-install.py
 * OUTSIDE the source tree, against the installed headers and library only
 * (flags from the installed libkvmi.pc), and run against the installed
 * kvmi-fakehost.  It checks that headers and library are of one version,
 * plants a breakpoint in every guest, counts its hits, unhooks on
 * KVMI_EVENT_UNHOOK and exits once every expected guest has gone.
 *
 * Usage: client SOCKET GUESTS SECRET GPA
 * Prints "guests=N hits=N unhooks_ok=N" and exits 0 when every guest was
 * hooked, hit and unhooked without error; 1 otherwise; 2 on bad usage.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kvmi/kvmi.h>

static struct {
	struct kvmi_server *srv;
	unsigned long guests, gone, hooked, unhooks_ok;
	uint64_t gpa, hits;
	int failed;
} t;

static int on_hit(struct kvmi_dom *dom, struct kvmi_event_ctx *ev,
		  uint64_t gpa, void *ctx)
{
	(void)dom;
	(void)ev;
	(void)ctx;
	if (gpa == t.gpa)
		t.hits++;
	return 0; /* keep it armed */
}

static int on_guest(struct kvmi_dom *dom, void *ctx)
{
	int err;

	(void)ctx;
	err = kvmi_dom_control_vm_events(dom, KVMI_EVENT_UNHOOK, 1);
	if (!err)
		err = kvmi_bp_set(dom, t.gpa, on_hit, NULL, NULL);
	if (err) {
		fprintf(stderr, "client: hooking %s: %s\n",
			kvmi_dom_identity(dom)->name, kvmi_strerror(err));
		t.failed = 1;
		return err;
	}
	t.hooked++;
	return 0;
}

static void after_unhook(struct kvmi_dom *dom,
			 const struct kvmi_unhook_report *r, void *ctx)
{
	(void)ctx;
	if (r->result) {
		fprintf(stderr, "client: unhook of %s: %s\n",
			kvmi_dom_identity(dom)->name, kvmi_err_name(r->result));
		t.failed = 1;
	} else {
		t.unhooks_ok++;
	}
}

static void on_disconnect(struct kvmi_dom *dom, int reason, void *ctx)
{
	(void)dom;
	(void)reason;
	(void)ctx;
	if (++t.gone == t.guests)
		kvmi_server_shutdown(t.srv);
}

static void on_log(enum kvmi_log_level level, const char *msg,
		   struct kvmi_dom *dom, void *ctx)
{
	(void)level;
	(void)dom;
	(void)ctx;
	fprintf(stderr, "client: libkvmi: %s\n", msg);
}

int main(int argc, char **argv)
{
	struct kvmi_server_config cfg = {.size = sizeof(cfg)};
	int err;

	if (argc != 5) {
		fprintf(stderr, "usage: client SOCKET GUESTS SECRET GPA\n");
		return 2;
	}
	if (strcmp(kvmi_version(), KVMI_LIB_VERSION_STRING)) {
		fprintf(stderr, "client: library %s, headers %s\n",
			kvmi_version(), KVMI_LIB_VERSION_STRING);
		return 1;
	}
	t.guests = strtoul(argv[2], NULL, 0);
	t.gpa = strtoull(argv[4], NULL, 0);
	cfg.unix_path = argv[1];
	cfg.vsock_port = 0; /* none */
	cfg.secret = argv[3];
	cfg.secret_len = strlen(argv[3]);
	cfg.new_domain = on_guest;
	cfg.disconnect = on_disconnect;
	cfg.log = on_log;
	cfg.log_level = KVMI_LOG_WARNING;
	err = kvmi_server_new(uv_default_loop(), &cfg, &t.srv);
	if (!err)
		err = kvmi_server_unhook_on_event(t.srv, 5000, NULL,
						  after_unhook, NULL);
	if (!err)
		err = kvmi_server_start(t.srv);
	if (err) {
		fprintf(stderr, "client: %s\n", kvmi_strerror(err));
		kvmi_server_free(t.srv);
		return 1;
	}
	uv_run(uv_default_loop(), UV_RUN_DEFAULT);
	kvmi_server_free(t.srv);
	uv_run(uv_default_loop(), UV_RUN_DEFAULT);
	uv_loop_close(uv_default_loop());
	printf("guests=%lu hits=%" PRIu64 " unhooks_ok=%lu\n", t.gone, t.hits,
	       t.unhooks_ok);
	return !t.failed && t.hooked == t.guests && t.unhooks_ok == t.guests &&
			       t.hits > 0
		       ? 0
		       : 1;
}
