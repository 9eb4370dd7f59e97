/*
 * libkvmi - tests/wireshark/test_dump_pcapng.c: `kvmi-dump --pcapng` run
 * as a process.  Every valid capture of tests/data/ converts to a pcapng
 * file with exactly one packet per line of its golden .dump text, each
 * packet carrying that line's direction, stream offset and seq (and
 * timestamps in capture order); "-" writes the same bytes to stdout; an
 * uncreatable or full output, OUT naming the capture itself (left
 * intact), a file that is no capture and every malformed stream exit 1
 * with the reason (the latter keeping the messages before the error); a
 * missing argument is bad usage (2).
 *
 * Environment: KVMI_TEST_DATA (tests/data), KVMI_DUMP (kvmi-dump binary).
 */
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "pcapng.h"
#include "pcapng_parse.h"

#define MAX_BLOCKS 4096

static const char *const valid[] = {"full-session", "events-during-command",
				    "host-larger-common",
				    "host-smaller-common"};

/*
 * run kvmi-dump with the arguments that follow (up to NULL), no shell in
 * between; returns its exit status.  Its stderr lands in @err
 * (NUL-terminated); its stdout goes to the file @out_path when set, else
 * into @err as well.
 */
static int run_dump(char *err, size_t errlen, const char *out_path, ...)
{
	const char *dump = getenv("KVMI_DUMP");
	const char *argv[16];
	size_t got = 0;
	int fds[2], argc = 1, status;
	va_list ap;
	ssize_t n;
	pid_t pid;

	assert_non_null(dump);
	argv[0] = dump;
	va_start(ap, out_path);
	while ((argv[argc] = va_arg(ap, const char *)) != NULL)
		assert_true(++argc < 16);
	va_end(ap);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int out = out_path ? open(out_path,
					  O_WRONLY | O_CREAT | O_TRUNC, 0600)
				   : fds[1];

		if (out < 0 || dup2(out, 1) < 0 || dup2(fds[1], 2) < 0)
			_exit(127);
		close(fds[0]);
		execv(dump, (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	while (got + 1 < errlen &&
	       (n = read(fds[0], err + got, errlen - 1 - got)) > 0)
		got += (size_t)n;
	err[got] = 0;
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static char *tmp_path(char *buf, size_t len, const char *name)
{
	const char *t = getenv("TMPDIR");

	snprintf(buf, len, "%s/kvmi-pcapng-%ld-%s", t ? t : "/tmp",
		 (long)getpid(), name);
	return buf;
}

/* the EPBs of the pcapng at @path (framing, SHB and IDB checked) */
static int read_packets(const char *path, uint8_t **file, struct pn_block *b)
{
	char why[128] = "";
	size_t len = 0;
	int n, epbs = 0;

	*file = pn_read_file(path, &len);
	assert_non_null(*file);
	n = pn_blocks(*file, len, b, MAX_BLOCKS, why, sizeof(why));
	if (n < 0)
		fail_msg("%s: %s", path, why);
	assert_true(n >= 2);
	assert_int_equal(b[0].type, PCAPNG_BT_SHB);
	assert_int_equal(b[1].type, PCAPNG_BT_IDB);
	assert_int_equal(pn_u16(b[1].body), 147);
	for (int i = 2; i < n; i++) {
		assert_int_equal(b[i].type, PCAPNG_BT_EPB);
		b[epbs++] = b[i];
	}
	return epbs;
}

/* one golden line against one packet: "@OFF DIR NAME... seq=N ..." */
static void check_packet(const char *line, const struct pn_block *p,
			 const char *where)
{
	uint64_t off;
	unsigned seq;
	char dir[4];
	const char *s = strstr(line, " seq=");
	const uint8_t *pkt = p->body + 20;
	uint32_t caplen = pn_u32(p->body + 12);

	if (sscanf(line, "@%" SCNu64 " %3s", &off, dir) != 2 || !s ||
	    sscanf(s, " seq=%u", &seq) != 1)
		fail_msg("%s: cannot parse golden line '%s'", where, line);
	assert_true(caplen >= 24);
	assert_int_equal(pkt[0], 1);
	assert_int_equal(pkt[1], strcmp(dir, "H>T") ? 1 : 0);
	if (pn_u64le(pkt + 8) != off)
		fail_msg("%s: offset %" PRIu64 " in the packet, %" PRIu64
			 " in '%s'",
			 where, pn_u64le(pkt + 8), off, line);
	assert_int_equal(pn_u32(pkt + 16 + 4), seq);
	/* the header's size accounts for the whole packet */
	assert_int_equal(16 + 8 + pn_u16(pkt + 16 + 2), caplen);
}

/* the packets of @path match the golden .dump of capture @name */
static void check_against_golden(const char *path, const char *name)
{
	const char *dir = getenv("KVMI_TEST_DATA");
	char gpath[4200], line[2048], where[4400];
	static struct pn_block b[MAX_BLOCKS];
	uint64_t last_ts = 0;
	uint8_t *file;
	int n, i = 0;
	FILE *g;

	snprintf(gpath, sizeof(gpath), "%s/%s.dump", dir, name);
	g = fopen(gpath, "r");
	assert_non_null(g);
	n = read_packets(path, &file, b);
	while (fgets(line, sizeof(line), g)) {
		uint64_t ts;

		line[strcspn(line, "\n")] = 0;
		snprintf(where, sizeof(where), "%s packet %d", name, i + 1);
		if (i >= n)
			fail_msg("%s: missing (%d packets)", where, n);
		check_packet(line, &b[i], where);
		ts = (uint64_t)pn_u32(b[i].body + 4) << 32 |
		     pn_u32(b[i].body + 8);
		assert_true(ts >= last_ts);
		last_ts = ts;
		i++;
	}
	fclose(g);
	assert_int_equal(i, n);
	free(file);
}

/* the file at @path holds exactly the @len bytes at @want */
static void assert_file_holds(const char *path, const uint8_t *want, size_t len)
{
	size_t got_len = 0;
	uint8_t *got = pn_read_file(path, &got_len);

	assert_non_null(got);
	assert_int_equal(got_len, len);
	assert_memory_equal(got, want, len);
	free(got);
}

/* the path of capture @name in tests/data */
static const char *capture(char *buf, size_t len, const char *name)
{
	const char *dir = getenv("KVMI_TEST_DATA");

	assert_non_null(dir);
	snprintf(buf, len, "%s/%s", dir, name);
	return buf;
}

static void test_valid_captures_convert(void **state)
{
	char out[4096], cap[4096], name[256], path[4096];

	(void)state;
	tmp_path(path, sizeof(path), "valid.pcapng");
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		snprintf(name, sizeof(name), "%s.kvmicap", valid[i]);
		capture(cap, sizeof(cap), name);
		assert_int_equal(run_dump(out, sizeof(out), NULL, "--pcapng",
					  path, cap, NULL),
				 0);
		/* nothing printed on success */
		assert_string_equal(out, "");
		check_against_golden(path, valid[i]);
		assert_int_equal(unlink(path), 0);
	}
}

/* "-" writes the same file to stdout */
static void test_stdout_same_bytes(void **state)
{
	char a[4096], b[4096], out[4096], cap[4096];
	uint8_t *fa;
	size_t la = 0;

	(void)state;
	tmp_path(a, sizeof(a), "file.pcapng");
	tmp_path(b, sizeof(b), "stdout.pcapng");
	capture(cap, sizeof(cap), "full-session.kvmicap");
	assert_int_equal(run_dump(out, sizeof(out), NULL, "-p", a, cap, NULL),
			 0);
	assert_int_equal(
	    run_dump(out, sizeof(out), b, "--pcapng", "-", cap, NULL), 0);
	assert_string_equal(out, "");
	fa = pn_read_file(a, &la);
	assert_non_null(fa);
	assert_true(la > 1000);
	assert_file_holds(b, fa, la);
	free(fa);
	unlink(a);
	unlink(b);
}

static void test_bad_output(void **state)
{
	char out[4096], cap[4096];

	(void)state;
	capture(cap, sizeof(cap), "full-session.kvmicap");
	assert_int_equal(run_dump(out, sizeof(out), NULL, "--pcapng",
				  "/nonexistent-dir/x.pcapng", cap, NULL),
			 1);
	assert_non_null(strstr(out, "/nonexistent-dir/x.pcapng: cannot create: "
				    "No such file or directory"));
	/* a full disk is reported, not silently truncated */
	assert_int_equal(run_dump(out, sizeof(out), NULL, "--pcapng",
				  "/dev/full", cap, NULL),
			 1);
	assert_non_null(
	    strstr(out, "/dev/full: writing failed: No space left"));
	/* OUT naming the capture itself would destroy it: refused, the
	 * capture intact */
	{
		char copy[4096];
		uint8_t *before;
		size_t lb = 0;
		FILE *f;

		tmp_path(copy, sizeof(copy), "self.kvmicap");
		before = pn_read_file(cap, &lb);
		assert_non_null(before);
		f = fopen(copy, "wb");
		assert_non_null(f);
		assert_int_equal(fwrite(before, 1, lb, f), lb);
		assert_int_equal(fclose(f), 0);
		assert_int_equal(run_dump(out, sizeof(out), NULL, "--pcapng",
					  copy, copy, NULL),
				 1);
		assert_non_null(strstr(out, "is the capture being read"));
		assert_file_holds(copy, before, lb);
		free(before);
		assert_int_equal(unlink(copy), 0);
	}
	/* a missing argument is bad usage */
	assert_int_equal(run_dump(out, sizeof(out), NULL, "--pcapng", NULL), 2);
	assert_non_null(strstr(out, "usage:"));
	/* --help documents the option */
	assert_int_equal(run_dump(out, sizeof(out), NULL, "--help", NULL), 0);
	assert_non_null(strstr(out, "--pcapng OUT"));
	assert_non_null(strstr(out, "kvmi.lua"));
}

/* a file that is no capture: the reader's reason, and no output */
static void test_not_a_capture(void **state)
{
	char out[4096], cap[4096], path[4096];

	(void)state;
	tmp_path(path, sizeof(path), "none.pcapng");
	capture(cap, sizeof(cap), "README");
	assert_int_equal(
	    run_dump(out, sizeof(out), NULL, "--pcapng", path, cap, NULL), 1);
	assert_non_null(strstr(out, "README: "));
	assert_non_null(strstr(out, "magic"));
	assert_int_equal(access(path, F_OK), -1);
}

/* malformed streams: the decoder's error and exit 1; OUT keeps every
 * message before the error, exactly the golden text's lines */
static void test_malformed_stream(void **state)
{
	static const struct {
		const char *name, *err;
	} bad[] = {
	    {"bad-trunc-header", "KVMI_E_TRUNC_HEADER"},
	    {"bad-trunc-body", "KVMI_E_TRUNC_BODY"},
	    {"bad-oversized", "KVMI_E_MSG_TOO_BIG"},
	    {"bad-common-short", "KVMI_E_EVENT_COMMON_SHORT"},
	    {"bad-common-overrun", "KVMI_E_EVENT_COMMON_OVERRUN"},
	    {"bad-unknown-msg", "KVMI_E_UNKNOWN_MSG"},
	    {"bad-unknown-event", "KVMI_E_UNKNOWN_EVENT"},
	    {"bad-payload-short", "KVMI_E_EVENT_PAYLOAD_SHORT"},
	};
	char out[4096], cap[4096], name[256], path[4096];

	(void)state;
	tmp_path(path, sizeof(path), "bad.pcapng");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(name, sizeof(name), "%s.kvmicap", bad[i].name);
		capture(cap, sizeof(cap), name);
		assert_int_equal(run_dump(out, sizeof(out), NULL, "--pcapng",
					  path, cap, NULL),
				 1);
		if (!strstr(out, "host->tool stream: ") ||
		    !strstr(out, bad[i].err))
			fail_msg("%s: got '%s'", bad[i].name, out);
		check_against_golden(path, bad[i].name);
		assert_int_equal(unlink(path), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid_captures_convert),
	    cmocka_unit_test(test_stdout_same_bytes),
	    cmocka_unit_test(test_bad_output),
	    cmocka_unit_test(test_not_a_capture),
	    cmocka_unit_test(test_malformed_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
