// SPDX-License-Identifier: MIT
/*
 * Bounds of every guest-controlled value that indexes something on the
 * host (see SECURITY.md): for each, the last valid value and the first
 * value out of range, with the exact result the architecture (or the
 * model's documented choice) gives, and nothing else touched.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>

#include <vintc/amd_iommu.h>
#include <vintc/avic_cpu.h>
#include <vintc/mboot.h>
#include <vintc/sim.h>
#include <vintc/vgic_v5.h>
#include <vintc/vlapic.h>

#include "../hw/gicv5_irs_priv.h"
#include "kvm/lapic.h"
#include "avic_util.h"
#include "gicv5_util.h"

/* ---- AVIC ---------------------------------------------------------------- */

static bool irr(struct vcpu *vcpu, unsigned int v)
{
	return *apic_reg(to_avic_vcpu(vcpu)->backing, APIC_VECTOR_WORD(APIC_IRR, v)) &
	       (1U << APIC_VECTOR_BIT(v));
}

static unsigned int irr_count(struct vcpu *vcpu)
{
	unsigned int n = 0;

	for (unsigned int v = 0; v < 256; v++)
		n += irr(vcpu, v);
	return n;
}

/* The guest on `from` writes ICR; the silicon model processes it. */
static struct avic_cpu_ipi icr_write(struct vcpu *from, uint64_t icr)
{
	struct avic_cpu_opts o = { .current_host_apic_id = (uint32_t)host_cpu_apic_id(from->cpu) };
	struct avic_cpu_ipi out;

	ASSERT_OK(avic_cpu_icr_write(&to_avic_vcpu(from)->vmcb, icr, &o, &out));
	return out;
}

static uint64_t xapic_icr(uint8_t dest, bool logical, uint8_t vector)
{
	return ((uint64_t)dest << 56) | (logical ? APIC_ICR_DEST_LOGICAL : 0) | vector;
}

static uint32_t exit_index(const struct avic_cpu_ipi *out)
{
	return (uint32_t)FIELD_GET(AVIC_IPI_EXITINFO2_INDEX, out->exitinfo2);
}

/* Vector: 16 is the first legal one; 15 is INVALID_IPI_VECTOR, then ESR. */
TEST(bounds_avic_icr_vector)
{
	struct vm *vm = avic_vm_new(AVIC_MODEL_XAVIC, 0, NULL);
	struct vcpu *a = avic_vcpu_new(vm, 0), *b = avic_vcpu_new(vm, 1);
	struct avic_cpu_ipi out;

	ASSERT_OK(vcpu_load(a, 0));
	ASSERT_OK(vcpu_load(b, 1));
	out = icr_write(a, xapic_icr(1, false, 16));
	ASSERT_EQ(out.exit_code, 0);
	ASSERT_EQ(out.delivered, 1);
	ASSERT(irr(b, 16));
	vlapic_accept(to_avic_vcpu(b)->backing);

	out = icr_write(a, xapic_icr(1, false, 15));
	ASSERT_EQ(out.exit_code, SVM_EXIT_AVIC_INCOMPLETE_IPI);
	ASSERT_EQ(out.cause, AVIC_IPI_FAILURE_INVALID_IPI_VECTOR);
	ASSERT_EQ(out.delivered, 0);
	ASSERT(!irr(b, 15));
	ASSERT_EQ(to_avic_vcpu(a)->esr_pending, 0);
	ASSERT_OK(avic_handle_incomplete_ipi(a, out.exitinfo1, out.exitinfo2, NULL));
	ASSERT_EQ(to_avic_vcpu(a)->esr_pending, APIC_ESR_SEND_ILLEGAL_VECTOR);
	ASSERT_EQ(irr_count(b), 0);
	vcpu_put(a);
	vcpu_put(b);
	vm_destroy(vm);
}

/* The same on the software path: a trapped ICR write with AVIC inhibited. */
TEST(bounds_avic_emulated_icr_vector)
{
	struct vm *vm = avic_vm_new(AVIC_MODEL_XAVIC, 0, NULL);
	struct vcpu *a = avic_vcpu_new(vm, 0), *b = avic_vcpu_new(vm, 1);
	void *regs = to_avic_vcpu(a)->backing;

	*apic_reg(regs, APIC_ICR2) = 1U << 24;
	*apic_reg(regs, APIC_ICR) = 16;
	ASSERT_OK(avic_handle_unaccelerated_access(a, APIC_ICR | BIT_ULL(32), NULL));
	ASSERT(irr(b, 16));
	ASSERT_EQ(to_avic_vcpu(a)->esr_pending, 0);
	vlapic_accept(to_avic_vcpu(b)->backing);

	*apic_reg(regs, APIC_ICR) = 15;
	ASSERT_OK(avic_handle_unaccelerated_access(a, APIC_ICR | BIT_ULL(32), NULL));
	ASSERT_EQ(irr_count(b), 0);
	ASSERT_EQ(to_avic_vcpu(a)->esr_pending, APIC_ESR_SEND_ILLEGAL_VECTOR);
	vm_destroy(vm);
}

