// SPDX-License-Identifier: MIT
/*
 * The software AMD IOMMU: interrupt remapping with 128-bit GA-mode IRTEs
 * and the GA log, as ../shared/reference/avic.md section 6 describes it.
 *
 * The model keeps only what the silicon keeps in registers (control,
 * status, GA log base/head/tail) plus the per-device table pointer that
 * stands in for the device table entry.  IRTEs, backing pages and the GA
 * log are read and written live through host_va() on every interrupt, so
 * a rewrite by the hypervisor takes effect on the next interrupt with no
 * invalidation, as the reference says for Destination, IsRun, GATag and
 * GALogIntr.
 *
 * What an interrupt already in flight does is another matter: it keeps
 * the IRTE it read (backing page, vector) until its posting is complete.
 * That is the IRTE cache the hypervisor must flush before the old backing
 * page may be freed: INVALIDATE_INTERRUPT_TABLE, then COMPLETION_WAIT,
 * which waits for every posting that was in flight when it was issued.
 * Each interrupt registers in one of two phase counters before it reads
 * the device table and IRTE, and leaves after the doorbell or GA log
 * entry.  A completion wait first lets the other phase drain (left over
 * from an earlier wait), flips the phase, so that new interrupts count
 * elsewhere, and sleeps until the old phase drains: it cannot be starved
 * by a device that keeps interrupting.  The counters are under their own
 * mutex (inflight_lock) and the wait sleeps on a futex with that mutex
 * dropped, so an interrupt never waits for a completion wait, and the
 * mutex orders the hypervisor's IRTE write before every interrupt that
 * registers after the flip.
 *
 * Choices where the reference is silent (hyp/ may rely on them):
 *  - IRTE read order.  The model loads lo (acquire) and then hi, so a
 *    hypervisor that writes hi first and lo last (release, or 64-bit
 *    stores followed by its own ordering) is seen with an hi at least as
 *    new as the lo that is read.  Two 64-bit stores are not one 128-bit
 *    write: an interrupt can still pair an old lo with a new hi.  For an
 *    affinity change that at worst doorbells a stale destination, which is
 *    harmless (the IRR is set and the next VMRUN sees it); switching a
 *    vCPU's backing page needs Valid or GuestMode cleared first.
 *  - After setting the IRR bit the model issues a full barrier and then
 *    reads lo (and hi) again for IsRun, GALogIntr, destination and tag.
 *    This is the device half of the delivery pairing: a hypervisor that
 *    clears IsRun, fences, and re-checks the IRR either sees the bit or
 *    is seen by the re-read.  If the re-read finds the IRTE no longer
 *    valid or in guest mode, the IRR bit stays and nothing else happens.
 *  - GA_EN clear means 32-bit IRTEs, which the model does not read
 *    (-EOPNOTSUPP).  GAM_EN clear makes GuestMode IRTEs act as remapped.
 *    Remapped (non-guest) interrupts are only counted: the model has no
 *    physical-APIC side.  Reserved IRTE bits are ignored.
 *  - An IRTE that is not valid is dropped; with NoFault clear it also
 *    counts as an IO page fault (the event log is not modelled).
 *  - The GA log is 512 entries (length code 0x8); any other code, or a
 *    base that does not translate, keeps the log from running.
 *    GALogRun is set when GALOG_EN goes 0 -> 1 with a valid base and no
 *    overflow pending, and cleared by clearing GALOG_EN or by overflow.
 *    So after an overflow only the reference's restart procedure (clear
 *    GALOG_EN and GAINT_EN, write 1 to GALOverflow, enable both) brings
 *    it back; clearing the status bit alone does not.
 *  - The log is full when tail + 8 == head (mod 4 KiB): one slot stays
 *    empty so that head == tail means empty.  The entry that finds it full
 *    is dropped, GALOverflow is set and GALogRun cleared.
 *  - Head and tail are writable at any time; software is expected to
 *    write tail only while GALOG_EN is clear.
 *  - The GA log interrupt (the registered handler) fires once per entry
 *    written and once on overflow, each while GAINT_EN is set; GAInt is
 *    set by every entry written.  It is called with no model lock held,
 *    so it can read and write the registers.
 */
#include <stdlib.h>

#include <vintc/amd_defs.h>
#include <vintc/amd_iommu.h>

#define AMD_IOMMU_NR_DEVICES 65536U

struct amd_iommu_dte {
	uint64_t irt_pa;
	uint32_t nr_entries;	/* 0: no table */
};

