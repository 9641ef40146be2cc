// SPDX-License-Identifier: MIT
/*
 * The build's own promises, checked from the repository root (where
 * `make check` runs the tests): a build folder rebuilds when its flags
 * change, and tools/deps.sh asks only for what a target needs and says in
 * one line what it cannot install.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

static void need_root_of_tree(void)
{
	if (access("Makefile", R_OK) || access("tools/deps.sh", R_OK))
		test_skip("not at the repository root: run the tests through make check");
}

/* Run a shell command; its exit status, its output (both streams) in out. */
static int sh(const char *cmd, char *out, size_t size)
{
	FILE *p = popen(cmd, "r");
	size_t n = 0;
	int st;

	ASSERT(p);
	while (n + 1 < size && fgets(out + n, (int)(size - n), p))
		n += strlen(out + n);
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(build_rebuilds_when_flags_change)
{
	char dir[] = "/tmp/vintc-flags-XXXXXX", cmd[512], out[4096];

	need_root_of_tree();
	ASSERT(mkdtemp(dir));
	/*
	 * The inner makes take nothing from an outer one (`make WERROR=1
	 * check` passes WERROR=1 down in MAKEFLAGS and in the environment),
	 * so they run with only PATH.  One object: built, then up to date, then out of date under WERROR=1. */
	snprintf(cmd, sizeof(cmd), "env -i PATH=\"$PATH\" make -s BUILD=%s %s/obj/host/log.o 2>&1", dir, dir);
	ASSERT_EQ(sh(cmd, out, sizeof(out)), 0);
	snprintf(cmd, sizeof(cmd), "env -i PATH=\"$PATH\" make -q BUILD=%s %s/obj/host/log.o 2>&1", dir, dir);
	ASSERT_EQ(sh(cmd, out, sizeof(out)), 0);
	snprintf(cmd, sizeof(cmd), "env -i PATH=\"$PATH\" make -q BUILD=%s WERROR=1 %s/obj/host/log.o 2>&1", dir, dir);
	ASSERT_EQ(sh(cmd, out, sizeof(out)), 1);
	/* And back: the flags file follows the last flags asked for. */
	snprintf(cmd, sizeof(cmd), "env -i PATH=\"$PATH\" make -s BUILD=%s WERROR=1 %s/obj/host/log.o 2>&1", dir, dir);
	ASSERT_EQ(sh(cmd, out, sizeof(out)), 0);
	snprintf(cmd, sizeof(cmd), "env -i PATH=\"$PATH\" make -q BUILD=%s WERROR=1 %s/obj/host/log.o 2>&1", dir, dir);
	ASSERT_EQ(sh(cmd, out, sizeof(out)), 0);
	snprintf(cmd, sizeof(cmd), "env -i PATH=\"$PATH\" make -q BUILD=%s %s/obj/host/log.o 2>&1", dir, dir);
	ASSERT_EQ(sh(cmd, out, sizeof(out)), 1);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ASSERT_EQ(system(cmd), 0);
}

/*
 * A PATH with the build tools but without spin or apt-get: the build asks
 * for nothing, `make verify`'s purpose asks for spin and, unable to get
 * it, says so in one line and fails.
 */
TEST(build_deps_ask_only_what_the_target_needs)
{
	char dir[] = "/tmp/vintc-deps-XXXXXX", cmd[1024], out[4096];
	static const char *const tools[] = { "cc", "gcc", "ar", "ld", "id", "sh", "ls", "cat" };

	need_root_of_tree();
	ASSERT(mkdtemp(dir));
	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
		snprintf(cmd, sizeof(cmd), "p=$(command -v %s) && ln -s \"$p\" '%s/%s'", tools[i],
			 dir, tools[i]);
		if (system(cmd))
			test_skip("no %s on this machine", tools[i]);
	}
	snprintf(cmd, sizeof(cmd), "PATH='%s' CC=cc SAN= /bin/sh tools/deps.sh build 2>&1", dir);
	ASSERT_EQ(sh(cmd, out, sizeof(out)), 0);
	ASSERT_EQ(out[0], '\0');
	snprintf(cmd, sizeof(cmd), "PATH='%s' CC=cc SAN= /bin/sh tools/deps.sh verify 2>&1", dir);
	ASSERT_EQ(sh(cmd, out, sizeof(out)), 1);
	if (!strstr(out, "vintc: missing Debian packages: spin (") ||
	    !strstr(out, "apt-get install spin)\n"))
		test_fail(__FILE__, __LINE__, "deps.sh verify said:\n%s", out);
	/* One line, after the "installing" notice when it tried. */
	ASSERT(strchr(out, '\n') == out + strlen(out) - 1 ||
	       !strncmp(out, "vintc: installing Debian packages: spin\n", 40));
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ASSERT_EQ(system(cmd), 0);
}

/* `make run` builds what it runs: the CLI and the guests. */
TEST(build_run_builds_the_guests_it_runs)
{
	char dir[] = "/tmp/vintc-run-XXXXXX", cmd[512];
	static char out[65536];

	need_root_of_tree();
	ASSERT(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd),
		 "env -i PATH=\"$PATH\" make -n BUILD=%s run 2>&1", dir);
	ASSERT_EQ(sh(cmd, out, sizeof(out)), 0);
	if (!strstr(out, "guests/smp.elf") || !strstr(out, "tools/demo.sh"))
		test_fail(__FILE__, __LINE__, "make -n run:\n%s", out);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ASSERT_EQ(system(cmd), 0);
}
