// SPDX-License-Identifier: MIT
/*
 * The software AVIC: what the sending CPU does with a guest ICR write,
 * after ../shared/reference/avic.md sections 1, 2 and 4.
 *
 * Everything is read live through host physical addresses, as the silicon
 * reads memory: the backing page, physical-table and logical-table
 * pointers from the VMCB, each table entry by its own address (so a max
 * index larger than the table the hypervisor allocated reads a hole, not
 * a neighbour), and each target's backing page from its entry.
 *
 * Choices where the reference is silent or "reconstructed" (hyp/ may
 * rely on them):
 *  - The ICR value lands in the sender's backing page first, low half at
 *    0x300 and high half at 0x310, in both xAPIC and x2APIC mode, exactly
 *    as written (Busy included): the exit is trap-like.
 *  - Check order: the sender's own backing page must translate (else
 *    INVALID_BACKING_PAGE, index 0, nothing written); then the type (not
 *    Fixed, or level trigger: INVALID_INT_TYPE); then the vector (< 16:
 *    INVALID_IPI_VECTOR).  These three exit before any IRR is touched.
 *    INVALID_IPI_VECTOR is reported, not dropped: whether the guest sees
 *    ESR "send illegal vector" is the hypervisor's choice.
 *  - Target resolution never stops at a bad target: every valid target
 *    still gets its IRR bit and doorbell.  The exit then reports the most
 *    serious cause seen, INVALID_BACKING_PAGE > INVALID_TARGET >
 *    TARGET_NOT_RUNNING, with the index of the first target (in
 *    processing order) that had it.  This is safe because the
 *    hypervisor's answer to INVALID_TARGET is full emulation, and a
 *    second IRR set is harmless; INVALID_BACKING_PAGE is a hypervisor
 *    bug that must never be hidden behind a lesser cause.
 *  - The exit's table index is the index of the table whose entry failed:
 *    the physical index for a physical (or x2APIC-derived) target, the
 *    logical index for a logical entry that is not valid, the physical
 *    index for a valid logical entry whose physical entry is bad.  Only
 *    bits 11:0 fit, so x2APIC IDs above 0xFFF are reported truncated.
 *  - xAPIC cluster 0xF (the all-clusters broadcast) is not accelerated:
 *    each set bit b reports INVALID_TARGET with index (0xF << 2) + b,
 *    which is past the last cluster index (59).  A destination with no
 *    bits set has no targets: no IRR, no exit.
 *  - x2APIC logical destination 0xFFFFFFFF is a broadcast like the
 *    physical one (the x2APIC architecture defines it for both modes).
 *  - The sender is recognised by its backing page address.  When it is
 *    among the targets (self, broadcast including self, or its own ID) it
 *    gets its IRR bit but no doorbell and never counts as not running:
 *    it is running right here, whatever its entry says (with IPIv off the
 *    table never shows IsRunning).
 *  - Broadcasts walk 0..max index and skip entries that are not valid or
 *    whose address does not translate, silently.  A valid entry whose
 *    backing page does not translate is INVALID_BACKING_PAGE even there.
 *  - With erratum #1235 a not-running target is still counted in
 *    not_running (the IPI is stuck in its IRR), but gets no doorbell and
 *    causes no exit.
 */
#include <vintc/avic_cpu.h>

struct icr_ctx {
	const struct avic_cpu_opts *opts;
	struct avic_cpu_ipi *out;
	uint64_t self_pa;		/* sender's backing page */
	uint64_t phys_pa;		/* physical table */
	uint32_t max_index;		/* highest physical index accelerated */
	uint64_t logical_pa;		/* logical table */
	bool fail;
	unsigned int fail_cause;
	uint32_t fail_index;
};

static unsigned int cause_rank(unsigned int cause)
{
	switch (cause) {
	case AVIC_IPI_FAILURE_INVALID_BACKING_PAGE:
		return 3;
	case AVIC_IPI_FAILURE_INVALID_TARGET:
		return 2;
	default:
		return 1;
	}
}

