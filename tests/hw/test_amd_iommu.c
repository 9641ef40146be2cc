// SPDX-License-Identifier: MIT
/*
 * The AMD IOMMU guest-virtual-APIC model.  The tests play the hypervisor:
 * they program 128-bit IRTEs by hand for vCPUs of a real AVIC VM, own the
 * GA log and run a GA-log notifier that resolves tags the way KVM's does.
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include <vintc/amd_iommu.h>

#include "avic_util.h"

#define DEVID   0x1234
#define DEVID2  0x00A5

struct env {
	struct amd_iommu *iommu;
	uint64_t *irt;		/* 512 IRTEs, 8 KiB */
	uint64_t *log;		/* 512 GA log entries, 4 KiB */
};

static uint64_t rd(struct env *e, uint32_t off)
{
	return amd_iommu_read64(e->iommu, off);
}

static void wr(struct env *e, uint32_t off, uint64_t val)
{
	amd_iommu_write64(e->iommu, off, val);
}

static uint64_t log_base(struct env *e)
{
	return host_pa(e->log) | FIELD_PREP(AMD_IOMMU_GA_LOG_BASE_LEN, AMD_IOMMU_GA_LOG_LEN_512);
}

/* GA mode on; with ga_log, the log programmed and running with interrupts. */
static void env_init(struct env *e, bool ga_log)
{
	ASSERT_OK(amd_iommu_create(&e->iommu));
	e->irt = host_pages_alloc(HOST_TAG_MISC, 1, "test.irt");
	e->log = host_pages_alloc(HOST_TAG_MISC, 0, "test.galog");
	ASSERT(e->irt && e->log);
	ASSERT_OK(amd_iommu_set_irt(e->iommu, DEVID, host_pa(e->irt), AMD_IRTE_MAX_ENTRIES));
	wr(e, AMD_IOMMU_MMIO_GA_LOG_BASE, log_base(e));
	wr(e, AMD_IOMMU_MMIO_CONTROL, AMD_IOMMU_CONTROL_GA_EN | AMD_IOMMU_CONTROL_GAM_EN);
	if (ga_log) {
		wr(e, AMD_IOMMU_MMIO_CONTROL, rd(e, AMD_IOMMU_MMIO_CONTROL) |
		   AMD_IOMMU_CONTROL_GALOG_EN | AMD_IOMMU_CONTROL_GAINT_EN);
		ASSERT(rd(e, AMD_IOMMU_MMIO_STATUS) & AMD_IOMMU_STATUS_GALOG_RUN);
	}
}

static void env_fini(struct env *e)
{
	amd_iommu_destroy(e->iommu);
	host_pages_free(e->irt);
	host_pages_free(e->log);
	host_doorbell_set_handler(NULL, NULL);
}

/* The hypervisor's update: hi first, then lo with release (see hw/amd_iommu.c). */
static void irte_write(struct env *e, uint32_t index, uint64_t lo, uint64_t hi)
{
	__atomic_store_n(&e->irt[index * 2 + 1], hi, __ATOMIC_RELAXED);
	__atomic_store_n(&e->irt[index * 2], lo, __ATOMIC_RELEASE);
}

static uint64_t ga_lo(uint32_t tag, uint32_t dest, bool is_run, bool ga_log_intr)
{
	return AMD_IRTE_LO_VALID | AMD_IRTE_LO_GUEST_MODE | amd_irte_lo_dest(dest) |
	       FIELD_PREP(AMD_IRTE_LO_GA_TAG, tag) |
	       (is_run ? AMD_IRTE_LO_IS_RUN : 0) |
	       (ga_log_intr ? AMD_IRTE_LO_GA_LOG_INTR : 0);
}

static uint64_t ga_hi(struct vcpu *vcpu, uint8_t vector, uint32_t dest)
{
	return FIELD_PREP(AMD_IRTE_HI_VECTOR, vector) |
	       amd_irte_hi_root(to_avic_vcpu(vcpu)->backing_pa) | amd_irte_hi_dest(dest);
}

/* Program IRTE `index` to post `vector` to vcpu in guest mode. */
static void irte_ga(struct env *e, uint32_t index, struct vcpu *vcpu, uint8_t vector,
		    uint32_t dest, bool is_run, bool ga_log_intr)
{
	irte_write(e, index, ga_lo(avic_vcpu_gatag(vcpu), dest, is_run, ga_log_intr),
		   ga_hi(vcpu, vector, dest));
}

static bool irr_test(struct vcpu *vcpu, uint8_t vector)
{
	uint32_t *w = apic_reg(to_avic_vcpu(vcpu)->backing, APIC_VECTOR_WORD(APIC_IRR, vector));

	return __atomic_load_n(w, __ATOMIC_RELAXED) & (1U << APIC_VECTOR_BIT(vector));
}

static unsigned int irr_count(struct vcpu *vcpu)
{
	unsigned int n = 0;

	for (unsigned int v = 0; v < 256; v++)
		n += irr_test(vcpu, (uint8_t)v);
	return n;
}

/* ---- doorbell sink ------------------------------------------------------ */

struct doorbells {
	uint32_t a, b;			/* the two IDs being counted */
	uint64_t count_a, count_b, other;
	uint32_t last;
};

static void doorbell_fn(uint32_t host_apic_id, void *opaque)
{
	struct doorbells *d = opaque;

	if (host_apic_id == d->a)
		__atomic_add_fetch(&d->count_a, 1, __ATOMIC_RELAXED);
	else if (host_apic_id == d->b)
		__atomic_add_fetch(&d->count_b, 1, __ATOMIC_RELAXED);
	else
		__atomic_add_fetch(&d->other, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&d->last, host_apic_id, __ATOMIC_RELAXED);
}

/* ---- the GA-log notifier, as the hypervisor would write it ------------- */

#define NOTE_RECORDS 2048

struct note_record {
	uint32_t tag, devid, type;
	int rc;
	struct vcpu *vcpu;
};

