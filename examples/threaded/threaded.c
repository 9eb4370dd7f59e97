/*
 * libkvmi - examples/threaded/threaded.c: kvmi-threaded-example, a tool
 * that uses synchronous calls without one guest ever waiting on another:
 * it accepts QEMU's connections itself and gives each guest a thread, a
 * server and a poll loop of its own (include/kvmi/own-loop.h).  In that
 * thread the new_domain callback places breakpoints and enables the
 * UNHOOK event with plain synchronous calls; the library's unhook takes
 * them back when QEMU asks.  A slow or hostile host stalls only its own
 * thread.
 *
 * Usage: kvmi-threaded-example --socket PATH [--bp GPA]... [--guests N]
 * (--help says more).  Exit status: 0 when every guest that connected was
 * unhooked cleanly, 1 otherwise, 2 for bad arguments.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <kvmi/kvmi.h>

#define MAX_BPS 64

static uint64_t bps[MAX_BPS];
static unsigned int n_bps;
static atomic_int failures;
/* SIGINT/SIGTERM writes a byte here and nobody reads it: every thread
 * polling the read end sees it from then on */
static int stop_pipe[2] = {-1, -1};

/* one guest: its thread's state */
struct guest {
	int fd;
	pthread_t thread;
	struct kvmi_server *srv;
	char name[64];
	unsigned long hits;
	int placed;
	int unhooked; /* 1 clean, -1 not */
};

static void on_log(enum kvmi_log_level level, const char *msg,
		   struct kvmi_dom *dom, void *ctx)
{
	(void)dom;
	(void)ctx;
	if (level >= KVMI_LOG_WARNING)
		fprintf(stderr, "libkvmi: %s\n", msg);
}

static int on_bp(struct kvmi_dom *dom, struct kvmi_event_ctx *ev,
		 uint64_t gpa, void *ctx)
{
	struct guest *g = ctx;

	(void)dom;
	(void)ev;
	(void)gpa;
	g->hits++;
	return 0; /* keep it armed; the helper replies */
}

/* synchronous calls: this thread is this guest's alone */
static int on_new_domain(struct kvmi_dom *dom, void *ctx)
{
	struct guest *g = ctx;
	int err = kvmi_dom_control_vm_events(dom, KVMI_EVENT_UNHOOK, 1);

	snprintf(g->name, sizeof(g->name), "%s", kvmi_dom_identity(dom)->name);
	if (err) {
		fprintf(stderr, "%s: cannot enable KVMI_EVENT_UNHOOK: %s\n",
			g->name, kvmi_strerror(err));
		return err; /* refuse the guest: nothing is placed */
	}
	for (unsigned int i = 0; i < n_bps; i++) {
		err = kvmi_bp_set(dom, bps[i], on_bp, g, NULL);
		if (err)
			fprintf(stderr, "%s: breakpoint at 0x%" PRIx64 ": %s\n",
				g->name, bps[i], kvmi_strerror(err));
		else
			g->placed++;
	}
	printf("%s: %d of %u breakpoints placed\n", g->name, g->placed, n_bps);
	fflush(stdout);
	return 0;
}

static void after_unhook(struct kvmi_dom *dom,
			 const struct kvmi_unhook_report *r, void *ctx)
{
	struct guest *g = ctx;

	(void)dom;
	g->unhooked = r->result == 0 ? 1 : -1;
	printf("%s: unhooked (%s): %u of %u breakpoints restored, %lu hits, "
	       "%llu us\n",
	       g->name, r->result ? kvmi_strerror(r->result) : "clean",
	       r->bps_restored, r->bps, g->hits,
	       (unsigned long long)r->elapsed_us);
	fflush(stdout);
}

static void on_disconnect(struct kvmi_dom *dom, int reason, void *ctx)
{
	struct guest *g = ctx;

	(void)dom;
	if (!g->unhooked)
		g->unhooked = reason == 0 && g->placed == 0 ? 1 : -1;
	printf("%s: disconnected (%s)\n", g->name,
	       reason ? kvmi_strerror(reason) : "closed by the tool");
	fflush(stdout);
}

