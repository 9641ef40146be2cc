// SPDX-License-Identifier: MIT
/*
 * Adaptive halt polling (kvm/halt_poll.c): the window arithmetic against
 * KVM's rules and defaults, and the poll loop's three ends, one of them
 * giving up because more threads are runnable than the host has CPUs.
 */
#include <pthread.h>
#include <unistd.h>

#include <vintc/host.h>

#include "kvm/halt_poll.h"
#include "test.h"

#define US	1000ULL
#define MAX	(200 * US)

static uint64_t next(uint64_t window, uint64_t halt_ns)
{
	return vkvm_halt_poll_next(window, MAX, halt_ns);
}

/* Halts a longer poll would have caught: 0, 10, 20, 40 ... up to the cap. */
TEST(kvm_halt_poll_grows)
{
	uint64_t w = 0;

	w = next(w, 50 * US);
	ASSERT_EQ(w, VKVM_POLL_GROW_START_NS);
	w = next(w, 50 * US);
	ASSERT_EQ(w, 20 * US);
	w = next(w, 50 * US);
	ASSERT_EQ(w, 40 * US);
	w = next(w, 150 * US);
	ASSERT_EQ(w, 80 * US);
	w = next(w, 150 * US);
	ASSERT_EQ(w, 160 * US);
	w = next(w, 199 * US);
	ASSERT_EQ(w, MAX);				/* capped, not 320 */
	ASSERT_EQ(next(MAX, 199 * US), MAX);
	/* Below grow_start it grows to grow_start, never shrinks. */
	ASSERT_EQ(next(3 * US, 50 * US), VKVM_POLL_GROW_START_NS);
	/* Exactly the cap still grows (KVM: shrink only when longer). */
	ASSERT_EQ(next(80 * US, MAX), 160 * US);
}

/* The poll caught the wake-up: the window stays. */
TEST(kvm_halt_poll_keeps)
{
	ASSERT_EQ(next(40 * US, 5 * US), 40 * US);
	ASSERT_EQ(next(40 * US, 40 * US), 40 * US);
	ASSERT_EQ(next(MAX, 1), MAX);
	ASSERT_EQ(next(0, 0), 0);
}

/* Halts longer than any poll: halve, and to 0 below grow_start. */
TEST(kvm_halt_poll_shrinks)
{
	ASSERT_EQ(next(MAX, MAX + 1), MAX / VKVM_POLL_SHRINK);
	ASSERT_EQ(next(160 * US, 10000 * US), 80 * US);
	ASSERT_EQ(next(20 * US, 10000 * US), 10 * US);
	ASSERT_EQ(next(10 * US, 10000 * US), 0);	/* 5 us < grow_start */
	ASSERT_EQ(next(0, 10000 * US), 0);
	/* From the cap, a run of long halts ends at 0 in a few steps. */
	{
		uint64_t w = MAX;
		int steps = 0;

		while (w && steps < 64) {
			w = next(w, 1000000000ULL);
			steps++;
		}
		ASSERT_EQ(w, 0);
		ASSERT(steps <= 5);
	}
}

/* The cap: 0 never polls; a lowered cap clamps a larger window. */
TEST(kvm_halt_poll_cap)
{
	ASSERT_EQ(vkvm_halt_poll_next(0, 0, 5 * US), 0);
	ASSERT_EQ(vkvm_halt_poll_next(MAX, 0, 5 * US), 0);
	ASSERT_EQ(vkvm_halt_poll_next(MAX, 50 * US, 5 * US), 50 * US);
	ASSERT_EQ(vkvm_halt_poll_next(MAX, 50 * US, 20 * US), 50 * US);
	ASSERT_EQ(vkvm_halt_poll_next(0, 5 * US, 3 * US), 5 * US);	/* cap < grow_start */
	ASSERT_EQ(vkvm_halt_poll_next(5 * US, 5 * US, 4 * US), 5 * US);
}

static bool ready_after(void *arg)
{
	int *left = arg;

	return --*left <= 0;
}

static bool never(void *arg)
{
	(void)arg;
	return false;
}

/*
 * Ready at the first look: READY before anything else.  Never ready: the
 * window runs out, or, on a busy host, the poll gives up for other work.
 */
TEST(kvm_halt_poll_run_ready_and_timeout)
{
	enum vkvm_poll_end end;
	int left = 1;
	uint64_t t0;

	ASSERT_EQ(vkvm_halt_poll_run(1000000000ULL, ready_after, &left), VKVM_POLL_READY);
	left = 1000;
	end = vkvm_halt_poll_run(1000000000ULL, ready_after, &left);
	ASSERT(end == VKVM_POLL_READY || end == VKVM_POLL_HOST_BUSY);
	t0 = host_now_ns();
	end = vkvm_halt_poll_run(100 * US, never, NULL);
	ASSERT(end == VKVM_POLL_TIMEOUT || end == VKVM_POLL_HOST_BUSY);
	if (end == VKVM_POLL_TIMEOUT)
		ASSERT(host_now_ns() - t0 >= 100 * US);
}

static uint32_t spin_stop;

static void *spinner(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&spin_stop, __ATOMIC_RELAXED))
		;
	return NULL;
}

TEST(kvm_halt_poll_host_runnable)
{
	int n = vkvm_host_runnable();

	/* This thread runs: at least one, if /proc is there at all. */
	ASSERT(n == -1 || n >= 1);
}

/*
 * As many spinning threads as the host has CPUs, and this one: more
 * runnable than CPUs, so a 2-second poll gives up within its first looks.
 */
TEST(kvm_halt_poll_run_gives_up_for_other_work)
{
	enum vkvm_poll_end end = VKVM_POLL_READY;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	pthread_t t[64];
	uint64_t took = 0;

	if (vkvm_host_runnable() < 0)
		test_skip("no /proc/loadavg");
	if (cpus > 64)
		cpus = 64;
	for (long i = 0; i < cpus; i++)
		ASSERT_OK(pthread_create(&t[i], NULL, spinner, NULL));
	usleep(20000);		/* on the run queues */
	for (int i = 0; i < 3 && end != VKVM_POLL_HOST_BUSY; i++) {
		uint64_t t0 = host_now_ns();

		end = vkvm_halt_poll_run(2000000000ULL, never, NULL);
		took = host_now_ns() - t0;
	}
	__atomic_store_n(&spin_stop, 1, __ATOMIC_RELAXED);
	for (long i = 0; i < cpus; i++)
		pthread_join(t[i], NULL);
	ASSERT_EQ(end, VKVM_POLL_HOST_BUSY);
	ASSERT(took < 2000000000ULL);
}
