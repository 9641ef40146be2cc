/* SPDX-License-Identifier: MIT */
/*
 * The PVH boot protocol (Xen's direct boot of an ELF kernel, as Linux's
 * vmlinux supports it): an ELF32 or ELF64 x86 executable whose PT_NOTE
 * carries XEN_ELFNOTE_PHYS32_ENTRY (name "Xen", type 18, a 32-bit physical
 * entry point).  Loaded like a Multiboot kernel (PT_LOAD segments at their
 * physical addresses, modules page-aligned after it, the same memory
 * map) and entered in the same flat 32-bit protected mode, paging off,
 * with EBX = the hvm_start_info below.  Pure: byte buffers only.
 *
 * hvm_start_info, version 1 (Xen's public hvm/start_info.h), all little
 * endian, in the loader area below 1 MiB:
 *
 *   PVH_INFO_ADDR      start info: u32 magic, version, flags, nr_modules;
 *                      u64 modlist_paddr, cmdline_paddr, rsdp_paddr,
 *                      memmap_paddr; u32 memmap_entries, reserved
 *   PVH_MEMMAP_ADDR    memory map: u64 addr, size; u32 type (e820), reserved
 *   PVH_MODLIST_ADDR   modules: u64 paddr, size, cmdline_paddr, reserved
 *   PVH_STRINGS_ADDR   the command line (--append's text alone), then each
 *                      module's string
 */
#ifndef VKVM_BOOT_PVH_H
#define VKVM_BOOT_PVH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vintc/mboot.h>

#define PVH_NOTE_NAME		"Xen"
#define PVH_NOTE_PHYS32_ENTRY	18	/* XEN_ELFNOTE_PHYS32_ENTRY */

#define PVH_START_MAGIC		0x336ec578U
#define PVH_START_VERSION	1	/* with the memory map */

/* hvm_start_info field offsets. */
#define PVH_SI_MAGIC		0
#define PVH_SI_VERSION		4
#define PVH_SI_FLAGS		8
#define PVH_SI_NR_MODULES	12
#define PVH_SI_MODLIST_PADDR	16
#define PVH_SI_CMDLINE_PADDR	24
#define PVH_SI_RSDP_PADDR	32
#define PVH_SI_MEMMAP_PADDR	40
#define PVH_SI_MEMMAP_ENTRIES	48
#define PVH_SI_SIZE		56

#define PVH_MODLIST_ENTRY_SIZE	32	/* paddr, size, cmdline_paddr, reserved */
#define PVH_MEMMAP_ENTRY_SIZE	24	/* addr, size, type, reserved */

/* The loader area: the same as Multiboot's. */
#define PVH_INFO_ADDR		0x9000U
#define PVH_MEMMAP_ADDR		0x9100U
#define PVH_MODLIST_ADDR	0x9200U	/* MBOOT_MAX_MODS entries */
#define PVH_STRINGS_ADDR	0x9600U
#define PVH_AREA_END		MBOOT_AREA_END

/*
 * Whether image is an x86 ELF with a PVH entry note (a well-formed one or
 * not: pvh_load() then says what is wrong with it).
 */
bool pvh_probe(const void *image, size_t size);

/*
 * Load p->image (p->image_name is not used: the command line is p->cmdline
 * alone) into ram and build the start info; rsdp_paddr goes into its
 * field (0: none).  0 with *layout filled (protocol BOOT_PVH, EBX = the
 * start info), or the errors of mboot_load() with a one-line reason:
 * -ENOEXEC (no PVH note, a note too short, a truncated file), -ERANGE
 * (the entry outside the loaded segments, segments outside RAM or over
 * the loader area or the APIC page), -E2BIG, -EINVAL.  On error RAM is
 * untouched.
 */
int pvh_load(const struct mboot_params *p, uint64_t rsdp_paddr, void *ram, uint64_t ram_size,
	     struct mboot_layout *layout, char *why, size_t why_size);

#endif
