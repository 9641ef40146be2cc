// SPDX-License-Identifier: MIT
/*
 * The KVM runner's local APIC adaptor (kvm/lapic.c, kvm/lapic_timer.c) on
 * the AVIC model, without /dev/kvm: vkvm_lapic_init builds a model VM, and
 * the tests drive it the way the runner's MMIO and MSR exits do.
 */
#include <stdlib.h>

#include <vintc/amd_defs.h>
#include <vintc/avic.h>
#include <vintc/vlapic.h>

#include "kvm/lapic.h"
#include "test.h"

#define BASE_XAPIC	(VKVM_APIC_BASE | MSR_IA32_APICBASE_ENABLE)
#define BASE_X2APIC	(BASE_XAPIC | MSR_IA32_APICBASE_EXTD)

static struct vkvm_lapic *lapic_new(uint32_t nr)
{
	struct vkvm_lapic *l = calloc(1, sizeof(*l));
	char why[128];

	ASSERT(l);
	ASSERT_OK(vkvm_lapic_init(l, nr, why, sizeof(why)));
	ASSERT_EQ(l->nr, nr);
	return l;
}

static void lapic_free(struct vkvm_lapic *l)
{
	vkvm_lapic_fini(l);
	free(l);
	ASSERT_EQ(host_mem_stats(HOST_TAG_NR).pages, 0);
}

static uint32_t rd(struct vkvm_lapic *l, uint32_t idx, uint32_t off)
{
	uint32_t val = 0xDEADBEEF;

	ASSERT(!vkvm_lapic_access(l, idx, off, false, &val));
	return val;
}

static bool wr(struct vkvm_lapic *l, uint32_t idx, uint32_t off, uint32_t val)
{
	return vkvm_lapic_access(l, idx, off, true, &val);
}

static bool irr(struct vkvm_lapic *l, uint32_t idx, unsigned int v)
{
	return (rd(l, idx, APIC_VECTOR_WORD(APIC_IRR, v)) >> APIC_VECTOR_BIT(v)) & 1;
}

static bool isr(struct vkvm_lapic *l, uint32_t idx, unsigned int v)
{
	return (rd(l, idx, APIC_VECTOR_WORD(APIC_ISR, v)) >> APIC_VECTOR_BIT(v)) & 1;
}

static int msr_rd(struct vkvm_lapic *l, uint32_t idx, uint32_t msr, uint64_t *val)
{
	return vkvm_lapic_msr(l, idx, msr, false, val);
}

static int msr_wr(struct vkvm_lapic *l, uint32_t idx, uint32_t msr, uint64_t val)
{
	return vkvm_lapic_msr(l, idx, msr, true, &val);
}

TEST(kvm_lapic_init_state)
{
	struct vkvm_lapic *l = lapic_new(3);

	for (uint32_t i = 0; i < 3; i++) {
		ASSERT_EQ(rd(l, i, APIC_ID), i << 24);
		ASSERT_EQ(rd(l, i, APIC_LVR), 0x00050014);
		ASSERT_EQ(rd(l, i, APIC_SPIV), 0xFF);
		ASSERT_EQ(rd(l, i, APIC_LVTT), 1U << 16);
		ASSERT_EQ(l->apic_base[i], BASE_XAPIC | (i ? 0 : MSR_IA32_APICBASE_BSP));
		ASSERT(vkvm_lapic_mmio_enabled(l, i));
		ASSERT(!vkvm_lapic_x2apic(l, i));
	}
	lapic_free(l);
}

TEST(kvm_lapic_init_bad_count)
{
	struct vkvm_lapic *l = calloc(1, sizeof(*l));
	char why[128];

	ASSERT(l);
	ASSERT_EQ(vkvm_lapic_init(l, 0, why, sizeof(why)), -EINVAL);
	vkvm_lapic_fini(l);
	ASSERT_EQ(vkvm_lapic_init(l, VKVM_MAX_CPUS + 1, why, sizeof(why)), -EINVAL);
	vkvm_lapic_fini(l);
	free(l);
}

