// SPDX-License-Identifier: MIT
/*
 * The guest's local APICs on the AVIC model.  Every decision is the
 * model's: the backing page holds the registers, AVIC's access classes say
 * what an MMIO access does, the silicon model (avic_cpu_icr_write) resolves
 * ICR writes through the physical and logical tables, and its incomplete-IPI
 * exits go to the hypervisor (avic_handle_incomplete_ipi) exactly as
 * sim/sim.c sends them.
 *
 * Guest vCPU i is AVIC vCPU i with APIC ID i, loaded on model host CPU i
 * (host APIC ID i in the default topology), so a doorbell to host APIC ID i
 * means "guest vCPU i, if it is inside KVM_RUN".
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <vintc/amd_defs.h>
#include <vintc/avic.h>
#include <vintc/avic_cpu.h>
#include <vintc/vlapic.h>

#include "lapic.h"

static void count(uint64_t *c, uint64_t n)
{
	__atomic_add_fetch(c, n, __ATOMIC_RELAXED);
}

static void *regs_of(struct vkvm_lapic *l, uint32_t idx)
{
	return to_avic_vcpu(l->vcpus[idx])->backing;
}

/* ---- the APIC timer ------------------------------------------------------ */

#define LVT_TIMER_MODE_SHIFT	17
#define LVT_TIMER_MODE_MASK	(3U << LVT_TIMER_MODE_SHIFT)
#define LVT_TIMER_PERIODIC	(1U << LVT_TIMER_MODE_SHIFT)
#define LVT_TIMER_TSC_DEADLINE	(2U << LVT_TIMER_MODE_SHIFT)
#define LVT_VECTOR_MASK		0xFFU
#define NS_PER_S		1000000000ULL

static void timer_init_sync(struct vkvm_lapic *l)
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

static uint32_t reg_load(void *regs, uint32_t off)
{
	return __atomic_load_n(apic_reg(regs, off), __ATOMIC_ACQUIRE);
}

/*
 * TMICT was written (timer_lock held): start counting down from it, or
 * stop when it is 0.  A TSC-deadline LVT ignores TMICT (the mode is hidden
 * in CPUID).
 */
static void timer_arm(struct vkvm_lapic *l, uint32_t idx)
{
	void *regs = regs_of(l, idx);
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
static uint32_t timer_current(struct vkvm_lapic *l, uint32_t idx)
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
		lvtt = reg_load(regs_of(l, i), APIC_LVTT);
		if ((lvtt & LVT_TIMER_MODE_MASK) == LVT_TIMER_PERIODIC) {
			t->deadline_ns += t->period_ns;
			if (t->deadline_ns <= now)
				t->deadline_ns = now + t->period_ns;
		} else {
			/* One-shot, or a TSC deadline: IA32_TSC_DEADLINE reads 0 now. */
			t->deadline_ns = 0;
			t->tsc_deadline = 0;
		}
		count(&l->st.timer_fires, 1);
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

static bool timer_reg(uint32_t off)
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
	uint32_t lvtt = reg_load(regs_of(l, idx), APIC_LVTT);

	if ((lvtt ^ old_lvtt) & LVT_TIMER_MODE_MASK) {
		t->deadline_ns = 0;
		t->tsc_deadline = 0;
	}
}