/* DeviceID is 16 bits: the device table has one entry for each. */
#define AMD_IOMMU_DEVID_MAX  0xFFFFU

/* A completion wait re-checks at least this often (a backstop, not a clock). */
#define AMD_IOMMU_WAIT_NS    (10ULL * 1000 * 1000)

struct amd_iommu {
	struct host_mutex lock;		/* registers, device table, handlers */
	uint64_t control;
	uint64_t status;
	uint64_t ga_log_base;
	uint64_t ga_log_head;
	uint64_t ga_log_tail;
	amd_iommu_ga_log_fn ga_log_fn;
	void *ga_log_arg;
	struct amd_iommu_dte *dte;	/* AMD_IOMMU_NR_DEVICES */
	amd_iommu_posting_hook_fn posting_hook;
	void *posting_hook_arg;

	/* Interrupts in flight, for COMPLETION_WAIT (see the top). */
	struct host_mutex inflight_lock;
	uint32_t inflight[2];		/* registered in phase 0 / 1 */
	uint32_t phase;			/* where new interrupts register */
	uint64_t flips;			/* phase changes so far */
	uint32_t waiters;		/* completion waits asleep */
	uint32_t drained;		/* futex word: bumped when a phase drains */

	struct amd_iommu_stats stats;	/* atomic counters */
};

#define STAT_INC(iommu, field) \
	__atomic_add_fetch(&(iommu)->stats.field, 1, __ATOMIC_RELAXED)

int amd_iommu_create(struct amd_iommu **out)
{
	struct amd_iommu *iommu = calloc(1, sizeof(*iommu));

	if (!iommu)
		return -ENOMEM;
	iommu->dte = calloc(AMD_IOMMU_NR_DEVICES, sizeof(*iommu->dte));
	if (!iommu->dte) {
		free(iommu);
		return -ENOMEM;
	}
	host_mutex_init(&iommu->lock);
	host_mutex_init(&iommu->inflight_lock);
	*out = iommu;
	return 0;
}

void amd_iommu_destroy(struct amd_iommu *iommu)
{
	if (!iommu)
		return;
	host_mutex_destroy(&iommu->inflight_lock);
	host_mutex_destroy(&iommu->lock);
	free(iommu->dte);
	free(iommu);
}

/* The log's memory, or NULL if the base register does not describe one. */
static uint64_t *ga_log_va(uint64_t base)
{
	uint64_t pa = base & AMD_IOMMU_GA_LOG_BASE_ADDR;

	if (FIELD_GET(AMD_IOMMU_GA_LOG_BASE_LEN, base) != AMD_IOMMU_GA_LOG_LEN_512)
		return NULL;
	/* Both ends: a 4 KiB-aligned PA may still start a run's last page. */
	if (!host_va(pa) || !host_va(pa + AMD_GA_LOG_SIZE - 1))
		return NULL;
	return host_va(pa);
}

uint64_t amd_iommu_read64(struct amd_iommu *iommu, uint32_t offset)
{
	uint64_t val = 0;

	host_mutex_lock(&iommu->lock);
	switch (offset) {
	case AMD_IOMMU_MMIO_CONTROL:
		val = iommu->control;
		break;
	case AMD_IOMMU_MMIO_STATUS:
		val = iommu->status;
		break;
	case AMD_IOMMU_MMIO_GA_LOG_BASE:
		val = iommu->ga_log_base;
		break;
	case AMD_IOMMU_MMIO_GA_LOG_HEAD:
		val = iommu->ga_log_head;
		break;
	case AMD_IOMMU_MMIO_GA_LOG_TAIL:
		val = iommu->ga_log_tail;
		break;
	}
	host_mutex_unlock(&iommu->lock);
	return val;
}

/* Called with the lock held. */
static void write_control(struct amd_iommu *iommu, uint64_t val)
{
	uint64_t old = iommu->control;

	iommu->control = val;
	if (!(val & AMD_IOMMU_CONTROL_GALOG_EN)) {
		iommu->status &= ~AMD_IOMMU_STATUS_GALOG_RUN;
		return;
	}
	/*
	 * Only the 0 -> 1 edge starts the log, and not over a pending
	 * overflow: that is what makes the restart procedure necessary.
	 */
	if (!(old & AMD_IOMMU_CONTROL_GALOG_EN) &&
	    !(iommu->status & AMD_IOMMU_STATUS_GALOG_OVERFLOW) &&
	    ga_log_va(iommu->ga_log_base))
		iommu->status |= AMD_IOMMU_STATUS_GALOG_RUN;
}