struct notifier {
	struct env *e;
	pthread_mutex_t lock;		/* handler calls may come from 2 threads */
	bool consume;			/* false: leave entries, let the log fill */
	unsigned int calls, overflows_seen, entries;
	struct note_record rec[NOTE_RECORDS];
	struct vcpu *per_vcpu[2];	/* concurrency test: wake counts */
	uint64_t wakes[2];
};

static void resolve_cb(struct vcpu *vcpu, void *arg)
{
	*(struct vcpu **)arg = vcpu;
}

static void notifier_fn(struct amd_iommu *iommu, void *arg)
{
	struct notifier *n = arg;
	uint64_t head, tail, status;

	pthread_mutex_lock(&n->lock);
	n->calls++;
	status = amd_iommu_read64(iommu, AMD_IOMMU_MMIO_STATUS);
	if (status & AMD_IOMMU_STATUS_GALOG_OVERFLOW)
		n->overflows_seen++;
	/* Acknowledge first, so an entry written after the drain re-raises it. */
	amd_iommu_write64(iommu, AMD_IOMMU_MMIO_STATUS, AMD_IOMMU_STATUS_GA_INT);
	if (!n->consume)
		goto out;
	head = amd_iommu_read64(iommu, AMD_IOMMU_MMIO_GA_LOG_HEAD);
	tail = amd_iommu_read64(iommu, AMD_IOMMU_MMIO_GA_LOG_TAIL);
	while (head != tail) {
		uint64_t entry = __atomic_load_n(&n->e->log[head / 8], __ATOMIC_ACQUIRE);
		struct note_record *r = &n->rec[n->entries % NOTE_RECORDS];

		r->tag = (uint32_t)FIELD_GET(AMD_GA_LOG_ENTRY_TAG, entry);
		r->devid = (uint32_t)FIELD_GET(AMD_GA_LOG_ENTRY_DEVID, entry);
		r->type = (uint32_t)FIELD_GET(AMD_GA_LOG_ENTRY_TYPE, entry);
		r->vcpu = NULL;
		if (r->type == AMD_GA_LOG_TYPE_GUEST_NR)
			r->rc = avic_ga_tag_resolve(NULL, r->tag, resolve_cb, &r->vcpu);
		else
			r->rc = -EINVAL;
		for (int i = 0; i < 2; i++)
			if (r->vcpu && r->vcpu == n->per_vcpu[i])
				n->wakes[i]++;
		n->entries++;
		head = (head + AMD_GA_LOG_ENTRY_SIZE) % AMD_GA_LOG_SIZE;
	}
	amd_iommu_write64(iommu, AMD_IOMMU_MMIO_GA_LOG_HEAD, head);
out:
	pthread_mutex_unlock(&n->lock);
}

static void notifier_init(struct notifier *n, struct env *e)
{
	memset(n, 0, sizeof(*n));
	n->e = e;
	n->consume = true;
	pthread_mutex_init(&n->lock, NULL);
	amd_iommu_set_ga_log_handler(e->iommu, notifier_fn, n);
}

/* Reference 6.2, "overflow restart", step by step. */
static void ga_log_restart(struct env *e)
{
	uint64_t ctl = rd(e, AMD_IOMMU_MMIO_CONTROL);

	if (rd(e, AMD_IOMMU_MMIO_STATUS) & AMD_IOMMU_STATUS_GALOG_RUN)
		return;
	ctl &= ~(AMD_IOMMU_CONTROL_GALOG_EN | AMD_IOMMU_CONTROL_GAINT_EN);
	wr(e, AMD_IOMMU_MMIO_CONTROL, ctl);
	wr(e, AMD_IOMMU_MMIO_STATUS, AMD_IOMMU_STATUS_GALOG_OVERFLOW);
	ctl |= AMD_IOMMU_CONTROL_GALOG_EN | AMD_IOMMU_CONTROL_GAINT_EN;
	wr(e, AMD_IOMMU_MMIO_CONTROL, ctl);
}

/* ---- layouts --------------------------------------------------------------- */

TEST(amd_iommu_layout_irte)
{
	/* Reference 6.1, lo. */
	ASSERT_EQ(AMD_IRTE_LO_VALID, 1ULL << 0);
	ASSERT_EQ(AMD_IRTE_LO_NO_FAULT, 1ULL << 1);
	ASSERT_EQ(AMD_IRTE_LO_GA_LOG_INTR, 1ULL << 2);
	ASSERT_EQ(AMD_IRTE_LO_GA_RSVD, test_bits(5, 3));
	ASSERT_EQ(AMD_IRTE_LO_IS_RUN, 1ULL << 6);
	ASSERT_EQ(AMD_IRTE_LO_GUEST_MODE, 1ULL << 7);
	ASSERT_EQ(AMD_IRTE_LO_DEST_LO, test_bits(31, 8));
	ASSERT_EQ(AMD_IRTE_LO_GA_TAG, test_bits(63, 32));
	/* The GA view of lo covers all 64 bits exactly once. */
	ASSERT_EQ(AMD_IRTE_LO_VALID + AMD_IRTE_LO_NO_FAULT + AMD_IRTE_LO_GA_LOG_INTR +
		  AMD_IRTE_LO_GA_RSVD + AMD_IRTE_LO_IS_RUN + AMD_IRTE_LO_GUEST_MODE +
		  AMD_IRTE_LO_DEST_LO + AMD_IRTE_LO_GA_TAG, ~0ULL);
	/* Remapped view: 4:2 int_type, 5 rq_eoi, 6 dm, 7 guest_mode. */
	ASSERT_EQ(AMD_IRTE_LO_REMAP_INT_TYPE, test_bits(4, 2));
	ASSERT_EQ(AMD_IRTE_LO_REMAP_RQ_EOI, 1ULL << 5);
	ASSERT_EQ(AMD_IRTE_LO_REMAP_DM, 1ULL << 6);
	/* Reference 6.1, hi. */
	ASSERT_EQ(AMD_IRTE_HI_VECTOR, test_bits(7, 0));
	ASSERT_EQ(AMD_IRTE_HI_RSVD_LO, test_bits(11, 8));
	ASSERT_EQ(AMD_IRTE_HI_GA_ROOT_PTR, test_bits(51, 12));
	ASSERT_EQ(AMD_IRTE_HI_RSVD_HI, test_bits(55, 52));
	ASSERT_EQ(AMD_IRTE_HI_DEST_HI, test_bits(63, 56));
	ASSERT_EQ(AMD_IRTE_HI_VECTOR + AMD_IRTE_HI_RSVD_LO + AMD_IRTE_HI_GA_ROOT_PTR +
		  AMD_IRTE_HI_RSVD_HI + AMD_IRTE_HI_DEST_HI, ~0ULL);
	ASSERT_EQ(AMD_IRTE_SIZE, 16);
	ASSERT_EQ(AMD_IRTE_MAX_ENTRIES, 512);
	/* Destination: [23:0] in lo 31:8, [31:24] in hi 63:56. */
	ASSERT_EQ(amd_irte_lo_dest(0xA1B2C3D4), 0xB2C3D4ULL << 8);
	ASSERT_EQ(amd_irte_hi_dest(0xA1B2C3D4), 0xA1ULL << 56);
	ASSERT_EQ(amd_irte_dest(amd_irte_lo_dest(0xA1B2C3D4), amd_irte_hi_dest(0xA1B2C3D4)),
		  0xA1B2C3D4);
	ASSERT_EQ(amd_irte_dest(0xFFULL << 8, 0), 0xFF);
	/* ga_root_ptr is the backing PA >> 12, kept in place. */
	ASSERT_EQ(FIELD_GET(AMD_IRTE_HI_GA_ROOT_PTR, amd_irte_hi_root(0x12345678000ULL)),
		  0x12345678ULL);
	ASSERT_EQ(amd_irte_backing_pa(amd_irte_hi_root(0x12345678000ULL) | 0xFF), 0x12345678000ULL);
}

