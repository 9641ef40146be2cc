/* SPDX-License-Identifier: MIT */
/*
 * The hypervisor side of AMD AVIC.  hyp/avic.c: per-VM physical and
 * logical APIC ID tables and a VM ID (GA-tag lookup) made at vCPU
 * pre-creation; per-vCPU backing page and physical-table entry kept in
 * step with load/put/blocking.  hyp/avic_exit.c: the exits and the
 * engines' ICR and register paths.  hyp/avic_iommu.c: IOMMU posted
 * interrupts and the GA log.
 */
#ifndef VINTC_AVIC_H
#define VINTC_AVIC_H

#include <vintc/amd_defs.h>
#include <vintc/idalloc.h>
#include <vintc/vm.h>

enum avic_inhibit {
	AVIC_INHIBIT_DISABLED,
	AVIC_INHIBIT_ABSENT,
	AVIC_INHIBIT_HYPERV,
	AVIC_INHIBIT_NESTED,
	AVIC_INHIBIT_IRQWIN,
	AVIC_INHIBIT_PIT_REINJ,
	AVIC_INHIBIT_BLOCKIRQ,
	AVIC_INHIBIT_SEV,
	AVIC_INHIBIT_PHYSICAL_ID_ALIASED,
	AVIC_INHIBIT_APIC_ID_MODIFIED,
	AVIC_INHIBIT_APIC_BASE_MODIFIED,
	AVIC_INHIBIT_LOGICAL_ID_ALIASED,
	AVIC_INHIBIT_PHYSICAL_ID_TOO_BIG,
	AVIC_INHIBIT_NR
};

/*
 * The backend's per-VM and per-vCPU state is private to hyp/
 * (hyp/avic_priv.h); the accessors below give engines and tools what they
 * read of it.
 */

const char *avic_inhibit_name(enum avic_inhibit reason);
/* The process-wide 20-bit VM ID space, or NULL if it cannot be made. */
struct id_space *avic_global_ids(void);
/* Largest guest physical APIC ID the CPU model accelerates. */
uint32_t avic_model_max_id(enum avic_model model);

void avic_set_inhibit(struct vm *vm, enum avic_inhibit reason);
void avic_clear_inhibit(struct vm *vm, enum avic_inhibit reason);
uint64_t avic_inhibits(struct vm *vm);
bool avic_apicv_active(struct vm *vm);

/* The logical APIC ID table: one 4 KiB page of u32 entries. */
#define AVIC_LOGICAL_TABLE_ENTRIES	1024U

struct avic_vm_info {
	uint32_t vm_id;			/* 0: none (not hashed, or pre-destroyed) */
	struct id_space *ids;		/* the space the VM ID comes from */
	uint64_t physical_table_pa;	/* 0: not allocated yet */
	uint32_t physical_entries;	/* entries it holds: max ID + 1, 0 without */
	uint32_t physical_max_id;	/* highest index the table holds */
	uint64_t logical_table_pa;	/* 0: not allocated yet */
};

void avic_vm_info(struct vm *vm, struct avic_vm_info *info);
/*
 * Entry `index` of the physical (u64) or logical (u32) APIC ID table, as
 * the silicon reads it; 0 past the end or before the table exists.
 */
uint64_t avic_vm_physical_entry(struct vm *vm, uint32_t index);
uint32_t avic_vm_logical_entry(struct vm *vm, uint32_t index);

/* The vCPU's vAPIC backing page: its APIC registers (<vintc/vlapic.h>). */
void *avic_vcpu_backing(struct vcpu *vcpu);
uint64_t avic_vcpu_backing_pa(struct vcpu *vcpu);
/* The VMCB AVIC fields the silicon model (<vintc/avic_cpu.h>) runs on. */
const struct vmcb_avic_control *avic_vcpu_vmcb(struct vcpu *vcpu);
/* False for a vCPU whose ID is above the table's max index (AVIC inhibited). */
bool avic_vcpu_has_table_entry(struct vcpu *vcpu);
uint32_t avic_vcpu_gatag(struct vcpu *vcpu);
/* The entry as the table holds it right now (0 if the vCPU has none). */
uint64_t avic_vcpu_table_entry(struct vcpu *vcpu);

/*
 * GA-log notifier lookup: tag -> VM -> vCPU.  fn runs under the lookup's
 * read lock, so a VM's pre-destroy (which takes the write lock to unhash)
 * cannot finish while a notifier is still using one of its vCPUs.
 * -ENOENT when the tag names no live VM or vCPU.
 */
int avic_ga_tag_resolve(struct id_space *ids, uint32_t tag,
			void (*fn)(struct vcpu *vcpu, void *arg), void *arg);

