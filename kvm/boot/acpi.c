// SPDX-License-Identifier: MIT
/*
 * ACPI tables from the machine's shape (kvm/boot/acpi.h).  Layout in the
 * region, each table at its alignment:
 *
 *   addr        RSDP (16-byte aligned, where an OS scans for it)
 *   then        FACS (on a 64-byte boundary, as the specification requires)
 *   then        DSDT, FADT, MADT, XSDT, each 8-byte aligned (each table
 *               is written before the one that points at it; the RSDP's
 *               checksums last)
 *
 * Everything is little-endian and may be unaligned: the fields are
 * written a byte at a time.  No RSDT: the RSDP is revision 2 and names
 * the XSDT, which every OS since ACPI 2.0 reads.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <vintc/mboot.h>

#include "boot/acpi.h"
#include "ioapic.h"

#define OEM_ID		"VINTC "	/* 6 bytes */
#define OEM_TABLE_ID	"VINTCKVM"	/* 8 bytes */
#define CREATOR_ID	"VNTC"
#define LAPIC_ADDR	0xFEE00000U
#define XAPIC_MAX_ID	254		/* 0xFF is the broadcast ID */

struct acpi_buf {
	uint8_t *p;
	uint64_t addr;		/* guest physical address of p[0] */
	size_t size, at;
};

static void put8(uint8_t *p, uint8_t v)
{
	p[0] = v;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

uint8_t vkvm_acpi_sum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum = (uint8_t)(sum + *p++);
	return sum;
}

static void fix_checksum(uint8_t *table, size_t len, size_t at)
{
	table[at] = 0;
	table[at] = (uint8_t)(0x100 - vkvm_acpi_sum(table, len));
}

/*
 * Room for len bytes at the next guest address that is a multiple of
 * align (a power of 2): their offset, the buffer's end moved past them; or
 * (size_t)-1 (nothing moved) if they do not fit.
 */
static size_t acpi_place(struct acpi_buf *b, size_t len, size_t align)
{
	uint64_t end = b->addr + b->at;
	size_t at = b->at + (size_t)((align - (end & (align - 1))) & (align - 1));

	if (at > b->size || len > b->size - at)
		return (size_t)-1;
	b->at = at + len;
	return at;
}

/* The same, zeroed; NULL if they do not fit. */
static uint8_t *acpi_alloc(struct acpi_buf *b, size_t len, size_t align)
{
	size_t at = acpi_place(b, len, align);

	if (at == (size_t)-1)
		return NULL;
	memset(b->p + at, 0, len);
	return b->p + at;
}

static uint64_t acpi_addr(const struct acpi_buf *b, const uint8_t *p)
{
	return b->addr + (uint64_t)(p - b->p);
}

static void put_header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	put32(t + ACPI_HDR_LENGTH, len);
	put8(t + 8, rev);
	memcpy(t + 10, OEM_ID, 6);
	memcpy(t + 16, OEM_TABLE_ID, 8);
	put32(t + 24, 1);			/* OEM revision */
	memcpy(t + 28, CREATOR_ID, 4);
	put32(t + 32, 1);			/* creator revision */
}

static void put_gas_io(uint8_t *g, uint16_t port, uint8_t bits, uint8_t access)
{
	put8(g, ACPI_GAS_SYSTEM_IO);
	put8(g + 1, bits);
	put8(g + 2, 0);				/* bit offset */
	put8(g + 3, access);			/* 1 byte, 2 word, 3 dword */
	put64(g + 4, port);
}

/*
 * DefinitionBlock's only object: Name (_S5, Package () { 5, 5, 0, 0 }),
 * the SLP_TYP for PM1a and PM1b, then two reserved elements.
 */
static const uint8_t dsdt_aml[] = {
	0x08, '_', 'S', '5', '_',		/* NameOp, NameSeg */
	0x12, 0x08, 0x04,			/* PackageOp, PkgLength 8, 4 elements */
	0x0A, VKVM_ACPI_S5_SLP_TYP,		/* BytePrefix */
	0x0A, VKVM_ACPI_S5_SLP_TYP,
	0x00, 0x00,				/* ZeroOp, ZeroOp */
};

