// SPDX-License-Identifier: MIT
/* hyp/vgic_v5.c against the IRS model: init, teardown, faults, doorbells. */
#include <string.h>

#include <vintc/vgic_v5.h>

#include "hyp/vgic_v5_priv.h"
#include "gicv5_util.h"
#include "campaign_util.h"

static void check_initialised(struct gv5 *g, struct vm *vm)
{
	struct vgic_v5_vm *k = to_vgic_v5_vm(vm);
	uint64_t *vmte = vgic_v5_vmte(g->host, k->vm_id);
	uint32_t n = vm_nr_vcpus(vm), max_id = 0;
	unsigned int bits = 1;

	ASSERT(k->vm_id >= 1);
	ASSERT(vmte != NULL);
	/* Word 0: VALID, set by the IRS; VMD address. */
	ASSERT(vmte[0] & GICV5_VMTEL2E_VALID);
	ASSERT_EQ(vmte[0] & GICV5_VMTEL2E_VMD_ADDR, host_pa(k->vmd));
	/* Word 1: VPET and its ID bits, from the largest vCPU ID. */
	for (uint32_t i = 0; i < n; i++)
		if (vm_get_vcpu(vm, i)->vcpu_id > max_id)
			max_id = vm_get_vcpu(vm, i)->vcpu_id;
	while ((1U << bits) < max_id + 1)
		bits++;
	ASSERT_EQ(vmte[1] & GICV5_VMTEL2E_VPET_ADDR, host_pa(k->vpet));
	ASSERT_EQ(FIELD_GET(GICV5_VMTEL2E_VPE_ID_BITS, vmte[1]), bits);
	/* Words 2 and 3: the vISTs, valid, with their ID bits. */
	ASSERT(vmte[2] & GICV5_VMTEL2E_IST_VALID);
	ASSERT(vmte[3] & GICV5_VMTEL2E_IST_VALID);
	ASSERT_EQ(vmte[2] & GICV5_VMTEL2E_IST_ADDR, host_pa(k->lpi_ist));
	ASSERT_EQ(vmte[3] & GICV5_VMTEL2E_IST_ADDR, host_pa(k->spi_ist));
	ASSERT_EQ(FIELD_GET(GICV5_VMTEL2E_IST_ID_BITS, vmte[2]), vm->cfg.gicv5.lpi_id_bits);
	ASSERT_EQ(FIELD_GET(GICV5_VMTEL2E_IST_ID_BITS, vmte[3]), vm->cfg.gicv5.spi_id_bits);
	/* VPETEs: valid at each vCPU ID, pointing at its VPED; nothing else. */
	for (uint32_t id = 0, seen = 0; id < (1U << bits); id++) {
		uint64_t e = *vgic_v5_vpete(vm, id);
		struct vcpu *vcpu = vm_get_vcpu_by_id(vm, id);

		if (!vcpu) {
			ASSERT_EQ(e, 0);
			continue;
		}
		seen++;
		ASSERT(e & GICV5_VPETE_VALID);
		ASSERT_EQ(e & GICV5_VPETE_VPED_ADDR,
			  host_pa(k->vpeds) + vcpu->vcpu_idx * g->host->vped_size);
	}
	ASSERT_EQ(k->nr_db, n);
	for (uint32_t i = 0; i < n; i++)
		ASSERT(k->db[i].lpi != 0);
}

