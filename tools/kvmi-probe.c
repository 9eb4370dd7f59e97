/*
 * libkvmi tools - kvmi-probe.c: "why won't it connect?"  Listens where
 * QEMU's introspection channel should connect, takes one connection and
 * prints what QEMU and the host kernel said: QEMU's handshake, whether
 * the cookie was accepted (and the likely cause when QEMU hangs up), the
 * dialect and version, the feature block, the vCPU count and, for every
 * command and event id of the dialect, whether the host allows it; then
 * closes without enabling anything.  The options and exit statuses are
 * here (kvmi-probe(1) says the same); the work is in tools/probe/.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe/probe.h"
#include "secret.h"

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: kvmi-probe --listen PATH [OPTION]...\n"
	    "       kvmi-probe --vsock PORT [OPTION]...\n"
	    "Wait for one QEMU introspection connection and print what\n"
	    "QEMU and the host kernel say: QEMU's handshake (struct size,\n"
	    "uuid, name, start time), whether QEMU accepted the cookie\n"
	    "(and the likely cause when it hangs up), the KVMI dialect and\n"
	    "version, the host's feature block, the vCPU count, and for\n"
	    "every command and event of the dialect whether the host\n"
	    "allows it (CHECK_COMMAND, CHECK_EVENT).  Then close without\n"
	    "enabling anything.  A line on standard error says when it\n"
	    "listens.\n"
	    "\n"
	    "  --listen PATH      unix socket QEMU connects to (mode 0600)\n"
	    "  --vsock PORT       listen on this vsock port (1..\n"
	    "                     4294967294); with --listen, on both\n"
	    "  --secret S         cookie: QEMU checks SHA-1(S).  S is visible\n"
	    "                     to every user in /proc/PID/cmdline:\n"
	    "                     prefer --secret-file or KVMI_SECRET\n"
	    "  --secret-file PATH\n"
	    "                     the secret is the file's contents less\n"
	    "                     one trailing newline (at most 4096 bytes)\n"
	    "  KVMI_SECRET=S      (environment) the secret when neither\n"
	    "                     option is given; with no secret at all\n"
	    "                     the cookie is 20 zero bytes\n"
	    "  --timeout-ms N     give up when nothing connected within N\n"
	    "                     ms (a connection under way is followed\n"
	    "                     to its end); default 0: wait forever\n"
	    "  --handshake-timeout-ms N\n"
	    "                     a connection must finish QEMU's handshake\n"
	    "                     and the start-up commands within N ms,\n"
	    "                     default 10000\n"
	    "  --command-timeout-ms N\n"
	    "                     each check must be answered within N ms,\n"
	    "                     default 10000\n"
	    "  --dialect D        take the host's dialect to be D (v6, v7,\n"
	    "                     v7-2023, v12) instead of detecting it\n"
	    "  --json             print one JSON object (one line) on\n"
	    "                     standard output instead of text\n"
	    "  -v, --verbose      print libkvmi's log lines on standard\n"
	    "                     error\n"
	    "  -h, --help         this text\n"
	    "  --version          print the library version and exit\n"
	    "\n"
	    "Exit status: 0 every question answered, 1 bad arguments, 2\n"
	    "cannot listen, 3 nothing connected within --timeout-ms (or\n"
	    "before SIGINT/SIGTERM), 4 QEMU's handshake failed or QEMU hung\n"
	    "up after our reply before any KVMI message (most likely a\n"
	    "cookie that does not match its secret), 5 the host closed the\n"
	    "connection after KVMI messages began and before every answer\n"
	    "was in, 6 the host broke the protocol or did not answer in\n"
	    "time.\n");
}

/* a decimal number in @min..@max */
static int parse_uint(const char *s, unsigned long long min,
		      unsigned long long max, unsigned int *out)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = (unsigned int)v;
	return 0;
}

