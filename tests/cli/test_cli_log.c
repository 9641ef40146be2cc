// SPDX-License-Identifier: MIT
/*
 * VINTC_LOG: the library is silent by default and says what it does when
 * asked (VM creation and destruction at debug, inhibits and the KVM probe
 * at info, errors at err).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

/* The CLI's stderr for `dump avic --vcpus 2 --json` under VINTC_LOG=level. */
static char *log_of(const char *level)
{
	const char *bin = test_vintc_bin();
	char cmd[1024];
	char *buf = calloc(1, 8192);
	size_t n = 0;
	FILE *p;

	if (!bin)
		test_skip("VINTC_BIN is not set: run through make check");
	ASSERT(buf);
	snprintf(cmd, sizeof(cmd), "%s%s%s '%s' dump avic --vcpus 2 --json 2>&1 >/dev/null",
		 level ? "VINTC_LOG=" : "env -u VINTC_LOG", level ? level : "",
		 level ? "" : "", bin);
	p = popen(cmd, "r");
	ASSERT(p);
	while (n + 1 < 8192 && fgets(buf + n, (int)(8192 - n), p))
		n += strlen(buf + n);
	ASSERT_EQ(pclose(p), 0);
	return buf;
}

TEST(cli_log_silent_by_default_and_says_what_it_does_on_request)
{
	char *quiet = log_of(NULL), *err = log_of("err"), *dbg = log_of("debug");

	ASSERT_EQ(strlen(quiet), 0);
	ASSERT_EQ(strlen(err), 0);
	if (!strstr(dbg, "vintc: vm: created (arch 1, up to ") ||
	    !strstr(dbg, "vintc: vm: destroying (2 vCPUs)\n"))
		test_fail(__FILE__, __LINE__, "VINTC_LOG=debug printed:\n%s", dbg);
	free(quiet);
	free(err);
	free(dbg);
}
