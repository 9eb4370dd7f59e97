/*
 * kvmi-fakehost - options.h: the command line (parsing and --help).
 */
#ifndef FH_OPTIONS_H
#define FH_OPTIONS_H

#include <stdio.h>

#include "host.h"

enum fh_options_result {
	FH_OPTIONS_RUN = 0,   /* cfg is ready */
	FH_OPTIONS_EXIT = 1,  /* --help / --version printed */
	FH_OPTIONS_ERROR = 2, /* errbuf says what was wrong */
};

/* fh_options_parse - fill @cfg from @argv (getopt_long; argv order may
 * change).  Strings in @cfg point into @argv. */
enum fh_options_result fh_options_parse(int argc, char **argv,
					struct fh_host_config *cfg,
					char *errbuf, size_t errlen);

void fh_options_help(FILE *f);

#endif
