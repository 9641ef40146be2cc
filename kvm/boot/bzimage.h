/* SPDX-License-Identifier: MIT */
/*
 * Linux bzImage by the x86 boot protocol (Documentation/arch/x86/
 * boot.rst's facts): the setup header at 0x1F1 ("HdrS" at 0x202, boot
 * protocol 2.06 or later, LOADED_HIGH), the protected-mode kernel loaded
 * at 1 MiB, a zero page (struct boot_params) with the setup header, the
 * e820 map, the command line, the initrd and the ACPI RSDP.  Pure: byte
 * buffers only.
 *
 * Entry, as kvmtool and Firecracker choose it: by the 64-bit boot
 * protocol whenever the header allows it (protocol 2.12 or later with
 * XLF_KERNEL_64 in xloadflags): long mode at the load address + 0x200,
 * paging on with an identity map of 0-4 GiB (2 MiB pages), CS = __BOOT_CS
 * (0x10, 64-bit code), DS = ES = SS = __BOOT_DS (0x18, flat data), RSI =
 * the zero page.  Otherwise by the 32-bit boot protocol: code32_start in
 * flat 32-bit protected mode, paging off, ESI = the zero page.  Both with
 * interrupts off and the other general registers 0.
 *
 * Below 1 MiB:
 *   BZ_GDT            the 64-bit entry's GDT (null, null, __BOOT_CS,
 *                     __BOOT_DS)
 *   BZ_PML4, BZ_PDPT, BZ_PD (4 pages): its page tables; the e820 map
 *                     reserves BZ_GDT..BZ_TABLES_END for the 64-bit entry
 *   BZ_ZERO_PAGE      the zero page (4 KiB), in the loader area
 *   BZ_CMDLINE        the command line (--append's text), at most
 *                     cmdline_size bytes and BZ_CMDLINE_MAX
 * The initrd (module 0, the only one) goes page-aligned as high as
 * initrd_addr_max and RAM below 4 GiB allow, above what the kernel
 * needs to decompress (from max(pref_address, 1 MiB aligned up to
 * kernel_alignment), init_size bytes).
 */
#ifndef VKVM_BOOT_BZIMAGE_H
#define VKVM_BOOT_BZIMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vintc/mboot.h>

/* Setup header and zero page offsets (struct boot_params). */
#define BZ_ACPI_RSDP_ADDR	0x070	/* u64, protocol 2.14 */
#define BZ_E820_ENTRIES		0x1e8	/* u8 */
#define BZ_SETUP_SECTS		0x1f1	/* u8; 0 means 4 */
#define BZ_BOOT_FLAG		0x1fe	/* u16 0xAA55 */
#define BZ_JUMP			0x200	/* u16; its second byte ends the header */
#define BZ_HEADER		0x202	/* "HdrS" */
#define BZ_VERSION		0x206	/* u16 */
#define BZ_TYPE_OF_LOADER	0x210	/* u8 */
#define BZ_LOADFLAGS		0x211	/* u8 */
#define BZ_CODE32_START		0x214	/* u32 */
#define BZ_RAMDISK_IMAGE	0x218	/* u32 */
#define BZ_RAMDISK_SIZE		0x21c	/* u32 */
#define BZ_CMD_LINE_PTR		0x228	/* u32 */
#define BZ_INITRD_ADDR_MAX	0x22c	/* u32 */
#define BZ_KERNEL_ALIGNMENT	0x230	/* u32 */
#define BZ_RELOCATABLE		0x234	/* u8 */
#define BZ_XLOADFLAGS		0x236	/* u16, protocol 2.12 */
#define BZ_CMDLINE_SIZE		0x238	/* u32, protocol 2.06 */
#define BZ_PREF_ADDRESS		0x258	/* u64, protocol 2.10 */
#define BZ_INIT_SIZE		0x260	/* u32, protocol 2.10 */
#define BZ_E820_TABLE		0x2d0	/* 20 bytes an entry: addr, size, type */
#define BZ_E820_ENTRY_SIZE	20
#define BZ_ZERO_PAGE_SIZE	0x1000

#define BZ_BOOT_FLAG_MAGIC	0xAA55
#define BZ_HEADER_MAGIC		0x53726448U	/* "HdrS" */
#define BZ_MIN_VERSION		0x0206
#define BZ_LOADED_HIGH		(1U << 0)
#define BZ_KEEP_SEGMENTS	(1U << 6)
#define BZ_CAN_USE_HEAP		(1U << 7)
#define BZ_LOADER_UNDEFINED	0xff
#define BZ_XLF_KERNEL_64	(1U << 0)	/* a 64-bit entry at load address + 0x200 */
#define BZ_XLF_VERSION		0x020c		/* xloadflags exists from 2.12 */
#define BZ_ENTRY64_OFFSET	0x200
#define BZ_BOOT_CS		0x10
#define BZ_BOOT_DS		0x18

#define BZ_GDT			0x1000U
#define BZ_GDT_LIMIT		(4 * 8 - 1)
#define BZ_PML4			0x2000U
#define BZ_PDPT			0x3000U
#define BZ_PD			0x4000U	/* 4 pages: 2 MiB pages up to 4 GiB */
#define BZ_TABLES_END		0x8000U
/* Page table entry bits (SDM vol. 3, 4.5). */
#define BZ_PTE_P		(1ULL << 0)
#define BZ_PTE_RW		(1ULL << 1)
#define BZ_PTE_PS		(1ULL << 7)

#define BZ_ZERO_PAGE		0x9000U
#define BZ_CMDLINE		0xa000U
#define BZ_CMDLINE_MAX		(MBOOT_AREA_END - BZ_CMDLINE)
#define BZ_KERNEL_ADDR		0x100000U	/* the protected-mode kernel */

/* Whether image has the bzImage setup header's magic ("HdrS" at 0x202). */
bool bzimage_probe(const void *image, size_t size);

/*
 * Load p->image into ram and build the zero page (p->image_name is not
 * used; p->mods: at most one, the initrd).  0 with *layout filled
 * (protocol BOOT_BZIMAGE, ESI = the zero page, one segment: the
 * protected-mode kernel; for the 64-bit entry, cr3 and gdt_addr set and
 * the tables written), or mboot_load()'s errors with a one-line reason:
 * -ENOEXEC (no or a bad setup header, a protocol before 2.06, not
 * LOADED_HIGH, not relocatable with pref_address below 1 MiB,
 * XLF_KERNEL_64 with a kernel too short for the 64-bit entry), -E2BIG (the kernel, its decompression, the command line
 * or the initrd do not fit; a -m too small is named with the MiB the
 * header asks for), -EINVAL.  On error RAM is untouched.
 */
int bzimage_load(const struct mboot_params *p, void *ram, uint64_t ram_size,
		 struct mboot_layout *layout, char *why, size_t why_size);

#endif