TEST(amd_iommu_layout_ga_log_and_mmio)
{
	ASSERT_EQ(AMD_GA_LOG_ENTRY_TAG, test_bits(31, 0));
	ASSERT_EQ(AMD_GA_LOG_ENTRY_DEVID, test_bits(47, 32));
	ASSERT_EQ(AMD_GA_LOG_ENTRY_TYPE, test_bits(63, 60));
	ASSERT_EQ(AMD_GA_LOG_TYPE_GUEST_NR, 1);
	ASSERT_EQ(AMD_GA_LOG_ENTRY_SIZE, 8);
	ASSERT_EQ(AMD_GA_LOG_ENTRIES, 512);
	ASSERT_EQ(AMD_GA_LOG_SIZE, 4096);
	ASSERT_EQ(AMD_IOMMU_MMIO_CONTROL, 0x0018);
	ASSERT_EQ(AMD_IOMMU_MMIO_GA_LOG_BASE, 0x00E0);
	ASSERT_EQ(AMD_IOMMU_MMIO_STATUS, 0x2020);
	ASSERT_EQ(AMD_IOMMU_MMIO_GA_LOG_HEAD, 0x2040);
	ASSERT_EQ(AMD_IOMMU_MMIO_GA_LOG_TAIL, 0x2048);
	ASSERT_EQ(AMD_IOMMU_GA_LOG_BASE_LEN, test_bits(59, 56));
	ASSERT_EQ(FIELD_PREP(AMD_IOMMU_GA_LOG_BASE_LEN, AMD_IOMMU_GA_LOG_LEN_512), 0x8ULL << 56);
	ASSERT_EQ(AMD_IOMMU_GA_LOG_BASE_ADDR, test_bits(51, 12));
	ASSERT_EQ(AMD_IOMMU_GA_LOG_PTR, test_bits(11, 3));
	ASSERT_EQ(AMD_IOMMU_CONTROL_GA_EN, 1ULL << 17);
	ASSERT_EQ(AMD_IOMMU_CONTROL_GAM_EN, 1ULL << 25);
	ASSERT_EQ(AMD_IOMMU_CONTROL_GALOG_EN, 1ULL << 28);
	ASSERT_EQ(AMD_IOMMU_CONTROL_GAINT_EN, 1ULL << 29);
	ASSERT_EQ(AMD_IOMMU_STATUS_GALOG_RUN, 1ULL << 8);
	ASSERT_EQ(AMD_IOMMU_STATUS_GALOG_OVERFLOW, 1ULL << 9);
	ASSERT_EQ(AMD_IOMMU_STATUS_GA_INT, 1ULL << 10);
}

/* ---- registers -------------------------------------------------------------- */

