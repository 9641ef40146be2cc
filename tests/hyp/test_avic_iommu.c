// SPDX-License-Identifier: MIT
/*
 * The hypervisor side of IOMMU posted interrupts (hyp/avic_iommu.c) driven
 * against the IOMMU model: IRTEs attached to vCPUs of real AVIC VMs, kept
 * in step by load/put/blocking, and the GA log notifier waking vCPUs.
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vintc/amd_iommu.h>

#include "avic_util.h"

#define DEVID 0x0BEE

/* CPU 1 and 2 have APIC IDs above 255: the 8-bit xAPIC field would lose them. */
static const uint32_t cpu_apic_ids[] = { 0, 0x1A5, 0x2FF, 3 };

struct env {
	struct id_space *ids;
	struct amd_iommu *iommu;
	uint64_t *irt;			/* 512 IRTEs, 8 KiB */
	struct avic_ga_log *log;
	struct vm *vm;
};

static uint64_t rd(struct env *e, uint32_t off)
{
	return amd_iommu_read64(e->iommu, off);
}

static void wr(struct env *e, uint32_t off, uint64_t val)
{
	amd_iommu_write64(e->iommu, off, val);
}

static uint64_t *irte(struct env *e, uint32_t index)
{
	return &e->irt[index * 2];
}

static uint64_t lo(struct env *e, uint32_t index)
{
	return __atomic_load_n(&e->irt[index * 2], __ATOMIC_ACQUIRE);
}

static uint64_t hi(struct env *e, uint32_t index)
{
	return __atomic_load_n(&e->irt[index * 2 + 1], __ATOMIC_ACQUIRE);
}

/* A VM of x2AVIC-4K with nr vCPUs (IDs = indices) in a private ID space. */
static void env_init(struct env *e, uint32_t nr, void (*on_overflow)(void *), void *arg)
{
	memset(e, 0, sizeof(*e));
	ASSERT_OK(host_cpus_set(ARRAY_SIZE(cpu_apic_ids), cpu_apic_ids));
	ASSERT_OK(id_space_create(AVIC_VM_ID_BITS, &e->ids));
	e->vm = avic_vm_new(AVIC_MODEL_X2AVIC_4K, 0, e->ids);
	for (uint32_t i = 0; i < nr; i++)
		avic_vcpu_new(e->vm, i);
	ASSERT_OK(amd_iommu_create(&e->iommu));
	e->irt = host_pages_alloc(HOST_TAG_MISC, 1, "test.irt");
	ASSERT(e->irt);
	ASSERT_OK(amd_iommu_set_irt(e->iommu, DEVID, host_pa(e->irt), AMD_IRTE_MAX_ENTRIES));
	ASSERT_OK(avic_ga_log_init_cb(e->iommu, e->ids, on_overflow, arg, &e->log));
}

static void env_fini(struct env *e)
{
	vm_destroy(e->vm);
	avic_ga_log_destroy(e->log);
	amd_iommu_destroy(e->iommu);
	host_pages_free(e->irt);
	id_space_destroy(e->ids);
	host_doorbell_set_handler(NULL, NULL);
	ASSERT_EQ(pages_out(), 0);
	ASSERT_EQ(bytes_out(), 0);
}

static struct vcpu *vcpu_at(struct env *e, uint32_t idx)
{
	struct vcpu *vcpu = vm_get_vcpu(e->vm, idx);

	ASSERT(vcpu);
	return vcpu;
}

static uint32_t *irr_word(struct vcpu *vcpu, uint8_t vector)
{
	return apic_reg(to_avic_vcpu(vcpu)->backing, APIC_VECTOR_WORD(APIC_IRR, vector));
}

static bool irr_test(struct vcpu *vcpu, uint8_t vector)
{
	return __atomic_load_n(irr_word(vcpu, vector), __ATOMIC_RELAXED) &
	       (1U << APIC_VECTOR_BIT(vector));
}

static void irr_clear(struct vcpu *vcpu, uint8_t vector)
{
	host_clear_bit32(irr_word(vcpu, vector), APIC_VECTOR_BIT(vector));
}

static unsigned int irr_count(struct vcpu *vcpu)
{
	unsigned int n = 0;

	for (unsigned int v = 0; v < 256; v++)
		n += irr_test(vcpu, (uint8_t)v);
	return n;
}

static uint64_t wakeups(struct vcpu *vcpu)
{
	return __atomic_load_n(&vcpu->wakeups, __ATOMIC_RELAXED);
}

/* The GA-mode lo the reference prescribes, built from raw bit numbers. */
static uint64_t expect_lo(uint32_t tag, uint32_t dest, bool is_run, bool ga_log_intr)
{
	return 1ULL | 1ULL << 7 | (uint64_t)(dest & 0xFFFFFF) << 8 | (uint64_t)tag << 32 |
	       (is_run ? 1ULL << 6 : 0) | (ga_log_intr ? 1ULL << 2 : 0);
}