/* GA-mode IRTEs: the vector the IOMMU posts must be a legal one too. */
TEST(bounds_avic_irte_vector)
{
	struct vm *vm = avic_vm_new(AVIC_MODEL_XAVIC, 0, NULL);
	struct vcpu *a = avic_vcpu_new(vm, 0);
	uint64_t *irt = host_pages_alloc(HOST_TAG_MISC, 0, "test.irt");

	ASSERT(irt);
	ASSERT_OK(avic_irte_attach(a, irt, 16));
	ASSERT_EQ(FIELD_GET(AMD_IRTE_HI_VECTOR, irt[1]), 16);
	ASSERT_EQ(avic_irte_attach(a, irt + 2, 15), -EINVAL);
	ASSERT_EQ(irt[2], 0);
	ASSERT_EQ(irt[3], 0);
	ASSERT_EQ(avic_irte_count(a), 1);
	vm_destroy(vm);
	host_pages_free(irt);
}

/* Physical APIC ID: the table's last index delivers, the next is INVALID_TARGET. */
TEST(bounds_avic_physical_id)
{
	struct vm *vm = avic_vm_new(AVIC_MODEL_XAVIC, 4, NULL);
	struct vcpu *v[4];
	struct avic_cpu_ipi out;

	for (uint32_t i = 0; i < 4; i++) {
		v[i] = avic_vcpu_new(vm, i);
		ASSERT_OK(vcpu_load(v[i], (int)i));
	}
	ASSERT_EQ(to_avic_vcpu(v[0])->vmcb.avic_physical_id & VMCB_AVIC_PHYSICAL_MAX_INDEX, 3);
	out = icr_write(v[0], xapic_icr(3, false, 0x40));
	ASSERT_EQ(out.exit_code, 0);
	ASSERT(irr(v[3], 0x40));

	out = icr_write(v[0], xapic_icr(4, false, 0x41));
	ASSERT_EQ(out.exit_code, SVM_EXIT_AVIC_INCOMPLETE_IPI);
	ASSERT_EQ(out.cause, AVIC_IPI_FAILURE_INVALID_TARGET);
	ASSERT_EQ(exit_index(&out), 4);
	/* The software path finds no vCPU with APIC ID 4: nobody gets it. */
	ASSERT_OK(avic_handle_incomplete_ipi(v[0], out.exitinfo1, out.exitinfo2, NULL));
	for (uint32_t i = 0; i < 4; i++) {
		ASSERT(!irr(v[i], 0x41));
		vcpu_put(v[i]);
	}
	/* No vCPU can be made with an ID past the VM's maximum. */
	ASSERT_EQ(vcpu_create(vm, 4, NULL), -EINVAL);
	vm_destroy(vm);
}

/* The model's own limit: xAVIC indexes IDs up to 0xFE; 0xFF turns AVIC off. */
TEST(bounds_avic_model_max_id)
{
	struct vm *vm = avic_vm_new(AVIC_MODEL_XAVIC, 256, NULL);

	avic_vcpu_new(vm, AVIC_MAX_PHYSICAL_ID);
	ASSERT_EQ(avic_inhibits(vm), 0);
	avic_vcpu_new(vm, AVIC_MAX_PHYSICAL_ID + 1);
	ASSERT_EQ(avic_inhibits(vm), BIT_ULL(AVIC_INHIBIT_PHYSICAL_ID_TOO_BIG));
	ASSERT_EQ(avic_vcpu_table_entry(vm_get_vcpu(vm, 1)), 0);
	vm_destroy(vm);
}

/* x2APIC ICR destinations: 32 bits, physical and logical, past the table. */
TEST(bounds_avic_x2apic_destination)
{
	struct vm *vm = avic_vm_new(AVIC_MODEL_X2AVIC, 512, NULL);
	struct vcpu *a = avic_vcpu_new(vm, 0), *b = avic_vcpu_new(vm, X2AVIC_MAX_PHYSICAL_ID);
	struct avic_cpu_ipi out;

	ASSERT_OK(avic_set_x2apic_mode(a, true));
	ASSERT_OK(avic_set_x2apic_mode(b, true));
	ASSERT_OK(vcpu_load(a, 0));
	ASSERT_OK(vcpu_load(b, 1));
	out = icr_write(a, ((uint64_t)X2AVIC_MAX_PHYSICAL_ID << 32) | 0x40);
	ASSERT_EQ(out.exit_code, 0);
	ASSERT(irr(b, 0x40));
	out = icr_write(a, ((uint64_t)(X2AVIC_MAX_PHYSICAL_ID + 1) << 32) | 0x41);
	ASSERT_EQ(out.cause, AVIC_IPI_FAILURE_INVALID_TARGET);
	ASSERT_EQ(exit_index(&out), X2AVIC_MAX_PHYSICAL_ID + 1);
	/* Logical: cluster 0x1F bit 15 is ID 0x1FF; cluster 0x20 bit 0 is 0x200. */
	out = icr_write(a, (0x001F8000ULL << 32) | APIC_ICR_DEST_LOGICAL | 0x42);
	ASSERT_EQ(out.exit_code, 0);
	ASSERT(irr(b, 0x42));
	out = icr_write(a, (0x00200001ULL << 32) | APIC_ICR_DEST_LOGICAL | 0x43);
	ASSERT_EQ(out.cause, AVIC_IPI_FAILURE_INVALID_TARGET);
	ASSERT_EQ(exit_index(&out), 0x200);
	ASSERT_OK(avic_handle_incomplete_ipi(a, out.exitinfo1, out.exitinfo2, NULL));
	ASSERT(!irr(a, 0x41) && !irr(b, 0x41) && !irr(a, 0x43) && !irr(b, 0x43));
	vcpu_put(a);
	vcpu_put(b);
	vm_destroy(vm);
}

