// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the KVM runner's userspace local APIC (kvm/lapic.c) on
 * the AVIC model, in a VM of 1..8 vCPUs, driven the way kvm/run.c drives it
 * but from a byte string, single-threaded and without the timer thread.
 *
 * Input: byte 0 picks the vCPU count; then operations, each an opcode byte,
 * a vCPU byte and the operands it needs (reads past the end give zeros):
 *   register write / read (aligned xAPIC offsets, sometimes any offset),
 *   ICR2 + ICR writes (any destination, mode, shorthand, vector),
 *   accept (inject the highest deliverable vector), EOI, CR8 write,
 *   INIT reset, vCPU load/put on a host CPU with guest-mode entry/exit,
 *   blocking/unblocking, a device or timer interrupt (avic_deliver),
 *   taking the pending INIT/SIPI/NMI events, guest writes of
 *   IA32_APIC_BASE (any page, EN, EXTD, BSP, a stray bit; x2APIC in CPUID
 *   or not; MAXPHYADDR 36..52) and x2APIC MSR accesses
 *   (vkvm_lapic_msr), MMIO only while the xAPIC page answers; and, below
 *   the runner, any ICR through the silicon model (avic_cpu_icr_write) and
 *   any EXITINFO for the incomplete-IPI and unaccelerated-access handlers.
 *
 * Invariants, after every operation and for every vCPU:
 *   - IRR and ISR hold no vector below 16;
 *   - TPR fits in 8 bits and PPR is what TPR and the highest in-service
 *     vector make it (recomputed here independently);
 *   - an accepted vector was the highest IRR vector, >= 16, of a class above
 *     PPR's; afterwards it is in ISR and no longer in IRR; nothing is
 *     accepted when no such vector exists;
 *   - the physical APIC ID table entry is Valid, points at the vCPU's
 *     backing page, never shows the software-only GALogIntr bit, and has
 *     IsRunning exactly when the vCPU is loaded, not blocking and was
 *     loaded while APIC virtualisation was active, with the host APIC ID
 *     of the CPU it was loaded on;
 *   - a valid logical-table entry names a vCPU of the VM;
 *   - an INIT level de-assert IPI makes no INIT event anywhere;
 *   - the exit handlers return what avic.h documents (-EINVAL exactly for
 *     an unknown incomplete-IPI cause), and a model ICR write is handled;
 *   - vkvm_lapic_msr returns 0, 1 (only for a TPR write) or -EINVAL, and
 *     always -EINVAL outside x2APIC mode; x2APIC ICR and EOI writes of
 *     valid values are never refused;
 *   - the AVIC vCPU is in x2AVIC mode exactly when IA32_APIC_BASE says
 *     x2APIC; an IA32_APIC_BASE write is refused exactly when the SDM says
 *     #GP (recomputed here), and a legal one is taken whole: a change of EN
 *     leaves the power-up state, x2APIC the 32-bit ID, and the window (the
 *     move hook) is at the base's page.
 * After the input: vkvm_lapic_fini leaves no page or byte outstanding.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vintc/amd_defs.h>
#include <vintc/avic.h>
#include <vintc/avic_cpu.h>
#include <vintc/host.h>
#include <vintc/vlapic.h>
#include <vintc/vm.h>

#include "hyp/avic_priv.h"
#include "kvm/lapic.h"

#define FUZZ_NAME "fuzz_lapic"
#include "fuzz_util.h"


#define MAX_VCPUS	8


/* What the fuzzer expects of each vCPU's physical-table entry. */
struct shadow {
	bool loaded, blocking, running;
	int cpu;
};

static uint64_t kicks;

static void count_kick(void *opaque, uint32_t idx)
{
	(void)opaque;
	(void)idx;
	kicks++;
}

static uint32_t reg(struct vkvm_lapic *l, uint32_t i, uint32_t off)
{
	return *apic_reg(to_avic_vcpu(l->vcpus[i])->backing, off);
}