static uint8_t *build_dsdt(struct acpi_buf *b)
{
	uint32_t len = ACPI_HDR_LEN + sizeof(dsdt_aml);
	uint8_t *t = acpi_alloc(b, len, 8);

	if (!t)
		return NULL;
	put_header(t, "DSDT", len, 2);	/* 2: integers are 64-bit */
	memcpy(t + ACPI_HDR_LEN, dsdt_aml, sizeof(dsdt_aml));
	fix_checksum(t, len, ACPI_HDR_CHECKSUM);
	return t;
}

static uint8_t *build_facs(struct acpi_buf *b)
{
	uint8_t *t = acpi_alloc(b, ACPI_FACS_LEN, 64);

	if (!t)
		return NULL;
	memcpy(t, "FACS", 4);
	put32(t + 4, ACPI_FACS_LEN);
	put8(t + 32, 2);		/* version; no waking vector, no global lock owner */
	return t;
}

static uint8_t *build_fadt(struct acpi_buf *b, const uint8_t *facs, const uint8_t *dsdt)
{
	uint8_t *t = acpi_alloc(b, ACPI_FADT_LEN, 8);

	if (!t)
		return NULL;
	put_header(t, "FACP", ACPI_FADT_LEN, 6);
	put32(t + ACPI_FADT_FIRMWARE_CTRL, (uint32_t)acpi_addr(b, facs));
	put32(t + ACPI_FADT_DSDT, (uint32_t)acpi_addr(b, dsdt));
	put16(t + ACPI_FADT_SCI_INT, VKVM_ACPI_SCI_IRQ);
	/* SMI_CMD, ACPI_ENABLE, ACPI_DISABLE 0: always in ACPI mode. */
	put32(t + ACPI_FADT_PM1A_EVT_BLK, VKVM_ACPI_PM1A_EVT);
	put32(t + ACPI_FADT_PM1A_CNT_BLK, VKVM_ACPI_PM1A_CNT);
	put8(t + ACPI_FADT_PM1_EVT_LEN, VKVM_ACPI_PM1_EVT_LEN);
	put8(t + ACPI_FADT_PM1_CNT_LEN, VKVM_ACPI_PM1_CNT_LEN);
	/* No C2/C3: latencies above 100 and 1000 us say so. */
	put16(t + 96, 101);
	put16(t + 98, 1001);
	put16(t + ACPI_FADT_IAPC_BOOT_ARCH, ACPI_BOOT_LEGACY_DEVICES | ACPI_BOOT_8042 |
	      ACPI_BOOT_NO_VGA | ACPI_BOOT_NO_CMOS_RTC);
	put32(t + ACPI_FADT_FLAGS, ACPI_FADT_WBINVD | ACPI_FADT_PROC_C1 | ACPI_FADT_PWR_BUTTON |
	      ACPI_FADT_SLP_BUTTON | ACPI_FADT_RESET_REG_SUP);
	put_gas_io(t + ACPI_FADT_RESET_REG, VKVM_ACPI_RESET_PORT, 8, 1);
	put8(t + ACPI_FADT_RESET_VALUE, VKVM_ACPI_RESET_VALUE);
	put8(t + ACPI_FADT_MINOR, 0);
	put64(t + ACPI_FADT_X_DSDT, acpi_addr(b, dsdt));
	put_gas_io(t + ACPI_FADT_X_PM1A_EVT, VKVM_ACPI_PM1A_EVT, VKVM_ACPI_PM1_EVT_LEN * 8, 2);
	put_gas_io(t + ACPI_FADT_X_PM1A_CNT, VKVM_ACPI_PM1A_CNT, VKVM_ACPI_PM1_CNT_LEN * 8, 2);
	fix_checksum(t, ACPI_FADT_LEN, ACPI_HDR_CHECKSUM);
	return t;
}

