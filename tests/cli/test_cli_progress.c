// SPDX-License-Identifier: MIT
/*
 * Progress of long runs: the campaigns report every case to
 * campaign_opts.progress, and the CLI shows one line on stderr, rewritten
 * in place and wiped at the end, only when stderr is a terminal (here a
 * pseudo-terminal); on a pipe or a file nothing, and stdout is the same
 * either way.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vintc/host.h>

#include "campaign_util.h"
#include "cli_util.h"
#include "test.h"
#include "tools/vintc/progress.h"

/* ---- the campaigns' callback ---------------------------------------------- */

struct case_log {
	uint64_t calls, last_done, total;
	bool bad;
};

static void case_note(void *arg, uint64_t done, uint64_t total)
{
	struct case_log *l = arg;

	/* One call per case, in order, against one total. */
	if (done != l->last_done + 1 || (l->calls && total != l->total) || done > total)
		l->bad = true;
	l->calls++;
	l->last_done = done;
	l->total = total;
}

TEST(campaign_avic_progress_every_case)
{
	struct campaign_opts opts = { .vcpus = 8, .model = AVIC_MODEL_X2AVIC };
	struct campaign_result res;
	struct case_log l = { 0 };

	opts.progress = case_note;
	opts.progress_arg = &l;
	ASSERT_OK(campaign_avic(&opts, &res));
	campaign_check_clean(&res);
	ASSERT(!l.bad);
	ASSERT(res.cases > 0);
	ASSERT_EQ(l.calls, res.cases);
	ASSERT_EQ(l.last_done, res.cases);
	ASSERT_EQ(l.total, res.sites);
}

TEST(campaign_gicv5_progress_every_case)
{
	struct campaign_opts opts = { .vcpus = 2, .two_level = true };
	struct campaign_result res;
	struct case_log l = { 0 };

	opts.progress = case_note;
	opts.progress_arg = &l;
	ASSERT_OK(campaign_gicv5(&opts, &res));
	campaign_check_clean(&res);
	ASSERT(!l.bad);
	ASSERT(res.cases > 0);
	ASSERT_EQ(l.calls, res.cases);
	ASSERT_EQ(l.last_done, res.cases);
	ASSERT_EQ(l.total, res.sites);
}

/* ---- the line ---------------------------------------------------------------- */

/* With stderr not a terminal, the progress line never writes a byte. */
TEST(cli_progress_silent_off_a_terminal)
{
	FILE *err = tmpfile();
	struct progress p;
	int saved;

	ASSERT(err);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(fileno(err), STDERR_FILENO);
	progress_init(&p);
	ASSERT(!p.on);
	ASSERT(!progress_due(&p));
	progress_show(&p, "%s", "nothing");
	progress_clear(&p);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	ASSERT_EQ(ftell(err), 0);
	fclose(err);
}

/* ---- the CLI on a pseudo-terminal ------------------------------------------- */

struct pty_run {
	int status;
	char *out;		/* stdout (a file) */
	char *tty;		/* what the terminal got on stderr */
	size_t tty_len;
};

/* A pseudo-terminal: the master to read, the slave for the child's stderr. */
static void pty_open(int *master, int *slave)
{
	char *name;

	*master = posix_openpt(O_RDWR | O_NOCTTY);
	if (*master < 0)
		test_skip("no pseudo-terminal (posix_openpt: %s)", strerror(errno));
	if (grantpt(*master) || unlockpt(*master) || !(name = ptsname(*master)))
		test_skip("no pseudo-terminal (grantpt/unlockpt/ptsname: %s)", strerror(errno));
	*slave = open(name, O_RDWR | O_NOCTTY);
	if (*slave < 0)
		test_skip("no pseudo-terminal (%s: %s)", name, strerror(errno));
}

/*
 * Run VINTC_BIN with args, stdout to a file, stderr on a pseudo-terminal
 * (tty) or a pipe.
 */
static void term_run(struct pty_run *r, const char *const *args, bool tty)
{
	const char *bin = test_vintc_bin();
	char *argv[16];
	size_t cap = 4096;
	int master, slave, status, n = 0, fds[2];
	FILE *out;
	pid_t pid;

	if (!bin)
		test_fail(__FILE__, __LINE__, "VINTC_BIN is not set: run through 'make check'");
	if (tty) {
		pty_open(&master, &slave);
	} else {
		ASSERT_OK(pipe(fds));
		master = fds[0];
		slave = fds[1];
	}
	argv[n++] = (char *)bin;
	while (*args && n < (int)ARRAY_SIZE(argv) - 1)
		argv[n++] = (char *)*args++;
	argv[n] = NULL;
	out = tmpfile();
	ASSERT(out);
	fflush(NULL);
	pid = fork();
	ASSERT(pid >= 0);
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);

		dup2(in, STDIN_FILENO);
		dup2(fileno(out), STDOUT_FILENO);
		dup2(slave, STDERR_FILENO);
		close(master);
		close(slave);
		execv(bin, argv);
		_exit(127);
	}
	close(slave);
	/* Read while it runs (a full buffer would stop it); EOF or EIO once it is gone. */
	r->tty = malloc(cap);
	r->tty_len = 0;
	ASSERT(r->tty);
	for (;;) {
		ssize_t got;

		if (cap - r->tty_len < 2) {
			cap *= 2;
			r->tty = realloc(r->tty, cap);
			ASSERT(r->tty);
		}
		got = read(master, r->tty + r->tty_len, cap - r->tty_len - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		r->tty_len += (size_t)got;
	}
	r->tty[r->tty_len] = '\0';
	close(master);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	r->out = cli_slurp(out);
	ASSERT(r->status != 127);
}

