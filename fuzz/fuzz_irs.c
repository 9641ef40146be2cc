// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the GICv5 IRS model (hw/gicv5_irs.c) and, in a second
 * mode, the hypervisor's vgic_v5 lifecycle (hyp/vgic_v5.c) under faults.
 *
 * Byte 0 picks the mode (bit 7) and the IRS configuration.
 *
 * Raw mode: arbitrary 4- and 8-byte register writes and reads at any offset
 * of the configuration frame (the command registers VMT_BASER, VMAP_*,
 * VPE_*, VM_*, SPI_VMR, IST_* most often), with values that are arbitrary
 * or point into a 64 KiB pool of real host pages whose contents the input
 * also writes (so VMAP commands walk tables of arbitrary contents, or
 * addresses that do not translate); ICH_CONTEXTR_EL2 writes on any PE;
 * virtual interrupt configuration, injection, acknowledge and EOI; command
 * latency, hangs and faults.
 *   - the ID registers never change;
 *   - with no latency and no hang, every command domain's STATUSR reads IDLE;
 *   - the result codes are the documented ones; an acknowledged INTID has
 *     type LPI or SPI; stats: faulted <= commands;
 *   - doorbells arrive only on the host LPIs the input gave out;
 *   - after the IRS is destroyed no page, byte or host LPI is outstanding
 *     beyond the pool.
 *
 * Lifecycle mode: probe (one- or two-level VM table), up to 3 VMs of 1..6
 * vCPUs with sparse IDs, vgic_v5_init, then loads, puts on the way into WFI
 * (doorbell requests), virtual CPU interface changes, injections,
 * acknowledges and EOIs, with the Nth fault site armed, command hangs and
 * latency; then teardown (retried after the IRS recovers), destroy, remove.
 *   - a failed init leaves no VM ID unless the IRS is hung;
 *   - after teardown and destroy no VMTE is VALID and every VM ID is free
 *     or retired (at most one retired per failed teardown);
 *   - after remove and IRS destroy no page, byte or host LPI is outstanding.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vintc/gicv5_defs.h>
#include <vintc/gicv5_irs.h>
#include <vintc/host.h>
#include <vintc/idalloc.h>
#include <vintc/vgic_v5.h>
#include <vintc/vm.h>

#define FUZZ_NAME "fuzz_irs"
#include "fuzz_util.h"



/* The pool: real host pages the input fills and points the IRS at. */
#define POOL_RUNS	4
#define POOL_ORDER	2
#define POOL_BYTES	(HOST_PAGE_SIZE << POOL_ORDER)
static uint8_t *pool[POOL_RUNS];

static uint64_t pool_addr(struct input *in)
{
	uint8_t r = u8(in);
	uint16_t off = u16(in);

	return host_pa(pool[r % POOL_RUNS]) + (off % POOL_BYTES);
}

static const uint32_t regs[] = {
	GICV5_IRS_IDR0, GICV5_IRS_IDR1, GICV5_IRS_IDR2, GICV5_IRS_IDR3, GICV5_IRS_IDR4,
	GICV5_IRS_IST_BASER, GICV5_IRS_IST_CFGR, GICV5_IRS_IST_STATUSR, GICV5_IRS_MAP_L2_ISTR,
	GICV5_IRS_SPI_VMR, GICV5_IRS_VMT_BASER, GICV5_IRS_VMT_CFGR, GICV5_IRS_VMT_STATUSR,
	GICV5_IRS_VPE_SELR, GICV5_IRS_VPE_DBR, GICV5_IRS_VPE_HPPIR, GICV5_IRS_VPE_CR0,
	GICV5_IRS_VPE_STATUSR, GICV5_IRS_VM_DBR, GICV5_IRS_VM_SELR, GICV5_IRS_VM_STATUSR,
	GICV5_IRS_VMAP_L2_VMTR, GICV5_IRS_VMAP_VMR, GICV5_IRS_VMAP_VISTR,
	GICV5_IRS_VMAP_L2_VISTR, GICV5_IRS_VMAP_VPER, GICV5_IRS_SAVE_VMR,
	GICV5_IRS_SAVE_VM_STATUSR, GICV5_IRS_SWERR_SYNDROMER0,
};