static int highest(struct vkvm_lapic *l, uint32_t i, uint32_t base)
{
	for (int w = 7; w >= 0; w--) {
		uint32_t bits = reg(l, i, base + 0x10U * (unsigned int)w);

		for (int b = 31; bits && b >= 0; b--)
			if (bits & (1U << b))
				return w * 32 + b;
	}
	return -1;
}

static uint32_t expected_ppr(struct vkvm_lapic *l, uint32_t i)
{
	uint32_t tpr = reg(l, i, APIC_TASKPRI);
	int isrv = highest(l, i, APIC_ISR);
	uint32_t isr_class = isrv < 0 ? 0 : ((uint32_t)isrv & 0xF0);

	return (tpr >> 4) >= (isr_class >> 4) ? tpr : isr_class;
}

/* The vector the next accept must return, or -1. */
static int expected_accept(struct vkvm_lapic *l, uint32_t i)
{
	int v = highest(l, i, APIC_IRR);

	if (v < 16 || ((uint32_t)v >> 4) <= (reg(l, i, APIC_PROCPRI) >> 4))
		return -1;
	return v;
}

static void check_vcpu(struct vkvm_lapic *l, uint32_t i, const struct shadow *s)
{
	struct vcpu *vcpu = l->vcpus[i];
	struct avic_vcpu *v = to_avic_vcpu(vcpu);
	struct avic_vm *k = to_avic_vm(l->vm);
	uint64_t e = avic_vcpu_table_entry(vcpu);

	CHECK(!(reg(l, i, APIC_IRR) & 0xFFFF), "vCPU %u IRR 0x%08x: vector below 16", i,
	      reg(l, i, APIC_IRR));
	CHECK(!(reg(l, i, APIC_ISR) & 0xFFFF), "vCPU %u ISR 0x%08x: vector below 16", i,
	      reg(l, i, APIC_ISR));
	CHECK(reg(l, i, APIC_TASKPRI) <= 0xFF, "vCPU %u TPR 0x%x", i, reg(l, i, APIC_TASKPRI));
	CHECK(reg(l, i, APIC_PROCPRI) == expected_ppr(l, i),
	      "vCPU %u PPR 0x%x, TPR 0x%x and ISR %d make 0x%x", i, reg(l, i, APIC_PROCPRI),
	      reg(l, i, APIC_TASKPRI), highest(l, i, APIC_ISR), expected_ppr(l, i));

	CHECK(v->physical_entry_ptr == &k->physical_table[vcpu->vcpu_id], "vCPU %u entry pointer",
	      i);
	CHECK(e & AVIC_PHYSICAL_ID_ENTRY_VALID, "vCPU %u entry 0x%llx not valid", i,
	      (unsigned long long)e);
	CHECK(FIELD_GET(AVIC_PHYSICAL_ID_ENTRY_BACKING_PAGE, e) << 12 == v->backing_pa,
	      "vCPU %u entry 0x%llx, backing page 0x%llx", i, (unsigned long long)e,
	      (unsigned long long)v->backing_pa);
	CHECK(!(e & AVIC_PHYSICAL_ID_ENTRY_GA_LOG_INTR), "vCPU %u entry 0x%llx has GALogIntr", i,
	      (unsigned long long)e);
	CHECK(!!(e & AVIC_PHYSICAL_ID_ENTRY_IS_RUNNING) == s->running,
	      "vCPU %u entry 0x%llx, expected IsRunning %d (loaded %d blocking %d)", i,
	      (unsigned long long)e, s->running, s->loaded, s->blocking);
	if (s->running)
		CHECK(FIELD_GET(AVIC_PHYSICAL_ID_ENTRY_HOST_PHYSICAL_ID, e) ==
		      (uint64_t)host_cpu_apic_id(s->cpu),
		      "vCPU %u entry 0x%llx, loaded on CPU %d", i, (unsigned long long)e, s->cpu);
	CHECK(vcpu->loaded == s->loaded, "vCPU %u loaded %d", i, vcpu->loaded);
}