/* EOI-broadcast suppression once LVR offers it, on every vCPU, after resets too. */
TEST(kvm_lapic_directed_eoi_offered)
{
	struct vkvm_lapic *l = lapic_new(2);

	vkvm_lapic_set_directed_eoi(l, true);
	for (uint32_t i = 0; i < 2; i++)
		ASSERT_EQ(rd(l, i, APIC_LVR), 0x01050014);
	ASSERT(!wr(l, 1, APIC_SPIV, 0xFFFFFFFF));
	ASSERT_EQ(rd(l, 1, APIC_SPIV), 0x13FF);
	vkvm_lapic_reset(l, 1);
	ASSERT_EQ(rd(l, 1, APIC_LVR), 0x01050014);
	ASSERT_EQ(rd(l, 1, APIC_SPIV), 0xFF);
	vkvm_lapic_fini(l);
	free(l);
}

/* xAPIC MMIO: what sticks, what is read-only, what has side effects. */
TEST(kvm_lapic_xapic_registers)
{
	struct vkvm_lapic *l = lapic_new(2);
	struct vkvm_apic_stats st;

	/* Trap class: stored, reserved bits dropped by the hypervisor. */
	ASSERT(!wr(l, 0, APIC_SPIV, 0xFFFFFFFF));
	ASSERT_EQ(rd(l, 0, APIC_SPIV), 0x3FF);	/* no EOI-broadcast suppression offered */
	ASSERT(!wr(l, 0, APIC_LVT0, 0xFFFFFFFF));
	ASSERT_EQ(rd(l, 0, APIC_LVT0), 0x1A7FF);
	ASSERT(!wr(l, 0, APIC_TDCR, 0xFFFFFFFF));
	ASSERT_EQ(rd(l, 0, APIC_TDCR), 0xB);
	/* Fault class: LVR and PPR are read-only, ICR2 keeps only 31:24. */
	ASSERT(!wr(l, 0, APIC_LVR, 0));
	ASSERT_EQ(rd(l, 0, APIC_LVR), 0x00050014);
	ASSERT(!wr(l, 0, APIC_ICR2, 0x12345678));
	ASSERT_EQ(rd(l, 0, APIC_ICR2), 0x12000000);
	/* TPR: the runner mirrors it into CR8; PPR follows. */
	ASSERT(wr(l, 0, APIC_TASKPRI, 0x1234));
	ASSERT_EQ(rd(l, 0, APIC_TASKPRI), 0x34);
	ASSERT_EQ(rd(l, 0, APIC_PROCPRI), 0x34);
	/* LDR and DFR reach the logical table: cluster 1, bit 2. */
	ASSERT(!wr(l, 1, APIC_DFR, APIC_DFR_CLUSTER));
	ASSERT(!wr(l, 1, APIC_LDR, 0x14000000));
	ASSERT(avic_vcpu_match_dest(l->vcpus[1], 0x14, true, false));
	ASSERT(!avic_vcpu_match_dest(l->vcpus[1], 0x24, true, false));
	/* The current count with no timer armed. */
	ASSERT_EQ(rd(l, 0, APIC_TMCCT), 0);
	/* Not a register: counted, reads 0, writes dropped. */
	ASSERT_EQ(rd(l, 0, 0x404), 0);
	ASSERT(!wr(l, 0, 0x800, 1));
	vkvm_lapic_stats(l, &st);
	ASSERT_EQ(st.bad_accesses, 2);
	ASSERT_EQ(st.writes[APIC_SPIV >> 4], 1);
	ASSERT_EQ(st.reads[APIC_LVR >> 4], 1);
	lapic_free(l);
}