/* The command domains' STATUSRs (the physical IST is not modelled). */
static const uint32_t statusrs[] = {
	GICV5_IRS_VMT_STATUSR, GICV5_IRS_VPE_STATUSR,
	GICV5_IRS_VM_STATUSR, GICV5_IRS_SAVE_VM_STATUSR,
};

static const char *const cmd_names[] = {
	"VMT_BASER", "VMAP_L2_VMTR", "VMAP_VMR", "VMAP_VISTR", "VMAP_L2_VISTR", "VMAP_VPER",
	"VPE_SELR", "VPE_DBR", "VPE_CR0", "VM_SELR", "VM_DBR", "SPI_VMR", "SAVE_VMR",
};

static void arm_fault(struct input *in)
{
	/* host_fault_arm_site() keeps the pointer: the name must outlive it. */
	static char site[64];
	uint8_t b = u8(in);

	host_fault_reset();
	if (b < 0x80) {
		host_fault_arm_nth(1 + (b & 0x3F));
		return;
	}
	snprintf(site, sizeof(site), "irs.%s%s", cmd_names[b % ARRAY_SIZE(cmd_names)],
		 (b & 0x40) ? ".hang" : "");
	host_fault_arm_site(site, u8(in) & 7);
}

/* ---- doorbells ---------------------------------------------------------- */

#define FUZZ_LPIS 2
static uint32_t my_lpi[FUZZ_LPIS];
static uint64_t my_lpi_hits;

static void lpi_handler(uint32_t lpi, void *arg)
{
	(void)arg;
	CHECK(lpi == my_lpi[0] || lpi == my_lpi[1], "doorbell on host LPI %u", lpi);
	my_lpi_hits++;
}

static void check_results(int r, const char *what)
{
	CHECK(r == 0 || r == -ENOENT || r == -ERANGE || r == -EINVAL, "%s returned %d", what, r);
}

/* ---- raw register mode -------------------------------------------------- */