static size_t madt_len(uint32_t nr_cpus)
{
	uint32_t xapic = nr_cpus <= XAPIC_MAX_ID ? nr_cpus : XAPIC_MAX_ID + 1;

	return ACPI_MADT_ENTRIES + 8 * (size_t)xapic + 16 * (size_t)(nr_cpus - xapic) + 12 + 2 * 10;
}

static uint8_t *put_iso(uint8_t *e, uint8_t irq, uint32_t gsi, uint16_t flags)
{
	put8(e, ACPI_MADT_ISO);
	put8(e + 1, 10);
	put8(e + 2, 0);			/* bus: ISA */
	put8(e + 3, irq);
	put32(e + 4, gsi);
	put16(e + 8, flags);
	return e + 10;
}

static uint8_t *build_madt(struct acpi_buf *b, const struct vkvm_acpi_config *cfg)
{
	size_t len = madt_len(cfg->nr_cpus);
	uint8_t *t = acpi_alloc(b, len, 8), *e;

	if (!t)
		return NULL;
	put_header(t, "APIC", (uint32_t)len, 5);
	put32(t + ACPI_MADT_LAPIC_ADDR, LAPIC_ADDR);
	put32(t + ACPI_MADT_FLAGS, 0);	/* no PCAT_COMPAT: there is no 8259 to mask */
	e = t + ACPI_MADT_ENTRIES;
	for (uint32_t id = 0; id < cfg->nr_cpus; id++) {
		if (id <= XAPIC_MAX_ID) {
			put8(e, ACPI_MADT_LAPIC);
			put8(e + 1, 8);
			put8(e + 2, (uint8_t)id);	/* ACPI processor UID */
			put8(e + 3, (uint8_t)id);
			put32(e + 4, ACPI_LAPIC_ENABLED);
			e += 8;
		} else {
			put8(e, ACPI_MADT_X2APIC);
			put8(e + 1, 16);
			put32(e + 4, id);
			put32(e + 8, ACPI_LAPIC_ENABLED);
			put32(e + 12, id);		/* UID, apart from the xAPIC ones' */
			e += 16;
		}
	}
	put8(e, ACPI_MADT_IOAPIC);
	put8(e + 1, 12);
	put8(e + 2, cfg->ioapic_id);
	put32(e + 4, cfg->ioapic_addr);
	put32(e + 8, cfg->ioapic_gsi_base);
	e += 12;
	/* The PIT's IRQ 0 is on pin 2; the SCI is level, active high. */
	e = put_iso(e, 0, cfg->ioapic_gsi_base + 2, 0);
	put_iso(e, VKVM_ACPI_SCI_IRQ, cfg->ioapic_gsi_base + VKVM_ACPI_SCI_IRQ,
		ACPI_INTI_ACTIVE_HIGH | ACPI_INTI_LEVEL);
	fix_checksum(t, len, ACPI_HDR_CHECKSUM);
	return t;
}

static uint8_t *build_xsdt(struct acpi_buf *b, const uint8_t *const *tables, unsigned int n)
{
	uint32_t len = ACPI_HDR_LEN + 8 * n;
	uint8_t *t = acpi_alloc(b, len, 8);

	if (!t)
		return NULL;
	put_header(t, "XSDT", len, 1);
	for (unsigned int i = 0; i < n; i++)
		put64(t + ACPI_HDR_LEN + 8 * i, acpi_addr(b, tables[i]));
	fix_checksum(t, len, ACPI_HDR_CHECKSUM);
	return t;
}

/*
 * Whether the tables fit, before anything is written: the same places in
 * the same order as vkvm_acpi_build takes them.
 */
