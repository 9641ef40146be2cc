// SPDX-License-Identifier: MIT
/*
 * Runs every registered test in a forked child with a time limit, shows a
 * failing test's output, and ends with "N passed, M failed" alone on a
 * line.  Arguments are substrings: only tests whose name holds one run.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vintc/host.h>

#include "test.h"

static struct test *tests, **tests_tail = &tests;

void test_register(struct test *t)
{
	*tests_tail = t;
	tests_tail = &t->next;
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(NULL);
	_exit(1);
}

#define TEST_EXIT_SKIP 77

void test_skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(NULL);
	_exit(TEST_EXIT_SKIP);
}

const char *test_vintc_bin(void)
{
	return getenv("VINTC_BIN");
}

static bool selected(const char *name, int argc, char **argv)
{
	if (argc < 2)
		return true;
	for (int i = 1; i < argc; i++)
		if (strstr(name, argv[i]))
			return true;
	return false;
}

static void dump_output(FILE *f)
{
	char buf[4096];
	size_t n;

	rewind(f);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, stdout);
}

int main(int argc, char **argv)
{
	unsigned int timeout = 600, passed = 0, failed = 0, skipped = 0;
	const char *t = getenv("VINTC_TEST_TIMEOUT");

	if (t)
		timeout = (unsigned int)atoi(t);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (struct test *test = tests; test; test = test->next) {
		uint64_t start = host_now_ns(), ms;
		FILE *out = tmpfile();
		int status = 0;
		pid_t pid;

		if (!selected(test->name, argc, argv))
			continue;
		if (!out) {
			perror("tmpfile");
			return 2;
		}
		fflush(NULL);
		pid = fork();
		if (pid < 0) {
			perror("fork");
			return 2;
		}
		if (pid == 0) {
			dup2(fileno(out), STDOUT_FILENO);
			dup2(fileno(out), STDERR_FILENO);
			alarm(timeout);
			test->fn();
			fflush(NULL);
			_exit(0);
		}
		waitpid(pid, &status, 0);
		ms = (host_now_ns() - start) / 1000000;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			printf("ok    %-44s %6" PRIu64 " ms\n", test->name, ms);
			passed++;
		} else if (WIFEXITED(status) && WEXITSTATUS(status) == TEST_EXIT_SKIP) {
			char reason[256] = "";

			rewind(out);
			if (!fgets(reason, sizeof(reason), out))
				reason[0] = 0;
			reason[strcspn(reason, "\n")] = 0;
			printf("SKIP  %-44s %s\n", test->name, reason);
			skipped++;
		} else {
			printf("FAIL  %-44s %6" PRIu64 " ms  (%s %d)\n", test->name, ms,
			       WIFSIGNALED(status) ? "signal" : "exit",
			       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
			dump_output(out);
			failed++;
		}
		fclose(out);
	}
	if (skipped)
		printf("%u skipped (see SKIP lines above)\n", skipped);
	printf("%u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
