// SPDX-License-Identifier: MIT
/*
 * The KVM runner's APIC timer (kvm/lapic_timer.c) on the AVIC model,
 * without /dev/kvm: mode switches between one-shot, periodic and
 * TSC-deadline, TMICT in TSC-deadline mode, and where a TSC deadline goes
 * (fired at once when past, the vCPU thread's own when near, the timer
 * thread's when far).  The test's thread plays the vCPU thread.
 */
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <vintc/amd_defs.h>
#include <vintc/avic.h>

#include "kvm/lapic.h"
#include "kvm/lapic_timer.h"
#include "test.h"

#define VEC		0x3A
#define LVT_ONESHOT	VEC
#define LVT_PERIODIC	(VEC | 1U << 17)
#define LVT_DEADLINE	(VEC | 2U << 17)
#define KHZ		1000000		/* 1 GHz guest TSC: a tick is a ns */

static struct vkvm_lapic *lapic_new(void)
{
	struct vkvm_lapic *l = calloc(1, sizeof(*l));
	char why[128];

	ASSERT(l);
	ASSERT_OK(vkvm_lapic_init(l, 1, why, sizeof(why)));
	return l;
}

static void lapic_free(struct vkvm_lapic *l)
{
	vkvm_lapic_fini(l);
	free(l);
	ASSERT_EQ(host_mem_stats(HOST_TAG_NR).pages, 0);
}

static uint32_t rd(struct vkvm_lapic *l, uint32_t off)
{
	uint32_t val = 0xDEADBEEF;

	ASSERT(!vkvm_lapic_access(l, 0, off, false, &val));
	return val;
}

static void wr(struct vkvm_lapic *l, uint32_t off, uint32_t val)
{
	ASSERT(!vkvm_lapic_access(l, 0, off, true, &val));
}

static bool irr(struct vkvm_lapic *l, unsigned int v)
{
	return (rd(l, APIC_VECTOR_WORD(APIC_IRR, v)) >> APIC_VECTOR_BIT(v)) & 1;
}

/* The APIC enabled, divide by 1 (a count is a nanosecond), LVTT as given. */
static struct vkvm_lapic *timer_new(uint32_t lvtt)
{
	struct vkvm_lapic *l = lapic_new();

	wr(l, APIC_SPIV, 0x1FF);
	wr(l, APIC_TDCR, 0xB);
	wr(l, APIC_LVTT, lvtt);
	return l;
}

static void msr_wr(struct vkvm_lapic *l, uint64_t val, uint64_t guest_tsc)
{
	vkvm_lapic_tsc_deadline(l, 0, true, &val, guest_tsc, KHZ);
}

static uint64_t msr_rd(struct vkvm_lapic *l)
{
	uint64_t val = 0xDEADBEEF;

	vkvm_lapic_tsc_deadline(l, 0, false, &val, 0, KHZ);
	return val;
}

static uint64_t fires(struct vkvm_lapic *l)
{
	return __atomic_load_n(&l->st.timer_fires, __ATOMIC_RELAXED);
}

/* Accept and EOI the timer's vector: IRR clear for the next expiry. */
static void take(struct vkvm_lapic *l)
{
	ASSERT_EQ(vkvm_lapic_accept(l, 0), VEC);
	wr(l, APIC_EOI, 0);
	ASSERT(!irr(l, VEC));
}

static bool wait_irr(struct vkvm_lapic *l, uint64_t ns)
{
	uint64_t end = host_now_ns() + ns;

	while (!irr(l, VEC))
		if (host_now_ns() > end)
			return false;
	return true;
}

/* One-shot made periodic mid-count: the count and its deadline go on. */
TEST(kvm_timer_oneshot_to_periodic_keeps_counting)
{
	struct vkvm_lapic *l = timer_new(LVT_ONESHOT);
	uint64_t deadline;
	uint32_t cur;

	wr(l, APIC_TMICT, 1000000000);
	deadline = l->timers[0].deadline_ns;
	ASSERT(deadline);
	wr(l, APIC_LVTT, LVT_PERIODIC);
	ASSERT_EQ(l->timers[0].deadline_ns, deadline);
	cur = rd(l, APIC_TMCCT);
	ASSERT(cur > 0 && cur <= 1000000000);
	ASSERT_EQ(rd(l, APIC_TMICT), 1000000000);
	/* And back: still the same count. */
	wr(l, APIC_LVTT, LVT_ONESHOT);
	ASSERT_EQ(l->timers[0].deadline_ns, deadline);
	/* The vector and the mask change nothing either. */
	wr(l, APIC_LVTT, LVT_ONESHOT | APIC_LVT_MASKED);
	ASSERT_EQ(l->timers[0].deadline_ns, deadline);
	lapic_free(l);
}

