// SPDX-License-Identifier: MIT
/*
 * Delivery latency and throughput on model vCPUs, beside this machine's
 * floors measured in the same run: a cache line handed between two
 * threads (what a doorbell to a running, polling target can at best
 * cost) and a futex wake (what waking a halted target can at best cost).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vintc/sim.h>

#include "bench.h"

#define FLOOR_ROUNDS 20000

struct floor {
	uint32_t turn;		/* futex word / cache line: whose turn */
	uint64_t stamp;
	bool futex;
	uint64_t *samples;
};

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void wait_turn(struct floor *f, uint32_t me)
{
	for (;;) {
		uint32_t t = __atomic_load_n(&f->turn, __ATOMIC_ACQUIRE);

		if (t == me)
			return;
		if (f->futex)
			host_futex_wait(&f->turn, t, 1000000000ULL);
	}
}

static void pass_turn(struct floor *f, uint32_t to)
{
	__atomic_store_n(&f->stamp, bench_now_ns(), __ATOMIC_RELAXED);
	__atomic_store_n(&f->turn, to, __ATOMIC_RELEASE);
	if (f->futex)
		host_futex_wake(&f->turn, 1);
}

/* Thread 1 measures the one-way time of every hand-off it receives. */
static void *floor_peer(void *arg)
{
	struct floor *f = arg;

	for (int i = 0; i < FLOOR_ROUNDS; i++) {
		wait_turn(f, 1);
		f->samples[i] = bench_now_ns() - __atomic_load_n(&f->stamp, __ATOMIC_RELAXED);
		pass_turn(f, 0);
	}
	return NULL;
}

static void floor_measure(bool futex, uint64_t *p50, uint64_t *p99)
{
	struct floor f = { .futex = futex };
	pthread_t t;

	f.samples = calloc(FLOOR_ROUNDS, sizeof(uint64_t));
	if (!f.samples)
		bench_die("out of memory");
	pthread_create(&t, NULL, floor_peer, &f);
	for (int i = 0; i < FLOOR_ROUNDS; i++) {
		pass_turn(&f, 1);
		wait_turn(&f, 0);
	}
	pthread_join(t, NULL);
	qsort(f.samples, FLOOR_ROUNDS, sizeof(uint64_t), cmp);
	*p50 = f.samples[FLOOR_ROUNDS / 2];
	*p99 = f.samples[FLOOR_ROUNDS * 99 / 100];
	free(f.samples);
}

static void sim_or_die(struct sim_opts *o, struct sim_result *r)
{
	int ret = sim_run(o, r);

	if (ret || r->failure[0] || r->lost)
		bench_die("sim %s: %d %s", o->workload, ret, r->failure);
}

static void latency_row(const char *what, bool spin, uint64_t floor50, uint64_t floor99,
			const char *floor_name)
{
	struct sim_opts o;
	struct sim_result r;

	sim_default_opts(&o);
	o.workload = "ipi-pingpong";
	o.vcpus = 2;
	o.host_cpus = 2;
	/* Polling round trips are cheap: more of them to get past warm-up. */
	o.messages = spin ? 200000 : 20000;
	o.spin = spin;
	sim_or_die(&o, &r);
	printf("%-26s %9" PRIu64 " %9" PRIu64 " | %-12s %7" PRIu64 " %7" PRIu64 " | %6.2fx %6.2fx\n",
	       what, r.lat_p50, r.lat_p99, floor_name, floor50, floor99,
	       (double)r.lat_p50 / (double)floor50, (double)r.lat_p99 / (double)floor99);
}

/*
 * The blocking race on real hardware: the target clears IsRunning with a
 * plain store and no barrier before re-reading IRR (fault injection), so
 * x86 store buffering can let the load pass the store.  The same runs
 * with the barrier in place never lose a wake-up.
 */
static bool race_run(bool omit)
{
	struct sim_opts o;
	struct sim_result r;

	sim_default_opts(&o);
	o.workload = "ipi-pingpong";
	o.vcpus = 2;
	o.host_cpus = 2;
	o.messages = 200000;
	o.watchdog_ms = 200;
	o.omit_blocking_barrier = omit;
	if (sim_run(&o, &r))
		bench_die("blocking race run failed");
	return strstr(r.failure, "lost wake-up") != NULL;
}

static void blocking_race(void)
{
	unsigned int max_runs = 5, found = 0, runs, lost_on = 0;

	/* The window is a few nanoseconds wide: run until it is hit, or give up. */
	for (runs = 1; runs <= max_runs && !found; runs++)
		found = race_run(true) ? runs : 0;
	for (unsigned int i = 0; i < 3; i++)
		lost_on += race_run(false);
	printf("blocking race, 400000 halting ping-pongs per run:\n");
	if (found)
		printf("  barrier omitted: a wake-up was lost in run %u\n", found);
	else
		printf("  barrier omitted: no wake-up lost in %u runs (the window is narrow)\n",
		       max_runs);
	printf("  barrier in place: %u of 3 runs lost a wake-up\n\n", lost_on);
}

void bench_delivery(void)
{
	static const uint32_t sizes[] = { 2, 4, 8, 16 };
	uint64_t cl50, cl99, fx50, fx99;

	floor_measure(false, &cl50, &cl99);
	floor_measure(true, &fx50, &fx99);
	printf("== Delivery latency: sender's ICR write to the target's handler, one way ==\n");
	printf("ipi-pingpong, 2 vCPUs on 2 host threads (200000 round trips polling, 20000 halting);\n"
	       "floors measured in this run, 20000 hand-offs each\n");
	printf("%-26s %9s %9s | %-12s %7s %7s | %7s %7s\n", "path", "p50 ns", "p99 ns",
	       "floor", "p50", "p99", "p50", "p99");
	latency_row("running target (polls)", true, cl50, cl99, "cache line");
	latency_row("blocked target (halts)", false, fx50, fx99, "futex wake");
	printf("\n== Throughput: interrupts per second versus vCPUs (free-running, 2 host cores) ==\n");
	printf("%-16s %6s %12s %10s %12s\n", "workload", "vCPUs", "interrupts", "seconds", "per second");
	for (unsigned int i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct sim_opts o;
		struct sim_result r;

		sim_default_opts(&o);
		o.workload = "ipi-all-to-all";
		o.vcpus = sizes[i];
		o.host_cpus = sizes[i];
		o.messages = 40000 / sizes[i];
		sim_or_die(&o, &r);
		printf("%-16s %6u %12" PRIu64 " %10.3f %12.0f\n", o.workload, sizes[i],
		       r.delivered, r.seconds, (double)r.delivered / r.seconds);
	}
	for (unsigned int i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct sim_opts o;
		struct sim_result r;

		sim_default_opts(&o);
		o.workload = "device-storm";
		o.vcpus = sizes[i];
		o.host_cpus = sizes[i];
		o.messages = 20000;
		sim_or_die(&o, &r);
		printf("%-16s %6u %12" PRIu64 " %10.3f %12.0f  (+%" PRIu64 " merged, %" PRIu64
		       " GA log entries)\n", o.workload, sizes[i], r.delivered, r.seconds,
		       (double)(r.delivered + r.merged) / r.seconds, r.merged, r.ga_log_entries);
	}
	printf("\n");
	blocking_race();
}
