/*
 * kvmi-fakehost - options.c: command-line parsing and the --help text.
 */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <kvmi/codec.h>
#include <kvmi/common.h>

#include "misbehave.h"
#include "secret.h"

static const char help_text[] =
"Usage: kvmi-fakehost --connect PATH [OPTION]...\n"
"A simulated QEMU + KVMI host (protocol version 1: \"v6\", kvmi-v7 or v12) for\n"
"testing\n"
"introspection tools: connects to the tool's unix socket like QEMU, performs\n"
"QEMU's handshake, then answers every KVMI command with the host kernel's\n"
"validation rules while model guests raise events.  At the end of each guest\n"
"it prints one JSON line saying whether the tool left the guest clean.\n"
"\n"
"Connection and handshake (QEMU side):\n"
"  --connect PATH            the tool's listening unix socket (required)\n"
"  --guests N                guests (one connection each), default 1\n"
"  --retry-ms N              delay between connection attempts, default 100\n"
"  --connect-timeout-ms N    give up connecting after N ms (default: the\n"
"                            handshake timeout)\n"
"  --handshake-timeout-ms N  connection open -> tool's struct, default 10000\n"
"  --secret S                check the tool's cookie hash = SHA-1(S); without\n"
"                            a secret any hash is accepted (as QEMU without a\n"
"                            key).  S is visible to every user in\n"
"                            /proc/PID/cmdline: prefer --secret-file or the\n"
"                            KVMI_SECRET environment variable\n"
"  --secret-file PATH        the secret is the file's contents less one\n"
"                            trailing newline (at most 4096 bytes)\n"
"                            KVMI_SECRET=S in the environment is used when\n"
"                            neither option is given\n"
"  --name NAME               guest name, default \"fakehost\"; with --guests > 1\n"
"                            guest i is NAME-i\n"
"  --uuid UUID               guest UUID (8-4-4-4-12 hex); guest i gets i xored\n"
"                            into the last two bytes\n"
"  --start-time N            start_time field, default: now in seconds\n"
"  --handshake-size N        struct_size QEMU announces and sends: 96 (default,\n"
"                            v6-era QEMU), 104 (adds max_gpa) or any N in\n"
"                            4..1048576 (zero-filled beyond 104)\n"
"  --max-gpa                 same as --handshake-size 104\n"
"  --dialect D               the host's dialect: v6 (default, KVMI-PROTOCOL.md),\n"
"                            v7 (kvmi-v7 branch, 2021), v7-2023 (the same\n"
"                            after the 2023 additions) or v12 (kvmi-v12,\n"
"                            its QEMU sends 104 handshake bytes unless\n"
"                            --handshake-size says otherwise).  kvmi-v7: the\n"
"                            16-byte GET_VERSION reply with its feature\n"
"                            block (VMFUNC, EPTP switching and single-step;\n"
"                            no SPP, no #VE), EPT views with their own page\n"
"                            access (2021: views 0-2; 2023: created on\n"
"                            demand, up to 7), -KVM_ENOSYS\n"
"                            for unknown ids, TRAP after every injection,\n"
"                            CPUID and CMD_ERROR events, single-stepping,\n"
"                            and the host's bugs (PAUSE_VCPU read from the\n"
"                            vCPU header, SET_PAGE_WRITE_BITMAP never\n"
"                            allowed, GET_REGISTERS zeros after a bad MSR).\n"
"                            Ids given to --deny-command and --deny-event\n"
"                            are the kvmi-v7 numbers (v6's, plus CMD_ERROR\n"
"                            12 and CPUID 13) in every dialect.\n"
"\n"
"Guest model (per guest):\n"
"  --vcpus N                 online vCPUs, default 2 (max 1024)\n"
"  --max-vcpus N             limit for hot-plug, default vcpus + 1\n"
"  --mem-mb N                guest RAM in MiB, default 64 (sparse)\n"
"  --seed N                  memory content and workload seed, default 1\n"
"  --hot-gpa LIST            comma-separated addresses (hex 0x.. or decimal)\n"
"                            the vCPUs execute; repeatable\n"
"  --hot-count N             seeded hot addresses added to the list, default\n"
"                            16 (one in four is one of the guest's own INT3s)\n"
"  --events-per-vcpu N       a vCPU stops raising workload events after N\n"
"  --insn LIST               the only instructions the workload uses,\n"
"                            comma-separated: exec, read, write, cr3, msr,\n"
"                            xsetbv, hypercall, descriptor, cpuid (kvmi-v7\n"
"                            only) (default: all, in\n"
"                            the mix below; 'cr3' makes every instruction an\n"
"                            event when CR3 is intercepted: for benchmarks)\n"
"  --hotplug-after-ms N      hot-plug one vCPU N ms after the handshake (it\n"
"                            sends CREATE_VCPU if the tool enabled it)\n"
"  Each vCPU repeatedly executes a hot address (BREAKPOINT where the byte\n"
"  is 0xCC, PF where the page access forbids it), reads or writes data on a\n"
"  hot page, loads CR3, writes an MSR or XCR0, issues the agent hypercall or\n"
"  reads a descriptor-table register, raising the events the tool enabled;\n"
"  a vCPU waits for the reply to its event and applies the action as the\n"
"  v6 host does (CONTINUE on an INT3 the guest does not own = a #BP it did\n"
"  not expect; RETRY re-executes).  An injected exception is delivered at\n"
"  the next entry unless a #BP is re-injected then (TRAP reports it); a PF\n"
"  reply with singlestep set single-steps the instruction (then SINGLESTEP).\n"
"  Idle vCPUs run again when the tool sends anything.  Every guest runs the\n"
"  same seeded model.\n"
"\n"
"Host kernel policy:\n"
"  --deny-command ID         deny a command (number or KVMI_* name): -KVM_EPERM;\n"
"                            repeatable; GET_VERSION, CHECK_COMMAND and\n"
"                            CHECK_EVENT cannot be denied\n"
"  --deny-event ID           deny an event (number or KVMI_EVENT_* name)\n"
"  --page-access-errors M    SET_PAGE_ACCESS with bad entries applies the good\n"
"                            ones and returns: last (v6 RFC, default) the\n"
"                            status of the last entry, first (Bitdefender\n"
"                            branch) the first error; stop: stops at the\n"
"                            first error (documented behaviour)\n"
"\n"
"Hostile host (for testing tools):\n"
"  --misbehave MODE          break the protocol once --misbehave-after events\n"
"                            were sent: garbage (256 random bytes), oversized\n"
"                            (a header announcing a 65535-byte event),\n"
"                            wrong-size (a BREAKPOINT event 12 bytes short),\n"
"                            unknown-id (a message id 0x7777), unknown-event\n"
"                            (event id 200), unknown-seq (a reply nobody\n"
"                            asked for), dup-reply (the next reply twice),\n"
"                            unhook-flood (1000 UNHOOK events), no-replies\n"
"                            (commands applied, never answered),\n"
"                            stop-reading (never read again; a PF on every\n"
"                            vCPU each 20 ms), bp-burst (when the tool writes\n"
"                            an INT3: a BREAKPOINT on every vCPU and an\n"
"                            UNHOOK before the reply), slowloris (the\n"
"                            handshake one byte per second), idle (connect,\n"
"                            send nothing)\n"
"  --misbehave-after N       events sent first, default 0\n"
"\n"
"Run bounds and unhook (QEMU side):\n"
"  --unhook-after-ms N       request an unhook N ms after the handshake\n"
"  --unhook-after-events N   request an unhook once N events were sent\n"
"                            (SIGUSR1 requests it for every guest at once)\n"
"  --unhook-timeout-ms N     wait this long for the tool to close after the\n"
"                            UNHOOK event, default 60000\n"
"  --duration-ms N           end a guest N ms after its handshake unless an\n"
"                            unhook is under way (the host closes the socket)\n"
"  An unhook request sends KVMI_EVENT_UNHOOK only if the tool enabled it with\n"
"  KVMI_CONTROL_VM_EVENTS; otherwise the host disconnects at once.  vCPUs keep\n"
"  running meanwhile.  SIGINT/SIGTERM end every guest and report.\n"
"\n"
"Output:\n"
"  --report FILE             JSON lines, one per guest as it ends; '-' =\n"
"                            stdout (default)\n"
"  --record DIR              write DIR/NAME.kvmicap per guest (capture format\n"
"                            of include/kvmi/capture.h, KVMI traffic only)\n"
"  -v, --verbose             log each guest's life on stderr\n"
"  -h, --help                this text\n"
"  --version                 the version\n"
"\n"
"Report fields: name, uuid, handshake_ok, handshake_error, vcpus,\n"
"events_sent and events_replied per event type, events_total,\n"
"events_unreplied, commands, unhook_requested, unhook_sent, closed_in_time\n"
"(false when no UNHOOK was sent), unhook_ms (UNHOOK sent -> socket closed;\n"
"null when not sent), end (tool-closed, unhook-timeout, unhook-not-enabled,\n"
"duration, host-closed, crashed, handshake-failed, shutdown), close_reason,\n"
"crashed, bytes_differing, pages_restricted, guest_integrity_errors,\n"
"integrity_error, guest_int3_handled (#BP of the guest's own INT3s it\n"
"handled), unsupported_actions, exceptions_injected, exceptions_dropped\n"
"(lost against a re-injected #BP; reported with TRAP), hooks_left (events\n"
"and intercepts still enabled; kvmi-v7/v12 also vCPUs off view 0, with\n"
"visible views or single-stepping, views created, gfns allocated), dialect,\n"
"verdict.  pages_restricted counts every view.\n"
"\n"
"Verdict \"clean\" requires: the handshake succeeded, the host never closed\n"
"the channel over a bad message, no CRASH, every byte of guest memory equal\n"
"to its original, every page back to rwx, no #BP/#GP the guest did not\n"
"expect (a CONTINUE on a tool-planted INT3, or such an event still pending\n"
"at close), and, when the UNHOOK event was sent, the socket closed within\n"
"the unhook timeout.  Otherwise the verdict lists the reasons.\n"
"\n"
"Exit status: 0 every guest clean, 1 some guest not clean, 2 bad arguments.\n";