static bool acpi_fits(uint64_t addr, size_t size, uint32_t nr_cpus)
{
	struct acpi_buf b = { .addr = addr, .size = size };

	return acpi_place(&b, ACPI_RSDP_LEN, 16) != (size_t)-1 &&
	       acpi_place(&b, ACPI_FACS_LEN, 64) != (size_t)-1 &&
	       acpi_place(&b, ACPI_HDR_LEN + sizeof(dsdt_aml), 8) != (size_t)-1 &&
	       acpi_place(&b, ACPI_FADT_LEN, 8) != (size_t)-1 &&
	       acpi_place(&b, madt_len(nr_cpus), 8) != (size_t)-1 &&
	       acpi_place(&b, ACPI_HDR_LEN + 8 * 2, 8) != (size_t)-1;
}

static void build_rsdp(uint8_t *r, uint64_t xsdt)
{
	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, OEM_ID, 6);
	put8(r + 15, 2);			/* revision: ACPI 2.0+, XSDT */
	put32(r + 16, 0);			/* no RSDT */
	put32(r + 20, ACPI_RSDP_LEN);
	put64(r + ACPI_RSDP_XSDT, xsdt);
	fix_checksum(r, ACPI_RSDP_V1_LEN, 8);
	fix_checksum(r, ACPI_RSDP_LEN, ACPI_RSDP_XCHECKSUM);
}

long vkvm_acpi_build(uint8_t *buf, uint64_t addr, size_t size,
		     const struct vkvm_acpi_config *cfg)
{
	struct acpi_buf b = { .p = buf, .addr = addr, .size = size };
	const uint8_t *tables[2];
	uint8_t *rsdp, *facs, *dsdt, *fadt, *madt, *xsdt;

	if (!buf || !cfg || !cfg->nr_cpus || cfg->nr_cpus > VKVM_ACPI_MAX_CPUS)
		return -EINVAL;
	/* Every pointer is 32-bit somewhere (RSDT-era fields, FIRMWARE_CTRL, DSDT). */
	if ((addr & 15) || addr >= (1ULL << 32) || size > (1ULL << 32) - addr)
		return -EINVAL;
	/* Nothing written unless it all fits. */
	if (!acpi_fits(addr, size, cfg->nr_cpus))
		return -E2BIG;
	rsdp = acpi_alloc(&b, ACPI_RSDP_LEN, 16);
	facs = rsdp ? build_facs(&b) : NULL;
	dsdt = facs ? build_dsdt(&b) : NULL;
	fadt = dsdt ? build_fadt(&b, facs, dsdt) : NULL;
	madt = fadt ? build_madt(&b, cfg) : NULL;
	if (!madt)
		return -E2BIG;
	tables[0] = fadt;
	tables[1] = madt;
	xsdt = build_xsdt(&b, tables, 2);
	if (!xsdt)
		return -E2BIG;
	build_rsdp(rsdp, acpi_addr(&b, xsdt));
	return (long)b.at;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

long vkvm_acpi_install(uint8_t *ram, uint64_t ram_size, const struct mboot_layout *lay,
		       uint32_t nr_cpus)
{
	struct vkvm_acpi_config cfg = {
		.nr_cpus = nr_cpus,
		.ioapic_id = 0,
		.ioapic_addr = (uint32_t)IOAPIC_BASE,
		.ioapic_gsi_base = 0,
	};

	if (ram_size < VKVM_ACPI_ADDR + VKVM_ACPI_SIZE)
		return 0;
	for (unsigned int i = 0; lay && i < lay->nr_segments; i++)
		if (overlaps(lay->seg[i].paddr, lay->seg[i].memsz, VKVM_ACPI_ADDR, VKVM_ACPI_SIZE))
			return 0;
	for (unsigned int i = 0; lay && i < lay->nr_mods; i++)
		if (overlaps(lay->mod_start[i], lay->mod_end[i] - lay->mod_start[i],
			     VKVM_ACPI_ADDR, VKVM_ACPI_SIZE))
			return 0;
	return vkvm_acpi_build(ram + VKVM_ACPI_ADDR, VKVM_ACPI_ADDR, VKVM_ACPI_SIZE, &cfg);
}
