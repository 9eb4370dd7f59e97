/*
 * libkvmi - examples/unhookd/options.c: kvmi-unhookd's options, from the
 * command line and from the --config file (key = value lines, the keys
 * being the long option names), with the --help text.  The file is
 * applied first and the command line over it, so a flag wins; a list
 * option (--allow-uid, --allow-cid) or the secret given on the command
 * line replaces the file's entries instead of adding to them.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "unhookd.h"

/* option ids (getopt's return values) */
enum {
	O_LISTEN = 'l', O_VSOCK = 'V', O_SECRET = 's', O_SECRET_FILE = 'S',
	O_ALLOW_UID = 'u', O_ALLOW_CID = 'c', O_MAX_GUESTS = 'm',
	O_HOOKS = 'k', O_DEADLINE = 'D', O_CMD_TIMEOUT = 'T', O_DEMO = 'd',
	O_GUESTS = 'g', O_FAKEHOST = 'f', O_VERBOSE = 'v', O_HELP = 'h',
	O_CONFIG = 'C', O_METRICS_FILE = 'M', O_METRICS_INTERVAL = 'I',
	O_DIALECT = 'L',
};

static const struct option opts[] = {
	{"listen", required_argument, NULL, O_LISTEN},
	{"vsock", required_argument, NULL, O_VSOCK},
	{"secret", required_argument, NULL, O_SECRET},
	{"secret-file", required_argument, NULL, O_SECRET_FILE},
	{"allow-uid", required_argument, NULL, O_ALLOW_UID},
	{"allow-cid", required_argument, NULL, O_ALLOW_CID},
	{"max-guests", required_argument, NULL, O_MAX_GUESTS},
	{"hooks", required_argument, NULL, O_HOOKS},
	{"deadline-ms", required_argument, NULL, O_DEADLINE},
	{"command-timeout-ms", required_argument, NULL, O_CMD_TIMEOUT},
	{"metrics-file", required_argument, NULL, O_METRICS_FILE},
	{"metrics-interval", required_argument, NULL, O_METRICS_INTERVAL},
	{"demo", no_argument, NULL, O_DEMO},
	{"guests", required_argument, NULL, O_GUESTS},
	{"fakehost", required_argument, NULL, O_FAKEHOST},
	{"dialect", required_argument, NULL, O_DIALECT},
	{"verbose", no_argument, NULL, O_VERBOSE},
	{"config", required_argument, NULL, O_CONFIG},
	{"help", no_argument, NULL, O_HELP},
	{NULL, 0, NULL, 0}};

