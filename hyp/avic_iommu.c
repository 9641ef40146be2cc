// SPDX-License-Identifier: MIT
/*
 * AMD AVIC, hypervisor side of IOMMU posted interrupts: per-vCPU lists of
 * GA-mode IRTEs kept in step with load/put/blocking, and the GA log with
 * its notifier (../shared/reference/avic.md sections 3.3, 6.1, 6.2).
 *
 * IRTE writes.  The IOMMU model reads lo (acquire) and then hi, so every
 * update here stores hi first and lo last with release: an interrupt that
 * sees the new lo also sees the new hi.  The reverse pairing (old lo, new
 * hi) stays possible, as with any two 64-bit stores.  For load/put that
 * only mixes destinations, which at worst rings a stale doorbell (the IRR
 * is set, the next VMRUN sees it).  A change of backing page (an IRTE
 * re-attached from another vCPU without a detach) clears lo first and
 * flushes before the new hi goes in, so no interrupt pairs the old lo with
 * the new hi.
 *
 * Flushes.  An interrupt the IOMMU is remapping keeps the IRTE it read
 * (backing page, vector) until its posting is done, so a cleared IRTE
 * does not yet mean the old backing page is out of reach.  Every change
 * that enters or leaves guest mode, or drops a backing page, is followed
 * by INVALIDATE_INTERRUPT_TABLE for the IRTE's device and COMPLETION_WAIT,
 * as the reference says for entering and leaving guest mode; only after
 * the wait may the vCPU (its backing page, its GA tag) go away.  The
 * wait sleeps until the interrupts in flight finish, and those take the
 * IOMMU's locks and the doorbell handler, never ir_list_lock; still, it
 * runs with no lock held, so that a load or put is never stuck behind a
 * device.  Load and put need no flush: Destination, IsRun, GATag and
 * GALogIntr are not cached.
 *
 * Locking.  A vCPU's IRTE list, and the destination/IsRun/GALogIntr its
 * IRTEs carry, change only under its ir_list_lock, which load and put in
 * hyp/avic.c hold while they update the physical-table entry: attach can
 * never copy a state that a concurrent load or put is about to replace.
 * The GA log has its own lock, which serialises notifier runs (the model
 * calls the handler from whichever device thread wrote an entry) and so
 * keeps a single consumer on the head register.
 */
#include <stdint.h>

#include <vintc/amd_iommu.h>
#include <vintc/avic.h>

#include "avic_priv.h"

/* ---- per-vCPU IRTE list ------------------------------------------------- */

struct avic_irte {
	struct avic_irte *next;
	uint64_t *irte;			/* lo at [0], hi at [1] */
	struct amd_iommu *iommu;	/* whose device devid's table holds it */
	uint16_t devid;
	uint8_t vector;
};

static uint64_t irte_lo(struct avic_vcpu *v)
{
	return AMD_IRTE_LO_VALID | AMD_IRTE_LO_GUEST_MODE |
	       amd_irte_lo_dest(v->ir_dest) |
	       FIELD_PREP(AMD_IRTE_LO_GA_TAG, avic_vcpu_gatag(&v->vcpu)) |
	       (v->ir_is_run ? AMD_IRTE_LO_IS_RUN : 0) |
	       (v->ir_ga_log_intr ? AMD_IRTE_LO_GA_LOG_INTR : 0);
}

static uint64_t irte_hi(struct avic_vcpu *v, uint8_t vector)
{
	return FIELD_PREP(AMD_IRTE_HI_VECTOR, vector) | amd_irte_hi_root(v->backing_pa) |
	       amd_irte_hi_dest(v->ir_dest);
}

/* hi, then lo with release: an IOMMU that reads the new lo sees this hi. */
static void irte_store(uint64_t *irte, uint64_t lo, uint64_t hi)
{
	__atomic_store_n(&irte[1], hi, __ATOMIC_RELAXED);
	__atomic_store_n(&irte[0], lo, __ATOMIC_RELEASE);
}

/* Called with ir_list_lock held: the vCPU's current state into one IRTE. */
static void irte_sync(struct avic_vcpu *v, struct avic_irte *n)
{
	irte_store(n->irte, irte_lo(v), irte_hi(v, n->vector));
}

static struct avic_irte **irte_find(struct avic_vcpu *v, uint64_t *irte)
{
	struct avic_irte **pp;

	for (pp = &v->ir_list; *pp; pp = &(*pp)->next)
		if ((*pp)->irte == irte)
			return pp;
	return NULL;
}

