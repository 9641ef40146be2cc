/* SPDX-License-Identifier: MIT */
/*
 * Pick the boot protocol by the image's magic and load it: a Multiboot
 * header (valid checksum, first 8 KiB) first, then a PVH entry note in an
 * x86 ELF, then a bzImage setup header ("HdrS" at 0x202).  Anything else gets the Multiboot loader's reason, which says
 * what an image lacks ("not an ELF file", "no Multiboot header ...").
 */
#ifndef VKVM_BOOT_BOOT_H
#define VKVM_BOOT_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include <vintc/mboot.h>

/*
 * Load p->image into ram.  rsdp_paddr: the ACPI RSDP for protocols that
 * pass it (0: none).  0 with *layout filled (layout->protocol says which),
 * or the chosen loader's negative errno and one-line reason.
 */
int vkvm_boot_load(const struct mboot_params *p, uint64_t rsdp_paddr, void *ram,
		   uint64_t ram_size, struct mboot_layout *layout, char *why, size_t why_size);

/*
 * Tell a loaded image where the ACPI RSDP is, for protocols that pass it
 * (PVH's start info rsdp_paddr, the bzImage zero page's acpi_rsdp_addr);
 * Multiboot has no field: a no-op.  The
 * tables are built after the image is loaded, around it.
 */
void vkvm_boot_set_rsdp(void *ram, const struct mboot_layout *layout, uint64_t rsdp_paddr);

/* "Multiboot", "PVH", "bzImage". */
const char *vkvm_boot_protocol_name(enum boot_protocol protocol);

#endif
