// SPDX-License-Identifier: MIT
/*
 * The software AVIC's guest ICR write (hw/avic_cpu.c), run against tables
 * the real hypervisor code built.  Expectations are computed by hand:
 * ICR fields, IRR offsets and exit encodings are written out as numbers
 * here rather than taken from amd_defs.h.
 */
#include <vintc/avic_cpu.h>

#include "avic_util.h"

/* ICR low, spelled out from the reference's bit positions. */
#define ICR_DM(m)        ((uint32_t)(m) << 8)
#define ICR_LOGICAL      (1U << 11)
#define ICR_LEVEL_TRIG   (1U << 15)
#define ICR_SH(s)        ((uint32_t)(s) << 18)
#define EXIT_IPI         0x401U

struct doorbells {
	uint32_t count;
	uint32_t ids[64];
};

static struct doorbells db;

static void on_doorbell(uint32_t host_apic_id, void *opaque)
{
	struct doorbells *d = opaque;

	if (d->count < ARRAY_SIZE(d->ids))
		d->ids[d->count] = host_apic_id;
	d->count++;
}

static void db_reset(void)
{
	db = (struct doorbells){ 0 };
	host_doorbell_set_handler(on_doorbell, &db);
}

static struct vm *vm_new(enum avic_model model, uint32_t max_ids, bool ipiv_off)
{
	struct vm_config cfg = {
		.arch = VM_ARCH_AVIC,
		.max_vcpu_ids = max_ids,
		.avic = { .model = model, .disable_ipiv = ipiv_off },
	};
	struct vm *vm = NULL;

	ASSERT_OK(vm_create(&cfg, &vm));
	db_reset();
	return vm;
}

static void *page(struct vcpu *vcpu)
{
	return to_avic_vcpu(vcpu)->backing;
}

static uint32_t reg(struct vcpu *vcpu, unsigned int off)
{
	return *(uint32_t *)((char *)page(vcpu) + off);
}

static void set_reg(struct vcpu *vcpu, unsigned int off, uint32_t val)
{
	*(uint32_t *)((char *)page(vcpu) + off) = val;
}

/* IRR is eight words at 0x200 on a 16-byte stride. */
static bool irr(struct vcpu *vcpu, unsigned int vec)
{
	return (reg(vcpu, 0x200 + (vec / 32) * 0x10) >> (vec % 32)) & 1;
}

static unsigned int irr_bits(struct vcpu *vcpu)
{
	unsigned int n = 0;

	for (unsigned int w = 0; w < 8; w++)
		n += (unsigned int)__builtin_popcount(reg(vcpu, 0x200 + w * 0x10));
	return n;
}

static struct avic_cpu_ipi send_opts(struct vcpu *from, uint64_t icr, bool erratum,
				     uint32_t current)
{
	struct avic_cpu_opts o = { .erratum_1235 = erratum, .current_host_apic_id = current };
	struct avic_cpu_ipi r;

	ASSERT_OK(avic_cpu_icr_write(&to_avic_vcpu(from)->vmcb, icr, &o, &r));
	return r;
}

static struct avic_cpu_ipi send(struct vcpu *from, uint64_t icr, uint32_t current)
{
	return send_opts(from, icr, false, current);
}

static uint64_t xicr(uint32_t low, uint8_t dest)
{
	return (uint64_t)dest << 56 | low;
}

static uint64_t x2icr(uint32_t low, uint32_t dest)
{
	return (uint64_t)dest << 32 | low;
}

static void assert_no_exit(const struct avic_cpu_ipi *r)
{
	ASSERT_EQ(r->exit_code, 0);
	ASSERT_EQ(r->cause, AVIC_CPU_NO_CAUSE);
	ASSERT_EQ(r->exitinfo1, 0);
	ASSERT_EQ(r->exitinfo2, 0);
}

static void assert_exit(const struct avic_cpu_ipi *r, uint64_t icr,
			unsigned int cause, uint32_t index)
{
	ASSERT_EQ(r->exit_code, EXIT_IPI);
	ASSERT_EQ(r->cause, cause);
	ASSERT_EQ(r->exitinfo1, icr);
	ASSERT_EQ(r->exitinfo2, (uint64_t)cause << 32 | index);
}

/* Physical-table entry as the silicon sees it. */
static uint64_t *entry_of(struct vm *vm, uint32_t id)
{
	return &to_avic_vm(vm)->physical_table[id];
}