TEST(kvm_lapic_icr_sets_target_irr)
{
	struct vkvm_lapic *l = lapic_new(3);
	struct vkvm_apic_stats st;

	ASSERT_OK(vcpu_load(l->vcpus[0], 0));
	ASSERT_OK(vcpu_load(l->vcpus[2], 2));
	/* Running target: accelerated, with a doorbell. */
	ASSERT(!wr(l, 0, APIC_ICR2, 2U << 24));
	ASSERT(!wr(l, 0, APIC_ICR, 0x4051));
	ASSERT(irr(l, 2, 0x51));
	ASSERT(!irr(l, 1, 0x51));
	ASSERT_EQ(rd(l, 0, APIC_ICR), 0x4051);
	ASSERT_EQ(rd(l, 0, APIC_ICR2), 2U << 24);
	/* Not running: the silicon exits and the hypervisor wakes it. */
	ASSERT(!wr(l, 0, APIC_ICR2, 1U << 24));
	ASSERT(!wr(l, 0, APIC_ICR, 0x52));
	ASSERT(irr(l, 1, 0x52));
	vkvm_lapic_stats(l, &st);
	ASSERT_EQ(st.ipis, 2);
	ASSERT_EQ(st.ipi_accelerated, 1);
	ASSERT_EQ(st.doorbells, 1);
	ASSERT_EQ(st.ipi_exits[AVIC_IPI_FAILURE_TARGET_NOT_RUNNING], 1);
	/* An illegal vector sets ESR "send illegal vector" at the next ESR write. */
	ASSERT(!wr(l, 0, APIC_ICR, 0x05));
	ASSERT(!wr(l, 0, APIC_ESR, 0));
	ASSERT_EQ(rd(l, 0, APIC_ESR), APIC_ESR_SEND_ILLEGAL_VECTOR);
	lapic_free(l);
}

struct kicks {
	uint32_t n[4];
};

static void count_kick(void *opaque, uint32_t idx)
{
	struct kicks *k = opaque;

	ASSERT(idx < 4);
	k->n[idx]++;
}

/* The runner's kick (l->kick, set after init) reaches the target only. */
TEST(kvm_lapic_events_kick_only_the_target)
{
	struct vkvm_lapic *l = lapic_new(4);
	struct kicks k = { { 0 } };
	uint8_t vector = 0;

	l->kick = count_kick;
	l->opaque = &k;
	ASSERT(!wr(l, 0, APIC_ICR2, 2U << 24));
	ASSERT(!wr(l, 0, APIC_ICR, 0x4500));		/* INIT */
	ASSERT(!wr(l, 0, APIC_ICR, 0x0400));		/* NMI */
	ASSERT(!wr(l, 0, APIC_ICR, 0x0612));		/* SIPI, vector 0x12 */
	ASSERT_EQ(k.n[0], 0);
	ASSERT_EQ(k.n[1], 0);
	ASSERT_EQ(k.n[2], 3);
	ASSERT_EQ(k.n[3], 0);
	ASSERT_EQ(avic_vcpu_take_events(l->vcpus[2], &vector),
		  AVIC_EVENT_INIT | AVIC_EVENT_NMI | AVIC_EVENT_SIPI);
	ASSERT_EQ(vector, 0x12);
	/* INIT de-assert resets nobody and kicks nobody. */
	ASSERT(!wr(l, 0, APIC_ICR, 0x8500));
	ASSERT_EQ(k.n[2], 3);
	ASSERT(!avic_vcpu_has_events(l->vcpus[2]));
	lapic_free(l);
}