/*
 * The terminal got progress lines holding want, each starting with '\r',
 * and the last thing it got wipes the line: "\r", blanks, "\r".
 */
static void pty_check_progress(const struct pty_run *r, const char *want)
{
	const char *end = r->tty + r->tty_len, *p;

	if (!strstr(r->tty, want))
		test_fail(__FILE__, __LINE__, "no progress line with '%s' on the terminal: '%s'",
			  want, r->tty);
	ASSERT_EQ(r->tty[0], '\r');
	ASSERT(r->tty_len >= 3 && end[-1] == '\r');
	for (p = end - 2; p > r->tty && *p == ' '; p--)
		;
	ASSERT(*p == '\r' && p < end - 2);
	ASSERT(!strchr(r->tty, '\n'));
}

/* The same command with stderr on a pipe: nothing there, stdout as on the terminal. */
static void pty_check_quiet_twin(const struct pty_run *r, const char *const *args)
{
	struct pty_run plain;

	term_run(&plain, args, false);
	ASSERT_EQ(plain.status, r->status);
	if (plain.tty_len)
		test_fail(__FILE__, __LINE__, "stderr on a pipe, yet: '%s'", plain.tty);
	if (strcmp(plain.out, r->out))
		test_fail(__FILE__, __LINE__, "stdout differs: '%s' against '%s'", plain.out,
			  r->out);
	free(plain.out);
	free(plain.tty);
}

static void pty_free(struct pty_run *r)
{
	free(r->out);
	free(r->tty);
}

TEST(cli_faults_progress_on_a_terminal)
{
	static const char *const cases[][6] = {
		{ "faults", "avic", "--vcpus", "64", "--x2avic" },
		{ "faults", "avic", "--vcpus", "16", "--json" },
		{ "faults", "gicv5", "--vcpus", "2" },
	};
	struct pty_run r;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char want[64];

		term_run(&r, cases[i], true);
		ASSERT_EQ(r.status, 0);
		snprintf(want, sizeof(want), "\r%s %s: 1/", cases[i][0], cases[i][1]);
		pty_check_progress(&r, want);
		ASSERT(strstr(r.tty, " cases (") && strstr(r.tty, "/s"));
		pty_check_quiet_twin(&r, cases[i]);
		pty_free(&r);
	}
}

TEST(cli_sim_progress_on_a_terminal)
{
	static const char *const seeded[] = {
		"sim", "ipi-all-to-all", "--seed", "4", "--messages", "20000", NULL
	};
	static const char *const free_run[] = {
		"sim", "ipi-all-to-all", "--messages", "20000", "--json", NULL
	};
	static const char *const soak[] = {
		"sim", "ipi-pingpong", "--seed", "1", "--messages", "50", "--seconds", "1", NULL
	};
	struct pty_run r;
	struct cli_run plain;

	/* Seeded: steps, sent and delivered; stdout the seed's bytes exactly. */
	term_run(&r, seeded, true);
	ASSERT_EQ(r.status, 0);
	pty_check_progress(&r, "\rsim ipi-all-to-all: step ");
	ASSERT(strstr(r.tty, ", sent ") && strstr(r.tty, ", delivered "));
	pty_check_quiet_twin(&r, seeded);
	pty_free(&r);

	/* Free-running: sent and delivered; the JSON on stdout as ever. */
	term_run(&r, free_run, true);
	ASSERT_EQ(r.status, 0);
	pty_check_progress(&r, "\rsim ipi-all-to-all: sent ");
	ASSERT(!strstr(r.tty, "step"));
	ASSERT(r.out[0] == '{' && strchr(r.out, '\n') == r.out + strlen(r.out) - 1);
	cli_run_to(&plain, NULL, free_run);
	ASSERT_EQ(plain.status, 0);
	ASSERT(!plain.err[0]);
	cli_free(&plain);
	pty_free(&r);

	/* A soak: runs done and seconds left. */
	term_run(&r, soak, true);
	ASSERT_EQ(r.status, 0);
	pty_check_progress(&r, "\rsim ipi-pingpong: ");
	ASSERT(strstr(r.tty, " runs done, ") || strstr(r.tty, " run done, "));
	ASSERT(strstr(r.tty, " s left, sent "));
	pty_free(&r);
}
