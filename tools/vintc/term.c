// SPDX-License-Identifier: MIT
/*
 * The terminal behind `vintc run`'s stdin (term.h).  The saved settings
 * are restored by term_restore from the normal path, from atexit (any
 * exit() on the way out), from the Ctrl-A x escape and from the handlers
 * of the signals that end the process, which then re-raise the signal
 * with its default action so the exit status says how vintc died.
 *
 * Raw mode clears ISIG: Ctrl-C is a byte for the guest (a shell there
 * interrupts its own command), and the way out is Ctrl-A x.  A thread
 * reads the terminal and passes the keys on through a pipe, escapes
 * parsed out, so COM1 reads a pipe whatever stdin is.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "term.h"

static struct termios saved;
static volatile sig_atomic_t raw_on;

static const int fatal_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

const char term_esc_help[] =
	"vintc: keys: Ctrl-A x ends the run (exit status 130), "
	"Ctrl-A Ctrl-A sends Ctrl-A, Ctrl-A h this help\n";

enum term_esc_act term_esc_feed(struct term_esc *e, uint8_t key, uint8_t out[2],
				unsigned int *n)
{
	*n = 0;
	if (!e->armed) {
		if (key == TERM_ESC_KEY)
			e->armed = true;
		else
			out[(*n)++] = key;
		return TERM_ESC_SEND;
	}
	e->armed = false;
	switch (key) {
	case 'x':
		return TERM_ESC_QUIT;
	case 'h':
		return TERM_ESC_HELP;
	case TERM_ESC_KEY:
		out[(*n)++] = key;
		return TERM_ESC_SEND;
	default:
		/* Not an escape after all: nothing typed is lost. */
		out[(*n)++] = TERM_ESC_KEY;
		out[(*n)++] = key;
		return TERM_ESC_SEND;
	}
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

/* Keys reach us as typed: no line editing, no echo, no signals, CR stays CR. */
static void term_raw(void)
{
	static bool hooked;
	struct sigaction sa = { .sa_handler = term_signal };
	struct termios raw;

	if (raw_on || tcgetattr(STDIN_FILENO, &saved))
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
	/* Output processing stays on: the guest's "\n" still starts a line. */
	raw.c_lflag &= (tcflag_t)~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	/* Set before the change: a signal between the two still restores. */
	raw_on = 1;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw))
		raw_on = 0;
}

static struct {
	bool on;
	int guest[2];	/* [0] COM1's input, [1] the thread's */
	int wake[2];	/* [1] written once to stop the thread */
	pthread_t thread;
} con;

/* A line on stderr, on a line of its own on a terminal. */
static void term_say(const char *msg)
{
	ssize_t n;

	if (isatty(STDERR_FILENO))
		n = write(STDERR_FILENO, "\n", 1);
	n = write(STDERR_FILENO, msg, strlen(msg));
	(void)n;
}

/*
 * Ctrl-A x: out at once, from this thread, as SIGINT used to end vintc
 * (no summary, no trace); _exit, not exit: the vCPU threads still run.
 */
static void term_quit(void)
{
	term_restore();
	term_say("vintc: run: ended by Ctrl-A x\n");
	_exit(TERM_ESC_STATUS);
}

static void *term_console_run(void *arg)
{
	struct term_esc esc = { 0 };
	uint8_t in[256], out[2 * sizeof(in)];
	sigset_t all;

	(void)arg;
	/* Signals are for the vCPU threads and the main one. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = con.wake[0], .events = POLLIN },
			{ .fd = STDIN_FILENO, .events = POLLIN },
		};
		size_t len = 0;
		ssize_t n;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break;
		if (!p[1].revents)
			continue;
		n = read(STDIN_FILENO, in, sizeof(in));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;	/* hung up: the guest's input stays open and quiet */
		for (ssize_t i = 0; i < n; i++) {
			unsigned int k;

			switch (term_esc_feed(&esc, in[i], out + len, &k)) {
			case TERM_ESC_QUIT:
				term_quit();
				break;
			case TERM_ESC_HELP:
				term_say(term_esc_help);
				break;
			case TERM_ESC_SEND:
				len += k;
				break;
			}
		}
		/*
		 * The write end does not block: a guest that stopped reading
		 * with 64 KiB queued loses keys (a UART would overrun much
		 * sooner), and Ctrl-A x still works.
		 */
		if (len && write(con.guest[1], out, len) < 0 && errno != EAGAIN)
			break;
	}
	return NULL;
}

static void term_close_pair(int fds[2])
{
	close(fds[0]);
	close(fds[1]);
}

int term_console_open(int *fd)
{
	struct stat st;
	int ret;

	*fd = -1;
	if (!isatty(STDIN_FILENO)) {
		if (!fstat(STDIN_FILENO, &st) && S_ISFIFO(st.st_mode))
			*fd = STDIN_FILENO;
		return 0;
	}
	if (con.on)
		return -EBUSY;
	if (pipe2(con.guest, O_CLOEXEC))
		return -errno;
	if (pipe2(con.wake, O_CLOEXEC)) {
		ret = -errno;
		term_close_pair(con.guest);
		return ret;
	}
	if (fcntl(con.guest[1], F_SETFL, O_NONBLOCK)) {
		ret = -errno;
		goto fail;
	}
	term_raw();
	ret = -pthread_create(&con.thread, NULL, term_console_run, NULL);
	if (ret) {
		term_restore();
		goto fail;
	}
	con.on = true;
	*fd = con.guest[0];
	return 0;
fail:
	term_close_pair(con.wake);
	term_close_pair(con.guest);
	return ret;
}

void term_console_close(void)
{
	ssize_t n;

	if (con.on) {
		do
			n = write(con.wake[1], "", 1);
		while (n < 0 && errno == EINTR);
		pthread_join(con.thread, NULL);
		term_close_pair(con.wake);
		term_close_pair(con.guest);
		con.on = false;
	}
	term_restore();
}
