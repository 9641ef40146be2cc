// SPDX-License-Identifier: MIT
/*
 * The APIC timer of the KVM runner's local APICs.  The AVIC model has no
 * timer (the hypervisor reads the current count as 0), so this file keeps
 * one per vCPU beside it: TMICT, TDCR and LVTT live in the backing page as
 * the guest wrote them, and the deadlines here.  One thread fires every
 * vCPU's one-shot and periodic timer and far TSC deadlines through the
 * model (avic_deliver).  A TSC deadline that is past when written fires on
 * the writing vCPU's own thread before the WRMSR completes, and a near one
 * is that thread's too (local_ns): a trip through the timer thread (its
 * wake-up, then a kick) would make it late by more than it is away.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

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


#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id	_sigev_un._tid
#endif

static bool lvtt_deadline(uint32_t lvtt)
{
	return (lvtt & LVT_TIMER_MODE_MASK) == LVT_TIMER_TSC_DEADLINE;
}

static bool lvtt_periodic(uint32_t lvtt)
{
	return (lvtt & LVT_TIMER_MODE_MASK) == LVT_TIMER_PERIODIC;
}

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

static uint64_t ns_per_count(const struct vkvm_timer *t)
{
	uint64_t ns = t->divisor * NS_PER_S / VKVM_APIC_BUS_HZ;

	return ns ? ns : 1;
}

/*
 * A periodic timer of a few counts would keep the timer thread firing
 * without pause: clamp the period, as KVM does (min_timer_period_us), when
 * TMICT is written in periodic mode and when a one-shot count becomes
 * periodic.
 */
static void timer_clamp_period(struct vkvm_timer *t)
{
	if (t->period_ns < VKVM_MIN_PERIOD_NS)
		t->period_ns = VKVM_MIN_PERIOD_NS;
}

/*
 * Forget the vCPU thread's view of its TSC deadline and stop its kick
 * timer (timer_lock held; that thread).
 */
static void local_disarm(struct vkvm_timer *t)
{
	struct itimerspec off;

	t->far_ns = 0;
	if (!t->local_ns)
		return;
	t->local_ns = 0;
	memset(&off, 0, sizeof(off));
	if (t->has_kick_timer)
		timer_settime(t->kick_timer, 0, &off, NULL);
}

/*
 * TMICT was written (timer_lock held): start counting down from it, or
 * stop when it is 0.  In TSC-deadline mode the write is ignored, as the
 * SDM says and KVM does: TMICT keeps reading 0 (it was cleared when the
 * mode was entered) and an armed deadline stays armed.
 */
static void timer_arm(struct vkvm_lapic *l, uint32_t idx)
{
	void *regs = vkvm_lapic_regs(l, idx);
	struct vkvm_timer *t = &l->timers[idx];
	uint32_t lvtt = reg_load(regs, APIC_LVTT);

	if (lvtt_deadline(lvtt)) {
		__atomic_store_n(apic_reg(regs, APIC_TMICT), 0, __ATOMIC_RELEASE);
		return;
	}
	t->initial = reg_load(regs, APIC_TMICT);
	t->divisor = tdcr_divisor(reg_load(regs, APIC_TDCR));
	t->deadline_ns = 0;
	if (!t->initial)
		return;
	t->period_ns = (uint64_t)t->initial * ns_per_count(t);
	if (lvtt_periodic(lvtt))
		timer_clamp_period(t);
	t->deadline_ns = host_now_ns() + t->period_ns;
	pthread_cond_signal(&l->timer_cond);
}

/*
 * TMCCT: the counts left until the deadline, 0 once a one-shot expired;
 * always 0 in TSC-deadline mode.
 */
uint32_t vkvm_timer_current(struct vkvm_lapic *l, uint32_t idx)
{
	struct vkvm_timer *t = &l->timers[idx];
	uint64_t now = host_now_ns(), left, ns;
	uint32_t val = 0;

	pthread_mutex_lock(&l->timer_lock);
	if (t->deadline_ns > now && !lvtt_deadline(reg_load(vkvm_lapic_regs(l, idx), APIC_LVTT))) {
		ns = ns_per_count(t);
		left = (t->deadline_ns - now + ns - 1) / ns;
		val = left > t->initial ? t->initial : (uint32_t)left;
	}
	pthread_mutex_unlock(&l->timer_lock);
	return val;
}

