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

#endif
