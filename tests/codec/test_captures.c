/*
 * libkvmi - tests/codec/test_captures.c: every recorded stream of
 * tests/data/ decoded whole must print exactly its golden .dump text (and
 * kvmi-dump must print the same), fail with its own error when malformed,
 * and give the same messages and error when each direction is fed split at
 * every byte offset and one byte at a time; kvmi-dump's usage and exit
 * statuses, each malformed capture named with its error and offset; the
 * generator reproduces every capture byte for byte.  Captures of other
 * dialects are decoded as kvmi-dump does (v6 until the GET_VERSION reply
 * tells otherwise, with a "# dialect" line in the golden text) and, per
 * direction, in their dialect from the start.
 *
 * Environment: KVMI_TEST_DATA (tests/data), KVMI_DUMP (kvmi-dump binary),
 * KVMI_GEN_CAPTURES (gen-captures binary).
 */
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

#include <kvmi/capture.h>

#include "dump_format.h"

struct expect {
	const char *name;
	int err;      /* final error of the host->tool stream */
	uint64_t off; /* and the stream offset it names */
	enum kvmi_dialect dialect; /* the capture's (v6 = 0) */
};

static const struct expect captures[] = {
	{"full-session", 0, 0, KVMI_DIALECT_V6},
	{"events-during-command", 0, 0, KVMI_DIALECT_V6},
	{"host-larger-common", 0, 0, KVMI_DIALECT_V6},
	{"host-smaller-common", 0, 0, KVMI_DIALECT_V6},
	{"bad-trunc-header", KVMI_E_TRUNC_HEADER, 552, KVMI_DIALECT_V6},
	{"bad-trunc-body", KVMI_E_TRUNC_BODY, 552, KVMI_DIALECT_V6},
	{"bad-oversized", KVMI_E_MSG_TOO_BIG, 552, KVMI_DIALECT_V6},
	{"bad-common-short", KVMI_E_EVENT_COMMON_SHORT, 560, KVMI_DIALECT_V6},
	{"bad-common-overrun", KVMI_E_EVENT_COMMON_OVERRUN, 560, KVMI_DIALECT_V6},
	{"bad-unknown-msg", KVMI_E_UNKNOWN_MSG, 552, KVMI_DIALECT_V6},
	{"bad-unknown-event", KVMI_E_UNKNOWN_EVENT, 564, KVMI_DIALECT_V6},
	{"bad-payload-short", KVMI_E_EVENT_PAYLOAD_SHORT, 1104, KVMI_DIALECT_V6},
	{"v7-session", 0, 0, KVMI_DIALECT_V7},
	{"v7-2023-session", 0, 0, KVMI_DIALECT_V7_2023},
	{"v12-session", 0, 0, KVMI_DIALECT_V12},
};

struct text {
	char *p;
	size_t len, cap;
};

static void text_add(struct text *t, const char *s)
{
	size_t n = strlen(s);

	if (t->len + n + 2 > t->cap) {
		t->cap = (t->len + n + 2) * 2;
		t->p = realloc(t->p, t->cap);
		assert_non_null(t->p);
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len++] = '\n';
	t->p[t->len] = 0;
}

struct stream {
	uint8_t *p;
	size_t len;
};

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = 0;
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* decode one direction's stream, fed as [0,split) [split,n) or in
 * chunks of `chunk`; lines appended to t; returns the final error */
static int decode_stream(enum kvmi_dialect dl, enum kvmi_direction dir,
			 const struct stream *s, size_t split, size_t chunk,
			 struct text *t)
{
	struct kvmi_decoder *d = kvmi_decoder_new(dir);
	char line[1024];
	size_t pos = 0;
	int err = 0;