/* x2APIC MSRs: legality from the model, values through the page. */
TEST(kvm_lapic_x2apic_msrs)
{
	struct vkvm_lapic *l = lapic_new(2);
	uint64_t val;

	/* #GP outside x2APIC mode, and MMIO stops answering inside it. */
	ASSERT_EQ(msr_rd(l, 1, 0x802, &val), -EINVAL);
	vkvm_lapic_set_base(l, 1, BASE_X2APIC);
	ASSERT(vkvm_lapic_x2apic(l, 1));
	ASSERT(!vkvm_lapic_mmio_enabled(l, 1));
	/* The 32-bit ID and the derived LDR. */
	ASSERT_OK(msr_rd(l, 1, 0x802, &val));
	ASSERT_EQ(val, 1);
	ASSERT_OK(msr_rd(l, 1, 0x80D, &val));
	ASSERT_EQ(val, 0x00000002);
	/* Read-only, write-only and missing registers. */
	ASSERT_EQ(msr_wr(l, 1, 0x802, 5), -EINVAL);	/* ID */
	ASSERT_EQ(msr_wr(l, 1, 0x80D, 5), -EINVAL);	/* LDR */
	ASSERT_EQ(msr_rd(l, 1, 0x80B, &val), -EINVAL);	/* EOI */
	ASSERT_EQ(msr_rd(l, 1, 0x83F, &val), -EINVAL);	/* SELF_IPI */
	ASSERT_EQ(msr_rd(l, 1, 0x80E, &val), -EINVAL);	/* no DFR */
	ASSERT_EQ(msr_rd(l, 1, 0x831, &val), -EINVAL);	/* no ICR2 */
	ASSERT_EQ(msr_wr(l, 1, 0x7FF, 0), -EINVAL);
	/* Values that are #GP. */
	ASSERT_EQ(msr_wr(l, 1, 0x80B, 1), -EINVAL);	/* EOI takes only 0 */
	ASSERT_EQ(msr_wr(l, 1, 0x828, 1), -EINVAL);	/* ESR likewise */
	ASSERT_EQ(msr_wr(l, 1, 0x808, 1ULL << 32), -EINVAL);
	ASSERT_EQ(msr_wr(l, 1, 0x830, 0x2040), -EINVAL);	/* ICR bit 13 */
	ASSERT_EQ(msr_wr(l, 1, 0x83F, 0x140), -EINVAL);
	/* TPR: 1 asks the runner to mirror CR8. */
	ASSERT_EQ(msr_wr(l, 1, 0x808, 0x60), 1);
	ASSERT_EQ(vkvm_lapic_cr8(l, 1), 6);
	/* ICR: one 64-bit write, 32-bit destination, read back whole. */
	ASSERT_OK(msr_wr(l, 1, 0x830, 0x0000000000000047ULL));
	ASSERT(irr(l, 0, 0x47));
	ASSERT_OK(msr_rd(l, 1, 0x830, &val));
	ASSERT_EQ(val, 0x47);
	ASSERT_OK(msr_wr(l, 1, 0x830, 0x0000000100000048ULL));
	ASSERT_OK(msr_rd(l, 1, 0x830, &val));
	ASSERT_EQ(val, 0x0000000100000048ULL);
	/* SELF_IPI. */
	ASSERT_OK(msr_wr(l, 1, 0x83F, 0x49));
	/* Disabling the APIC leaves x2APIC mode and resets it. */
	vkvm_lapic_set_base(l, 1, VKVM_APIC_BASE);
	ASSERT(!vkvm_lapic_x2apic(l, 1));
	ASSERT(!vkvm_lapic_mmio_enabled(l, 1));
	ASSERT(!vkvm_lapic_deliverable(l, 1));
	ASSERT_EQ(msr_rd(l, 1, 0x802, &val), -EINVAL);
	lapic_free(l);
}

/* TPR[7:4] == CR8[3:0] both ways; TPR[3:0] survives a CR8 of the same class. */
TEST(kvm_lapic_tpr_cr8_coherence)
{
	struct vkvm_lapic *l = lapic_new(1);

	vkvm_lapic_set_cr8(l, 0, 5);
	ASSERT_EQ(rd(l, 0, APIC_TASKPRI), 0x50);
	ASSERT_EQ(rd(l, 0, APIC_PROCPRI), 0x50);
	ASSERT(wr(l, 0, APIC_TASKPRI, 0x7F));
	ASSERT_EQ(vkvm_lapic_cr8(l, 0), 7);
	vkvm_lapic_set_cr8(l, 0, 7);
	ASSERT_EQ(rd(l, 0, APIC_TASKPRI), 0x7F);
	vkvm_lapic_set_cr8(l, 0, 0x12);		/* only CR8[3:0] exists */
	ASSERT_EQ(rd(l, 0, APIC_TASKPRI), 0x20);
	ASSERT_EQ(vkvm_lapic_cr8(l, 0), 2);
	lapic_free(l);
}