static uint64_t expect_hi(struct vcpu *vcpu, uint8_t vector, uint32_t dest)
{
	return vector | to_avic_vcpu(vcpu)->backing_pa | (uint64_t)(dest >> 24) << 56;
}

/* ---- doorbell sink ------------------------------------------------------ */

struct doorbells {
	uint64_t count[4];		/* by host CPU */
	uint64_t other;
};

static void doorbell_fn(uint32_t host_apic_id, void *opaque)
{
	struct doorbells *d = opaque;

	for (unsigned int i = 0; i < ARRAY_SIZE(cpu_apic_ids); i++) {
		if (cpu_apic_ids[i] == host_apic_id) {
			__atomic_add_fetch(&d->count[i], 1, __ATOMIC_RELAXED);
			return;
		}
	}
	__atomic_add_fetch(&d->other, 1, __ATOMIC_RELAXED);
}

/* ---- attach ----------------------------------------------------------------- */

TEST(avic_iommu_ga_log_init_programs_iommu)
{
	struct avic_ga_log_stats st;
	struct env e;
	uint64_t base;

	env_init(&e, 1, NULL, NULL);
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_CONTROL),
		  (1ULL << 17) | (1ULL << 25) | (1ULL << 28) | (1ULL << 29));
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_STATUS), AMD_IOMMU_STATUS_GALOG_RUN);
	base = rd(&e, AMD_IOMMU_MMIO_GA_LOG_BASE);
	ASSERT_EQ(base >> 56, 0x8);
	ASSERT_EQ(base & 0xFFF, 0);
	ASSERT(host_va(base & AMD_IOMMU_GA_LOG_BASE_ADDR));
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_GA_LOG_HEAD), 0);
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_GA_LOG_TAIL), 0);
	/* Nothing logged: a notifier run finds nothing and restarts nothing. */
	ASSERT(!avic_ga_log_process(e.log));
	avic_ga_log_stats(e.log, &st);
	ASSERT_EQ(st.irqs, 1);
	ASSERT_EQ(st.entries + st.woken + st.unknown + st.bad_type + st.restarts, 0);
	env_fini(&e);
}

TEST(avic_iommu_ga_log_init_faults)
{
	static const char *const sites[] = { "avic.ga_log_state", "avic.ga_log" };
	struct amd_iommu *iommu;
	struct avic_ga_log *log = NULL;

	ASSERT_OK(amd_iommu_create(&iommu));
	for (unsigned int i = 0; i < ARRAY_SIZE(sites); i++) {
		host_fault_reset();
		host_fault_arm_site(sites[i], 0);
		ASSERT_EQ(avic_ga_log_init(iommu, NULL, &log), -ENOMEM);
		ASSERT_EQ(host_fault_injected(), 1);
		ASSERT(!log);
		/* Failed before touching the IOMMU, and nothing left behind. */
		ASSERT_EQ(amd_iommu_read64(iommu, AMD_IOMMU_MMIO_CONTROL), 0);
		ASSERT_EQ(amd_iommu_read64(iommu, AMD_IOMMU_MMIO_GA_LOG_BASE), 0);
		ASSERT_EQ(pages_out(), 0);
		ASSERT_EQ(bytes_out(), 0);
	}
	host_fault_disarm();
	ASSERT_OK(avic_ga_log_init(iommu, NULL, &log));
	ASSERT(log);
	avic_ga_log_destroy(log);
	amd_iommu_destroy(iommu);
	ASSERT_EQ(pages_out(), 0);
	ASSERT_EQ(bytes_out(), 0);
}

