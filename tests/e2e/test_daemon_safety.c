/*
 * libkvmi - tests/e2e/test_daemon_safety.c: kvmi-unhookd run as a daemon
 * in real processes against kvmi-fakehost: its guest table recycled (more
 * connections than any fixed table) with a concurrent limit that refuses
 * clearly, log lines a hostile guest name cannot forge (every line parsed
 * as logfmt), the cookie secret from a file or the environment and never
 * on the demo's fakehost command line, the peer uid allow-list, and the
 * daemon at a descriptor limit below its guest count.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

/* ---- processes ---- */

struct run {
	char dir[64], sock[128], out[160], err[160], report[160];
	pid_t daemon;
};

static void run_init(struct run *r)
{
	snprintf(r->dir, sizeof(r->dir), "/tmp/kvmi-dsafe-XXXXXX");
	assert_non_null(mkdtemp(r->dir));
	snprintf(r->sock, sizeof(r->sock), "%s/sock", r->dir);
	snprintf(r->out, sizeof(r->out), "%s/out", r->dir);
	snprintf(r->err, sizeof(r->err), "%s/err", r->dir);
	snprintf(r->report, sizeof(r->report), "%s/report", r->dir);
	r->daemon = -1;
}

static void run_fini(struct run *r)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r->dir);
	assert_int_equal(system(cmd), 0);
}

static rlim_t spawn_nofile; /* RLIMIT_NOFILE of the next child; 0: ours */

/* fork and exec @argv with stdout/stderr to files (NULL: inherited) and
 * KVMI_SECRET set to @secret (NULL: removed from the environment) */
