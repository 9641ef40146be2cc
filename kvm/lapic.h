/* SPDX-License-Identifier: MIT */
/*
 * kvm/lapic.c: the guest's local APICs for kvm/run.c, one vintc AVIC vCPU
 * per guest vCPU (APIC ID = index) in one VM_ARCH_AVIC VM.  The backing
 * page is the APIC register page; xAPIC MMIO exits are classified the way
 * AVIC classifies guest accesses and go through the hypervisor paths
 * (hyp/avic.c), ICR writes through the silicon model (hw/avic_cpu.c).
 * Private to kvm/.
 */
#ifndef VINTC_KVM_LAPIC_H
#define VINTC_KVM_LAPIC_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <vintc/kvm_run.h>
#include <vintc/vm.h>

#include "trace.h"

#define VKVM_APIC_BASE	0xFEE00000ULL
#define VKVM_APIC_SIZE	0x1000ULL

/*
 * The APIC timer of one vCPU.  The APIC bus runs at VKVM_APIC_BUS_HZ, so
 * a count lasts TDCR's divisor nanoseconds; the divisor is latched when
 * TMICT is written.  deadline_ns is CLOCK_MONOTONIC, 0 when not counting.
 */
struct vkvm_timer {
	uint64_t deadline_ns;
	uint64_t period_ns;		/* one whole count: initial * divisor */
	uint64_t tsc_deadline;		/* IA32_TSC_DEADLINE as armed, 0: disarmed */
	uint32_t initial, divisor;
	/*
	 * A TSC deadline at most VKVM_TIMER_NEAR_NS ahead is the vCPU
	 * thread's own (kvm/lapic_timer.c): local_ns instead of deadline_ns,
	 * and kick_timer (made by that thread) signals it out of KVM_RUN
	 * then.  It fires early, so that the injection is ready by the
	 * deadline, and the thread then enters the guest no sooner than
	 * entry_ns (the deadline): advance_ns[0] early when running (the kick
	 * timer), [1] when blocked (the block timeout), each tuned to its
	 * path; `blocked` says which one the thread is on.  A farther one is
	 * the timer thread's (deadline_ns, and far_ns the same), unless the
	 * vCPU is halted when it is due: then the vCPU takes it.  Written by
	 * that thread only, under timer_lock.
	 */
	uint64_t local_ns, far_ns, entry_ns, advance_ns[2];
	bool blocked, entry_blocked;
	timer_t kick_timer;
	bool has_kick_timer;
};

#define VKVM_APIC_BUS_HZ	1000000000ULL	/* 1 GHz, as KVM's own LAPIC */
#define VKVM_MIN_PERIOD_NS	200000ULL	/* periodic mode, as KVM's default */

struct vkvm_lapic {
	struct vm *vm;
	uint32_t nr;
	struct vcpu *vcpus[VKVM_MAX_CPUS];
	/*
	 * Make vCPU idx look at what was posted to it alone (INIT, SIPI, NMI,
	 * or an IRR bit while AVIC is inhibited) now: the runner signals it
	 * if it is inside KVM_RUN.  The model's vcpu_kick() calls it, from any
	 * thread, for that vCPU only.  Set it before any vCPU thread starts.
	 */
	void (*kick)(void *opaque, uint32_t idx);
	void *opaque;
	/*
	 * vCPU idx's EOI ended `vector`, which it accepted level-triggered
	 * (TMR set): the local APIC's broadcast to the I/O APIC, on vCPU
	 * idx's own thread (kvm/irq.c routes it).  NULL: no I/O APIC.  Set
	 * before any vCPU thread starts; it takes this same opaque.
	 */
	void (*eoi)(void *opaque, uint32_t idx, uint8_t vector);
	struct vkvm_trace *trace;	/* NULL unless --trace */
	struct vkvm_apic_stats st;	/* counters updated atomically */

	/*
	 * One thread fires every vCPU's timer at its deadline: IRR through
	 * the model (avic_deliver), which rings the doorbell for a running
	 * vCPU and wakes a halted one.  timer_lock covers the timers and
	 * every write to LVTT, SVR, TMICT and TDCR in the register pages.
	 */
	pthread_mutex_t timer_lock;
	pthread_cond_t timer_cond;
	pthread_t timer_thread;
	bool timer_running, timer_stop;
	struct vkvm_timer timers[VKVM_MAX_CPUS];

	/*
	 * IA32_APIC_BASE of each vCPU: EN and EXTD decide between xAPIC
	 * MMIO, x2APIC MSRs and a disabled APIC; bits 51:12 place the xAPIC
	 * page.  The guest's WRMSR when the MSR filter routes 0x1B here
	 * (vkvm_lapic_check_base, then vkvm_lapic_set_base), else what KVM
	 * last reported (run->apic_base).  Written and read by vCPU idx's own
	 * thread only.
	 */
	uint64_t apic_base[VKVM_MAX_CPUS];
	/* LVR offers EOI-broadcast suppression (vkvm_lapic_set_directed_eoi). */
	bool directed_eoi;
	/*
	 * vCPU idx's xAPIC page moved from old_page to new_page (page
	 * addresses, EN aside): the runner moves its MMIO window.  On vCPU
	 * idx's own thread; NULL: nothing to move.  Set before any vCPU
	 * thread starts.
	 */
	void (*move)(void *move_opaque, uint32_t idx, uint64_t old_page, uint64_t new_page);
	void *move_opaque;
};