static void raw_mode(struct input *in, struct gicv5_irs *irs, const struct gicv5_irs_config *cfg)
{
	uint32_t idr[5];
	unsigned int latency = 0;
	unsigned int ops = 0;
	struct gicv5_irs_stats st;

	for (unsigned int i = 0; i < 5; i++)
		idr[i] = (uint32_t)gicv5_irs_read(irs, GICV5_IRS_IDR0 + 4 * i, 4);

	while (in->n && ops++ < 2048) {
		uint8_t op = u8(in);
		uint32_t off;
		uint64_t val;
		unsigned int size = (op & 0x80) ? 8 : 4;
		int r;

		switch (op & 0xF) {
		case 0: case 1: case 2: case 3:
			off = u8(in);
			off = off < 0xF0 ? regs[off % ARRAY_SIZE(regs)] : u16(in);
			if (op & 0x40)
				val = pool_addr(in) | (u8(in) & 7) | ((uint64_t)u16(in) << 48);
			else
				val = u64(in);
			gicv5_irs_write(irs, off, val, size);
			break;
		case 4:
			off = u8(in);
			off = off < 0xF0 ? regs[off % ARRAY_SIZE(regs)] : u16(in);
			(void)gicv5_irs_read(irs, off, size);
			break;
		case 5: {
			/* Table contents: a word anywhere in the pool. */
			uint8_t *p = pool[u8(in) % POOL_RUNS];
			uint16_t at = (uint16_t)(u16(in) % POOL_BYTES) & ~7U;

			if (op & 0x40)
				val = pool_addr(in) | (u8(in) & 0xF);
			else
				val = u64(in);
			memcpy(p + at, &val, 8);
			break;
		}
		case 6:
			val = (op & 0x40) ? u64(in) :
			      (ICH_CONTEXTR_EL2_V | FIELD_PREP(ICH_CONTEXTR_EL2_VM, u8(in) & 7) |
			       FIELD_PREP(ICH_CONTEXTR_EL2_VPE, u8(in) & 7) |
			       FIELD_PREP(ICH_CONTEXTR_EL2_DBPM, u8(in)) |
			       ((op & 0x20) ? ICH_CONTEXTR_EL2_DB : 0));
			gicv5_pe_write_contextr(irs, u8(in) % (cfg->nr_pes + 1), val);
			(void)gicv5_pe_read_contextr(irs, u8(in) % (cfg->nr_pes + 1));
			break;
		case 7: {
			uint16_t vm = u8(in) & 7;
			unsigned int type = u8(in) % 4;
			uint32_t id = (op & 0x40) ? u32(in) : u8(in);

			r = gicv5_irs_vint_config(irs, vm, type, id, op & 0x20, u8(in),
						  u16(in) & 0xF);
			check_results(r, "vint_config");
			break;
		}
		case 8: {
			uint16_t vm = u8(in) & 7;
			unsigned int type = u8(in) % 4;
			uint32_t id = (op & 0x40) ? u32(in) : u8(in);

			r = gicv5_irs_inject(irs, vm, type, id);
			check_results(r, "inject");
			(void)gicv5_irs_vint_state(irs, vm, type, id);
			break;
		}
		case 9: {
			unsigned int pe = u8(in) % (cfg->nr_pes + 1);

			r = gicv5_pe_ack(irs, pe);
			CHECK(r >= 0 || r == -ENOENT, "ack returned %d", r);
			if (r >= 0) {
				uint32_t type = (uint32_t)FIELD_GET(GICV5_INTID_TYPE, (uint32_t)r);

				CHECK(type == GICV5_HWIRQ_TYPE_LPI || type == GICV5_HWIRQ_TYPE_SPI,
				      "acknowledged INTID 0x%x", (uint32_t)r);
				if (op & 0x40)
					CHECK(gicv5_pe_eoi(irs, pe, (uint32_t)r) == 0,
					      "EOI of the INTID 0x%x just acknowledged", (uint32_t)r);
			} else {
				r = gicv5_pe_eoi(irs, pe, u32(in));
				CHECK(r == 0 || r == -ENOENT || r == -EINVAL, "eoi returned %d", r);
			}
			break;
		}
		case 10:
			/* Once set, commands may be outstanding for the rest of the input. */
			latency |= u8(in) & 3;
			gicv5_irs_set_latency(irs, latency);
			break;
		case 11:
			if (gicv5_irs_hung(irs))
				gicv5_irs_unhang(irs);
			break;
		case 12:
			arm_fault(in);
			break;
		case 13:
			host_fault_disarm();
			break;
		default:
			/* A full VPE doorbell request pointing at one of ours. */
			val = FIELD_PREP(GICV5_IRS_VPE_DBR_INTID, my_lpi[u8(in) & 1]) |
			      FIELD_PREP(GICV5_IRS_VPE_DBR_DBPM, u8(in)) |
			      GICV5_IRS_VPE_DBR_REQ_DB | GICV5_IRS_VPE_DBR_DBV;
			gicv5_irs_write(irs, GICV5_IRS_VPE_SELR,
					FIELD_PREP(GICV5_IRS_VPE_SELR_VM_ID, u8(in) & 7) |
					FIELD_PREP(GICV5_IRS_VPE_SELR_VPE_ID, u8(in) & 7), 8);
			gicv5_irs_write(irs, GICV5_IRS_VPE_DBR, val, 8);
			break;
		}

		for (unsigned int i = 0; i < 5; i++)
			CHECK(gicv5_irs_read(irs, GICV5_IRS_IDR0 + 4 * i, 4) == idr[i],
			      "IDR%u changed", i);
		if (!latency && !gicv5_irs_hung(irs))
			for (unsigned int i = 0; i < ARRAY_SIZE(statusrs); i++)
				CHECK(gicv5_irs_read(irs, statusrs[i], 4) & GICV5_IRS_STATUSR_IDLE,
				      "STATUSR 0x%x not IDLE with no latency and no hang",
				      statusrs[i]);
		gicv5_irs_get_stats(irs, &st);
		CHECK(st.faulted <= st.commands, "%llu faulted of %llu commands",
		      (unsigned long long)st.faulted, (unsigned long long)st.commands);
	}
	host_fault_disarm();
	if (gicv5_irs_hung(irs))
		gicv5_irs_unhang(irs);
}

/* ---- vgic_v5 lifecycle mode ------------------------------------------- */

#define MAX_VMS		3
#define MAX_VCPUS	6

static uint64_t count_valid_vmtes(struct vgic_v5_host *h)
{
	struct vgic_v5_host_info hi;
	uint64_t n = 0;

	vgic_v5_host_info(h, &hi);
	for (uint32_t id = 0; id < (1U << hi.vm_id_bits); id++) {
		uint64_t *vmte = vgic_v5_vmte(h, id);

		if (vmte && (vmte[0] & GICV5_VMTEL2E_VALID))
			n++;
	}
	return n;
}