static void init_teardown(uint32_t nvcpus, uint32_t stride, bool two_level)
{
	struct gv5 g = gv5_setup(two_level, 0);
	struct vm *vm = gv5_vm(&g, nvcpus, stride);
	struct vgic_v5_vm *k = to_vgic_v5_vm(vm);
	uint32_t vm_id;
	uint64_t *vmte;

	ASSERT_OK(vgic_v5_init(vm));
	check_initialised(&g, vm);
	ASSERT_EQ(host_lpi_outstanding(), nvcpus);
	if (two_level) {
		uint64_t l1 = ((uint64_t *)g.host->vmt)[k->vm_id / GICV5_VMTL2_ENTRIES];

		ASSERT(l1 & GICV5_VMTEL1E_VALID);
		ASSERT_EQ(l1 & GICV5_VMTEL1E_L2_ADDR,
			  host_pa(g.host->vmt_l2[k->vm_id / GICV5_VMTL2_ENTRIES]));
		ASSERT(gicv5_irs_read(g.irs, GICV5_IRS_VMT_CFGR, 4) & GICV5_IRS_VMT_CFGR_STRUCTURE);
	}
	ASSERT_EQ(gicv5_irs_read(g.irs, GICV5_IRS_VMT_BASER, 8),
		  host_pa(g.host->vmt) | GICV5_IRS_VMT_BASER_VALID);
	vm_id = k->vm_id;
	vmte = vgic_v5_vmte(g.host, vm_id);
	ASSERT_OK(vgic_v5_teardown(vm));
	ASSERT_EQ(k->vm_id, 0);
	ASSERT_EQ(vmte[0] | vmte[1] | vmte[2] | vmte[3], 0);
	ASSERT_EQ(host_lpi_outstanding(), 0);
	ASSERT_EQ(host_mem_stats(HOST_TAG_GICV5_VM).pages, 0);
	ASSERT_EQ(host_mem_stats(HOST_TAG_GICV5_IST).pages, 0);
	ASSERT_OK(vgic_v5_teardown(vm));	/* twice */
	ASSERT_EQ(id_space_used(g.host->ids), 0);
	vm_destroy(vm);
	gv5_done(&g);
}

TEST(vgic_v5_init_teardown_1_vcpu)       { init_teardown(1, 1, false); }
TEST(vgic_v5_init_teardown_2_vcpus)      { init_teardown(2, 1, false); }
TEST(vgic_v5_init_teardown_64_sparse)    { init_teardown(64, 3, false); }
TEST(vgic_v5_init_teardown_max_vcpus)    { init_teardown(4096, 1, false); }
TEST(vgic_v5_init_teardown_2level_1)     { init_teardown(1, 1, true); }
TEST(vgic_v5_init_teardown_2level_64)    { init_teardown(64, 1, true); }
TEST(vgic_v5_init_teardown_2level_max)   { init_teardown(4096, 1, true); }

TEST(vgic_v5_init_refusals)
{
	struct gv5 g = gv5_setup(false, 0);
	struct vm *vm = gv5_vm(&g, 0, 1);
	struct vm_config cfg = { .arch = VM_ARCH_GICV5 };
	struct vm *bad;

	ASSERT_EQ(vgic_v5_init(vm), -ENODEV);	/* no vCPUs */
	ASSERT_OK(vcpu_create(vm, 0, NULL));
	ASSERT_OK(vgic_v5_init(vm));
	ASSERT_EQ(vgic_v5_init(vm), -EBUSY);
	ASSERT_EQ(vcpu_create(vm, 1, NULL), -EBUSY);	/* VPE table already sized */
	vm_destroy(vm);
	ASSERT_EQ(vm_create(&cfg, &bad), -EINVAL);	/* no IRS */
	cfg.gicv5.host = g.host;
	cfg.gicv5.lpi_id_bits = 25;
	ASSERT_EQ(vm_create(&cfg, &bad), -EINVAL);
	gv5_done(&g);
}

TEST(vgic_v5_init_after_failed_init)
{
	/* Site, and how many of its calls succeed before the failing one. */
	static const struct {
		const char *site;
		uint64_t skip;
	} sites[] = {
		{ "vgic_v5.vpeds", 0 }, { "host.lpi", 1 }, { "irs.VMAP_VMR", 0 },
		{ "irs.VMAP_VPER", 2 }, { "irs.VPE_SELR", 1 }, { "irs.VPE_DBR", 3 },
		{ "irs.VMAP_VISTR", 1 }, { "vgic_v5.lpi_ist", 0 },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(sites); i++) {
		struct gv5 g = gv5_setup(false, 0);
		struct vm *vm = gv5_vm(&g, 4, 1);

		host_fault_reset();
		host_fault_arm_site(sites[i].site, sites[i].skip);
		ASSERT(vgic_v5_init(vm) < 0);
		host_fault_disarm();
		ASSERT_EQ(host_fault_injected(), 1);
		/* The failure's teardown released everything, ID included. */
		ASSERT_EQ(vgic_v5_vm_id(vm), 0);
		ASSERT_EQ(id_space_used(g.host->ids), 0);
		ASSERT_EQ(host_lpi_outstanding(), 0);
		ASSERT_EQ(host_mem_stats(HOST_TAG_GICV5_VM).pages, 0);
		ASSERT_OK(vgic_v5_init(vm));
		check_initialised(&g, vm);
		vm_destroy(vm);
		gv5_done(&g);
	}
}

