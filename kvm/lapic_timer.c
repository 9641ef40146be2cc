// SPDX-License-Identifier: MIT
/*
 * The APIC timer of the KVM runner's local APICs.  The AVIC model has no
 * timer (the hypervisor reads the current count as 0), so this file keeps
 * one per vCPU beside it: TMICT, TDCR and LVTT live in the backing page as
 * the guest wrote them, and the deadlines here.  One thread fires every
 * vCPU's timer through the model (avic_deliver).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <vintc/amd_defs.h>
#include <vintc/avic.h>

#include "lapic_timer.h"

static uint32_t reg_load(void *regs, uint32_t off)
{
	return __atomic_load_n(apic_reg(regs, off), __ATOMIC_ACQUIRE);
}

#define LVT_TIMER_MODE_SHIFT	17
#define LVT_TIMER_MODE_MASK	(3U << LVT_TIMER_MODE_SHIFT)
#define LVT_TIMER_PERIODIC	(1U << LVT_TIMER_MODE_SHIFT)
#define LVT_TIMER_TSC_DEADLINE	(2U << LVT_TIMER_MODE_SHIFT)
#define LVT_VECTOR_MASK		0xFFU
#define NS_PER_S		1000000000ULL

void vkvm_timer_init(struct vkvm_lapic *l)
{
	pthread_condattr_t attr;

	pthread_mutex_init(&l->timer_lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&l->timer_cond, &attr);
	pthread_condattr_destroy(&attr);
}

/* TDCR bits 3, 1:0 -> divide by 2, 4, ..., 128, or 1 for 0b111. */
static uint32_t tdcr_divisor(uint32_t tdcr)
{
	uint32_t code = ((tdcr & 8) >> 1) | (tdcr & 3);

	return code == 7 ? 1 : 2U << code;
}

/*
 * TMICT was written (timer_lock held): start counting down from it, or
 * stop when it is 0.  A TSC-deadline LVT ignores TMICT (the mode is hidden
 * in CPUID).
 */
static void timer_arm(struct vkvm_lapic *l, uint32_t idx)
{
	void *regs = vkvm_lapic_regs(l, idx);
	struct vkvm_timer *t = &l->timers[idx];
	uint32_t lvtt = reg_load(regs, APIC_LVTT);
	uint64_t ns_per_count;

	t->initial = reg_load(regs, APIC_TMICT);
	t->divisor = tdcr_divisor(reg_load(regs, APIC_TDCR));
	t->deadline_ns = 0;
	if (!t->initial || (lvtt & LVT_TIMER_MODE_MASK) == LVT_TIMER_TSC_DEADLINE)
		return;
	ns_per_count = t->divisor * NS_PER_S / VKVM_APIC_BUS_HZ;
	t->period_ns = (uint64_t)t->initial * (ns_per_count ? ns_per_count : 1);
	/*
	 * A periodic timer of a few counts would keep the timer thread firing
	 * without pause: clamp the period, as KVM does (min_timer_period_us).
	 */
	if ((lvtt & LVT_TIMER_MODE_MASK) == LVT_TIMER_PERIODIC && t->period_ns < VKVM_MIN_PERIOD_NS)
		t->period_ns = VKVM_MIN_PERIOD_NS;
	t->deadline_ns = host_now_ns() + t->period_ns;
	pthread_cond_signal(&l->timer_cond);
}

/* TMCCT: the counts left until the deadline, 0 once a one-shot expired. */
uint32_t vkvm_timer_current(struct vkvm_lapic *l, uint32_t idx)
{
	struct vkvm_timer *t = &l->timers[idx];
	uint64_t now = host_now_ns(), left, ns_per_count;
	uint32_t val = 0;

	pthread_mutex_lock(&l->timer_lock);
	if (t->deadline_ns > now) {
		ns_per_count = t->divisor * NS_PER_S / VKVM_APIC_BUS_HZ;
		if (!ns_per_count)
			ns_per_count = 1;
		left = (t->deadline_ns - now + ns_per_count - 1) / ns_per_count;
		val = left > t->initial ? t->initial : (uint32_t)left;
	}
	pthread_mutex_unlock(&l->timer_lock);
	return val;
}

/*
 * Expire every timer whose deadline passed (timer_lock held): a periodic
 * one re-arms a whole period after its last deadline (missed periods are
 * dropped, not queued), a one-shot stops.  The vectors to deliver go to
 * vec[i], -1 for none (masked LVT, or an illegal vector).
 */
static void timer_expire(struct vkvm_lapic *l, uint64_t now, int *vec)
{
	for (uint32_t i = 0; i < l->nr; i++) {
		struct vkvm_timer *t = &l->timers[i];
		uint32_t lvtt;

		vec[i] = -1;
		if (!t->deadline_ns || t->deadline_ns > now)
			continue;
		lvtt = reg_load(vkvm_lapic_regs(l, i), APIC_LVTT);
		if ((lvtt & LVT_TIMER_MODE_MASK) == LVT_TIMER_PERIODIC) {
			t->deadline_ns += t->period_ns;
			if (t->deadline_ns <= now)
				t->deadline_ns = now + t->period_ns;
		} else {
			/* One-shot, or a TSC deadline: IA32_TSC_DEADLINE reads 0 now. */
			t->deadline_ns = 0;
			t->tsc_deadline = 0;
		}
		__atomic_add_fetch(&l->st.timer_fires, 1, __ATOMIC_RELAXED);
		if (!(lvtt & APIC_LVT_MASKED) && (lvtt & LVT_VECTOR_MASK) >= 16)
			vec[i] = (int)(lvtt & LVT_VECTOR_MASK);
	}
}

