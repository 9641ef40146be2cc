/* SPDX-License-Identifier: MIT */
/*
 * Shared helpers of vintc-bench: a monotonic clock, a fixed-seed PRNG (so
 * every run, and both allocators within a run, see the same random
 * choices) and a fatal-error exit.
 */
#ifndef VINTC_BENCH_H
#define VINTC_BENCH_H

#include <stdint.h>
#include <time.h>

#define NSEC_PER_SEC 1000000000ULL

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* splitmix64: tiny, fast, good enough to pick victims and shuffle. */
static inline uint64_t bench_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n) without a division (Lemire's multiply-shift). */
static inline uint32_t bench_rand_below(uint64_t *state, uint32_t n)
{
	return (uint32_t)(((bench_rand(state) >> 32) * n) >> 32);
}

void bench_die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* The two benchmarks; each prints its own table. */
void bench_ids(void);
void bench_vm(void);
void bench_delivery(void);
/* Real guests on /dev/kvm, both irqchips; a printed skip without it. */
void bench_kvm(void);
/* The halting ping-pong, idle and loaded host; TSC-deadline latency. */
void bench_kvm_halt(void);
void bench_kvm_timer(void);

#endif
