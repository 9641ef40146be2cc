// SPDX-License-Identifier: MIT
/* Running the vintc CLI from the tests (cli_util.h). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vintc/host.h>

#include "cli_util.h"

char *cli_slurp(FILE *f)
{
	size_t len = 0, cap = 4096, n;
	char *buf = malloc(cap);

	if (!buf)
		test_fail(__FILE__, __LINE__, "out of memory");
	rewind(f);
	while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len - 1 == 0) {
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf)
				test_fail(__FILE__, __LINE__, "out of memory");
		}
	}
	buf[len] = '\0';
	fclose(f);
	return buf;
}

void cli_run_to(struct cli_run *r, const char *stdout_path, const char *const *args)
{
	cli_run_prog(r, test_vintc_bin(), stdout_path, args);
}

void cli_run_prog(struct cli_run *r, const char *bin, const char *stdout_path,
		  const char *const *args)
{
	char *argv[32];
	FILE *out, *err;
	int status, n = 0;
	pid_t pid;

	if (!bin)
		test_fail(__FILE__, __LINE__,
			  "the program to run is not set: run the tests through 'make check'");
	argv[n++] = (char *)bin;
	while (*args && n < (int)ARRAY_SIZE(argv) - 1)
		argv[n++] = (char *)*args++;
	argv[n] = NULL;
	out = tmpfile();
	err = tmpfile();
	if (!out || !err)
		test_fail(__FILE__, __LINE__, "tmpfile failed");
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		test_fail(__FILE__, __LINE__, "fork failed");
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int o = stdout_path ? open(stdout_path, O_WRONLY) : fileno(out);

		if (in < 0 || o < 0)
			_exit(126);
		dup2(in, STDIN_FILENO);
		dup2(o, STDOUT_FILENO);
		dup2(fileno(err), STDERR_FILENO);
		execv(bin, argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		test_fail(__FILE__, __LINE__, "waitpid failed");
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	r->out = cli_slurp(out);
	r->err = cli_slurp(err);
	if (r->status == 127)
		test_fail(__FILE__, __LINE__, "cannot run %s", bin);
}

void cli_free(struct cli_run *r)
{
	free(r->out);
	free(r->err);
}

static bool is_usage_error(const struct cli_run *r)
{
	const char *nl = strchr(r->err, '\n');

	return r->status == 2 && !r->out[0] && !strncmp(r->err, "vintc: ", 7) && nl && !nl[1];
}

void cli_assert_usage_error(const char *const *args, const char *want, const char *file,
			    int line)
{
	struct cli_run r;

	cli_run_to(&r, NULL, args);
	if (!is_usage_error(&r))
		test_fail(file, line, "%s %s ...: exit %d, stdout %zu bytes, stderr '%s'",
			  args[0] ? args[0] : "", args[0] && args[1] ? args[1] : "", r.status,
			  strlen(r.out), r.err);
	if (want && strcmp(r.err, want))
		test_fail(file, line, "stderr '%s', want '%s'", r.err, want);
	cli_free(&r);
}

void cli_assert_usage(const struct cli_run *r, const char *want, const char *file, int line)
{
	if (!is_usage_error(r) || !strstr(r->err, want))
		test_fail(file, line, "want exit 2 and one line with \"%s\"; got %d, "
			  "stdout \"%s\", stderr \"%s\"", want, r->status, r->out, r->err);
}

void cli_assert_usage_error_has(const char *const *args, const char *want, const char *file,
				int line)
{
	struct cli_run r;

	cli_run_to(&r, NULL, args);
	cli_assert_usage(&r, want, file, line);
	cli_free(&r);
}