static pid_t spawn(const char *const *argv, const char *out, const char *err,
		   const char *secret)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		if (out)
			dup2(open(out, O_WRONLY | O_CREAT | O_APPEND, 0600), 1);
		if (err)
			dup2(open(err, O_WRONLY | O_CREAT | O_APPEND, 0600), 2);
		if (secret)
			setenv("KVMI_SECRET", secret, 1);
		else
			unsetenv("KVMI_SECRET");
		if (spawn_nofile) {
			/* set by the new image's shell: a setrlimit() here
			 * would be virtualised away under valgrind */
			const char *sh[40] = {"/bin/sh", "-c", NULL};
			char script[64];
			int n = 2;

			snprintf(script, sizeof(script),
				 "ulimit -n %llu && exec \"$0\" \"$@\"",
				 (unsigned long long)spawn_nofile);
			sh[n++] = script;
			for (int i = 0; argv[i] && n < 39; i++)
				sh[n++] = argv[i];
			sh[n] = NULL;
			execv(sh[0], (char *const *)sh);
			_exit(127);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

static int wait_status(pid_t pid)
{
	int st;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* kvmi-unhookd --listen SOCK ARGS... in the background */
static void daemon_start(struct run *r, const char *const *args,
			 const char *secret)
{
	const char *argv[32];
	int n = 0;

	argv[n++] = getenv("KVMI_UNHOOKD");
	argv[n++] = "--listen";
	argv[n++] = r->sock;
	for (int i = 0; args && args[i]; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	assert_non_null(argv[0]);
	r->daemon = spawn(argv, r->out, r->err, secret);
}

/* SIGTERM: it unhooks what is left and exits 0; its CPU time in µs */
static uint64_t daemon_stop(struct run *r)
{
	struct rusage ru;
	int st;

	kill(r->daemon, SIGTERM);
	assert_int_equal(wait4(r->daemon, &st, 0, &ru), r->daemon);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	r->daemon = -1;
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* kvmi-fakehost --connect SOCK --report REPORT ARGS...; its exit status.
 * It retries connecting until the daemon listens (as QEMU does). */
static int fakehost(struct run *r, const char *const *args, const char *secret)
{
	const char *argv[32];
	int n = 0;

	argv[n++] = getenv("KVMI_FAKEHOST");
	argv[n++] = "--connect";
	argv[n++] = r->sock;
	argv[n++] = "--report";
	argv[n++] = r->report;
	for (int i = 0; args && args[i]; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	assert_non_null(argv[0]);
	return wait_status(spawn(argv, NULL, r->err, secret));
}

static char *slurp(const char *path);

/* one kvmi-fakehost run that must end clean (@ok) or with its handshake
 * refused */
static void host_expect(struct run *r, const char *const *args,
			const char *secret, int ok)
{
	char *rep;

	assert_int_equal(fakehost(r, args, secret), ok ? 0 : 1);
	rep = slurp(r->report);
	assert_non_null(strstr(rep, ok ? "\"handshake_ok\":true"
				       : "\"handshake_ok\":false"));
	free(rep);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	size_t cap = 1 << 16, n = 0, k;
	char *buf = malloc(cap);

	assert_non_null(buf);
	buf[0] = 0;
	if (!f)
		return buf;
	while ((k = fread(buf + n, 1, cap - n - 1, f)) > 0) {
		n += k;
		if (n + 1 == cap) {
			buf = realloc(buf, cap *= 2);
			assert_non_null(buf);
		}
	}
	buf[n] = 0;
	fclose(f);
	return buf;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	while ((hay = strstr(hay, needle))) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

/* ---- the guest table ---- */

static void test_guest_table_recycled(void **state)
{
	const char *host[] = {"--guests", "500", "--vcpus", "1", "--hot-count",
			      "0", "--duration-ms", "3000", NULL};
	struct run r;
	char *out;
	int batches = 9;

	(void)state;
	run_init(&r);
	daemon_start(&r, NULL, NULL);
	/* 4,500 short connections, at most 500 at a time; each lives 3 s
	 * so that 500 start-ups at once (two round trips each) finish on a
	 * loaded 2-CPU machine before the guest goes */
	for (int i = 0; i < batches; i++)
		fakehost(&r, host, NULL);
	daemon_stop(&r);
	out = slurp(r.out);
	fprintf(stderr, "guests connected: %d of %d\n",
		count(out, "event=guest-connected"), batches * 500);
	assert_int_equal(count(out, "event=guest-connected"), batches * 500);
	assert_int_equal(count(out, "event=guest-refused"), 0);
	assert_int_equal(count(out, "guest=?"), 0);
	free(out);
	run_fini(&r);
}

static void test_max_guests_refused_clearly(void **state)
{
	const char *args[] = {"--max-guests", "3", NULL};
	const char *host[] = {"--guests", "5", "--vcpus", "1", "--duration-ms",
			      "1500", NULL};
	struct run r;
	char *out;

	(void)state;
	run_init(&r);
	daemon_start(&r, args, NULL);
	fakehost(&r, host, NULL);
	daemon_stop(&r);
	out = slurp(r.out);
	assert_non_null(strstr(out, "max_guests=3"));
	assert_int_equal(count(out, "event=guest-connected"), 3);
	assert_int_equal(count(out, "level=error event=guest-refused guest=fakehost-"),
			 2);
	assert_int_equal(count(out, "reason=max-guests max_guests=3 connected=3"), 2);
	free(out);
	run_fini(&r);
}

/* the case: `ulimit -n 64` and 100 guests connecting at once */
static void test_daemon_at_fd_limit(void **state)
{
	const char *host[] = {"--guests", "100", "--vcpus", "1", "--hot-count",
			      "0", "--unhook-after-ms", "1000", NULL};
	struct run r;
	uint64_t cpu;
	char *out, *rep;

	(void)state;
	run_init(&r);
	spawn_nofile = 64;
	daemon_start(&r, NULL, NULL);
	spawn_nofile = 0;
	/* the first guests fill the descriptors; the others wait in the
	 * backlog until the first are unhooked and gone */
	assert_int_equal(fakehost(&r, host, NULL), 0);
	cpu = daemon_stop(&r);
	out = slurp(r.out);
	rep = slurp(r.report);
	fprintf(stderr, "fd limit 64, 100 guests: %d accept lines, daemon CPU "
			"%llu ms, %d clean\n",
		count(out, "msg=\"accept: "), (unsigned long long)cpu / 1000,
		count(rep, "\"verdict\":\"clean\""));
	assert_true(count(out, "msg=\"accept: Too many open files") >= 1);
	assert_true(count(out, "msg=\"accept: ") <= 2);
	assert_int_equal(count(rep, "\"verdict\":\"clean\""), 100);
	assert_true(cpu < 1000000); /* a spin burns a core for seconds */
	free(out);
	free(rep);
	run_fini(&r);
}

/* ---- log lines ---- */

#define MAX_PAIRS 32

struct pair {
	char key[32];
	char val[1024];
};

/* parse one logfmt line into pairs (values unescaped); -1 on bad syntax */
static int logfmt_parse(const char *s, struct pair *p, int max)
{
	int n = 0;

	while (*s) {
		size_t k = 0, v = 0;

		if (n == max)
			return -1;
		while (*s && *s != '=' && *s != ' ' && *s != '"' &&
		       k + 1 < sizeof(p[n].key))
			p[n].key[k++] = *s++;
		p[n].key[k] = 0;
		if (!k || *s++ != '=')
			return -1;
		if (*s == '"') {
			for (s++; *s != '"'; s++) {
				int c = (unsigned char)*s;

				if (!c || c < 0x20 || c >= 0x7f)
					return -1; /* raw byte in a value */
				if (c == '\\') {
					s++;
					c = *s == 'n' ? '\n' : *s == 'r' ? '\r'
					    : *s == 't' ? '\t' : *s;
					if (*s == 'x') {
						unsigned int x;

						if (sscanf(s + 1, "%2x", &x) != 1)
							return -1;
						c = (int)x;
						s += 2;
					} else if (!strchr("nrt\"\\", *s)) {
						return -1;
					}
				}
				if (v + 1 < sizeof(p[n].val))
					p[n].val[v++] = (char)c;
			}
			s++;
		} else {
			while (*s && *s != ' ') {
				if (*s == '"' || *s == '=' || *s < 0x21 ||
				    (unsigned char)*s >= 0x7f)
					return -1;
				if (v + 1 < sizeof(p[n].val))
					p[n].val[v++] = *s;
				s++;
			}
			if (!v)
				return -1;
		}
		p[n].val[v] = 0;
		n++;
		if (*s == ' ')
			s++;
		else if (*s)
			return -1;
	}
	return n;
}

static const char *get(const struct pair *p, int n, const char *key)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(p[i].key, key))
			return p[i].val;
	return NULL;
}

#define HOSTILE "a\nts=0 level=info event=unhooked guest=good result=ok \x1b[2J\"\\"

static void test_hostile_guest_name_cannot_forge_lines(void **state)
{
	const char *args[] = {"-v", NULL};
	const char *host[] = {"--name", HOSTILE, "--hot-gpa", "0x3010,0x5008",
			      "--unhook-after-ms", "300", NULL};
	static struct pair p[MAX_PAIRS];
	struct run r;
	char *out, *line, *save = NULL;
	int lines = 0, named = 0, lib = 0, n;

	(void)state;
	run_init(&r);
	daemon_start(&r, args, NULL);
	assert_int_equal(fakehost(&r, host, NULL), 0); /* unhooked clean */
	daemon_stop(&r);
	out = slurp(r.out);
	assert_null(strchr(out, '\x1b'));
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		const char *g, *ev;

		lines++;
		n = logfmt_parse(line, p, MAX_PAIRS);
		if (n < 0)
			fail_msg("not a logfmt line: %s", line);
		assert_string_equal(p[0].key, "ts");
		g = get(p, n, "guest");
		ev = get(p, n, "event");
		/* the forged line would read event=unhooked guest=good */
		assert_false(g && !strcmp(g, "good"));
		if (g) {
			assert_string_equal(g, HOSTILE);
			named++;
		}
		if (ev && !strcmp(ev, "unhooked"))
			assert_non_null(g);
		if (get(p, n, "source")) {
			/* the library's own line, quoted as one value: its
			 * guest= prefix is a logfmt value itself */
			const char *msg = get(p, n, "msg");

			assert_non_null(msg);
			if (!strncmp(msg, "guest=", 6)) {
				lib++;
				assert_non_null(strstr(msg, "guest=\"a\\nts=0"));
			}
		}
	}
	fprintf(stderr, "%d lines, %d about the guest, %d from the library\n",
		lines, named, lib);
	assert_true(named >= 4); /* connected, hooked, hits, unhooked, ... */
	assert_true(lib >= 1);
	free(out);
	run_fini(&r);
}

/* ---- the secret ---- */

static void write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(s, f);
	fclose(f);
}

static void read_proc(pid_t pid, const char *what, char *buf, size_t len)
{
	char path[64];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	for (size_t i = 0; i < n; i++)
		if (!buf[i])
			buf[i] = ' '; /* NUL-separated: one string */
	buf[n] = 0;
}

#define SECRET "s3cret-Xq7"

static void test_demo_secret_not_on_command_line(void **state)
{
	static char cmdline[8192], environ_[65536], line[1024];
	char file[200], cmd[512];
	struct run r;
	FILE *p;
	int pid = 0, clean = 0, st;

	(void)state;
	run_init(&r);
	snprintf(file, sizeof(file), "%s/secret", r.dir);
	write_file(file, SECRET "\n");
	snprintf(cmd, sizeof(cmd),
		 "env -u KVMI_SECRET '%s' --demo --guests 1 --secret-file '%s' "
		 "--fakehost '%s' 2>&1",
		 getenv("KVMI_UNHOOKD"), file, getenv("KVMI_FAKEHOST"));
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p)) {
		const char *at = strstr(line, "event=demo-started");

		if (at && strstr(at, " pid=") &&
		    sscanf(strstr(at, " pid="), " pid=%d", &pid) == 1) {
			/* kvmi-fakehost runs for seconds: read it now */
			read_proc(pid, "cmdline", cmdline, sizeof(cmdline));
			read_proc(pid, "environ", environ_, sizeof(environ_));
		}
		clean += strstr(line, "1 of 1 guests clean") != NULL;
	}
	st = pclose(p);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_true(pid > 0);
	assert_non_null(strstr(cmdline, "--connect"));
	assert_null(strstr(cmdline, SECRET));
	assert_null(strstr(cmdline, "--secret"));
	assert_non_null(strstr(environ_, "KVMI_SECRET=" SECRET " "));
	assert_int_equal(clean, 1);
	run_fini(&r);
}