TEST(kvm_lapic_accept_and_eoi)
{
	struct vkvm_lapic *l = lapic_new(1);
	struct vkvm_apic_stats st;

	ASSERT(!vkvm_lapic_deliverable(l, 0));
	ASSERT_EQ(vkvm_lapic_accept(l, 0), -1);
	avic_deliver(l->vcpus[0], 0x51);
	avic_deliver(l->vcpus[0], 0x61);
	/* TPR holds class 6 back; the accept takes the highest above it. */
	vkvm_lapic_set_cr8(l, 0, 6);
	ASSERT(!vkvm_lapic_deliverable(l, 0));
	vkvm_lapic_set_cr8(l, 0, 0);
	ASSERT(vkvm_lapic_deliverable(l, 0));
	ASSERT_EQ(vkvm_lapic_accept(l, 0), 0x61);
	ASSERT(isr(l, 0, 0x61));
	ASSERT(!irr(l, 0, 0x61));
	ASSERT_EQ(rd(l, 0, APIC_PROCPRI), 0x60);
	ASSERT(!vkvm_lapic_deliverable(l, 0));	/* 0x51 waits for the EOI */
	ASSERT(!wr(l, 0, APIC_EOI, 0));
	ASSERT(!isr(l, 0, 0x61));
	ASSERT_EQ(vkvm_lapic_accept(l, 0), 0x51);
	ASSERT(!wr(l, 0, APIC_EOI, 0));
	ASSERT_EQ(rd(l, 0, APIC_PROCPRI), 0);
	/* A hardware-disabled APIC takes nothing. */
	avic_deliver(l->vcpus[0], 0x71);
	l->apic_base[0] &= ~MSR_IA32_APICBASE_ENABLE;
	ASSERT(!vkvm_lapic_deliverable(l, 0));
	vkvm_lapic_stats(l, &st);
	ASSERT_EQ(st.injected, 2);
	lapic_free(l);
}

TEST(kvm_lapic_reset)
{
	struct vkvm_lapic *l = lapic_new(2);
	uint64_t val;

	ASSERT(!wr(l, 1, APIC_SPIV, 0x1FF));
	ASSERT(!wr(l, 1, APIC_LVTT, 0x20030));
	ASSERT(!wr(l, 1, APIC_TDCR, 0xB));
	ASSERT(!wr(l, 1, APIC_TMICT, 100000000));
	ASSERT(rd(l, 1, APIC_TMCCT) != 0);
	ASSERT(!wr(l, 1, APIC_LDR, 0x08000000));
	ASSERT(avic_vcpu_match_dest(l->vcpus[1], 0x08, true, false));
	vkvm_lapic_set_cr8(l, 1, 3);
	avic_deliver(l->vcpus[1], 0x40);
	vkvm_lapic_reset(l, 1);
	ASSERT_EQ(rd(l, 1, APIC_ID), 1U << 24);
	ASSERT_EQ(rd(l, 1, APIC_SPIV), 0xFF);
	ASSERT_EQ(rd(l, 1, APIC_LVTT), 1U << 16);
	ASSERT_EQ(rd(l, 1, APIC_TASKPRI), 0);
	ASSERT_EQ(rd(l, 1, APIC_LDR), 0);
	ASSERT(!avic_vcpu_match_dest(l->vcpus[1], 0x08, true, false));
	ASSERT(!irr(l, 1, 0x40));
	ASSERT_EQ(rd(l, 1, APIC_TMCCT), 0);	/* the timer stopped */
	/* INIT keeps x2APIC mode: the 32-bit ID and derived LDR come back. */
	vkvm_lapic_set_base(l, 1, BASE_X2APIC);
	vkvm_lapic_reset(l, 1);
	ASSERT(vkvm_lapic_x2apic(l, 1));
	ASSERT_OK(msr_rd(l, 1, 0x802, &val));
	ASSERT_EQ(val, 1);
	ASSERT_OK(msr_rd(l, 1, 0x80D, &val));
	ASSERT_EQ(val, 2);
	lapic_free(l);
}