/* A command that never completes: keep everything, retire the ID. */
TEST(vgic_v5_hung_command_retires_vm_id)
{
	struct gv5 g = gv5_setup(false, 0);
	struct vm *vm = gv5_vm(&g, 2, 1);
	struct vgic_v5_vm *k = to_vgic_v5_vm(vm);
	uint32_t vm_id, other;
	struct vm *vm2;

	host_fault_reset();
	host_fault_arm_site("irs.VMAP_VPER.hang", 0);
	ASSERT_EQ(vgic_v5_init(vm), -ETIMEDOUT);
	host_fault_disarm();
	ASSERT(gicv5_irs_hung(g.irs));
	vm_id = k->vm_id;
	ASSERT(vm_id != 0);			/* kept: teardown could not confirm */
	ASSERT(k->vmte_allocated);
	ASSERT(k->dead);
	ASSERT(host_mem_stats(HOST_TAG_GICV5_VM).pages > 0);
	ASSERT_EQ(vgic_v5_teardown(vm), -ETIMEDOUT);
	ASSERT_EQ(k->vm_id, vm_id);

	gicv5_irs_unhang(g.irs);
	ASSERT_OK(vgic_v5_teardown(vm));
	ASSERT_EQ(k->vm_id, 0);
	ASSERT_EQ(id_space_retired(vgic_v5_host_ids(g.host)), 1);
	ASSERT_EQ(host_mem_stats(HOST_TAG_GICV5_VM).pages, 0);
	ASSERT_EQ(*vgic_v5_vmte(g.host, vm_id) & GICV5_VMTEL2E_VALID, 0);

	/* Never handed out again, however many VMs come and go. */
	vm2 = gv5_vm(&g, 1, 1);
	for (int i = 0; i < 70000; i++) {
		ASSERT_OK(vgic_v5_init(vm2));
		other = vgic_v5_vm_id(vm2);
		ASSERT_NE(other, vm_id);
		ASSERT_OK(vgic_v5_teardown(vm2));
	}
	vm_destroy(vm2);
	/* A fresh init of the first VM gets a new ID. */
	ASSERT_OK(vgic_v5_init(vm));
	ASSERT_NE(k->vm_id, vm_id);
	vm_destroy(vm);
	ASSERT_EQ(vgic_v5_remove(g.host), 0);
	gicv5_irs_destroy(g.irs);
}

/* Fill the VM table, exhaust the IDs quietly, free some, reuse them. */
TEST(vgic_v5_many_vms)
{
	struct gv5 g = gv5_setup(true, 8);	/* IDs 1..255, two-level */
	struct vm *vms[255], *extra;
	uint64_t logs;

	for (int i = 0; i < 255; i++) {
		vms[i] = gv5_vm(&g, 1, 1);
		ASSERT_OK(vgic_v5_init(vms[i]));
		ASSERT_EQ(vgic_v5_vm_id(vms[i]), i + 1);
	}
	/* Every L2 of the table exists: 256 / 128 = 2. */
	ASSERT(g.host->vmt_l2[0] && g.host->vmt_l2[1]);
	extra = gv5_vm(&g, 1, 1);
	host_log_set_level(HOST_LOG_DEBUG);
	logs = host_log_count();
	ASSERT_EQ(vgic_v5_init(extra), -ENOSPC);
	ASSERT_EQ(host_log_count(), logs);
	ASSERT_EQ(host_lpi_outstanding(), 255);
	for (int i = 10; i < 20; i++)
		vm_destroy(vms[i]);
	for (int i = 10; i < 20; i++) {
		vms[i] = gv5_vm(&g, 1, 1);
		ASSERT_OK(vgic_v5_init(vms[i]));
		ASSERT(vgic_v5_vm_id(vms[i]) >= 11 && vgic_v5_vm_id(vms[i]) <= 20);
	}
	ASSERT_OK(vgic_v5_init(extra) == -ENOSPC ? 0 : -1);
	vm_destroy(extra);
	for (int i = 0; i < 255; i++)
		vm_destroy(vms[i]);
	gv5_done(&g);
}