static void release(struct gicv5_irs *irs)
{
	if (gicv5_irs_hung(irs))
		gicv5_irs_unhang(irs);
}

static void lifecycle_mode(struct input *in, struct gicv5_irs *irs, uint8_t mode)
{
	/* 3..6 VM ID bits: room for 3 VMs, and a table that is quick to scan. */
	struct vgic_v5_host_opts o = { .two_level = mode & 1, .poll_budget = 64,
				       .vm_id_bits = 3 + ((mode >> 5) & 3) };
	struct vgic_v5_host *h = NULL;
	struct id_space *ids;
	struct vm *vms[MAX_VMS] = { 0 };
	unsigned int nr_vms = 1 + (mode >> 1) % MAX_VMS, failed_teardowns = 0;
	unsigned int ops = 0;
	int r;

	host_fault_reset();
	if (mode & 0x10)
		arm_fault(in);
	r = vgic_v5_probe(irs, &o, &h);
	if (r) {
		host_fault_disarm();
		release(irs);
		vgic_v5_reclaim();
		r = vgic_v5_probe(irs, &o, &h);
		CHECK(!r, "probe after recovery: %d", r);
	}
	for (unsigned int v = 0; v < nr_vms; v++) {
		struct vm_config cfg = { .arch = VM_ARCH_GICV5, .gicv5.host = h };
		uint8_t b = u8(in);
		uint32_t nr = 1 + b % MAX_VCPUS, stride = 1 + (b >> 4) % 3;

		if (vm_create(&cfg, &vms[v]))
			continue;
		for (uint32_t i = 0; i < nr; i++)
			if (vcpu_create(vms[v], i * stride, NULL))
				break;
		r = vgic_v5_init(vms[v]);
		if (r) {
			uint32_t vm_id = vgic_v5_vm_id(vms[v]);

			if (gicv5_irs_hung(irs)) {
				CHECK(vm_id, "VM ID released while the IRS was busy");
				release(irs);
				failed_teardowns++;
			} else if (r != -ENODEV) {
				CHECK(!vm_id, "failed init (%d) kept VM ID %u", r, vm_id);
			}
		}
	}

	while (in->n && ops++ < 512) {
		uint8_t op = u8(in);
		struct vm *vm = vms[u8(in) % nr_vms];
		struct vcpu *vcpu;
		uint16_t vm_id;

		if (!vm || !vm_nr_vcpus(vm))
			continue;
		vm_id = (uint16_t)vgic_v5_vm_id(vm);
		vcpu = vm_get_vcpu(vm, u8(in) % vm_nr_vcpus(vm));
		switch (op & 7) {
		case 0:
			if (!vcpu->loaded)
				vcpu_load(vcpu, u8(in) % 64);
			else
				vcpu_put(vcpu);
			break;
		case 1:
			/* Into WFI: blocking put requests a doorbell. */
			if (vcpu->loaded && !vcpu->blocking) {
				vcpu_blocking(vcpu);
				vcpu_put(vcpu);
			} else if (vcpu->blocking) {
				if (!vcpu->loaded)
					vcpu_load(vcpu, u8(in) % 64);
				vcpu_unblocking(vcpu);
				(void)vgic_v5_take_doorbell(vcpu);
			}
			break;
		case 2:
			vgic_v5_set_vcpu_if(vcpu, op & 8, u8(in), u8(in));
			(void)vgic_v5_doorbell_dbpm(vcpu);
			break;
		case 3: {
			unsigned int type = (op & 8) ? GICV5_HWIRQ_TYPE_SPI : GICV5_HWIRQ_TYPE_LPI;
			uint32_t id = u8(in);

			r = gicv5_irs_vint_config(irs, vm_id, type, id, op & 0x10,
						  u8(in), (uint16_t)vcpu->vcpu_id);
			check_results(r, "vint_config");
			r = gicv5_irs_inject(irs, vm_id, type, id);
			check_results(r, "inject");
			break;
		}
		case 4:
			if (vcpu->loaded && vcpu->cpu >= 0) {
				r = gicv5_pe_ack(irs, (unsigned int)vcpu->cpu);
				if (r >= 0)
					CHECK(gicv5_pe_eoi(irs, (unsigned int)vcpu->cpu, (uint32_t)r) == 0,
					      "EOI after ack of 0x%x", (uint32_t)r);
			}
			break;
		case 5:
			arm_fault(in);
			break;
		case 6:
			host_fault_disarm();
			release(irs);
			break;
		default:
			gicv5_irs_set_latency(irs, u8(in) & 3);
			break;
		}
	}

	host_fault_disarm();
	release(irs);
	gicv5_irs_set_latency(irs, 0);
	for (unsigned int v = 0; v < nr_vms; v++) {
		if (!vms[v])
			continue;
		for (uint32_t i = 0; i < vm_nr_vcpus(vms[v]); i++) {
			struct vcpu *vcpu = vm_get_vcpu(vms[v], i);

			if (vcpu->blocking)
				vcpu_unblocking(vcpu);
			vcpu_put(vcpu);
		}
		r = vgic_v5_teardown(vms[v]);
		if (r) {
			failed_teardowns++;
			release(irs);
			r = vgic_v5_teardown(vms[v]);
			CHECK(!r, "teardown after recovery: %d", r);
		}
		vm_destroy(vms[v]);
	}
	CHECK(!count_valid_vmtes(h), "%llu VMTE(s) VALID after destroy",
	      (unsigned long long)count_valid_vmtes(h));
	ids = vgic_v5_host_ids(h);
	CHECK(id_space_used(ids) == id_space_retired(ids),
	      "%u VM IDs live after destroy", id_space_used(ids) - id_space_retired(ids));
	CHECK(id_space_retired(ids) <= failed_teardowns, "%u IDs retired, %u failed teardowns",
	      id_space_retired(ids), failed_teardowns);
	r = vgic_v5_remove(h);
	CHECK(!r, "remove: %d", r);
	CHECK(vgic_v5_reclaim() == 0, "quarantined VM tables left");
}