void fh_options_help(FILE *f)
{
	fputs(help_text, f);
}

enum {
	O_CONNECT = 256, O_GUESTS, O_RETRY, O_CONNECT_TIMEOUT,
	O_HS_TIMEOUT, O_SECRET, O_SECRET_FILE, O_NAME, O_UUID, O_START_TIME, O_HS_SIZE,
	O_MAX_GPA, O_VCPUS, O_MAX_VCPUS, O_MEM, O_SEED, O_HOT, O_HOT_COUNT,
	O_EVENTS_PER_VCPU, O_INSN, O_HOTPLUG, O_DENY_CMD, O_DENY_EVENT, O_PA_ERRORS,
	O_UNHOOK_MS, O_UNHOOK_EVENTS, O_UNHOOK_TIMEOUT, O_DURATION, O_REPORT,
	O_RECORD, O_VERSION, O_DIALECT, O_MISBEHAVE, O_MISBEHAVE_AFTER,
};

static const struct option longopts[] = {
	{ "connect", required_argument, NULL, O_CONNECT },
	{ "guests", required_argument, NULL, O_GUESTS },
	{ "retry-ms", required_argument, NULL, O_RETRY },
	{ "connect-timeout-ms", required_argument, NULL, O_CONNECT_TIMEOUT },
	{ "handshake-timeout-ms", required_argument, NULL, O_HS_TIMEOUT },
	{ "secret", required_argument, NULL, O_SECRET },
	{ "secret-file", required_argument, NULL, O_SECRET_FILE },
	{ "name", required_argument, NULL, O_NAME },
	{ "uuid", required_argument, NULL, O_UUID },
	{ "start-time", required_argument, NULL, O_START_TIME },
	{ "handshake-size", required_argument, NULL, O_HS_SIZE },
	{ "max-gpa", no_argument, NULL, O_MAX_GPA },
	{ "dialect", required_argument, NULL, O_DIALECT },
	{ "vcpus", required_argument, NULL, O_VCPUS },
	{ "max-vcpus", required_argument, NULL, O_MAX_VCPUS },
	{ "mem-mb", required_argument, NULL, O_MEM },
	{ "seed", required_argument, NULL, O_SEED },
	{ "hot-gpa", required_argument, NULL, O_HOT },
	{ "hot-count", required_argument, NULL, O_HOT_COUNT },
	{ "events-per-vcpu", required_argument, NULL, O_EVENTS_PER_VCPU },
	{ "insn", required_argument, NULL, O_INSN },
	{ "hotplug-after-ms", required_argument, NULL, O_HOTPLUG },
	{ "deny-command", required_argument, NULL, O_DENY_CMD },
	{ "deny-event", required_argument, NULL, O_DENY_EVENT },
	{ "page-access-errors", required_argument, NULL, O_PA_ERRORS },
	{ "unhook-after-ms", required_argument, NULL, O_UNHOOK_MS },
	{ "unhook-after-events", required_argument, NULL, O_UNHOOK_EVENTS },
	{ "unhook-timeout-ms", required_argument, NULL, O_UNHOOK_TIMEOUT },
	{ "duration-ms", required_argument, NULL, O_DURATION },
	{ "report", required_argument, NULL, O_REPORT },
	{ "record", required_argument, NULL, O_RECORD },
	{ "misbehave", required_argument, NULL, O_MISBEHAVE },
	{ "misbehave-after", required_argument, NULL, O_MISBEHAVE_AFTER },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 },
};