/*
 * One expiry (timer_lock held): the vector to deliver, or -1 for none
 * (masked LVT, or an illegal vector).  Counted either way.
 */
static int timer_vector(struct vkvm_lapic *l, uint32_t lvtt)
{
	__atomic_add_fetch(&l->st.timer_fires, 1, __ATOMIC_RELAXED);
	if (!(lvtt & APIC_LVT_MASKED) && (lvtt & LVT_VECTOR_MASK) >= 16)
		return (int)(lvtt & LVT_VECTOR_MASK);
	return -1;
}

/* Deliver unlocked: the model's kick takes the runner's paths. */
static void timer_deliver(struct vkvm_lapic *l, uint32_t idx, int vec)
{
	if (vec < 0)
		return;
	vkvm_trace_ev(l->trace, VKVM_EV_TIMER, idx);
	avic_deliver(l->vcpus[idx], (uint8_t)vec);
}

/*
 * Expire every timer whose deadline passed (timer_lock held): a periodic
 * one re-arms a whole period after its last deadline (missed periods are
 * dropped, not queued), a one-shot stops.  The mode is LVTT's now, not
 * when the count started: a periodic count switched to one-shot fires once
 * more and stops, a one-shot switched to periodic reloads.  The vectors to
 * deliver go to vec[i], -1 for none.
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
		if (lvtt_periodic(lvtt)) {
			t->deadline_ns += t->period_ns;
			if (t->deadline_ns <= now)
				t->deadline_ns = now + t->period_ns;
		} else {
			/* One-shot, or a TSC deadline: IA32_TSC_DEADLINE reads 0 now. */
			t->deadline_ns = 0;
			t->tsc_deadline = 0;
		}
		vec[i] = timer_vector(l, lvtt);
	}
}