void amd_iommu_write64(struct amd_iommu *iommu, uint32_t offset, uint64_t val)
{
	host_mutex_lock(&iommu->lock);
	switch (offset) {
	case AMD_IOMMU_MMIO_CONTROL:
		write_control(iommu, val);
		break;
	case AMD_IOMMU_MMIO_STATUS:
		iommu->status &= ~(val & (AMD_IOMMU_STATUS_GALOG_OVERFLOW |
					  AMD_IOMMU_STATUS_GA_INT));
		break;
	case AMD_IOMMU_MMIO_GA_LOG_BASE:
		iommu->ga_log_base = val & (AMD_IOMMU_GA_LOG_BASE_ADDR |
					    AMD_IOMMU_GA_LOG_BASE_LEN);
		break;
	case AMD_IOMMU_MMIO_GA_LOG_HEAD:
		iommu->ga_log_head = val & AMD_IOMMU_GA_LOG_PTR;
		break;
	case AMD_IOMMU_MMIO_GA_LOG_TAIL:
		iommu->ga_log_tail = val & AMD_IOMMU_GA_LOG_PTR;
		break;
	}
	host_mutex_unlock(&iommu->lock);
}

int amd_iommu_set_irt(struct amd_iommu *iommu, uint16_t devid, uint64_t irt_pa,
		      uint32_t nr_entries)
{
	if (nr_entries > AMD_IRTE_MAX_ENTRIES || (irt_pa & (AMD_IRTE_SIZE - 1)))
		return -EINVAL;
	host_mutex_lock(&iommu->lock);
	iommu->dte[devid].irt_pa = nr_entries ? irt_pa : 0;
	iommu->dte[devid].nr_entries = nr_entries;
	host_mutex_unlock(&iommu->lock);
	return 0;
}

void amd_iommu_set_ga_log_handler(struct amd_iommu *iommu, amd_iommu_ga_log_fn fn,
				  void *arg)
{
	host_mutex_lock(&iommu->lock);
	iommu->ga_log_fn = fn;
	iommu->ga_log_arg = arg;
	host_mutex_unlock(&iommu->lock);
}

void amd_iommu_set_posting_hook(struct amd_iommu *iommu, amd_iommu_posting_hook_fn fn,
				void *arg)
{
	host_mutex_lock(&iommu->lock);
	iommu->posting_hook = fn;
	iommu->posting_hook_arg = arg;
	host_mutex_unlock(&iommu->lock);
}

/* The GA log interrupt one posting raises, once the posting is complete. */
struct ga_log_irq {
	amd_iommu_ga_log_fn fn;
	void *arg;
};

/*
 * IsRun = 0, GALogIntr = 1: one GuestNR entry at tail; *irq says which
 * interrupt to raise (fn NULL: none).
 */
static void ga_log_append(struct amd_iommu *iommu, uint16_t devid, uint32_t tag,
			  struct ga_log_irq *irq)
{
	uint64_t entry = FIELD_PREP(AMD_GA_LOG_ENTRY_TAG, tag) |
			 FIELD_PREP(AMD_GA_LOG_ENTRY_DEVID, devid) |
			 FIELD_PREP(AMD_GA_LOG_ENTRY_TYPE, AMD_GA_LOG_TYPE_GUEST_NR);
	uint64_t *log, next;

	host_mutex_lock(&iommu->lock);
	log = ga_log_va(iommu->ga_log_base);
	if (!(iommu->control & AMD_IOMMU_CONTROL_GALOG_EN) ||
	    !(iommu->status & AMD_IOMMU_STATUS_GALOG_RUN) || !log) {
		STAT_INC(iommu, ga_log_dropped);
		goto out;
	}
	next = (iommu->ga_log_tail + AMD_GA_LOG_ENTRY_SIZE) % AMD_GA_LOG_SIZE;
	if (next == iommu->ga_log_head) {
		/* Full: the log stops until software restarts it. */
		iommu->status |= AMD_IOMMU_STATUS_GALOG_OVERFLOW;
		iommu->status &= ~AMD_IOMMU_STATUS_GALOG_RUN;
		STAT_INC(iommu, ga_log_overflows);
	} else {
		/* Atomic store: the consumer may read slots it does not own yet. */
		__atomic_store_n(&log[iommu->ga_log_tail / AMD_GA_LOG_ENTRY_SIZE],
				 entry, __ATOMIC_RELEASE);
		iommu->ga_log_tail = next;
		iommu->status |= AMD_IOMMU_STATUS_GA_INT;
		STAT_INC(iommu, ga_log_entries);
	}
	if (iommu->control & AMD_IOMMU_CONTROL_GAINT_EN) {
		irq->fn = iommu->ga_log_fn;
		irq->arg = iommu->ga_log_arg;
	}
out:
	host_mutex_unlock(&iommu->lock);
}