/* ---- doorbells ----------------------------------------------------------- */

struct dbvm {
	struct gv5 g;
	struct vm *vm;
	struct vcpu *vcpu;
	uint16_t vm_id;
};

static struct dbvm db_setup(void)
{
	struct dbvm d;

	d.g = gv5_setup(false, 0);
	d.vm = gv5_vm(&d.g, 2, 1);
	ASSERT_OK(vgic_v5_init(d.vm));
	d.vcpu = vm_get_vcpu(d.vm, 1);
	d.vm_id = (uint16_t)vgic_v5_vm_id(d.vm);
	/* The guest enables vSPI 5 and vLPI 100 at priority 8, for VPE 1. */
	ASSERT_OK(gicv5_irs_vint_config(d.g.irs, d.vm_id, GICV5_HWIRQ_TYPE_SPI, 5, true, 8, 1));
	ASSERT_OK(gicv5_irs_vint_config(d.g.irs, d.vm_id, GICV5_HWIRQ_TYPE_LPI, 100, true, 8, 1));
	ASSERT_OK(vcpu_load(d.vcpu, 3));
	ASSERT(vgic_v5_vcpu_resident(d.vcpu));
	return d;
}

static void db_done(struct dbvm *d)
{
	vcpu_put(d->vcpu);
	vm_destroy(d->vm);
	gv5_done(&d->g);
}

static uint64_t handled(struct vcpu *vcpu)
{
	return vgic_v5_vcpu_doorbells(vcpu);
}

static void doorbell_once_per_period(unsigned int type, uint32_t id)
{
	struct dbvm d = db_setup();

	/* Resident: the VPE sees the interrupt itself, no doorbell. */
	ASSERT_OK(gicv5_irs_inject(d.g.irs, d.vm_id, type, id));
	ASSERT_EQ(handled(d.vcpu), 0);
	ASSERT_EQ(gicv5_pe_ack(d.g.irs, 3), (int)(FIELD_PREP(GICV5_INTID_TYPE, type) | id));
	ASSERT_OK(gicv5_pe_eoi(d.g.irs, 3, (uint32_t)FIELD_PREP(GICV5_INTID_TYPE, type) | id));

	/* Into WFI: non-resident with a doorbell requested. */
	vcpu_blocking(d.vcpu);
	ASSERT(!vgic_v5_vcpu_resident(d.vcpu));
	ASSERT_OK(gicv5_irs_inject(d.g.irs, d.vm_id, type, id));
	ASSERT_EQ(handled(d.vcpu), 1);
	ASSERT(vgic_v5_take_doorbell(d.vcpu));
	/* Still pending, still non-resident: no second doorbell this period. */
	ASSERT_OK(gicv5_irs_inject(d.g.irs, d.vm_id, type, id));
	ASSERT_EQ(handled(d.vcpu), 1);
	vcpu_unblocking(d.vcpu);
	ASSERT(vgic_v5_vcpu_resident(d.vcpu));
	ASSERT(gicv5_pe_ack(d.g.irs, 3) >= 0);

	/* A new non-resident period may ring again. */
	vcpu_blocking(d.vcpu);
	ASSERT_OK(gicv5_irs_inject(d.g.irs, d.vm_id, type, id));
	ASSERT_EQ(handled(d.vcpu), 1);	/* still active from the ack: no doorbell */
	vcpu_unblocking(d.vcpu);
	ASSERT_OK(gicv5_pe_eoi(d.g.irs, 3, (uint32_t)FIELD_PREP(GICV5_INTID_TYPE, type) | id));
	ASSERT(gicv5_pe_ack(d.g.irs, 3) >= 0);	/* the pending one */
	ASSERT_OK(gicv5_pe_eoi(d.g.irs, 3, (uint32_t)FIELD_PREP(GICV5_INTID_TYPE, type) | id));
	vcpu_blocking(d.vcpu);
	ASSERT_OK(gicv5_irs_inject(d.g.irs, d.vm_id, type, id));
	ASSERT_EQ(handled(d.vcpu), 2);
	vcpu_unblocking(d.vcpu);
	db_done(&d);
}