/* The VM and nr vCPUs, each with a reset APIC; -errno and why on failure. */
int vkvm_lapic_init(struct vkvm_lapic *l, uint32_t nr, char *why, size_t why_size);
/*
 * Offer EOI-broadcast suppression in every vCPU's LVR from now on, and
 * after every reset, as KVM's LAPIC does when CPUID has x2APIC and the
 * I/O APIC is the VMM's.  After vkvm_lapic_init, before any vCPU runs.
 */
void vkvm_lapic_set_directed_eoi(struct vkvm_lapic *l, bool offered);
void vkvm_lapic_fini(struct vkvm_lapic *l);
/* Start and stop the timer thread (stop is idempotent; fini calls it). */
int vkvm_lapic_timer_start(struct vkvm_lapic *l, char *why, size_t why_size);
void vkvm_lapic_timer_stop(struct vkvm_lapic *l);

/*
 * A 4-byte access by vCPU idx to APIC register offset `off`.  A read fills
 * *val; a write takes it.  Returns true when the write changed TPR (the
 * caller then mirrors it into CR8).
 */
bool vkvm_lapic_access(struct vkvm_lapic *l, uint32_t idx, uint32_t off, bool write,
		       uint32_t *val);

/*
 * A RDMSR or WRMSR by vCPU idx to an x2APIC MSR (0x800-0x8FF).  Returns
 * -EINVAL when the architecture raises #GP (not in x2APIC mode, no such
 * register, a write to a read-only one, a read of a write-only one,
 * reserved bits set), 1 when a write changed TPR (mirror it into CR8),
 * else 0.
 */
int vkvm_lapic_msr(struct vkvm_lapic *l, uint32_t idx, uint32_t msr, bool write,
		   uint64_t *val);
/*
 * IA32_TSC_DEADLINE.  guest_tsc is the guest's TSC now and tsc_khz its
 * rate; a write arms (0 disarms) only in TSC-deadline mode and is ignored
 * otherwise; a read gives the armed deadline, 0 once it fired.
 */
void vkvm_lapic_tsc_deadline(struct vkvm_lapic *l, uint32_t idx, bool write, uint64_t *val,
			     uint64_t guest_tsc, uint64_t tsc_khz);
/*
 * The timer work of vCPU idx's own thread (a TSC deadline in the past
 * fires inside vkvm_lapic_tsc_deadline; a near one is this thread's):
 * cpu_init, on that thread before its first KVM_RUN, makes the timer that
 * signals it out of KVM_RUN (VKVM_KICK_SIGNAL; without one, near deadlines
 * go to the timer thread too); cpu_fini, on that thread, deletes it.
 * timer_poll fires a near deadline that is due (IRR set): call it before
 * each entry and while halted; it returns true if it fired one.  It may
 * take back a pending kick signal (its own): call it only before the
 * vCPU's last look at its APIC and events before KVM_RUN.
 * timer_wait_ns is how long a halted vCPU may sleep: max, or less until
 * its near deadline.
 */
void vkvm_lapic_timer_cpu_init(struct vkvm_lapic *l, uint32_t idx);
void vkvm_lapic_timer_cpu_fini(struct vkvm_lapic *l, uint32_t idx);
bool vkvm_lapic_timer_poll(struct vkvm_lapic *l, uint32_t idx);
uint64_t vkvm_lapic_timer_wait_ns(struct vkvm_lapic *l, uint32_t idx, uint64_t max);
/*
 * Right before KVM_RUN: a near deadline fired early (its IRR bit set,
 * maybe injected already) must not reach the guest before it is due, as
 * KVM's LAPIC waits for its own advanced timer: spin until then.
 */
void vkvm_lapic_timer_entry(struct vkvm_lapic *l, uint32_t idx);
/*
 * IA32_APIC_BASE.  check: may the guest write val (vlapic_apic_base_check
 * with the guest's CPUID: x2APIC advertised, MAXPHYADDR)?  0, or -EINVAL
 * for #GP.  set: the APIC follows a legal value (the guest's checked
 * write, or what KVM reports after an exit): EN changing resets it to its
 * power-up state with its AVIC backing page (x2AVIC off, xAPIC ID),
 * entering x2APIC widens the ID, and a new address moves the window.
 * Returns true when it reset the APIC (TPR is 0 now: mirror CR8).
 */
int vkvm_lapic_check_base(struct vkvm_lapic *l, uint32_t idx, uint64_t val,
			  bool x2apic_supported, unsigned int maxphyaddr);
bool vkvm_lapic_set_base(struct vkvm_lapic *l, uint32_t idx, uint64_t apic_base);
uint64_t vkvm_lapic_base(struct vkvm_lapic *l, uint32_t idx);
/* The xAPIC page answers (EN = 1, EXTD = 0); otherwise MMIO is unbacked. */
bool vkvm_lapic_mmio_enabled(struct vkvm_lapic *l, uint32_t idx);
bool vkvm_lapic_x2apic(struct vkvm_lapic *l, uint32_t idx);

/* CR8 as KVM last stored it becomes TPR[7:4]; PPR follows. */
void vkvm_lapic_set_cr8(struct vkvm_lapic *l, uint32_t idx, uint64_t cr8);
uint64_t vkvm_lapic_cr8(struct vkvm_lapic *l, uint32_t idx);
bool vkvm_lapic_deliverable(struct vkvm_lapic *l, uint32_t idx);
/* IRR -> ISR for the highest deliverable vector: the one to inject, or -1. */
int vkvm_lapic_accept(struct vkvm_lapic *l, uint32_t idx);
/* INIT: the register page back to its reset state. */
void vkvm_lapic_reset(struct vkvm_lapic *l, uint32_t idx);
/* Add the model's own counters (wake-ups) to the result's. */
void vkvm_lapic_stats(struct vkvm_lapic *l, struct vkvm_apic_stats *out);

#endif
