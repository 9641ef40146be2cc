/* SPDX-License-Identifier: MIT */
/*
 * hw/amd_iommu.c: the software AMD IOMMU, guest-virtual-APIC part only.
 * Device interrupts are remapped through 128-bit IRTEs in memory and,
 * for guest-mode IRTEs, posted into the vAPIC backing page the IRTE
 * points at, followed by a doorbell (IsRun = 1) or a GA log entry plus
 * GA log interrupt (IsRun = 0, GALogIntr = 1).  Layouts are in
 * <vintc/amd_iommu_defs.h>; the model sees only memory (through
 * host_va()) and its own registers.
 */
#ifndef VINTC_AMD_IOMMU_H
#define VINTC_AMD_IOMMU_H

#include <stdint.h>

#include <vintc/amd_iommu_defs.h>

struct amd_iommu;

/* 0 or -ENOMEM.  All registers start at 0: nothing enabled. */
int amd_iommu_create(struct amd_iommu **out);
void amd_iommu_destroy(struct amd_iommu *iommu);

/*
 * 64-bit MMIO access to CONTROL, STATUS, GA_LOG_BASE, GA_LOG_HEAD and
 * GA_LOG_TAIL.  Other offsets read as 0 and ignore writes.  STATUS:
 * GALogRun is read-only, GALOverflow and GAInt are write-1-to-clear.
 */
uint64_t amd_iommu_read64(struct amd_iommu *iommu, uint32_t offset);
void amd_iommu_write64(struct amd_iommu *iommu, uint32_t offset, uint64_t val);

/*
 * Stand-in for the device table entry's interrupt remapping fields:
 * device devid's table is at irt_pa and holds nr_entries IRTEs (1..512).
 * nr_entries == 0 removes it.  -EINVAL for a bad size or unaligned PA.
 */
int amd_iommu_set_irt(struct amd_iommu *iommu, uint16_t devid, uint64_t irt_pa,
		      uint32_t nr_entries);

/*
 * The GA log interrupt: called, outside every model lock, once per GA log
 * entry written and once when the log overflows, while GAINT_EN is set.
 * The handler may access the registers.  fn NULL detaches it.
 */
typedef void (*amd_iommu_ga_log_fn)(struct amd_iommu *iommu, void *arg);
void amd_iommu_set_ga_log_handler(struct amd_iommu *iommu, amd_iommu_ga_log_fn fn,
				  void *arg);

/*
 * Device devid signals the interrupt its IRTE `index` describes.
 *   0        remapped (non-guest IRTE, counted only) or posted to the IRR
 *   -ENODEV  no remapping table for devid
 *   -ENOENT  index beyond the table, or IRTE not valid
 *   -EFAULT  the IRTE, or a guest-mode ga_root_ptr, does not translate
 *   -EOPNOTSUPP  GA_EN clear: 32-bit IRTEs, which the model does not read
 * A GA log entry lost to a stopped or full log still returns 0: the
 * vector is in the IRR, only the wake-up is lost (as on silicon).
 */
int amd_iommu_device_interrupt(struct amd_iommu *iommu, uint16_t devid, uint32_t index);

/*
 * The IRTE cache.  An interrupt reads its IRTE when it is remapped and
 * keeps using that copy's ga_root_ptr and vector until its posting is
 * complete: IRR set, IsRun re-read, doorbell rung or GA log entry
 * written.  That copy is the only IRTE state the model caches (it caches
 * nothing between interrupts), but it is enough to make an IRTE change
 * incomplete until the hypervisor has flushed it, as on silicon:
 *
 *   write the IRTE; INVALIDATE_INTERRUPT_TABLE(devid); COMPLETION_WAIT
 *
 * and only then may the old backing page or GA tag go away.  Destination,
 * IsRun, GATag and GALogIntr are re-read for every posting (reference
 * 6.1: not cached), so load/put need no flush.
 *
 * amd_iommu_invalidate_irt() is the INVALIDATE_INTERRUPT_TABLE command for
 * DeviceID devid: 0, or -EINVAL for a devid beyond the 16-bit DeviceID.
 * amd_iommu_completion_wait() is COMPLETION_WAIT: it returns once every
 * interrupt that was being remapped when it was issued has completed its
 * posting, so none can still hold an IRTE copy from before an earlier
 * invalidation.  (The model waits for every device's interrupts, which
 * covers the invalidated ones.)  It sleeps: call it with no lock held that
 * a doorbell handler takes.  The GA log interrupt (the handler) is raised
 * after the posting completes and is not waited for.
 */
int amd_iommu_invalidate_irt(struct amd_iommu *iommu, uint32_t devid);
void amd_iommu_completion_wait(struct amd_iommu *iommu);

/*
 * Test hook: fn(iommu, devid, index, arg) is called in the middle of every
 * guest-mode posting (IRTE read and its backing page translated, IRR not
 * yet written), inside the window a completion wait waits for.  fn NULL
 * detaches it.
 */
typedef void (*amd_iommu_posting_hook_fn)(struct amd_iommu *iommu, uint16_t devid,
					  uint32_t index, void *arg);
void amd_iommu_set_posting_hook(struct amd_iommu *iommu, amd_iommu_posting_hook_fn fn,
				void *arg);

struct amd_iommu_stats {
	uint64_t interrupts;		/* every amd_iommu_device_interrupt() */
	uint64_t no_table;		/* -ENODEV */
	uint64_t not_valid;		/* -ENOENT */
	uint64_t io_page_faults;	/* of those, the ones with NoFault clear */
	uint64_t unsupported;		/* -EOPNOTSUPP */
	uint64_t remapped;		/* valid, not guest mode: not modelled further */
	uint64_t bad_address;		/* -EFAULT: IRT or ga_root_ptr untranslatable */
	uint64_t irr_set;		/* posted into a backing page */
	uint64_t irr_merged;		/* ...onto a vector already pending there */
	uint64_t doorbells;		/* IsRun = 1 */
	uint64_t irr_only;		/* IsRun = 0, GALogIntr = 0 */
	uint64_t ga_log_entries;	/* entries written */
	uint64_t ga_log_dropped;	/* GALogIntr = 1 but the log is not running */
	uint64_t ga_log_overflows;	/* entries that found the log full */
	uint64_t ga_log_irqs;		/* handler calls */
	uint64_t irt_invalidations;	/* INVALIDATE_INTERRUPT_TABLE commands */
	uint64_t completion_waits;	/* COMPLETION_WAIT commands */
	uint64_t completion_stalls;	/* ...that found an interrupt in flight */
};

void amd_iommu_get_stats(struct amd_iommu *iommu, struct amd_iommu_stats *st);

#endif