/* Keep the most serious cause; among equals the first one seen. */
static void record(struct icr_ctx *c, unsigned int cause, uint32_t index)
{
	if (c->fail && cause_rank(cause) <= cause_rank(c->fail_cause))
		return;
	c->fail = true;
	c->fail_cause = cause;
	c->fail_index = index;
}

static uint64_t *phys_entry_ptr(const struct icr_ctx *c, uint32_t index)
{
	return host_va(c->phys_pa + (uint64_t)index * sizeof(uint64_t));
}

/* Set the vector in a page's IRR; true if it was pending already (merged). */
static bool set_irr(void *page, uint8_t vector)
{
	return host_test_and_set_bit32(apic_reg(page, APIC_VECTOR_WORD(APIC_IRR, vector)),
				       APIC_VECTOR_BIT(vector));
}

/* One target whose physical entry `e` (read from *ptr) is valid. */
static void deliver_entry(struct icr_ctx *c, uint64_t *ptr, uint64_t e,
			  uint32_t index, uint8_t vector)
{
	uint64_t page_pa = e & AVIC_PHYSICAL_ID_ENTRY_BACKING_PAGE;
	void *page = host_va(page_pa);
	uint32_t host_id;

	if (!page) {
		record(c, AVIC_IPI_FAILURE_INVALID_BACKING_PAGE, index);
		return;
	}
	if (set_irr(page, vector))
		c->out->merged++;
	c->out->delivered++;
	/*
	 * IRR before IsRunning, with a full barrier between: the target's
	 * blocking path clears IsRunning, barriers, then re-reads IRR, so
	 * either it sees our bit or we see it not running.
	 */
	host_mb();
	if (page_pa == c->self_pa)
		return;
	e = __atomic_load_n(ptr, __ATOMIC_ACQUIRE);
	if (!(e & AVIC_PHYSICAL_ID_ENTRY_IS_RUNNING)) {
		c->out->not_running++;
		if (!c->opts->erratum_1235)
			record(c, AVIC_IPI_FAILURE_TARGET_NOT_RUNNING, index);
		return;
	}
	host_id = (uint32_t)FIELD_GET(AVIC_PHYSICAL_ID_ENTRY_HOST_PHYSICAL_ID, e);
	if (host_id == c->opts->current_host_apic_id)
		return;
	host_doorbell_ring(host_id);
	c->out->doorbells++;
}

static void deliver_physical(struct icr_ctx *c, uint32_t index, uint8_t vector)
{
	uint64_t *ptr;
	uint64_t e;

	if (index > c->max_index || !(ptr = phys_entry_ptr(c, index))) {
		record(c, AVIC_IPI_FAILURE_INVALID_TARGET, index);
		return;
	}
	e = __atomic_load_n(ptr, __ATOMIC_ACQUIRE);
	if (!(e & AVIC_PHYSICAL_ID_ENTRY_VALID)) {
		record(c, AVIC_IPI_FAILURE_INVALID_TARGET, index);
		return;
	}
	deliver_entry(c, ptr, e, index, vector);
}

static void deliver_broadcast(struct icr_ctx *c, bool exclude_self, uint8_t vector)
{
	for (uint32_t i = 0; i <= c->max_index; i++) {
		uint64_t *ptr = phys_entry_ptr(c, i);
		uint64_t e;

		if (!ptr)
			continue;
		e = __atomic_load_n(ptr, __ATOMIC_ACQUIRE);
		if (!(e & AVIC_PHYSICAL_ID_ENTRY_VALID))
			continue;
		if (exclude_self &&
		    (e & AVIC_PHYSICAL_ID_ENTRY_BACKING_PAGE) == c->self_pa)
			continue;
		deliver_entry(c, ptr, e, i, vector);
	}
}