/* ---- interrupts in flight and COMPLETION_WAIT ---------------------------- */

/* Before the device table and IRTE are read: returns the phase to leave. */
static unsigned int inflight_enter(struct amd_iommu *iommu)
{
	unsigned int p;

	host_mutex_lock(&iommu->inflight_lock);
	p = iommu->phase;
	iommu->inflight[p]++;
	host_mutex_unlock(&iommu->inflight_lock);
	return p;
}

/* After the posting's last access to the IRTE, backing page and log. */
static void inflight_leave(struct amd_iommu *iommu, unsigned int p)
{
	host_mutex_lock(&iommu->inflight_lock);
	if (!--iommu->inflight[p] && iommu->waiters) {
		__atomic_add_fetch(&iommu->drained, 1, __ATOMIC_RELAXED);
		/* Under the lock: once it is dropped the IOMMU may be gone. */
		host_futex_wake(&iommu->drained, INT32_MAX);
	}
	host_mutex_unlock(&iommu->inflight_lock);
}

/* Called with inflight_lock held; drops it while asleep. */
static void inflight_sleep(struct amd_iommu *iommu)
{
	uint32_t seen = __atomic_load_n(&iommu->drained, __ATOMIC_RELAXED);

	iommu->waiters++;
	host_mutex_unlock(&iommu->inflight_lock);
	/* A drain between the unlock and the sleep changed the word: no sleep. */
	host_futex_wait(&iommu->drained, seen, AMD_IOMMU_WAIT_NS);
	host_mutex_lock(&iommu->inflight_lock);
	iommu->waiters--;
}

int amd_iommu_invalidate_irt(struct amd_iommu *iommu, uint32_t devid)
{
	if (devid > AMD_IOMMU_DEVID_MAX)
		return -EINVAL;
	/*
	 * Nothing is cached between interrupts, so there is nothing to drop
	 * here: the copies that matter belong to interrupts in flight, and
	 * the COMPLETION_WAIT that must follow waits them out.
	 */
	STAT_INC(iommu, irt_invalidations);
	return 0;
}

void amd_iommu_completion_wait(struct amd_iommu *iommu)
{
	unsigned int old;
	uint64_t flip;
	bool stalled = false;

	STAT_INC(iommu, completion_waits);
	host_mutex_lock(&iommu->inflight_lock);
	/* Left over from an earlier wait's flip: older still, and in the way. */
	while (iommu->inflight[iommu->phase ^ 1]) {
		stalled = true;
		inflight_sleep(iommu);
	}
	old = iommu->phase;
	iommu->phase ^= 1;
	flip = ++iommu->flips;
	/*
	 * A later wait flips again only once inflight[old] has drained (the
	 * loop above), which is all this one waits for: stop there too, or
	 * interrupts registering in old again could keep it asleep.
	 */
	while (iommu->inflight[old] && iommu->flips == flip) {
		stalled = true;
		inflight_sleep(iommu);
	}
	host_mutex_unlock(&iommu->inflight_lock);
	if (stalled)
		STAT_INC(iommu, completion_stalls);
}

/* ---- device interrupts ---------------------------------------------------- */

/* The remapping and posting, all inside one in-flight registration. */
static int remap_and_post(struct amd_iommu *iommu, uint16_t devid, uint32_t index,
			  struct ga_log_irq *irq)
{
	amd_iommu_posting_hook_fn hook;
	struct amd_iommu_dte dte;
	uint64_t control, lo, hi, *irte;
	uint32_t *irr;
	uint8_t vector;
	void *backing, *hook_arg;

	host_mutex_lock(&iommu->lock);
	dte = iommu->dte[devid];
	control = iommu->control;
	hook = iommu->posting_hook;
	hook_arg = iommu->posting_hook_arg;
	host_mutex_unlock(&iommu->lock);