struct moves {
	uint32_t n, idx;
	uint64_t from, to;
};

static void record_move(void *opaque, uint32_t idx, uint64_t old_page, uint64_t new_page)
{
	struct moves *m = opaque;

	m->n++;
	m->idx = idx;
	m->from = old_page;
	m->to = new_page;
}

/* The guest's WRMSR: the model's check with the guest's CPUID, then set. */
static int base_wr(struct vkvm_lapic *l, uint32_t idx, uint64_t val)
{
	int ret = vkvm_lapic_check_base(l, idx, val, true, 48);

	if (!ret)
		vkvm_lapic_set_base(l, idx, val);
	return ret;
}

/* IA32_APIC_BASE: #GP leaves everything alone, EN resets, x2APIC and back. */
TEST(kvm_lapic_apic_base_transitions)
{
	struct vkvm_lapic *l = lapic_new(2);
	uint64_t val;

	ASSERT_EQ(vkvm_lapic_base(l, 0), BASE_XAPIC | MSR_IA32_APICBASE_BSP);
	ASSERT_EQ(vkvm_lapic_base(l, 1), BASE_XAPIC);
	/* Refused: nothing changes. */
	ASSERT_EQ(base_wr(l, 1, VKVM_APIC_BASE | MSR_IA32_APICBASE_EXTD), -EINVAL);
	ASSERT_EQ(base_wr(l, 1, BASE_XAPIC | 0x200), -EINVAL);
	ASSERT_EQ(base_wr(l, 1, BASE_XAPIC | 1ULL << 48), -EINVAL);
	ASSERT_EQ(vkvm_lapic_check_base(l, 1, BASE_X2APIC, false, 48), -EINVAL);
	ASSERT_EQ(vkvm_lapic_base(l, 1), BASE_XAPIC);
	/* The BSP flag is R/W and changes nothing else. */
	ASSERT(!wr(l, 1, APIC_SPIV, 0x1FF));
	ASSERT_OK(base_wr(l, 1, BASE_XAPIC | MSR_IA32_APICBASE_BSP));
	ASSERT_EQ(rd(l, 1, APIC_SPIV), 0x1FF);
	ASSERT_OK(base_wr(l, 1, BASE_XAPIC));
	/* x2APIC: the 32-bit ID; then no way back to xAPIC but through disabled. */
	ASSERT_OK(base_wr(l, 1, BASE_X2APIC));
	ASSERT_OK(msr_rd(l, 1, 0x802, &val));
	ASSERT_EQ(val, 1);
	ASSERT_EQ(base_wr(l, 1, BASE_XAPIC), -EINVAL);
	ASSERT(vkvm_lapic_x2apic(l, 1));
	ASSERT_OK(msr_wr(l, 1, 0x80F, 0x1FF));
	ASSERT_OK(base_wr(l, 1, VKVM_APIC_BASE));
	ASSERT(!vkvm_lapic_x2apic(l, 1) && !vkvm_lapic_mmio_enabled(l, 1));
	ASSERT_EQ(base_wr(l, 1, BASE_X2APIC), -EINVAL);
	ASSERT_OK(base_wr(l, 1, BASE_XAPIC));
	/* Back in xAPIC: the ID in 31:24, the rest at power-up, x2AVIC off. */
	ASSERT_EQ(rd(l, 1, APIC_ID), 1U << 24);
	ASSERT_EQ(rd(l, 1, APIC_LDR), 0);
	ASSERT_EQ(rd(l, 1, APIC_SPIV), 0xFF);
	ASSERT_EQ(msr_rd(l, 1, 0x802, &val), -EINVAL);
	ASSERT(!wr(l, 1, APIC_LDR, 0x04000000));
	ASSERT(avic_vcpu_match_dest(l->vcpus[1], 0x04, true, false));
	lapic_free(l);
}