TEST(avic_cpu_bad_arguments)
{
	struct vm *vm = vm_new(AVIC_MODEL_XAVIC, 4, false);
	struct vcpu *a = avic_vcpu_new(vm, 0);
	struct vmcb_avic_control off = to_avic_vcpu(a)->vmcb;
	struct avic_cpu_ipi r = { .delivered = 77 };

	ASSERT_EQ(avic_cpu_icr_write(NULL, 0x40, NULL, &r), -EINVAL);
	ASSERT_EQ(avic_cpu_icr_write(&off, 0x40, NULL, NULL), -EINVAL);
	/* AVIC off in int_ctl: not an AVIC access, nothing touched. */
	off.int_ctl &= ~(1U << 31);
	ASSERT_EQ(avic_cpu_icr_write(&off, ICR_SH(1) | 0x40, NULL, &r), -ENODEV);
	ASSERT_EQ(r.delivered, 77);
	ASSERT_EQ(reg(a, 0x300), 0);
	ASSERT(!irr(a, 0x40));
	/* NULL opts is allowed: no erratum, current host APIC ID 0. */
	ASSERT_OK(avic_cpu_icr_write(&to_avic_vcpu(a)->vmcb, ICR_SH(1) | 0x40, NULL, &r));
	ASSERT(irr(a, 0x40));
	vm_destroy(vm);
}

TEST(avic_cpu_physical_running_rings_doorbell)
{
	struct vm *vm = vm_new(AVIC_MODEL_XAVIC, 4, false);
	struct vcpu *a = avic_vcpu_new(vm, 0);
	struct vcpu *b = avic_vcpu_new(vm, 1);
	struct vcpu *c = avic_vcpu_new(vm, 2);
	uint64_t icr = xicr(0x41, 1);
	struct avic_cpu_ipi r;

	ASSERT_OK(vcpu_load(a, 10));
	ASSERT_OK(vcpu_load(b, 11));
	r = send(a, icr, 10);
	assert_no_exit(&r);
	ASSERT_EQ(r.delivered, 1);
	ASSERT_EQ(r.doorbells, 1);
	ASSERT_EQ(r.not_running, 0);
	ASSERT_EQ(db.count, 1);
	ASSERT_EQ(db.ids[0], 11);
	ASSERT(irr(b, 0x41));
	ASSERT_EQ(irr_bits(b), 1);
	ASSERT_EQ(irr_bits(a), 0);
	ASSERT_EQ(irr_bits(c), 0);
	/* The write is in the sender's page: ICR at 0x300, ICR2 at 0x310. */
	ASSERT_EQ(reg(a, 0x300), 0x41);
	ASSERT_EQ(reg(a, 0x310), 0x01000000);
	vm_destroy(vm);
}

TEST(avic_cpu_physical_not_running_exits)
{
	struct vm *vm = vm_new(AVIC_MODEL_XAVIC, 4, false);
	struct vcpu *a = avic_vcpu_new(vm, 0);
	struct vcpu *b = avic_vcpu_new(vm, 1);
	struct vcpu *c = avic_vcpu_new(vm, 2);
	uint64_t icr = xicr(0x42, 2);
	struct avic_cpu_ipi r;

	ASSERT_OK(vcpu_load(a, 10));
	/* Never loaded. */
	r = send(a, icr, 10);
	assert_exit(&r, icr, 1, 2);
	ASSERT_EQ(r.delivered, 1);
	ASSERT_EQ(r.not_running, 1);
	ASSERT_EQ(r.doorbells, 0);
	ASSERT_EQ(db.count, 0);
	/* IRR is already set when the exit is reported. */
	ASSERT(irr(c, 0x42));
	/* Loaded then put: IsRunning clear, host ID kept, still no doorbell. */
	ASSERT_OK(vcpu_load(b, 11));
	vcpu_put(b);
	icr = xicr(0x43, 1);
	r = send(a, icr, 10);
	assert_exit(&r, icr, 1, 1);
	ASSERT(irr(b, 0x43));
	ASSERT_EQ(db.count, 0);
	vm_destroy(vm);
}

TEST(avic_cpu_physical_invalid_target)
{
	struct vm *vm = vm_new(AVIC_MODEL_XAVIC, 4, false);	/* max index 3 */
	struct vcpu *a = avic_vcpu_new(vm, 0);
	struct vcpu *b = avic_vcpu_new(vm, 1);
	uint64_t icr;
	struct avic_cpu_ipi r;

	ASSERT_EQ(to_avic_vcpu(a)->vmcb.avic_physical_id & 0xFFF, 3);
	ASSERT_OK(vcpu_load(a, 10));
	ASSERT_OK(vcpu_load(b, 11));
	/* In range, entry not valid. */
	icr = xicr(0x50, 3);
	r = send(a, icr, 10);
	assert_exit(&r, icr, 2, 3);
	ASSERT_EQ(r.delivered, 0);
	/* Past the max index. */
	icr = xicr(0x50, 4);
	r = send(a, icr, 10);
	assert_exit(&r, icr, 2, 4);
	icr = xicr(0x50, 0xFE);
	r = send(a, icr, 10);
	assert_exit(&r, icr, 2, 0xFE);
	/* A valid entry past the max index is still out of range. */
	*entry_of(vm, 5) = *entry_of(vm, 1);
	icr = xicr(0x50, 5);
	r = send(a, icr, 10);
	assert_exit(&r, icr, 2, 5);
	*entry_of(vm, 5) = 0;
	ASSERT_EQ(irr_bits(a) + irr_bits(b), 0);
	ASSERT_EQ(db.count, 0);
	vm_destroy(vm);
}

