/* SPDX-License-Identifier: MIT */
/*
 * `vintc run`'s console: what feeds the guest's COM1, and the terminal in
 * raw mode while a guest runs from one, restored on every way out
 * (return, exit, the Ctrl-A x escape, SIGINT, SIGTERM, SIGHUP, SIGQUIT).
 *
 * From a terminal every key goes to the guest, Ctrl-C (0x03), Ctrl-Z and
 * Ctrl-\ included, except the escapes, as QEMU's -nographic has them:
 * Ctrl-A x ends vintc (TERM_ESC_STATUS), Ctrl-A Ctrl-A sends one Ctrl-A,
 * Ctrl-A h prints the keys on stderr; Ctrl-A and any other key send both.
 */
#ifndef VINTC_TOOLS_TERM_H
#define VINTC_TOOLS_TERM_H

#include <stdbool.h>
#include <stdint.h>

#define TERM_ESC_KEY	0x01	/* Ctrl-A */
#define TERM_ESC_STATUS	130	/* Ctrl-A x: as a shell reports SIGINT */

/* The escape parser: one per terminal, zeroed to start. */
struct term_esc {
	bool armed;		/* the last key was a lone Ctrl-A */
};

enum term_esc_act {
	TERM_ESC_SEND,		/* out[0..*n) to the guest, 0..2 bytes */
	TERM_ESC_QUIT,		/* Ctrl-A x */
	TERM_ESC_HELP,		/* Ctrl-A h */
};

/* One key typed: what it does, and the bytes it sends the guest. */
enum term_esc_act term_esc_feed(struct term_esc *e, uint8_t key, uint8_t out[2],
				unsigned int *n);

/* The keys, one line ending in '\n'. */
extern const char term_esc_help[];

/*
 * The guest's input for the run, in *fd: -1 when stdin is neither a
 * terminal nor a pipe (e.g. /dev/null, a file); stdin itself when it is a
 * pipe; from a terminal, raw mode and the read end of a pipe that a thread
 * fills with the keys typed, less the escapes.  0 or -errno (nothing
 * changed then).  Until term_console_close().
 */
int term_console_open(int *fd);
/* The thread stopped, the terminal as it was; idempotent. */
void term_console_close(void);
/* The terminal as it was; idempotent, async-signal-safe. */
void term_restore(void);

#endif
