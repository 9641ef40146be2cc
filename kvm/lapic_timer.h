/* SPDX-License-Identifier: MIT */
/*
 * Between kvm/lapic.c and kvm/lapic_timer.c only: the runner calls the
 * timer through kvm/lapic.h (vkvm_lapic_timer_start/stop/tsc_deadline).
 * timer_lock covers the timers and every write to LVTT, SVR, TMICT and
 * TDCR in the register pages: the timer thread reads LVTT under it.
 */
#ifndef VINTC_KVM_LAPIC_TIMER_H
#define VINTC_KVM_LAPIC_TIMER_H

#include <vintc/avic.h>

#include "lapic.h"

/* vCPU idx's APIC register page (the model's backing page). */
static inline void *vkvm_lapic_regs(struct vkvm_lapic *l, uint32_t idx)
{
	return avic_vcpu_backing(l->vcpus[idx]);
}

/* timer_lock and timer_cond; destroyed once the thread is stopped. */
void vkvm_timer_init(struct vkvm_lapic *l);
void vkvm_timer_destroy(struct vkvm_lapic *l);
/* TMCCT: the counts left until the deadline, 0 once a one-shot expired. */
uint32_t vkvm_timer_current(struct vkvm_lapic *l, uint32_t idx);
/* Is a write to this register to be made under timer_lock? */
bool vkvm_timer_reg(uint32_t off);
/*
 * After the model took a write to `off` (timer_lock held): TMICT arms (or,
 * 0, stops) the timer; an LVTT timer-mode change from old_lvtt disarms it.
 */
void vkvm_timer_written(struct vkvm_lapic *l, uint32_t idx, uint32_t off, uint32_t old_lvtt);
/* INIT or disable (timer_lock held): the timer stops, nothing armed. */
void vkvm_timer_clear(struct vkvm_lapic *l, uint32_t idx);
/* TSC ticks to ns at tsc_khz (1 GHz for 0), saturating. */
uint64_t vkvm_timer_tsc_to_ns(uint64_t ticks, uint64_t tsc_khz);

/*
 * A TSC deadline this close (or closer) is armed on the vCPU's own thread.
 * Measured on the nested test host, through the timer thread a deadline
 * 200 us ahead reached the guest's handler 36-57 us late (that thread's
 * wake-up, then a signal to the vCPU), on the vCPU's thread 13-21 us late;
 * from a millisecond on, both paths wait mostly for the host to wake an
 * idle CPU (55-70 us, KVM's own LAPIC alike), and the timer thread keeps
 * those, as it keeps one-shot and periodic counts.  A millisecond is
 * also Linux's shortest tick (HZ=1000): every tick is the vCPU's own.
 */
#define VKVM_TIMER_NEAR_NS	1000000ULL

/*
 * How early a deadline of the vCPU thread fires at first, and at most:
 * from the kick timer's signal to KVM_RUN (the exit, the injection ioctl)
 * is 5-15 us on the nested test host and about 1 us on bare metal; from a
 * halted vCPU's block timeout to KVM_RUN, 40-60 us there, mostly the host
 * waking an idle CPU.  Each vCPU tunes both between 0 and their maximum.
 */
#define VKVM_TIMER_ADVANCE_START_NS	5000ULL
#define VKVM_TIMER_BLOCK_ADVANCE_MAX_NS	100000ULL
#define VKVM_TIMER_ADVANCE_MAX_NS	20000ULL

#endif