TEST(avic_iommu_attach_fields)
{
	struct env e;
	struct vcpu *vcpu;
	uint32_t tag;

	env_init(&e, 300, NULL, NULL);
	vcpu = vcpu_at(&e, 299);
	tag = to_avic_vm(e.vm)->vm_id << 12 | 299;
	ASSERT_EQ(avic_vcpu_gatag(vcpu), tag);

	/* Never loaded: no destination, not running, not blocking. */
	ASSERT_OK(avic_irte_attach_iommu(vcpu, e.iommu, DEVID, irte(&e, 5), 0x61));
	ASSERT_EQ(lo(&e, 5), expect_lo(tag, 0, false, false));
	ASSERT_EQ(hi(&e, 5), expect_hi(vcpu, 0x61, 0));
	ASSERT_EQ(FIELD_GET(AMD_IRTE_LO_GA_TAG, lo(&e, 5)) & 0xFFF, 299);
	ASSERT_EQ(amd_irte_backing_pa(hi(&e, 5)), to_avic_vcpu(vcpu)->backing_pa);
	ASSERT_EQ(avic_irte_count(vcpu), 1);
	ASSERT_EQ(lo(&e, 4) | hi(&e, 4) | lo(&e, 6) | hi(&e, 6), 0);

	/* The same IRTE again: a new vector, not a second list entry. */
	ASSERT_OK(avic_irte_attach_iommu(vcpu, e.iommu, DEVID, irte(&e, 5), 0x62));
	ASSERT_EQ(avic_irte_count(vcpu), 1);
	ASSERT_EQ(hi(&e, 5), expect_hi(vcpu, 0x62, 0));
	ASSERT_EQ(lo(&e, 5), expect_lo(tag, 0, false, false));

	/* Refusals leave the IRTE alone. */
	ASSERT_EQ(avic_irte_attach_iommu(vcpu, e.iommu, DEVID, NULL, 0x61), -EINVAL);
	ASSERT_EQ(avic_irte_attach_iommu(vcpu, NULL, DEVID, irte(&e, 6), 0x61), -EINVAL);
	ASSERT_EQ(avic_irte_attach_iommu(vcpu, e.iommu, DEVID,
					 (uint64_t *)((char *)irte(&e, 6) + 8), 0x61), -EINVAL);
	ASSERT_EQ(avic_irte_attach_iommu(vcpu, e.iommu, DEVID, irte(&e, 6), 15), -EINVAL);
	host_fault_reset();
	host_fault_arm_site("avic.irte", 0);
	ASSERT_EQ(avic_irte_attach_iommu(vcpu, e.iommu, DEVID, irte(&e, 6), 0x61), -ENOMEM);
	host_fault_disarm();
	ASSERT_EQ(lo(&e, 6) | hi(&e, 6), 0);
	ASSERT_EQ(avic_irte_count(vcpu), 1);

	/* A device interrupt now posts to the right page and no further. */
	ASSERT_OK(amd_iommu_device_interrupt(e.iommu, DEVID, 5));
	ASSERT(irr_test(vcpu, 0x62));
	ASSERT_EQ(irr_count(vcpu), 1);
	ASSERT_EQ(irr_count(vcpu_at(&e, 43)), 0);	/* 299 & 0xFF */
	env_fini(&e);
}

/*
 * Handing an IRTE to another vCPU: detach, attach.  And an IRTE left in
 * guest mode for another backing page by a previous owner (not on any
 * list) is taken over whole: page, tag, destination and flags.
 */
TEST(avic_iommu_attach_takes_over)
{
	struct env e;
	struct vcpu *a, *b;

	env_init(&e, 2, NULL, NULL);
	a = vcpu_at(&e, 0);
	b = vcpu_at(&e, 1);
	ASSERT_OK(vcpu_load(a, 1));
	ASSERT_OK(vcpu_load(b, 2));
	ASSERT_OK(avic_irte_attach_iommu(a, e.iommu, DEVID, irte(&e, 3), 0x70));
	ASSERT_EQ(lo(&e, 3), expect_lo(avic_vcpu_gatag(a), 0x1A5, true, false));
	avic_irte_detach(a, irte(&e, 3));
	ASSERT_OK(avic_irte_attach_iommu(b, e.iommu, DEVID, irte(&e, 3), 0x72));
	ASSERT_EQ(lo(&e, 3), expect_lo(avic_vcpu_gatag(b), 0x2FF, true, false));
	ASSERT_EQ(hi(&e, 3), expect_hi(b, 0x72, 0x2FF));
	ASSERT_EQ(avic_irte_count(a), 0);
	ASSERT_EQ(avic_irte_count(b), 1);

	/* A stale guest-mode IRTE for a's page that nobody tracks. */
	__atomic_store_n(&e.irt[4 * 2 + 1], expect_hi(a, 0x71, 0x1A5), __ATOMIC_RELAXED);
	__atomic_store_n(&e.irt[4 * 2], expect_lo(avic_vcpu_gatag(a), 0x1A5, false, true) |
			 AMD_IRTE_LO_NO_FAULT, __ATOMIC_RELEASE);
	ASSERT_OK(avic_irte_attach_iommu(b, e.iommu, DEVID, irte(&e, 4), 0x71));
	ASSERT_EQ(lo(&e, 4), expect_lo(avic_vcpu_gatag(b), 0x2FF, true, false));
	ASSERT_EQ(hi(&e, 4), expect_hi(b, 0x71, 0x2FF));
	ASSERT_EQ(avic_irte_count(b), 2);

	ASSERT_OK(amd_iommu_device_interrupt(e.iommu, DEVID, 3));
	ASSERT_OK(amd_iommu_device_interrupt(e.iommu, DEVID, 4));
	ASSERT(irr_test(b, 0x72) && irr_test(b, 0x71));
	ASSERT_EQ(irr_count(b), 2);
	ASSERT_EQ(irr_count(a), 0);
	vcpu_put(a);
	vcpu_put(b);
	env_fini(&e);
}

/* ---- load / put / blocking ----------------------------------------------- */