/* A short one-shot made periodic reloads with KVM's minimum period. */
TEST(kvm_timer_oneshot_to_periodic_clamps_the_period)
{
	struct vkvm_lapic *l = timer_new(LVT_ONESHOT);

	wr(l, APIC_TMICT, 1000);			/* 1 us */
	ASSERT_EQ(l->timers[0].period_ns, 1000);
	wr(l, APIC_LVTT, LVT_PERIODIC);
	ASSERT_EQ(l->timers[0].period_ns, VKVM_MIN_PERIOD_NS);
	lapic_free(l);
}

/* The thread: a one-shot made periodic reloads; periodic made one-shot stops. */
TEST(kvm_timer_mode_switch_expiries)
{
	struct vkvm_lapic *l = timer_new(LVT_ONESHOT);
	uint64_t n, m, end;
	char why[128];

	ASSERT_OK(vkvm_lapic_timer_start(l, why, sizeof(why)));
	wr(l, APIC_TMICT, 2000000);			/* 2 ms */
	wr(l, APIC_LVTT, LVT_PERIODIC);
	for (int i = 0; i < 3; i++) {
		ASSERT(wait_irr(l, 5000000000ULL));
		take(l);
	}
	/*
	 * Periodic made one-shot: the count runs out once more (unless it
	 * did just before the switch), and then nothing, where a periodic
	 * timer would have fired five times.
	 */
	wr(l, APIC_LVTT, LVT_ONESHOT);
	n = fires(l);
	end = host_now_ns() + 5000000000ULL;
	while (rd(l, APIC_TMCCT) && host_now_ns() < end)
		;
	ASSERT_EQ(rd(l, APIC_TMCCT), 0);
	usleep(10000);
	m = fires(l);
	ASSERT(m == n || m == n + 1);
	usleep(10000);
	ASSERT_EQ(fires(l), m);
	lapic_free(l);
}

/* Entering TSC-deadline mode disarms the count and clears TMICT, as KVM. */
TEST(kvm_timer_into_deadline_mode_disarms)
{
	struct vkvm_lapic *l = timer_new(LVT_PERIODIC);

	wr(l, APIC_TMICT, 1000000000);
	ASSERT(rd(l, APIC_TMCCT));
	wr(l, APIC_LVTT, LVT_DEADLINE);
	ASSERT_EQ(l->timers[0].deadline_ns, 0);
	ASSERT_EQ(rd(l, APIC_TMICT), 0);
	ASSERT_EQ(rd(l, APIC_TMCCT), 0);
	/* And out again: nothing armed comes back. */
	wr(l, APIC_LVTT, LVT_ONESHOT);
	ASSERT_EQ(rd(l, APIC_TMCCT), 0);
	ASSERT_EQ(l->timers[0].deadline_ns, 0);
	lapic_free(l);
}

/* Leaving it disarms the deadline: IA32_TSC_DEADLINE reads 0 after. */
TEST(kvm_timer_out_of_deadline_mode_disarms)
{
	struct vkvm_lapic *l = timer_new(LVT_DEADLINE);

	msr_wr(l, 1000 + 5000000000ULL, 1000);		/* 5 s: the timer thread's */
	ASSERT(l->timers[0].deadline_ns);
	ASSERT_EQ(msr_rd(l), 1000 + 5000000000ULL);
	wr(l, APIC_LVTT, LVT_PERIODIC);
	ASSERT_EQ(l->timers[0].deadline_ns, 0);
	ASSERT_EQ(msr_rd(l), 0);
	wr(l, APIC_LVTT, LVT_DEADLINE);
	ASSERT_EQ(msr_rd(l), 0);
	/* Reserved mode 3 counts as one-shot: leaving TSC-deadline mode too. */
	msr_wr(l, 1000 + 5000000000ULL, 1000);
	wr(l, APIC_LVTT, VEC | 3U << 17);
	ASSERT_EQ(l->timers[0].deadline_ns, 0);
	lapic_free(l);
}

/* TMICT in TSC-deadline mode: ignored, reads 0, the deadline stays armed. */
TEST(kvm_timer_tmict_ignored_in_deadline_mode)
{
	struct vkvm_lapic *l = timer_new(LVT_DEADLINE);
	uint64_t deadline;

	msr_wr(l, 1000 + 5000000000ULL, 1000);
	deadline = l->timers[0].deadline_ns;
	wr(l, APIC_TMICT, 12345);
	ASSERT_EQ(rd(l, APIC_TMICT), 0);
	ASSERT_EQ(rd(l, APIC_TMCCT), 0);
	ASSERT_EQ(l->timers[0].deadline_ns, deadline);
	ASSERT_EQ(msr_rd(l), 1000 + 5000000000ULL);
	wr(l, APIC_TMICT, 0);
	ASSERT_EQ(l->timers[0].deadline_ns, deadline);
	lapic_free(l);
}