/* Logical IDs: cluster 0xE is the last table cluster (index 59), 0xF is none. */
TEST(bounds_avic_logical_id)
{
	struct vm *vm = avic_vm_new(AVIC_MODEL_XAVIC, 0, NULL);
	struct vcpu *a = avic_vcpu_new(vm, 0), *b = avic_vcpu_new(vm, 1);
	struct avic_cpu_ipi out;
	uint32_t *ltab = to_avic_vm(vm)->logical_table;

	for (int i = 0; i < 2; i++) {
		struct vcpu *v = i ? b : a;

		*apic_reg(to_avic_vcpu(v)->backing, APIC_DFR) = APIC_DFR_CLUSTER;
		avic_handle_dfr_update(v);
	}
	ASSERT_EQ(avic_logical_index(0xE8U << 24, APIC_DFR_CLUSTER), AVIC_LOGICAL_CLUSTER_MAX_INDEX);
	ASSERT_EQ(avic_logical_index(0xF1U << 24, APIC_DFR_CLUSTER), -EINVAL);
	/* Flat: bit 7 is index 7, the last; no bit set is no index. */
	ASSERT_EQ(avic_logical_index(0x80U << 24, APIC_DFR_FLAT), 7);
	ASSERT_EQ(avic_logical_index(0, APIC_DFR_FLAT), -EINVAL);

	*apic_reg(to_avic_vcpu(b)->backing, APIC_LDR) = 0xE8U << 24;
	avic_handle_ldr_update(b);
	ASSERT(ltab[AVIC_LOGICAL_CLUSTER_MAX_INDEX] & AVIC_LOGICAL_ID_ENTRY_VALID);
	ASSERT_OK(vcpu_load(a, 0));
	ASSERT_OK(vcpu_load(b, 1));
	out = icr_write(a, xapic_icr(0xE8, true, 0x40));
	ASSERT_EQ(out.exit_code, 0);
	ASSERT(irr(b, 0x40));

	/* An LDR in cluster 0xF takes no entry: the table is left as it was. */
	*apic_reg(to_avic_vcpu(b)->backing, APIC_LDR) = 0xF1U << 24;
	avic_handle_ldr_update(b);
	for (uint32_t i = 0; i < 1024; i++)
		ASSERT_EQ(ltab[i] & AVIC_LOGICAL_ID_ENTRY_VALID, 0);
	out = icr_write(a, xapic_icr(0xF1, true, 0x41));
	ASSERT_EQ(out.cause, AVIC_IPI_FAILURE_INVALID_TARGET);
	ASSERT_EQ(exit_index(&out), AVIC_LOGICAL_CLUSTER_MAX_INDEX + 1);
	ASSERT(!irr(b, 0x41));
	vcpu_put(a);
	vcpu_put(b);
	vm_destroy(vm);
}

/* APIC register offsets of unaccelerated accesses: 0x3F0 is a slot, 0x400 none. */
TEST(bounds_avic_apic_offset)
{
	struct vm *vm = avic_vm_new(AVIC_MODEL_XAVIC, 0, NULL);
	struct vcpu *a = avic_vcpu_new(vm, 0);
	void *regs = to_avic_vcpu(a)->backing;
	uint32_t val = 0;

	/* The last slot reads the page (what a write there does is the register's). */
	*apic_reg(regs, 0x3F0) = 0x5A;
	ASSERT_OK(avic_handle_unaccelerated_access(a, 0x3F0, &val));
	ASSERT_EQ(val, 0x5A);

	val = 0xA5;
	ASSERT_OK(avic_handle_unaccelerated_access(a, 0x400 | BIT_ULL(32), &val));
	ASSERT_EQ(*apic_reg(regs, 0x400), 0);
	val = 0xA5;
	ASSERT_OK(avic_handle_unaccelerated_access(a, 0xFF0 | BIT_ULL(32), &val));
	ASSERT_EQ(*apic_reg(regs, 0xFF0), 0);
	/* A read there gives 0 whatever the page holds. */
	*apic_reg(regs, 0x400) = 0x77;
	val = 1;
	ASSERT_OK(avic_handle_unaccelerated_access(a, 0x400, &val));
	ASSERT_EQ(val, 0);
	vm_destroy(vm);
}

/* ---- VM IDs, GA tags -------------------------------------------------------- */

static struct vcpu *resolved;

static void resolve_fn(struct vcpu *vcpu, void *arg)
{
	(void)arg;
	resolved = vcpu;
}

/*
 * A 4-bit VM ID space: IDs 1..15.  The VM that gets 15 resolves; tag VM
 * ID 16 and a vCPU index one past the VM's last resolve to nothing.
 */
