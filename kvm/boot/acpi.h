/* SPDX-License-Identifier: MIT */
/*
 * The machine's ACPI tables, built from its shape: RSDP (revision 2),
 * XSDT, FADT (revision 6 layout), FACS, MADT and a DSDT whose only object
 * is \_S5.  A pure builder: it writes into a buffer that stands for guest
 * physical memory at `addr`; kvm/run.c puts the result at
 * VKVM_ACPI_ADDR, in the BIOS area the memory map reserves.  Private to
 * kvm/.
 *
 * The platform it describes (the ACPI PM device, kvm/devices/acpi_pm.c,
 * serves the ports):
 *   PM1a event block   0x600..0x603: PM1_STS at 0x600, PM1_EN at 0x602
 *   PM1a control block 0x604..0x605: PM1_CNT
 *   SCI                ISA IRQ 9 = GSI 9, level-triggered, active high
 *   reset register     system I/O 0xCF9, value 0x06 (kvm/devices/reset.c)
 *   \_S5               SLP_TYP 5: SLP_EN with it powers the machine off
 * No SMI command port (SMI_CMD 0): the machine is always in ACPI mode, so
 * PM1_CNT.SCI_EN reads 1.  No PM timer, no GPE blocks, no PM1b, no RTC.
 */
#ifndef VINTC_KVM_BOOT_ACPI_H
#define VINTC_KVM_BOOT_ACPI_H

#include <stddef.h>
#include <stdint.h>

/* Where the tables go: the BIOS read-only area, 0xE0000..0xFFFFF. */
#define VKVM_ACPI_ADDR		0xE0000ULL
#define VKVM_ACPI_SIZE		0x20000ULL

#define VKVM_ACPI_PM1A_EVT	0x600
#define VKVM_ACPI_PM1_EVT_LEN	4
#define VKVM_ACPI_PM1A_CNT	0x604
#define VKVM_ACPI_PM1_CNT_LEN	2
#define VKVM_ACPI_SCI_IRQ	9
#define VKVM_ACPI_S5_SLP_TYP	5
#define VKVM_ACPI_RESET_PORT	0xCF9
#define VKVM_ACPI_RESET_VALUE	0x06

/* The largest machine the tables describe: x2APIC IDs 0..n-1. */
#define VKVM_ACPI_MAX_CPUS	4096

/* Table and structure layouts, by the ACPI specification (6.x). */
#define ACPI_HDR_LEN		36
#define ACPI_HDR_LENGTH		4	/* u32 */
#define ACPI_HDR_CHECKSUM	9	/* u8 */
#define ACPI_RSDP_LEN		36
#define ACPI_RSDP_V1_LEN	20
#define ACPI_RSDP_XSDT		24	/* u64 */
#define ACPI_RSDP_XCHECKSUM	32
#define ACPI_FACS_LEN		64
#define ACPI_FADT_LEN		276
#define ACPI_FADT_FIRMWARE_CTRL	36
#define ACPI_FADT_DSDT		40
#define ACPI_FADT_SCI_INT	46	/* u16 */
#define ACPI_FADT_SMI_CMD	48
#define ACPI_FADT_PM1A_EVT_BLK	56
#define ACPI_FADT_PM1A_CNT_BLK	64
#define ACPI_FADT_PM1_EVT_LEN	88
#define ACPI_FADT_PM1_CNT_LEN	89
#define ACPI_FADT_PM_TMR_LEN	91
#define ACPI_FADT_IAPC_BOOT_ARCH 109	/* u16 */
#define ACPI_FADT_FLAGS		112
#define ACPI_FADT_RESET_REG	116	/* GAS */
#define ACPI_FADT_RESET_VALUE	128
#define ACPI_FADT_MINOR		131
#define ACPI_FADT_X_DSDT	140	/* u64 */
#define ACPI_FADT_X_PM1A_EVT	148	/* GAS */
#define ACPI_FADT_X_PM1A_CNT	172	/* GAS */
#define ACPI_GAS_LEN		12
#define ACPI_GAS_SYSTEM_IO	1
#define ACPI_MADT_LAPIC_ADDR	36
#define ACPI_MADT_FLAGS		40
#define ACPI_MADT_ENTRIES	44
#define ACPI_MADT_LAPIC		0	/* Processor Local APIC, 8 bytes */
#define ACPI_MADT_IOAPIC	1	/* 12 bytes */
#define ACPI_MADT_ISO		2	/* Interrupt Source Override, 10 bytes */
#define ACPI_MADT_X2APIC	9	/* Processor Local x2APIC, 16 bytes */