TEST(vgic_v5_doorbell_spi_once_per_period) { doorbell_once_per_period(GICV5_HWIRQ_TYPE_SPI, 5); }
TEST(vgic_v5_doorbell_lpi_once_per_period) { doorbell_once_per_period(GICV5_HWIRQ_TYPE_LPI, 100); }

TEST(vgic_v5_doorbell_priority_mask)
{
	struct dbvm d = db_setup();

	/* Active priority 8: DBPM = 7, so a priority-8 interrupt must not ring. */
	vgic_v5_set_vcpu_if(d.vcpu, true, 31, 8);
	ASSERT_EQ(vgic_v5_doorbell_dbpm(d.vcpu), 7);
	vcpu_blocking(d.vcpu);
	ASSERT_OK(gicv5_irs_inject(d.g.irs, d.vm_id, GICV5_HWIRQ_TYPE_SPI, 5));
	ASSERT_EQ(handled(d.vcpu), 0);
	/* Priority 7 would preempt priority 8: it must wake the vCPU. */
	ASSERT_OK(gicv5_irs_vint_config(d.g.irs, d.vm_id, GICV5_HWIRQ_TYPE_LPI, 100, true, 7, 1));
	ASSERT_OK(gicv5_irs_inject(d.g.irs, d.vm_id, GICV5_HWIRQ_TYPE_LPI, 100));
	ASSERT_EQ(handled(d.vcpu), 1);
	vcpu_unblocking(d.vcpu);

	/* Interface off: no doorbell requested at all. */
	vgic_v5_set_vcpu_if(d.vcpu, false, 31, 32);
	ASSERT_EQ(vgic_v5_doorbell_dbpm(d.vcpu), -1);
	vgic_v5_set_vcpu_if(d.vcpu, true, 31, 32);
	ASSERT_EQ(vgic_v5_doorbell_dbpm(d.vcpu), 31);
	vgic_v5_set_vcpu_if(d.vcpu, true, 4, 32);
	ASSERT_EQ(vgic_v5_doorbell_dbpm(d.vcpu), 4);
	vgic_v5_set_vcpu_if(d.vcpu, true, 31, 0);
	ASSERT_EQ(vgic_v5_doorbell_dbpm(d.vcpu), -1);
	db_done(&d);
}

/* A VPE that never ran rings for anything pending, at any priority. */
TEST(vgic_v5_doorbell_before_first_run)
{
	struct gv5 g = gv5_setup(false, 0);
	struct vm *vm = gv5_vm(&g, 1, 1);
	struct vcpu *vcpu = vm_get_vcpu(vm, 0);
	uint16_t vm_id;

	ASSERT_OK(vgic_v5_init(vm));
	vm_id = (uint16_t)vgic_v5_vm_id(vm);
	ASSERT_OK(gicv5_irs_vint_config(g.irs, vm_id, GICV5_HWIRQ_TYPE_SPI, 9, true, 31, 0));
	ASSERT_OK(gicv5_irs_inject(g.irs, vm_id, GICV5_HWIRQ_TYPE_SPI, 9));
	ASSERT_EQ(handled(vcpu), 1);
	ASSERT_OK(gicv5_irs_inject(g.irs, vm_id, GICV5_HWIRQ_TYPE_SPI, 9));
	ASSERT_EQ(handled(vcpu), 1);
	vm_destroy(vm);
	gv5_done(&g);
}

