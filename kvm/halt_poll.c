// SPDX-License-Identifier: MIT
/*
 * Adaptive halt polling (kvm/halt_poll.h).  The window arithmetic is pure
 * so that it can be tested alone; the poll loop stops when the host has
 * other work.
 *
 * How the loop knows: KVM polls only while its thread is the only
 * runnable one on its CPU (single_task_running()).  The nearest fact
 * userspace can read cheaply is the scheduler's count of runnable tasks,
 * nr_running(), the "running" of /proc/loadavg's "running/total" field
 * (an instant count, not an average; one pread, about a microsecond on
 * the test host).  More runnable tasks than CPUs means one is waiting for
 * a CPU, and polling on only keeps it waiting (on a small host, often the
 * very vCPU that would send the wake-up).  It is coarser than KVM's test:
 * on a big host any oversubscribed CPU ends every poll.
 *
 * Why not sched_yield(): measured here, a poller that yields to a
 * CPU-bound competitor on its run queue gets the CPU back only when the
 * competitor's slice ends (milliseconds), even if its wake-up came a
 * microsecond later, while a blocked vCPU is woken, and preempts, at once:
 * 660 us per halting round trip against 300 us with no polling at all.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <vintc/host.h>

#include "halt_poll.h"

#define POLL_BATCH	64	/* ready() looks between clock reads and load looks */


static int loadavg_fd = -2;	/* -2: not opened yet; -1: cannot be */
static long host_cpus;

static int loadavg_open(void)
{
	int fd = __atomic_load_n(&loadavg_fd, __ATOMIC_ACQUIRE), expect = -2;

	if (fd != -2)
		return fd;
	fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
	__atomic_store_n(&host_cpus, sysconf(_SC_NPROCESSORS_ONLN), __ATOMIC_RELAXED);
	/* Opened once for the process; a racing opener closes its own. */
	if (!__atomic_compare_exchange_n(&loadavg_fd, &expect, fd < 0 ? -1 : fd, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		if (fd >= 0)
			close(fd);
		return expect;
	}
	return fd < 0 ? -1 : fd;
}

int vkvm_host_runnable(void)
{
	int fd = loadavg_open(), fields = 0;
	char buf[128], *p;
	ssize_t n;

	if (fd < 0)
		return -1;
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* "0.52 0.58 0.59 3/123 4567": the fourth field's first number. */
	for (p = buf; *p && fields < 3; p++)
		if (*p == ' ')
			fields++;
	return fields == 3 ? atoi(p) : -1;
}

static bool host_busy(void)
{
	int running = vkvm_host_runnable();

	return running > 0 && running > __atomic_load_n(&host_cpus, __ATOMIC_RELAXED);
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

/*
 * A host busy when the poll would start: no poll at all, it would only be
 * given up later.  While polling, two looks in a row must see the host
 * busy: a kernel worker that runs for a microsecond on another CPU is no
 * reason to stop (KVM, which looks at its own CPU only, would not see it).
 */
enum vkvm_poll_end vkvm_halt_poll_run(uint64_t window_ns, bool (*ready)(void *arg), void *arg)
{
	uint64_t end = host_now_ns() + window_ns;
	int busy = 0;

	if (ready(arg))
		return VKVM_POLL_READY;
	if (host_busy())
		return VKVM_POLL_HOST_BUSY;

	for (;;) {
		for (int i = 0; i < POLL_BATCH; i++) {
			if (ready(arg))
				return VKVM_POLL_READY;
			host_cpu_relax();
		}
		if (host_now_ns() >= end)
			return VKVM_POLL_TIMEOUT;
		busy = host_busy() ? busy + 1 : 0;
		if (busy == 2)
			return ready(arg) ? VKVM_POLL_READY : VKVM_POLL_HOST_BUSY;
	}
}