static void set_ldr(struct vcpu *vcpu, uint32_t ldr)
{
	set_reg(vcpu, 0xD0, ldr);
	avic_handle_ldr_update(vcpu);
}

static void set_dfr(struct vcpu *vcpu, uint32_t dfr)
{
	set_reg(vcpu, 0xE0, dfr);
	avic_handle_dfr_update(vcpu);
}

TEST(avic_cpu_flat_logical)
{
	struct vm *vm = vm_new(AVIC_MODEL_XAVIC, 8, false);
	struct vcpu *v[4];
	uint32_t *logical;
	uint64_t icr;
	struct avic_cpu_ipi r;

	for (uint32_t i = 0; i < 4; i++) {
		v[i] = avic_vcpu_new(vm, i);
		set_ldr(v[i], 1U << (24 + i));		/* logical ID = bit i */
		ASSERT_OK(vcpu_load(v[i], 20 + (int)i));
	}
	logical = to_avic_vm(vm)->logical_table;
	ASSERT_EQ(logical[2], 0x80000002U);

	icr = xicr(ICR_LOGICAL | 0x60, 0x06);
	r = send(v[0], icr, 20);
	assert_no_exit(&r);
	ASSERT_EQ(r.delivered, 2);
	ASSERT_EQ(r.doorbells, 2);
	ASSERT_EQ(db.count, 2);
	ASSERT_EQ(db.ids[0], 21);
	ASSERT_EQ(db.ids[1], 22);
	ASSERT(irr(v[1], 0x60) && irr(v[2], 0x60));
	ASSERT(!irr(v[0], 0x60) && !irr(v[3], 0x60));

	/*
	 * Bit 4 has no logical entry: INVALID_TARGET with the logical index,
	 * and the valid targets have their IRR bit anyway.
	 */
	icr = xicr(ICR_LOGICAL | 0x61, 0x18);
	r = send(v[0], icr, 20);
	assert_exit(&r, icr, 2, 4);
	ASSERT_EQ(r.delivered, 1);
	ASSERT(irr(v[3], 0x61));
	ASSERT(!irr(v[1], 0x61));

	/* A valid logical entry naming an invalid physical entry: physical index. */
	logical[5] = 0x80000007U;
	icr = xicr(ICR_LOGICAL | 0x62, 0x20);
	r = send(v[0], icr, 20);
	assert_exit(&r, icr, 2, 7);
	vm_destroy(vm);
}

TEST(avic_cpu_cluster_logical)
{
	struct vm *vm = vm_new(AVIC_MODEL_XAVIC, 8, false);
	struct vcpu *v[4];
	static const uint32_t ldr[4] = { 0x01, 0x21, 0x24, 0x11 };
	uint32_t *logical;
	uint64_t icr;
	struct avic_cpu_ipi r;

	for (uint32_t i = 0; i < 4; i++) {
		v[i] = avic_vcpu_new(vm, i);
		set_reg(v[i], 0xE0, 0x0FFFFFFF);
		set_ldr(v[i], ldr[i] << 24);
		ASSERT_OK(vcpu_load(v[i], 30 + (int)i));
	}
	logical = to_avic_vm(vm)->logical_table;
	/* Cluster 2 bit 0 -> index 8, cluster 2 bit 2 -> 10, cluster 1 bit 0 -> 4. */
	ASSERT_EQ(logical[8], 0x80000001U);
	ASSERT_EQ(logical[10], 0x80000002U);
	ASSERT_EQ(logical[4], 0x80000003U);

	/* Flat would read 0x25 as bits 0, 2, 5; the sender's DFR says cluster. */
	icr = xicr(ICR_LOGICAL | 0x70, 0x25);
	r = send(v[0], icr, 30);
	assert_no_exit(&r);
	ASSERT_EQ(r.delivered, 2);
	ASSERT(irr(v[1], 0x70) && irr(v[2], 0x70));
	ASSERT(!irr(v[0], 0x70) && !irr(v[3], 0x70));
	ASSERT_EQ(db.count, 2);

	/* Cluster 0xF (all clusters) is not accelerated: index (0xF << 2) + 0. */
	icr = xicr(ICR_LOGICAL | 0x71, 0xF1);
	r = send(v[0], icr, 30);
	assert_exit(&r, icr, 2, 60);
	ASSERT_EQ(r.delivered, 0);

	/*
	 * Switch the sender alone back to flat: 0x25 now means bits 0, 2, 5.
	 * Its LDR 0x01 moves to flat index 0 (itself); index 2 is empty.
	 */
	set_dfr(v[0], 0xFFFFFFFF);
	ASSERT_EQ(logical[0], 0x80000000U);
	icr = xicr(ICR_LOGICAL | 0x72, 0x25);
	r = send(v[0], icr, 30);
	assert_exit(&r, icr, 2, 2);
	ASSERT_EQ(r.delivered, 1);
	ASSERT(irr(v[0], 0x72));
	ASSERT(!irr(v[1], 0x72) && !irr(v[2], 0x72));
	vm_destroy(vm);
}

