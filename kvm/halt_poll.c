// SPDX-License-Identifier: MIT
/*
 * Adaptive halt polling (kvm/halt_poll.h).  The window arithmetic is pure
 * so that it can be tested alone; the poll loop gives the CPU up between
 * batches.
 *
 * Why sched_yield() and its duration: KVM polls only while its thread is
 * the only runnable one on the CPU (single_task_running()), a fact
 * userspace cannot read cheaply.  /proc/self/schedstat's run delay needs an
 * open and a read per look (several microseconds) and is updated only at
 * scheduler events; getrusage()'s involuntary switches need a syscall as
 * well and still no yield.  A yield both asks the question and answers it
 * the right way: with nothing else runnable it returns at once, and with
 * something it runs that first, which is what KVM's poll does by stopping.
 * How long it took says which happened.
 */
#include <sched.h>

#include <vintc/host.h>

#include "halt_poll.h"

#define POLL_BATCH	64	/* ready() looks between clock reads and yields */

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	__asm__ volatile("" ::: "memory");
#endif
}

uint64_t vkvm_halt_poll_next(uint64_t window, uint64_t max, uint64_t halt_ns)
{
	if (!max)
		return 0;
	if (window > max)
		window = max;
	if (halt_ns <= window)
		return window;		/* the poll caught it: keep the window */
	if (halt_ns > max) {
		/* Too long for any poll: shrink. */
		window = VKVM_POLL_SHRINK ? window / VKVM_POLL_SHRINK : 0;
		return window < VKVM_POLL_GROW_START_NS ? 0 : window;
	}
	/* A longer poll would have caught it: grow. */
	if (window >= max)
		return max;
	window *= VKVM_POLL_GROW;
	if (window < VKVM_POLL_GROW_START_NS)
		window = VKVM_POLL_GROW_START_NS;
	return window > max ? max : window;
}

enum vkvm_poll_end vkvm_halt_poll_run(uint64_t window_ns, bool (*ready)(void *arg), void *arg)
{
	uint64_t end = host_now_ns() + window_ns;

	for (;;) {
		uint64_t before, after;

		for (int i = 0; i < POLL_BATCH; i++) {
			if (ready(arg))
				return VKVM_POLL_READY;
			cpu_relax();
		}
		before = host_now_ns();
		if (before >= end)
			return VKVM_POLL_TIMEOUT;
		sched_yield();
		after = host_now_ns();
		if (after - before > VKVM_POLL_YIELDED_NS)
			return ready(arg) ? VKVM_POLL_READY : VKVM_POLL_YIELDED;
	}
}