struct parser {
	char *err;
	size_t errlen;
	int failed;
};

static void fail(struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fail(struct parser *p, const char *fmt, ...)
{
	va_list ap;

	if (p->failed)
		return;
	p->failed = 1;
	va_start(ap, fmt);
	vsnprintf(p->err, p->errlen, fmt, ap);
	va_end(ap);
}

static uint64_t number(struct parser *p, const char *opt, const char *s,
		       uint64_t min, uint64_t max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || *s == '-' || v < min || v > max) {
		fail(p, "--%s: '%s' is not a number in %" PRIu64 "..%" PRIu64, opt,
		     s, min, max);
		return min;
	}
	return v;
}

static int parse_uuid(const char *s, uint8_t *out)
{
	unsigned n = 0;

	for (; *s && n < 32; s++) {
		int v;

		if (*s == '-')
			continue;
		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			v = *s - 'A' + 10;
		else
			return -1;
		if (n % 2 == 0)
			out[n / 2] = (uint8_t)(v << 4);
		else
			out[n / 2] |= (uint8_t)v;
		n++;
	}
	return n == 32 && !*s ? 0 : -1;
}

/* --insn: instruction kind names -> bit mask of enum fh_insn_kind */
static int parse_insn(const char *list, uint32_t *mask)
{
	static const struct {
		const char *name;
		enum fh_insn_kind kind;
	} kinds[] = {
		{"exec", FH_INSN_EXEC},	  {"read", FH_INSN_READ},
		{"write", FH_INSN_WRITE}, {"cr3", FH_INSN_CR3},
		{"msr", FH_INSN_MSR},	  {"xsetbv", FH_INSN_XSETBV},
		{"hypercall", FH_INSN_HYPERCALL},
		{"descriptor", FH_INSN_DESCRIPTOR},
		{"cpuid", FH_INSN_CPUID},
	};
	const char *p = list;

	*mask = 0;
	while (*p) {
		size_t len = strcspn(p, ",");
		size_t i;

		for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
			if (strlen(kinds[i].name) == len &&
			    !strncmp(p, kinds[i].name, len))
				break;
		if (i == sizeof(kinds) / sizeof(kinds[0]))
			return -1;
		*mask |= 1u << kinds[i].kind;
		p += len;
		if (*p == ',')
			p++;
	}
	return *mask ? 0 : -1;
}