TEST(avic_cpu_x2apic_logical_and_physical)
{
	struct vm *vm = vm_new(AVIC_MODEL_X2AVIC, 0, false);	/* max index 0x1FF */
	static const uint32_t ids[4] = { 0, 0x11, 0x13, 0x20 };
	struct vcpu *v[4];
	uint64_t icr;
	struct avic_cpu_ipi r;

	for (uint32_t i = 0; i < 4; i++) {
		v[i] = avic_vcpu_new(vm, ids[i]);
		ASSERT_OK(avic_set_x2apic_mode(v[i], true));
		ASSERT_OK(vcpu_load(v[i], 40 + (int)i));
	}
	ASSERT_EQ(to_avic_vcpu(v[0])->vmcb.avic_physical_id & 0xFFF, 0x1FF);

	/* Cluster 1, bits 1 and 3: IDs 0x11 and 0x13. */
	icr = x2icr(ICR_LOGICAL | 0x80, 0x1000A);
	r = send(v[0], icr, 40);
	assert_no_exit(&r);
	ASSERT_EQ(r.delivered, 2);
	ASSERT(irr(v[1], 0x80) && irr(v[2], 0x80));
	ASSERT(!irr(v[0], 0x80) && !irr(v[3], 0x80));
	ASSERT_EQ(reg(v[0], 0x310), 0x1000A);

	/* Cluster 2, bit 0: ID 0x20. */
	icr = x2icr(ICR_LOGICAL | 0x81, 0x20001);
	r = send(v[0], icr, 40);
	assert_no_exit(&r);
	ASSERT(irr(v[3], 0x81) && !irr(v[1], 0x81));

	/* Cluster 1 bit 2: ID 0x12, no vCPU. */
	icr = x2icr(ICR_LOGICAL | 0x82, 0x10004);
	r = send(v[0], icr, 40);
	assert_exit(&r, icr, 2, 0x12);

	/* Physical: full 32-bit destination, not bits 63:56. */
	icr = x2icr(0x83, 0x13);
	r = send(v[0], icr, 40);
	assert_no_exit(&r);
	ASSERT(irr(v[2], 0x83));
	ASSERT_EQ(db.ids[db.count - 1], 42);
	/* Past the max index; only bits 11:0 of the index fit in EXITINFO2. */
	icr = x2icr(0x84, 0x200);
	r = send(v[0], icr, 40);
	assert_exit(&r, icr, 2, 0x200);
	icr = x2icr(0x84, 0x1234);
	r = send(v[0], icr, 40);
	assert_exit(&r, icr, 2, 0x234);
	/* 0xFF is an ordinary ID in x2APIC mode. */
	icr = x2icr(0x85, 0xFF);
	r = send(v[0], icr, 40);
	assert_exit(&r, icr, 2, 0xFF);
	ASSERT_EQ(irr_bits(v[0]), 0);
	vm_destroy(vm);
}

TEST(avic_cpu_self_shorthand)
{
	struct vm *vm = vm_new(AVIC_MODEL_XAVIC, 4, true);	/* IPIv off */
	struct vcpu *a = avic_vcpu_new(vm, 0);
	struct vcpu *b = avic_vcpu_new(vm, 1);
	uint64_t icr = xicr(ICR_SH(1) | 0x55, 1);	/* destination ignored */
	struct avic_cpu_ipi r;

	ASSERT_OK(vcpu_load(a, 3));
	ASSERT_OK(vcpu_load(b, 4));
	r = send(a, icr, 3);
	assert_no_exit(&r);
	ASSERT_EQ(r.delivered, 1);
	ASSERT_EQ(r.doorbells, 0);
	ASSERT(irr(a, 0x55));
	ASSERT_EQ(irr_bits(a), 1);
	ASSERT_EQ(irr_bits(b), 0);
	ASSERT_EQ(db.count, 0);
	/* Self with the erratum: unaffected. */
	r = send_opts(a, xicr(ICR_SH(1) | 0x56, 0), true, 3);
	assert_no_exit(&r);
	ASSERT(irr(a, 0x56));
	vm_destroy(vm);
}