TEST(amd_iommu_registers)
{
	struct env e;

	ASSERT_OK(amd_iommu_create(&e.iommu));
	e.log = host_pages_alloc(HOST_TAG_MISC, 0, "test.galog");
	e.irt = NULL;
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_CONTROL), 0);
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_STATUS), 0);

	/* GALogRun is read-only. */
	wr(&e, AMD_IOMMU_MMIO_STATUS, ~0ULL);
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_STATUS), 0);

	/* A length code other than 512 entries keeps the log from running. */
	wr(&e, AMD_IOMMU_MMIO_GA_LOG_BASE, host_pa(e.log) | FIELD_PREP(AMD_IOMMU_GA_LOG_BASE_LEN, 7));
	wr(&e, AMD_IOMMU_MMIO_CONTROL, AMD_IOMMU_CONTROL_GALOG_EN);
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_STATUS), 0);
	wr(&e, AMD_IOMMU_MMIO_CONTROL, 0);

	/* Base keeps address and length only; head/tail an 8-byte offset < 4 KiB. */
	wr(&e, AMD_IOMMU_MMIO_GA_LOG_BASE, log_base(&e) | 0xFFF | (0xFULL << 60));
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_GA_LOG_BASE), log_base(&e));
	wr(&e, AMD_IOMMU_MMIO_GA_LOG_HEAD, 0x1FFF);
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_GA_LOG_HEAD), 0xFF8);
	wr(&e, AMD_IOMMU_MMIO_GA_LOG_TAIL, 0x10);
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_GA_LOG_TAIL), 0x10);
	wr(&e, AMD_IOMMU_MMIO_GA_LOG_HEAD, 0);
	wr(&e, AMD_IOMMU_MMIO_GA_LOG_TAIL, 0);

	/* The 0 -> 1 edge of GALOG_EN with a valid base starts the log. */
	wr(&e, AMD_IOMMU_MMIO_CONTROL, AMD_IOMMU_CONTROL_GALOG_EN);
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_CONTROL), AMD_IOMMU_CONTROL_GALOG_EN);
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_STATUS), AMD_IOMMU_STATUS_GALOG_RUN);
	/* Writing 1 to the read-only bit doesn't stop it either. */
	wr(&e, AMD_IOMMU_MMIO_STATUS, AMD_IOMMU_STATUS_GALOG_RUN);
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_STATUS), AMD_IOMMU_STATUS_GALOG_RUN);
	wr(&e, AMD_IOMMU_MMIO_CONTROL, 0);
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_STATUS), 0);

	/* Unknown offsets read as zero. */
	wr(&e, 0x2050, ~0ULL);
	ASSERT_EQ(rd(&e, 0x2050), 0);
	/* IRT sizes beyond 512 or misaligned are refused. */
	ASSERT_EQ(amd_iommu_set_irt(e.iommu, 1, 0x10000, 513), -EINVAL);
	ASSERT_EQ(amd_iommu_set_irt(e.iommu, 1, 0x10008, 1), -EINVAL);
	amd_iommu_destroy(e.iommu);
	host_pages_free(e.log);
}

/* ---- delivery ------------------------------------------------------------------ */

TEST(amd_iommu_isrun_rings_doorbell)
{
	static const uint32_t apic_ids[] = { 0, 0x1A5, 0x2FF, 3 };
	struct doorbells d = { .a = 0x1A5, .b = 0x7E0001A5 };
	struct amd_iommu_stats st;
	struct vm *vm = avic_vm_new(AVIC_MODEL_X2AVIC_4K, 0, NULL);
	struct vcpu *vcpu = avic_vcpu_new(vm, 5);
	uint64_t rings;
	struct env e;

	ASSERT_OK(host_cpus_set(ARRAY_SIZE(apic_ids), apic_ids));
	env_init(&e, true);
	host_doorbell_set_handler(doorbell_fn, &d);
	ASSERT_EQ(host_cpu_apic_id(1), 0x1A5);

	/* Running on CPU 1 (APIC ID >= 256): GALogIntr must not matter. */
	irte_ga(&e, 7, vcpu, 0x61, (uint32_t)host_cpu_apic_id(1), true, true);
	rings = host_doorbell_count();
	ASSERT(!irr_test(vcpu, 0x61));
	ASSERT_OK(amd_iommu_device_interrupt(e.iommu, DEVID, 7));
	ASSERT(irr_test(vcpu, 0x61));
	ASSERT_EQ(irr_count(vcpu), 1);
	ASSERT_EQ(host_doorbell_count(), rings + 1);
	ASSERT_EQ(d.count_a, 1);
	ASSERT_EQ(d.last, 0x1A5);
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_GA_LOG_TAIL), 0);
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_STATUS), AMD_IOMMU_STATUS_GALOG_RUN);

	/* A 32-bit destination: its top byte comes from hi 63:56. */
	irte_ga(&e, 8, vcpu, 0xE2, d.b, true, false);
	ASSERT_OK(amd_iommu_device_interrupt(e.iommu, DEVID, 8));
	ASSERT(irr_test(vcpu, 0xE2));
	ASSERT_EQ(d.count_b, 1);
	ASSERT_EQ(d.other, 0);
	ASSERT_EQ(d.last, 0x7E0001A5);

	amd_iommu_get_stats(e.iommu, &st);
	ASSERT_EQ(st.interrupts, 2);
	ASSERT_EQ(st.irr_set, 2);
	ASSERT_EQ(st.doorbells, 2);
	ASSERT_EQ(st.ga_log_entries, 0);
	ASSERT_EQ(st.ga_log_irqs, 0);
	env_fini(&e);
	vm_destroy(vm);
	ASSERT_EQ(pages_out(), 0);
}