TEST(bounds_vm_id_and_ga_tag)
{
	struct id_space *ids;
	struct vm *vms[15];
	struct vcpu *last = NULL;
	uint32_t vm_id;

	ASSERT_OK(id_space_create(4, &ids));
	ASSERT_EQ(id_space_max(ids), 15);
	for (int i = 0; i < 15; i++) {
		vms[i] = avic_vm_new(AVIC_MODEL_XAVIC, 0, ids);
		avic_vcpu_new(vms[i], 0);
		last = avic_vcpu_new(vms[i], 1);
	}
	vm_id = to_avic_vm(vms[14])->vm_id;
	ASSERT_EQ(vm_id, 15);
	/* The sixteenth VM finds the space full: a normal answer. */
	{
		struct vm *extra = avic_vm_new(AVIC_MODEL_XAVIC, 0, ids);

		ASSERT_EQ(vcpu_create(extra, 0, NULL), -ENOSPC);
		vm_destroy(extra);
	}
	id_space_read_lock(ids);
	ASSERT(id_lookup_locked(ids, 15) == vms[14]);
	ASSERT(id_lookup_locked(ids, 16) == NULL);
	ASSERT(id_lookup_locked(ids, 0) == NULL);
	id_space_read_unlock(ids);

	resolved = NULL;
	ASSERT_OK(avic_ga_tag_resolve(ids, avic_gatag(15, 1), resolve_fn, NULL));
	ASSERT(resolved == last);
	resolved = NULL;
	ASSERT_EQ(avic_ga_tag_resolve(ids, avic_gatag(15, 2), resolve_fn, NULL), -ENOENT);
	ASSERT_EQ(avic_ga_tag_resolve(ids, avic_gatag(16, 0), resolve_fn, NULL), -ENOENT);
	ASSERT_EQ(avic_ga_tag_resolve(ids, avic_gatag(0, 0), resolve_fn, NULL), -ENOENT);
	/* The largest tag the field holds: VM ID 2^20 - 1, index 4095. */
	ASSERT_EQ(avic_ga_tag_resolve(ids, 0xFFFFFFFFU, resolve_fn, NULL), -ENOENT);
	ASSERT(resolved == NULL);
	for (int i = 0; i < 15; i++)
		vm_destroy(vms[i]);
	ASSERT_EQ(id_space_used(ids), 0);
	id_space_destroy(ids);
}

/* ---- AMD IOMMU ------------------------------------------------------------------ */

#define DEVID 0x0042

/* IRTE index: the last entry of the device's table posts, the next faults. */
TEST(bounds_iommu_irte_index)
{
	struct vm *vm = avic_vm_new(AVIC_MODEL_XAVIC, 0, NULL);
	struct vcpu *a = avic_vcpu_new(vm, 0);
	uint64_t *irt = host_pages_alloc(HOST_TAG_MISC, 1, "test.irt");
	struct amd_iommu_stats st;
	struct amd_iommu *iommu;

	ASSERT(irt);
	ASSERT_OK(amd_iommu_create(&iommu));
	amd_iommu_write64(iommu, AMD_IOMMU_MMIO_CONTROL,
			  AMD_IOMMU_CONTROL_GA_EN | AMD_IOMMU_CONTROL_GAM_EN);
	ASSERT_EQ(amd_iommu_set_irt(iommu, DEVID, host_pa(irt), AMD_IRTE_MAX_ENTRIES + 1),
		  -EINVAL);
	ASSERT_OK(amd_iommu_set_irt(iommu, DEVID, host_pa(irt), AMD_IRTE_MAX_ENTRIES));
	ASSERT_OK(amd_iommu_set_irt(iommu, DEVID, host_pa(irt), 4));
	ASSERT_OK(vcpu_load(a, 0));
	ASSERT_OK(avic_irte_attach(a, irt + 2 * 3, 0x50));
	/* Entry 4 is a valid guest-mode IRTE too, but outside the table. */
	irt[2 * 4] = irt[2 * 3];
	irt[2 * 4 + 1] = (irt[2 * 3 + 1] & ~AMD_IRTE_HI_VECTOR) |
			 FIELD_PREP(AMD_IRTE_HI_VECTOR, 0x51);

	ASSERT_OK(amd_iommu_device_interrupt(iommu, DEVID, 3));
	ASSERT(irr(a, 0x50));
	ASSERT_EQ(amd_iommu_device_interrupt(iommu, DEVID, 4), -ENOENT);
	ASSERT(!irr(a, 0x51));
	ASSERT_EQ(amd_iommu_device_interrupt(iommu, DEVID, UINT32_MAX), -ENOENT);
	amd_iommu_get_stats(iommu, &st);
	ASSERT_EQ(st.irr_set, 1);
	ASSERT_EQ(st.not_valid, 2);
	ASSERT_EQ(st.io_page_faults, 2);
	vcpu_put(a);
	vm_destroy(vm);
	amd_iommu_destroy(iommu);
	host_pages_free(irt);
}

/* ---- GICv5 ------------------------------------------------------------------------ */

static struct vm *gic_vm(struct gv5 *g, uint32_t nvcpus, uint16_t *vm_id)
{
	struct vm *vm = gv5_vm(g, nvcpus, 1);

	ASSERT_OK(vgic_v5_init(vm));
	*vm_id = (uint16_t)vgic_v5_vm_id(vm);
	return vm;
}

