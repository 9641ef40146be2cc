// SPDX-License-Identifier: MIT
/*
 * vintc sim, run as a program: results against the workloads' own counts,
 * the same seed giving the same bytes, the trace, the erratum and the
 * usage errors.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vintc/sim.h>

#include "cli_util.h"
#include "json.h"
#include "test.h"

/* ---- sim --------------------------------------------------------------- */

/* One JSON object on one line, as sim_result_json() makes it. */
static void check_sim_json(const char *out, const char *workload, int line)
{
	char head[64];
	const char *nl = strchr(out, '\n');

	snprintf(head, sizeof(head), "{\"workload\":\"%s\",", workload);
	if (strncmp(out, head, strlen(head)) || !nl || nl[1] || nl[-1] != '}')
		test_fail(__FILE__, line, "not one JSON line for %s: %.300s", workload, out);
}

TEST(cli_sim_help)
{
	static const char *const cases[][6] = {
		{ "sim", "--help" }, { "sim", "-h" }, { "help", "sim" },
		{ "sim", "ipi-pingpong", "--help" },
		/* Help wins over anything else on the line. */
		{ "sim", "nope", "--vcpus", "0", "--help" },
	};
	struct cli_run r;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		cli_run_to(&r, NULL, cases[i]);
		ASSERT_RAN_OK(&r);
		ASSERT(!strncmp(r.out, "usage: vintc sim WORKLOAD", 25));
		cli_free(&r);
	}
	RUN(&r, "sim", "--help");
	ASSERT_RAN_OK(&r);
	/* Every workload the engine has, at the start of its own line. */
	for (const char *const *w = sim_workloads(); *w; w++) {
		char pat[64];

		snprintf(pat, sizeof(pat), "\n  %s ", *w);
		if (!strstr(r.out, pat))
			test_fail(__FILE__, __LINE__, "sim --help does not list %s", *w);
	}
	for (const char *const *w = (const char *const[]){ "--vms", "--vcpus", "--host-cpus",
			"--messages", "--seed", "--x2avic", "--x2avic-4k", "--no-ipiv",
			"--erratum-1235", "--watchdog-ms", "--json", "--trace", "1..208",
			"ui.perfetto.dev", "one track per vCPU", "same seed", "byte for byte",
			"halting in between", "doorbells", "Exit status", NULL }; *w; w++)
		if (!strstr(r.out, *w))
			test_fail(__FILE__, __LINE__, "sim --help does not mention %s", *w);
	cli_free(&r);
	/* The top-level help has the command and its help. */
	RUN(&r, "--help");
	ASSERT_RAN_OK(&r);
	ASSERT(strstr(r.out, "  sim WORKLOAD") && strstr(r.out, "usage: vintc sim WORKLOAD"));
	cli_free(&r);
}

TEST(cli_sim_json)
{
	struct cli_run r;

	/* Two pairs, 50 round trips each: 2 x 2 x 50 interrupts. */
	RUN(&r, "sim", "ipi-pingpong", "--seed", "5", "--vcpus", "4", "--messages", "50",
	    "--json");
	ASSERT_RAN_OK(&r);
	check_sim_json(r.out, "ipi-pingpong", __LINE__);
	ASSERT_EQ(NUM(r.out, "sent"), 200);
	ASSERT_EQ(NUM(r.out, "delivered"), 200);
	ASSERT_EQ(NUM(r.out, "merged"), 0);
	ASSERT_EQ(NUM(r.out, "lost"), 0);
	ASSERT_EQ(NUM(r.out, "leaked_pages"), 0);
	ASSERT(strstr(r.out, "\"lost\":0,"));
	ASSERT(strstr(r.out, "\"sent\":200,"));
	ASSERT(strstr(r.out, "\"failure\":\"\"}"));
	/* Each IPI but the first of a pair finds its target halted. */
	ASSERT(NUM(r.out, "target_not_running") > 0);
	ASSERT(NUM(r.out, "target_not_running") < 200);
	ASSERT(NUM(r.out, "p50") <= NUM(r.out, "p99"));
	ASSERT(NUM(r.out, "p99") <= NUM(r.out, "max"));
	cli_free(&r);

	/* Every AVIC IPI and GICv5 injection is counted once. */
	RUN(&r, "sim", "ipi-all-to-all", "--seed", "1", "--vcpus", "3", "--messages", "20",
	    "--x2avic", "--json");
	ASSERT_RAN_OK(&r);
	check_sim_json(r.out, "ipi-all-to-all", __LINE__);
	ASSERT_EQ(NUM(r.out, "sent"), 3 * 20);
	ASSERT_EQ(NUM(r.out, "delivered"), 3 * 20);
	ASSERT_EQ(NUM(r.out, "lost"), 0);
	cli_free(&r);
	RUN(&r, "sim", "gicv5-lpi", "--seed", "2", "--vcpus", "2", "--host-cpus", "2",
	    "--messages", "10", "--json");
	ASSERT_RAN_OK(&r);
	check_sim_json(r.out, "gicv5-lpi", __LINE__);
	ASSERT_EQ(NUM(r.out, "sent"), 2 * 10);	/* two devices */
	ASSERT_EQ(NUM(r.out, "delivered"), 2 * 10);
	ASSERT_EQ(NUM(r.out, "lost"), 0);
	cli_free(&r);
}