/* IDs 0, 1, 2, 4 (3 is a hole); 0..2 running on CPUs 5..7, 4 never loaded. */
static struct vm *broadcast_vm(struct vcpu **v)
{
	static const uint32_t ids[4] = { 0, 1, 2, 4 };
	struct vm *vm = vm_new(AVIC_MODEL_XAVIC, 8, false);

	for (uint32_t i = 0; i < 4; i++)
		v[i] = avic_vcpu_new(vm, ids[i]);
	for (uint32_t i = 0; i < 3; i++)
		ASSERT_OK(vcpu_load(v[i], 5 + (int)i));
	return vm;
}

TEST(avic_cpu_all_including_self)
{
	struct vcpu *v[4];
	struct vm *vm = broadcast_vm(v);
	uint64_t icr = xicr(ICR_SH(2) | 0x90, 0);
	struct avic_cpu_ipi r;

	r = send(v[0], icr, 5);
	/* The hole at 3 is skipped silently; 4 is not running. */
	assert_exit(&r, icr, 1, 4);
	ASSERT_EQ(r.delivered, 4);
	ASSERT_EQ(r.doorbells, 2);
	ASSERT_EQ(r.not_running, 1);
	for (uint32_t i = 0; i < 4; i++)
		ASSERT(irr(v[i], 0x90));
	ASSERT_EQ(db.count, 2);
	ASSERT_EQ(db.ids[0], 6);
	ASSERT_EQ(db.ids[1], 7);
	vm_destroy(vm);
}

TEST(avic_cpu_all_excluding_self)
{
	struct vcpu *v[4];
	struct vm *vm = broadcast_vm(v);
	uint64_t icr = xicr(ICR_SH(3) | 0x91, 0);
	struct avic_cpu_ipi r;

	/* The sender is v[1] this time: identified by its backing page. */
	r = send(v[1], icr, 6);
	assert_exit(&r, icr, 1, 4);
	ASSERT_EQ(r.delivered, 3);
	ASSERT_EQ(r.doorbells, 2);
	ASSERT(!irr(v[1], 0x91));
	ASSERT(irr(v[0], 0x91) && irr(v[2], 0x91) && irr(v[3], 0x91));
	ASSERT_EQ(db.count, 2);		/* to CPU 5, then CPU 7 */
	ASSERT_EQ(db.ids[0], 5);
	ASSERT_EQ(db.ids[1], 7);
	vm_destroy(vm);
}

TEST(avic_cpu_broadcast_destination)
{
	struct vcpu *v[4];
	struct vm *vm = broadcast_vm(v);
	uint64_t icr = xicr(0x92, 0xFF);
	struct avic_cpu_ipi r;

	ASSERT_OK(vcpu_load(v[3], 8));
	r = send(v[0], icr, 5);
	assert_no_exit(&r);
	ASSERT_EQ(r.delivered, 4);
	ASSERT_EQ(r.doorbells, 3);
	for (uint32_t i = 0; i < 4; i++)
		ASSERT(irr(v[i], 0x92));
	ASSERT_EQ(db.count, 3);
	ASSERT_EQ(db.ids[2], 8);
	vm_destroy(vm);
}

TEST(avic_cpu_x2apic_broadcast_destination)
{
	struct vm *vm = vm_new(AVIC_MODEL_X2AVIC, 0, false);
	struct vcpu *a = avic_vcpu_new(vm, 0);
	struct vcpu *b = avic_vcpu_new(vm, 0x150);
	struct avic_cpu_ipi r;

	ASSERT_OK(avic_set_x2apic_mode(a, true));
	ASSERT_OK(vcpu_load(a, 1));
	ASSERT_OK(vcpu_load(b, 2));
	r = send(a, x2icr(0x93, 0xFFFFFFFF), 1);
	assert_no_exit(&r);
	ASSERT_EQ(r.delivered, 2);
	ASSERT(irr(a, 0x93) && irr(b, 0x93));
	ASSERT_EQ(db.count, 1);
	ASSERT_EQ(db.ids[0], 2);
	/* Logical mode too. */
	r = send(a, x2icr(ICR_LOGICAL | 0x94, 0xFFFFFFFF), 1);
	assert_no_exit(&r);
	ASSERT(irr(a, 0x94) && irr(b, 0x94));
	vm_destroy(vm);
}

