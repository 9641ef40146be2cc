// SPDX-License-Identifier: MIT
/*
 * vintc run's console (tools/vintc/term.c): the Ctrl-A escape parser on
 * its own, then vintc run as a program on a pseudo-terminal with the echo
 * guest (guests/echo.c) under both irqchips: keys reach the guest as
 * typed, Ctrl-C as 0x03; the prompt and the echo show before their line
 * ends; Ctrl-A x ends the run with 130 and the terminal as it was.  From
 * a pipe, bytes go through untouched and SIGINT ends vintc.  Guest runs
 * need /dev/kvm (a visible SKIP without one).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli_util.h"
#include "kvm_util.h"
#include "test.h"
#include "tools/vintc/term.h"

#define CON_WAIT_MS	15000

/* ---- the escape parser ---- */

/* Keys in, bytes for the guest out (NUL-terminated), actions as 'q'/'h' in acts. */
static void esc_feed(struct term_esc *e, const char *keys, size_t len, char *out, char *acts)
{
	size_t o = 0, a = 0;

	for (size_t i = 0; i < len; i++) {
		uint8_t b[2] = { 0xee, 0xee };
		unsigned int n = 99;

		switch (term_esc_feed(e, (uint8_t)keys[i], b, &n)) {
		case TERM_ESC_QUIT:
			ASSERT_EQ(n, 0);
			acts[a++] = 'q';
			break;
		case TERM_ESC_HELP:
			ASSERT_EQ(n, 0);
			acts[a++] = 'h';
			break;
		case TERM_ESC_SEND:
			ASSERT(n <= 2);
			for (unsigned int k = 0; k < n; k++)
				out[o++] = (char)b[k];
			break;
		}
	}
	out[o] = '\0';
	acts[a] = '\0';
}

#define ESC_CHECK(keys, want_out, want_acts) do {			\
	struct term_esc e = { 0 };					\
	char out[64], acts[16];						\
									\
	esc_feed(&e, keys, sizeof(keys) - 1, out, acts);		\
	ASSERT(!strcmp(out, want_out));					\
	ASSERT(!strcmp(acts, want_acts));				\
} while (0)

TEST(term_esc_plain_keys_pass)
{
	ESC_CHECK("ls -l\r", "ls -l\r", "");
	/* Ctrl-C, Ctrl-Z, Ctrl-\ and Ctrl-D are bytes like any other. */
	ESC_CHECK("\x03\x1a\x1c\x04", "\x03\x1a\x1c\x04", "");
	ESC_CHECK("x\x7f\xff", "x\x7f\xff", "");
}

TEST(term_esc_ctrl_a_x_quits)
{
	ESC_CHECK("\x01x", "", "q");
	ESC_CHECK("ab\x01x", "ab", "q");
	/* Only right after Ctrl-A. */
	ESC_CHECK("x\x01", "x", "");
}

TEST(term_esc_ctrl_a_ctrl_a_sends_one)
{
	ESC_CHECK("\x01\x01", "\x01", "");
	/* The second Ctrl-A was sent, not armed: x is a plain key. */
	ESC_CHECK("\x01\x01x", "\x01x", "");
	ESC_CHECK("\x01\x01\x01\x01", "\x01\x01", "");
	ESC_CHECK("\x01\x01\x01x", "\x01", "q");
}

TEST(term_esc_ctrl_a_h_helps)
{
	ESC_CHECK("\x01h", "", "h");
	ESC_CHECK("a\x01hb\x01x", "ab", "hq");
	ASSERT(strstr(term_esc_help, "Ctrl-A x"));
	ASSERT_EQ(term_esc_help[strlen(term_esc_help) - 1], '\n');
}

TEST(term_esc_other_keys_send_both)
{
	ESC_CHECK("\x01z", "\x01z", "");
	ESC_CHECK("\x01X", "\x01X", "");
	ESC_CHECK("\x01\x03", "\x01\x03", "");
	/* A lone Ctrl-A waits for its next key. */
	ESC_CHECK("\x01", "", "");
}

TEST(term_esc_state_carries_across_reads)
{
	struct term_esc e = { 0 };
	char out[8], acts[8];

	esc_feed(&e, "a\x01", 2, out, acts);
	ASSERT(!strcmp(out, "a") && !acts[0]);
	ASSERT(e.armed);
	esc_feed(&e, "x", 1, out, acts);
	ASSERT(!out[0] && !strcmp(acts, "q"));
	ASSERT(!e.armed);
}

/* ---- vintc run on a pseudo-terminal ---- */

struct con {
	int master, slave;	/* the test keeps the slave open: the terminal's settings */
	int in;			/* what vintc's stdin is written through */
	pid_t pid;
	FILE *out, *err;	/* vintc's stdout and stderr when not the terminal */
	char buf[8192];		/* the terminal's output so far */
	size_t len;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void con_kill(struct con *c)
{
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
		c->pid = 0;
	}
}