/* Trap-like LDR/DFR writes: the new value is already in the backing page. */
void avic_handle_ldr_update(struct vcpu *vcpu);
void avic_handle_dfr_update(struct vcpu *vcpu);
/* Logical-table index for an xAPIC LDR under a DFR model, or -EINVAL. */
int avic_logical_index(uint32_t ldr, uint32_t dfr);
int avic_set_x2apic_mode(struct vcpu *vcpu, bool x2apic);

/*
 * Hypervisor or device -> vCPU: set IRR, full barrier, then doorbell a
 * vCPU in guest mode or vcpu_kick() it.
 */
void avic_deliver(struct vcpu *vcpu, uint8_t vector);
bool avic_vcpu_has_interrupt(struct vcpu *vcpu);

/* Events the software path hands to the engine (non-Fixed IPIs). */
#define AVIC_EVENT_NMI    (1U << 0)
#define AVIC_EVENT_INIT   (1U << 1)
#define AVIC_EVENT_SIPI   (1U << 2)
#define AVIC_EVENT_SMI    (1U << 3)

struct avic_ipi_stats {
	uint64_t by_cause[5];		/* AVIC_IPI_FAILURE_* */
	uint64_t woken, emulated, bad_backing_page, bad_cause;
};

/* Does this vCPU's APIC accept destination `dest` in this mode? */
bool avic_vcpu_match_dest(struct vcpu *vcpu, uint32_t dest, bool logical, bool x2apic);

struct vlapic_icr;

/*
 * An interrupt message from the system bus (an I/O APIC's redirection
 * entry): irq->shorthand is ignored, dest is the 8-bit destination, 0xFF
 * meaning every APIC in either mode (a bus message's broadcast reaches
 * x2APIC-mode APICs too), physical or logical (flat or cluster, each
 * target's LDR and DFR; derived in x2APIC mode).  By delivery mode:
 *   Fixed         each matching software-enabled APIC accepts it: TMR set
 *                 for a level-triggered message, cleared for an edge one
 *                 (SDM 11.8.4), then avic_deliver (IRR, then a doorbell
 *                 or a wake-up), the path of any device interrupt
 *   Lowest Pri.   one of them, the (vector mod n)-th of the n that match,
 *                 as KVM's vector hashing picks; to the physical broadcast
 *                 it is Fixed to all (KVM does the same)
 *   NMI, INIT, SMI  an event (AVIC_EVENT_*) on every matching vCPU
 *   ExtINT, other  nobody: no 8259 output gives a vector
 * A Fixed or Lowest Priority vector below 16 is refused: each target sets
 * ESR "receive illegal vector" (SDM 11.5.3) and nothing is accepted.
 * Returns how many local APICs accepted the message.
 */
int avic_deliver_irq(struct vm *vm, const struct vlapic_icr *irq);
/*
 * The engine's hook for an EOI that ends a level-triggered vector (its
 * TMR bit set): the local APIC broadcasts such an EOI to the I/O APICs
 * (SDM 11.8.5), fn(vcpu, vector, opaque) on the EOI-ing vCPU's thread is
 * how.  NULL: none.  Set before any vCPU of the VM runs.  SVR bit 12
 * (EOI-broadcast suppression, writable where the engine offers it in LVR,
 * vlapic_set_directed_eoi) does not stop the hook: KVM's LAPIC on a split
 * irqchip reports every level EOI to userspace whatever SVR says, and the
 * I/O APIC's EOI register is the guest's other way to end one.
 */
void avic_set_eoi_hook(struct vm *vm, void (*fn)(struct vcpu *vcpu, uint8_t vector, void *opaque),
		       void *opaque);

/*
 * SVM_EXIT_AVIC_INCOMPLETE_IPI on `vcpu` (the sender), trap-like: the ICR
 * is already in its backing page.  Per cause: TARGET_NOT_RUNNING wakes the
 * matching not-running targets (their IRR is set already); INVALID_INT_TYPE
 * and INVALID_TARGET emulate the IPI in software (a second IRR set is
 * harmless); INVALID_IPI_VECTOR sets ESR "send illegal vector" as a real
 * APIC does (KVM ignores it); INVALID_BACKING_PAGE is a hypervisor bug:
 * counted and -EFAULT.  Non-Fixed IPIs become pending events
 * (AVIC_EVENT_*) on their targets for the engine.
 */
int avic_handle_incomplete_ipi(struct vcpu *vcpu, uint64_t exitinfo1, uint64_t exitinfo2,
			       struct avic_ipi_stats *st);