/*
 * Out of guest mode: lo only, after which the IOMMU drops instead of
 * posting.  hi (the backing page) goes after the flush, irte_clear_hi():
 * an interrupt that read the old lo reads hi after it, and must not find
 * it cleared under it (an untranslatable page, -EFAULT).
 */
static void irte_clear(uint64_t *irte)
{
	__atomic_store_n(&irte[0], 0, __ATOMIC_RELEASE);
}

/* No stale backing-page pointer left behind. */
static void irte_clear_hi(uint64_t *irte)
{
	__atomic_store_n(&irte[1], 0, __ATOMIC_RELAXED);
}

/*
 * INVALIDATE_INTERRUPT_TABLE + COMPLETION_WAIT: on return no interrupt is
 * still posting with what devid's IRTEs held before.  Never under a lock.
 * No IOMMU (avic_irte_attach()): the caller quiesces the device instead.
 */
static void irte_flush(struct amd_iommu *iommu, uint16_t devid)
{
	if (!iommu)
		return;
	/* devid is 16 bits: the command cannot refuse it. */
	(void)amd_iommu_invalidate_irt(iommu, devid);
	amd_iommu_completion_wait(iommu);
}

static void irte_sync_all_locked(struct avic_vcpu *v);

/* What hyp/avic.c calls, through the vCPU, without calling this file. */
static const struct avic_irte_ops irte_ops = {
	.sync_locked = irte_sync_all_locked,
	.detach_all = avic_irte_detach_all,
};

static int irte_attach(struct vcpu *vcpu, struct amd_iommu *iommu, uint16_t devid,
		       uint64_t *irte, uint8_t vector)
{
	struct avic_vcpu *v = to_avic_vcpu(vcpu);
	struct avic_irte **pp, *n;
	uint64_t old_lo, old_hi;

	if (!irte || ((uintptr_t)irte & (AMD_IRTE_SIZE - 1)) || vector < 16)
		return -EINVAL;
	/* VM ID 0 means unhashed: a GA log entry with this tag would wake nobody. */
	if (!FIELD_GET(AVIC_GATAG_VM_ID, avic_vcpu_gatag(vcpu)))
		return -ENODEV;
	/* Allocated up front so that nothing can fail once the lock is held. */
	n = host_zalloc(HOST_TAG_MISC, sizeof(*n), "avic.irte");
	if (!n)
		return -ENOMEM;

	/*
	 * Still posting to another backing page (left in guest mode by an
	 * owner no list tracks): leave guest mode and flush first, so that no
	 * interrupt pairs the old page, tag or IsRun with our new hi.  Before
	 * ir_list_lock, as every flush; an IRTE on our list has our page and
	 * never matches.
	 */
	old_lo = __atomic_load_n(&irte[0], __ATOMIC_ACQUIRE);
	old_hi = __atomic_load_n(&irte[1], __ATOMIC_RELAXED);
	if ((old_lo & AMD_IRTE_LO_VALID) && (old_lo & AMD_IRTE_LO_GUEST_MODE) &&
	    amd_irte_backing_pa(old_hi) != v->backing_pa) {
		__atomic_store_n(&irte[0], 0, __ATOMIC_RELEASE);
		irte_flush(iommu, devid);
	}

	host_mutex_lock(&v->ir_list_lock);
	pp = irte_find(v, irte);
	if (pp) {
		/* Already ours: same page, so only the vector can change. */
		(*pp)->vector = vector;
		if (iommu) {
			(*pp)->iommu = iommu;
			(*pp)->devid = devid;
		}
		irte_sync(v, *pp);
		host_mutex_unlock(&v->ir_list_lock);
		host_free(n);
	} else {
		n->irte = irte;
		n->iommu = iommu;
		n->devid = devid;
		n->vector = vector;
		irte_sync(v, n);
		n->next = v->ir_list;
		v->ir_list = n;
		/* From now on load, put and destruction reach the list. */
		v->ir_ops = &irte_ops;
		host_mutex_unlock(&v->ir_list_lock);
	}
	/* Entering guest mode, or a new vector: both cached, so flush. */
	irte_flush(iommu, devid);
	return 0;
}

int avic_irte_attach_iommu(struct vcpu *vcpu, struct amd_iommu *iommu, uint16_t devid,
			   uint64_t *irte, uint8_t vector)
{
	if (!iommu)
		return -EINVAL;
	return irte_attach(vcpu, iommu, devid, irte, vector);
}

