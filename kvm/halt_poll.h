/* SPDX-License-Identifier: MIT */
/*
 * Halt polling for the userspace APIC's vCPUs (kvm/vcpu.c), sized per vCPU
 * the way KVM sizes its own (halt_poll_ns and its grow/shrink parameters,
 * Documentation/virt/kvm/halt-polling.rst), and giving the CPU up while
 * the host has other work to run, as KVM stops polling when
 * single_task_running() is false.  Private to kvm/.
 */
#ifndef VINTC_KVM_HALT_POLL_H
#define VINTC_KVM_HALT_POLL_H

#include <stdbool.h>
#include <stdint.h>

/* KVM's module-parameter defaults, with the same meanings. */
#define VKVM_POLL_GROW_START_NS	10000ULL	/* halt_poll_ns_grow_start: 10 us */
#define VKVM_POLL_GROW		2		/* halt_poll_ns_grow */
#define VKVM_POLL_SHRINK	2		/* halt_poll_ns_shrink (2 since KVM commit aeb1b22a3ac8) */

/*
 * The vCPU's polling window after a halt that lasted halt_ns in all
 * (polling and blocking), with `window` its window for that halt and max
 * the cap (--halt-poll-us; 0: never poll).  As KVM: a halt no longer than
 * the window (the poll saw the wake-up) leaves it; one longer than max,
 * which no poll could have ended, shrinks it (divided by VKVM_POLL_SHRINK,
 * 0 below VKVM_POLL_GROW_START_NS); one between the two, which a longer
 * poll would have caught, grows it (times VKVM_POLL_GROW, at least
 * VKVM_POLL_GROW_START_NS, at most max).  Pure arithmetic.
 */
uint64_t vkvm_halt_poll_next(uint64_t window, uint64_t max, uint64_t halt_ns);

enum vkvm_poll_end {
	VKVM_POLL_READY,	/* ready() said yes */
	VKVM_POLL_TIMEOUT,	/* the window ran out */
	VKVM_POLL_HOST_BUSY,	/* other work wanted a CPU: block instead */
};

/*
 * Poll ready(arg) for up to window_ns, and stop early when the host has
 * more runnable tasks than CPUs (vkvm_host_runnable()): then some task is
 * waiting for a CPU, and polling on would only delay it, on a busy host
 * often the vCPU that is to wake this one.  Blocking gives the CPU up.
 */
enum vkvm_poll_end vkvm_halt_poll_run(uint64_t window_ns, bool (*ready)(void *arg), void *arg);

/* Tasks runnable on the host now (the scheduler's nr_running()), or -1. */
int vkvm_host_runnable(void);

#endif