/* INTIDs: the vIST's last ID configures and injects, the next is -ERANGE. */
TEST(bounds_gicv5_intid)
{
	static const struct { unsigned int type; uint32_t nr; } ist[] = {
		{ GICV5_HWIRQ_TYPE_SPI, 1U << 8 },	/* hyp/vgic_v5.c defaults */
		{ GICV5_HWIRQ_TYPE_LPI, 1U << 12 },
	};
	struct gv5 g = gv5_setup(false, 0);
	uint16_t vm_id;
	struct vm *vm = gic_vm(&g, 2, &vm_id);

	for (unsigned int i = 0; i < ARRAY_SIZE(ist); i++) {
		unsigned int t = ist[i].type;
		uint32_t last = ist[i].nr - 1;

		ASSERT_OK(gicv5_irs_vint_config(g.irs, vm_id, t, last, true, 8, 1));
		ASSERT_OK(gicv5_irs_inject(g.irs, vm_id, t, last));
		ASSERT(gicv5_irs_vint_state(g.irs, vm_id, t, last) & GICV5_ISTL2E_PENDING);
		ASSERT_EQ(gicv5_irs_vint_config(g.irs, vm_id, t, last + 1, true, 8, 1), -ERANGE);
		ASSERT_EQ(gicv5_irs_inject(g.irs, vm_id, t, last + 1), -ERANGE);
		ASSERT_EQ(gicv5_irs_vint_state(g.irs, vm_id, t, last + 1), 0);
		ASSERT_EQ(gicv5_irs_inject(g.irs, vm_id, t, UINT32_MAX), -ERANGE);
	}
	/* An INTID type that is neither SPI nor LPI. */
	ASSERT_EQ(gicv5_irs_inject(g.irs, vm_id, 0, 1), -EINVAL);
	ASSERT_EQ(gicv5_pe_eoi(g.irs, 0, 1), -EINVAL);
	vm_destroy(vm);
	gv5_done(&g);
}

static uint64_t irs_swerr(struct gicv5_irs *irs)
{
	return gicv5_irs_read(irs, GICV5_IRS_SWERR_SYNDROMER0, 8);
}

/* VM IDs at the IRS: 255 of 8 bits is checked further, 256 is SWERR BAD_ID. */
TEST(bounds_gicv5_vm_id)
{
	struct gv5 g = gv5_setup(false, 8);
	struct gicv5_irs_stats a, b;
	uint64_t e;

	ASSERT(vgic_v5_vmte(g.host, 255) != NULL);
	ASSERT(vgic_v5_vmte(g.host, 256) == NULL);
	gicv5_irs_get_stats(g.irs, &a);
	/* Unmapping VM 255, never mapped: in range, so the state is what fails. */
	gicv5_irs_write(g.irs, GICV5_IRS_VMAP_VMR, FIELD_PREP(GICV5_IRS_VMAP_VMR_VM_ID, 255) |
			GICV5_IRS_VMAP_VMR_M | GICV5_IRS_VMAP_VMR_U, 8);
	e = irs_swerr(g.irs);
	ASSERT_EQ(FIELD_GET(GICV5_IRS_SWERR_TYPE, e), IRS_SWERR_BAD_STATE);
	ASSERT_EQ(FIELD_GET(GICV5_IRS_SWERR_VM_ID, e), 255);
	ASSERT(e & GICV5_IRS_SWERR_VIRTUAL);
	gicv5_irs_write(g.irs, GICV5_IRS_VMAP_VMR, FIELD_PREP(GICV5_IRS_VMAP_VMR_VM_ID, 256) |
			GICV5_IRS_VMAP_VMR_M, 8);
	e = irs_swerr(g.irs);
	ASSERT_EQ(FIELD_GET(GICV5_IRS_SWERR_TYPE, e), IRS_SWERR_BAD_ID);
	ASSERT_EQ(FIELD_GET(GICV5_IRS_SWERR_VM_ID, e), 256);
	gicv5_irs_get_stats(g.irs, &b);
	ASSERT_EQ(b.faulted, a.faulted + 2);
	/* Devices naming a VM beyond the table reach nothing. */
	ASSERT_EQ(gicv5_irs_inject(g.irs, 256, GICV5_HWIRQ_TYPE_SPI, 0), -ENOENT);
	gv5_done(&g);
}

/* VPE IDs: 4 vCPUs give a 2-bit VPET; VPE 3 becomes resident, VPE 4 faults. */
TEST(bounds_gicv5_vpe_id)
{
	struct gv5 g = gv5_setup(false, 0);
	uint16_t vm_id;
	struct vm *vm = gic_vm(&g, 4, &vm_id);
	struct gicv5_irs_config cfg;
	uint64_t ctx;
	unsigned int pe;

	gicv5_irs_default_config(&cfg);
	pe = cfg.nr_pes - 1;
	ASSERT(vgic_v5_vpete(vm, 3) != NULL);
	ASSERT(vgic_v5_vpete(vm, 4) == NULL);
	ctx = ICH_CONTEXTR_EL2_V | FIELD_PREP(ICH_CONTEXTR_EL2_VM, vm_id) |
	      FIELD_PREP(ICH_CONTEXTR_EL2_VPE, 3);
	gicv5_pe_write_contextr(g.irs, pe, ctx);
	ASSERT_EQ(gicv5_pe_read_contextr(g.irs, pe), ctx);
	gicv5_pe_write_contextr(g.irs, pe, 0);
	ctx = ICH_CONTEXTR_EL2_V | FIELD_PREP(ICH_CONTEXTR_EL2_VM, vm_id) |
	      FIELD_PREP(ICH_CONTEXTR_EL2_VPE, 4);
	gicv5_pe_write_contextr(g.irs, pe, ctx);
	ASSERT_EQ(gicv5_pe_read_contextr(g.irs, pe), ctx | ICH_CONTEXTR_EL2_F);
	ASSERT_EQ(gicv5_pe_ack(g.irs, pe), -ENOENT);
	gicv5_pe_write_contextr(g.irs, pe, 0);
	/* The PE number itself: one past the last PE is ignored. */
	ctx = ICH_CONTEXTR_EL2_V | FIELD_PREP(ICH_CONTEXTR_EL2_VM, vm_id) |
	      FIELD_PREP(ICH_CONTEXTR_EL2_VPE, 3);
	gicv5_pe_write_contextr(g.irs, cfg.nr_pes, ctx);
	ASSERT_EQ(gicv5_pe_read_contextr(g.irs, cfg.nr_pes), 0);
	ASSERT_EQ(gicv5_pe_ack(g.irs, cfg.nr_pes), -ENOENT);
	vm_destroy(vm);
	gv5_done(&g);
}