TEST(avic_iommu_load_put_block_unblock)
{
	struct doorbells d = { 0 };
	struct amd_iommu_stats ms;
	struct avic_ga_log_stats st;
	struct vcpu *vcpu, *alias;
	uint64_t rings;
	uint32_t tag;
	struct env e;

	env_init(&e, 300, NULL, NULL);
	host_doorbell_set_handler(doorbell_fn, &d);
	vcpu = vcpu_at(&e, 299);
	/* The vCPU a tag truncated to 8 bits of index would wake instead. */
	alias = vcpu_at(&e, 43);
	tag = avic_vcpu_gatag(vcpu);
	ASSERT_OK(avic_irte_attach_iommu(vcpu, e.iommu, DEVID, irte(&e, 7), 0x61));
	ASSERT_OK(avic_irte_attach_iommu(alias, e.iommu, DEVID, irte(&e, 8), 0x62));
	ASSERT_OK(vcpu_load(alias, 3));
	vcpu_blocking(alias);
	ASSERT_EQ(lo(&e, 8), expect_lo(avic_vcpu_gatag(alias), 3, false, true));

	/* Load on CPU 1 (APIC ID 0x1A5): doorbells go there. */
	ASSERT_OK(vcpu_load(vcpu, 1));
	ASSERT_EQ(lo(&e, 7), expect_lo(tag, 0x1A5, true, false));
	ASSERT_EQ(hi(&e, 7), expect_hi(vcpu, 0x61, 0x1A5));
	rings = host_doorbell_count();
	ASSERT_OK(amd_iommu_device_interrupt(e.iommu, DEVID, 7));
	ASSERT(irr_test(vcpu, 0x61));
	ASSERT_EQ(host_doorbell_count(), rings + 1);
	ASSERT_EQ(d.count[1], 1);
	ASSERT_EQ(d.count[0] + d.count[2] + d.count[3] + d.other, 0);
	irr_clear(vcpu, 0x61);

	/* Plain put (preempted): IsRun = 0 and no GA log wake-up. */
	vcpu_put(vcpu);
	ASSERT_EQ(lo(&e, 7), expect_lo(tag, 0x1A5, false, false));
	ASSERT_OK(amd_iommu_device_interrupt(e.iommu, DEVID, 7));
	ASSERT(irr_test(vcpu, 0x61));
	ASSERT_EQ(host_doorbell_count(), rings + 1);
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_GA_LOG_TAIL), 0);
	amd_iommu_get_stats(e.iommu, &ms);
	ASSERT_EQ(ms.irr_only, 1);
	ASSERT_EQ(ms.ga_log_entries, 0);
	irr_clear(vcpu, 0x61);

	/* Blocking: GALogIntr = 1; the device interrupt becomes a GA log wake. */
	ASSERT_OK(vcpu_load(vcpu, 1));
	vcpu_blocking(vcpu);
	ASSERT_EQ(lo(&e, 7), expect_lo(tag, 0x1A5, false, true));
	ASSERT_EQ(wakeups(vcpu), 0);
	ASSERT_OK(amd_iommu_device_interrupt(e.iommu, DEVID, 7));
	ASSERT(irr_test(vcpu, 0x61));
	ASSERT_EQ(host_doorbell_count(), rings + 1);
	ASSERT_EQ(wakeups(vcpu), 1);
	ASSERT_EQ(wakeups(alias), 0);
	ASSERT_EQ(irr_count(alias), 0);
	avic_ga_log_stats(e.log, &st);
	ASSERT_EQ(st.entries, 1);
	ASSERT_EQ(st.woken, 1);
	ASSERT_EQ(st.unknown, 0);
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_GA_LOG_TAIL), 8);
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_GA_LOG_HEAD), 8);
	/* The notifier acknowledged GAInt. */
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_STATUS), AMD_IOMMU_STATUS_GALOG_RUN);

	/* Unblocking is a load: running again, GA log wake-ups off. */
	vcpu_unblocking(vcpu);
	ASSERT_EQ(lo(&e, 7), expect_lo(tag, 0x1A5, true, false));

	/* Preempted while blocking keeps GALogIntr (reference 8.13)... */
	vcpu_blocking(vcpu);
	vcpu_put(vcpu);
	ASSERT_EQ(lo(&e, 7), expect_lo(tag, 0x1A5, false, true));
	/* ...and a load while still blocking changes nothing... */
	ASSERT_OK(vcpu_load(vcpu, 2));
	ASSERT_EQ(lo(&e, 7), expect_lo(tag, 0x1A5, false, true));
	/* ...until unblock loads on the current CPU. */
	vcpu_unblocking(vcpu);
	ASSERT_EQ(lo(&e, 7), expect_lo(tag, 0x2FF, true, false));
	ASSERT_EQ(hi(&e, 7), expect_hi(vcpu, 0x61, 0x2FF));

	/* Migration: put, load elsewhere; the guest-mode IRTE follows. */
	vcpu_put(vcpu);
	ASSERT_EQ(lo(&e, 7), expect_lo(tag, 0x2FF, false, false));
	ASSERT_OK(vcpu_load(vcpu, 0));
	ASSERT_EQ(lo(&e, 7), expect_lo(tag, 0, true, false));
	ASSERT_OK(amd_iommu_device_interrupt(e.iommu, DEVID, 7));
	ASSERT_EQ(d.count[0], 1);
	vcpu_put(vcpu);
	ASSERT_OK(vcpu_load(vcpu, 2));
	ASSERT_EQ(lo(&e, 7), expect_lo(tag, 0x2FF, true, false));
	ASSERT_OK(amd_iommu_device_interrupt(e.iommu, DEVID, 7));
	ASSERT_EQ(d.count[2], 1);
	ASSERT_EQ(d.count[1], 1);
	ASSERT_EQ(d.other, 0);
	avic_ga_log_stats(e.log, &st);
	ASSERT_EQ(st.entries, 1);

	vcpu_put(vcpu);
	vcpu_unblocking(alias);
	vcpu_put(alias);
	env_fini(&e);
}

