// SPDX-License-Identifier: MIT
/*
 * Adaptive halt polling (kvm/halt_poll.c): the window arithmetic against
 * KVM's rules and defaults, and the poll loop's three ends, one of them
 * giving the CPU up to a busy thread on the same CPU.
 */
#include <pthread.h>
#include <sched.h>

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
 * Ready at the first look: READY before any yield.  Never ready: the
 * window runs out, or, on a busy host, a yield ran something else first.
 */
TEST(kvm_halt_poll_run_ready_and_timeout)
{
	enum vkvm_poll_end end;
	int left = 1;
	uint64_t t0;

	ASSERT_EQ(vkvm_halt_poll_run(1000000000ULL, ready_after, &left), VKVM_POLL_READY);
	left = 1000;
	end = vkvm_halt_poll_run(1000000000ULL, ready_after, &left);
	ASSERT(end == VKVM_POLL_READY || end == VKVM_POLL_YIELDED);
	t0 = host_now_ns();
	end = vkvm_halt_poll_run(100 * US, never, NULL);
	ASSERT(end == VKVM_POLL_TIMEOUT || end == VKVM_POLL_YIELDED);
	if (end == VKVM_POLL_TIMEOUT)
		ASSERT(host_now_ns() - t0 >= 100 * US);
}

static volatile int spin_stop;

static void *spinner(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&spin_stop, __ATOMIC_RELAXED))
		;
	return NULL;
}

static void pin_cpu0(pthread_t t)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	ASSERT_OK(pthread_setaffinity_np(t, sizeof(set), &set));
}

/*
 * A busy thread on the poller's CPU: the poll gives the CPU up within its
 * first yields instead of spinning out a half-second window.
 */
TEST(kvm_halt_poll_run_yields_to_other_work)
{
	enum vkvm_poll_end end = VKVM_POLL_READY;
	uint64_t took = 0;
	pthread_t t;

	pin_cpu0(pthread_self());
	ASSERT_OK(pthread_create(&t, NULL, spinner, NULL));
	pin_cpu0(t);
	/* A few tries: the spinner may not be on the run queue at once. */
	for (int i = 0; i < 3 && end != VKVM_POLL_YIELDED; i++) {
		uint64_t t0 = host_now_ns();

		end = vkvm_halt_poll_run(500000000ULL, never, NULL);
		took = host_now_ns() - t0;
	}
	__atomic_store_n(&spin_stop, 1, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	ASSERT_EQ(end, VKVM_POLL_YIELDED);
	ASSERT(took < 500000000ULL);
}