int main(int argc, char **argv)
{
	enum {
		OPT_LISTEN = 256,
		OPT_VSOCK,
		OPT_SECRET,
		OPT_SECRET_FILE,
		OPT_TIMEOUT,
		OPT_HS_TIMEOUT,
		OPT_CMD_TIMEOUT,
		OPT_DIALECT,
		OPT_JSON,
		OPT_VERSION
	};
	static const struct option opts[] = {
	    {"listen", required_argument, NULL, OPT_LISTEN},
	    {"vsock", required_argument, NULL, OPT_VSOCK},
	    {"secret", required_argument, NULL, OPT_SECRET},
	    {"secret-file", required_argument, NULL, OPT_SECRET_FILE},
	    {"timeout-ms", required_argument, NULL, OPT_TIMEOUT},
	    {"handshake-timeout-ms", required_argument, NULL, OPT_HS_TIMEOUT},
	    {"command-timeout-ms", required_argument, NULL, OPT_CMD_TIMEOUT},
	    {"dialect", required_argument, NULL, OPT_DIALECT},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, OPT_VERSION},
	    {NULL, 0, NULL, 0}};
	static struct probe_result r;
	struct probe_opts o = {0};
	const char *secret_arg = NULL, *secret_file = NULL;
	char secret_buf[SECRET_MAX + 3], msg[256];
	const char *bad = NULL;
	int c;

	opterr = 0;
	while (!bad && (c = getopt_long(argc, argv, ":vh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_LISTEN:
			o.unix_path = optarg;
			if (!*optarg)
				bad = "--listen: an empty path";
			break;
		case OPT_VSOCK:
			if (parse_uint(optarg, 1, 0xfffffffeu, &o.vsock_port))
				bad = "--vsock: not a port in 1..4294967294";
			break;
		case OPT_SECRET:
			secret_arg = optarg;
			break;
		case OPT_SECRET_FILE:
			secret_file = optarg;
			break;
		case OPT_TIMEOUT:
			if (parse_uint(optarg, 0, 86400000, &o.timeout_ms))
				bad = "--timeout-ms: not a number of ms in "
				      "0..86400000";
			break;
		case OPT_HS_TIMEOUT:
			if (parse_uint(optarg, 1, 3600000,
				       &o.handshake_timeout_ms))
				bad = "--handshake-timeout-ms: not a number "
				      "of ms in 1..3600000";
			break;
		case OPT_CMD_TIMEOUT:
			if (parse_uint(optarg, 1, 3600000,
				       &o.command_timeout_ms))
				bad = "--command-timeout-ms: not a number of "
				      "ms in 1..3600000";
			break;
		case OPT_DIALECT:
			if (kvmi_dialect_parse(optarg, &o.dialect))
				bad = "--dialect: not one of v6, v7, v7-2023, "
				      "v12";
			o.force_dialect = 1;
			break;
		case OPT_JSON:
			o.json = 1;
			break;
		case 'v':
			o.verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case OPT_VERSION:
			printf("kvmi-probe (libkvmi) %s\n", kvmi_version());
			return 0;
		case ':':
			snprintf(msg, sizeof(msg), "%s needs an argument",
				 argv[optind - 1]);
			bad = msg;
			break;
		default:
			if (optopt > 0 && optopt < 256)
				snprintf(msg, sizeof(msg), "unknown option -%c",
					 optopt);
			else
				snprintf(msg, sizeof(msg), "unknown option %s",
					 argv[optind - 1]);
			bad = msg;
			break;
		}
	}
	if (!bad && optind != argc) {
		snprintf(msg, sizeof(msg), "unexpected argument '%s'",
			 argv[optind]);
		bad = msg;
	}
	if (!bad && !o.unix_path && !o.vsock_port)
		bad = "--listen PATH or --vsock PORT is required";
	if (!bad &&
	    secret_resolve(secret_arg, secret_file, secret_buf,
			   sizeof(secret_buf), &o.secret, msg, sizeof(msg)))
		bad = msg;
	if (bad) {
		fprintf(stderr, "kvmi-probe: %s\n", bad);
		fprintf(stderr, "Try 'kvmi-probe --help'.\n");
		return PROBE_USAGE;
	}
	o.secret_from = !o.secret     ? NULL
			: secret_arg  ? "--secret"
			: secret_file ? "--secret-file"
				      : SECRET_ENV;
	signal(SIGPIPE, SIG_IGN);
	probe_run(&o, &r);
	if (o.json)
		probe_print_json(stdout, &o, &r);
	else
		probe_print_text(stdout, &o, &r);
	fflush(stdout);
	return r.code;
}