/* ---- driver --------------------------------------------------------------- */

static struct host_mem_stats baseline;
static uint32_t baseline_lpis;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	for (unsigned int i = 0; i < POOL_RUNS; i++)
		if (!(pool[i] = host_pages_alloc(HOST_TAG_MISC, POOL_ORDER, "fuzz.pool")))
			abort();
	for (unsigned int i = 0; i < FUZZ_LPIS; i++)
		if (host_lpi_alloc(&my_lpi[i]) || host_lpi_request(my_lpi[i], lpi_handler, NULL))
			abort();
	baseline = host_mem_stats(HOST_TAG_NR);
	baseline_lpis = host_lpi_outstanding();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct gicv5_irs_config cfg;
	struct gicv5_irs *irs;
	struct host_mem_stats st;
	uint8_t mode = u8(&in), c = u8(&in);

	for (unsigned int i = 0; i < POOL_RUNS; i++)
		memset(pool[i], 0, POOL_BYTES);
	gicv5_irs_default_config(&cfg);
	if (!(mode & 0x80)) {
		/* Vary the IDs and sizes the raw mode meets. */
		cfg.vm_id_bits = 1 + c % 16;
		cfg.vmt_levels = c & 0x10;
		cfg.vmd = c & 0x20;
		cfg.vmd_sz = 3 + (mode >> 4) % 10;
		cfg.vped_sz = 4 + mode % 9;
		cfg.vpe_id_bits = 1 + (c >> 4) % 15;
		cfg.priority_bits = 1 + (mode >> 2) % 5;
		cfg.nr_pes = 1 + (c >> 6) * 3;
	}
	if (gicv5_irs_create(&cfg, &irs)) {
		fprintf(stderr, "fuzz_irs: IRS configuration refused\n");
		abort();
	}
	if (mode & 0x80)
		lifecycle_mode(&in, irs, mode);
	else
		raw_mode(&in, irs, &cfg);
	gicv5_irs_destroy(irs);
	host_fault_reset();

	st = host_mem_stats(HOST_TAG_NR);
	CHECK(st.pages == baseline.pages && st.bytes == baseline.bytes,
	      "%lld pages, %lld bytes more than before the input",
	      (long long)(st.pages - baseline.pages), (long long)(st.bytes - baseline.bytes));
	CHECK(host_lpi_outstanding() == baseline_lpis, "%u host LPIs more than before",
	      host_lpi_outstanding() - baseline_lpis);
	return 0;
}