TEST(amd_iommu_not_running_logs_tag)
{
	struct vm *vm = avic_vm_new(AVIC_MODEL_X2AVIC_4K, 0, NULL);
	struct vcpu *first = NULL, *last = NULL;
	struct amd_iommu_stats st;
	struct notifier *n = calloc(1, sizeof(*n));
	uint64_t rings = host_doorbell_count();
	struct env e;

	ASSERT(n);
	/* Index 299 needs the tag's 12-bit index field (8 bits would alias 43). */
	for (uint32_t i = 0; i < 300; i++) {
		struct vcpu *v = avic_vcpu_new(vm, i);

		if (!i)
			first = v;
		last = v;
	}
	ASSERT_EQ(last->vcpu_idx, 299);
	env_init(&e, true);
	notifier_init(n, &e);

	irte_ga(&e, 0, first, 0x40, 0, false, true);
	irte_ga(&e, 511, last, 0x41, 0, false, true);
	ASSERT_OK(amd_iommu_device_interrupt(e.iommu, DEVID, 511));

	/* Exactly one entry, read here before the notifier consumed it... */
	ASSERT_EQ(n->calls, 1);
	ASSERT_EQ(n->entries, 1);
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_GA_LOG_TAIL), 8);
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_GA_LOG_HEAD), 8);
	ASSERT_EQ(e.log[0], (uint64_t)avic_vcpu_gatag(last) | (uint64_t)DEVID << 32 | 1ULL << 60);
	ASSERT_EQ(e.log[1], 0);
	/* ...and as the notifier decoded and resolved it. */
	ASSERT_EQ(n->rec[0].tag, avic_vcpu_gatag(last));
	ASSERT_EQ(n->rec[0].devid, DEVID);
	ASSERT_EQ(n->rec[0].type, AMD_GA_LOG_TYPE_GUEST_NR);
	ASSERT_OK(n->rec[0].rc);
	ASSERT(n->rec[0].vcpu == last);
	ASSERT(irr_test(last, 0x41));
	ASSERT_EQ(irr_count(first), 0);
	/* The notifier acknowledged GAInt; the model had set it. */
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_STATUS), AMD_IOMMU_STATUS_GALOG_RUN);

	/* GAInt shows while nobody acknowledges it. */
	amd_iommu_set_ga_log_handler(e.iommu, NULL, NULL);
	ASSERT_OK(amd_iommu_device_interrupt(e.iommu, DEVID, 0));
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_STATUS),
		  AMD_IOMMU_STATUS_GALOG_RUN | AMD_IOMMU_STATUS_GA_INT);
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_GA_LOG_TAIL), 16);
	ASSERT_EQ(n->calls, 1);
	amd_iommu_set_ga_log_handler(e.iommu, notifier_fn, n);

	/* The second device, the first vCPU: one more call, one more entry. */
	ASSERT_OK(amd_iommu_set_irt(e.iommu, DEVID2, host_pa(e.irt), 1));
	ASSERT_OK(amd_iommu_device_interrupt(e.iommu, DEVID2, 0));
	ASSERT_EQ(n->calls, 2);
	ASSERT_EQ(n->entries, 3);
	ASSERT(n->rec[1].vcpu == first && n->rec[2].vcpu == first);
	ASSERT_EQ(n->rec[1].devid, DEVID);
	ASSERT_EQ(n->rec[2].devid, DEVID2);
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_GA_LOG_HEAD), 24);
	ASSERT(irr_test(first, 0x40));

	amd_iommu_get_stats(e.iommu, &st);
	ASSERT_EQ(st.ga_log_entries, 3);
	ASSERT_EQ(st.ga_log_irqs, 2);
	ASSERT_EQ(st.doorbells, 0);
	ASSERT_EQ(host_doorbell_count(), rings);
	env_fini(&e);
	vm_destroy(vm);
	/* After teardown the tag names nothing. */
	ASSERT_EQ(avic_ga_tag_resolve(NULL, n->rec[0].tag, NULL, NULL), -ENOENT);
	free(n);
}

TEST(amd_iommu_not_running_no_log_intr_is_irr_only)
{
	struct vm *vm = avic_vm_new(AVIC_MODEL_X2AVIC, 0, NULL);
	struct vcpu *vcpu = avic_vcpu_new(vm, 3);
	struct notifier *n = calloc(1, sizeof(*n));
	uint64_t rings = host_doorbell_count();
	struct amd_iommu_stats st;
	struct env e;

	ASSERT(n);
	env_init(&e, true);
	notifier_init(n, &e);
	irte_ga(&e, 2, vcpu, 0x33, 0x1A5, false, false);
	ASSERT_OK(amd_iommu_device_interrupt(e.iommu, DEVID, 2));
	ASSERT(irr_test(vcpu, 0x33));
	ASSERT_EQ(irr_count(vcpu), 1);
	ASSERT_EQ(host_doorbell_count(), rings);
	ASSERT_EQ(n->calls, 0);
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_GA_LOG_TAIL), 0);
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_STATUS), AMD_IOMMU_STATUS_GALOG_RUN);
	ASSERT_EQ(e.log[0], 0);
	amd_iommu_get_stats(e.iommu, &st);
	ASSERT_EQ(st.irr_only, 1);
	ASSERT_EQ(st.irr_set, 1);
	env_fini(&e);
	vm_destroy(vm);
	free(n);
}

TEST(amd_iommu_dropped_and_remapped)
{
	struct vm *vm = avic_vm_new(AVIC_MODEL_X2AVIC, 0, NULL);
	struct vcpu *vcpu = avic_vcpu_new(vm, 1);
	struct notifier *n = calloc(1, sizeof(*n));
	uint64_t rings = host_doorbell_count();
	uint64_t lo = ga_lo(avic_vcpu_gatag(vcpu), 0x1A5, true, true);
	uint64_t hi = ga_hi(vcpu, 0x50, 0x1A5);
	struct amd_iommu_stats st;
	struct env e;

	ASSERT(n);
	env_init(&e, true);
	notifier_init(n, &e);

	/* Everything set but Valid: nothing happens at all. */
	irte_write(&e, 3, lo & ~AMD_IRTE_LO_VALID, hi);
	ASSERT_EQ(amd_iommu_device_interrupt(e.iommu, DEVID, 3), -ENOENT);
	irte_write(&e, 3, (lo & ~AMD_IRTE_LO_VALID) | AMD_IRTE_LO_NO_FAULT, hi);
	ASSERT_EQ(amd_iommu_device_interrupt(e.iommu, DEVID, 3), -ENOENT);
	/* Beyond the table, and a device without one. */
	ASSERT_OK(amd_iommu_set_irt(e.iommu, DEVID2, host_pa(e.irt), 3));
	irte_write(&e, 4, lo, hi);
	ASSERT_EQ(amd_iommu_device_interrupt(e.iommu, DEVID2, 3), -ENOENT);
	ASSERT_EQ(amd_iommu_device_interrupt(e.iommu, 0x7777, 0), -ENODEV);
	/* Valid but not guest mode: remapped, not posted. */
	irte_write(&e, 5, lo & ~AMD_IRTE_LO_GUEST_MODE, hi);
	ASSERT_OK(amd_iommu_device_interrupt(e.iommu, DEVID, 5));
	/* A root pointer that translates nowhere. */
	irte_write(&e, 6, lo, (hi & ~AMD_IRTE_HI_GA_ROOT_PTR) | amd_irte_hi_root(0x1000));
	ASSERT_EQ(amd_iommu_device_interrupt(e.iommu, DEVID, 6), -EFAULT);

	ASSERT_EQ(irr_count(vcpu), 0);
	ASSERT_EQ(host_doorbell_count(), rings);
	ASSERT_EQ(n->calls, 0);
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_GA_LOG_TAIL), 0);
	amd_iommu_get_stats(e.iommu, &st);
	ASSERT_EQ(st.interrupts, 6);
	ASSERT_EQ(st.not_valid, 3);
	ASSERT_EQ(st.io_page_faults, 2);	/* not the NoFault one */
	ASSERT_EQ(st.no_table, 1);
	ASSERT_EQ(st.remapped, 1);
	ASSERT_EQ(st.bad_address, 1);
	ASSERT_EQ(st.irr_set, 0);

	/* GAM_EN clear: a guest-mode IRTE acts as remapped. */
	wr(&e, AMD_IOMMU_MMIO_CONTROL,
	   rd(&e, AMD_IOMMU_MMIO_CONTROL) & ~AMD_IOMMU_CONTROL_GAM_EN);
	ASSERT_OK(amd_iommu_device_interrupt(e.iommu, DEVID, 4));
	ASSERT_EQ(irr_count(vcpu), 0);
	/* GA_EN clear: 32-bit IRTEs, not modelled. */
	wr(&e, AMD_IOMMU_MMIO_CONTROL,
	   rd(&e, AMD_IOMMU_MMIO_CONTROL) & ~AMD_IOMMU_CONTROL_GA_EN);
	ASSERT_EQ(amd_iommu_device_interrupt(e.iommu, DEVID, 4), -EOPNOTSUPP);
	ASSERT_EQ(irr_count(vcpu), 0);
	ASSERT_EQ(host_doorbell_count(), rings);
	amd_iommu_get_stats(e.iommu, &st);
	ASSERT_EQ(st.remapped, 2);
	ASSERT_EQ(st.unsupported, 1);

	/* The same IRTE with GA on again does post: the drops above were real. */
	wr(&e, AMD_IOMMU_MMIO_CONTROL, rd(&e, AMD_IOMMU_MMIO_CONTROL) |
	   AMD_IOMMU_CONTROL_GA_EN | AMD_IOMMU_CONTROL_GAM_EN);
	ASSERT_OK(amd_iommu_device_interrupt(e.iommu, DEVID, 4));
	ASSERT(irr_test(vcpu, 0x50));
	ASSERT_EQ(host_doorbell_count(), rings + 1);
	env_fini(&e);
	vm_destroy(vm);
	free(n);
}