/* ---- a real sleeper ------------------------------------------------------ */

struct sleeper {
	struct vcpu *vcpu;
	struct env *e;
	uint32_t index;
	int rc;
	uint64_t lo_after;
};

static void *sleeper_fn(void *arg)
{
	struct sleeper *s = arg;

	if (vcpu_load(s->vcpu, 1)) {
		s->rc = -EINVAL;
		return NULL;
	}
	s->rc = vcpu_block(s->vcpu, 5000000000ULL);
	s->lo_after = lo(s->e, s->index);
	vcpu_put(s->vcpu);
	return NULL;
}

struct device {
	struct env *e;
	uint32_t index;
	int rc;
};

static void *device_fn(void *arg)
{
	struct device *d = arg;

	d->rc = amd_iommu_device_interrupt(d->e->iommu, DEVID, d->index);
	return NULL;
}

TEST(avic_iommu_blocked_thread_woken_by_device)
{
	struct timespec pause = { 0, 20 * 1000 * 1000 };
	struct amd_iommu_stats ms;
	struct avic_ga_log_stats st;
	struct sleeper s;
	struct device dev;
	pthread_t vt, dt;
	uint64_t start, deadline;
	struct env e;

	env_init(&e, 300, NULL, NULL);
	s = (struct sleeper){ .vcpu = vcpu_at(&e, 290), .e = &e, .index = 33 };
	ASSERT_OK(avic_irte_attach_iommu(s.vcpu, e.iommu, DEVID, irte(&e, 33), 0x99));
	start = host_now_ns();
	ASSERT_OK(pthread_create(&vt, NULL, sleeper_fn, &s));

	/* Wait for the blocking put to reach the IRTE, then let it sleep. */
	deadline = host_now_ns() + 4000000000ULL;
	while (!(lo(&e, 33) & AMD_IRTE_LO_GA_LOG_INTR) && host_now_ns() < deadline)
		sched_yield();
	ASSERT(lo(&e, 33) & AMD_IRTE_LO_GA_LOG_INTR);
	ASSERT(!(lo(&e, 33) & AMD_IRTE_LO_IS_RUN));
	nanosleep(&pause, NULL);

	dev = (struct device){ .e = &e, .index = 33, .rc = -1 };
	ASSERT_OK(pthread_create(&dt, NULL, device_fn, &dev));
	ASSERT_OK(pthread_join(dt, NULL));
	ASSERT_OK(pthread_join(vt, NULL));
	ASSERT_OK(dev.rc);
	ASSERT_OK(s.rc);
	ASSERT(host_now_ns() - start < 4000000000ULL);
	/* Woken through the GA log, not a doorbell. */
	amd_iommu_get_stats(e.iommu, &ms);
	ASSERT_EQ(ms.ga_log_entries, 1);
	ASSERT_EQ(ms.doorbells, 0);
	avic_ga_log_stats(e.log, &st);
	ASSERT_EQ(st.woken, 1);
	ASSERT(irr_test(s.vcpu, 0x99));
	/* Unblocking reloaded it on CPU 1. */
	ASSERT_EQ(s.lo_after, expect_lo(avic_vcpu_gatag(s.vcpu), 0x1A5, true, false));
	env_fini(&e);
}

/* ---- GA log overflow ------------------------------------------------------ */

#define STORM_VCPUS 12

struct overflow_kick {
	struct vm *vm;
	unsigned int calls, kicked;
};

/* What an engine would do: every blocked vCPU re-checks its IRR. */
static void kick_blocked(void *arg)
{
	struct overflow_kick *k = arg;

	k->calls++;
	for (uint32_t i = 0; i < vm_nr_vcpus(k->vm); i++) {
		struct vcpu *vcpu = vm_get_vcpu(k->vm, i);

		if (load_acquire(&vcpu->blocking)) {
			vcpu_wake(vcpu);
			k->kicked++;
		}
	}
}