/* @s is @name, or @name without @pre */
static int name_is(const char *name, const char *pre, const char *s)
{
	return !strcmp(name, s) || (!strncmp(name, pre, strlen(pre)) &&
				    !strcmp(name + strlen(pre), s));
}

/* A message/event id (common numbering) by number or by name, v6's or
 * kvmi-v7's (with or without "KVMI_"). */
static int parse_id(const char *s, int event, unsigned limit)
{
	char *end;
	unsigned long v = strtoul(s, &end, 0);

	if (end != s && !*end)
		return v < limit ? (int)v : -1;
	for (unsigned i = 0; i < limit; i++) {
		const enum kvmi_dialect d7 = KVMI_DIALECT_V7_2023;
		const char *pre = event ? "KVMI_EVENT_" : "KVMI_";

		if (event ? name_is(kvmi_event_name(i), pre, s) ||
				    name_is(kvmi_event_name_d(d7, i), pre, s)
			  : name_is(kvmi_msg_name(i), pre, s) ||
				    name_is(kvmi_msg_name_d(d7, i), pre, s))
			return (int)i;
	}
	return -1;
}

static void add_hot(struct parser *p, struct fh_host_config *cfg, char *list)
{
	char *save = NULL;

	for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (cfg->vm.n_hot_gpas >= FH_MAX_HOT) {
			fail(p, "--hot-gpa: more than %u addresses", FH_MAX_HOT);
			return;
		}
		cfg->hot[cfg->vm.n_hot_gpas++] =
			number(p, "hot-gpa", t, 0, UINT64_MAX);
	}
}