/* IRS register offsets: SWERR_SYNDROMER0 is the last register, past it nothing. */
TEST(bounds_gicv5_irs_offset)
{
	struct gv5 g = gv5_setup(false, 8);
	struct gicv5_irs_stats a, b;
	uint64_t e;

	gicv5_irs_write(g.irs, GICV5_IRS_VMAP_VMR, FIELD_PREP(GICV5_IRS_VMAP_VMR_VM_ID, 256) |
			GICV5_IRS_VMAP_VMR_M, 8);
	e = irs_swerr(g.irs);
	ASSERT(e);
	ASSERT_EQ(gicv5_irs_read(g.irs, GICV5_IRS_SWERR_SYNDROMER0 + 4, 4), e >> 32);
	ASSERT_EQ(gicv5_irs_read(g.irs, GICV5_IRS_SWERR_SYNDROMER0 + 8, 8), 0);
	ASSERT_EQ(gicv5_irs_read(g.irs, GICV5_IRS_SWERR_SYNDROMER0 + 12, 4), 0);
	ASSERT_EQ(gicv5_irs_read(g.irs, UINT32_MAX, 4), 0);
	ASSERT_EQ(gicv5_irs_read(g.irs, GICV5_IRS_SWERR_SYNDROMER0, 16), 0);
	gicv5_irs_get_stats(g.irs, &a);
	gicv5_irs_write(g.irs, GICV5_IRS_SWERR_SYNDROMER0 + 8, ~0ULL, 8);
	gicv5_irs_write(g.irs, UINT32_MAX, ~0ULL, 8);
	gicv5_irs_write(g.irs, GICV5_IRS_VMAP_VMR, ~0ULL, 16);
	gicv5_irs_get_stats(g.irs, &b);
	ASSERT_EQ(b.ignored_writes, a.ignored_writes + 3);
	ASSERT_EQ(b.commands, a.commands);
	ASSERT_EQ(irs_swerr(g.irs), e);
	gv5_done(&g);
}

/* The doorbell priority mask: a guest mask past priority 31 means "all". */
TEST(bounds_gicv5_doorbell_mask)
{
	struct gv5 g = gv5_setup(false, 0);
	uint16_t vm_id;
	struct vm *vm = gic_vm(&g, 1, &vm_id);
	struct vcpu *vcpu = vm_get_vcpu(vm, 0);

	vgic_v5_set_vcpu_if(vcpu, true, GICV5_PRIORITY_LOWEST, 32);
	ASSERT_EQ(vgic_v5_doorbell_dbpm(vcpu), GICV5_PRIORITY_LOWEST);
	/* Was 64 (DBPM field 0): only priority 0 would have woken the vCPU. */
	vgic_v5_set_vcpu_if(vcpu, true, 64, 255);
	ASSERT_EQ(vgic_v5_doorbell_dbpm(vcpu), GICV5_PRIORITY_LOWEST);
	vgic_v5_set_vcpu_if(vcpu, true, GICV5_PRIORITY_LOWEST + 1, 255);
	ASSERT_EQ(vgic_v5_doorbell_dbpm(vcpu), GICV5_PRIORITY_LOWEST);
	vgic_v5_set_vcpu_if(vcpu, true, 255, 255);
	ASSERT_EQ(vgic_v5_doorbell_dbpm(vcpu), GICV5_PRIORITY_LOWEST);
	vm_destroy(vm);
	gv5_done(&g);
}

/* ---- host LPIs (doorbell INTIDs) --------------------------------------------- */

static unsigned int lpi_calls;

static void lpi_fn(uint32_t lpi, void *arg)
{
	(void)lpi;
	(void)arg;
	lpi_calls++;
}

/* 0 and 2^16 are outside the table; an ID inside it must be allocated. */
TEST(bounds_host_lpi)
{
	const uint32_t nr = 1U << HOST_LPI_ID_BITS;
	uint32_t lpi;

	ASSERT_OK(host_lpi_alloc(&lpi));
	ASSERT_OK(host_lpi_request(lpi, lpi_fn, NULL));
	ASSERT_OK(host_lpi_raise(lpi));
	ASSERT_EQ(lpi_calls, 1);
	ASSERT_EQ(host_lpi_raise(nr - 1), -ENOENT);	/* in range, not allocated */
	ASSERT_EQ(host_lpi_raise(nr), -ENOENT);
	ASSERT_EQ(host_lpi_raise(0), -ENOENT);
	ASSERT_EQ(host_lpi_request(nr, lpi_fn, NULL), -ENOENT);
	host_lpi_free(nr);				/* ignored */
	ASSERT_EQ(lpi_calls, 1);
	host_lpi_free(lpi);
	ASSERT_EQ(host_lpi_outstanding(), 0);
}