#define CON_FAIL(c, ...) do {						\
	con_kill(c);							\
	test_fail(__FILE__, __LINE__, __VA_ARGS__);			\
} while (0)

static void con_open_pty(struct con *c)
{
	c->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (c->master < 0 || grantpt(c->master) || unlockpt(c->master))
		test_skip("no pseudo-terminal: %s", strerror(errno));
	c->slave = open(ptsname(c->master), O_RDWR | O_NOCTTY | O_CLOEXEC);
	ASSERT(c->slave >= 0);
	c->in = c->master;
}

/* vintc run ARGS... with stdin (and stdout, if out is NULL) on `in_fd`. */
static void con_start(struct con *c, int in_fd, bool tty_out, const char *const *args)
{
	const char *bin = test_vintc_bin();
	const char *argv[16];
	int n = 0;

	ASSERT(bin);
	argv[n++] = bin;
	while (*args)
		argv[n++] = *args++;
	argv[n] = NULL;
	c->err = tmpfile();
	c->out = tty_out ? NULL : tmpfile();
	ASSERT(c->err);
	fflush(NULL);
	c->pid = fork();
	ASSERT(c->pid >= 0);
	if (!c->pid) {
		/* A session of its own, the terminal as its controlling one, as a shell would. */
		setsid();
		if (tty_out) {
			int t = open(ptsname(c->master), O_RDWR);

			if (t < 0)
				_exit(126);
			dup2(t, STDIN_FILENO);
			dup2(t, STDOUT_FILENO);
		} else {
			dup2(in_fd, STDIN_FILENO);
			dup2(fileno(c->out), STDOUT_FILENO);
		}
		dup2(fileno(c->err), STDERR_FILENO);
		execv(bin, (char **)argv);
		_exit(127);
	}
}

