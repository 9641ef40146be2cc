/* SPDX-License-Identifier: MIT */
/*
 * Linux bzImage by the 32-bit boot protocol (Documentation/arch/x86/
 * boot.rst's facts): the setup header at 0x1F1 ("HdrS" at 0x202, boot
 * protocol 2.06 or later, LOADED_HIGH), the protected-mode kernel loaded
 * at 1 MiB, a zero page (struct boot_params) with the setup header, the
 * e820 map, the command line, the initrd and the ACPI RSDP, and entry at
 * code32_start in flat 32-bit protected mode, paging off, ESI = the zero
 * page (EBX, EBP, EDI 0).  Pure: byte buffers only.
 *
 * In the loader area below 1 MiB:
 *   BZ_ZERO_PAGE      the zero page (4 KiB)
 *   BZ_CMDLINE        the command line (--append's text), at most
 *                     cmdline_size bytes and BZ_CMDLINE_MAX
 * The initrd (module 0, the only one) goes page-aligned as high as
 * initrd_addr_max, RAM and the APIC page allow, above what the kernel
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
 * protected-mode kernel), or mboot_load()'s errors with a one-line
 * reason: -ENOEXEC (no or a bad setup header, a protocol before 2.06, not
 * LOADED_HIGH), -E2BIG (the kernel, its decompression, the command line
 * or the initrd do not fit), -EINVAL.  On error RAM is untouched.
 */
int bzimage_load(const struct mboot_params *p, void *ram, uint64_t ram_size,
		 struct mboot_layout *layout, char *why, size_t why_size);

#endif
