/*
 * libkvmi - examples/unhookd/unhookd.h: kvmi-unhookd's shared state and
 * the calls between its files: options.c (command line and --config
 * file), hooksfile.c (the hooks file, reloaded on SIGHUP), guests.c (what
 * happens to a guest from connection to unhook), metrics.c (the
 * Prometheus --metrics-file), notify.c (systemd readiness), demo.c
 * (--demo) and main.c (setup, signals, shutdown).
 */
#ifndef KVMI_UNHOOKD_H
#define KVMI_UNHOOKD_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <kvmi/kvmi.h>

#include "secret.h"

#define MAX_HOOKS 4096
#define MAX_DEMO_GUESTS 4096
#define DEFAULT_MAX_GUESTS 1024
#define MAX_ALLOW 256 /* --allow-uid / --allow-cid entries */
#define HIT_LOG_LIMIT 3

struct hook {
	int is_page;
	uint64_t gpa;
	uint8_t access;
};

/* the hooks placed in a guest: the set current when it connected (a
 * SIGHUP reload makes a new set for guests that connect afterwards; the
 * old one goes with its last guest) */
struct hookset {
	unsigned int refs;
	size_t n;
	struct hook h[];
};

/* one connected guest (and, in the demo, a finished one kept for the
 * summary); allocated when it connects, freed when it goes */
struct guest {
	struct guest *next, *prev;
	char name[64];
	char qname[4 * 64 + 3]; /* name as a logfmt value */
	struct hookset *hooks;
	unsigned int bps;
	unsigned int pages;
	uint64_t hits;
	uint64_t pfs;
	struct kvmi_unhook_report report;
	int unhooked;
	size_t hooks_pending; /* placements not answered yet */
};

struct unhookd {
	/* options */
	const char *listen;
	unsigned int vsock; /* 0: none */
	const char *secret, *secret_arg, *secret_file;
	char secret_buf[SECRET_MAX + 3];
	uid_t uids[MAX_ALLOW];
	size_t nuids;
	unsigned int cids[MAX_ALLOW];
	size_t ncids;
	unsigned int max_guests;
	int max_guests_set;
	const char *hooks_file;
	unsigned int deadline_ms;
	unsigned int command_timeout_ms; /* 0: the library's 10000 */
	const char *metrics_file;
	unsigned int metrics_interval_ms;
	int demo;
	unsigned int guests;
	const char *fakehost;
	const char *dialect;	   /* --dialect as given, NULL: none */
	enum kvmi_dialect dialect_id;
	int verbose;
	/* state */
	struct hookset *hooks; /* for guests that connect now */
	struct guest *table;   /* connected (demo: and finished) guests */
	size_t nlive;	       /* connected */
	struct kvmi_server *srv;
	uv_loop_t *loop;
	int stopping;
	/* demo */
	uv_process_t proc;
	int proc_status;
	char dir[64], report[128], sock[128];
	char *secret_env; /* KVMI_SECRET=... for kvmi-fakehost's spawn */
};

extern struct unhookd d;

/* the demo's hooks: addresses kvmi-fakehost's vCPUs execute */
extern const uint64_t demo_bps[5];
extern const uint64_t demo_page;

/* main.c: one logfmt line on stdout */
void logkv(const char *level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* main.c: unhook every guest, then shut the server down */
void stop(void);

/* options.c: the command line (and the --config file it names) into d;
 * 0 go on, 1 exit 0 (--help printed), 2 bad arguments (said on stderr) */
int options_parse(int argc, char **argv);
void options_free(void);
void usage(FILE *f);
int parse_u64(const char *s, uint64_t *out);

/* hooksfile.c: a hooks file (NULL: the demo's hooks) as a new set with
 * one reference, or NULL with the error on stderr (and, when @log, as an
 * error log line too) */
struct hookset *hookset_load(const char *path, int log);
struct hookset *hookset_ref(struct hookset *s);
void hookset_unref(struct hookset *s);

/* guests.c: the server's callbacks */
int on_guest(struct kvmi_dom *dom, void *ctx);
void on_disconnect(struct kvmi_dom *dom, int reason, void *ctx);
void on_lib_log(enum kvmi_log_level level, const char *msg,
		struct kvmi_dom *dom, void *ctx);
void on_unhook_request(struct kvmi_dom *dom, void *ctx);
void after_unhook(struct kvmi_dom *dom, const struct kvmi_unhook_report *r,
		  void *ctx);
/* the events no other handler of ours takes: counted, CONTINUE */
void on_other_event(struct kvmi_dom *dom, struct kvmi_event_ctx *ev,
		    void *ctx);

/* metrics.c: counters and the --metrics-file writer */
void metrics_event(unsigned int event_id);
void metrics_reply(void);
void metrics_command(int result);
void metrics_unhook(const struct kvmi_unhook_report *r);
void metrics_disconnect(struct kvmi_dom *dom, int reason);
/* start writing every interval (no-op without --metrics-file); 0 or -1
 * with the error on stderr (the first write failed) */
int metrics_start(void);
/* stop the timer (the stop began) */
void metrics_stop(void);
/* the last write, once every guest is gone */
void metrics_final(void);

/* notify.c: a state line for the service manager ("READY=1",
 * "STOPPING=1", "RELOADING=1"); nothing without $NOTIFY_SOCKET */
void notify(const char *state);

/* demo.c */
int start_demo(void);
int demo_summary(void);

#endif
