/* SPDX-License-Identifier: MIT */
/*
 * One progress line on stderr for long runs (faults, sim), only when
 * stderr is a terminal: rewritten in place with '\r' at most
 * PROGRESS_INTERVAL_NS apart, and wiped before the results are printed.
 * When stderr is not a terminal (a pipe, a file, the tests, CI) nothing is
 * ever written.
 */
#ifndef VINTC_TOOLS_PROGRESS_H
#define VINTC_TOOLS_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROGRESS_INTERVAL_NS	200000000ULL	/* 5 updates a second */

struct progress {
	bool on;		/* stderr is a terminal */
	uint64_t t0_ns;		/* progress_init() */
	uint64_t next_ns;	/* no update before this */
	size_t shown;		/* columns of the line on screen, 0: none */
	size_t columns;		/* the terminal's width */
};

/* on = isatty(STDERR_FILENO); the first update may come at once. */
void progress_init(struct progress *p);
/* True if a line is due now (on, and the interval has passed). */
bool progress_due(struct progress *p);
/* Show the line (cut to the terminal's width), replacing the last one. */
__attribute__((format(printf, 2, 3)))
void progress_show(struct progress *p, const char *fmt, ...);
/* Wipe the line, if one is shown.  Idempotent. */
void progress_clear(struct progress *p);
/* Seconds since progress_init(). */
double progress_elapsed(const struct progress *p);

#endif