int avic_irte_attach(struct vcpu *vcpu, uint64_t *irte, uint8_t vector)
{
	return irte_attach(vcpu, NULL, 0, irte, vector);
}

void avic_irte_detach(struct vcpu *vcpu, uint64_t *irte)
{
	struct avic_vcpu *v = to_avic_vcpu(vcpu);
	struct avic_irte **pp, *n = NULL;

	host_mutex_lock(&v->ir_list_lock);
	pp = irte ? irte_find(v, irte) : NULL;
	if (pp) {
		n = *pp;
		*pp = n->next;
		irte_clear(n->irte);
	}
	host_mutex_unlock(&v->ir_list_lock);
	/*
	 * An interrupt that read the IRTE before the clear may still be
	 * writing the backing page: wait it out before the caller may free
	 * the vCPU.  After the unlock (see the top: never wait under a lock).
	 */
	if (n) {
		irte_flush(n->iommu, n->devid);
		irte_clear_hi(n->irte);
	}
	host_free(n);
}

void avic_irte_detach_all(struct vcpu *vcpu)
{
	struct avic_vcpu *v = to_avic_vcpu(vcpu);
	struct avic_irte *n;

	host_mutex_lock(&v->ir_list_lock);
	n = v->ir_list;
	v->ir_list = NULL;
	for (struct avic_irte *p = n; p; p = p->next)
		irte_clear(p->irte);
	host_mutex_unlock(&v->ir_list_lock);
	/*
	 * Every IRTE cleared first, then flushed: once the last wait returns
	 * no interrupt posts to the backing page, which vCPU destruction
	 * frees next.  Unlocked, as in detach.
	 */
	while (n) {
		struct avic_irte *next = n->next;

		irte_flush(n->iommu, n->devid);
		irte_clear_hi(n->irte);
		host_free(n);
		n = next;
	}
}

unsigned int avic_irte_count(struct vcpu *vcpu)
{
	struct avic_vcpu *v = to_avic_vcpu(vcpu);
	unsigned int nr = 0;

	host_mutex_lock(&v->ir_list_lock);
	for (struct avic_irte *p = v->ir_list; p; p = p->next)
		nr++;
	host_mutex_unlock(&v->ir_list_lock);
	return nr;
}

/* Load and put in hyp/avic.c, with ir_list_lock held. */
static void irte_sync_all_locked(struct avic_vcpu *v)
{
	/*
	 * Destination and tag too, even though the IRTEs are already in
	 * guest mode: the IOMMU does not cache them, and skipping the rewrite
	 * leaves doorbells going to the CPU the vCPU left (reference 8.6).
	 */
	for (struct avic_irte *n = v->ir_list; n; n = n->next)
		irte_sync(v, n);
}

/* ---- GA log --------------------------------------------------------------- */

struct avic_ga_log {
	struct amd_iommu *iommu;
	struct id_space *ids;
	uint64_t *log;			/* AMD_GA_LOG_ENTRIES entries */
	struct host_mutex lock;		/* one notifier at a time; dying */
	bool dying;
	void (*on_overflow)(void *arg);
	void *overflow_arg;
	struct avic_ga_log_stats stats;	/* written under lock, read atomically */
};

#define GA_STAT_INC(log, field) \
	__atomic_add_fetch(&(log)->stats.field, 1, __ATOMIC_RELAXED)

#define GA_LOG_CONTROL_ON (AMD_IOMMU_CONTROL_GALOG_EN | AMD_IOMMU_CONTROL_GAINT_EN)

static uint64_t ga_rd(struct avic_ga_log *log, uint32_t off)
{
	return amd_iommu_read64(log->iommu, off);
}

static void ga_wr(struct avic_ga_log *log, uint32_t off, uint64_t val)
{
	amd_iommu_write64(log->iommu, off, val);
}

/* Runs under the tag lookup's read lock: the vCPU cannot be freed meanwhile. */
static void ga_log_wake(struct vcpu *vcpu, void *arg)
{
	(void)arg;
	/* The IOMMU set the IRR before logging: a wake-up is all it needs. */
	vcpu_wake(vcpu);
}