void usage(FILE *f)
{
	fprintf(f,
		"Usage: kvmi-unhookd --listen PATH [OPTION]...\n"
		"       kvmi-unhookd --config PATH [OPTION]...\n"
		"       kvmi-unhookd --demo [--guests N] [OPTION]...\n"
		"An introspection daemon on libkvmi: hooks every guest that\n"
		"connects, logs breakpoint hits, and when QEMU asks (KVMI_EVENT_\n"
		"UNHOOK) or on SIGINT/SIGTERM takes every hook back and closes\n"
		"the channel within a deadline.\n"
		"\n"
		"  --listen PATH      unix socket QEMU connects to (mode 0600)\n"
		"  --vsock PORT       also listen on this vsock port (1..\n"
		"                     4294967294)\n"
		"  --allow-uid UID    accept unix connections only from these\n"
		"                     peer uids (SO_PEERCRED); repeatable\n"
		"  --allow-cid CID    accept vsock connections only from these\n"
		"                     VM CIDs; repeatable\n"
		"  --max-guests N     guests connected at once, default 1024;\n"
		"                     one more is refused (logged with the limit)\n"
		"  --secret S         cookie: QEMU checks SHA-1(S).  S is visible\n"
		"                     to every user in /proc/PID/cmdline:\n"
		"                     prefer --secret-file or KVMI_SECRET\n"
		"  --secret-file PATH\n"
		"                     the secret is the file's contents less\n"
		"                     one trailing newline (at most 4096 bytes)\n"
		"  KVMI_SECRET=S      (environment) the secret when neither\n"
		"                     option is given\n"
		"  --hooks FILE       hooks to place in every guest (below);\n"
		"                     without it: demo defaults.  SIGHUP reads\n"
		"                     it again for guests that connect afterwards\n"
		"  --deadline-ms N    unhook deadline, default 5000\n"
		"  --command-timeout-ms N\n"
		"                     a guest that leaves a command unanswered\n"
		"                     this long is closed (its hooks' restores\n"
		"                     sent first), default 10000\n"
		"  --metrics-file PATH\n"
		"                     write metrics in the Prometheus text format\n"
		"                     to PATH (via PATH.tmp and a rename) every\n"
		"                     --metrics-interval seconds and at exit\n"
		"  --metrics-interval N\n"
		"                     seconds between metrics writes (1..3600),\n"
		"                     default 5\n"
		"  --config PATH      read options from PATH (below); options on\n"
		"                     the command line win over it\n"
		"  --demo             run kvmi-fakehost against a private\n"
		"                     socket, let events flow, trigger the\n"
		"                     unhook, print a summary; exit 0 only if\n"
		"                     every guest was left clean\n"
		"  --guests N         guests in the demo, default 4 (the demo\n"
		"                     hands the secret to kvmi-fakehost in its\n"
		"                     environment, never on its command line)\n"
		"  --fakehost PATH    kvmi-fakehost to run (default: next to\n"
		"                     this program's build directory)\n"
		"  --dialect D        v6, v7, v7-2023 or v12: the demo's\n"
		"                     simulated host speaks D (default v6);\n"
		"                     outside the demo, speak D to every host\n"
		"                     instead of telling it from the host's\n"
		"                     GET_VERSION reply\n"
		"  -v, --verbose      log every breakpoint hit and library\n"
		"                     debug lines\n"
		"  -h, --help         this text\n"
		"\n"
		"Hooks file: one hook per line, '#' starts a comment:\n"
		"  bp GPA             an INT3 at guest-physical GPA (hex 0x.. or\n"
		"                     decimal)\n"
		"  page GPA ACCESS    restrict the page of GPA to ACCESS, letters\n"
		"                     of 'rwx' or '-' for none (e.g. rx)\n"
		"\n"
		"Config file: one option per line as 'key = value', the key a\n"
		"long option name without its dashes (listen = /run/kvmi/sock);\n"
		"'#' starts a comment; list options may be repeated; options\n"
		"without an argument take true or false (verbose = true); every\n"
		"option but config and help.  An unknown key or a bad value is\n"
		"an error naming the file and line (exit status 2).\n"
		"\n"
		"Service: with NOTIFY_SOCKET set (systemd Type=notify) it sends\n"
		"READY=1 once it listens and STOPPING=1 when it stops; SIGHUP\n"
		"reloads the hooks file (a bad file keeps the hooks in use).\n"
		"\n"
		"Exit status: 0 ok (demo: every guest clean), 1 failure, 2 bad\n"
		"arguments.\n");
}

int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno || end == s || *end || *s == '-' ? -1 : 0;
}

/* config values live until options_free() */
static char **owned;
static size_t nowned;

static const char *own(const char *s)
{
	char **o = realloc(owned, (nowned + 1) * sizeof(*owned));
	char *c = strdup(s);

	if (!o || !c) {
		free(c);
		if (o)
			owned = o;
		return NULL;
	}
	owned = o;
	return owned[nowned++] = c;
}

void options_free(void)
{
	for (size_t i = 0; i < nowned; i++)
		free(owned[i]);
	free(owned);
	owned = NULL;
	nowned = 0;
}

