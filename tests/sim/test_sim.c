// SPDX-License-Identifier: MIT
/* Interrupts end to end on model vCPUs: every workload, free and seeded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vintc/sim.h>

#include "test.h"

static const char *const avic_workloads[] = {
	"ipi-pingpong", "ipi-all-to-all", "broadcast", "logical-cluster", "self-ipi", "churn",
};
static const char *const gic_workloads[] = { "gicv5-spi", "gicv5-lpi" };

static void check_clean(const struct sim_result *r, const char *what)
{
	if (r->failure[0])
		fprintf(stderr, "%s: %s\n", what, r->failure);
	ASSERT_EQ(r->failure[0], 0);
	ASSERT_EQ(r->lost, 0);
	ASSERT(r->sent > 0);
	ASSERT_EQ(r->sent, r->delivered + r->merged);
	ASSERT_EQ(r->leaked_pages, 0);
	ASSERT_EQ(r->leaked_bytes, 0);
}

static void run(const char *wl, bool det, uint64_t seed, uint32_t vcpus, uint64_t msgs,
		struct sim_result *r)
{
	struct sim_opts o;

	sim_default_opts(&o);
	o.workload = wl;
	o.deterministic = det;
	o.seed = seed;
	o.vcpus = vcpus;
	o.messages = msgs;
	o.host_cpus = vcpus > 4 ? vcpus : 4;
	ASSERT_OK(sim_run(&o, r));
}

TEST(sim_every_workload_free_running)
{
	struct sim_result r;

	for (unsigned int i = 0; i < ARRAY_SIZE(avic_workloads); i++) {
		run(avic_workloads[i], false, 0, 6, 300, &r);
		check_clean(&r, avic_workloads[i]);
		ASSERT_EQ(r.merged, 0);
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(gic_workloads); i++) {
		run(gic_workloads[i], false, 0, 4, 300, &r);
		check_clean(&r, gic_workloads[i]);
		/* Two devices, each 300 messages. */
		ASSERT_EQ(r.sent, 600);
	}
	/* A storm: no flow control, so merges are expected and counted. */
	run("device-storm", false, 0, 4, 5000, &r);
	check_clean(&r, "device-storm");
	ASSERT_EQ(r.sent, 10000);
	ASSERT(r.ga_log_entries > 0);
	ASSERT(r.wakeups > 0);
}

TEST(sim_exact_counts)
{
	struct sim_result r;

	run("ipi-pingpong", true, 1, 4, 50, &r);
	check_clean(&r, "pingpong");
	ASSERT_EQ(r.sent, 2 * 2 * 50);		/* 2 pairs, ping and pong */
	run("broadcast", true, 1, 5, 20, &r);
	ASSERT_EQ(r.sent, 4 * 20);
	run("ipi-all-to-all", true, 1, 4, 30, &r);
	ASSERT_EQ(r.sent, 4 * 30);
	run("self-ipi", true, 1, 3, 10, &r);
	ASSERT_EQ(r.sent, 30);
	ASSERT_EQ(r.incomplete_ipi[1], 0);	/* self never exits */
	run("logical-cluster", true, 1, 8, 10, &r);
	ASSERT_EQ(r.sent, 8 * 10 * 4);		/* each sends to a whole other cluster */
}

TEST(sim_100_seeds_every_workload)
{
	struct sim_result r;
	uint64_t seeds = 100;
	const char *env = getenv("VINTC_TEST_SCALE");

	if (env && atoi(env) > 0)
		seeds /= (uint64_t)atoi(env);
	for (uint64_t seed = 1; seed <= seeds; seed++) {
		for (unsigned int i = 0; i < ARRAY_SIZE(avic_workloads); i++) {
			run(avic_workloads[i], true, seed, 5, 8, &r);
			check_clean(&r, avic_workloads[i]);
		}
		for (unsigned int i = 0; i < ARRAY_SIZE(gic_workloads); i++) {
			run(gic_workloads[i], true, seed, 3, 6, &r);
			check_clean(&r, gic_workloads[i]);
		}
		run("device-storm", true, seed, 4, 40, &r);
		check_clean(&r, "device-storm");
	}
}