TEST(avic_iommu_ga_log_overflow_storm)
{
	struct overflow_kick k = { 0 };
	struct avic_ga_log_stats st;
	struct amd_iommu_stats ms;
	struct vcpu *victim;
	uint64_t ctl, victim_wakes;
	struct env e;

	env_init(&e, STORM_VCPUS, kick_blocked, &k);
	k.vm = e.vm;
	for (uint32_t i = 0; i < STORM_VCPUS; i++) {
		struct vcpu *vcpu = vcpu_at(&e, i);

		ASSERT_OK(avic_irte_attach_iommu(vcpu, e.iommu, DEVID, irte(&e, i),
						 (uint8_t)(0x40 + i)));
		ASSERT_OK(vcpu_load(vcpu, (int)(i % 4)));
		vcpu_blocking(vcpu);
		ASSERT(lo(&e, i) & AMD_IRTE_LO_GA_LOG_INTR);
	}
	victim = vcpu_at(&e, STORM_VCPUS - 1);

	/* The host does not get to the GA log interrupt: the log fills up. */
	ctl = rd(&e, AMD_IOMMU_MMIO_CONTROL);
	wr(&e, AMD_IOMMU_MMIO_CONTROL, ctl & ~AMD_IOMMU_CONTROL_GAINT_EN);
	for (unsigned int i = 0; i < 511; i++)
		ASSERT_OK(amd_iommu_device_interrupt(e.iommu, DEVID, i % (STORM_VCPUS - 1)));
	amd_iommu_get_stats(e.iommu, &ms);
	ASSERT_EQ(ms.ga_log_entries, 511);
	ASSERT_EQ(ms.ga_log_irqs, 0);
	ASSERT_EQ(wakeups(vcpu_at(&e, 0)), 0);
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_GA_LOG_TAIL), 511 * 8);

	/*
	 * Interrupts come back just as the victim's device fires: its entry
	 * finds the log full.  The overflow interrupt runs the notifier, which
	 * drains, restarts and has the owner kick every blocked vCPU: nothing
	 * else would wake the victim.
	 */
	wr(&e, AMD_IOMMU_MMIO_CONTROL, ctl);
	ASSERT_OK(amd_iommu_device_interrupt(e.iommu, DEVID, STORM_VCPUS - 1));
	ASSERT(irr_test(victim, 0x40 + STORM_VCPUS - 1));
	amd_iommu_get_stats(e.iommu, &ms);
	ASSERT_EQ(ms.ga_log_overflows, 1);
	ASSERT_EQ(ms.ga_log_entries, 511);
	ASSERT_EQ(ms.ga_log_irqs, 1);
	avic_ga_log_stats(e.log, &st);
	ASSERT_EQ(st.entries, 511);
	ASSERT_EQ(st.woken, 511);
	ASSERT_EQ(st.restarts, 1);
	ASSERT_EQ(k.calls, 1);
	ASSERT_EQ(k.kicked, STORM_VCPUS);
	ASSERT_EQ(wakeups(victim), 1);
	/* 511 entries over 11 vCPUs: 47 for the first five, 46 after. */
	ASSERT_EQ(wakeups(vcpu_at(&e, 0)), 47 + 1);
	ASSERT_EQ(wakeups(vcpu_at(&e, 10)), 46 + 1);
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_STATUS), AMD_IOMMU_STATUS_GALOG_RUN);
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_CONTROL), ctl);
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_GA_LOG_HEAD), 511 * 8);

	/* Logging works again: the victim's next interrupt is an entry. */
	victim_wakes = wakeups(victim);
	ASSERT_OK(amd_iommu_device_interrupt(e.iommu, DEVID, STORM_VCPUS - 1));
	avic_ga_log_stats(e.log, &st);
	ASSERT_EQ(st.entries, 512);
	ASSERT_EQ(st.woken, 512);
	ASSERT_EQ(st.restarts, 1);
	ASSERT_EQ(wakeups(victim), victim_wakes + 1);
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_GA_LOG_TAIL), 0);	/* wrapped */
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_GA_LOG_HEAD), 0);

	/* A storm with no interrupt at all: a polling run reports the restart. */
	wr(&e, AMD_IOMMU_MMIO_CONTROL, ctl & ~AMD_IOMMU_CONTROL_GAINT_EN);
	for (unsigned int i = 0; i < 600; i++)
		ASSERT_OK(amd_iommu_device_interrupt(e.iommu, DEVID, i % STORM_VCPUS));
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_STATUS) & AMD_IOMMU_STATUS_GALOG_OVERFLOW,
		  AMD_IOMMU_STATUS_GALOG_OVERFLOW);
	ASSERT(avic_ga_log_process(e.log));
	avic_ga_log_stats(e.log, &st);
	ASSERT_EQ(st.entries, 512 + 511);
	ASSERT_EQ(st.restarts, 2);
	ASSERT_EQ(k.calls, 2);
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_STATUS), AMD_IOMMU_STATUS_GALOG_RUN);
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_CONTROL), ctl);
	ASSERT(!avic_ga_log_process(e.log));
	ASSERT_OK(amd_iommu_device_interrupt(e.iommu, DEVID, 0));
	avic_ga_log_stats(e.log, &st);
	ASSERT_EQ(st.entries, 512 + 511 + 1);
	ASSERT_EQ(st.restarts, 2);
	ASSERT_EQ(st.unknown + st.bad_type, 0);

	for (uint32_t i = 0; i < STORM_VCPUS; i++) {
		vcpu_unblocking(vcpu_at(&e, i));
		vcpu_put(vcpu_at(&e, i));
	}
	env_fini(&e);
}