/* ---- the GA log ring --------------------------------------------------------- */

TEST(amd_iommu_ga_log_wraps)
{
	struct vm *vm = avic_vm_new(AVIC_MODEL_X2AVIC_4K, 0, NULL);
	struct notifier *n = calloc(1, sizeof(*n));
	struct vcpu *v[2];
	unsigned int total = 1100;	/* a bit over twice round the 512-entry ring */
	struct env e;

	ASSERT(n);
	v[0] = avic_vcpu_new(vm, 0);
	for (uint32_t i = 1; i < 260; i++)
		v[1] = avic_vcpu_new(vm, i);
	env_init(&e, true);
	notifier_init(n, &e);
	irte_ga(&e, 10, v[0], 0x70, 0, false, true);
	irte_ga(&e, 11, v[1], 0x71, 0, false, true);

	for (unsigned int i = 0; i < total; i++)
		ASSERT_OK(amd_iommu_device_interrupt(e.iommu, DEVID, 10 + (i & 1)));
	ASSERT_EQ(n->calls, total);
	ASSERT_EQ(n->entries, total);
	ASSERT_EQ(n->overflows_seen, 0);
	for (unsigned int i = 0; i < total; i++) {
		ASSERT_OK(n->rec[i].rc);
		ASSERT(n->rec[i].vcpu == v[i & 1]);
		ASSERT_EQ(n->rec[i].tag, avic_vcpu_gatag(v[i & 1]));
	}
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_GA_LOG_TAIL), (total * 8) % 4096);
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_GA_LOG_HEAD), (total * 8) % 4096);
	/* The slot just before the tail holds the last entry, in place. */
	ASSERT_EQ(FIELD_GET(AMD_GA_LOG_ENTRY_TAG, e.log[(total - 1) % 512]),
		  avic_vcpu_gatag(v[(total - 1) & 1]));
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_STATUS), AMD_IOMMU_STATUS_GALOG_RUN);
	env_fini(&e);
	vm_destroy(vm);
	free(n);
}