/* Read what the terminal shows until it holds `want`. */
static void con_expect(struct con *c, const char *want)
{
	uint64_t end = now_ms() + CON_WAIT_MS;

	for (;;) {
		struct pollfd p = { .fd = c->master, .events = POLLIN };
		uint64_t now;
		ssize_t n;

		c->buf[c->len] = '\0';
		if (strstr(c->buf, want))
			return;
		now = now_ms();
		if (now >= end)
			CON_FAIL(c, "the terminal never showed \"%s\"; it shows \"%s\"", want,
				 c->buf);
		if (poll(&p, 1, (int)(end - now)) <= 0)
			continue;
		n = read(c->master, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
		if (n > 0)
			c->len += (size_t)n;
	}
}

static void con_type(struct con *c, const char *keys)
{
	size_t len = strlen(keys);

	if (write(c->in, keys, len) != (ssize_t)len)
		CON_FAIL(c, "cannot type \"%s\"", keys);
}

/* The wait status of vintc, which must end within CON_WAIT_MS. */
static int con_wait(struct con *c)
{
	uint64_t end = now_ms() + CON_WAIT_MS;
	int status;

	while (waitpid(c->pid, &status, WNOHANG) != c->pid) {
		if (now_ms() >= end)
			CON_FAIL(c, "vintc run did not end");
		usleep(5000);
	}
	c->pid = 0;
	return status;
}

static void same_termios(const struct termios *a, const struct termios *b)
{
	ASSERT_EQ(a->c_iflag, b->c_iflag);
	ASSERT_EQ(a->c_oflag, b->c_oflag);
	ASSERT_EQ(a->c_cflag, b->c_cflag);
	ASSERT_EQ(a->c_lflag, b->c_lflag);
	ASSERT(!memcmp(a->c_cc, b->c_cc, sizeof(a->c_cc)));
}

static void con_close(struct con *c)
{
	if (c->err)
		fclose(c->err);
	if (c->out)
		fclose(c->out);
	close(c->slave);
	close(c->master);
}

static void console_escape(const char *irqchip)
{
	const char *const args[] = { "run", "--timeout", "30", irqchip, guest_path("echo"), NULL };
	struct termios before, during, after;
	struct con c = { 0 };
	char *err;
	int status;

	need_kvm();
	con_open_pty(&c);
	ASSERT_OK(tcgetattr(c.slave, &before));
	con_start(&c, -1, true, args);
	/* The prompt has no newline: it shows because it stays unfinished. */
	con_expect(&c, "echo> ");
	ASSERT_OK(tcgetattr(c.slave, &during));
	ASSERT(!(during.c_lflag & (ICANON | ECHO | ISIG)));
	con_type(&c, "hi");
	con_expect(&c, "echo> hi");
	/* Ctrl-C is a key for the guest: vintc goes on. */
	con_type(&c, "\x03");
	con_expect(&c, "echo> hi^C");
	con_type(&c, "\x01\x01");
	con_expect(&c, "hi^C^A");
	con_type(&c, "\x01hz");
	con_expect(&c, "hi^C^Az");
	con_type(&c, "\r");
	con_expect(&c, "hi^C^Az\r\necho> ");
	con_type(&c, "\x01x");
	status = con_wait(&c);
	ASSERT(WIFEXITED(status));
	ASSERT_EQ(WEXITSTATUS(status), TERM_ESC_STATUS);
	ASSERT_OK(tcgetattr(c.slave, &after));
	same_termios(&before, &after);
	err = cli_slurp(c.err);
	c.err = NULL;
	if (!strstr(err, term_esc_help) || !strstr(err, "vintc: run: ended by Ctrl-A x\n"))
		test_fail(__FILE__, __LINE__, "stderr: %s", err);
	free(err);
	con_close(&c);
}

TEST(kvm_run_console_escape_avic)
{
	console_escape("--irqchip=avic");
}

TEST(kvm_run_console_escape_kernel)
{
	console_escape("--irqchip=kernel");
}

/* The guest's own end (Ctrl-D in the echo guest) restores the terminal too. */
TEST(kvm_run_console_guest_end_restores)
{
	const char *const args[] = { "run", "--timeout", "30", guest_path("echo"), NULL };
	struct termios before, after;
	struct con c = { 0 };
	int status;

	need_kvm();
	con_open_pty(&c);
	ASSERT_OK(tcgetattr(c.slave, &before));
	con_start(&c, -1, true, args);
	con_expect(&c, "echo> ");
	con_type(&c, "ok\x04");
	con_expect(&c, "echo> ok^D\r\nbye\r\n");
	status = con_wait(&c);
	ASSERT(WIFEXITED(status));
	ASSERT_EQ(WEXITSTATUS(status), 1);
	ASSERT_OK(tcgetattr(c.slave, &after));
	same_termios(&before, &after);
	con_close(&c);
}

/* SIGINT from elsewhere still ends vintc, the terminal restored. */
TEST(kvm_run_console_sigint_restores)
{
	const char *const args[] = { "run", "--timeout", "30", guest_path("echo"), NULL };
	struct termios before, after;
	struct con c = { 0 };
	int status;

	need_kvm();
	con_open_pty(&c);
	ASSERT_OK(tcgetattr(c.slave, &before));
	con_start(&c, -1, true, args);
	con_expect(&c, "echo> ");
	kill(c.pid, SIGINT);
	status = con_wait(&c);
	ASSERT(WIFSIGNALED(status));
	ASSERT_EQ(WTERMSIG(status), SIGINT);
	ASSERT_OK(tcgetattr(c.slave, &after));
	same_termios(&before, &after);
	con_close(&c);
}

/* From a pipe nothing is an escape, and SIGINT ends the run as before. */
TEST(kvm_run_console_pipe_untouched)
{
	const char *const args[] = { "run", "--timeout", "30", guest_path("echo"), NULL };
	static const char keys[] = "ab\x03\x01x\x01\x01\r\x04";
	struct con c = { 0 };
	int fds[2], status;
	char *out;

	need_kvm();
	ASSERT_OK(pipe(fds));
	ASSERT_EQ(write(fds[1], keys, sizeof(keys) - 1), sizeof(keys) - 1);
	close(fds[1]);
	c.master = c.slave = -1;
	con_start(&c, fds[0], false, args);
	close(fds[0]);
	status = con_wait(&c);
	ASSERT(WIFEXITED(status));
	ASSERT_EQ(WEXITSTATUS(status), 1);
	out = cli_slurp(c.out);
	c.out = NULL;
	if (strcmp(out, "echo> ab^C^Ax^A^A\necho> ^D\nbye\n"))
		test_fail(__FILE__, __LINE__, "stdout: \"%s\"", out);
	free(out);
	fclose(c.err);
}

TEST(kvm_run_console_pipe_sigint)
{
	const char *const args[] = { "run", "--timeout", "30", guest_path("echo"), NULL };
	struct con c = { 0 };
	uint64_t end;
	int fds[2], status;
	char *out;

	need_kvm();
	ASSERT_OK(pipe(fds));
	con_start(&c, fds[0], false, args);
	close(fds[0]);
	/* The prompt reaches the file once vintc is running the guest. */
	end = now_ms() + CON_WAIT_MS;
	for (;;) {
		char buf[16] = "";

		if (pread(fileno(c.out), buf, sizeof(buf) - 1, 0) > 0 && !strcmp(buf, "echo> "))
			break;
		if (now_ms() >= end)
			CON_FAIL(&c, "no prompt");
		usleep(5000);
	}
	kill(c.pid, SIGINT);
	status = con_wait(&c);
	close(fds[1]);
	ASSERT(WIFSIGNALED(status));
	ASSERT_EQ(WTERMSIG(status), SIGINT);
	out = cli_slurp(c.out);
	free(out);
	fclose(c.err);
}