/* ---- detach and teardown ------------------------------------------------- */

TEST(avic_iommu_detach)
{
	struct amd_iommu_stats ms;
	struct vcpu *vcpu;
	uint64_t rings;
	struct env e;

	env_init(&e, 2, NULL, NULL);
	vcpu = vcpu_at(&e, 1);
	ASSERT_OK(avic_irte_attach_iommu(vcpu, e.iommu, DEVID, irte(&e, 9), 0x55));
	ASSERT_OK(avic_irte_attach_iommu(vcpu, e.iommu, DEVID, irte(&e, 10), 0x56));
	ASSERT_OK(vcpu_load(vcpu, 1));
	ASSERT_OK(amd_iommu_device_interrupt(e.iommu, DEVID, 9));
	ASSERT(irr_test(vcpu, 0x55));
	irr_clear(vcpu, 0x55);

	avic_irte_detach(vcpu, irte(&e, 9));
	ASSERT_EQ(lo(&e, 9), 0);
	ASSERT_EQ(hi(&e, 9), 0);
	ASSERT_EQ(avic_irte_count(vcpu), 1);
	/* Not ours (any more): nothing happens. */
	avic_irte_detach(vcpu, irte(&e, 9));
	avic_irte_detach(vcpu_at(&e, 0), irte(&e, 10));
	avic_irte_detach(vcpu, NULL);
	ASSERT_EQ(avic_irte_count(vcpu), 1);
	ASSERT(lo(&e, 10) & AMD_IRTE_LO_GUEST_MODE);

	rings = host_doorbell_count();
	ASSERT_EQ(amd_iommu_device_interrupt(e.iommu, DEVID, 9), -ENOENT);
	ASSERT_EQ(irr_count(vcpu), 0);
	ASSERT_EQ(host_doorbell_count(), rings);
	/* Load and put no longer write it; the other IRTE still follows. */
	vcpu_put(vcpu);
	ASSERT_OK(vcpu_load(vcpu, 2));
	ASSERT_EQ(lo(&e, 9) | hi(&e, 9), 0);
	ASSERT_EQ(lo(&e, 10), expect_lo(avic_vcpu_gatag(vcpu), 0x2FF, true, false));
	ASSERT_OK(amd_iommu_device_interrupt(e.iommu, DEVID, 10));
	ASSERT(irr_test(vcpu, 0x56));
	ASSERT_EQ(irr_count(vcpu), 1);
	amd_iommu_get_stats(e.iommu, &ms);
	ASSERT_EQ(ms.irr_set, 2);
	ASSERT_EQ(ms.not_valid, 1);
	vcpu_put(vcpu);
	env_fini(&e);
}

TEST(avic_iommu_teardown)
{
	struct avic_ga_log_stats st;
	struct amd_iommu_stats ms;
	struct vcpu *a, *b;
	struct env e;

	env_init(&e, 3, NULL, NULL);
	a = vcpu_at(&e, 1);
	b = vcpu_at(&e, 2);
	for (uint32_t i = 0; i < 4; i++)
		ASSERT_OK(avic_irte_attach_iommu(i & 1 ? b : a, e.iommu, DEVID,
						 irte(&e, 100 + i), (uint8_t)(0x30 + i)));
	ASSERT_OK(vcpu_load(a, 1));
	vcpu_blocking(a);

	/* Unhashed (pre-destroy): the notifier finds no vCPU for the tag. */
	vm_pre_destroy(e.vm);
	ASSERT_EQ(avic_irte_attach_iommu(b, e.iommu, DEVID, irte(&e, 200), 0x40), -ENODEV);
	ASSERT_EQ(lo(&e, 200), 0);
	ASSERT_OK(amd_iommu_device_interrupt(e.iommu, DEVID, 100));
	avic_ga_log_stats(e.log, &st);
	ASSERT_EQ(st.entries, 1);
	ASSERT_EQ(st.unknown, 1);
	ASSERT_EQ(st.woken, 0);
	ASSERT_EQ(wakeups(a), 0);

	/* The log gone: logging off, the IOMMU forgets the page. */
	avic_ga_log_destroy(e.log);
	e.log = NULL;
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_CONTROL),
		  AMD_IOMMU_CONTROL_GA_EN | AMD_IOMMU_CONTROL_GAM_EN);
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_GA_LOG_BASE), 0);
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_STATUS) & AMD_IOMMU_STATUS_GALOG_RUN, 0);
	ASSERT_OK(amd_iommu_device_interrupt(e.iommu, DEVID, 100));
	amd_iommu_get_stats(e.iommu, &ms);
	ASSERT_EQ(ms.ga_log_dropped, 1);
	ASSERT_EQ(ms.ga_log_irqs, 1);

	/* vCPU destruction takes every IRTE out of guest mode. */
	vcpu_unblocking(a);
	vcpu_put(a);
	vm_destroy(e.vm);
	e.vm = NULL;
	for (uint32_t i = 0; i < 4; i++) {
		ASSERT_EQ(lo(&e, 100 + i), 0);
		ASSERT_EQ(hi(&e, 100 + i), 0);
		ASSERT_EQ(amd_iommu_device_interrupt(e.iommu, DEVID, 100 + i), -ENOENT);
	}
	env_fini(&e);
}