static void *guest_main(void *arg)
{
	struct guest *g = arg;
	struct kvmi_server_config cfg = {
	    .size = sizeof(cfg),
	    .new_domain = on_new_domain,
	    .disconnect = on_disconnect,
	    .log = on_log,
	    .ctx = g,
	};
	struct kvmi_dom *dom;
	bool unhooking = false;
	int err;

	snprintf(g->name, sizeof(g->name), "fd %d", g->fd);
	/* a server of this thread's own, listening nowhere */
	err = kvmi_server_new(NULL, &cfg, &g->srv);
	if (!err)
		err = kvmi_server_unhook_on_event(g->srv, 5000, NULL,
						  after_unhook, g);
	if (!err)
		err = kvmi_server_adopt(g->srv, g->fd, &dom);
	if (err) {
		fprintf(stderr, "%s: %s\n", g->name, kvmi_strerror(err));
		close(g->fd);
		g->unhooked = -1;
	} else {
		/* kvmi_dom_run(dom) would do, but for the stop request: the
		 * loop is this guest's own, so it watches the stop pipe too */
		for (;;) {
			struct pollfd p[2] = {
			    {.fd = kvmi_dom_fd(dom),
			     .events = (short)kvmi_dom_poll_events(dom)},
			    {.fd = unhooking ? -1 : stop_pipe[0],
			     .events = POLLIN},
			};
			int n = poll(p, 2, kvmi_dom_timeout(dom));

			if (n > 0 && (p[1].revents & POLLIN)) {
				/* stopping: take the hooks back first */
				unhooking = true;
				if (kvmi_dom_unhook_async(dom, 5000, after_unhook,
							  g) < 0)
					kvmi_dom_close(dom);
			}
			if (kvmi_dom_process(dom, n > 0 ? p[0].revents : 0))
				break; /* closed: the disconnect callback ran */
		}
	}
	kvmi_server_free(g->srv);
	if (g->unhooked != 1)
		atomic_fetch_add(&failures, 1);
	return NULL;
}

static int listen_at(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(a.sun_path)) {
		fprintf(stderr, "--socket: path too long (at most %zu bytes)\n",
			sizeof(a.sun_path) - 1);
		return -1;
	}
	memcpy(a.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    chmod(path, 0600) < 0 || listen(fd, 16) < 0) {
		fprintf(stderr, "cannot listen on %s: %s\n", path,
			strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void on_signal(int sig)
{
	int saved = errno;

	(void)sig;
	if (write(stop_pipe[1], "s", 1) < 0) {
		/* the pipe is full of earlier requests: nothing to add */
	}
	errno = saved;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: kvmi-threaded-example --socket PATH [--bp GPA]... "
		"[--guests N]\n"
		"An introspection tool with a thread per guest: each guest's "
		"breakpoints\n"
		"are placed with synchronous calls in its own thread, so a "
		"slow host\n"
		"stalls only its own guest; KVMI_EVENT_UNHOOK takes them "
		"back.\n\n"
		"  --socket PATH  the unix socket QEMU connects to "
		"(created 0600)\n"
		"  --bp GPA       a breakpoint at guest-physical GPA (hex "
		"0x.. or decimal);\n"
		"                 repeatable, at most %d\n"
		"  --guests N     exit once N guests have come and gone "
		"(default: until\n"
		"                 SIGINT/SIGTERM, which unhooks every guest "
		"connected)\n"
		"  -h, --help     this text\n\n"
		"Exit status: 0 every guest unhooked cleanly, 1 otherwise, "
		"2 bad arguments.\n",
		MAX_BPS);
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno || !*s || *end || *s == '-' ? -1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"bp", required_argument, NULL, 'b'},
	    {"guests", required_argument, NULL, 'g'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct sigaction sa = {.sa_handler = on_signal};
	const char *path = NULL;
	uint64_t guests = 0, v;
	struct guest **gs = NULL;
	size_t n = 0;
	int c, lfd;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			path = optarg;
			break;
		case 'b':
			if (parse_u64(optarg, &v) || n_bps == MAX_BPS) {
				fprintf(stderr, "--bp: '%s' is not an address "
						"(or more than %d)\n",
					optarg, MAX_BPS);
				return 2;
			}
			bps[n_bps++] = v;
			break;
		case 'g':
			if (parse_u64(optarg, &guests) || !guests ||
			    guests > 100000) {
				fprintf(stderr,
					"--guests: '%s' is not 1..100000\n",
					optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!path || optind < argc) {
		fprintf(stderr, !path ? "--socket is required\n"
				      : "unexpected argument '%s'\n",
			argv[optind]);
		usage(stderr);
		return 2;
	}
	if (pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		perror("pipe2");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	lfd = listen_at(path);
	if (lfd < 0)
		return 1;
	printf("listening on %s\n", path);
	fflush(stdout);
	while (!guests || n < guests) {
		struct pollfd p[2] = {{.fd = lfd, .events = POLLIN},
				      {.fd = stop_pipe[0], .events = POLLIN}};
		struct guest *g, **more;
		int fd;

		if (poll(p, 2, -1) < 0)
			continue; /* EINTR */
		if (p[1].revents & POLLIN)
			break; /* SIGINT/SIGTERM: the guest threads unhook */
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		g = calloc(1, sizeof(*g));
		more = realloc(gs, (n + 1) * sizeof(*gs));
		if (!g || !more) {
			fprintf(stderr, "out of memory: guest refused\n");
			free(g);
			if (more)
				gs = more;
			close(fd);
			continue;
		}
		gs = more;
		g->fd = fd;
		if (pthread_create(&g->thread, NULL, guest_main, g)) {
			fprintf(stderr, "cannot start a thread: guest refused\n");
			close(fd);
			free(g);
			continue;
		}
		gs[n++] = g;
	}
	close(lfd);
	unlink(path);
	for (size_t i = 0; i < n; i++) {
		pthread_join(gs[i]->thread, NULL);
		free(gs[i]);
	}
	free(gs);
	return atomic_load(&failures) ? 1 : 0;
}
