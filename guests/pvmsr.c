// SPDX-License-Identifier: MIT
/*
 * pvmsr: every KVM paravirtual feature the machine advertises in CPUID
 * leaf 0x40000001 must work, so the guest enables each one through its
 * MSR (and turns it off again) and counts the #GPs: there must be none.
 * Features whose MSRs or hypercalls need KVM's in-kernel LAPIC (async
 * page faults, PV EOI, PV unhalt, PV send-IPI, PV sched-yield, extended
 * MSI destination IDs) must not be advertised at all.  The same lines
 * come out under both irqchips, which advertise the same set.
 */
#include "guest.h"

#define KVM_CPUID_SIGNATURE	0x40000000U
#define KVM_CPUID_FEATURES	0x40000001U

/* KVM_FEATURE_* bit numbers (Documentation/virt/kvm/x86/cpuid.rst). */
#define F_CLOCKSOURCE		0
#define F_CLOCKSOURCE2		3
#define F_ASYNC_PF		4
#define F_STEAL_TIME		5
#define F_PV_EOI		6
#define F_PV_UNHALT		7
#define F_ASYNC_PF_VMEXIT	10
#define F_PV_SEND_IPI		11
#define F_POLL_CONTROL		12
#define F_PV_SCHED_YIELD	13
#define F_ASYNC_PF_INT		14
#define F_MSI_EXT_DEST_ID	15
#define F_MIGRATION_CONTROL	17

#define NEEDS_KVM_LAPIC	((1U << F_ASYNC_PF) | (1U << F_PV_EOI) | (1U << F_PV_UNHALT) | \
			 (1U << F_ASYNC_PF_VMEXIT) | (1U << F_PV_SEND_IPI) | \
			 (1U << F_PV_SCHED_YIELD) | (1U << F_ASYNC_PF_INT) | \
			 (1U << F_MSI_EXT_DEST_ID))

static volatile uint32_t gps;

/* A 4 KiB page for every structure KVM writes into (all 64-byte aligned). */
static uint8_t pv_page[4096] __attribute__((aligned(4096)));

uint32_t gp_handler(void)
{
	gps++;
	return 2;	/* past the WRMSR */
}

/* Write each value in turn; PASS when none faulted. */
static void pv_msr(const char *what, uint32_t msr, uint64_t on, uint64_t off)
{
	uint32_t before = gps;

	wrmsr(msr, on);
	wrmsr(msr, off);
	console_lock();
	puts(gps == before ? "PASS pv msr " : "FAIL pv msr ");
	puts(what);
	puts("\n");
	console_unlock();
}

int main(uint32_t magic, uint32_t info)
{
	uint32_t a, b, c, d, feat;
	uint64_t pa = (uint32_t)pv_page;

	(void)magic;
	(void)info;
	cpu_init();
	cpuid(KVM_CPUID_SIGNATURE, &a, &b, &c, &d);
	if (b != 0x4b4d564b || c != 0x564b4d56 || d != 0x4d) {
		puts("SKIP pvmsr: no KVM signature\n");
		return 0;
	}
	cpuid(KVM_CPUID_FEATURES, &feat, &b, &c, &d);
	report(!(feat & NEEDS_KVM_LAPIC), "pv no feature that needs kvm's lapic",
	       feat & NEEDS_KVM_LAPIC);
	if (feat & (1U << F_CLOCKSOURCE)) {
		pv_msr("system time", 0x12, pa | 1, 0);
		pv_msr("wall clock", 0x11, pa + 64, pa + 64);
	}
	if (feat & (1U << F_CLOCKSOURCE2)) {
		pv_msr("system time new", 0x4b564d01, pa | 1, 0);
		pv_msr("wall clock new", 0x4b564d00, pa + 64, pa + 64);
	}
	if (feat & (1U << F_STEAL_TIME))
		pv_msr("steal time", 0x4b564d03, (pa + 128) | 1, 0);
	if (feat & (1U << F_POLL_CONTROL))
		pv_msr("poll control", 0x4b564d05, 0, 1);
	if (feat & (1U << F_MIGRATION_CONTROL))
		pv_msr("migration control", 0x4b564d08, 1, 0);
	/* Advertised only where KVM's LAPIC backs them, but if they are: */
	if (feat & (1U << F_ASYNC_PF_INT))
		pv_msr("async pf int", 0x4b564d06, 0xec, 0);
	if (feat & (1U << F_ASYNC_PF))
		pv_msr("async pf", 0x4b564d02, (pa + 192) | 1, 0);
	if (feat & (1U << F_PV_EOI))
		pv_msr("pv eoi", 0x4b564d04, (pa + 256) | 1, 0);
	/* Even with the bits hidden, turning async PF off must not fault. */
	pv_msr("async pf off", 0x4b564d02, 0, 0);
	report(gps == 0, "pv msr no #gp", gps);
	return 0;
}
