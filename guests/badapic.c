// SPDX-License-Identifier: MIT
/*
 * badapic: a guest that misuses its xAPIC and must get the architectural
 * answer, never a dead VMM: writes to read-only registers and to offsets
 * with no register (ignored), reserved bits in TPR and in an LVT (not
 * stored), byte-sized and misaligned writes (ignored), an EOI with nothing
 * in service, a reserved delivery mode, then every ordinary register
 * offset written with all-ones and zero (the registers the VMM's timer and
 * IPIs use excepted) — after which a self-IPI must still arrive.
 */
#include "guest.h"

#define VEC_SELF	0x4E

static volatile uint32_t selfs;

void irq_handler(uint32_t vector)
{
	if (vector == VEC_SELF)
		selfs++;
	apic_write(APIC_EOI, 0);
}

static int self_ipi_arrives(void)
{
	uint32_t want = selfs + 1;

	apic_send(0, ICR_SH_SELF | ICR_DM_FIXED | VEC_SELF);
	return wait_halting(&selfs, want);
}

/* A write of all-ones that must change nothing a read shows. */
static int write_ignored(uint32_t reg)
{
	uint32_t before = apic_read(reg);

	apic_write(reg, 0xFFFFFFFFU);
	return apic_read(reg) == before;
}

int main(uint32_t magic, uint32_t info)
{
	static const uint32_t read_only[] = { 0x030, 0x0A0, 0x100, 0x170, 0x180, 0x200, 0x270 };
	static const uint32_t no_register[] = { 0x040, 0x050, 0x060, 0x070, 0x3A0, 0x3B0, 0x3C0,
						0x3D0, 0x3F0 };
	static const uint32_t skip[] = { APIC_ID, APIC_EOI, APIC_LDR, 0x0E0, APIC_SVR, APIC_ESR,
					 APIC_ICR, APIC_ICR2, 0x320, 0x380, 0x390, 0x3E0 };
	uint32_t ok, v, fails = 0;

	(void)magic;
	(void)info;
	cpu_init();

	ok = 1;
	for (uint32_t i = 0; i < sizeof(read_only) / sizeof(read_only[0]); i++)
		ok &= write_ignored(read_only[i]);
	fails += report(ok, "badapic read-only registers ignore writes", ok);

	ok = 1;
	for (uint32_t i = 0; i < sizeof(no_register) / sizeof(no_register[0]); i++)
		ok &= write_ignored(no_register[i]);
	fails += report(ok, "badapic offsets without a register ignore writes", ok);

	apic_write(APIC_TPR, 0xFFFFFFFFU);
	v = apic_read(APIC_TPR);
	apic_write(APIC_TPR, 0);
	fails += report(v == 0xFF, "badapic tpr reserved bits", v);

	apic_write(0x350, 0xFFFFFFFFU);		/* LVT LINT0 */
	v = apic_read(0x350);
	apic_write(0x350, 1U << 16);
	fails += report((v & (1U << 16)) && !(v >> 17), "badapic lvt reserved bits", v);

	/* Only aligned 32-bit accesses reach a register. */
	*(volatile uint8_t *)(APIC_BASE + APIC_TPR) = 0xF0;
	*(volatile uint32_t *)(APIC_BASE + APIC_TPR + 4) = 0xF0;
	v = apic_read(APIC_TPR);
	fails += report(v == 0, "badapic byte and misaligned writes ignored", v);

	apic_write(APIC_EOI, 0);
	v = apic_read(APIC_PPR);
	fails += report(v == 0, "badapic eoi with nothing in service", v);

	apic_send(0, ICR_SH_SELF | (3U << 8) | VEC_SELF);	/* delivery mode 3: reserved */
	fails += report(self_ipi_arrives(), "badapic reserved delivery mode", selfs);

	for (uint32_t off = 0x020; off <= 0x3F0; off += 0x10) {
		int keep = 0;

		for (uint32_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
			keep |= skip[i] == off;
		if (keep)
			continue;
		apic_write(off, 0xFFFFFFFFU);
		apic_write(off, 0);
	}
	apic_write(APIC_TPR, 0);
	fails += report(self_ipi_arrives(), "badapic still works after the sweep", selfs);
	return fails ? 1 : 0;
}