/* A deadline at or before the guest's TSC: IRR before the call returns. */
TEST(kvm_timer_past_deadline_fires_at_once)
{
	struct vkvm_lapic *l = timer_new(LVT_DEADLINE);

	/* No timer thread at all: only the writer can have fired it. */
	msr_wr(l, 500, 1000);
	ASSERT(irr(l, VEC));
	ASSERT_EQ(fires(l), 1);
	ASSERT_EQ(msr_rd(l), 0);
	ASSERT_EQ(l->timers[0].deadline_ns, 0);
	take(l);
	msr_wr(l, 1000, 1000);				/* due now */
	ASSERT(irr(l, VEC));
	ASSERT_EQ(fires(l), 2);
	take(l);
	/* Masked: it expires (counted, MSR 0) but nothing is delivered. */
	wr(l, APIC_LVTT, LVT_DEADLINE | APIC_LVT_MASKED);
	msr_wr(l, 1, 1000);
	ASSERT(!irr(l, VEC));
	ASSERT_EQ(fires(l), 3);
	ASSERT_EQ(msr_rd(l), 0);
	/* 0 disarms, fires nothing. */
	wr(l, APIC_LVTT, LVT_DEADLINE);
	msr_wr(l, 0, 1000);
	ASSERT_EQ(fires(l), 3);
	lapic_free(l);
}

static void block_kick_signal(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, VKVM_KICK_SIGNAL);
	ASSERT_OK(pthread_sigmask(SIG_BLOCK, &set, NULL));
}

/* Waits for the kick signal, as KVM_RUN would return EINTR on it. */
static bool kicked_within(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000ULL), (long)(ns % 1000000000ULL) };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, VKVM_KICK_SIGNAL);
	return sigtimedwait(&set, NULL, &ts) == VKVM_KICK_SIGNAL;
}

/*
 * A near deadline is the vCPU thread's: not the timer thread's, a signal
 * at the deadline (KVM_RUN's EINTR), fired by the thread's own poll.
 */
TEST(kvm_timer_near_deadline_on_the_vcpu_thread)
{
	struct vkvm_lapic *l = timer_new(LVT_DEADLINE);
	uint64_t t0, wait;

	block_kick_signal();
	vkvm_lapic_timer_cpu_init(l, 0);
	ASSERT(l->timers[0].has_kick_timer);
	t0 = host_now_ns();
	msr_wr(l, 1000 + 50000, 1000);			/* 50 us */
	ASSERT_EQ(l->timers[0].deadline_ns, 0);
	ASSERT(l->timers[0].local_ns >= t0 + 50000);
	wait = vkvm_lapic_timer_wait_ns(l, 0, 1000000000ULL);
	ASSERT(wait <= 50000);
	ASSERT_EQ(msr_rd(l), 1000 + 50000);
	ASSERT(kicked_within(1000000000ULL));
	ASSERT(host_now_ns() >= t0 + 50000);
	ASSERT(!irr(l, VEC));				/* nobody else fires it */
	ASSERT(vkvm_lapic_timer_poll(l, 0));
	ASSERT(irr(l, VEC));
	ASSERT_EQ(fires(l), 1);
	ASSERT_EQ(msr_rd(l), 0);
	ASSERT(!vkvm_lapic_timer_poll(l, 0));
	ASSERT_EQ(vkvm_lapic_timer_wait_ns(l, 0, 777), 777);
	vkvm_lapic_timer_cpu_fini(l, 0);
	lapic_free(l);
}

/* Re-armed or disarmed before it is due: no fire, no kick. */
TEST(kvm_timer_near_deadline_disarmed)
{
	struct vkvm_lapic *l = timer_new(LVT_DEADLINE);

	block_kick_signal();
	vkvm_lapic_timer_cpu_init(l, 0);
	msr_wr(l, 1000 + 50000, 1000);
	msr_wr(l, 0, 1000);
	ASSERT_EQ(l->timers[0].local_ns, 0);
	ASSERT(!kicked_within(2000000));
	ASSERT(!vkvm_lapic_timer_poll(l, 0));
	/* Leaving the mode, and INIT, disarm it too. */
	msr_wr(l, 1000 + 50000, 1000);
	wr(l, APIC_LVTT, LVT_ONESHOT);
	ASSERT_EQ(l->timers[0].local_ns, 0);
	wr(l, APIC_LVTT, LVT_DEADLINE);
	msr_wr(l, 1000 + 50000, 1000);
	vkvm_lapic_reset(l, 0);
	ASSERT_EQ(l->timers[0].local_ns, 0);
	ASSERT(l->timers[0].has_kick_timer);		/* INIT keeps the thread's timer */
	ASSERT(!kicked_within(2000000));
	ASSERT_EQ(fires(l), 0);
	vkvm_lapic_timer_cpu_fini(l, 0);
	lapic_free(l);
}