static void *timer_main(void *arg)
{
	struct vkvm_lapic *l = arg;
	int vec[VKVM_MAX_CPUS];

	vkvm_trace_set_track(l->nr);
	pthread_mutex_lock(&l->timer_lock);
	while (!l->timer_stop) {
		uint64_t now = host_now_ns(), next = 0;
		struct timespec ts;

		timer_expire(l, now, vec);
		/* Deliver unlocked: the kick takes the runner's paths. */
		pthread_mutex_unlock(&l->timer_lock);
		for (uint32_t i = 0; i < l->nr; i++)
			if (vec[i] >= 0) {
				vkvm_trace_ev(l->trace, VKVM_EV_TIMER, i);
				avic_deliver(l->vcpus[i], (uint8_t)vec[i]);
			}
		pthread_mutex_lock(&l->timer_lock);
		if (l->timer_stop)
			break;
		for (uint32_t i = 0; i < l->nr; i++)
			if (l->timers[i].deadline_ns &&
			    (!next || l->timers[i].deadline_ns < next))
				next = l->timers[i].deadline_ns;
		if (!next) {
			pthread_cond_wait(&l->timer_cond, &l->timer_lock);
			continue;
		}
		if (next <= host_now_ns())
			continue;
		ts.tv_sec = (time_t)(next / NS_PER_S);
		ts.tv_nsec = (long)(next % NS_PER_S);
		pthread_cond_timedwait(&l->timer_cond, &l->timer_lock, &ts);
	}
	pthread_mutex_unlock(&l->timer_lock);
	return NULL;
}

int vkvm_lapic_timer_start(struct vkvm_lapic *l, char *why, size_t why_size)
{
	int ret;

	l->timer_stop = false;
	ret = pthread_create(&l->timer_thread, NULL, timer_main, l);
	if (ret) {
		snprintf(why, why_size, "cannot start the APIC timer thread: %s", strerror(ret));
		return -ret;
	}
	l->timer_running = true;
	return 0;
}

void vkvm_lapic_timer_stop(struct vkvm_lapic *l)
{
	if (!l->timer_running)
		return;
	pthread_mutex_lock(&l->timer_lock);
	l->timer_stop = true;
	pthread_cond_signal(&l->timer_cond);
	pthread_mutex_unlock(&l->timer_lock);
	pthread_join(l->timer_thread, NULL);
	l->timer_running = false;
}

bool vkvm_timer_reg(uint32_t off)
{
	return off == APIC_LVTT || off == APIC_TMICT || off == APIC_TDCR || off == APIC_SPIV;
}

/*
 * LVTT written (timer_lock held): a change of timer mode disarms the timer,
 * as on hardware; a deadline armed in the old mode must not fire in the new.
 */
static void timer_mode_update(struct vkvm_lapic *l, uint32_t idx, uint32_t old_lvtt)
{
	struct vkvm_timer *t = &l->timers[idx];
	uint32_t lvtt = reg_load(vkvm_lapic_regs(l, idx), APIC_LVTT);

	if ((lvtt ^ old_lvtt) & LVT_TIMER_MODE_MASK) {
		t->deadline_ns = 0;
		t->tsc_deadline = 0;
	}
}

void vkvm_timer_written(struct vkvm_lapic *l, uint32_t idx, uint32_t off, uint32_t old_lvtt)
{
	if (off == APIC_TMICT)
		timer_arm(l, idx);
	else if (off == APIC_LVTT)
		timer_mode_update(l, idx, old_lvtt);
}

void vkvm_timer_clear(struct vkvm_lapic *l, uint32_t idx)
{
	memset(&l->timers[idx], 0, sizeof(l->timers[idx]));
}

void vkvm_timer_destroy(struct vkvm_lapic *l)
{
	pthread_cond_destroy(&l->timer_cond);
	pthread_mutex_destroy(&l->timer_lock);
}

void vkvm_lapic_tsc_deadline(struct vkvm_lapic *l, uint32_t idx, bool write, uint64_t *val,
			     uint64_t guest_tsc, uint64_t tsc_khz)
{
	struct vkvm_timer *t = &l->timers[idx];
	bool deadline_mode;

	pthread_mutex_lock(&l->timer_lock);
	deadline_mode = (reg_load(vkvm_lapic_regs(l, idx), APIC_LVTT) & LVT_TIMER_MODE_MASK) ==
			LVT_TIMER_TSC_DEADLINE;
	if (!write) {
		*val = deadline_mode ? t->tsc_deadline : 0;
	} else if (deadline_mode) {
		t->tsc_deadline = *val;
		t->deadline_ns = 0;
		if (*val) {
			uint64_t delta = *val > guest_tsc ? *val - guest_tsc : 0;

			/* TSC ticks to ns: tsc_khz ticks per microsecond / 1000. */
			if (!tsc_khz)
				tsc_khz = 1000000;	/* 1 GHz if KVM will not say */
			if (delta > UINT64_MAX / 1000000)
				delta = UINT64_MAX / 1000000;
			t->deadline_ns = host_now_ns() + delta * 1000000 / tsc_khz;
			if (!t->deadline_ns)
				t->deadline_ns = 1;
			pthread_cond_signal(&l->timer_cond);
		}
	}
	pthread_mutex_unlock(&l->timer_lock);
}
