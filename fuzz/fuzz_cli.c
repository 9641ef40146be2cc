// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the CLI's argument parsing (tools/vintc/args.c and the
 * option parsing of every command), with cli_parse_only set so that a
 * command stops after checking its arguments instead of running.
 *
 * Input: byte 0 picks the command (dump, faults, sim, run); the rest,
 * split at NUL bytes, is its argv (at most 64 words, each in its own heap
 * block so that reading past a word's end is caught).
 *
 * Invariants, for every argv:
 *   - no crash, no leak (LeakSanitizer, per input);
 *   - the status is 0 (would run, or help) or 2 (usage error);
 *   - a usage error prints exactly one line on stderr, starting "vintc: ",
 *     and nothing on stdout;
 *   - status 0 prints nothing on stderr;
 *   - no host page or byte is left outstanding.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vintc/host.h>

#include "tools/vintc/args.h"
#include "tools/vintc/cmds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static FILE *real_stderr;

#define CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		fprintf(real_stderr, "fuzz_cli: invariant broken: %s: ", #cond); \
		fprintf(real_stderr, __VA_ARGS__);			\
		fputc('\n', real_stderr);				\
		abort();						\
	}								\
} while (0)

#define MAX_ARGS 64

static const struct {
	const char *word;
	int (*fn)(int argc, char **argv);
} cmds[] = {
	{ "dump", cmd_dump },
	{ "faults", cmd_faults },
	{ "sim", cmd_sim },
	{ "run", cmd_run },
};

static struct host_mem_stats baseline;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	real_stderr = stderr;
	cli_parse_only = true;
	baseline = host_mem_stats(HOST_TAG_NR);
	return 0;
}

static unsigned int count_lines(const char *s, size_t n)
{
	unsigned int lines = 0;

	for (size_t i = 0; i < n; i++)
		lines += s[i] == '\n';
	return lines;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[MAX_ARGS + 2];
	int argc = 0, status;
	char *out = NULL, *err = NULL;
	size_t out_len = 0, err_len = 0;
	FILE *fout, *ferr, *saved_out = stdout, *saved_err = stderr;
	struct host_mem_stats st;
	size_t at;

	if (!size)
		return 0;
	argv[argc++] = strdup(cmds[data[0] % ARRAY_SIZE(cmds)].word);
	for (at = 1; at < size && argc <= MAX_ARGS; ) {
		const uint8_t *end = memchr(data + at, 0, size - at);
		size_t len = end ? (size_t)(end - (data + at)) : size - at;
		char *w = malloc(len + 1);

		if (!w)
			abort();
		memcpy(w, data + at, len);
		w[len] = '\0';
		argv[argc++] = w;
		at += len + 1;
	}
	argv[argc] = NULL;

	fout = open_memstream(&out, &out_len);
	ferr = open_memstream(&err, &err_len);
	if (!fout || !ferr)
		abort();
	stdout = fout;
	stderr = ferr;
	status = cmds[data[0] % ARRAY_SIZE(cmds)].fn(argc, argv);
	fflush(fout);
	fflush(ferr);
	stdout = saved_out;
	stderr = saved_err;
	fclose(fout);
	fclose(ferr);

	CHECK(status == CLI_EXIT_OK || status == CLI_EXIT_USAGE, "status %d, stderr: %.*s", status,
	      (int)err_len, err);
	if (status == CLI_EXIT_USAGE) {
		CHECK(err_len > 7 && !strncmp(err, "vintc: ", 7) && count_lines(err, err_len) == 1 &&
		      err[err_len - 1] == '\n', "usage error output: '%.*s'", (int)err_len, err);
		CHECK(!out_len, "usage error with stdout output: '%.*s'", (int)out_len, out);
	} else {
		CHECK(!err_len, "status 0 with stderr output: '%.*s'", (int)err_len, err);
	}
	free(out);
	free(err);
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	st = host_mem_stats(HOST_TAG_NR);
	CHECK(st.pages == baseline.pages && st.bytes == baseline.bytes, "host memory left: %llu pages",
	      (unsigned long long)(st.pages - baseline.pages));
	return 0;
}