/* a number in @lo..@hi, else an error "WHERE 'VAL': bad value (lo..hi)" */
static int num(const char *where, const char *val, uint64_t lo, uint64_t hi,
	       uint64_t *out)
{
	if (!parse_u64(val, out) && *out >= lo && *out <= hi)
		return 0;
	fprintf(stderr,
		"kvmi-unhookd: %s '%s': bad value (a number in %llu..%llu)\n",
		where, val, (unsigned long long)lo, (unsigned long long)hi);
	return -1;
}

/* apply option @c with @val (NULL for a flag) into d; @where names it
 * in errors ("--vsock" or "FILE:LINE: vsock") */
static int apply(int c, const char *val, const char *where)
{
	enum kvmi_dialect dl;
	uint64_t v;

	switch (c) {
	case O_LISTEN:
		d.listen = val;
		return 0;
	case O_VSOCK:
		if (num(where, val, 1, 0xfffffffeu, &v))
			return -1;
		d.vsock = (unsigned int)v;
		return 0;
	case O_SECRET:
		d.secret_arg = val;
		return 0;
	case O_SECRET_FILE:
		d.secret_file = val;
		return 0;
	case O_ALLOW_UID:
		if (parse_u64(val, &v) || v >= (uid_t)-1 || d.nuids == MAX_ALLOW) {
			fprintf(stderr, "kvmi-unhookd: %s '%s': bad value (a "
					"uid 0..%u, at most %d of them)\n",
				where, val, (unsigned int)(uid_t)-2, MAX_ALLOW);
			return -1;
		}
		d.uids[d.nuids++] = (uid_t)v;
		return 0;
	case O_ALLOW_CID:
		if (parse_u64(val, &v) || v >= 0xffffffffu || d.ncids == MAX_ALLOW) {
			fprintf(stderr, "kvmi-unhookd: %s '%s': bad value (a "
					"CID 0..4294967294, at most %d of them)\n",
				where, val, MAX_ALLOW);
			return -1;
		}
		d.cids[d.ncids++] = (unsigned int)v;
		return 0;
	case O_MAX_GUESTS:
		if (num(where, val, 1, 1000000, &v))
			return -1;
		d.max_guests = (unsigned int)v;
		d.max_guests_set = 1;
		return 0;
	case O_HOOKS:
		d.hooks_file = val;
		return 0;
	case O_DEADLINE:
	case O_CMD_TIMEOUT:
		if (num(where, val, 1, 3600000, &v))
			return -1;
		*(c == O_DEADLINE ? &d.deadline_ms : &d.command_timeout_ms) =
			(unsigned int)v;
		return 0;
	case O_METRICS_FILE:
		d.metrics_file = val;
		return 0;
	case O_METRICS_INTERVAL:
		if (num(where, val, 1, 3600, &v))
			return -1;
		d.metrics_interval_ms = (unsigned int)v * 1000;
		return 0;
	case O_DEMO:
		d.demo = 1;
		return 0;
	case O_GUESTS:
		if (num(where, val, 1, MAX_DEMO_GUESTS, &v))
			return -1;
		d.guests = (unsigned int)v;
		return 0;
	case O_FAKEHOST:
		d.fakehost = val;
		return 0;
	case O_DIALECT:
		if (kvmi_dialect_parse(val, &dl)) {
			fprintf(stderr,
				"kvmi-unhookd: %s: '%s' is no dialect (v6, "
				"v7, v7-2023 or v12)\n",
				where, val);
			return -1;
		}
		d.dialect = val;
		d.dialect_id = dl;
		return 0;
	case O_VERBOSE:
		d.verbose = 1;
		return 0;
	}
	return -1;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

/* one 'key = value' line of the config file */
static int config_line(const char *path, int lineno, char *line)
{
	char where[PATH_MAX + 64], *eq, *key, *val;
	const struct option *o;

	line[strcspn(line, "#\r\n")] = 0;
	key = trim(line);
	if (!*key)
		return 0;
	eq = strchr(key, '=');
	if (!eq) {
		fprintf(stderr, "kvmi-unhookd: %s:%d: expected 'key = value'\n",
			path, lineno);
		return -1;
	}
	*eq = 0;
	key = trim(key);
	val = trim(eq + 1);
	for (o = opts; o->name; o++)
		if (!strcmp(o->name, key) && o->val != O_CONFIG &&
		    o->val != O_HELP)
			break;
	if (!o->name) {
		fprintf(stderr, "kvmi-unhookd: %s:%d: unknown key '%s'\n", path,
			lineno, key);
		return -1;
	}
	snprintf(where, sizeof(where), "%s:%d: %s", path, lineno, key);
	if (o->has_arg == no_argument) {
		if (!strcmp(val, "false"))
			return 0;
		if (strcmp(val, "true")) {
			fprintf(stderr, "kvmi-unhookd: %s '%s': bad value "
					"(true or false)\n",
				where, val);
			return -1;
		}
		return apply(o->val, NULL, where);
	}
	if (!*val) {
		fprintf(stderr, "kvmi-unhookd: %s: empty value\n", where);
		return -1;
	}
	if (!(val = (char *)own(val))) {
		fprintf(stderr, "kvmi-unhookd: out of memory\n");
		return -1;
	}
	return apply(o->val, val, where);
}

static int config_read(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[4096 + 256];
	int lineno = 0, err = 0;

	if (!f) {
		fprintf(stderr, "kvmi-unhookd: --config %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	while (!err && fgets(line, sizeof(line), f)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			fprintf(stderr, "kvmi-unhookd: %s:%d: line too long\n",
				path, lineno);
			err = -1;
		} else {
			err = config_line(path, lineno, line);
		}
	}
	fclose(f);
	return err;
}