/* Called with log->lock held: consume head..tail as the tail is now. */
static void ga_log_drain(struct avic_ga_log *log)
{
	uint64_t head = ga_rd(log, AMD_IOMMU_MMIO_GA_LOG_HEAD);
	uint64_t tail = ga_rd(log, AMD_IOMMU_MMIO_GA_LOG_TAIL);

	/*
	 * One snapshot of the tail is enough: the IOMMU raises the interrupt
	 * after writing each entry, so an entry past the snapshot has a
	 * notifier run of its own waiting on log->lock.
	 */
	while (head != tail) {
		/* Acquire: pairs with the IOMMU's release store of the entry. */
		uint64_t entry = __atomic_load_n(&log->log[head / AMD_GA_LOG_ENTRY_SIZE],
						 __ATOMIC_ACQUIRE);

		GA_STAT_INC(log, entries);
		if (FIELD_GET(AMD_GA_LOG_ENTRY_TYPE, entry) != AMD_GA_LOG_TYPE_GUEST_NR) {
			GA_STAT_INC(log, bad_type);
		} else if (avic_ga_tag_resolve(log->ids,
					       (uint32_t)FIELD_GET(AMD_GA_LOG_ENTRY_TAG, entry),
					       ga_log_wake, NULL)) {
			/* A VM torn down since the device interrupted: nothing to wake. */
			GA_STAT_INC(log, unknown);
		} else {
			GA_STAT_INC(log, woken);
		}
		/* Hand the slot back at once: the log is full at 511 entries. */
		head = (head + AMD_GA_LOG_ENTRY_SIZE) % AMD_GA_LOG_SIZE;
		ga_wr(log, AMD_IOMMU_MMIO_GA_LOG_HEAD, head);
	}
}

/*
 * Called with log->lock held, after an overflow: the reference 6.2
 * procedure.  GALogRun set means the log runs again already.  Otherwise
 * only a 0 -> 1 edge of GALOG_EN with GALOverflow clear restarts it;
 * clearing the status bit alone leaves guest-mode wake-ups dead for good.
 */
static bool ga_log_restart(struct avic_ga_log *log)
{
	uint64_t ctl;

	if (ga_rd(log, AMD_IOMMU_MMIO_STATUS) & AMD_IOMMU_STATUS_GALOG_RUN)
		return false;
	ctl = ga_rd(log, AMD_IOMMU_MMIO_CONTROL);
	ga_wr(log, AMD_IOMMU_MMIO_CONTROL, ctl & ~GA_LOG_CONTROL_ON);
	ga_wr(log, AMD_IOMMU_MMIO_STATUS, AMD_IOMMU_STATUS_GALOG_OVERFLOW);
	ga_wr(log, AMD_IOMMU_MMIO_CONTROL, ctl | GA_LOG_CONTROL_ON);
	GA_STAT_INC(log, restarts);
	if (!(ga_rd(log, AMD_IOMMU_MMIO_STATUS) & AMD_IOMMU_STATUS_GALOG_RUN))
		host_log(HOST_LOG_ERR, "AVIC: GA log did not restart after overflow");
	return true;
}

bool avic_ga_log_process(struct avic_ga_log *log)
{
	bool restarted = false;

	host_mutex_lock(&log->lock);
	if (log->dying) {
		host_mutex_unlock(&log->lock);
		return false;
	}
	GA_STAT_INC(log, irqs);
	/*
	 * Acknowledge before draining: an entry written after the drain sets
	 * GAInt again instead of being covered by this acknowledgement.
	 */
	ga_wr(log, AMD_IOMMU_MMIO_STATUS, AMD_IOMMU_STATUS_GA_INT);
	ga_log_drain(log);
	if (ga_rd(log, AMD_IOMMU_MMIO_STATUS) & AMD_IOMMU_STATUS_GALOG_OVERFLOW) {
		/*
		 * The log stopped, so its tail is frozen: consume what came in
		 * after the first snapshot, so that it restarts empty.
		 */
		ga_log_drain(log);
		restarted = ga_log_restart(log);
	}
	host_mutex_unlock(&log->lock);
	/*
	 * The entries that found the log full are gone, and each was a
	 * wake-up for a vCPU now asleep with its IRR set.  Nothing says
	 * which, so the owner wakes every blocked candidate; outside the
	 * lock, as that may take vCPU and VM locks.
	 */
	if (restarted && log->on_overflow)
		log->on_overflow(log->overflow_arg);
	return restarted;
}

/* The IOMMU's GA-log interrupt handler. */
static void ga_log_irq(struct amd_iommu *iommu, void *arg)
{
	(void)iommu;
	avic_ga_log_process(arg);
}