static void check_all(struct vkvm_lapic *l, const struct shadow *s)
{
	struct avic_vm *k = to_avic_vm(l->vm);

	for (uint32_t i = 0; i < l->nr; i++) {
		check_vcpu(l, i, &s[i]);
		CHECK(to_avic_vcpu(l->vcpus[i])->x2apic == vkvm_lapic_x2apic(l, i),
		      "vCPU %u: x2AVIC %d, IA32_APIC_BASE 0x%llx", i, to_avic_vcpu(l->vcpus[i])->x2apic,
		      (unsigned long long)vkvm_lapic_base(l, i));
	}
	for (uint32_t j = 0; j < AVIC_LOGICAL_ID_TABLE_ENTRIES; j++) {
		uint32_t e = k->logical_table[j];

		if (e & AVIC_LOGICAL_ID_ENTRY_VALID)
			CHECK(FIELD_GET(AVIC_LOGICAL_ID_ENTRY_GUEST_PHYSICAL_ID, e) < l->nr,
			      "logical entry %u = 0x%x names no vCPU", j, e);
	}
}

/*
 * INIT level de-assert (INIT, level-triggered, Level = 0) only makes every
 * APIC copy its ID into its arbitration ID: it resets nobody (SDM 10.6.1,
 * AMD APM 16.5; KVM ignores it too).
 */
static void check_init_deassert(struct vkvm_lapic *l, uint32_t icr_low, const uint32_t *before)
{
	if (FIELD_GET(APIC_ICR_DELIVERY_MODE, icr_low) != APIC_DM_INIT ||
	    !(icr_low & APIC_ICR_TRIGGER_LEVEL) || (icr_low & APIC_ICR_LEVEL_ASSERT))
		return;
	for (uint32_t j = 0; j < l->nr; j++) {
		uint32_t ev = __atomic_load_n(&to_avic_vcpu(l->vcpus[j])->events, __ATOMIC_RELAXED);

		CHECK(!(ev & ~before[j] & AVIC_EVENT_INIT),
		      "INIT level de-assert (ICR 0x%x) made an INIT for vCPU %u", icr_low, j);
	}
}

/*
 * The hypervisor's AVIC exit handlers and the silicon's ICR processing
 * called directly, with values the runner would never produce: any ICR
 * (reserved bits, 32-bit destinations) through avic_cpu_icr_write on the
 * vCPU's VMCB and its exit handled as sim/ and kvm/ do, any EXITINFO pair
 * for the incomplete-IPI exit (causes 0..255), any EXITINFO1 for the
 * unaccelerated-access exit.
 */
static void raw_hyp_op(struct vkvm_lapic *l, uint32_t i, uint8_t op, struct input *in)
{
	struct vcpu *vcpu = l->vcpus[i];
	struct avic_vcpu *v = to_avic_vcpu(vcpu);
	uint64_t a = (uint64_t)u32(in) | (uint64_t)u32(in) << 32;
	int r;

	switch ((op >> 5) & 3) {
	case 0: {
		struct avic_cpu_opts o = { .erratum_1235 = op & 0x80, .current_host_apic_id = i };
		struct avic_cpu_ipi out;

		*apic_reg(v->backing, APIC_ICR2) = (uint32_t)(a >> 32);
		*apic_reg(v->backing, APIC_ICR) = (uint32_t)a & ~(uint32_t)APIC_ICR_BUSY;
		r = avic_cpu_icr_write(&v->vmcb, a, &o, &out);
		CHECK(r == 0 || r == -ENODEV, "avic_cpu_icr_write: %d", r);
		if (r)
			r = avic_handle_unaccelerated_access(vcpu, APIC_ICR | BIT_ULL(32), NULL);
		else if (out.exit_code)
			r = avic_handle_incomplete_ipi(vcpu, out.exitinfo1, out.exitinfo2, NULL);
		CHECK(r == 0, "handling a model ICR write (0x%llx): %d", (unsigned long long)a, r);
		break;
	}
	case 1: {
		uint64_t info2 = (uint64_t)u8(in) << 32 | u16(in);

		r = avic_handle_incomplete_ipi(vcpu, a, info2, NULL);
		CHECK(r == 0 || r == -EFAULT || r == -EINVAL, "incomplete IPI: %d", r);
		CHECK((r == -EINVAL) == ((info2 >> 32) > AVIC_IPI_FAILURE_INVALID_IPI_VECTOR),
		      "incomplete IPI cause %llu: %d", (unsigned long long)(info2 >> 32), r);
		break;
	}
	default: {
		uint32_t val = (uint32_t)(a >> 32);

		r = avic_handle_unaccelerated_access(vcpu, (uint32_t)a | (op & 0x80 ? BIT_ULL(32) : 0),
						     &val);
		CHECK(r == 0 || r == -EINVAL, "unaccelerated access: %d", r);
		break;
	}
	}
}