/* A disable resets the page; what arrives while disabled is not taken. */
TEST(kvm_lapic_apic_base_disable_resets)
{
	struct vkvm_lapic *l = lapic_new(2);

	ASSERT(!wr(l, 1, APIC_SPIV, 0x1FF));
	ASSERT(wr(l, 1, APIC_TASKPRI, 0x20));
	ASSERT(!wr(l, 1, APIC_LVT0, 0x30));
	ASSERT(!wr(l, 1, APIC_LDR, 0x08000000));
	ASSERT(avic_vcpu_match_dest(l->vcpus[1], 0x08, true, false));
	avic_deliver(l->vcpus[1], 0x40);
	/* true: the reset cleared TPR, the runner mirrors CR8. */
	ASSERT(vkvm_lapic_set_base(l, 1, VKVM_APIC_BASE));
	ASSERT_EQ(vkvm_lapic_cr8(l, 1), 0);
	ASSERT(!avic_vcpu_match_dest(l->vcpus[1], 0x08, true, false));
	ASSERT(!irr(l, 1, 0x40));
	avic_deliver(l->vcpus[1], 0x41);
	ASSERT(!vkvm_lapic_deliverable(l, 1));
	ASSERT(vkvm_lapic_set_base(l, 1, BASE_XAPIC));
	ASSERT(!irr(l, 1, 0x41));
	ASSERT(!vkvm_lapic_deliverable(l, 1));
	ASSERT_EQ(rd(l, 1, APIC_SPIV), 0xFF);
	ASSERT_EQ(rd(l, 1, APIC_TASKPRI), 0);
	ASSERT_EQ(rd(l, 1, APIC_LVT0), 1U << 16);
	ASSERT_EQ(rd(l, 1, APIC_ID), 1U << 24);
	/* No change, no reset. */
	ASSERT(!wr(l, 1, APIC_SPIV, 0x1FF));
	ASSERT(!vkvm_lapic_set_base(l, 1, BASE_XAPIC));
	ASSERT_EQ(rd(l, 1, APIC_SPIV), 0x1FF);
	lapic_free(l);
}

/* Relocation: the move hook gets the pages, per vCPU, enabled or not. */
TEST(kvm_lapic_apic_base_moves)
{
	struct vkvm_lapic *l = lapic_new(2);
	struct moves m = { 0 };

	l->move = record_move;
	l->move_opaque = &m;
	ASSERT(!wr(l, 0, APIC_SPIV, 0x1FF));
	ASSERT_OK(base_wr(l, 0, 0xFED40000ULL | MSR_IA32_APICBASE_ENABLE | MSR_IA32_APICBASE_BSP));
	ASSERT_EQ(m.n, 1);
	ASSERT_EQ(m.idx, 0);
	ASSERT_EQ(m.from, VKVM_APIC_BASE);
	ASSERT_EQ(m.to, 0xFED40000ULL);
	/* A move keeps the registers. */
	ASSERT_EQ(rd(l, 0, APIC_SPIV), 0x1FF);
	ASSERT(vkvm_lapic_mmio_enabled(l, 0));
	/* Flags alone move nothing. */
	ASSERT_OK(base_wr(l, 0, 0xFED40000ULL | MSR_IA32_APICBASE_ENABLE));
	ASSERT_EQ(m.n, 1);
	/* Moving while disabling: both. */
	ASSERT_OK(base_wr(l, 1, 0x7FFFF000ULL));
	ASSERT_EQ(m.n, 2);
	ASSERT_EQ(m.idx, 1);
	ASSERT_EQ(m.to, 0x7FFFF000ULL);
	ASSERT(!vkvm_lapic_mmio_enabled(l, 1));
	/* Above 4 GiB, below MAXPHYADDR. */
	ASSERT_OK(base_wr(l, 1, (1ULL << 40) | MSR_IA32_APICBASE_ENABLE));
	ASSERT_EQ(m.to, 1ULL << 40);
	ASSERT(vkvm_lapic_mmio_enabled(l, 1));
	/* The path KVM reports after an exit moves it too. */
	vkvm_lapic_set_base(l, 1, BASE_XAPIC);
	ASSERT_EQ(m.n, 4);
	ASSERT_EQ(m.from, 1ULL << 40);
	ASSERT_EQ(m.to, VKVM_APIC_BASE);
	lapic_free(l);
}