static void *timer_main(void *arg)
{
	struct vkvm_lapic *l = arg;
	int vec[VKVM_MAX_CPUS];

	vkvm_trace_set_track(l->nr);
	/*
	 * The default 50 us of timer slack would make every timed wait below
	 * up to 50 us late: a timer is due when it is due.
	 */
	prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	pthread_mutex_lock(&l->timer_lock);
	while (!l->timer_stop) {
		uint64_t now = host_now_ns(), next = 0;
		struct timespec ts;

		timer_expire(l, now, vec);
		pthread_mutex_unlock(&l->timer_lock);
		for (uint32_t i = 0; i < l->nr; i++)
			timer_deliver(l, i, vec[i]);
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
 * LVTT written (timer_lock held).  Only entering or leaving TSC-deadline
 * mode disarms the timer (SDM 10.5.4.1), and then TMICT reads 0, as on
 * KVM: a count and a TSC deadline measure different things.  Between
 * one-shot and periodic the count goes on (timer_expire looks at the mode
 * when it expires).
 */
static void timer_mode_update(struct vkvm_lapic *l, uint32_t idx, uint32_t old_lvtt)
{
	void *regs = vkvm_lapic_regs(l, idx);
	struct vkvm_timer *t = &l->timers[idx];
	uint32_t lvtt = reg_load(regs, APIC_LVTT);

	if (!((lvtt ^ old_lvtt) & LVT_TIMER_MODE_MASK))
		return;
	if (lvtt_deadline(lvtt) != lvtt_deadline(old_lvtt)) {
		t->deadline_ns = 0;
		t->tsc_deadline = 0;
		t->initial = 0;
		t->period_ns = 0;
		local_disarm(t);
		__atomic_store_n(apic_reg(regs, APIC_TMICT), 0, __ATOMIC_RELEASE);
		return;
	}
	if (lvtt_periodic(lvtt) && t->deadline_ns)
		timer_clamp_period(t);
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
	struct vkvm_timer *t = &l->timers[idx];

	local_disarm(t);
	t->entry_ns = 0;
	t->deadline_ns = 0;
	t->period_ns = 0;
	t->tsc_deadline = 0;
	t->initial = 0;
	t->divisor = 0;
}

void vkvm_timer_destroy(struct vkvm_lapic *l)
{
	pthread_cond_destroy(&l->timer_cond);
	pthread_mutex_destroy(&l->timer_lock);
}

/* ---- TSC deadlines, and the vCPU thread's own ------------------------- */

/* TSC ticks to ns at tsc_khz (ticks per millisecond), saturating. */
uint64_t vkvm_timer_tsc_to_ns(uint64_t ticks, uint64_t tsc_khz)
{
	if (!tsc_khz)
		tsc_khz = 1000000;	/* 1 GHz if KVM will not say */
	if (ticks > UINT64_MAX / 1000000)
		ticks = UINT64_MAX / 1000000;
	return ticks * 1000000 / tsc_khz;
}

void vkvm_lapic_timer_cpu_init(struct vkvm_lapic *l, uint32_t idx)
{
	struct vkvm_timer *t = &l->timers[idx];
	struct sigevent sev;
	timer_t id;

	/* Its block timeout ends at a near deadline: no slack either. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = VKVM_KICK_SIGNAL;
	sev.sigev_notify_thread_id = gettid();
	if (timer_create(CLOCK_MONOTONIC, &sev, &id))
		return;		/* near deadlines then go to the timer thread */
	pthread_mutex_lock(&l->timer_lock);
	t->kick_timer = id;
	t->has_kick_timer = true;
	t->advance_ns[0] = VKVM_TIMER_ADVANCE_START_NS;
	t->advance_ns[1] = VKVM_TIMER_ADVANCE_START_NS;
	pthread_mutex_unlock(&l->timer_lock);
}

void vkvm_lapic_timer_cpu_fini(struct vkvm_lapic *l, uint32_t idx)
{
	struct vkvm_timer *t = &l->timers[idx];

	pthread_mutex_lock(&l->timer_lock);
	t->local_ns = 0;
	t->entry_ns = 0;
	if (t->has_kick_timer)
		timer_delete(t->kick_timer);
	t->has_kick_timer = false;
	pthread_mutex_unlock(&l->timer_lock);
}

/*
 * A near deadline on the vCPU thread (timer_lock held): the kick timer
 * signals the thread at local_ns, which makes KVM_RUN return EINTR if it is
 * inside (outside, the signal stays pending until the next KVM_RUN, which
 * then returns at once: it cannot be lost).
 */
static void local_arm(struct vkvm_timer *t, uint64_t at)
{
	uint64_t kick = at - (at > t->advance_ns[0] ? t->advance_ns[0] : 0);
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = (time_t)(kick / NS_PER_S);
	its.it_value.tv_nsec = (long)(kick % NS_PER_S);
	if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
		its.it_value.tv_nsec = 1;	/* 0 would disarm */
	t->local_ns = at;
	timer_settime(t->kick_timer, TIMER_ABSTIME, &its, NULL);
}

/*
 * IA32_TSC_DEADLINE, on vCPU idx's own thread.  A deadline at or before
 * the guest's TSC now fires before this returns, so its IRR bit is set
 * before KVM completes the WRMSR: a guest with IF = 1 takes it at the next
 * instruction boundary, as on KVM's LAPIC.  One at most VKVM_TIMER_NEAR_NS
 * ahead is this thread's (local_ns); the timer thread takes the rest.
 */
void vkvm_lapic_tsc_deadline(struct vkvm_lapic *l, uint32_t idx, bool write, uint64_t *val,
			     uint64_t guest_tsc, uint64_t tsc_khz)
{
	struct vkvm_timer *t = &l->timers[idx];
	uint32_t lvtt;
	int vec = -1;

	pthread_mutex_lock(&l->timer_lock);
	lvtt = reg_load(vkvm_lapic_regs(l, idx), APIC_LVTT);
	if (!write) {
		*val = lvtt_deadline(lvtt) ? t->tsc_deadline : 0;
	} else if (lvtt_deadline(lvtt)) {
		uint64_t ahead = *val > guest_tsc ? vkvm_timer_tsc_to_ns(*val - guest_tsc, tsc_khz) : 0;
		uint64_t now = host_now_ns();

		t->tsc_deadline = *val;
		t->deadline_ns = 0;
		local_disarm(t);
		if (!*val) {
			/* 0 disarms */
		} else if (!ahead) {
			t->tsc_deadline = 0;
			vec = timer_vector(l, lvtt);
		} else if (ahead <= VKVM_TIMER_NEAR_NS && t->has_kick_timer) {
			local_arm(t, now + ahead);
		} else {
			/* Centuries ahead saturate rather than wrap into the past. */
			t->deadline_ns = ahead < UINT64_MAX - now ? now + ahead : UINT64_MAX;
			t->far_ns = t->deadline_ns;
			pthread_cond_signal(&l->timer_cond);
		}
	}
	pthread_mutex_unlock(&l->timer_lock);
	timer_deliver(l, idx, vec);
}

/*
 * The near deadline was fired by a poll (timer_lock held): its kick timer
 * either has not expired yet, and is stopped, or has, and its signal is
 * taken back, or the next KVM_RUN would return EINTR at once for nothing,
 * a whole round trip.  Taking a kick here is safe: the vCPU looks at its
 * APIC and events after every poll (see vkvm_lapic_timer_poll's callers).
 */
static void local_settle(struct vkvm_timer *t)
{
	struct timespec zero = { 0, 0 };
	struct itimerspec cur, off;
	sigset_t set;

	if (!t->has_kick_timer)
		return;
	if (!timer_gettime(t->kick_timer, &cur) && (cur.it_value.tv_sec || cur.it_value.tv_nsec)) {
		memset(&off, 0, sizeof(off));
		timer_settime(t->kick_timer, 0, &off, NULL);
		return;
	}
	sigemptyset(&set);
	sigaddset(&set, VKVM_KICK_SIGNAL);
	while (sigtimedwait(&set, NULL, &zero) == VKVM_KICK_SIGNAL)
		;
}

/*
 * A near deadline when it is due; and a far one too, when the vCPU comes
 * here for it (halted: its block timeout ends there), unless the timer
 * thread fired it already: a vCPU that has to wake up anyway wakes
 * itself, one thread wake-up instead of two.
 */
bool vkvm_lapic_timer_poll(struct vkvm_lapic *l, uint32_t idx)
{
	struct vkvm_timer *t = &l->timers[idx];
	uint64_t at = t->local_ns ? t->local_ns : t->far_ns;
	bool fired = false;
	int vec = -1;

	/* Only this thread writes local_ns and far_ns: no lock until due. */
	if (!at || host_now_ns() + t->advance_ns[t->blocked] < at)
		return false;
	pthread_mutex_lock(&l->timer_lock);
	if (t->local_ns) {
		t->entry_ns = t->local_ns;
		t->local_ns = 0;
		t->tsc_deadline = 0;
		local_settle(t);
		fired = true;
	} else if (t->far_ns == t->deadline_ns) {
		t->entry_ns = t->deadline_ns;
		t->deadline_ns = 0;
		t->tsc_deadline = 0;
		fired = true;
	}
	if (fired) {
		t->entry_blocked = t->blocked;
		vec = timer_vector(l, reg_load(vkvm_lapic_regs(l, idx), APIC_LVTT));
	}
	t->far_ns = 0;
	pthread_mutex_unlock(&l->timer_lock);
	timer_deliver(l, idx, vec);
	return fired;
}

uint64_t vkvm_lapic_timer_wait_ns(struct vkvm_lapic *l, uint32_t idx, uint64_t max)
{
	struct vkvm_timer *t = &l->timers[idx];
	uint64_t at = t->local_ns ? t->local_ns : t->far_ns, now;

	t->blocked = true;	/* until the next entry */
	if (!at)
		return max;
	at -= at > t->advance_ns[1] ? t->advance_ns[1] : 0;
	now = host_now_ns();
	if (at <= now)
		return 0;
	return at - now < max ? at - now : max;
}

/*
 * Held until the deadline, the vCPU could have fired later; let in late,
 * earlier: the advance of the path it fired on follows by an eighth of the
 * difference each time, as KVM tunes its lapic_timer_advance_ns, ignoring
 * outliers (a thread descheduled on the way says nothing about the path).
 */
void vkvm_lapic_timer_entry(struct vkvm_lapic *l, uint32_t idx)
{
	static const uint64_t max[2] = {
		VKVM_TIMER_ADVANCE_MAX_NS, VKVM_TIMER_BLOCK_ADVANCE_MAX_NS,
	};
	struct vkvm_timer *t = &l->timers[idx];
	uint64_t due = t->entry_ns, now, *adv = &t->advance_ns[t->entry_blocked];
	uint64_t top = max[t->entry_blocked];

	t->blocked = false;
	if (!due)
		return;
	t->entry_ns = 0;
	now = host_now_ns();
	if (now < due) {
		uint64_t wait = due - now;

		if (wait <= top)
			*adv -= wait / 8 < *adv ? wait / 8 : *adv;
		while (host_now_ns() < due)
			host_cpu_relax();
	} else if (now - due <= top) {
		*adv += (now - due) / 8;
		if (*adv > top)
			*adv = top;
	}
}