/* Where each vCPU's xAPIC window is, as the move hook has been told. */
static uint64_t window[MAX_VCPUS];

static void track_move(void *opaque, uint32_t idx, uint64_t old_page, uint64_t new_page)
{
	(void)opaque;
	CHECK(idx < MAX_VCPUS && window[idx] == old_page,
	      "vCPU %u window moved from 0x%llx, but it is at 0x%llx", idx,
	      (unsigned long long)old_page, (unsigned long long)window[idx & (MAX_VCPUS - 1)]);
	window[idx] = new_page;
}

/* SDM vol. 3 10.12.5.1 and vol. 4 table 2-2, written out apart from the model. */
static int expected_base_check(uint64_t old, uint64_t val, bool x2apic, unsigned int phys)
{
	const uint64_t en = MSR_IA32_APICBASE_ENABLE, extd = MSR_IA32_APICBASE_EXTD;
	uint64_t rsvd = 0xFFULL | 1ULL << 9 | (phys < 64 ? ~0ULL << phys : 0) | (x2apic ? 0 : extd);

	if (old == val)
		return 0;
	if ((val & rsvd) || ((val & extd) && !(val & en)))
		return -EINVAL;
	if ((old & en) && (old & extd) && (val & en) && !(val & extd))
		return -EINVAL;			/* x2APIC -> xAPIC */
	if (!(old & en) && (val & en) && (val & extd))
		return -EINVAL;			/* disabled -> x2APIC */
	return 0;
}

/*
 * A guest WRMSR of IA32_APIC_BASE: one of a few pages (default, moved, in
 * RAM, any below 2^52), EN, EXTD and BSP from the input, sometimes any one
 * more bit; x2APIC in the guest's CPUID or not; MAXPHYADDR 36..52.  The
 * model's verdict must be the SDM's; a legal value is then taken whole: a
 * change of EN leaves the power-up state (xAPIC ID, SVR 0xFF, TPR 0, no
 * IRR or ISR bit), entering x2APIC the 32-bit ID, and the window is where
 * the base says.
 */