TEST(cli_sim_deterministic)
{
	struct cli_run a, b;

	RUN(&a, "sim", "ipi-all-to-all", "--seed", "7", "--vcpus", "4", "--messages", "100",
	    "--json");
	RUN(&b, "sim", "ipi-all-to-all", "--seed", "7", "--vcpus", "4", "--messages", "100",
	    "--json");
	ASSERT_RAN_OK(&a);
	ASSERT_RAN_OK(&b);
	check_sim_json(a.out, "ipi-all-to-all", __LINE__);
	ASSERT_EQ(NUM(a.out, "sent"), 400);
	ASSERT(!strcmp(a.out, b.out));
	cli_free(&a);
	cli_free(&b);

	/* The summary too: latencies in steps, no wall-clock figures. */
	RUN(&a, "sim", "ipi-pingpong", "--seed", "5", "--vcpus", "4", "--messages", "50");
	RUN(&b, "sim", "ipi-pingpong", "--seed", "5", "--vcpus", "4", "--messages", "50");
	ASSERT_RAN_OK(&a);
	ASSERT_RAN_OK(&b);
	ASSERT(!strcmp(a.out, b.out));
	ASSERT(!strncmp(a.out, "sim ipi-pingpong: 1 VM(s) x 4 vCPU(s) on 4 host CPU(s)", 54));
	ASSERT(strstr(a.out, "deterministic, seed 5,"));
	ASSERT(strstr(a.out, "\n  sent              200 "));
	ASSERT(strstr(a.out, "\n  lost              0\n"));
	ASSERT(strstr(a.out, " steps, max "));
	ASSERT(!strstr(a.out, "interrupts/s"));
	ASSERT(strstr(a.out, "\n  result            PASS\n"));
	cli_free(&a);
	cli_free(&b);
}

TEST(cli_sim_free)
{
	struct cli_run r;

	RUN(&r, "sim", "ipi-pingpong", "--vcpus", "2", "--messages", "100");
	ASSERT_RAN_OK(&r);
	ASSERT(strstr(r.out, "free-running, watchdog 2000 ms"));
	ASSERT(strstr(r.out, "\n  sent              200 "));
	ASSERT(strstr(r.out, "\n  delivered         200 "));
	ASSERT(strstr(r.out, "\n  lost              0\n"));
	ASSERT(strstr(r.out, " ns, max "));
	ASSERT(strstr(r.out, "interrupts/s\n"));
	ASSERT(strstr(r.out, "\n  elapsed           "));
	ASSERT(strstr(r.out, "\n    target not running "));
	ASSERT(strstr(r.out, "\n  result            PASS\n"));
	cli_free(&r);
}

