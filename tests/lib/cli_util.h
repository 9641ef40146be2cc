/* SPDX-License-Identifier: MIT */
/*
 * Running the vintc CLI (VINTC_BIN) as a program: exit status, stdout and
 * stderr captured apart, stdin from /dev/null.
 */
#ifndef VINTC_TEST_CLI_UTIL_H
#define VINTC_TEST_CLI_UTIL_H

#include <stdio.h>

#include "test.h"

struct cli_run {
	int status;		/* exit status; 128 + signal if killed */
	char *out, *err;	/* NUL-terminated, never NULL */
};

/* All of f from its start, NUL-terminated; closes f. */
char *cli_slurp(FILE *f);

/* Run VINTC_BIN with args (NULL-terminated); stdout to stdout_path if set. */
void cli_run_to(struct cli_run *r, const char *stdout_path, const char *const *args);

#define RUN(r, ...) cli_run_to((r), NULL, (const char *const[]){ __VA_ARGS__, NULL })

/* The same for another program, bin (NULL fails the test). */
void cli_run_prog(struct cli_run *r, const char *bin, const char *stdout_path,
		  const char *const *args);

void cli_free(struct cli_run *r);

/* Exit 0 with nothing on stderr: the command worked. */
#define ASSERT_RAN_OK(r) do {						\
	if ((r)->status != 0 || (r)->err[0])				\
		test_fail(__FILE__, __LINE__, "exit %d, stderr: %s",	\
			  (r)->status, (r)->err);			\
} while (0)

/*
 * A usage error: exit 2, nothing on stdout, one "vintc: ..." line on
 * stderr.  The line is want exactly (USAGE_ERROR, any line if want is
 * NULL) or holds want (USAGE_ERROR_HAS, ASSERT_USAGE on a finished run).
 */
void cli_assert_usage_error(const char *const *args, const char *want, const char *file,
			    int line);
void cli_assert_usage_error_has(const char *const *args, const char *want, const char *file,
				int line);
void cli_assert_usage(const struct cli_run *r, const char *want, const char *file, int line);

#define USAGE_ERROR(want, ...)						\
	cli_assert_usage_error((const char *const[]){ __VA_ARGS__, NULL }, (want),	\
			       __FILE__, __LINE__)
#define USAGE_ERROR_HAS(want, ...)					\
	cli_assert_usage_error_has((const char *const[]){ __VA_ARGS__, NULL }, (want),	\
				   __FILE__, __LINE__)
#define ASSERT_USAGE(r, want) cli_assert_usage((r), (want), __FILE__, __LINE__)

#endif