TEST(sim_seed_reproduces_byte_for_byte)
{
	struct sim_result a, b;
	char ja[1024], jb[1024];

	run("ipi-all-to-all", true, 42, 5, 40, &a);
	run("ipi-all-to-all", true, 42, 5, 40, &b);
	ASSERT_OK(sim_result_json(&a, ja, sizeof(ja)));
	ASSERT_OK(sim_result_json(&b, jb, sizeof(jb)));
	ASSERT(!strcmp(ja, jb));
	ASSERT_EQ(a.steps, b.steps);
	run("ipi-all-to-all", true, 43, 5, 40, &b);
	ASSERT(a.steps != b.steps || a.doorbells != b.doorbells || a.wakeups != b.wakeups);
}

TEST(sim_blocked_targets_take_the_slow_path)
{
	struct sim_result r;

	/* Pingpong partners halt between messages: not-running exits and wake-ups. */
	run("ipi-pingpong", true, 7, 2, 100, &r);
	check_clean(&r, "pingpong");
	ASSERT(r.incomplete_ipi[1] > 0);
	ASSERT(r.wakeups > 0);
	ASSERT(r.doorbells > 0);
}

/* Erratum #1235: a not-running target gets neither doorbell nor exit. */
TEST(sim_erratum_1235_loses_wakeups_and_no_ipiv_fixes_it)
{
	struct sim_opts o;
	struct sim_result r;

	sim_default_opts(&o);
	o.workload = "ipi-pingpong";
	o.deterministic = true;
	o.seed = 3;
	o.vcpus = 2;
	o.messages = 200;
	o.erratum_1235 = true;
	ASSERT_OK(sim_run(&o, &r));
	ASSERT(strstr(r.failure, "lost wake-up") != NULL);
	ASSERT_EQ(r.leaked_pages, 0);
	/* KVM's workaround: IsRunning only in the shadow, so every IPI exits. */
	o.disable_ipiv = true;
	ASSERT_OK(sim_run(&o, &r));
	check_clean(&r, "erratum + no ipiv");
	ASSERT_EQ(r.incomplete_ipi[1], r.sent);
}

static size_t count_in_file(const char *path, const char *needle, char **text)
{
	FILE *f = fopen(path, "r");
	size_t n = 0, len;
	char *buf;

	ASSERT(f != NULL);
	fseek(f, 0, SEEK_END);
	len = (size_t)ftell(f);
	rewind(f);
	buf = calloc(1, len + 1);
	ASSERT(buf != NULL);
	ASSERT_EQ(fread(buf, 1, len, f), len);
	fclose(f);
	for (char *p = buf; (p = strstr(p, needle)); p++)
		n++;
	*text = buf;
	return n;
}

TEST(sim_trace_is_written)
{
	struct sim_opts o;
	struct sim_result r;
	char path[] = "/tmp/vintc-trace-XXXXXX", path2[] = "/tmp/vintc-trace-XXXXXX";
	char *a, *b;
	size_t begins, ends;
	int fd = mkstemp(path), fd2 = mkstemp(path2);

	ASSERT(fd >= 0 && fd2 >= 0);
	close(fd);
	close(fd2);
	sim_default_opts(&o);
	o.workload = "ipi-pingpong";
	o.deterministic = true;
	o.seed = 1;
	o.vcpus = 2;
	o.messages = 5;
	o.trace_path = path;
	ASSERT_OK(sim_run(&o, &r));
	check_clean(&r, "trace");
	o.trace_path = path2;
	ASSERT_OK(sim_run(&o, &r));
	begins = count_in_file(path, "\"ph\":\"B\"", &a);
	ends = count_in_file(path, "\"ph\":\"E\"", &b);
	ASSERT(strstr(a, "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[") == a);
	ASSERT(strstr(a, "process_name") != NULL);
	ASSERT_EQ(count_in_file(path, "\"name\":\"interrupt\"", &b), 10);	/* 5 pings, 5 pongs */
	free(b);
	/* Every running slice is closed, also those of vCPUs running at the end. */
	ASSERT_EQ(begins, ends);
	/* The same seed writes the same trace, byte for byte. */
	count_in_file(path2, "x", &b);
	ASSERT(!strcmp(a, b));
	free(a);
	free(b);
	unlink(path);
	unlink(path2);
}