TEST(cli_sim_trace)
{
	char path[] = "/tmp/vintc-cli-trace-XXXXXX";
	int fd = mkstemp(path), tracks = 0;
	struct cli_run r;
	char *trace;
	FILE *f;

	ASSERT(fd >= 0);
	close(fd);
	RUN(&r, "sim", "ipi-pingpong", "--seed", "5", "--vcpus", "4", "--messages", "50",
	    "--trace", path, "--json");
	ASSERT_RAN_OK(&r);
	ASSERT_EQ(NUM(r.out, "lost"), 0);
	cli_free(&r);
	f = fopen(path, "r");
	ASSERT(f);
	trace = cli_slurp(f);
	unlink(path);
	ASSERT(!strncmp(trace, "{\"displayTimeUnit\"", 18));
	ASSERT(strstr(trace, "\"traceEvents\":["));
	/* One track per vCPU, and the interrupts on them. */
	for (const char *p = trace; (p = strstr(p, "\"thread_name\"")); p++)
		tracks++;
	ASSERT_EQ(tracks, 4);
	ASSERT(strstr(trace, "{\"name\":\"interrupt\",\"ph\":\"i\""));
	ASSERT(!strcmp(trace + strlen(trace) - 4, "\n]}\n"));
	free(trace);
}

TEST(cli_sim_erratum_1235)
{
	struct cli_run r;

	/*
	 * The CPU misses the target's IsRunning change: no doorbell, no exit,
	 * and the halting target is never woken.  The results come out first.
	 */
	RUN(&r, "sim", "ipi-pingpong", "--erratum-1235", "--seed", "3", "--vcpus", "2",
	    "--messages", "200", "--json");
	ASSERT_EQ(r.status, 1);
	check_sim_json(r.out, "ipi-pingpong", __LINE__);
	/* One pair, one IPI in flight: exactly one is lost, then nothing runs. */
	ASSERT_EQ(NUM(r.out, "lost"), 1);
	ASSERT_EQ(NUM(r.out, "sent"), NUM(r.out, "delivered") + NUM(r.out, "merged") + 1);
	ASSERT(NUM(r.out, "sent") < 400);
	ASSERT(strstr(r.out, "\"failure\":\"lost wake-up"));
	ASSERT(!strncmp(r.err, "vintc: sim: lost wake-up: vCPU ", 31));
	ASSERT(strchr(r.err, '\n') == r.err + strlen(r.err) - 1);
	cli_free(&r);

	/* The summary says so too. */
	RUN(&r, "sim", "ipi-pingpong", "--erratum-1235", "--seed", "3", "--vcpus", "2",
	    "--messages", "200");
	ASSERT_EQ(r.status, 1);
	ASSERT(strstr(r.out, "\n  lost              1\n"));
	ASSERT(strstr(r.out, "\n  result            FAIL\n"));
	ASSERT(strstr(r.err, "lost wake-up"));
	cli_free(&r);

	/* KVM's workaround: with IPIv off every IPI exits, and all arrive. */
	RUN(&r, "sim", "ipi-pingpong", "--erratum-1235", "--no-ipiv", "--seed", "3",
	    "--vcpus", "2", "--messages", "200", "--json");
	ASSERT_RAN_OK(&r);
	ASSERT_EQ(NUM(r.out, "sent"), 400);
	ASSERT_EQ(NUM(r.out, "delivered"), 400);
	ASSERT_EQ(NUM(r.out, "lost"), 0);
	ASSERT_EQ(NUM(r.out, "target_not_running"), 400);
	cli_free(&r);
}