TEST(avic_cpu_vector_below_16)
{
	struct vm *vm = vm_new(AVIC_MODEL_XAVIC, 4, false);
	struct vcpu *a = avic_vcpu_new(vm, 0);
	struct vcpu *b = avic_vcpu_new(vm, 1);
	uint64_t icr = xicr(15, 1);
	struct avic_cpu_ipi r;

	ASSERT_OK(vcpu_load(a, 1));
	ASSERT_OK(vcpu_load(b, 2));
	r = send(a, icr, 1);
	assert_exit(&r, icr, 4, 0);
	ASSERT_EQ(r.delivered, 0);
	ASSERT_EQ(irr_bits(b), 0);
	ASSERT_EQ(db.count, 0);
	ASSERT_EQ(reg(a, 0x300), 15);
	/* Self shorthand is checked too. */
	icr = xicr(ICR_SH(1) | 3, 0);
	r = send(a, icr, 1);
	assert_exit(&r, icr, 4, 0);
	ASSERT_EQ(irr_bits(a), 0);
	/* 16 is the first legal vector. */
	r = send(a, xicr(16, 1), 1);
	assert_no_exit(&r);
	ASSERT(irr(b, 16));
	vm_destroy(vm);
}

TEST(avic_cpu_non_fixed_and_level_exit)
{
	struct vm *vm = vm_new(AVIC_MODEL_XAVIC, 4, false);
	struct vcpu *a = avic_vcpu_new(vm, 0);
	struct vcpu *b = avic_vcpu_new(vm, 1);
	static const uint32_t lows[] = {
		ICR_DM(1) | 0x40,			/* lowest priority */
		ICR_DM(2),				/* SMI */
		ICR_DM(3) | 0x40,			/* reserved */
		ICR_DM(4),				/* NMI */
		ICR_DM(5) | (1U << 14),			/* INIT */
		ICR_DM(6) | 0x9A,			/* SIPI */
		ICR_DM(7) | 0x40,			/* reserved */
		ICR_LEVEL_TRIG | (1U << 14) | 0x40,	/* fixed, level */
		ICR_DM(4) | ICR_SH(1),			/* NMI to self */
		ICR_DM(5) | ICR_SH(3),			/* INIT to others */
	};

	ASSERT_OK(vcpu_load(a, 1));
	ASSERT_OK(vcpu_load(b, 2));
	for (unsigned int i = 0; i < ARRAY_SIZE(lows); i++) {
		uint64_t icr = xicr(lows[i], 1);
		struct avic_cpu_ipi r = send(a, icr, 1);

		assert_exit(&r, icr, 0, 0);
		ASSERT_EQ(r.delivered, 0);
		ASSERT_EQ(reg(a, 0x300), lows[i]);
		ASSERT_EQ(reg(a, 0x310), 0x01000000);
	}
	ASSERT_EQ(irr_bits(a) + irr_bits(b), 0);
	ASSERT_EQ(db.count, 0);
	vm_destroy(vm);
}

TEST(avic_cpu_no_doorbell_to_current_cpu)
{
	struct vm *vm = vm_new(AVIC_MODEL_XAVIC, 4, false);
	struct vcpu *a = avic_vcpu_new(vm, 0);
	struct vcpu *b = avic_vcpu_new(vm, 1);
	struct avic_cpu_ipi r;

	ASSERT_OK(vcpu_load(a, 5));
	ASSERT_OK(vcpu_load(b, 6));
	r = send(a, xicr(0xA0, 1), 6);
	assert_no_exit(&r);
	ASSERT_EQ(r.doorbells, 0);
	ASSERT_EQ(db.count, 0);
	ASSERT(irr(b, 0xA0));
	r = send(a, xicr(0xA1, 1), 5);
	ASSERT_EQ(r.doorbells, 1);
	ASSERT_EQ(db.count, 1);
	ASSERT_EQ(db.ids[0], 6);
	/* Physical destination = the sender itself: IRR, no doorbell. */
	r = send(a, xicr(0xA2, 0), 9);
	assert_no_exit(&r);
	ASSERT_EQ(r.delivered, 1);
	ASSERT_EQ(db.count, 1);
	ASSERT(irr(a, 0xA2));
	vm_destroy(vm);
}

