// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: IOMMU posted interrupts, the AMD IOMMU model
 * (hw/amd_iommu.c) under the hypervisor's IRTE and GA-log code
 * (hyp/avic_iommu.c), in an AVIC VM of 1..4 vCPUs.
 *
 * Byte 0 picks the vCPU count and the size of device 0's remapping table;
 * then operations: attach an IRTE (any index, any vector) to a vCPU,
 * detach it, detach all of a vCPU's, write garbage into an IRTE that no
 * vCPU owns (any ga_root_ptr, tag, bits), a device interrupt through any
 * device and index, vCPU load/put/blocking/unblocking, GA-log interrupt
 * masking (GAINT_EN) and stopping (GALOG_EN), a direct notifier run, head
 * register writes, and resizing or removing the remapping table.
 *
 * Invariants, after every operation:
 *   - each attached IRTE is Valid, GuestMode, has the vector it was given,
 *     ga_root_ptr = its vCPU's backing page, GA tag = the vCPU's tag,
 *     IsRun = the vCPU is loaded and not blocking, GALogIntr = the vCPU is
 *     blocking, and the destination of the CPU it last ran on;
 *   - a detached IRTE reads all zero (until the input writes it again);
 *   - avic_irte_count() agrees with the attachments made;
 *   - attach returns -EINVAL exactly for vectors below 16;
 *   - a device interrupt through an attached, in-table IRTE returns 0 and
 *     leaves the vector in the vCPU's IRR; other results are documented ones;
 *   - no wake-up is lost: every blocking vCPU that got a posted interrupt
 *     is woken, once the GA-log interrupt is unmasked again (by the entry,
 *     or by the overflow restart's wake-everyone callback), unless the
 *     input stopped the log itself (then the loss is the documented one).
 * After the input: everything detached and destroyed, no page or byte
 * outstanding.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vintc/amd_defs.h>
#include <vintc/amd_iommu.h>
#include <vintc/avic.h>
#include <vintc/host.h>
#include <vintc/vm.h>

#define FUZZ_NAME "fuzz_iommu"
#include "fuzz_util.h"



#define MAX_VCPUS	4
#define NR_IRTE		AMD_IRTE_MAX_ENTRIES

struct vshadow {
	bool loaded, blocking;
	int cpu;			/* last load, -1: never */
	int run_cpu;			/* last load that ran (not blocking), -1: never */
	unsigned int nr_irtes;
	bool owed;			/* blocked with a posted interrupt: must be woken */
	uint32_t seq;			/* wake_seq when owed was set */
};

struct ishadow {
	int owner;			/* vCPU index, -1: none */
	uint8_t vector;
	bool clear;			/* detached and not written since: must read 0 */
};

static struct vm *vm;
static struct vcpu *vcpus[MAX_VCPUS];
static uint32_t nr;
static struct vshadow vs[MAX_VCPUS];
static struct ishadow is[NR_IRTE];
static uint64_t overflow_calls;

/* The overflow callback: wake every blocked vCPU, as the header advises. */
static void on_overflow(void *arg)
{
	(void)arg;
	overflow_calls++;
	for (uint32_t i = 0; i < nr; i++)
		if (vs[i].blocking)
			vcpu_wake(vcpus[i]);
}

static void check_irte(uint64_t *irt, uint32_t idx)
{
	uint64_t lo = irt[2 * idx], hi = irt[2 * idx + 1];
	const struct ishadow *s = &is[idx];

	if (s->owner < 0) {
		if (s->clear)
			CHECK(!lo && !hi, "detached IRTE %u = %016llx:%016llx", idx,
			      (unsigned long long)hi, (unsigned long long)lo);
		return;
	}
	{
		struct vcpu *vcpu = vcpus[s->owner];
		uint64_t backing_pa = avic_vcpu_backing_pa(vcpu);
		const struct vshadow *o = &vs[s->owner];
		bool run = o->loaded && !o->blocking;

		CHECK((lo & AMD_IRTE_LO_VALID) && (lo & AMD_IRTE_LO_GUEST_MODE),
		      "IRTE %u lo %016llx not valid guest mode", idx, (unsigned long long)lo);
		CHECK(FIELD_GET(AMD_IRTE_HI_VECTOR, hi) == s->vector, "IRTE %u vector %llu, want %u",
		      idx, (unsigned long long)FIELD_GET(AMD_IRTE_HI_VECTOR, hi), s->vector);
		CHECK(amd_irte_backing_pa(hi) == backing_pa, "IRTE %u root %llx, backing %llx",
		      idx, (unsigned long long)amd_irte_backing_pa(hi),
		      (unsigned long long)backing_pa);
		CHECK(FIELD_GET(AMD_IRTE_LO_GA_TAG, lo) == avic_vcpu_gatag(vcpu),
		      "IRTE %u tag %llx, vCPU tag %x", idx,
		      (unsigned long long)FIELD_GET(AMD_IRTE_LO_GA_TAG, lo), avic_vcpu_gatag(vcpu));
		CHECK(!!(lo & AMD_IRTE_LO_IS_RUN) == run, "IRTE %u IsRun %d, vCPU %d loaded %d blocking %d",
		      idx, !!(lo & AMD_IRTE_LO_IS_RUN), s->owner, o->loaded, o->blocking);
		CHECK(!!(lo & AMD_IRTE_LO_GA_LOG_INTR) == (o->blocking && o->cpu >= 0),
		      "IRTE %u GALogIntr %d, vCPU %d blocking %d", idx,
		      !!(lo & AMD_IRTE_LO_GA_LOG_INTR), s->owner, o->blocking);
		if (o->run_cpu >= 0)
			CHECK(amd_irte_dest(lo, hi) == (uint32_t)host_cpu_apic_id(o->run_cpu),
			      "IRTE %u destination %u, vCPU last ran on CPU %d", idx,
			      amd_irte_dest(lo, hi), o->run_cpu);
	}
}

static bool irr_has(struct vcpu *vcpu, uint8_t vec)
{
	return *apic_reg(avic_vcpu_backing(vcpu), APIC_VECTOR_WORD(APIC_IRR, vec)) &
	       (1U << (vec & 31));
}

static void vcpu_do_load(uint32_t i, int cpu)
{
	CHECK(vcpu_load(vcpus[i], cpu) == 0, "vcpu_load");
	vs[i].loaded = true;
	vs[i].cpu = cpu;
	/* Loaded while blocking (preempted in the halt loop): not running. */
	if (!vs[i].blocking) {
		vs[i].run_cpu = cpu;
		vcpu_set_mode(vcpus[i], VCPU_IN_GUEST_MODE);
	}
}

static struct host_mem_stats baseline;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct vm_config cfg = { .arch = VM_ARCH_AVIC, .max_vcpus = 1, .max_vcpu_ids = 1 };
	struct vm *v;

	(void)argc;
	(void)argv;
	/* Process-wide state (the VM ID space) first. */
	if (vm_create(&cfg, &v) || vcpu_create(v, 0, NULL))
		abort();
	vm_destroy(v);
	baseline = host_mem_stats(HOST_TAG_NR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vm_config cfg = { .arch = VM_ARCH_AVIC, .avic.model = AVIC_MODEL_XAVIC };
	struct input in = { data, size };
	uint8_t b0 = u8(&in);
	uint32_t irt_entries = 1 + (uint32_t)u8(&in) * 2;	/* 1..511 */
	struct amd_iommu *iommu;
	struct avic_ga_log *log;
	struct host_mem_stats st;
	bool log_stopped = false, gaint_masked = false, table = true;
	unsigned int ops = 0;
	uint64_t *irt;

	nr = 1 + b0 % MAX_VCPUS;
	cfg.max_vcpus = nr;
	memset(vs, 0, sizeof(vs));
	for (uint32_t i = 0; i < NR_IRTE; i++)
		is[i] = (struct ishadow){ .owner = -1 };
	CHECK(!vm_create(&cfg, &vm), "vm_create");
	for (uint32_t i = 0; i < nr; i++) {
		CHECK(!vcpu_create(vm, i, &vcpus[i]), "vcpu_create");
		vs[i].cpu = -1;
		vs[i].run_cpu = -1;
	}
	CHECK(!amd_iommu_create(&iommu), "amd_iommu_create");
	CHECK(!avic_ga_log_init_cb(iommu, NULL, on_overflow, NULL, &log), "ga log init");
	irt = host_pages_alloc(HOST_TAG_MISC, 1, "fuzz.irt");	/* 8 KiB: 512 IRTEs */
	CHECK(irt, "IRT page");
	CHECK(!amd_iommu_set_irt(iommu, 0, host_pa(irt), irt_entries), "set_irt");

	while (in.n && ops++ < 2048) {
		uint8_t op = u8(&in);
		uint32_t i = u8(&in) % nr;
		uint32_t idx = u16(&in) % NR_IRTE;
		struct vcpu *vcpu = vcpus[i];
		int r;

		switch (op & 0xF) {
		case 0: case 1: {
			uint8_t vec = u8(&in);

			/* An IRTE has one owner: move it the documented way. */
			if (is[idx].owner >= 0 && (uint32_t)is[idx].owner != i) {
				avic_irte_detach(vcpus[is[idx].owner], &irt[2 * idx]);
				vs[is[idx].owner].nr_irtes--;
				is[idx].owner = -1;
				is[idx].clear = true;
			}
			r = avic_irte_attach(vcpu, &irt[2 * idx], vec);
			CHECK(r == (vec < 16 ? -EINVAL : 0), "attach vector %u: %d", vec, r);
			if (!r) {
				if (is[idx].owner < 0)
					vs[i].nr_irtes++;
				is[idx].owner = (int)i;
				is[idx].vector = vec;
				is[idx].clear = false;
			}
			break;
		}
		case 2:
			if (is[idx].owner >= 0) {
				avic_irte_detach(vcpus[is[idx].owner], &irt[2 * idx]);
				vs[is[idx].owner].nr_irtes--;
				is[idx].owner = -1;
				is[idx].clear = true;
			} else {
				/* Not attached there: nothing happens. */
				avic_irte_detach(vcpu, &irt[2 * idx]);
			}
			break;
		case 3:
			avic_irte_detach_all(vcpu);
			for (uint32_t j = 0; j < NR_IRTE; j++)
				if (is[j].owner == (int)i) {
					is[j].owner = -1;
					is[j].clear = true;
				}
			vs[i].nr_irtes = 0;
			break;
		case 4:
			/* Garbage in an IRTE nobody owns, sometimes aimed at a backing page. */
			if (is[idx].owner < 0) {
				uint64_t lo = u64(&in), hi = u64(&in);

				if (op & 0x10)
					hi = (hi & ~AMD_IRTE_HI_GA_ROOT_PTR) |
					     amd_irte_hi_root(avic_vcpu_backing_pa(vcpu));
				irt[2 * idx + 1] = hi;
				irt[2 * idx] = lo;
				is[idx].clear = false;
			}
			break;
		case 5: case 6: case 12: case 13: case 14: case 15: {
			uint16_t devid = (op & 0x20) ? u16(&in) : 0;
			int owner = is[idx].owner;
			bool blocked_before = owner >= 0 && vs[owner].blocking;
			uint32_t seq = owner >= 0 ? vcpus[owner]->wake_seq : 0;

			r = amd_iommu_device_interrupt(iommu, devid, idx);
			CHECK(r == 0 || r == -ENODEV || r == -ENOENT || r == -EFAULT ||
			      r == -EOPNOTSUPP, "device interrupt: %d", r);
			if (devid == 0 && owner >= 0 && table && idx < irt_entries) {
				CHECK(r == 0, "interrupt through attached IRTE %u: %d", idx, r);
				CHECK(irr_has(vcpus[owner], is[idx].vector),
				      "vector %u not in vCPU %d's IRR", is[idx].vector, owner);
				if (blocked_before && vs[owner].cpu >= 0 && !vs[owner].owed) {
					vs[owner].owed = true;
					vs[owner].seq = seq;
				}
			}
			break;
		}
		case 7:
			if (!vs[i].loaded) {
				/* While blocking: preempted in the halt loop, back again. */
				vcpu_do_load(i, u8(&in) % 64);
			} else {
				vcpu_set_mode(vcpu, VCPU_OUTSIDE_GUEST_MODE);
				vcpu_put(vcpu);
				vs[i].loaded = false;
			}
			break;
		case 8:
			if (!vs[i].loaded)
				break;
			if (!vs[i].blocking) {
				vcpu_set_mode(vcpu, VCPU_OUTSIDE_GUEST_MODE);
				vcpu_blocking(vcpu);
				vs[i].blocking = true;
				vs[i].owed = false;
			} else {
				vcpu_unblocking(vcpu);
				vs[i].blocking = false;
				vs[i].owed = false;
				vs[i].run_cpu = vs[i].cpu;
				vcpu_set_mode(vcpu, VCPU_IN_GUEST_MODE);
			}
			break;
		case 9: {
			uint64_t ctl = amd_iommu_read64(iommu, AMD_IOMMU_MMIO_CONTROL);

			if (op & 0x10) {
				ctl ^= AMD_IOMMU_CONTROL_GAINT_EN;
				gaint_masked = !(ctl & AMD_IOMMU_CONTROL_GAINT_EN);
			} else if (op & 0x20) {
				ctl &= ~AMD_IOMMU_CONTROL_GALOG_EN;
				log_stopped = true;
			}
			amd_iommu_write64(iommu, AMD_IOMMU_MMIO_CONTROL, ctl);
			if (!gaint_masked)
				avic_ga_log_process(log);
			break;
		}
		case 10:
			if (op & 0x10)
				amd_iommu_write64(iommu, AMD_IOMMU_MMIO_GA_LOG_HEAD, u64(&in));
			else
				(void)amd_iommu_read64(iommu, (uint32_t)u16(&in) & ~7U);
			log_stopped = log_stopped || (op & 0x10);
			break;
		default:	/* 11 */
			if (op & 0x10) {
				table = false;
				amd_iommu_set_irt(iommu, 0, 0, 0);
			} else {
				uint32_t n = 1 + u16(&in) % NR_IRTE;

				CHECK(!amd_iommu_set_irt(iommu, 0, host_pa(irt), n), "set_irt %u", n);
				irt_entries = n;
				table = true;
			}
			break;
		}

		for (uint32_t j = 0; j < nr; j++)
			CHECK(avic_irte_count(vcpus[j]) == vs[j].nr_irtes, "vCPU %u has %u IRTEs, want %u",
			      j, avic_irte_count(vcpus[j]), vs[j].nr_irtes);
		for (uint32_t j = 0; j < NR_IRTE; j++)
			check_irte(irt, j);
	}

	/* Unmask the GA-log interrupt, let the notifier run: every owed wake-up arrives. */
	if (gaint_masked) {
		amd_iommu_write64(iommu, AMD_IOMMU_MMIO_CONTROL,
				  amd_iommu_read64(iommu, AMD_IOMMU_MMIO_CONTROL) |
				  AMD_IOMMU_CONTROL_GAINT_EN);
	}
	avic_ga_log_process(log);
	if (!log_stopped)
		for (uint32_t j = 0; j < nr; j++)
			if (vs[j].owed && vs[j].blocking)
				CHECK(vcpus[j]->wake_seq != vs[j].seq,
				      "vCPU %u blocked with a posted interrupt was never woken", j);

	for (uint32_t j = 0; j < nr; j++) {
		if (vs[j].blocking)
			vcpu_unblocking(vcpus[j]);
		vcpu_put(vcpus[j]);
	}
	avic_ga_log_destroy(log);
	vm_destroy(vm);		/* detaches every IRTE */
	for (uint32_t j = 0; j < NR_IRTE; j++)
		if (is[j].owner >= 0)
			CHECK(!irt[2 * j] && !irt[2 * j + 1], "IRTE %u left after destroy", j);
	amd_iommu_destroy(iommu);
	host_pages_free(irt);
	st = host_mem_stats(HOST_TAG_NR);
	CHECK(st.pages == baseline.pages && st.bytes == baseline.bytes,
	      "%lld pages, %lld bytes more than before the input",
	      (long long)(st.pages - baseline.pages), (long long)(st.bytes - baseline.bytes));
	return 0;
}