enum fh_options_result fh_options_parse(int argc, char **argv,
					struct fh_host_config *cfg,
					char *errbuf, size_t errlen)
{
	static char secret_buf[SECRET_MAX + 3];
	struct parser p = { errbuf, errlen, 0 };
	const char *secret_arg = NULL, *secret_file = NULL;
	int max_vcpus_set = 0, hs_size_set = 0;
	int c, id;

	fh_host_config_defaults(cfg);
	optind = 1;
	opterr = 0;
	while (!p.failed &&
	       (c = getopt_long(argc, argv, ":vh", longopts, NULL)) != -1) {
		const char *name = optind > 0 && optind <= argc ? argv[optind - 1] : "";

		switch (c) {
		case O_CONNECT: cfg->connect_path = optarg; break;
		case O_GUESTS: cfg->guests = (unsigned)number(&p, "guests", optarg, 1, 100000); break;
		case O_RETRY: cfg->retry_ms = (unsigned)number(&p, "retry-ms", optarg, 1, 600000); break;
		case O_CONNECT_TIMEOUT: cfg->connect_timeout_ms = (unsigned)number(&p, "connect-timeout-ms", optarg, 1, UINT32_MAX); break;
		case O_HS_TIMEOUT: cfg->handshake_timeout_ms = (unsigned)number(&p, "handshake-timeout-ms", optarg, 1, UINT32_MAX); break;
		case O_SECRET: secret_arg = optarg; break;
		case O_SECRET_FILE: secret_file = optarg; break;
		case O_NAME:
			if (!*optarg || strlen(optarg) > 63)
				fail(&p, "--name: 1..63 characters");
			cfg->name = optarg;
			break;
		case O_UUID:
			if (parse_uuid(optarg, cfg->uuid))
				fail(&p, "--uuid: '%s' is not a UUID (32 hex digits, dashes allowed)", optarg);
			break;
		case O_START_TIME: cfg->start_time = (int64_t)number(&p, "start-time", optarg, 0, INT64_MAX); break;
		case O_HS_SIZE:
			cfg->handshake_size = (uint32_t)number(&p, "handshake-size", optarg, 4, 1u << 20);
			hs_size_set = 1;
			break;
		case O_MAX_GPA:
			cfg->handshake_size = sizeof(struct kvmi_qemu2introspector_ext);
			hs_size_set = 1;
			break;
		case O_DIALECT:
			if (kvmi_dialect_parse(optarg, &cfg->vm.dialect))
				fail(&p, "--dialect: '%s' is not v6, v7, v7-2023 or v12", optarg);
			break;
		case O_VCPUS: cfg->vm.vcpus = (unsigned)number(&p, "vcpus", optarg, 1, FH_MAX_VCPUS); break;
		case O_MAX_VCPUS:
			cfg->vm.max_vcpus = (unsigned)number(&p, "max-vcpus", optarg, 1, FH_MAX_VCPUS);
			max_vcpus_set = 1;
			break;
		case O_MEM: cfg->vm.mem_mb = number(&p, "mem-mb", optarg, 1, 1u << 20); break;
		case O_SEED: cfg->vm.seed = number(&p, "seed", optarg, 0, UINT64_MAX); break;
		case O_HOT: add_hot(&p, cfg, optarg); break;
		case O_HOT_COUNT: cfg->vm.hot_generated = (unsigned)number(&p, "hot-count", optarg, 0, FH_MAX_HOT); break;
		case O_EVENTS_PER_VCPU: cfg->vm.events_per_vcpu = number(&p, "events-per-vcpu", optarg, 1, UINT64_MAX); break;
		case O_INSN:
			if (parse_insn(optarg, &cfg->vm.insn_mask))
				fail(&p, "--insn: '%s' is not a list of exec, read, write, cr3, msr, xsetbv, hypercall, descriptor, cpuid", optarg);
			break;
		case O_HOTPLUG: cfg->hotplug_after_ms = (unsigned)number(&p, "hotplug-after-ms", optarg, 1, UINT32_MAX); break;
		case O_DENY_CMD:
			id = parse_id(optarg, 0, 64);
			if (id < 0)
				fail(&p, "--deny-command: unknown command '%s'", optarg);
			else if (id == KVMI_GET_VERSION || id == KVMI_CHECK_COMMAND ||
				 id == KVMI_CHECK_EVENT)
				fail(&p, "--deny-command: %s cannot be denied", kvmi_msg_name((unsigned)id));
			else
				cfg->vm.deny_commands |= 1ULL << id;
			break;
		case O_DENY_EVENT:
			id = parse_id(optarg, 1, FH_NUM_EVENTS);
			if (id < 0)
				fail(&p, "--deny-event: unknown event '%s'", optarg);
			else
				cfg->vm.deny_events |= 1u << id;
			break;
		case O_MISBEHAVE:
			id = fh_misbehave_parse(optarg);
			if (id < 0)
				fail(&p, "--misbehave: unknown mode '%s' (one of %s)", optarg, fh_misbehave_names);
			else
				cfg->vm.misbehave = (unsigned)id;
			break;
		case O_MISBEHAVE_AFTER: cfg->vm.misbehave_after = number(&p, "misbehave-after", optarg, 0, UINT64_MAX); break;
		case O_PA_ERRORS:
			if (!strcmp(optarg, "last"))
				cfg->vm.page_access_errors = FH_PA_ERRORS_LAST;
			else if (!strcmp(optarg, "first"))
				cfg->vm.page_access_errors = FH_PA_ERRORS_FIRST;
			else if (!strcmp(optarg, "stop"))
				cfg->vm.page_access_errors = FH_PA_ERRORS_STOP;
			else
				fail(&p, "--page-access-errors: '%s' is not last, first or stop", optarg);
			break;
		case O_UNHOOK_MS: cfg->unhook_after_ms = (unsigned)number(&p, "unhook-after-ms", optarg, 1, UINT32_MAX); break;
		case O_UNHOOK_EVENTS: cfg->unhook_after_events = number(&p, "unhook-after-events", optarg, 1, UINT64_MAX); break;
		case O_UNHOOK_TIMEOUT: cfg->unhook_timeout_ms = (unsigned)number(&p, "unhook-timeout-ms", optarg, 1, UINT32_MAX); break;
		case O_DURATION: cfg->duration_ms = (unsigned)number(&p, "duration-ms", optarg, 1, UINT32_MAX); break;
		case O_REPORT: cfg->report_path = optarg; break;
		case O_RECORD: cfg->record_dir = optarg; break;
		case 'v': cfg->verbose = 1; break;
		case 'h':
			fh_options_help(stdout);
			return FH_OPTIONS_EXIT;
		case O_VERSION:
			printf("kvmi-fakehost (libkvmi) %s\n", kvmi_version());
			return FH_OPTIONS_EXIT;
		case ':':
			fail(&p, "%s needs an argument", name);
			break;
		default:
			fail(&p, "unknown option '%s'", name);
			break;
		}
	}
	if (p.failed)
		return FH_OPTIONS_ERROR;
	if (optind < argc) {
		fail(&p, "unexpected argument '%s'", argv[optind]);
		return FH_OPTIONS_ERROR;
	}
	if (secret_resolve(secret_arg, secret_file, secret_buf,
			   sizeof(secret_buf), &cfg->secret, errbuf, errlen))
		return FH_OPTIONS_ERROR;
	if (!cfg->connect_path) {
		fail(&p, "--connect PATH is required");
		return FH_OPTIONS_ERROR;
	}
	if (strlen(cfg->connect_path) >= 108) {
		fail(&p, "--connect: the path is longer than a unix socket path may be");
		return FH_OPTIONS_ERROR;
	}
	if (!hs_size_set && cfg->vm.dialect == KVMI_DIALECT_V12)
		cfg->handshake_size = KVMI_V12_HANDSHAKE_QEMU_SIZE;
	if (!max_vcpus_set)
		cfg->vm.max_vcpus = cfg->vm.vcpus < FH_MAX_VCPUS ? cfg->vm.vcpus + 1
								 : FH_MAX_VCPUS;
	if (cfg->vm.max_vcpus < cfg->vm.vcpus) {
		fail(&p, "--max-vcpus %u is below --vcpus %u", cfg->vm.max_vcpus,
		     cfg->vm.vcpus);
		return FH_OPTIONS_ERROR;
	}
	for (size_t i = 0; i < cfg->vm.n_hot_gpas; i++)
		if (cfg->hot[i] >> 20 >= cfg->vm.mem_mb) {
			fail(&p, "--hot-gpa 0x%" PRIx64 " is beyond the %" PRIu64
				 " MiB of guest RAM", cfg->hot[i], cfg->vm.mem_mb);
			return FH_OPTIONS_ERROR;
		}
	cfg->vm.hot_gpas = cfg->hot;
	return FH_OPTIONS_RUN;
}