TEST(avic_cpu_erratum_1235)
{
	struct vm *vm = vm_new(AVIC_MODEL_XAVIC, 4, false);
	struct vcpu *a = avic_vcpu_new(vm, 0);
	struct vcpu *b = avic_vcpu_new(vm, 1);
	struct vcpu *c = avic_vcpu_new(vm, 2);
	uint64_t icr = xicr(0xB0, 1);
	struct avic_cpu_ipi r;

	ASSERT_OK(vcpu_load(a, 1));
	ASSERT_OK(vcpu_load(b, 2));
	vcpu_put(b);
	r = send_opts(a, icr, true, 1);
	assert_no_exit(&r);
	ASSERT_EQ(r.not_running, 1);
	ASSERT_EQ(r.doorbells, 0);
	ASSERT_EQ(db.count, 0);
	/* Stuck in IRR until b runs again. */
	ASSERT(irr(b, 0xB0));
	/* A running target is unaffected. */
	ASSERT_OK(vcpu_load(c, 3));
	r = send_opts(a, xicr(0xB1, 2), true, 1);
	assert_no_exit(&r);
	ASSERT_EQ(db.count, 1);
	/* Other causes still exit. */
	icr = xicr(0xB2, 3);
	r = send_opts(a, icr, true, 1);
	assert_exit(&r, icr, 2, 3);
	/* Without the erratum the same IPI exits. */
	icr = xicr(0xB3, 1);
	r = send(a, icr, 1);
	assert_exit(&r, icr, 1, 1);
	vm_destroy(vm);
}

TEST(avic_cpu_ipiv_off_always_exits)
{
	struct vm *vm = vm_new(AVIC_MODEL_XAVIC, 4, true);
	struct vcpu *a = avic_vcpu_new(vm, 0);
	struct vcpu *b = avic_vcpu_new(vm, 1);
	uint64_t icr = xicr(0xC0, 1);
	struct avic_cpu_ipi r;

	ASSERT_OK(vcpu_load(a, 1));
	ASSERT_OK(vcpu_load(b, 2));
	r = send(a, icr, 1);
	assert_exit(&r, icr, 1, 1);
	ASSERT_EQ(r.doorbells, 0);
	ASSERT_EQ(db.count, 0);
	ASSERT(irr(b, 0xC0));
	/* Broadcast: both entries valid, only the other one is "not running". */
	icr = xicr(ICR_SH(2) | 0xC1, 0);
	r = send(a, icr, 1);
	assert_exit(&r, icr, 1, 1);
	ASSERT_EQ(r.delivered, 2);
	ASSERT_EQ(r.not_running, 1);
	ASSERT(irr(a, 0xC1) && irr(b, 0xC1));
	vm_destroy(vm);
}

TEST(avic_cpu_invalid_backing_page)
{
	struct vm *vm = vm_new(AVIC_MODEL_XAVIC, 4, false);
	struct vcpu *a = avic_vcpu_new(vm, 0);
	struct vcpu *b = avic_vcpu_new(vm, 1);
	struct vcpu *c = avic_vcpu_new(vm, 2);
	uint64_t bogus = 0x000FFFFFFFFFF000ULL;		/* bits 51:12 */
	uint64_t *e = entry_of(vm, 1);
	uint64_t icr;
	struct avic_cpu_ipi r;

	ASSERT(host_va(bogus) == NULL);
	ASSERT_OK(vcpu_load(a, 1));
	ASSERT_OK(vcpu_load(b, 2));
	*e = (*e & ~bogus) | bogus;
	icr = xicr(0xD0, 1);
	r = send(a, icr, 1);
	assert_exit(&r, icr, 3, 1);
	ASSERT_EQ(r.delivered, 0);
	ASSERT_EQ(db.count, 0);
	ASSERT_EQ(irr_bits(b), 0);
	/* Broadcast: beats c's TARGET_NOT_RUNNING although c comes later. */
	icr = xicr(ICR_SH(3) | 0xD1, 0);
	r = send(a, icr, 1);
	assert_exit(&r, icr, 3, 1);
	ASSERT(irr(c, 0xD1));
	ASSERT_EQ(r.not_running, 1);
	/* Bad page after a not-running target: still the page is reported. */
	*e = (*e & ~bogus) | to_avic_vcpu(b)->backing_pa;
	vcpu_put(b);
	e = entry_of(vm, 2);
	*e = (*e & ~bogus) | bogus;
	icr = xicr(ICR_SH(3) | 0xD2, 0);
	r = send(a, icr, 1);
	assert_exit(&r, icr, 3, 2);
	ASSERT(irr(b, 0xD2));
	ASSERT_EQ(r.not_running, 1);
	/* The sender's own page not translating: cause 3, index 0. */
	{
		struct vmcb_avic_control broken = to_avic_vcpu(a)->vmcb;

		broken.avic_backing_page = bogus;
		ASSERT_OK(avic_cpu_icr_write(&broken, icr, NULL, &r));
		assert_exit(&r, icr, 3, 0);
	}
	vm_destroy(vm);
}

