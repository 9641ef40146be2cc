// SPDX-License-Identifier: MIT
/*
 * acpi: the machine's ACPI tables as an OS finds them, then an ACPI
 * poweroff.  It scans the BIOS area 0xE0000..0xFFFFF on 16-byte
 * boundaries for "RSD PTR ", checks both RSDP checksums, walks the XSDT
 * and checks each table's checksum, counts the MADT's enabled local APIC
 * entries (xAPIC and x2APIC) against fw_cfg's CPU count, reads the PM1a
 * control port from the FADT and \_S5's SLP_TYP from the DSDT, checks
 * that PM1_CNT reads SCI_EN set (no SMI command port: always ACPI mode),
 * and writes SLP_TYP | SLP_EN there: the run must end with status 0 and
 * the end "poweroff".  If it comes back, it says FAIL and exits 1.
 */
#include "guest.h"

#define BIOS_START	0xE0000U
#define BIOS_END	0x100000U
#define SLP_EN		(1U << 13)
#define SCI_EN		(1U << 0)

static inline uint16_t inw(uint16_t port)
{
	uint16_t v;

	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static uint32_t rd32(const volatile uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int same(const volatile uint8_t *p, const char *s, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (p[i] != (uint8_t)s[i])
			return 0;
	return 1;
}

static uint8_t sum(const volatile uint8_t *p, uint32_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* A 64-bit table pointer: below 4 GiB, or 0. */
static const volatile uint8_t *ptr64(const volatile uint8_t *p)
{
	if (rd32(p + 4))
		return 0;
	return (const volatile uint8_t *)rd32(p);
}

static const volatile uint8_t *find_rsdp(void)
{
	for (uint32_t a = BIOS_START; a < BIOS_END; a += 16) {
		const volatile uint8_t *p = (const volatile uint8_t *)a;

		if (same(p, "RSD PTR ", 8) && !sum(p, 20))
			return p;
	}
	return 0;
}

/* Enabled processor entries: type 0 (xAPIC) and type 9 (x2APIC). */
static uint32_t madt_cpus(const volatile uint8_t *m)
{
	uint32_t len = rd32(m + 4), at = 44, n = 0;

	while (at + 2 <= len && m[at + 1] >= 2) {
		const volatile uint8_t *e = m + at;

		if (e[0] == 0 && (rd32(e + 4) & 1))
			n++;
		if (e[0] == 9 && (rd32(e + 8) & 1))
			n++;
		at += e[1];
	}
	return n;
}

/* \_S5's first element, the PM1a SLP_TYP; 0xFF if the AML is not the expected form. */
static uint32_t s5_slp_typ(const volatile uint8_t *dsdt)
{
	uint32_t len = rd32(dsdt + 4);

	for (uint32_t i = 36; i + 10 <= len; i++) {
		const volatile uint8_t *a = dsdt + i;

		if (!same(a, "_S5_", 4) || a[4] != 0x12)
			continue;
		/* PackageOp, a one-byte PkgLength, NumElements, then the first element. */
		if (a[7] == 0x0A)
			return a[8];
		if (a[7] == 0x00 || a[7] == 0x01)
			return a[7];
	}
	return 0xFF;
}

int main(uint32_t magic, uint32_t info)
{
	const volatile uint8_t *rsdp, *xsdt, *fadt = 0, *madt = 0, *dsdt;
	uint32_t n, bad = 0, cpus, port, typ;

	(void)magic;
	(void)info;
	rsdp = find_rsdp();
	if (report(rsdp != 0, "rsdp found in the BIOS area", 0))
		return 1;
	bad |= report(rsdp[15] == 2 && !sum(rsdp, rd32(rsdp + 20)) && rd32(rsdp + 20) == 36,
		      "rsdp revision 2, extended checksum", rsdp[15]);
	xsdt = ptr64(rsdp + 24);
	if (report(xsdt && same(xsdt, "XSDT", 4) && !sum(xsdt, rd32(xsdt + 4)),
		   "xsdt checksum", (uint32_t)xsdt))
		return 1;
	n = (rd32(xsdt + 4) - 36) / 8;
	for (uint32_t i = 0; i < n; i++) {
		const volatile uint8_t *t = ptr64(xsdt + 36 + 8 * i);

		if (!t || sum(t, rd32(t + 4))) {
			bad |= report(0, "xsdt entry checksum", i);
			continue;
		}
		if (same(t, "FACP", 4))
			fadt = t;
		if (same(t, "APIC", 4))
			madt = t;
	}
	if (report(fadt && madt, "fadt and madt in the xsdt", n))
		return 1;
	cpus = fw_cfg_u32(FW_CFG_NB_CPUS);
	bad |= report(madt_cpus(madt) == cpus, "madt local APICs = fw_cfg CPUs", madt_cpus(madt));
	bad |= report(rd32(madt + 36) == APIC_BASE, "madt local APIC address", rd32(madt + 36));
	port = rd32(fadt + 64);
	bad |= report(port == 0x604, "fadt pm1a control port 0x604", port);
	dsdt = ptr64(fadt + 140);
	if (report(dsdt && same(dsdt, "DSDT", 4) && !sum(dsdt, rd32(dsdt + 4)),
		   "dsdt checksum", (uint32_t)dsdt))
		return 1;
	typ = s5_slp_typ(dsdt);
	bad |= report(typ < 8, "dsdt _S5", typ);
	bad |= report(inw((uint16_t)port) & SCI_EN, "pm1 control SCI_EN", inw((uint16_t)port));
	if (bad)
		return 1;
	puts("PASS powering off\n");
	outw((uint16_t)port, (uint16_t)(typ << 10 | SLP_EN));
	puts("FAIL still running after S5\n");
	return 1;
}