/* FADT Fixed Feature Flags */
#define ACPI_FADT_WBINVD	(1U << 0)
#define ACPI_FADT_PROC_C1	(1U << 2)
#define ACPI_FADT_PWR_BUTTON	(1U << 4)	/* no fixed-feature power button */
#define ACPI_FADT_SLP_BUTTON	(1U << 5)	/* no fixed-feature sleep button */
#define ACPI_FADT_RESET_REG_SUP	(1U << 10)
#define ACPI_FADT_HW_REDUCED	(1U << 20)
/* FADT IA-PC Boot Architecture Flags */
#define ACPI_BOOT_LEGACY_DEVICES (1U << 0)
#define ACPI_BOOT_8042		(1U << 1)
#define ACPI_BOOT_NO_VGA	(1U << 2)
#define ACPI_BOOT_NO_CMOS_RTC	(1U << 5)
/* MADT Local APIC Flags, MPS INTI flags */
#define ACPI_LAPIC_ENABLED	(1U << 0)
#define ACPI_INTI_ACTIVE_HIGH	0x1
#define ACPI_INTI_LEVEL		(0x3 << 2)

/* PM1 registers (ACPI 4.8.3) */
#define ACPI_PM1_STS_TMR	(1U << 0)
#define ACPI_PM1_STS_BM		(1U << 4)
#define ACPI_PM1_STS_GBL	(1U << 5)
#define ACPI_PM1_STS_PWRBTN	(1U << 8)
#define ACPI_PM1_STS_SLPBTN	(1U << 9)
#define ACPI_PM1_STS_RTC	(1U << 10)
#define ACPI_PM1_STS_PCIEXP_WAKE (1U << 14)
#define ACPI_PM1_STS_WAK	(1U << 15)
#define ACPI_PM1_EN_MASK	0x4721	/* TMR, GBL, PWRBTN, SLPBTN, RTC, PCIEXP_WAKE_DIS */
#define ACPI_PM1_CNT_SCI_EN	(1U << 0)
#define ACPI_PM1_CNT_BM_RLD	(1U << 1)
#define ACPI_PM1_CNT_GBL_RLS	(1U << 2)
#define ACPI_PM1_CNT_SLP_TYP_SHIFT 10
#define ACPI_PM1_CNT_SLP_TYP	(7U << ACPI_PM1_CNT_SLP_TYP_SHIFT)
#define ACPI_PM1_CNT_SLP_EN	(1U << 13)

struct vkvm_acpi_config {
	uint32_t nr_cpus;		/* APIC IDs 0..nr_cpus-1, 1..VKVM_ACPI_MAX_CPUS */
	uint8_t ioapic_id;
	uint32_t ioapic_addr;
	uint32_t ioapic_gsi_base;
};

/*
 * Write the tables into buf, which is guest physical memory from addr
 * (16-byte aligned, below 4 GiB, the whole region below 4 GiB) for size
 * bytes; the RSDP is at addr.  Returns the bytes used, -EINVAL for a bad
 * configuration or region, -E2BIG when the tables do not fit (then
 * nothing is written).
 */
long vkvm_acpi_build(uint8_t *buf, uint64_t addr, size_t size,
		     const struct vkvm_acpi_config *cfg);

struct mboot_layout;

/*
 * The machine's tables at VKVM_ACPI_ADDR in guest RAM (ram_size bytes
 * from physical 0) for nr_cpus vCPUs and the I/O APIC, unless the loaded
 * image or a module already owns part of that region (then nothing is
 * written: the image's bytes win, and an OS that needs ACPI finds no
 * RSDP).  The bytes written, 0 if skipped, or -errno.
 */
long vkvm_acpi_install(uint8_t *ram, uint64_t ram_size, const struct mboot_layout *lay,
		       uint32_t nr_cpus);

/* The 8-bit sum of len bytes: 0 for a table whose checksum is right. */
uint8_t vkvm_acpi_sum(const uint8_t *p, size_t len);

#endif