/*
 * A device interrupts through one IRTE, non-stop, while the hypervisor
 * attaches it to a vCPU of a fresh VM, then detaches it (explicitly, or
 * through vCPU destruction) and destroys the VM, over and over.  Each
 * posting yields in its middle (backing page translated, IRR not yet
 * written), so without the flush after the detach the device would write
 * a backing page the destruction freed (a use-after-free for ASan).
 */
#define CHURN_IRTE    40U
#define CHURN_NS      (400ULL * 1000 * 1000)

struct churn_dev {
	struct env *e;
	uint32_t stop;
	uint64_t posted;		/* returned 0 */
	int bad;			/* any other result than 0 or -ENOENT */
};

static void yield_hook(struct amd_iommu *iommu, uint16_t devid, uint32_t index, void *arg)
{
	(void)iommu;
	(void)devid;
	(void)index;
	(void)arg;
	sched_yield();
}

static void *churn_dev_fn(void *arg)
{
	struct churn_dev *d = arg;

	while (!__atomic_load_n(&d->stop, __ATOMIC_ACQUIRE)) {
		int r = amd_iommu_device_interrupt(d->e->iommu, DEVID, CHURN_IRTE);

		if (!r)
			__atomic_add_fetch(&d->posted, 1, __ATOMIC_RELAXED);
		else if (r != -ENOENT)
			__atomic_store_n(&d->bad, r, __ATOMIC_RELAXED);
	}
	return NULL;
}

TEST(avic_iommu_detach_races_device)
{
	struct churn_dev d = { 0 };
	struct amd_iommu_stats ms;
	uint64_t end, cycles = 0;
	pthread_t th;
	struct env e;

	env_init(&e, 1, NULL, NULL);
	d.e = &e;
	amd_iommu_set_posting_hook(e.iommu, yield_hook, NULL);
	ASSERT_OK(pthread_create(&th, NULL, churn_dev_fn, &d));
	end = host_now_ns() + CHURN_NS;
	do {
		struct vm *vm = avic_vm_new(AVIC_MODEL_X2AVIC_4K, 0, e.ids);
		struct vcpu *vcpu;
		uint64_t posted = __atomic_load_n(&d.posted, __ATOMIC_RELAXED);
		uint64_t spin_end = host_now_ns() + 5 * CHURN_NS;

		avic_vcpu_new(vm, 0);
		avic_vcpu_new(vm, 1);
		vcpu = vm_get_vcpu(vm, (uint32_t)(cycles & 1));
		ASSERT_OK(vcpu_load(vcpu, (int)(cycles % 4)));
		ASSERT_OK(avic_irte_attach_iommu(vcpu, e.iommu, DEVID, irte(&e, CHURN_IRTE),
						 0x66));
		/* Blocking every third cycle: GA log entries, the notifier runs. */
		if (cycles % 3 == 0)
			vcpu_blocking(vcpu);
		/* Let the device post through this VM's IRTE at least once. */
		while (__atomic_load_n(&d.posted, __ATOMIC_RELAXED) == posted &&
		       host_now_ns() < spin_end)
			sched_yield();
		ASSERT_NE(__atomic_load_n(&d.posted, __ATOMIC_RELAXED), posted);
		if (cycles & 2) {
			avic_irte_detach(vcpu, irte(&e, CHURN_IRTE));
			ASSERT_EQ(lo(&e, CHURN_IRTE) | hi(&e, CHURN_IRTE), 0);
		}
		if (cycles % 3 == 0)
			vcpu_unblocking(vcpu);
		vcpu_put(vcpu);
		/* Detaches what is still attached, flushes, frees the pages. */
		vm_destroy(vm);
		cycles++;
	} while (host_now_ns() < end);
	__atomic_store_n(&d.stop, 1, __ATOMIC_RELEASE);
	ASSERT_OK(pthread_join(th, NULL));
	ASSERT_EQ(d.bad, 0);
	ASSERT(cycles >= 4);
	ASSERT(d.posted >= cycles);
	amd_iommu_get_stats(e.iommu, &ms);
	/* One flush per attach and one per detach. */
	ASSERT_EQ(ms.completion_waits, 2 * cycles);
	amd_iommu_set_posting_hook(e.iommu, NULL, NULL);
	env_fini(&e);
}