TEST(avic_cpu_invalid_target_beats_not_running)
{
	struct vm *vm = vm_new(AVIC_MODEL_XAVIC, 8, false);
	struct vcpu *v[3];
	uint64_t icr;
	struct avic_cpu_ipi r;

	for (uint32_t i = 0; i < 3; i++) {
		v[i] = avic_vcpu_new(vm, i);
		set_ldr(v[i], 1U << (24 + i));
	}
	ASSERT_OK(vcpu_load(v[0], 1));
	/* Bit 1: v[1] not running; bit 3: no entry; bit 4: no entry. */
	icr = xicr(ICR_LOGICAL | 0xE0, 0x1A);
	r = send(v[0], icr, 1);
	assert_exit(&r, icr, 2, 3);
	ASSERT_EQ(r.not_running, 1);
	ASSERT(irr(v[1], 0xE0));
	vm_destroy(vm);
}

/* Which unaccelerated accesses trap (done, RIP advanced) and which fault. */
TEST(avic_cpu_trap_and_fault_classes)
{
	static const unsigned int traps[] = {
		0x20, 0xB0, 0xC0, 0xD0, 0xE0, 0xF0, 0x280, 0x300,
		0x320, 0x330, 0x340, 0x350, 0x360, 0x370, 0x380, 0x3E0,
	};
	static const unsigned int faults[] = {
		0x30, 0x80, 0x90, 0xA0, 0x100, 0x180, 0x200, 0x310, 0x390, 0x3F0,
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(traps); i++)
		ASSERT_EQ(avic_cpu_access_class(traps[i]), AVIC_ACCESS_TRAP);
	for (unsigned int i = 0; i < ARRAY_SIZE(faults); i++)
		ASSERT_EQ(avic_cpu_access_class(faults[i]), AVIC_ACCESS_FAULT);
	/* EXITINFO1 carries the offset in bits 11:4; low bits don't matter. */
	ASSERT_EQ(avic_cpu_access_class(0x30C), AVIC_ACCESS_TRAP);
}

/* Register accesses other than ICR writes: trap class done here, fault class not. */
TEST(avic_cpu_apic_access_classes)
{
	struct vm *vm = vm_new(AVIC_MODEL_XAVIC, 4, false);
	struct vcpu *a = avic_vcpu_new(vm, 0);
	const struct vmcb_avic_control *vmcb = &to_avic_vcpu(a)->vmcb;
	struct vmcb_avic_control off = *vmcb;
	struct avic_cpu_access r;
	uint32_t val;

	/* Trap-class read: accelerated from the page, no exit. */
	set_reg(a, 0xD0, 0x08000000);
	ASSERT_OK(avic_cpu_apic_access(vmcb, 0xD0, false, &val, &r));
	ASSERT_EQ(val, 0x08000000);
	ASSERT_EQ(r.exit_code, 0);
	/* Trap-class write: stored whole (reserved bits too), then the exit. */
	val = 0xFFFFFFFF;
	ASSERT_OK(avic_cpu_apic_access(vmcb, 0x350, true, &val, &r));
	ASSERT_EQ(reg(a, 0x350), 0xFFFFFFFF);
	ASSERT_EQ(r.exit_code, 0x402);
	ASSERT_EQ(r.exitinfo1, (1ULL << 32) | 0x350);
	ASSERT_EQ(r.exitinfo2, 0);
	/* Fault class: nothing read or stored. */
	val = 0x1234;
	ASSERT_OK(avic_cpu_apic_access(vmcb, 0x80, true, &val, &r));
	ASSERT_EQ(reg(a, 0x80), 0);
	ASSERT_EQ(r.exitinfo1, (1ULL << 32) | 0x80);
	val = 0x1234;
	ASSERT_OK(avic_cpu_apic_access(vmcb, 0x390, false, &val, &r));
	ASSERT_EQ(val, 0x1234);
	ASSERT_EQ(r.exit_code, 0x402);
	ASSERT_EQ(r.exitinfo1, 0x390);
	/* Past the registers: a fault too. */
	ASSERT_OK(avic_cpu_apic_access(vmcb, 0xFF0, false, &val, &r));
	ASSERT_EQ(r.exitinfo1, 0xFF0);
	/* Refused: unaligned, outside the page, an ICR write, AVIC off. */
	ASSERT_EQ(avic_cpu_apic_access(vmcb, 0x84, false, &val, &r), -EINVAL);
	ASSERT_EQ(avic_cpu_apic_access(vmcb, 0x1000, false, &val, &r), -EINVAL);
	ASSERT_EQ(avic_cpu_apic_access(vmcb, 0x300, true, &val, &r), -EINVAL);
	ASSERT_EQ(avic_cpu_apic_access(vmcb, 0x80, false, NULL, &r), -EINVAL);
	off.int_ctl = 0;
	ASSERT_EQ(avic_cpu_apic_access(&off, 0x80, false, &val, &r), -ENODEV);
	vm_destroy(vm);
}