TEST(vgic_v5_plain_put_requests_no_doorbell)
{
	struct dbvm d = db_setup();

	vcpu_put(d.vcpu);		/* preempted, not halting */
	ASSERT(!vgic_v5_vcpu_resident(d.vcpu));
	ASSERT_OK(gicv5_irs_inject(d.g.irs, d.vm_id, GICV5_HWIRQ_TYPE_SPI, 5));
	ASSERT_EQ(handled(d.vcpu), 0);
	ASSERT_OK(vcpu_load(d.vcpu, 4));
	ASSERT(gicv5_pe_ack(d.g.irs, 4) >= 0);
	db_done(&d);
}

/*
 * Preempted inside vcpu_block(), after `blocking` is set and before the
 * blocking hook: the put must ask for the doorbell, since the hook will
 * find the VPE not resident and do nothing (the window spin found in
 * verify/gicv5_doorbell.pml).
 */
TEST(vgic_v5_preempted_while_blocking_requests_doorbell)
{
	struct dbvm d = db_setup();

	store_release(&d.vcpu->blocking, 1);
	vcpu_put(d.vcpu);		/* the preemption */
	ASSERT(!vgic_v5_vcpu_resident(d.vcpu));
	vcpu_blocking(d.vcpu);		/* the hook: nothing left to do */
	ASSERT_OK(gicv5_irs_inject(d.g.irs, d.vm_id, GICV5_HWIRQ_TYPE_SPI, 5));
	ASSERT_EQ(handled(d.vcpu), 1);
	ASSERT(vgic_v5_take_doorbell(d.vcpu));
	store_release(&d.vcpu->blocking, 0);
	ASSERT_OK(vcpu_load(d.vcpu, 3));
	ASSERT(gicv5_pe_ack(d.g.irs, 3) >= 0);
	db_done(&d);
}

struct waker {
	struct dbvm *d;
	uint32_t go;
};

static void *inject_later(void *arg)
{
	struct waker *w = arg;

	while (!load_acquire(&w->go))
		;
	gicv5_irs_inject(w->d->g.irs, w->d->vm_id, GICV5_HWIRQ_TYPE_SPI, 5);
	return NULL;
}

/* The handler's kick reaches a vCPU asleep in vcpu_block(). */
TEST(vgic_v5_doorbell_wakes_blocked_vcpu)
{
	struct dbvm d = db_setup();
	struct waker w = { .d = &d };
	pthread_t t;

	for (int round = 0; round < 200; round++) {
		store_release(&w.go, 0);
		pthread_create(&t, NULL, inject_later, &w);
		store_release(&w.go, 1);
		ASSERT_OK(vcpu_block(d.vcpu, 5000000000ULL));
		pthread_join(t, NULL);
		ASSERT(vgic_v5_take_doorbell(d.vcpu));
		ASSERT(vgic_v5_vcpu_resident(d.vcpu));
		ASSERT(gicv5_pe_ack(d.g.irs, 3) >= 0);
		ASSERT_OK(gicv5_pe_eoi(d.g.irs, 3, (uint32_t)FIELD_PREP(GICV5_INTID_TYPE,
									GICV5_HWIRQ_TYPE_SPI) | 5));
	}
	ASSERT_EQ(handled(d.vcpu), 200);
	db_done(&d);
}

static void gcampaign(uint32_t nvcpus, bool two_level)
{
	struct campaign_opts o = { .vcpus = nvcpus, .two_level = two_level };
	struct campaign_result r;

	ASSERT_OK(campaign_gicv5(&o, &r));
	campaign_check_clean(&r);
	ASSERT(r.hangs > 0);
	ASSERT(r.retired_vm_ids > 0);
	ASSERT(r.sites > 20 + 4 * nvcpus);
}

TEST(faults_gicv5_1_vcpu)          { gcampaign(1, false); }
TEST(faults_gicv5_2_vcpus)         { gcampaign(2, false); }
TEST(faults_gicv5_2_vcpus_2level)  { gcampaign(2, true); }
TEST(faults_gicv5_16_vcpus_2level) { gcampaign(16, true); }