static void deliver_logical_index(struct icr_ctx *c, uint32_t index, uint8_t vector)
{
	uint32_t *ptr = host_va(c->logical_pa + (uint64_t)index * sizeof(uint32_t));
	uint32_t le;

	if (index > AVIC_LOGICAL_CLUSTER_MAX_INDEX || !ptr) {
		record(c, AVIC_IPI_FAILURE_INVALID_TARGET, index);
		return;
	}
	le = __atomic_load_n(ptr, __ATOMIC_ACQUIRE);
	if (!(le & AVIC_LOGICAL_ID_ENTRY_VALID)) {
		record(c, AVIC_IPI_FAILURE_INVALID_TARGET, index);
		return;
	}
	deliver_physical(c, (uint32_t)FIELD_GET(AVIC_LOGICAL_ID_ENTRY_GUEST_PHYSICAL_ID, le),
			 vector);
}

/* The flat or cluster model is the sender's own DFR, as on a real APIC. */
static void deliver_xapic_logical(struct icr_ctx *c, void *self, uint8_t dest,
				  uint8_t vector)
{
	uint32_t dfr = __atomic_load_n(apic_reg(self, APIC_DFR), __ATOMIC_RELAXED);
	uint32_t cluster = dest >> 4;

	if ((dfr >> 28) == 0xF) {
		for (uint32_t b = 0; b < 8; b++)
			if (dest & (1U << b))
				deliver_logical_index(c, b, vector);
		return;
	}
	/* Cluster 0xF lands past index 59 and so reports INVALID_TARGET. */
	for (uint32_t b = 0; b < 4; b++)
		if (dest & (1U << b))
			deliver_logical_index(c, (cluster << 2) + b, vector);
}

/* x2APIC logical IDs are derived from the destination, no table. */
static void deliver_x2apic_logical(struct icr_ctx *c, uint32_t dest, uint8_t vector)
{
	uint32_t cluster = dest >> 16;

	for (uint32_t b = 0; b < 16; b++)
		if (dest & (1U << b))
			deliver_physical(c, (cluster << 4) + b, vector);
}

int avic_cpu_icr_write(const struct vmcb_avic_control *vmcb, uint64_t icr,
		       const struct avic_cpu_opts *opts, struct avic_cpu_ipi *out)
{
	static const struct avic_cpu_opts no_opts;
	struct icr_ctx c = { .opts = opts ? opts : &no_opts, .out = out };
	uint32_t low = (uint32_t)icr, high = (uint32_t)(icr >> 32);
	uint8_t vector = (uint8_t)FIELD_GET(APIC_ICR_VECTOR, low);
	uint32_t shorthand = (uint32_t)FIELD_GET(APIC_ICR_SHORTHAND, low);
	bool x2apic;
	void *self;

	if (!vmcb || !out)
		return -EINVAL;
	if (!(vmcb->int_ctl & VMCB_INT_CTL_AVIC_ENABLE))
		return -ENODEV;
	*out = (struct avic_cpu_ipi){ .cause = AVIC_CPU_NO_CAUSE };
	x2apic = vmcb->int_ctl & VMCB_INT_CTL_X2APIC_MODE;
	c.self_pa = vmcb->avic_backing_page & VMCB_AVIC_ADDR_MASK;
	c.phys_pa = vmcb->avic_physical_id & VMCB_AVIC_ADDR_MASK;
	c.max_index = (uint32_t)(vmcb->avic_physical_id & VMCB_AVIC_PHYSICAL_MAX_INDEX);
	c.logical_pa = vmcb->avic_logical_id & VMCB_AVIC_ADDR_MASK;

	self = host_va(c.self_pa);
	if (!self) {
		record(&c, AVIC_IPI_FAILURE_INVALID_BACKING_PAGE, 0);
		goto done;
	}
	/* Trap-like: the write is architecturally done before any exit. */
	__atomic_store_n(apic_reg(self, APIC_ICR2), high, __ATOMIC_RELAXED);
	__atomic_store_n(apic_reg(self, APIC_ICR), low, __ATOMIC_RELAXED);

	if (FIELD_GET(APIC_ICR_DELIVERY_MODE, low) != APIC_DM_FIXED ||
	    (low & APIC_ICR_TRIGGER_LEVEL)) {
		record(&c, AVIC_IPI_FAILURE_INVALID_INT_TYPE, 0);
		goto done;
	}
	if (vector < 16) {
		record(&c, AVIC_IPI_FAILURE_INVALID_IPI_VECTOR, 0);
		goto done;
	}

	switch (shorthand) {
	case APIC_SH_SELF:
		/* No table lookup: works with IPIv off and under the erratum. */
		if (set_irr(self, vector))
			out->merged++;
		out->delivered++;
		goto done;
	case APIC_SH_ALL:
		deliver_broadcast(&c, false, vector);
		goto done;
	case APIC_SH_OTHERS:
		deliver_broadcast(&c, true, vector);
		goto done;
	default:
		break;
	}

	if (x2apic) {
		if (high == 0xFFFFFFFFU)
			deliver_broadcast(&c, false, vector);
		else if (low & APIC_ICR_DEST_LOGICAL)
			deliver_x2apic_logical(&c, high, vector);
		else
			deliver_physical(&c, high, vector);
	} else {
		uint8_t dest = (uint8_t)FIELD_GET(APIC_ICR2_XAPIC_DEST, high);

		if (low & APIC_ICR_DEST_LOGICAL)
			deliver_xapic_logical(&c, self, dest, vector);
		else if (dest == 0xFF)
			deliver_broadcast(&c, false, vector);
		else
			deliver_physical(&c, dest, vector);
	}

done:
	if (c.fail) {
		out->exit_code = SVM_EXIT_AVIC_INCOMPLETE_IPI;
		out->cause = c.fail_cause;
		out->exitinfo1 = icr;
		out->exitinfo2 = FIELD_PREP(AVIC_IPI_EXITINFO2_CAUSE, c.fail_cause) |
				 FIELD_PREP(AVIC_IPI_EXITINFO2_INDEX, c.fail_index);
	}
	return 0;
}