TEST(amd_iommu_ga_log_overflow_and_restart)
{
	struct vm *vm = avic_vm_new(AVIC_MODEL_X2AVIC, 0, NULL);
	struct vcpu *vcpu = avic_vcpu_new(vm, 9);
	struct notifier *n = calloc(1, sizeof(*n));
	struct amd_iommu_stats st;
	uint64_t slot;
	struct env e;

	ASSERT(n);
	env_init(&e, true);
	notifier_init(n, &e);
	n->consume = false;
	irte_ga(&e, 0, vcpu, 0x90, 0, false, true);

	/* 511 entries fill the log (one slot stays empty). */
	for (unsigned int i = 0; i < 511; i++)
		ASSERT_OK(amd_iommu_device_interrupt(e.iommu, DEVID, 0));
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_GA_LOG_TAIL), 511 * 8);
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_STATUS), AMD_IOMMU_STATUS_GALOG_RUN);
	ASSERT_EQ(n->calls, 511);
	ASSERT_EQ(n->overflows_seen, 0);
	slot = e.log[511];
	ASSERT_EQ(slot, 0);

	/* The 512th overflows: dropped, log stopped, interrupt raised. */
	ASSERT_OK(amd_iommu_device_interrupt(e.iommu, DEVID, 0));
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_GA_LOG_TAIL), 511 * 8);
	ASSERT_EQ(e.log[511], 0);
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_STATUS), AMD_IOMMU_STATUS_GALOG_OVERFLOW);
	ASSERT_EQ(n->calls, 512);
	ASSERT_EQ(n->overflows_seen, 1);
	ASSERT(irr_test(vcpu, 0x90));

	/* Draining alone does not bring it back. */
	n->consume = true;
	notifier_fn(e.iommu, n);
	ASSERT_EQ(n->entries, 511);
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_GA_LOG_HEAD), 511 * 8);
	ASSERT_OK(amd_iommu_device_interrupt(e.iommu, DEVID, 0));
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_GA_LOG_TAIL), 511 * 8);
	/* Nor does clearing the overflow bit, nor toggling GALOG_EN over it. */
	wr(&e, AMD_IOMMU_MMIO_CONTROL,
	   rd(&e, AMD_IOMMU_MMIO_CONTROL) & ~AMD_IOMMU_CONTROL_GALOG_EN);
	wr(&e, AMD_IOMMU_MMIO_CONTROL,
	   rd(&e, AMD_IOMMU_MMIO_CONTROL) | AMD_IOMMU_CONTROL_GALOG_EN);
	ASSERT_OK(amd_iommu_device_interrupt(e.iommu, DEVID, 0));
	wr(&e, AMD_IOMMU_MMIO_STATUS, AMD_IOMMU_STATUS_GALOG_OVERFLOW);
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_STATUS), 0);
	ASSERT_OK(amd_iommu_device_interrupt(e.iommu, DEVID, 0));
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_GA_LOG_TAIL), 511 * 8);
	ASSERT_EQ(n->calls, 513);	/* only the explicit drain call */
	amd_iommu_get_stats(e.iommu, &st);
	ASSERT_EQ(st.ga_log_overflows, 1);
	ASSERT_EQ(st.ga_log_dropped, 3);

	/* The restart procedure: logging works again, and wraps at 4 KiB. */
	ga_log_restart(&e);
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_STATUS), AMD_IOMMU_STATUS_GALOG_RUN);
	ASSERT_OK(amd_iommu_device_interrupt(e.iommu, DEVID, 0));
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_GA_LOG_TAIL), 0);
	ASSERT_EQ(e.log[511], (uint64_t)avic_vcpu_gatag(vcpu) | (uint64_t)DEVID << 32 | 1ULL << 60);
	ASSERT_EQ(n->calls, 514);
	ASSERT_EQ(n->entries, 512);
	ASSERT(n->rec[511].vcpu == vcpu);
	/* Restarting a running log changes nothing. */
	ga_log_restart(&e);
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_STATUS), AMD_IOMMU_STATUS_GALOG_RUN);
	env_fini(&e);
	vm_destroy(vm);
	free(n);
}

/* ---- concurrency -------------------------------------------------------------- */

#define CONC_ITERS 3000

struct device_thread {
	struct env *e;
	uint32_t index;
	int errors;
};

static void *device_thread_fn(void *arg)
{
	struct device_thread *t = arg;

	for (unsigned int i = 0; i < CONC_ITERS; i++)
		if (amd_iommu_device_interrupt(t->e->iommu, DEVID, t->index))
			t->errors++;
	return NULL;
}

TEST(amd_iommu_concurrent_devices)
{
	struct doorbells d = { .a = 0x1A5, .b = 0x2FF };
	struct vm *vm = avic_vm_new(AVIC_MODEL_X2AVIC, 0, NULL);
	struct vcpu *running = avic_vcpu_new(vm, 1);
	struct vcpu *blocked = avic_vcpu_new(vm, 2);
	struct notifier *n = calloc(1, sizeof(*n));
	struct device_thread t[2];
	pthread_t th[2];
	struct amd_iommu_stats st;
	struct env e;
	unsigned int moves = 0;

	ASSERT(n);
	env_init(&e, true);
	notifier_init(n, &e);
	n->per_vcpu[0] = running;
	n->per_vcpu[1] = blocked;
	host_doorbell_set_handler(doorbell_fn, &d);
	irte_ga(&e, 20, running, 0x80, d.a, true, false);
	irte_ga(&e, 21, blocked, 0x81, 0, false, true);

	for (int i = 0; i < 2; i++) {
		t[i] = (struct device_thread){ .e = &e, .index = 20 + (uint32_t)i };
		ASSERT_OK(pthread_create(&th[i], NULL, device_thread_fn, &t[i]));
	}
	/* Meanwhile the hypervisor migrates the running vCPU back and forth. */
	do {
		irte_ga(&e, 20, running, 0x80, moves & 1 ? d.a : d.b, true, false);
		moves++;
	} while (__atomic_load_n(&d.count_a, __ATOMIC_RELAXED) +
		 __atomic_load_n(&d.count_b, __ATOMIC_RELAXED) < CONC_ITERS / 2);
	for (int i = 0; i < 2; i++) {
		ASSERT_OK(pthread_join(th[i], NULL));
		ASSERT_EQ(t[i].errors, 0);
	}

	ASSERT_EQ(d.count_a + d.count_b, CONC_ITERS);
	ASSERT_EQ(d.other, 0);
	ASSERT_EQ(n->wakes[1], CONC_ITERS);
	ASSERT_EQ(n->wakes[0], 0);
	ASSERT_EQ(n->entries, CONC_ITERS);
	ASSERT_EQ(n->calls, CONC_ITERS);
	ASSERT(irr_test(running, 0x80) && irr_test(blocked, 0x81));
	ASSERT_EQ(irr_count(running) + irr_count(blocked), 2);
	amd_iommu_get_stats(e.iommu, &st);
	ASSERT_EQ(st.interrupts, 2 * CONC_ITERS);
	ASSERT_EQ(st.irr_set, 2 * CONC_ITERS);
	ASSERT_EQ(st.doorbells, CONC_ITERS);
	ASSERT_EQ(st.ga_log_entries, CONC_ITERS);
	ASSERT_EQ(st.ga_log_overflows, 0);
	ASSERT_EQ(rd(&e, AMD_IOMMU_MMIO_GA_LOG_HEAD), rd(&e, AMD_IOMMU_MMIO_GA_LOG_TAIL));
	env_fini(&e);
	vm_destroy(vm);
	pthread_mutex_destroy(&n->lock);
	free(n);
}

/* ---- IRT invalidation and completion wait ---------------------------------- */

#define PAUSE_LIMIT_NS (2ULL * 1000 * 1000 * 1000)