static void apic_base_op(struct vkvm_lapic *l, uint32_t i, struct input *in)
{
	static const uint64_t pages[] = { VKVM_APIC_BASE, 0xFED40000ULL, 0x00200000ULL };
	uint8_t b = u8(in);
	unsigned int phys = 36 + u8(in) % 17;
	uint64_t page = (b & 3) == 3 ? ((uint64_t)u32(in) << 12 | (uint64_t)u8(in) << 44) :
			pages[b & 3];
	uint64_t val = page | (b & 4 ? MSR_IA32_APICBASE_ENABLE : 0) |
		       (b & 8 ? MSR_IA32_APICBASE_EXTD : 0) | (b & 0x10 ? MSR_IA32_APICBASE_BSP : 0);
	bool x2apic = !(b & 0x40), reset;
	uint64_t old = vkvm_lapic_base(l, i);
	int want, got;

	if (b & 0x20)
		val |= 1ULL << (u8(in) % 64);
	want = expected_base_check(old, val, x2apic, phys);
	got = vkvm_lapic_check_base(l, i, val, x2apic, phys);
	CHECK(got == want, "vCPU %u IA32_APIC_BASE 0x%llx -> 0x%llx (x2APIC %d, MAXPHYADDR %u): %d, want %d",
	      i, (unsigned long long)old, (unsigned long long)val, x2apic, phys, got, want);
	if (got)
		return;
	reset = vkvm_lapic_set_base(l, i, val);
	CHECK(vkvm_lapic_base(l, i) == val, "vCPU %u base 0x%llx after writing 0x%llx", i,
	      (unsigned long long)vkvm_lapic_base(l, i), (unsigned long long)val);
	CHECK(reset == !!((old ^ val) & MSR_IA32_APICBASE_ENABLE),
	      "vCPU %u 0x%llx -> 0x%llx: reset %d", i, (unsigned long long)old,
	      (unsigned long long)val, reset);
	CHECK(window[i] == (val & VLAPIC_APIC_BASE_ADDR), "vCPU %u window 0x%llx, base 0x%llx", i,
	      (unsigned long long)window[i], (unsigned long long)val);
	if (reset) {
		CHECK(reg(l, i, APIC_SPIV) == 0xFF && reg(l, i, APIC_TASKPRI) == 0 &&
		      highest(l, i, APIC_IRR) < 0 && highest(l, i, APIC_ISR) < 0,
		      "vCPU %u not at power-up after 0x%llx -> 0x%llx", i, (unsigned long long)old,
		      (unsigned long long)val);
		if (!vkvm_lapic_x2apic(l, i))
			CHECK(reg(l, i, APIC_ID) == i << 24, "vCPU %u xAPIC ID 0x%x after a reset", i,
			      reg(l, i, APIC_ID));
	}
	if (vkvm_lapic_x2apic(l, i) && !(old & MSR_IA32_APICBASE_EXTD))
		CHECK(reg(l, i, APIC_ID) == i, "vCPU %u x2APIC ID 0x%x", i, reg(l, i, APIC_ID));
}

/* Load semantics the fuzzer expects (vcpu_load, or unblocking while loaded). */
static void shadow_load(struct vkvm_lapic *l, struct shadow *s)
{
	if (!s->blocking && avic_apicv_active(l->vm))
		s->running = true;
}

/* Registers worth hitting more often than a uniform offset would. */
static const uint32_t hot_regs[] = {
	APIC_ID, APIC_TASKPRI, APIC_EOI, APIC_LDR, APIC_DFR, APIC_SPIV, APIC_ESR,
	APIC_ICR, APIC_ICR2, APIC_LVTT, APIC_LVT0, APIC_LVTERR, APIC_TMICT, APIC_TDCR,
	APIC_ISR, APIC_IRR, APIC_PROCPRI, APIC_TMCCT,
};

static uint32_t pick_offset(struct input *in)
{
	uint8_t b = u8(in);

	if (b < 0x40)
		return (uint32_t)b << 4;		/* every xAPIC register */
	if (b < 0x80)
		return hot_regs[b % ARRAY_SIZE(hot_regs)];
	if (b < 0x90)
		return u32(in) & 0xFFFF;		/* unaligned or past the page */
	return hot_regs[b % ARRAY_SIZE(hot_regs)];
}