/* Stop logging and interrupts, and make the IOMMU forget the page. */
static void ga_log_hw_stop(struct avic_ga_log *log)
{
	ga_wr(log, AMD_IOMMU_MMIO_CONTROL,
	      ga_rd(log, AMD_IOMMU_MMIO_CONTROL) & ~GA_LOG_CONTROL_ON);
	ga_wr(log, AMD_IOMMU_MMIO_GA_LOG_BASE, 0);
	ga_wr(log, AMD_IOMMU_MMIO_GA_LOG_HEAD, 0);
	ga_wr(log, AMD_IOMMU_MMIO_GA_LOG_TAIL, 0);
}

static void ga_log_free(struct avic_ga_log *log)
{
	host_pages_free(log->log);
	host_mutex_destroy(&log->lock);
	host_free(log);
}

int avic_ga_log_init_cb(struct amd_iommu *iommu, struct id_space *ids,
			void (*on_overflow)(void *arg), void *arg,
			struct avic_ga_log **out)
{
	struct avic_ga_log *log;
	uint64_t ctl;

	if (!iommu || !out)
		return -EINVAL;
	log = host_zalloc(HOST_TAG_MISC, sizeof(*log), "avic.ga_log_state");
	if (!log)
		return -ENOMEM;
	host_mutex_init(&log->lock);
	log->log = host_pages_alloc(HOST_TAG_MISC, 0, "avic.ga_log");
	if (!log->log) {
		ga_log_free(log);
		return -ENOMEM;
	}
	log->iommu = iommu;
	log->ids = ids;
	log->on_overflow = on_overflow;
	log->overflow_arg = arg;

	/* Head and tail are only written while the log is stopped. */
	ctl = ga_rd(log, AMD_IOMMU_MMIO_CONTROL) & ~GA_LOG_CONTROL_ON;
	ga_wr(log, AMD_IOMMU_MMIO_CONTROL, ctl);
	ga_wr(log, AMD_IOMMU_MMIO_GA_LOG_BASE,
	      host_pa(log->log) |
	      FIELD_PREP(AMD_IOMMU_GA_LOG_BASE_LEN, AMD_IOMMU_GA_LOG_LEN_512));
	ga_wr(log, AMD_IOMMU_MMIO_GA_LOG_HEAD, 0);
	ga_wr(log, AMD_IOMMU_MMIO_GA_LOG_TAIL, 0);
	/* A stale overflow would keep the GALOG_EN edge from starting the log. */
	ga_wr(log, AMD_IOMMU_MMIO_STATUS,
	      AMD_IOMMU_STATUS_GALOG_OVERFLOW | AMD_IOMMU_STATUS_GA_INT);
	/* Handler before GAINT_EN: the first entry's interrupt must reach it. */
	amd_iommu_set_ga_log_handler(iommu, ga_log_irq, log);
	ga_wr(log, AMD_IOMMU_MMIO_CONTROL,
	      ctl | AMD_IOMMU_CONTROL_GA_EN | AMD_IOMMU_CONTROL_GAM_EN | GA_LOG_CONTROL_ON);
	if (!(ga_rd(log, AMD_IOMMU_MMIO_STATUS) & AMD_IOMMU_STATUS_GALOG_RUN)) {
		ga_log_hw_stop(log);
		amd_iommu_set_ga_log_handler(iommu, NULL, NULL);
		ga_log_free(log);
		return -EIO;
	}
	*out = log;
	return 0;
}

int avic_ga_log_init(struct amd_iommu *iommu, struct id_space *ids,
		     struct avic_ga_log **out)
{
	return avic_ga_log_init_cb(iommu, ids, NULL, NULL, out);
}

void avic_ga_log_destroy(struct avic_ga_log *log)
{
	if (!log)
		return;
	/*
	 * Under the lock, so a notifier run cannot be halfway through a
	 * restart (which re-enables GALOG_EN) while logging is turned off;
	 * any run that gets the lock afterwards sees dying and leaves.
	 */
	host_mutex_lock(&log->lock);
	log->dying = true;
	ga_log_hw_stop(log);
	host_mutex_unlock(&log->lock);
	amd_iommu_set_ga_log_handler(log->iommu, NULL, NULL);
	ga_log_free(log);
}

void avic_ga_log_stats(struct avic_ga_log *log, struct avic_ga_log_stats *st)
{
	const uint64_t *src = (const uint64_t *)&log->stats;
	uint64_t *dst = (uint64_t *)st;

	for (size_t i = 0; i < sizeof(*st) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}