	assert_non_null(d);
	assert_int_equal(kvmi_decoder_set_dialect(d, dl), 0);
	while (pos < s->len && !err) {
		size_t end;

		if (chunk)
			end = pos + chunk;
		else
			end = pos < split ? split : s->len;
		if (end > s->len)
			end = s->len;
		while (pos < end) {
			const struct kvmi_msg *m;
			ssize_t r = kvmi_decoder_feed(d, s->p + pos, end - pos,
						      &m);

			if (r < 0) {
				err = (int)r;
				break;
			}
			pos += (size_t)r;
			if (m) {
				kvmi_dump_format_d(line, sizeof(line), dl, dir,
						   m);
				text_add(t, line);
			}
		}
	}
	if (!err)
		err = kvmi_decoder_finish(d);
	kvmi_decoder_free(d);
	return err;
}

static void check_capture(const struct expect *e)
{
	const char *dir = getenv("KVMI_TEST_DATA");
	const char *dump = getenv("KVMI_DUMP");
	char path[4096], cmd[8192], line[1024], errbuf[256];
	struct kvmi_capture_reader *r;
	struct kvmi_capture_record rec;
	struct kvmi_decoder *dec[2];
	struct stream st[2] = {{0}, {0}};
	struct text whole = {0}, per[2] = {{0}, {0}};
	struct kvmi_dump_detect det;
	char note[256];
	int err[2] = {0, 0}, rc, pending[2] = {0, 0};
	size_t glen;
	char *golden;
	FILE *p;

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/%s.kvmicap", dir, e->name);
	assert_int_equal(kvmi_capture_reader_open(path, &r, errbuf,
						  sizeof(errbuf)),
			 0);
	dec[0] = kvmi_decoder_new(KVMI_DIR_HOST_TO_TOOL);
	dec[1] = kvmi_decoder_new(KVMI_DIR_TOOL_TO_HOST);
	kvmi_dump_detect_init(&det);
	while ((rc = kvmi_capture_reader_next(r, &rec)) == 1) {
		const uint8_t *q = rec.data;
		size_t left = rec.len;
		int d = rec.dir;

		if (rec.type == KVMI_CAPTURE_EOF)
			continue;
		st[d].p = realloc(st[d].p, st[d].len + rec.len);
		assert_non_null(st[d].p);
		memcpy(st[d].p + st[d].len, rec.data, rec.len);
		st[d].len += rec.len;
		while (left && !err[d]) {
			const struct kvmi_msg *m;
			ssize_t n;

			/* as kvmi-dump: switch once between messages */
			if (pending[d] &&
			    kvmi_decoder_set_dialect(dec[d], det.dialect) == 0)
				pending[d] = 0;
			n = kvmi_decoder_feed(dec[d], q, left, &m);
			if (n < 0) {
				err[d] = (int)n;
				break;
			}
			q += n;
			left -= (size_t)n;
			if (m) {
				kvmi_dump_format_d(line, sizeof(line),
						   kvmi_decoder_dialect(dec[d]),
						   rec.dir, m);
				text_add(&whole, line);
				text_add(&per[d], line);
				if (kvmi_dump_detect(&det, rec.dir, m, note,
						     sizeof(note))) {
					text_add(&whole, note);
					pending[0] = pending[1] = 1;
				}
			}
		}
	}
	assert_int_equal(rc, 0);
	for (int d = 0; d < 2; d++)
		if (!err[d])
			err[d] = kvmi_decoder_finish(dec[d]);
	assert_int_equal(det.dialect, e->dialect);
	assert_int_equal(err[0], e->err);
	assert_int_equal(err[1], 0);
	if (e->err) {
		uint64_t off = 0;

		assert_non_null(kvmi_decoder_error(dec[0], &off));
		assert_int_equal(off, e->off);
	}

	/* golden text */
	snprintf(path, sizeof(path), "%s/%s.dump", dir, e->name);
	golden = read_all(path, &glen);
	assert_non_null(golden);
	assert_string_equal(whole.p ? whole.p : "", golden);

	/* kvmi-dump prints the same and exits 0, or 1 when malformed */
	if (dump) {
		struct text out = {0};
		int status;

		snprintf(cmd, sizeof(cmd), "'%s' '%s/%s.kvmicap' 2>/dev/null",
			 dump, dir, e->name);
		p = popen(cmd, "r");
		assert_non_null(p);
		while (fgets(line, sizeof(line), p)) {
			line[strcspn(line, "\n")] = 0;
			text_add(&out, line);
		}
		status = pclose(p);
		assert_string_equal(out.p ? out.p : "", golden);
		assert_int_equal(WEXITSTATUS(status), e->err ? 1 : 0);
		free(out.p);
	}

	/* every split point and one byte at a time, per direction */
	for (int d = 0; d < 2; d++) {
		for (size_t split = 0; split <= st[d].len; split++) {
			struct text t = {0};
			int e2 = decode_stream(e->dialect, d, &st[d], split, 0,
					       &t);

			assert_int_equal(e2, err[d]);
			assert_string_equal(t.p ? t.p : "",
					    per[d].p ? per[d].p : "");
			free(t.p);
		}
		{
			struct text t = {0};
			int e2 = decode_stream(e->dialect, d, &st[d], 0, 1, &t);

			assert_int_equal(e2, err[d]);
			assert_string_equal(t.p ? t.p : "",
					    per[d].p ? per[d].p : "");
			free(t.p);
		}
	}

	free(golden);
	free(whole.p);
	for (int d = 0; d < 2; d++) {
		free(per[d].p);
		free(st[d].p);
		kvmi_decoder_free(dec[d]);
	}
	kvmi_capture_reader_free(r);
}