/* The timer without its thread: arming, the current count, mode changes. */
TEST(kvm_lapic_timer_registers)
{
	struct vkvm_lapic *l = lapic_new(1);
	uint64_t val = 0;
	uint32_t cur;

	ASSERT(!wr(l, 0, APIC_SPIV, 0x1FF));
	ASSERT(!wr(l, 0, APIC_TDCR, 0xB));		/* divide by 1: 1 ns a count */
	ASSERT(!wr(l, 0, APIC_LVTT, 0x30));		/* one-shot */
	ASSERT(!wr(l, 0, APIC_TMICT, 1000000000));
	cur = rd(l, 0, APIC_TMCCT);
	ASSERT(cur > 0 && cur <= 1000000000);
	/* One-shot to periodic keeps counting (only TSC-deadline mode disarms). */
	ASSERT(!wr(l, 0, APIC_LVTT, 0x20030));		/* periodic */
	ASSERT(rd(l, 0, APIC_TMCCT) != 0);
	/* TMICT = 0 stops it. */
	ASSERT(!wr(l, 0, APIC_TMICT, 1000000000));
	ASSERT(rd(l, 0, APIC_TMCCT) != 0);
	ASSERT(!wr(l, 0, APIC_TMICT, 0));
	ASSERT_EQ(rd(l, 0, APIC_TMCCT), 0);
	/* IA32_TSC_DEADLINE only in TSC-deadline mode. */
	val = 5000;
	vkvm_lapic_tsc_deadline(l, 0, true, &val, 1000, 1000000);
	vkvm_lapic_tsc_deadline(l, 0, false, &val, 1000, 1000000);
	ASSERT_EQ(val, 0);
	ASSERT(!wr(l, 0, APIC_LVTT, 0x40030));		/* TSC deadline */
	val = 5000000000ULL;
	vkvm_lapic_tsc_deadline(l, 0, true, &val, 1000, 1000000);
	val = 0;
	vkvm_lapic_tsc_deadline(l, 0, false, &val, 1000, 1000000);
	ASSERT_EQ(val, 5000000000ULL);
	/* TMICT does nothing in TSC-deadline mode. */
	ASSERT(!wr(l, 0, APIC_TMICT, 1000));
	ASSERT_EQ(rd(l, 0, APIC_TMCCT), 0);
	ASSERT(!wr(l, 0, APIC_LVTT, 0x30));
	vkvm_lapic_tsc_deadline(l, 0, false, &val, 1000, 1000000);
	ASSERT_EQ(val, 0);
	lapic_free(l);
}

/* The thread fires a one-shot timer into IRR, through the model. */
TEST(kvm_lapic_timer_fires)
{
	struct vkvm_lapic *l = lapic_new(1);
	struct vkvm_apic_stats st;
	char why[128];
	uint64_t end;

	ASSERT_OK(vkvm_lapic_timer_start(l, why, sizeof(why)));
	ASSERT(!wr(l, 0, APIC_SPIV, 0x1FF));
	ASSERT(!wr(l, 0, APIC_TDCR, 0xB));
	ASSERT(!wr(l, 0, APIC_LVTT, 0x3A));
	ASSERT(!wr(l, 0, APIC_TMICT, 100000));		/* 100 us */
	end = host_now_ns() + 5000000000ULL;
	while (!irr(l, 0, 0x3A) && host_now_ns() < end)
		;
	ASSERT(irr(l, 0, 0x3A));
	vkvm_lapic_timer_stop(l);
	vkvm_lapic_timer_stop(l);			/* idempotent */
	vkvm_lapic_stats(l, &st);
	ASSERT_EQ(st.timer_fires, 1);
	lapic_free(l);
}