/* ---- the KVM runner's userspace APIC -------------------------------------------- */

/* xAPIC MMIO offsets: 0x3F0 is the last slot; 0x400 and misaligned are no register. */
TEST(bounds_kvm_lapic_mmio_offset)
{
	struct vkvm_lapic *l = calloc(1, sizeof(*l));
	struct vkvm_apic_stats st;
	char why[128];
	uint32_t val;

	ASSERT(l);
	ASSERT_OK(vkvm_lapic_init(l, 1, why, sizeof(why)));
	val = 0xdead;
	vkvm_lapic_access(l, 0, APIC_TDCR, false, &val);
	ASSERT_EQ(val, 0);
	vkvm_lapic_access(l, 0, 0x3F0, false, &val);
	vkvm_lapic_stats(l, &st);
	ASSERT_EQ(st.bad_accesses, 0);
	ASSERT_EQ(st.reads[0x3F], 1);
	val = 0xdead;
	vkvm_lapic_access(l, 0, 0x400, false, &val);
	ASSERT_EQ(val, 0);
	val = 0x1234;
	vkvm_lapic_access(l, 0, 0x400, true, &val);
	val = 0x1234;
	vkvm_lapic_access(l, 0, APIC_TASKPRI + 4, true, &val);
	vkvm_lapic_stats(l, &st);
	ASSERT_EQ(st.bad_accesses, 3);
	ASSERT_EQ(*apic_reg(to_avic_vcpu(l->vcpus[0])->backing, 0x400), 0);
	ASSERT_EQ(*apic_reg(to_avic_vcpu(l->vcpus[0])->backing, APIC_TASKPRI), 0);
	vkvm_lapic_fini(l);
	free(l);
}

/* x2APIC MSRs: 0x83F (SELF_IPI) is the last register, 0x840 is #GP. */
TEST(bounds_kvm_lapic_msr)
{
	struct vkvm_lapic *l = calloc(1, sizeof(*l));
	char why[128];
	uint64_t val;

	ASSERT(l);
	ASSERT_OK(vkvm_lapic_init(l, 1, why, sizeof(why)));
	vkvm_lapic_set_base(l, 0, VKVM_APIC_BASE | MSR_IA32_APICBASE_ENABLE |
			    MSR_IA32_APICBASE_EXTD | MSR_IA32_APICBASE_BSP);
	ASSERT(vkvm_lapic_x2apic(l, 0));
	val = 0x40;
	ASSERT_OK(vkvm_lapic_msr(l, 0, 0x83F, true, &val));
	ASSERT(irr(l->vcpus[0], 0x40));
	/* SELF_IPI's vector: 16 is accelerated, 15 goes to ESR, bit 8 is #GP. */
	val = 16;
	ASSERT_OK(vkvm_lapic_msr(l, 0, 0x83F, true, &val));
	ASSERT(irr(l->vcpus[0], 16));
	val = 15;
	ASSERT_OK(vkvm_lapic_msr(l, 0, 0x83F, true, &val));
	ASSERT(!irr(l->vcpus[0], 15));
	ASSERT_EQ(to_avic_vcpu(l->vcpus[0])->esr_pending, APIC_ESR_SEND_ILLEGAL_VECTOR);
	val = 0x100 | 0x42;
	ASSERT_EQ(vkvm_lapic_msr(l, 0, 0x83F, true, &val), -EINVAL);
	ASSERT(!irr(l->vcpus[0], 0x42));
	val = 0x41;
	ASSERT_EQ(vkvm_lapic_msr(l, 0, 0x840, true, &val), -EINVAL);
	ASSERT_EQ(vkvm_lapic_msr(l, 0, 0x840, false, &val), -EINVAL);
	ASSERT_EQ(vkvm_lapic_msr(l, 0, X2APIC_MSR_LAST + 1, false, &val), -EINVAL);
	ASSERT(!irr(l->vcpus[0], 0x41));
	vkvm_lapic_fini(l);
	free(l);
}

/* ---- Multiboot images ------------------------------------------------------------ */

#define RAM_SIZE (2ULL << 20)

