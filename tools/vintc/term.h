/* SPDX-License-Identifier: MIT */
/*
 * `vintc run`'s standard input: which fd feeds the guest's COM1, and the
 * terminal in raw mode while a guest runs from one, restored on every way
 * out (return, exit, SIGINT, SIGTERM, SIGHUP, SIGQUIT).
 */
#ifndef VINTC_TOOLS_TERM_H
#define VINTC_TOOLS_TERM_H

/* STDIN_FILENO if stdin is a terminal or a pipe, else -1 (e.g. /dev/null, a file). */
int term_input_fd(void);
/*
 * If stdin is a terminal: keystrokes go to the guest as typed (no line
 * editing, no echo, CR stays CR); signals keys (Ctrl-C) still reach vintc
 * and output processing stays on.  Until term_restore().
 */
void term_raw(void);
/* The terminal as it was; idempotent, async-signal-safe. */
void term_restore(void);

#endif