void vkvm_lapic_tsc_deadline(struct vkvm_lapic *l, uint32_t idx, bool write, uint64_t *val,
			     uint64_t guest_tsc, uint64_t tsc_khz)
{
	struct vkvm_timer *t = &l->timers[idx];
	bool deadline_mode;

	pthread_mutex_lock(&l->timer_lock);
	deadline_mode = (reg_load(regs_of(l, idx), APIC_LVTT) & LVT_TIMER_MODE_MASK) ==
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

/*
 * The model's vcpu_kick() hook: an event (INIT, SIPI, NMI) was posted to
 * this vCPU alone.  The runner sets l->kick after vkvm_lapic_init, before
 * any vCPU thread starts.
 */
static void lapic_vm_kick(struct vcpu *vcpu, void *opaque)
{
	struct vkvm_lapic *l = opaque;

	if (l->kick)
		l->kick(l->opaque, vcpu->vcpu_idx);
}

int vkvm_lapic_init(struct vkvm_lapic *l, uint32_t nr, char *why, size_t why_size)
{
	struct vm_config cfg = {
		.arch = VM_ARCH_AVIC,
		.max_vcpus = nr,
		.max_vcpu_ids = nr,
		/*
		 * x2AVIC: xAPIC guests run on it unchanged, and a vCPU may
		 * switch to x2APIC mode when the probe (kvm/probe.c) let the
		 * runner advertise it.
		 */
		.avic.model = AVIC_MODEL_X2AVIC,
	};
	int ret;

	memset(l, 0, sizeof(*l));
	timer_init_sync(l);
	if (nr < 1 || nr > VKVM_MAX_CPUS) {
		snprintf(why, why_size, "%u vCPUs: the userspace APIC takes 1..%u", nr,
			 VKVM_MAX_CPUS);
		return -EINVAL;
	}
	ret = vm_create(&cfg, &l->vm);
	if (ret) {
		snprintf(why, why_size, "cannot create the AVIC model VM: %s", strerror(-ret));
		return ret;
	}
	vm_set_kick(l->vm, lapic_vm_kick, l);
	for (uint32_t i = 0; i < nr; i++) {
		ret = vcpu_create(l->vm, i, &l->vcpus[i]);
		if (ret) {
			snprintf(why, why_size, "cannot create AVIC vCPU %u: %s", i,
				 strerror(-ret));
			vkvm_lapic_fini(l);
			return ret;
		}
		/* APIC ID i, flat DFR, software-disabled, every LVT masked. */
		vlapic_reset(regs_of(l, i), i);
		l->apic_base[i] = VKVM_APIC_BASE | MSR_IA32_APICBASE_ENABLE |
				  (i == 0 ? MSR_IA32_APICBASE_BSP : 0);
		l->nr = i + 1;
	}
	return 0;
}

void vkvm_lapic_fini(struct vkvm_lapic *l)
{
	vkvm_lapic_timer_stop(l);
	if (l->vm)
		vm_destroy(l->vm);
	l->vm = NULL;
	l->nr = 0;
	pthread_cond_destroy(&l->timer_cond);
	pthread_mutex_destroy(&l->timer_lock);
}

/*
 * A guest ICR write (high << 32 | low), as the AVIC silicon and then the
 * hypervisor handle it: the model stores it, delivers Fixed edge IPIs
 * itself (IRR, then a doorbell for running targets) and exits for the rest.
 */
static void lapic_send(struct vkvm_lapic *l, uint32_t idx, uint64_t icr)
{
	struct avic_cpu_opts o = { .current_host_apic_id = idx };
	struct avic_cpu_ipi out;

	count(&l->st.ipis, 1);
	vkvm_trace_ev(l->trace, VKVM_EV_IPI, (uint32_t)icr);
	if (avic_icr_write(l->vcpus[idx], icr, &o, &out, NULL) == 1)
		return;		/* AVIC off for this vCPU: emulated as a plain APIC write */
	count(&l->st.doorbells, out.doorbells);
	if (!out.exit_code) {
		count(&l->st.ipi_accelerated, 1);
		return;
	}
	if (out.cause < ARRAY_SIZE(l->st.ipi_exits))
		count(&l->st.ipi_exits[out.cause], 1);
}

bool vkvm_lapic_access(struct vkvm_lapic *l, uint32_t idx, uint32_t off, bool write,
		       uint32_t *val)
{
	struct vcpu *vcpu = l->vcpus[idx];
	void *regs = regs_of(l, idx);
	uint64_t info1 = off | (write ? BIT_ULL(32) : 0);

	if ((off & 0xF) || off >= VKVM_APIC_REGS * 0x10) {
		/* Not a register: reads 0, writes ignored (no ESR bit on xAPIC MMIO). */
		count(&l->st.bad_accesses, 1);
		if (!write)
			*val = 0;
		return false;
	}
	count(write ? &l->st.writes[off >> 4] : &l->st.reads[off >> 4], 1);
	if (!write) {
		/* Reads are accelerated from the page, except the fault class. */
		if (off == APIC_TMCCT)
			*val = timer_current(l, idx);	/* the hyp models no timer */
		else if (avic_cpu_access_class(off) == AVIC_ACCESS_FAULT)
			avic_handle_unaccelerated_access(vcpu, info1, val);
		else
			*val = __atomic_load_n(apic_reg(regs, off), __ATOMIC_ACQUIRE);
		return false;
	}
	if (off == APIC_ICR) {
		lapic_send(l, idx, (uint64_t)reg_load(regs, APIC_ICR2) << 32 | *val);
		return false;
	}
	if (avic_cpu_access_class(off) == AVIC_ACCESS_TRAP) {
		bool timer = timer_reg(off);
		uint32_t old_lvtt;

		/* The timer thread reads LVTT (SVR masks it) under timer_lock. */
		if (timer)
			pthread_mutex_lock(&l->timer_lock);
		old_lvtt = reg_load(regs, APIC_LVTT);
		/* The silicon stored it and advanced RIP; then the trap exit. */
		__atomic_store_n(apic_reg(regs, off), *val, __ATOMIC_RELEASE);
		avic_handle_unaccelerated_access(vcpu, info1, NULL);
		if (off == APIC_TMICT)
			timer_arm(l, idx);
		if (off == APIC_LVTT)
			timer_mode_update(l, idx, old_lvtt);
		if (timer)
			pthread_mutex_unlock(&l->timer_lock);
		return false;
	}
	avic_handle_unaccelerated_access(vcpu, info1, val);
	return off == APIC_TASKPRI;
}

void vkvm_lapic_set_cr8(struct vkvm_lapic *l, uint32_t idx, uint64_t cr8)
{
	void *regs = regs_of(l, idx);
	uint32_t tpr = (uint32_t)(cr8 & 0xF) << 4;

	/* TPR[3:0] is not in CR8: keep it while the class agrees. */
	if ((__atomic_load_n(apic_reg(regs, APIC_TASKPRI), __ATOMIC_ACQUIRE) & 0xF0) != tpr)
		vlapic_write_tpr(regs, tpr);
}

uint64_t vkvm_lapic_cr8(struct vkvm_lapic *l, uint32_t idx)
{
	return (__atomic_load_n(apic_reg(regs_of(l, idx), APIC_TASKPRI), __ATOMIC_ACQUIRE) >> 4) &
	       0xF;
}

bool vkvm_lapic_deliverable(struct vkvm_lapic *l, uint32_t idx)
{
	/* A hardware-disabled APIC (APIC_BASE.EN = 0) takes no interrupts. */
	if (!(l->apic_base[idx] & MSR_IA32_APICBASE_ENABLE))
		return false;
	return vlapic_has_deliverable(regs_of(l, idx));
}

int vkvm_lapic_accept(struct vkvm_lapic *l, uint32_t idx)
{
	int vec = vlapic_accept(regs_of(l, idx));

	if (vec >= 0)
		count(&l->st.injected, 1);
	return vec;
}

void vkvm_lapic_reset(struct vkvm_lapic *l, uint32_t idx)
{
	pthread_mutex_lock(&l->timer_lock);
	vlapic_reset(regs_of(l, idx), idx);
	memset(&l->timers[idx], 0, sizeof(l->timers[idx]));
	/* INIT leaves IA32_APIC_BASE alone: an x2APIC stays in x2APIC mode. */
	if (vkvm_lapic_x2apic(l, idx))
		vlapic_x2apic_set_id(regs_of(l, idx), idx);
	pthread_mutex_unlock(&l->timer_lock);
	if (!vkvm_lapic_x2apic(l, idx))
		avic_handle_ldr_update(l->vcpus[idx]);
}

bool vkvm_lapic_x2apic(struct vkvm_lapic *l, uint32_t idx)
{
	return (l->apic_base[idx] & (MSR_IA32_APICBASE_ENABLE | MSR_IA32_APICBASE_EXTD)) ==
	       (MSR_IA32_APICBASE_ENABLE | MSR_IA32_APICBASE_EXTD);
}

bool vkvm_lapic_mmio_enabled(struct vkvm_lapic *l, uint32_t idx)
{
	return (l->apic_base[idx] & (MSR_IA32_APICBASE_ENABLE | MSR_IA32_APICBASE_EXTD)) ==
	       MSR_IA32_APICBASE_ENABLE;
}

/*
 * KVM validated the transition (reserved bits, EXTD only with CPUID's
 * x2APIC bit, no x2APIC -> xAPIC without disabling first); the model
 * follows it.  Disabling resets the APIC, as on hardware; entering x2APIC
 * mode makes the ID 32 bits wide and the LDR read-only and derived, and
 * switches the AVIC vCPU to x2AVIC mode (logical IDs no longer looked up).
 */
void vkvm_lapic_set_base(struct vkvm_lapic *l, uint32_t idx, uint64_t apic_base)
{
	uint64_t old = l->apic_base[idx];

	if (old == apic_base)
		return;
	l->apic_base[idx] = apic_base;
	if (!(apic_base & MSR_IA32_APICBASE_ENABLE)) {
		if (old & MSR_IA32_APICBASE_EXTD)
			(void)avic_set_x2apic_mode(l->vcpus[idx], false);
		vkvm_lapic_reset(l, idx);
		return;
	}
	if ((apic_base & MSR_IA32_APICBASE_EXTD) && !(old & MSR_IA32_APICBASE_EXTD)) {
		pthread_mutex_lock(&l->timer_lock);
		vlapic_x2apic_set_id(regs_of(l, idx), idx);
		pthread_mutex_unlock(&l->timer_lock);
		(void)avic_set_x2apic_mode(l->vcpus[idx], true);
	}
}

int vkvm_lapic_msr(struct vkvm_lapic *l, uint32_t idx, uint32_t msr, bool write,
		   uint64_t *val)
{
	void *regs = regs_of(l, idx);
	uint32_t off, v32;

	if (msr < X2APIC_MSR_FIRST || msr > X2APIC_MSR_LAST || !vkvm_lapic_x2apic(l, idx))
		return -EINVAL;
	off = (msr - X2APIC_MSR_FIRST) << 4;
	if (!write) {
		if (!vlapic_x2apic_readable(off))
			return -EINVAL;
		if (off == APIC_ICR) {
			/* One 64-bit register: the destination is ICR2's word. */
			count(&l->st.reads[off >> 4], 1);
			*val = ((uint64_t)reg_load(regs, APIC_ICR2) << 32) | reg_load(regs, APIC_ICR);
			return 0;
		}
		vkvm_lapic_access(l, idx, off, false, &v32);
		*val = v32;
		return 0;
	}
	if (vlapic_x2apic_check_write(off, *val))
		return -EINVAL;
	v32 = (uint32_t)*val;
	if (off == APIC_SELF_IPI) {
		count(&l->st.writes[off >> 4], 1);
		/* x2AVIC accelerates it: IRR set, nothing else to do for self. */
		if (v32 >= 16) {
			count(&l->st.ipis, 1);
			count(&l->st.ipi_accelerated, 1);
			avic_deliver(l->vcpus[idx], (uint8_t)v32);
			return 0;
		}
		/* An illegal vector goes the ICR way, to ESR. */
		count(&l->st.writes[APIC_ICR >> 4], 1);
		lapic_send(l, idx, (uint64_t)APIC_SH_SELF << 18 | v32);
		return 0;
	}
	if (off == APIC_ICR) {
		/* One 64-bit write: the silicon stores both halves. */
		count(&l->st.writes[APIC_ICR >> 4], 1);
		lapic_send(l, idx, *val);
		return 0;
	}
	return vkvm_lapic_access(l, idx, off, true, &v32) ? 1 : 0;
}

void vkvm_lapic_stats(struct vkvm_lapic *l, struct vkvm_apic_stats *out)
{
	*out = l->st;
	for (uint32_t i = 0; i < l->nr; i++)
		out->wakeups += __atomic_load_n(&l->vcpus[i]->wakeups, __ATOMIC_RELAXED);
}