/* Far deadlines, and near ones with no kick timer, are the timer thread's. */
TEST(kvm_timer_far_deadline_on_the_timer_thread)
{
	struct vkvm_lapic *l = timer_new(LVT_DEADLINE);
	char why[128];

	block_kick_signal();
	vkvm_lapic_timer_cpu_init(l, 0);
	msr_wr(l, 1000 + VKVM_TIMER_NEAR_NS + 1, 1000);
	ASSERT(l->timers[0].deadline_ns);
	ASSERT_EQ(l->timers[0].local_ns, 0);
	vkvm_lapic_timer_cpu_fini(l, 0);
	ASSERT(!l->timers[0].has_kick_timer);
	msr_wr(l, 1000 + 50000, 1000);
	ASSERT(l->timers[0].deadline_ns);
	ASSERT_EQ(l->timers[0].local_ns, 0);
	ASSERT_OK(vkvm_lapic_timer_start(l, why, sizeof(why)));
	ASSERT(wait_irr(l, 5000000000ULL));
	ASSERT_EQ(fires(l), 1);
	ASSERT_EQ(msr_rd(l), 0);
	lapic_free(l);
}

/*
 * A far deadline is the timer thread's, but a vCPU that comes to look
 * when it is due (halted: its block timeout ends there) fires it itself;
 * the timer thread then finds nothing left to fire.
 */
TEST(kvm_timer_far_deadline_taken_by_a_halted_vcpu)
{
	struct vkvm_lapic *l = timer_new(LVT_DEADLINE);
	uint64_t wait, end;
	char why[128];

	msr_wr(l, 1000 + VKVM_TIMER_NEAR_NS + 2000000, 1000);	/* 3 ms */
	ASSERT(l->timers[0].deadline_ns);
	ASSERT_EQ(l->timers[0].far_ns, l->timers[0].deadline_ns);
	wait = vkvm_lapic_timer_wait_ns(l, 0, 1000000000ULL);
	ASSERT(wait > 2000000 && wait <= 3000000);
	ASSERT(!vkvm_lapic_timer_poll(l, 0));
	end = host_now_ns() + wait;
	while (host_now_ns() < end)
		;
	ASSERT(vkvm_lapic_timer_poll(l, 0));
	ASSERT(irr(l, VEC));
	ASSERT_EQ(fires(l), 1);
	ASSERT_EQ(msr_rd(l), 0);
	ASSERT_EQ(l->timers[0].deadline_ns, 0);
	ASSERT_EQ(vkvm_lapic_timer_wait_ns(l, 0, 777), 777);
	vkvm_lapic_timer_entry(l, 0);
	/* Fired by the timer thread first: the vCPU's look finds nothing. */
	take(l);
	msr_wr(l, 1000 + VKVM_TIMER_NEAR_NS + 1000, 1000);
	ASSERT_OK(vkvm_lapic_timer_start(l, why, sizeof(why)));
	ASSERT(wait_irr(l, 5000000000ULL));
	usleep(1000);
	ASSERT(!vkvm_lapic_timer_poll(l, 0));
	ASSERT_EQ(fires(l), 2);
	ASSERT_EQ(l->timers[0].far_ns, 0);
	lapic_free(l);
}

TEST(kvm_timer_tsc_to_ns)
{
	ASSERT_EQ(vkvm_timer_tsc_to_ns(0, 2000000), 0);
	ASSERT_EQ(vkvm_timer_tsc_to_ns(2000, 2000000), 1000);	/* 2 GHz */
	ASSERT_EQ(vkvm_timer_tsc_to_ns(3, 3000000), 1);
	ASSERT_EQ(vkvm_timer_tsc_to_ns(1000, 0), 1000);		/* unknown: 1 GHz */
	/* Saturates instead of wrapping. */
	ASSERT_EQ(vkvm_timer_tsc_to_ns(UINT64_MAX, 1000000), UINT64_MAX / 1000000);
	ASSERT(vkvm_timer_tsc_to_ns(UINT64_MAX, 1) > vkvm_timer_tsc_to_ns(1ULL << 40, 1));
}