int options_parse(int argc, char **argv)
{
	struct given {
		int c;
		const char *val;
	} *given = calloc((size_t)argc + 1, sizeof(*given));
	const char *config = NULL;
	int c, n = 0, uids_reset = 0, cids_reset = 0, secret_reset = 0;
	int rc = 0;

	if (!given) {
		fprintf(stderr, "kvmi-unhookd: out of memory\n");
		return 2;
	}
	/* the command line first (for --config), applied after the file */
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		if (c == O_HELP) {
			usage(stdout);
			free(given);
			return 1;
		}
		if (c == '?' || c == ':') {
			rc = 2;
			goto bad;
		}
		if (c == O_CONFIG)
			config = optarg;
		else
			given[n++] = (struct given){c, optarg};
	}
	if (optind != argc) {
		fprintf(stderr, "kvmi-unhookd: unexpected argument '%s'\n",
			argv[optind]);
		rc = 2;
		goto bad;
	}
	if (config && config_read(config)) {
		free(given);
		return 2; /* the file's line said what was wrong */
	}
	for (int i = 0; i < n; i++) {
		char where[64];

		/* lists and the secret from the command line replace the
		 * file's */
		if (given[i].c == O_ALLOW_UID && !uids_reset++)
			d.nuids = 0;
		if (given[i].c == O_ALLOW_CID && !cids_reset++)
			d.ncids = 0;
		if ((given[i].c == O_SECRET || given[i].c == O_SECRET_FILE) &&
		    !secret_reset++)
			d.secret_arg = d.secret_file = NULL;
		for (const struct option *o = opts; o->name; o++)
			if (o->val == given[i].c)
				snprintf(where, sizeof(where), "--%s", o->name);
		if (apply(given[i].c, given[i].val, where)) {
			rc = 2;
			goto bad;
		}
	}
	free(given);
	if ((!d.demo && !d.listen && !d.vsock) || (d.demo && d.listen)) {
		fprintf(stderr, "kvmi-unhookd: %s\n",
			d.demo ? "--demo makes its own socket: drop --listen"
			       : "--listen PATH (or --vsock PORT) is required");
		usage(stderr);
		return 2;
	}
	return 0;
bad:
	free(given);
	usage(stderr);
	return rc;
}