static void expect_bad(const char *prog, const char *const *args,
		       const char *secret, const char *message)
{
	const char *argv[16];
	struct run r;
	char *err;
	int n = 0;

	run_init(&r);
	argv[n++] = getenv(prog);
	for (int i = 0; args[i]; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	assert_int_equal(wait_status(spawn(argv, r.out, r.err, secret)), 2);
	err = slurp(r.err);
	if (!strstr(err, message))
		fail_msg("%s: expected '%s' in: %s", prog, message, err);
	free(err);
	run_fini(&r);
}

static void test_secret_sources(void **state)
{
	const char *host[] = {"--vcpus", "1", "--unhook-after-ms", "300", NULL};
	const char *host_file[] = {"--vcpus", "1", "--unhook-after-ms", "300",
				   "--secret-file", NULL, NULL};
	const char *daemon_file[] = {"--secret-file", NULL, NULL};
	char right[200], wrong[200], empty[200];
	struct run r;
	char *help;

	(void)state;
	run_init(&r);
	snprintf(right, sizeof(right), "%s/right", r.dir);
	snprintf(wrong, sizeof(wrong), "%s/wrong", r.dir);
	snprintf(empty, sizeof(empty), "%s/empty", r.dir);
	write_file(right, SECRET "\r\n");
	write_file(wrong, "not-it");
	write_file(empty, "\n");

	/* daemon: the environment; host: a file */
	daemon_start(&r, NULL, SECRET);
	host_file[5] = right;
	host_expect(&r, host_file, NULL, 1);
	host_file[5] = wrong; /* the host checks the hash: refused */
	host_expect(&r, host_file, NULL, 0);
	/* host: the environment, wrong then right */
	host_expect(&r, host, "not-it", 0);
	host_expect(&r, host, SECRET, 1);
	daemon_stop(&r);

	/* daemon: a file (the environment ignored) */
	daemon_file[1] = right;
	daemon_start(&r, daemon_file, "not-it");
	host_expect(&r, host, SECRET, 1);
	host_expect(&r, host, "not-it", 0);
	daemon_stop(&r);

	/* bad sources: exit 2 naming what was wrong */
	{
		const char *missing[] = {"--listen", r.sock, "--secret-file",
					 "/nonexistent/secret", NULL};
		const char *emptyf[] = {"--listen", r.sock, "--secret-file",
					empty, NULL};
		const char *both[] = {"--listen", r.sock, "--secret", "x",
				      "--secret-file", right, NULL};
		const char *fh_missing[] = {"--connect", r.sock, "--secret-file",
					    "/nonexistent/secret", NULL};
		const char *plain[] = {"--listen", r.sock, NULL};

		expect_bad("KVMI_UNHOOKD", missing, NULL,
			   "--secret-file /nonexistent/secret: No such file");
		expect_bad("KVMI_UNHOOKD", emptyf, NULL, "the file is empty");
		expect_bad("KVMI_UNHOOKD", both, NULL, "give one");
		expect_bad("KVMI_UNHOOKD", plain, "", "KVMI_SECRET is set but empty");
		expect_bad("KVMI_FAKEHOST", fh_missing, NULL,
			   "--secret-file /nonexistent/secret: No such file");
		expect_bad("KVMI_FAKEHOST", fh_missing, "x",
			   "--secret-file /nonexistent/secret");
	}
	/* --help warns about --secret */
	for (int i = 0; i < 2; i++) {
		const char *argv[] = {getenv(i ? "KVMI_FAKEHOST" : "KVMI_UNHOOKD"),
				      "--help", NULL};

		unlink(r.out);
		assert_int_equal(wait_status(spawn(argv, r.out, NULL, NULL)), 0);
		help = slurp(r.out);
		assert_non_null(strstr(help, "/proc/PID/cmdline"));
		assert_non_null(strstr(help, "--secret-file PATH"));
		assert_non_null(strstr(help, "KVMI_SECRET"));
		free(help);
	}
	run_fini(&r);
}

/* ---- peer allow-lists ---- */

static void test_uid_allow_list(void **state)
{
	const char *host[] = {"--vcpus", "1", "--unhook-after-ms", "200", NULL};
	char me[16], other[16];
	const char *args[] = {"--allow-uid", other, "--allow-uid", me,
			      "--allow-cid", "3", NULL};
	const char *refuse[] = {"--allow-uid", other, NULL};
	struct run r;
	char *out;

	(void)state;
	snprintf(me, sizeof(me), "%u", (unsigned int)getuid());
	snprintf(other, sizeof(other), "%u", (unsigned int)getuid() + 1);
	run_init(&r);
	daemon_start(&r, args, NULL);
	host_expect(&r, host, NULL, 1);
	daemon_stop(&r);
	daemon_start(&r, refuse, NULL);
	host_expect(&r, host, NULL, 0);
	daemon_stop(&r);
	out = slurp(r.out);
	assert_non_null(strstr(out, "allow_uids=2 allow_cids=1"));
	assert_int_equal(count(out, "event=guest-connected"), 1);
	assert_int_equal(count(out, "not in the allow-list"), 1);
	free(out);
	{
		const char *bad_uid[] = {"--listen", r.sock, "--allow-uid", "me",
					 NULL};
		const char *bad_cid[] = {"--listen", r.sock, "--allow-cid",
					 "4294967295", NULL};
		const char *bad_port[] = {"--vsock", "0", NULL};

		expect_bad("KVMI_UNHOOKD", bad_uid, NULL, "--allow-uid 'me'");
		expect_bad("KVMI_UNHOOKD", bad_cid, NULL,
			   "--allow-cid '4294967295'");
		expect_bad("KVMI_UNHOOKD", bad_port, NULL, "bad value");
	}
	run_fini(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guest_table_recycled),
		cmocka_unit_test(test_max_guests_refused_clearly),
		cmocka_unit_test(test_daemon_at_fd_limit),
		cmocka_unit_test(test_hostile_guest_name_cannot_forge_lines),
		cmocka_unit_test(test_demo_secret_not_on_command_line),
		cmocka_unit_test(test_secret_sources),
		cmocka_unit_test(test_uid_allow_list),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
