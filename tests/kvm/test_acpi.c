// SPDX-License-Identifier: MIT
/*
 * The ACPI table builder (kvm/boot/acpi.c), read back by an independent
 * parser that knows the layouts from the specification (literal offsets
 * here, not the builder's macros): RSDP -> XSDT -> each table by its
 * signature, every checksum, every length, the MADT's entries (x2APIC
 * ones past APIC ID 254), the FADT's fields and the DSDT's \_S5.
 */
#include <errno.h>
#include <string.h>

#include <vintc/mboot.h>

#include "kvm/boot/acpi.h"
#include "test.h"

#define BASE	0xE0000ULL
#define SIZE	0x20000ULL

static uint8_t region[SIZE];
static uint8_t low_ram[1 << 20];

static uint32_t rd16(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t rd32(const uint8_t *p)
{
	return rd16(p) | rd16(p + 2) << 16;
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static int sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* The table at guest address a, checked: inside the region, its own length, sum 0. */
static const uint8_t *table_at(uint64_t a, const char *sig)
{
	const uint8_t *t;

	ASSERT(a >= BASE && a + 36 <= BASE + SIZE);
	t = region + (a - BASE);
	ASSERT(!memcmp(t, sig, 4));
	ASSERT(rd32(t + 4) >= 36 && a + rd32(t + 4) <= BASE + SIZE);
	ASSERT_EQ(sum(t, rd32(t + 4)), 0);
	ASSERT(!memcmp(t + 10, "VINTC ", 6));
	return t;
}

static void check_gas_io(const uint8_t *g, unsigned int bits, unsigned int access, uint64_t port)
{
	ASSERT_EQ(g[0], 1);		/* system I/O */
	ASSERT_EQ(g[1], bits);
	ASSERT_EQ(g[2], 0);
	ASSERT_EQ(g[3], access);
	ASSERT_EQ(rd64(g + 4), port);
}

static void check_fadt(const uint8_t *f)
{
	static const uint8_t aml[] = {
		0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0A, 5, 0x0A, 5, 0x00, 0x00,
	};
	const uint8_t *dsdt, *facs;

	ASSERT_EQ(rd32(f + 4), 276);
	ASSERT_EQ(f[8], 6);
	ASSERT_EQ(rd16(f + 46), 9);			/* SCI_INT */
	ASSERT_EQ(rd32(f + 48), 0);			/* SMI_CMD: always ACPI mode */
	ASSERT_EQ(rd32(f + 56), 0x600);			/* PM1a_EVT_BLK */
	ASSERT_EQ(rd32(f + 60), 0);
	ASSERT_EQ(rd32(f + 64), 0x604);			/* PM1a_CNT_BLK */
	ASSERT_EQ(rd32(f + 68), 0);
	ASSERT_EQ(f[88], 4);				/* PM1_EVT_LEN */
	ASSERT_EQ(f[89], 2);				/* PM1_CNT_LEN */
	ASSERT_EQ(f[91], 0);				/* no PM timer */
	ASSERT(rd16(f + 109) & (1 << 5));		/* no CMOS RTC */
	ASSERT(rd32(f + 112) & (1 << 10));		/* RESET_REG_SUP */
	ASSERT(!(rd32(f + 112) & (1 << 20)));		/* not HW_REDUCED_ACPI */
	check_gas_io(f + 116, 8, 1, 0xCF9);
	ASSERT_EQ(f[128], 0x06);
	ASSERT_EQ(f[131], 0);
	check_gas_io(f + 148, 32, 2, 0x600);		/* X_PM1a_EVT_BLK */
	check_gas_io(f + 172, 16, 2, 0x604);		/* X_PM1a_CNT_BLK */
	for (int i = 160; i < 172; i++)			/* X_PM1b_EVT_BLK */
		ASSERT_EQ(f[i], 0);
	ASSERT_EQ(rd64(f + 140), rd32(f + 40));		/* X_DSDT == DSDT */
	dsdt = table_at(rd64(f + 140), "DSDT");
	ASSERT_EQ(rd32(dsdt + 4), 36 + sizeof(aml));
	ASSERT_EQ(dsdt[8], 2);
	ASSERT(!memcmp(dsdt + 36, aml, sizeof(aml)));
	/* FACS: 64-byte aligned, no checksum. */
	ASSERT_EQ(rd32(f + 36) & 63, 0);
	ASSERT(rd32(f + 36) >= BASE && rd32(f + 36) + 64 <= BASE + SIZE);
	facs = region + (rd32(f + 36) - BASE);
	ASSERT(!memcmp(facs, "FACS", 4));
	ASSERT_EQ(rd32(facs + 4), 64);
	ASSERT_EQ(facs[32], 2);
}

static void check_madt(const uint8_t *m, uint32_t nr)
{
	uint32_t len = rd32(m + 4), at = 44, xapic = 0, x2apic = 0, ioapic = 0, iso = 0;

	ASSERT_EQ(rd32(m + 36), 0xFEE00000U);
	ASSERT_EQ(rd32(m + 40), 0);			/* no PCAT_COMPAT */
	while (at < len) {
		const uint8_t *e = m + at;

		ASSERT(at + 2 <= len && e[1] >= 2 && at + e[1] <= len);
		switch (e[0]) {
		case 0:
			ASSERT_EQ(e[1], 8);
			ASSERT_EQ(e[3], xapic);		/* APIC IDs in order */
			ASSERT_EQ(e[2], xapic);
			ASSERT_EQ(rd32(e + 4), 1);	/* enabled */
			ASSERT_EQ(x2apic, 0);
			xapic++;
			break;
		case 9:
			ASSERT_EQ(e[1], 16);
			ASSERT_EQ(rd32(e + 4), 255 + x2apic);
			ASSERT_EQ(rd32(e + 8), 1);
			ASSERT(rd32(e + 12) >= 255);	/* UIDs apart from the xAPIC ones */
			x2apic++;
			break;
		case 1:
			ASSERT_EQ(e[1], 12);
			ASSERT_EQ(e[2], 0);
			ASSERT_EQ(rd32(e + 4), 0xFEC00000U);
			ASSERT_EQ(rd32(e + 8), 0);
			ioapic++;
			break;
		case 2:
			ASSERT_EQ(e[1], 10);
			ASSERT_EQ(e[2], 0);		/* ISA */
			if (e[3] == 0) {
				ASSERT_EQ(rd32(e + 4), 2);
				ASSERT_EQ(rd16(e + 8), 0);
			} else {
				ASSERT_EQ(e[3], 9);
				ASSERT_EQ(rd32(e + 4), 9);
				ASSERT_EQ(rd16(e + 8), 0xD);	/* active high, level */
			}
			iso++;
			break;
		default:
			test_fail(__FILE__, __LINE__, "MADT entry type %u", e[0]);
		}
		at += e[1];
	}
	ASSERT_EQ(at, len);
	ASSERT_EQ(xapic, nr < 255 ? nr : 255);
	ASSERT_EQ(x2apic, nr < 255 ? 0 : nr - 255);
	ASSERT_EQ(ioapic, 1);
	ASSERT_EQ(iso, 2);
}

/* Walk RSDP -> XSDT -> FADT (-> DSDT, FACS) and MADT. */
static void check_tables(uint32_t nr)
{
	const uint8_t *rsdp = NULL, *xsdt, *fadt = NULL, *madt = NULL;
	uint32_t n;

	for (uint64_t off = 0; off < SIZE; off += 16)
		if (!memcmp(region + off, "RSD PTR ", 8)) {
			rsdp = region + off;
			break;
		}
	ASSERT(rsdp);
	ASSERT_EQ(sum(rsdp, 20), 0);
	ASSERT_EQ(rsdp[15], 2);
	ASSERT_EQ(rd32(rsdp + 20), 36);
	ASSERT_EQ(sum(rsdp, 36), 0);
	xsdt = table_at(rd64(rsdp + 24), "XSDT");
	ASSERT_EQ((rd32(xsdt + 4) - 36) % 8, 0);
	n = (rd32(xsdt + 4) - 36) / 8;
	ASSERT_EQ(n, 2);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t a = rd64(xsdt + 36 + 8 * i);

		ASSERT(a >= BASE && a < BASE + SIZE);
		if (!memcmp(region + (a - BASE), "FACP", 4))
			fadt = table_at(a, "FACP");
		else
			madt = table_at(a, "APIC");
	}
	ASSERT(fadt && madt);
	check_fadt(fadt);
	check_madt(madt, nr);
}

static long build(uint32_t nr, size_t size)
{
	struct vkvm_acpi_config cfg = {
		.nr_cpus = nr, .ioapic_id = 0, .ioapic_addr = 0xFEC00000U, .ioapic_gsi_base = 0,
	};

	memset(region, 0xEE, sizeof(region));
	return vkvm_acpi_build(region, BASE, size, &cfg);
}

TEST(acpi_tables_for_1_4_64_and_300_vcpus)
{
	static const uint32_t nrs[] = { 1, 4, 64, 254, 255, 256, 300 };

	for (unsigned int i = 0; i < sizeof(nrs) / sizeof(nrs[0]); i++) {
		long used = build(nrs[i], SIZE);

		ASSERT(used > 0 && used < 8192);
		check_tables(nrs[i]);
		/* One byte short of what they took does not fit, and nothing is written. */
		ASSERT_EQ(build(nrs[i], (size_t)used - 1), -E2BIG);
		for (size_t k = 0; k < SIZE; k++)
			ASSERT_EQ(region[k], 0xEE);
		ASSERT_EQ(build(nrs[i], (size_t)used), used);
	}
}

TEST(acpi_tables_for_the_most_vcpus_fit_the_bios_area)
{
	ASSERT(build(VKVM_ACPI_MAX_CPUS, SIZE) > 0);
	check_tables(VKVM_ACPI_MAX_CPUS);
}

TEST(acpi_build_refuses_bad_input)
{
	struct vkvm_acpi_config cfg = { .nr_cpus = 1, .ioapic_addr = 0xFEC00000U };

	ASSERT_EQ(build(0, SIZE), -EINVAL);
	ASSERT_EQ(build(VKVM_ACPI_MAX_CPUS + 1, SIZE), -EINVAL);
	ASSERT_EQ(vkvm_acpi_build(region, BASE + 8, SIZE, &cfg), -EINVAL);	/* RSDP alignment */
	ASSERT_EQ(vkvm_acpi_build(region, 1ULL << 32, SIZE, &cfg), -EINVAL);
	ASSERT_EQ(vkvm_acpi_build(region, 0xFFFFF000ULL, SIZE, &cfg), -EINVAL);
	ASSERT_EQ(vkvm_acpi_build(NULL, BASE, SIZE, &cfg), -EINVAL);
	ASSERT_EQ(vkvm_acpi_build(region, BASE, SIZE, NULL), -EINVAL);
	ASSERT_EQ(vkvm_acpi_build(region, BASE, 16, &cfg), -E2BIG);
	ASSERT_EQ(vkvm_acpi_build(region, BASE, 0, &cfg), -E2BIG);
}

/* At an address only 16-byte aligned, the FACS still lands 64-byte aligned. */
TEST(acpi_facs_is_aligned_in_guest_memory)
{
	struct vkvm_acpi_config cfg = { .nr_cpus = 2, .ioapic_addr = 0xFEC00000U };
	const uint8_t *f;

	memset(region, 0, sizeof(region));
	/* region[i] stays guest BASE + i. */
	ASSERT(vkvm_acpi_build(region + 16, BASE + 16, SIZE - 16, &cfg) > 0);
	ASSERT(!memcmp(region + 16, "RSD PTR ", 8));
	f = region + (rd64(region + 16 + 24) - BASE);
	ASSERT(!memcmp(f, "XSDT", 4));
	f = region + (rd64(f + 36) - BASE);
	ASSERT(!memcmp(f, "FACP", 4));
	ASSERT_EQ(rd32(f + 36) & 63, 0);
	ASSERT(!memcmp(region + (rd32(f + 36) - BASE), "FACS", 4));
}

TEST(acpi_install_leaves_an_image_s_bytes_alone)
{
	static struct mboot_layout lay;

	memset(&lay, 0, sizeof(lay));
	memset(low_ram, 0, sizeof(low_ram));
	ASSERT(vkvm_acpi_install(low_ram, sizeof(low_ram), &lay, 4) > 0);
	ASSERT(!memcmp(low_ram + BASE, "RSD PTR ", 8));
	memcpy(region, low_ram + BASE, SIZE);
	check_tables(4);
	/* A segment over the BIOS area: nothing written. */
	memset(low_ram, 0, sizeof(low_ram));
	lay.nr_segments = 1;
	lay.seg[0].paddr = 0xFF000;
	lay.seg[0].memsz = 0x2000;
	ASSERT_EQ(vkvm_acpi_install(low_ram, sizeof(low_ram), &lay, 4), 0);
	ASSERT_EQ(low_ram[BASE], 0);
	/* A module there: the same. */
	lay.nr_segments = 0;
	lay.nr_mods = 1;
	lay.mod_start[0] = 0xD0000;
	lay.mod_end[0] = 0xE0001;
	ASSERT_EQ(vkvm_acpi_install(low_ram, sizeof(low_ram), &lay, 4), 0);
	ASSERT_EQ(low_ram[BASE], 0);
	/* A segment just below it, and RAM too small to hold it. */
	lay.nr_mods = 0;
	lay.nr_segments = 1;
	lay.seg[0].paddr = 0xD0000;
	lay.seg[0].memsz = 0x10000;
	ASSERT(vkvm_acpi_install(low_ram, sizeof(low_ram), &lay, 4) > 0);
	ASSERT_EQ(vkvm_acpi_install(low_ram, 0xFFFFF, &lay, 4), 0);
}