static void put16(uint8_t *p, uint32_t off, uint16_t v)
{
	p[off] = (uint8_t)v;
	p[off + 1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t off, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[off + i] = (uint8_t)(v >> (8 * i));
}

/* One PT_LOAD segment at 1 MiB of memsz bytes, Multiboot header after the phdr. */
static void elf_build(uint8_t img[128], uint32_t memsz)
{
	memset(img, 0, 128);
	memcpy(img, "\177ELF", 4);
	img[4] = 1;			/* ELFCLASS32 */
	img[5] = 1;			/* little-endian */
	img[6] = 1;
	put16(img, 16, 2);		/* ET_EXEC */
	put16(img, 18, 3);		/* EM_386 */
	put32(img, 20, 1);
	put32(img, 24, 0x100000);	/* e_entry */
	put32(img, 28, 52);		/* e_phoff */
	put16(img, 40, 52);
	put16(img, 42, 32);		/* e_phentsize */
	put16(img, 44, 1);		/* e_phnum */
	put32(img, 52, 1);		/* PT_LOAD */
	put32(img, 56, 0);		/* p_offset */
	put32(img, 60, 0x100000);	/* p_vaddr */
	put32(img, 64, 0x100000);	/* p_paddr */
	put32(img, 68, 128);		/* p_filesz */
	put32(img, 72, memsz);
	put32(img, 84, MBOOT_HEADER_MAGIC);
	put32(img, 88, 0);
	put32(img, 92, (uint32_t)-MBOOT_HEADER_MAGIC);
}

/* Segment end: exactly the end of RAM loads, one byte more is -ERANGE. */
TEST(bounds_mboot_segment_end)
{
	uint8_t *ram = malloc(RAM_SIZE), img[128];
	struct mboot_params p = { .image = img, .image_size = sizeof(img) };
	struct mboot_layout lay;
	char why[256];

	ASSERT(ram);
	memset(ram, 0xEE, RAM_SIZE);
	elf_build(img, (uint32_t)(RAM_SIZE - 0x100000));
	ASSERT_OK(mboot_load(&p, ram, RAM_SIZE, &lay, why, sizeof(why)));
	ASSERT_EQ(lay.kernel_end, RAM_SIZE);
	ASSERT_EQ(ram[RAM_SIZE - 1], 0);	/* bss zeroed up to the last byte */

	memset(ram, 0xEE, RAM_SIZE);
	elf_build(img, (uint32_t)(RAM_SIZE - 0x100000 + 1));
	ASSERT_EQ(mboot_load(&p, ram, RAM_SIZE, &lay, why, sizeof(why)), -ERANGE);
	ASSERT(strstr(why, "outside RAM"));
	/* Rejected before any write: RAM is as it was. */
	for (uint64_t i = 0; i < RAM_SIZE; i += 4096)
		ASSERT_EQ(ram[i], 0xEE);
	ASSERT_EQ(ram[0x100000], 0xEE);
	ASSERT_EQ(ram[MBOOT_INFO_ADDR], 0xEE);
	free(ram);
}

/* ---- CLI and engine options -------------------------------------------------------- */

/* sim --seconds: a week at most; the soak mode totals whole runs. */
TEST(bounds_sim_seconds)
{
	struct sim_opts o;
	struct sim_result r;

	sim_default_opts(&o);
	o.workload = "churn";
	o.seconds = 7ULL * 24 * 3600 + 1;
	ASSERT_EQ(sim_run(&o, &r), -EINVAL);
	o.seconds = 1;
	o.messages = 50;
	ASSERT_OK(sim_run(&o, &r));
	ASSERT_EQ(r.failure[0], 0);
	ASSERT(r.runs >= 1);
	ASSERT_EQ(r.lost, 0);
	ASSERT_EQ(r.leaked_pages + r.leaked_bytes, 0);
	ASSERT_EQ(r.vms_created, r.vms_destroyed);
	ASSERT_EQ(r.vms_created, r.runs * (1 + 50));
	ASSERT_EQ(r.ga_log_entries, r.runs * 50);
	ASSERT(r.seconds >= 1.0);
}

/* The CLI's --seconds: 1..604800; 0 and 604801 are usage errors (exit 2). */
TEST(bounds_cli_sim_seconds)
{
	const char *bin = test_vintc_bin();
	char cmd[512];

	if (!bin)
		test_skip("VINTC_BIN not set");
	snprintf(cmd, sizeof(cmd), "'%s' sim churn --seconds 604801 >/dev/null 2>&1", bin);
	ASSERT_EQ(WEXITSTATUS(system(cmd)), 2);
	snprintf(cmd, sizeof(cmd), "'%s' sim churn --seconds 0 >/dev/null 2>&1", bin);
	ASSERT_EQ(WEXITSTATUS(system(cmd)), 2);
	snprintf(cmd, sizeof(cmd), "'%s' sim churn --seconds 1 --messages 20 --json >/dev/null 2>&1",
		 bin);
	ASSERT_EQ(WEXITSTATUS(system(cmd)), 0);
}

/*
 * A periodic APIC timer of one count fires at most once per
 * VKVM_MIN_PERIOD_NS, not back to back: a guest cannot spin the timer
 * thread.  The count of expiries is what is bounded.
 */
TEST(bounds_kvm_lapic_timer_period)
{
	struct vkvm_lapic *l = calloc(1, sizeof(*l));
	struct vkvm_apic_stats st;
	struct timespec nap = { 0, 50 * 1000 * 1000 };
	char why[128];
	uint32_t val;

	ASSERT(l);
	ASSERT_OK(vkvm_lapic_init(l, 1, why, sizeof(why)));
	ASSERT_OK(vkvm_lapic_timer_start(l, why, sizeof(why)));
	val = 0x1FF;
	vkvm_lapic_access(l, 0, APIC_SPIV, true, &val);
	val = 0xB;			/* divide by 1 */
	vkvm_lapic_access(l, 0, APIC_TDCR, true, &val);
	val = (1U << 17) | 0x30;	/* periodic, vector 0x30 */
	vkvm_lapic_access(l, 0, APIC_LVTT, true, &val);
	val = 1;			/* one count: 1 ns without the clamp */
	vkvm_lapic_access(l, 0, APIC_TMICT, true, &val);
	nanosleep(&nap, NULL);
	vkvm_lapic_timer_stop(l);
	vkvm_lapic_stats(l, &st);
	/* 50 ms / 200 us = 250, with slack for a late start. */
	ASSERT(st.timer_fires >= 1);
	ASSERT(st.timer_fires <= 260);
	vkvm_lapic_fini(l);
	free(l);
}