/*
 * SVM_EXIT_AVIC_UNACCELERATED_ACCESS: offset = EXITINFO1 & 0xFF0, write =
 * EXITINFO1 bit 32.  Trap-class registers already hold the written value
 * (RIP advanced): apply the side effects.  Fault-class accesses have not
 * happened: emulate them; a read returns the value in *val, a write takes
 * it from *val.  Offsets 0x400 and up hold no register: reads 0, writes
 * dropped.  -EINVAL for a trap reported on a read (a silicon bug).
 */
int avic_handle_unaccelerated_access(struct vcpu *vcpu, uint64_t exitinfo1, uint32_t *val);
/*
 * Any AVIC #VMEXIT of `vcpu`, whichever engine ran it: exit_code
 * SVM_EXIT_AVIC_INCOMPLETE_IPI goes to avic_handle_incomplete_ipi() (st
 * may be NULL), SVM_EXIT_AVIC_UNACCELERATED_ACCESS to
 * avic_handle_unaccelerated_access() (val as there).  -EINVAL for any
 * other exit code.
 */
int avic_handle_exit(struct vcpu *vcpu, uint64_t exit_code, uint64_t exitinfo1,
		     uint64_t exitinfo2, uint32_t *val, struct avic_ipi_stats *st);

struct avic_cpu_opts;
struct avic_cpu_ipi;

/*
 * The guest on `vcpu` writes ICR = icr (high << 32 | low; the destination
 * in 63:56 in xAPIC mode, 63:32 in x2APIC mode), the whole send path of an
 * engine: the AVIC silicon (avic_cpu_icr_write, with opts) stores it in
 * the backing page and delivers what it accelerates, and its exit, if any,
 * goes to avic_handle_exit().  *out says what the silicon did.
 *
 * With AVIC off for the vCPU (inhibited) the silicon takes no part: the
 * write is an ordinary intercepted APIC write, which the hypervisor
 * stores and emulates; *out then reports no exit.
 *
 * Returns 0 when the silicon processed the write, 1 when the hypervisor
 * emulated it (AVIC off), or the exit handler's negative errno.
 */
int avic_icr_write(struct vcpu *vcpu, uint64_t icr, const struct avic_cpu_opts *opts,
		   struct avic_cpu_ipi *out, struct avic_ipi_stats *st);
/*
 * Any other guest access to APIC register `offset` (16-byte aligned, in
 * the APIC page), the whole path the same way: the silicon
 * (avic_cpu_apic_access) reads or stores what it accelerates, its exit
 * goes to avic_handle_exit().  A read fills *val, a write takes it.  With
 * AVIC off the access is intercepted and the hypervisor does the
 * silicon's part itself.  Returns 0, or -EINVAL (a bad offset, or an ICR
 * write: use avic_icr_write).
 */
int avic_apic_access(struct vcpu *vcpu, unsigned int offset, bool write, uint32_t *val);

/* Pending AVIC_EVENT_* bits of a vCPU, taken (cleared) atomically. */
uint32_t avic_vcpu_take_events(struct vcpu *vcpu, uint8_t *sipi_vector);
/*
 * How many NMIs were posted since the last call (each also sets
 * AVIC_EVENT_NMI), taken atomically: the engine delivers each one.
 */
uint32_t avic_vcpu_take_nmis(struct vcpu *vcpu);
/*
 * Any AVIC_EVENT_* pending?  An acquire load: a true answer orders the
 * poster's earlier stores (e.g. the SIPI vector) before what the caller
 * reads next.  Does not take the events.
 */
bool avic_vcpu_has_events(struct vcpu *vcpu);

/* The backend's whole per-VM teardown: works from any state, twice too. */
void avic_vm_teardown(struct vm *vm);

/* ==== IOMMU posted interrupts (hyp/avic_iommu.c) ========================== */

/*
 * Device interrupts posted by the AMD IOMMU straight into a vCPU's backing
 * page through 128-bit GA-mode IRTEs (<vintc/amd_iommu.h>).  Each vCPU
 * keeps the IRTEs that post to it and rewrites them on every load and put,
 * as ../shared/reference/avic.md section 3.3 says:
 *
 *   load on CPU c   dest = apicid(c), IsRun = 1, GALogIntr = 0
 *   put             IsRun = 0, GALogIntr = 1 only if blocking; dest kept
 *   unblock         = load, so GALogIntr goes back to 0
 *
 * IRTEs are written hi first, then lo with a release store, which is the
 * order the IOMMU model reads them in.
 */

struct amd_iommu;
struct avic_irte;