static void test_capture(void **state)
{
	check_capture(*state);
}

/* run kvmi-dump with @args; its exit status, stdout+stderr in @out */
static int run_dump(const char *args, char *out, size_t outlen)
{
	const char *dump = getenv("KVMI_DUMP");
	char cmd[8192];
	size_t got = 0, n;
	FILE *p;
	int status;

	assert_non_null(dump);
	snprintf(cmd, sizeof(cmd), "'%s' %s 2>&1", dump, args);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (got + 1 < outlen &&
	       (n = fread(out + got, 1, outlen - 1 - got, p)) > 0)
		got += n;
	out[got] = 0;
	status = pclose(p);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* the generator run again writes every capture byte for byte as
 * committed (tests/data/README's regeneration recipe holds) */
static void test_regenerate(void **state)
{
	const char *dir = getenv("KVMI_TEST_DATA");
	const char *gen = getenv("KVMI_GEN_CAPTURES");
	char tmp[] = "/tmp/kvmi-gen-XXXXXX", cmd[8192], path[4400];

	(void)state;
	assert_non_null(dir);
	assert_non_null(gen);
	assert_non_null(mkdtemp(tmp));
	snprintf(cmd, sizeof(cmd), "'%s' '%s'", gen, tmp);
	assert_int_equal(system(cmd), 0);
	for (size_t i = 0; i < sizeof(captures) / sizeof(captures[0]); i++) {
		size_t a_len, b_len;
		char *a, *b;

		snprintf(path, sizeof(path), "%s/%s.kvmicap", dir,
			 captures[i].name);
		a = read_all(path, &a_len);
		snprintf(path, sizeof(path), "%s/%s.kvmicap", tmp,
			 captures[i].name);
		b = read_all(path, &b_len);
		assert_non_null(a);
		assert_non_null(b);
		assert_int_equal(a_len, b_len);
		assert_memory_equal(a, b, a_len);
		free(a);
		free(b);
		assert_int_equal(unlink(path), 0);
	}
	/* nothing else was generated */
	assert_int_equal(rmdir(tmp), 0);
}

/* --help: usage on stdout, 0; bad usage: usage, 2; unreadable or
 * non-capture file: the reason, 1 */
static void test_dump_usage(void **state)
{
	const char *dir = getenv("KVMI_TEST_DATA");
	char out[4096], args[4200];

	(void)state;
	assert_non_null(dir);
	assert_int_equal(run_dump("--help", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "usage:"));
	assert_int_equal(run_dump("", out, sizeof(out)), 2);
	assert_non_null(strstr(out, "usage:"));
	assert_int_equal(run_dump("a b", out, sizeof(out)), 2);
	assert_int_equal(run_dump("-x f", out, sizeof(out)), 2);
	assert_non_null(strstr(out, "usage:"));
	assert_int_equal(run_dump("/nonexistent.kvmicap", out, sizeof(out)),
			 1);
	assert_non_null(strstr(out, "No such file"));
	snprintf(args, sizeof(args), "'%s/README'", dir);
	assert_int_equal(run_dump(args, out, sizeof(out)), 1);
	assert_non_null(strstr(out, "bad magic at offset 0"));
	snprintf(args, sizeof(args), "'%s/bad-oversized.kvmicap'", dir);
	assert_int_equal(run_dump(args, out, sizeof(out)), 1);
	assert_non_null(strstr(out, "message size 9000 exceeds the maximum "
				    "8192 (at byte offset 552)"));

	/* --dialect: decoded so from the start, no "# dialect" line; the
	 * same messages as detected */
	assert_int_equal(run_dump("--dialect v9 x", out, sizeof(out)), 2);
	assert_non_null(strstr(out, "'v9' is not"));
	for (size_t i = 0; i < sizeof(captures) / sizeof(captures[0]); i++) {
		static char golden_out[65536];
		size_t glen;
		char *golden, *g, *o;

		if (captures[i].dialect == KVMI_DIALECT_V6)
			continue;
		snprintf(args, sizeof(args), "--dialect %s '%s/%s.kvmicap'",
			 kvmi_dialect_name(captures[i].dialect), dir,
			 captures[i].name);
		assert_int_equal(run_dump(args, golden_out, sizeof(golden_out)),
				 0);
		assert_null(strstr(golden_out, "# dialect"));
		snprintf(args, sizeof(args), "%s/%s.dump", dir,
			 captures[i].name);
		golden = read_all(args, &glen);
		assert_non_null(golden);
		/* the golden text without its "# dialect" lines */
		for (g = o = golden; *g;) {
			char *nl = strchr(g, '\n');
			size_t len = nl ? (size_t)(nl - g) + 1 : strlen(g);

			if (strncmp(g, "# dialect", 9)) {
				memmove(o, g, len);
				o += len;
			}
			g += len;
		}
		*o = 0;
		assert_string_equal(golden_out, golden);
		free(golden);
	}

	/* every malformed capture: its own error name and the offset */
	for (size_t i = 0; i < sizeof(captures) / sizeof(captures[0]); i++) {
		char want[128];

		if (!captures[i].err)
			continue;
		snprintf(args, sizeof(args), "'%s/%s.kvmicap'", dir,
			 captures[i].name);
		assert_int_equal(run_dump(args, out, sizeof(out)), 1);
		snprintf(want, sizeof(want), "host->tool stream: %s: ",
			 kvmi_err_name(captures[i].err));
		assert_non_null(strstr(out, want));
		snprintf(want, sizeof(want), "(at byte offset %llu)\n",
			 (unsigned long long)captures[i].off);
		assert_non_null(strstr(out, want));
	}
}

int main(void)
{
	struct CMUnitTest tests[sizeof(captures) / sizeof(captures[0]) + 2];
	const size_t n = sizeof(captures) / sizeof(captures[0]);

	for (size_t i = 0; i < n; i++) {
		tests[i] = (struct CMUnitTest)cmocka_unit_test(test_capture);
		tests[i].name = captures[i].name;
		tests[i].initial_state = (void *)&captures[i];
	}
	tests[n] = (struct CMUnitTest)cmocka_unit_test(test_dump_usage);
	tests[n + 1] = (struct CMUnitTest)cmocka_unit_test(test_regenerate);
	return _cmocka_run_group_tests("captures", tests,
				       sizeof(tests) / sizeof(tests[0]), NULL,
				       NULL);
}