/* Yield until *flag is set; false if limit_ns pass first. */
static bool wait_flag(const uint32_t *flag, uint64_t limit_ns)
{
	uint64_t end = host_now_ns() + limit_ns;

	while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE)) {
		if (host_now_ns() > end)
			return false;
		sched_yield();
	}
	return true;
}

struct paused_post {
	struct env *e;
	uint32_t index;
	int rc;
	uint32_t paused;		/* the first posting is inside the hook */
	uint32_t release;		/* ...and may go on */
	uint32_t hook_timed_out;
	uint32_t waited;		/* the completion wait returned */
	uint32_t waited_in_hook;	/* ...as the paused posting saw it at release */
};

/* Holds the first guest-mode posting between its IRTE read and IRR write. */
static void pause_hook(struct amd_iommu *iommu, uint16_t devid, uint32_t index, void *arg)
{
	struct paused_post *p = arg;

	(void)iommu;
	(void)devid;
	(void)index;
	if (__atomic_load_n(&p->paused, __ATOMIC_ACQUIRE))
		return;
	__atomic_store_n(&p->paused, 1, __ATOMIC_RELEASE);
	if (!wait_flag(&p->release, PAUSE_LIMIT_NS))
		__atomic_store_n(&p->hook_timed_out, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&p->waited_in_hook, __atomic_load_n(&p->waited, __ATOMIC_ACQUIRE),
			 __ATOMIC_RELAXED);
}

static void *paused_device_fn(void *arg)
{
	struct paused_post *p = arg;

	p->rc = amd_iommu_device_interrupt(p->e->iommu, DEVID, p->index);
	return NULL;
}

static void *completion_wait_fn(void *arg)
{
	struct paused_post *p = arg;

	amd_iommu_completion_wait(p->e->iommu);
	__atomic_store_n(&p->waited, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * An interrupt paused in the middle of posting through the old IRTE (to a)
 * while the hypervisor points the IRTE at b and flushes: COMPLETION_WAIT
 * returns only after that posting has finished, and the next interrupt
 * posts to b.
 */
TEST(amd_iommu_completion_wait_waits_for_posting)
{
	struct vm *vm = avic_vm_new(AVIC_MODEL_X2AVIC, 0, NULL);
	struct vcpu *a = avic_vcpu_new(vm, 1);
	struct vcpu *b = avic_vcpu_new(vm, 2);
	struct paused_post p = { .index = 4 };
	struct amd_iommu_stats st;
	pthread_t dev, waiter;
	uint64_t end;
	struct env e;

	env_init(&e, false);
	p.e = &e;
	/* Nothing in flight: returns at once, having waited for nothing. */
	amd_iommu_completion_wait(e.iommu);
	amd_iommu_get_stats(e.iommu, &st);
	ASSERT_EQ(st.completion_waits, 1);
	ASSERT_EQ(st.completion_stalls, 0);
	ASSERT_EQ(amd_iommu_invalidate_irt(e.iommu, 0x10000), -EINVAL);
	ASSERT_EQ(amd_iommu_invalidate_irt(e.iommu, UINT32_MAX), -EINVAL);
	ASSERT_OK(amd_iommu_invalidate_irt(e.iommu, 0xFFFF));

	irte_ga(&e, 4, a, 0x61, 0, false, false);
	amd_iommu_set_posting_hook(e.iommu, pause_hook, &p);
	ASSERT_OK(pthread_create(&dev, NULL, paused_device_fn, &p));
	ASSERT(wait_flag(&p.paused, PAUSE_LIMIT_NS));
	ASSERT_EQ(irr_count(a), 0);

	/* The hypervisor moves the IRTE to b: leave guest mode, rewrite, flush. */
	irte_write(&e, 4, 0, 0);
	irte_ga(&e, 4, b, 0x62, 0, false, false);
	ASSERT_OK(amd_iommu_invalidate_irt(e.iommu, DEVID));
	ASSERT_OK(pthread_create(&waiter, NULL, completion_wait_fn, &p));
	end = host_now_ns() + PAUSE_LIMIT_NS;
	do {
		amd_iommu_get_stats(e.iommu, &st);
		ASSERT(host_now_ns() < end);
		sched_yield();
	} while (st.completion_waits < 2);
	/*
	 * The wait has been issued.  Give a wait that does not wait time to
	 * return (a correct one never does while the posting is held).
	 */
	end = host_now_ns() + 50 * 1000 * 1000;
	while (!__atomic_load_n(&p.waited, __ATOMIC_ACQUIRE) && host_now_ns() < end)
		sched_yield();
	ASSERT_EQ(__atomic_load_n(&p.waited, __ATOMIC_ACQUIRE), 0);

	__atomic_store_n(&p.release, 1, __ATOMIC_RELEASE);
	ASSERT(wait_flag(&p.waited, PAUSE_LIMIT_NS));
	ASSERT_OK(pthread_join(dev, NULL));
	ASSERT_OK(pthread_join(waiter, NULL));
	ASSERT_EQ(p.hook_timed_out, 0);
	ASSERT_EQ(p.waited_in_hook, 0);
	/* The paused posting used its own copy: a's page, a's vector. */
	ASSERT_OK(p.rc);
	ASSERT_EQ(irr_count(a), 1);
	ASSERT_EQ(irr_count(b), 0);
	amd_iommu_get_stats(e.iommu, &st);
	ASSERT_EQ(st.completion_waits, 2);
	ASSERT_EQ(st.completion_stalls, 1);
	ASSERT_EQ(st.irt_invalidations, 2);

	/* After the flush the next interrupt sees the new IRTE. */
	ASSERT_OK(amd_iommu_device_interrupt(e.iommu, DEVID, 4));
	ASSERT(irr_test(b, 0x62));
	ASSERT_EQ(irr_count(b), 1);
	ASSERT_EQ(irr_count(a), 1);
	amd_iommu_set_posting_hook(e.iommu, NULL, NULL);
	env_fini(&e);
	vm_destroy(vm);
}