/*
 * Put the IRTE `irte` (16 bytes in a host page: lo at irte[0], hi at
 * irte[1]), an entry of device devid's interrupt remapping table on
 * iommu, in guest mode posting `vector` to vcpu: Valid, GuestMode,
 * ga_root_ptr = backing page, GA tag = avic_vcpu_gatag(), and destination,
 * IsRun and GALogIntr as the vCPU's last load/put left its other IRTEs,
 * then flush it (INVALIDATE_INTERRUPT_TABLE devid, COMPLETION_WAIT).
 * Attaching an IRTE the vCPU already has only changes the vector.  The
 * IRTE must not be attached to another vCPU: detach it there first.
 * Sleeps for the completion wait: no lock a doorbell handler takes may be
 * held.
 *   -EINVAL  iommu or irte NULL, irte not 16-byte aligned, or vector < 16
 *   -ENODEV  the VM has no VM ID (pre-destroyed): no tag could name it
 *   -ENOMEM  list node allocation failed (fault site "avic.irte")
 */
int avic_irte_attach_iommu(struct vcpu *vcpu, struct amd_iommu *iommu, uint16_t devid,
			   uint64_t *irte, uint8_t vector);
/*
 * The same for an IRTE whose IOMMU is not named: nothing is flushed, so an
 * interrupt in flight may still post to the backing page after a detach.
 * Only for a device that is quiesced before the vCPU is freed.
 */
int avic_irte_attach(struct vcpu *vcpu, uint64_t *irte, uint8_t vector);
/*
 * Take the IRTE out of guest mode (Valid = 0, all of lo cleared) and off
 * the vCPU's list, flush it on its IOMMU (if attached with one), then
 * clear hi: when this returns no interrupt is still posting through the
 * old entry, so the vCPU may be freed.  Not attached: nothing happens.
 * Sleeps, as attach does.
 */
void avic_irte_detach(struct vcpu *vcpu, uint64_t *irte);
/* Every IRTE of the vCPU, flushed the same way; vCPU destruction calls it. */
void avic_irte_detach_all(struct vcpu *vcpu);
/* Number of IRTEs attached to the vCPU. */
unsigned int avic_irte_count(struct vcpu *vcpu);

/*
 * The GA log: one 4 KiB, 512-entry log owned by the hypervisor and bound
 * to one IOMMU, and the GA-log interrupt handler ("notifier") that turns
 * GuestNR entries into vCPU wake-ups.
 */
struct avic_ga_log;

struct avic_ga_log_stats {
	uint64_t irqs;		/* notifier runs (handler calls and direct ones) */
	uint64_t entries;	/* log entries consumed */
	uint64_t woken;		/* GuestNR entries whose tag named a vCPU */
	uint64_t unknown;	/* GuestNR entries whose tag named nothing */
	uint64_t bad_type;	/* entries of any other type: skipped */
	uint64_t restarts;	/* overflow restarts performed */
};

/*
 * Allocate the log page (fault site "avic.ga_log"), point the IOMMU at it
 * (length code 0x8, head = tail = 0), register the notifier as the IOMMU's
 * GA-log interrupt handler and enable GA_EN | GAM_EN | GALOG_EN |
 * GAINT_EN.  Tags are resolved in `ids` (NULL: the process-wide space).
 * -ENOMEM, or -EIO if the IOMMU does not start the log.
 */
int avic_ga_log_init(struct amd_iommu *iommu, struct id_space *ids,
		     struct avic_ga_log **out);
/*
 * The same, with on_overflow(arg) called (outside every lock) after each
 * overflow restart.  The entries dropped while the log was full were
 * wake-ups for vCPUs that are now asleep with their IRR set, and nothing
 * records which: the callback should wake every blocked vCPU that has an
 * IRTE on this IOMMU.
 */
int avic_ga_log_init_cb(struct amd_iommu *iommu, struct id_space *ids,
			void (*on_overflow)(void *arg), void *arg,
			struct avic_ga_log **out);
/*
 * Stop logging and GA-log interrupts, unregister the notifier, free the
 * log.  GA_EN and GAM_EN stay set: guest-mode IRTEs still post to the IRR.
 * The model does not wait for a handler call it has already started, so
 * no device may be interrupting through this IOMMU concurrently.
 */
void avic_ga_log_destroy(struct avic_ga_log *log);
/*
 * The notifier's body, which the GA-log interrupt runs: consume every
 * entry from head to tail (advancing the head register after each), wake
 * the vCPU each GuestNR tag names, then restart the log if it overflowed
 * (reference 6.2).  Returns true when it restarted: entries were lost and
 * blocked vCPUs may have missed a wake-up (on_overflow, if any, has run).
 * Callable directly, e.g. by an engine that polls.
 */
bool avic_ga_log_process(struct avic_ga_log *log);
void avic_ga_log_stats(struct avic_ga_log *log, struct avic_ga_log_stats *st);

#endif