TEST(cli_sim_usage_errors)
{
	USAGE_ERROR_HAS("sim: unknown workload 'ipi-pong' (expected 'ipi-pingpong', ",
			"sim", "ipi-pong");
	USAGE_ERROR_HAS("'gicv5-lpi'", "sim", "ipi-pong");
	USAGE_ERROR_HAS("sim: missing workload (expected 'ipi-pingpong', ", "sim");
	USAGE_ERROR_HAS("sim: missing workload", "sim", "--vcpus", "2", "--json");
	USAGE_ERROR("vintc: --vcpus: 0 is out of range (1..208)\n",
		    "sim", "ipi-pingpong", "--vcpus", "0");
	USAGE_ERROR("vintc: --vcpus: 209 is out of range (1..208)\n",
		    "sim", "ipi-pingpong", "--vcpus", "209");
	USAGE_ERROR("vintc: --seed: 'x' is not a number (decimal or 0x hex)\n",
		    "sim", "ipi-pingpong", "--seed", "x");
	USAGE_ERROR("vintc: --seed: '-1' is not a number (decimal or 0x hex)\n",
		    "sim", "ipi-pingpong", "--seed=-1");
	USAGE_ERROR("vintc: --vms: 65 is out of range (1..64)\n",
		    "sim", "ipi-pingpong", "--vms", "65");
	USAGE_ERROR("vintc: --host-cpus: 1025 is out of range (1..1024)\n",
		    "sim", "ipi-pingpong", "--host-cpus", "1025");
	USAGE_ERROR("vintc: --messages: 0 is out of range (1..1000000000)\n",
		    "sim", "ipi-pingpong", "--messages", "0");
	USAGE_ERROR("vintc: --messages: 1000000001 is out of range (1..1000000000)\n",
		    "sim", "ipi-pingpong", "--messages", "1000000001");
	USAGE_ERROR("vintc: --watchdog-ms: 600001 is out of range (1..600000)\n",
		    "sim", "ipi-pingpong", "--watchdog-ms", "600001");
	USAGE_ERROR("vintc: --trace: missing value\n", "sim", "ipi-pingpong", "--trace");
	USAGE_ERROR("vintc: --json takes no value (got '--json=1')\n",
		    "sim", "ipi-pingpong", "--json=1");
	USAGE_ERROR("vintc: --x2avic and --x2avic-4k conflict: choose one model\n",
		    "sim", "ipi-pingpong", "--x2avic", "--x2avic-4k");
	USAGE_ERROR("vintc: sim: unknown option '--bogus' (try 'vintc sim --help')\n",
		    "sim", "ipi-pingpong", "--bogus");
	USAGE_ERROR("vintc: sim: unexpected argument 'self-ipi' (try 'vintc sim --help')\n",
		    "sim", "ipi-pingpong", "self-ipi");
	/* Options the engine refuses (sim_run() -EINVAL), explained. */
	USAGE_ERROR("vintc: sim: gicv5-spi needs a host CPU per vCPU (a VPE is resident on "
		    "one PE at a time): 8 vCPU(s) on 4 host CPU(s); raise --host-cpus or "
		    "lower --vcpus\n",
		    "sim", "gicv5-spi", "--vcpus", "8", "--host-cpus", "4");
	USAGE_ERROR("vintc: sim: --vms 64 x --vcpus 65 is 4160 vCPUs, more than 4096\n",
		    "sim", "ipi-all-to-all", "--vms", "64", "--vcpus", "65");
	USAGE_ERROR("vintc: sim: logical-cluster takes at most 60 vCPUs per VM "
		    "(15 xAPIC clusters of 4), not 61\n",
		    "sim", "logical-cluster", "--vcpus", "61");
	/* Options that would do nothing are refused. */
	for (const char *const *w = (const char *const[]){ "ipi-pingpong", "ipi-all-to-all",
							    "broadcast", "logical-cluster", NULL };
	     *w; w++)
		USAGE_ERROR_HAS("it needs --vcpus 2 or more, not 1", "sim", *w, "--vcpus", "1");
	for (const char *const *f = (const char *const[]){ "--x2avic", "--x2avic-4k",
							    "--no-ipiv", "--erratum-1235", NULL };
	     *f; f++) {
		USAGE_ERROR_HAS("are AVIC options", "sim", "gicv5-spi", *f);
		USAGE_ERROR_HAS("are AVIC options", "sim", "gicv5-lpi", *f);
	}
	/* A trace that cannot be written: before the run, with errno, status 2. */
	USAGE_ERROR("vintc: sim: cannot write the trace /nonexistent/vintc/t.json: "
		    "No such file or directory\n",
		    "sim", "ipi-pingpong", "--trace", "/nonexistent/vintc/t.json");
}
