/*
 * kvmi-fakehost - main.c: the program (see --help, options.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "options.h"

/* one fd per guest: allow as many as the hard limit permits */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	static struct fh_host_config cfg;
	char err[256];
	int r;

	switch (fh_options_parse(argc, argv, &cfg, err, sizeof(err))) {
	case FH_OPTIONS_EXIT:
		return 0;
	case FH_OPTIONS_ERROR:
		fprintf(stderr, "kvmi-fakehost: %s\nTry 'kvmi-fakehost --help'.\n",
			err);
		return 2;
	case FH_OPTIONS_RUN:
		break;
	}
	raise_fd_limit();
	r = fh_host_run(&cfg);
	if (r < 0) {
		fprintf(stderr, "kvmi-fakehost: %s\n", "could not start");
		return 2;
	}
	return r;
}