	if (!dte.nr_entries) {
		STAT_INC(iommu, no_table);
		return -ENODEV;
	}
	if (!(control & AMD_IOMMU_CONTROL_GA_EN)) {
		STAT_INC(iommu, unsupported);
		return -EOPNOTSUPP;
	}
	if (index >= dte.nr_entries) {
		/* Beyond the table: no NoFault bit to consult, so it faults. */
		STAT_INC(iommu, not_valid);
		STAT_INC(iommu, io_page_faults);
		return -ENOENT;
	}
	irte = host_va(dte.irt_pa + (uint64_t)index * AMD_IRTE_SIZE);
	if (!irte) {
		STAT_INC(iommu, bad_address);
		return -EFAULT;
	}

	/* lo first, acquire: pairs with the hypervisor writing hi before lo. */
	lo = __atomic_load_n(&irte[0], __ATOMIC_ACQUIRE);
	hi = __atomic_load_n(&irte[1], __ATOMIC_RELAXED);
	if (!(lo & AMD_IRTE_LO_VALID)) {
		STAT_INC(iommu, not_valid);
		if (!(lo & AMD_IRTE_LO_NO_FAULT))
			STAT_INC(iommu, io_page_faults);
		return -ENOENT;
	}
	if (!(lo & AMD_IRTE_LO_GUEST_MODE) || !(control & AMD_IOMMU_CONTROL_GAM_EN)) {
		STAT_INC(iommu, remapped);
		return 0;
	}

	backing = host_va(amd_irte_backing_pa(hi));
	if (!backing) {
		STAT_INC(iommu, bad_address);
		return -EFAULT;
	}
	vector = (uint8_t)FIELD_GET(AMD_IRTE_HI_VECTOR, hi);
	/* The IRTE's page is translated and held, the IRR not yet written. */
	if (hook)
		hook(iommu, devid, index, hook_arg);
	irr = apic_reg(backing, APIC_VECTOR_WORD(APIC_IRR, vector));
	if (host_test_and_set_bit32(irr, APIC_VECTOR_BIT(vector)))
		STAT_INC(iommu, irr_merged);
	STAT_INC(iommu, irr_set);

	/*
	 * IRR before IsRun, with a full barrier between: the mirror image of
	 * the hypervisor clearing IsRun before re-checking the IRR.  Reading
	 * IsRun from the first load instead would lose the wake-up when the
	 * vCPU stopped running in between.
	 */
	host_mb();
	lo = __atomic_load_n(&irte[0], __ATOMIC_ACQUIRE);
	hi = __atomic_load_n(&irte[1], __ATOMIC_RELAXED);
	if (!(lo & AMD_IRTE_LO_VALID) || !(lo & AMD_IRTE_LO_GUEST_MODE)) {
		/* Taken out of guest mode meanwhile: its new owner sees the IRR. */
		STAT_INC(iommu, irr_only);
		return 0;
	}
	if (lo & AMD_IRTE_LO_IS_RUN) {
		STAT_INC(iommu, doorbells);
		host_doorbell_ring(amd_irte_dest(lo, hi));
	} else if (lo & AMD_IRTE_LO_GA_LOG_INTR) {
		ga_log_append(iommu, devid, (uint32_t)FIELD_GET(AMD_IRTE_LO_GA_TAG, lo), irq);
	} else {
		STAT_INC(iommu, irr_only);
	}
	return 0;
}

int amd_iommu_device_interrupt(struct amd_iommu *iommu, uint16_t devid, uint32_t index)
{
	struct ga_log_irq irq = { NULL, NULL };
	unsigned int phase;
	int r;

	STAT_INC(iommu, interrupts);
	phase = inflight_enter(iommu);
	r = remap_and_post(iommu, devid, index, &irq);
	inflight_leave(iommu, phase);
	/*
	 * The GA log interrupt is the host's to take, after the posting: no
	 * model lock held (the handler reads and writes our registers), and
	 * not inside the in-flight window (it may take hypervisor locks).
	 */
	if (irq.fn) {
		STAT_INC(iommu, ga_log_irqs);
		irq.fn(iommu, irq.arg);
	}
	return r;
}

void amd_iommu_get_stats(struct amd_iommu *iommu, struct amd_iommu_stats *st)
{
	const uint64_t *src = (const uint64_t *)&iommu->stats;
	uint64_t *dst = (uint64_t *)st;

	for (size_t i = 0; i < sizeof(*st) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}