static uint64_t baseline_pages, baseline_bytes;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct vkvm_lapic *l = calloc(1, sizeof(*l));
	struct host_mem_stats st;
	char why[128];

	(void)argc;
	(void)argv;
	/* One VM first: process-wide state (the VM ID space) is made once. */
	if (!l || vkvm_lapic_init(l, MAX_VCPUS, why, sizeof(why))) {
		fprintf(stderr, "fuzz_lapic: setup failed\n");
		abort();
	}
	vkvm_lapic_fini(l);
	free(l);
	st = host_mem_stats(HOST_TAG_NR);
	baseline_pages = st.pages;
	baseline_bytes = st.bytes;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vkvm_lapic lapic;
	struct vkvm_lapic *l = &lapic;
	struct shadow s[MAX_VCPUS] = { 0 };
	uint32_t ev_before[MAX_VCPUS];
	struct input in = { data, size };
	struct host_mem_stats st;
	uint32_t nr = 1 + u8(&in) % MAX_VCPUS;
	unsigned int ops = 0;
	char why[128];

	if (vkvm_lapic_init(l, nr, why, sizeof(why))) {
		fprintf(stderr, "fuzz_lapic: vkvm_lapic_init: %s\n", why);
		abort();
	}
	l->kick = count_kick;
	l->move = track_move;
	for (uint32_t i = 0; i < nr; i++)
		window[i] = vkvm_lapic_base(l, i) & VLAPIC_APIC_BASE_ADDR;
	check_all(l, s);

	while (in.n && ops++ < 4096) {
		uint8_t op = u8(&in);
		uint32_t i = u8(&in) % nr;
		struct vcpu *vcpu = l->vcpus[i];
		uint32_t off, val;
		int want, got;

		/* Like the runner: MMIO reaches the page only in xAPIC mode. */
		bool mmio = vkvm_lapic_mmio_enabled(l, i);

		switch (op % 16) {
		case 0: case 1: case 2:
			off = pick_offset(&in);
			val = u32(&in);
			if (mmio)
				vkvm_lapic_access(l, i, off, true, &val);
			break;
		case 3:
			off = pick_offset(&in);
			val = 0xDEADBEEF;
			if (!mmio)
				break;
			vkvm_lapic_access(l, i, off, false, &val);
			if ((off & 0xF) || off >= 0x400)
				CHECK(val == 0, "read of non-register 0x%x gave 0x%x", off, val);
			break;
		case 4: case 5:
			/* An IPI: destination, then the command. */
			for (uint32_t j = 0; j < nr; j++)
				ev_before[j] = __atomic_load_n(&to_avic_vcpu(l->vcpus[j])->events,
							       __ATOMIC_RELAXED);
			if (!mmio) {
				/* x2APIC: one 64-bit ICR write, 32-bit destination. */
				uint8_t db = u8(&in);
				uint64_t icr = (uint64_t)(db == 0xFF ? 0xFFFFFFFFU : db) << 32 |
					       (u32(&in) & 0x000CCFFF);

				if (vkvm_lapic_x2apic(l, i))
					CHECK(vkvm_lapic_msr(l, i, 0x830, true, &icr) == 0,
					      "x2APIC ICR write 0x%llx refused", (unsigned long long)icr);
				check_init_deassert(l, (uint32_t)icr, ev_before);
				break;
			}
			val = (uint32_t)u8(&in) << 24;
			vkvm_lapic_access(l, i, APIC_ICR2, true, &val);
			val = u32(&in) & 0x000CCFFF;
			vkvm_lapic_access(l, i, APIC_ICR, true, &val);
			check_init_deassert(l, val, ev_before);
			break;
		case 6:
			want = expected_accept(l, i);
			got = vkvm_lapic_accept(l, i);
			CHECK(got == want, "vCPU %u accepted %d, expected %d", i, got, want);
			if (got >= 0) {
				CHECK(reg(l, i, APIC_VECTOR_WORD(APIC_ISR, (unsigned int)got)) &
				      (1U << (got & 31)), "vector %d not in ISR", got);
				CHECK(!(reg(l, i, APIC_VECTOR_WORD(APIC_IRR, (unsigned int)got)) &
					(1U << (got & 31))), "vector %d still in IRR", got);
			}
			break;
		case 7:
			val = 0;
			if (mmio) {
				vkvm_lapic_access(l, i, APIC_EOI, true, &val);
			} else if (vkvm_lapic_x2apic(l, i)) {
				uint64_t zero = 0;

				CHECK(vkvm_lapic_msr(l, i, 0x80B, true, &zero) == 0, "x2APIC EOI refused");
			}
			break;
		case 8:
			vkvm_lapic_set_cr8(l, i, u8(&in));
			CHECK(vkvm_lapic_cr8(l, i) == (reg(l, i, APIC_TASKPRI) >> 4),
			      "CR8 %llu, TPR 0x%x", (unsigned long long)vkvm_lapic_cr8(l, i),
			      reg(l, i, APIC_TASKPRI));
			break;
		case 9:
			vkvm_lapic_reset(l, i);
			break;
		case 10:
			if (!s[i].loaded) {
				int cpu = u8(&in) % 64;

				CHECK(vcpu_load(vcpu, cpu) == 0, "vcpu_load(%u, %d)", i, cpu);
				s[i].loaded = true;
				s[i].cpu = cpu;
				shadow_load(l, &s[i]);
				vcpu_set_mode(vcpu, VCPU_IN_GUEST_MODE);
			} else {
				vcpu_set_mode(vcpu, VCPU_OUTSIDE_GUEST_MODE);
				vcpu_put(vcpu);
				s[i].loaded = false;
				s[i].running = false;
			}
			break;
		case 11:
			if (!s[i].loaded)
				break;
			if (!s[i].blocking) {
				vcpu_set_mode(vcpu, VCPU_OUTSIDE_GUEST_MODE);
				vcpu_blocking(vcpu);
				s[i].blocking = true;
				s[i].running = false;
			} else {
				vcpu_unblocking(vcpu);
				s[i].blocking = false;
				shadow_load(l, &s[i]);
			}
			break;
		case 12:
			avic_deliver(vcpu, (uint8_t)(16 + u8(&in) % 240));
			break;
		case 13: {
			uint8_t sipi;

			if (op & 0x10) {
				apic_base_op(l, i, &in);
				break;
			}
			uint32_t ev = avic_vcpu_take_events(vcpu, &sipi);

			/* An INIT resets the APIC, as the runner does. */
			if (ev & AVIC_EVENT_INIT)
				vkvm_lapic_reset(l, i);
			break;
		}
		case 14: {
			/*
			 * RDMSR/WRMSR of x2APIC MSRs 0x800-0x8FF (and others):
			 * #GP (-EINVAL) outside x2APIC mode, else done (1: TPR
			 * changed, CR8 follows).
			 */
			uint8_t b = u8(&in);
			uint32_t msr = b < 0xF0 ? 0x800U + u8(&in) : u32(&in);
			bool write = b & 1;
			uint64_t v64 = (b & 2) ? u8(&in) : (uint64_t)u32(&in) | (uint64_t)u32(&in) << 32;
			bool x2 = vkvm_lapic_x2apic(l, i);
			int r = vkvm_lapic_msr(l, i, msr, write, &v64);

			CHECK(r == 0 || r == 1 || r == -EINVAL, "vkvm_lapic_msr(0x%x, %d) = %d", msr,
			      write, r);
			CHECK(x2 || r == -EINVAL, "MSR 0x%x outside x2APIC mode gave %d", msr, r);
			CHECK(r != 1 || (write && msr == 0x808), "MSR 0x%x write returned 1", msr);
			break;
		}
		default:
			if (op & 0x10) {
				raw_hyp_op(l, i, op, &in);
				break;
			}
			val = u32(&in);
			if (mmio)
				vkvm_lapic_access(l, i, APIC_ESR, true, &val);
			break;
		}
		check_all(l, s);
	}

	for (uint32_t i = 0; i < nr; i++) {
		if (s[i].blocking)
			vcpu_unblocking(l->vcpus[i]);
		vcpu_put(l->vcpus[i]);
	}
	vkvm_lapic_fini(l);
	st = host_mem_stats(HOST_TAG_NR);
	CHECK(st.pages == baseline_pages && st.bytes == baseline_bytes,
	      "%llu pages, %llu bytes outstanding after fini (baseline %llu, %llu)",
	      (unsigned long long)st.pages, (unsigned long long)st.bytes,
	      (unsigned long long)baseline_pages, (unsigned long long)baseline_bytes);
	return 0;
}
