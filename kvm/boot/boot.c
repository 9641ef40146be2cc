// SPDX-License-Identifier: MIT
/*
 * The boot protocol dispatcher (see boot.h).  Multiboot goes first so that
 * every image that booted before still boots the same way; then PVH (an
 * ELF note), then bzImage ("HdrS" at 0x202).
 */
#include "boot.h"
#include "bzimage.h"
#include "image.h"
#include "pvh.h"

int vkvm_boot_load(const struct mboot_params *p, uint64_t rsdp_paddr, void *ram,
		   uint64_t ram_size, struct mboot_layout *layout, char *why, size_t why_size)
{
	if (!p || mboot_probe(p->image, p->image_size))
		return mboot_load(p, ram, ram_size, layout, why, why_size);
	if (pvh_probe(p->image, p->image_size))
		return pvh_load(p, rsdp_paddr, ram, ram_size, layout, why, why_size);
	if (bzimage_probe(p->image, p->image_size)) {
		int ret = bzimage_load(p, ram, ram_size, layout, why, why_size);

		if (!ret && rsdp_paddr)
			vkvm_boot_set_rsdp(ram, layout, rsdp_paddr);
		return ret;
	}
	return mboot_load(p, ram, ram_size, layout, why, why_size);
}

void vkvm_boot_set_rsdp(void *ram, const struct mboot_layout *layout, uint64_t rsdp_paddr)
{
	if (layout->protocol == BOOT_PVH)
		boot_wr64(ram, layout->info_addr + PVH_SI_RSDP_PADDR, rsdp_paddr);
	else if (layout->protocol == BOOT_BZIMAGE)
		boot_wr64(ram, layout->info_addr + BZ_ACPI_RSDP_ADDR, rsdp_paddr);
}

const char *vkvm_boot_protocol_name(enum boot_protocol protocol)
{
	switch (protocol) {
	case BOOT_MULTIBOOT:
		return "Multiboot";
	case BOOT_PVH:
		return "PVH";
	case BOOT_BZIMAGE:
		return "bzImage";
	}
	return "?";
}