TEST(sim_bad_options)
{
	struct sim_opts o;
	struct sim_result r;

	sim_default_opts(&o);
	o.workload = "no-such";
	ASSERT_EQ(sim_run(&o, &r), -ENOENT);
	o.workload = "ipi-pingpong";
	o.vcpus = 0;
	ASSERT_EQ(sim_run(&o, &r), -EINVAL);
	o.vcpus = 300;
	ASSERT_EQ(sim_run(&o, &r), -EINVAL);
	o.vcpus = 8;
	o.host_cpus = 4;
	o.workload = "gicv5-spi";	/* 8 VPEs cannot be resident on 4 PEs */
	ASSERT_EQ(sim_run(&o, &r), -EINVAL);
}

/*
 * The blocking race.  HLT is two steps in deterministic mode, so senders
 * run between the guest's decision to halt and the hypervisor's blocking
 * path, still seeing IsRunning = 1 and ringing a doorbell nobody hears.
 * Only the IRR re-check after IsRunning = 0 saves those interrupts:
 * without it every seed loses one; with it none does.
 */
TEST(sim_blocking_race_needs_the_recheck)
{
	struct sim_opts o;
	struct sim_result r;
	unsigned int lost = 0;

	sim_default_opts(&o);
	o.workload = "ipi-pingpong";
	o.vcpus = 2;
	o.messages = 200;
	o.deterministic = true;
	for (uint64_t seed = 1; seed <= 20; seed++) {
		o.seed = seed;
		o.omit_recheck = false;
		ASSERT_OK(sim_run(&o, &r));
		check_clean(&r, "intact");
		o.omit_recheck = true;
		ASSERT_OK(sim_run(&o, &r));
		lost += strstr(r.failure, "lost wake-up") != NULL;
		ASSERT_EQ(r.leaked_pages, 0);
	}
	ASSERT_EQ(lost, 20);
}

/* Free-running, the full protocol survives a long halting ping-pong. */
TEST(sim_blocking_race_stress_free)
{
	struct sim_opts o;
	struct sim_result r;

	sim_default_opts(&o);
	o.workload = "ipi-pingpong";
	o.vcpus = 2;
	o.host_cpus = 2;
	o.messages = 50000;
	o.watchdog_ms = 1000;
	ASSERT_OK(sim_run(&o, &r));
	check_clean(&r, "stress");
	ASSERT_EQ(r.sent, 100000);
	ASSERT(r.wakeups > 0);
}

/* Seeded traces balance their slices for every workload and seed. */
TEST(sim_seeded_traces_close_every_slice)
{
	static const char *const wls[] = {
		"ipi-pingpong", "ipi-all-to-all", "broadcast", "logical-cluster", "self-ipi",
		"churn", "device-storm", "gicv5-spi", "gicv5-lpi",
	};
	char path[] = "/tmp/vintc-trace-XXXXXX";
	int fd = mkstemp(path);

	ASSERT(fd >= 0);
	close(fd);
	for (size_t w = 0; w < ARRAY_SIZE(wls); w++) {
		for (uint64_t seed = 1; seed <= 9; seed += 4) {
			struct sim_opts o;
			struct sim_result r;
			char *a, *b;
			size_t begins, ends;

			sim_default_opts(&o);
			o.workload = wls[w];
			o.deterministic = true;
			o.seed = seed;
			o.messages = 20;
			o.trace_path = path;
			ASSERT_OK(sim_run(&o, &r));
			check_clean(&r, wls[w]);
			begins = count_in_file(path, "\"ph\":\"B\"", &a);
			ends = count_in_file(path, "\"ph\":\"E\"", &b);
			free(a);
			free(b);
			if (begins != ends || !begins)
				test_fail(__FILE__, __LINE__, "%s seed %llu: %zu B, %zu E", wls[w],
					  (unsigned long long)seed, begins, ends);
		}
	}
	unlink(path);
}

/* A self-IPI needs only its own vCPU. */
TEST(sim_self_ipi_on_one_vcpu)
{
	struct sim_opts o;
	struct sim_result r;

	sim_default_opts(&o);
	o.workload = "self-ipi";
	o.vcpus = 1;
	o.messages = 50;
	o.deterministic = true;
	o.seed = 3;
	ASSERT_OK(sim_run(&o, &r));
	check_clean(&r, "self-ipi 1 vCPU");
	ASSERT_EQ(r.sent, 50);
	ASSERT_EQ(r.delivered + r.merged, 50);
}
