// SPDX-License-Identifier: MIT
/*
 * The terminal behind `vintc run`'s stdin (term.h).  The saved settings
 * are restored by term_restore from the normal path, from atexit (any
 * exit() on the way out) and from the handlers of the signals that end
 * the process, which then re-raise the signal with its default action so
 * the exit status says how vintc died.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "term.h"

static struct termios saved;
static volatile sig_atomic_t raw_on;

static const int fatal_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

int term_input_fd(void)
{
	struct stat st;

	if (isatty(STDIN_FILENO))
		return STDIN_FILENO;
	if (!fstat(STDIN_FILENO, &st) && S_ISFIFO(st.st_mode))
		return STDIN_FILENO;
	return -1;
}

void term_restore(void)
{
	if (!raw_on)
		return;
	raw_on = 0;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
}

static void term_signal(int sig)
{
	term_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void term_restore_at_exit(void)
{
	term_restore();
}

void term_raw(void)
{
	static bool hooked;
	struct sigaction sa = { .sa_handler = term_signal };
	struct termios raw;

	if (raw_on || !isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved))
		return;
	if (!hooked) {
		hooked = true;
		atexit(term_restore_at_exit);
		sigemptyset(&sa.sa_mask);
		for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++)
			sigaction(fatal_signals[i], &sa, NULL);
	}
	raw = saved;
	raw.c_iflag &= (tcflag_t)~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
	raw.c_lflag &= (tcflag_t)~(ECHO | ECHONL | ICANON | IEXTEN);
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	/* Set before the change: a signal between the two still restores. */
	raw_on = 1;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw))
		raw_on = 0;
}