/*
 * Trap class: ID, EOI, RRD, LDR, DFR, SVR, ESR, ICR low, the LVTs,
 * initial count and divide configuration.  Every other offset faults,
 * ICR high and the current count included.
 */
enum avic_access_class avic_cpu_access_class(unsigned int offset)
{
	switch (offset & 0xFF0) {
	case APIC_ID: case APIC_EOI: case APIC_RRR: case APIC_LDR: case APIC_DFR:
	case APIC_SPIV: case APIC_ESR: case APIC_ICR: case APIC_LVTT:
	case APIC_LVTTHMR: case APIC_LVTPC: case APIC_LVT0: case APIC_LVT1:
	case APIC_LVTERR: case APIC_TMICT: case APIC_TDCR:
		return AVIC_ACCESS_TRAP;
	default:
		return AVIC_ACCESS_FAULT;
	}
}

int avic_cpu_apic_access(const struct vmcb_avic_control *vmcb, unsigned int offset, bool write,
			 uint32_t *val, struct avic_cpu_access *out)
{
	void *page;

	if (!vmcb || !val || !out || (offset & 0xF) || offset >= HOST_PAGE_SIZE ||
	    (write && offset == APIC_ICR))
		return -EINVAL;
	if (!(vmcb->int_ctl & VMCB_INT_CTL_AVIC_ENABLE))
		return -ENODEV;
	page = host_va(vmcb->avic_backing_page & VMCB_AVIC_ADDR_MASK);
	if (!page)
		return -EFAULT;
	*out = (struct avic_cpu_access){ 0 };
	if (avic_cpu_access_class(offset) == AVIC_ACCESS_TRAP) {
		if (!write) {
			*val = __atomic_load_n(apic_reg(page, offset), __ATOMIC_ACQUIRE);
			return 0;
		}
		/* Trap-like: the write is architecturally done before the exit. */
		__atomic_store_n(apic_reg(page, offset), *val, __ATOMIC_RELEASE);
	}
	out->exit_code = SVM_EXIT_AVIC_UNACCELERATED_ACCESS;
	out->exitinfo1 = offset | (write ? BIT_ULL(32) : 0);
	return 0;
}
