/* SPDX-License-Identifier: MIT */
/*
 * Multiboot v1 loader for ELF32 kernels, loading the way QEMU's -kernel
 * does (Multiboot Specification 0.6.96).  Pure: it works on byte buffers,
 * knows nothing of KVM, and never reads outside the image it is given, so
 * it can be fed arbitrary files.
 *
 * Guest physical layout it produces (RAM starts at 0):
 *
 *   0x00000000 - 0x0009ffff  low RAM (mem_lower = 640 KiB), type 1 in the map
 *     MBOOT_AREA_START       loader structures, in this order:
 *       MBOOT_INFO_ADDR        the info block (EBX on entry)
 *       MBOOT_MMAP_ADDR        memory map entries
 *       MBOOT_MODS_ADDR        module list (16 bytes per module)
 *       MBOOT_STRINGS_ADDR     command line ("IMAGE_NAME ARGS"), then each
 *                              module's string
 *     MBOOT_AREA_END
 *   0x000a0000 - 0x000fffff  VGA and BIOS hole, type 2 (reserved) in the map
 *   0x00100000 - low end     upper RAM (mem_upper), type 1, up to RAM's end
 *                            or 3 GiB: the kernel's PT_LOAD segments at
 *                            their physical addresses, then the modules,
 *                            each page-aligned, from the first page after
 *                            the kernel's highest byte (and never below 1 MiB)
 *   0xc0000000 - 4 GiB       no RAM, as on a PC: the I/O APIC, the local
 *                            APIC and other devices' MMIO
 *   0xfee00000 - 0xfee00fff  the local APIC, type 2 (listed whatever the RAM)
 *   4 GiB - ...              RAM past the first 3 GiB, if any, type 1
 *
 * No segment or module may touch the loader area or the APIC page; memory outside the
 * segments, the modules and the loader area is left as the caller gave it.
 */
#ifndef VINTC_MBOOT_H
#define VINTC_MBOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MBOOT_HEADER_MAGIC	0x1BADB002U	/* in the kernel image */
#define MBOOT_BOOT_MAGIC	0x2BADB002U	/* in EAX at entry */
#define MBOOT_SEARCH_LIMIT	8192U		/* header within the first 8 KiB */

/* Header flags (bits 0-15 are requirements the loader must meet). */
#define MBOOT_HDR_PAGE_ALIGN	(1U << 0)
#define MBOOT_HDR_MEMORY_INFO	(1U << 1)
#define MBOOT_HDR_VIDEO_MODE	(1U << 2)	/* accepted, no video info given */
#define MBOOT_HDR_AOUT_KLUDGE	(1U << 16)	/* not supported: ELF only */

/* Info block flags and field offsets. */
#define MBOOT_INFO_MEM		(1U << 0)
#define MBOOT_INFO_CMDLINE	(1U << 2)
#define MBOOT_INFO_MODS		(1U << 3)
#define MBOOT_INFO_MMAP		(1U << 6)
#define MBOOT_INFO_LOADER_NAME	(1U << 9)

#define MBOOT_INFO_FLAGS	0
#define MBOOT_INFO_MEM_LOWER	4
#define MBOOT_INFO_MEM_UPPER	8
#define MBOOT_INFO_CMDLINE_OFF	16
#define MBOOT_INFO_MODS_COUNT	20
#define MBOOT_INFO_MODS_ADDR	24
#define MBOOT_INFO_MMAP_LENGTH	44
#define MBOOT_INFO_MMAP_ADDR	48
#define MBOOT_INFO_LOADER_NAME_OFF 64
#define MBOOT_INFO_SIZE		88

#define MBOOT_MOD_SIZE		16	/* start, end, string, reserved */
#define MBOOT_MMAP_ENTRY_SIZE	24	/* u32 size (= 20), u64 base, u64 len, u32 type */
#define MBOOT_MMAP_AVAILABLE	1
#define MBOOT_MMAP_RESERVED	2

/* The loader area, below 1 MiB and out of the kernels' way. */
#define MBOOT_AREA_START	0x9000U
#define MBOOT_INFO_ADDR		0x9000U
#define MBOOT_MMAP_ADDR		0x9100U
#define MBOOT_MODS_ADDR		0x9200U
#define MBOOT_STRINGS_ADDR	0x9400U
#define MBOOT_AREA_END		0x10000U

#define MBOOT_LOW_MEM_END	0xa0000U	/* 640 KiB */
#define MBOOT_HIGH_MEM_START	0x100000U	/* 1 MiB */

#define MBOOT_MAX_MODS		32	/* fills MODS_ADDR..STRINGS_ADDR */
#define MBOOT_MAX_SEGMENTS	16	/* PT_LOAD segments */
#define MBOOT_MAX_PHDRS		256	/* program headers of any type */
#define MBOOT_MIN_RAM		(2ULL << 20)
#define MBOOT_MAX_RAM		(64ULL << 30)
/* RAM below 4 GiB ends here at most; the rest starts at MBOOT_HIGH_RAM_START. */
#define MBOOT_LOW_RAM_END	0xC0000000ULL
#define MBOOT_HIGH_RAM_START	(4ULL << 30)
/*
 * The local APIC's page is a device, not RAM: the memory map reports it
 * reserved (below RAM's end it splits upper RAM in two) and no segment or
 * module may touch it.
 */
#define MBOOT_APIC_PAGE		0xFEE00000U
#define MBOOT_APIC_PAGE_SIZE	0x1000U
#define MBOOT_MMAP_MAX_ENTRIES	5

struct mboot_module {
	const void *data;
	size_t size;
	const char *string;	/* the module's command line; NULL: "" */
};

struct mboot_params {
	const void *image;		/* the ELF file */
	size_t image_size;
	/*
	 * The image's path as the user gave it, or NULL.  Set, it is the
	 * command line's first word, as QEMU's -kernel formats it ("%s %s",
	 * path and arguments): CMDLINE is "IMAGE_NAME CMDLINE", or
	 * "IMAGE_NAME " without arguments, so a guest that splits it into
	 * argv finds its own name in argv[0].  NULL: CMDLINE is cmdline alone.
	 */
	const char *image_name;
	const char *cmdline;		/* NULL and no image_name: no CMDLINE */
	const struct mboot_module *mods;
	unsigned int nr_mods;
};

struct mboot_segment {
	uint32_t paddr, filesz, memsz;
	uint32_t offset;		/* in the file */
};

/* The boot protocol an image was loaded by (kvm/boot/boot.c picks it). */
enum boot_protocol {
	BOOT_MULTIBOOT = 0,
	BOOT_PVH,
	BOOT_BZIMAGE,
};

/*
 * Where things went, for the runner and for tests.  Every protocol enters
 * in flat 32-bit protected mode, paging off, at entry with eax, ebx and
 * esi as below (the others 0), except a bzImage by the 64-bit boot
 * protocol (cr3 non-zero).
 */
struct mboot_layout {
	uint32_t entry;			/* physical */
	uint32_t info_addr;		/* Multiboot info / hvm_start_info / zero page */
	enum boot_protocol protocol;
	uint32_t eax, ebx, esi;		/* entry registers */
	/*
	 * Non-zero: enter in 64-bit long mode instead, paging on with CR3 =
	 * cr3 (an identity map of 0-4 GiB), GDTR = gdt_addr (code selector
	 * 0x10, data 0x18), RSI = esi.
	 */
	uint32_t cr3, gdt_addr;
	uint32_t header_flags;		/* the kernel's Multiboot header flags */
	uint32_t kernel_end;		/* one past the highest loaded byte */
	unsigned int nr_segments;
	struct mboot_segment seg[MBOOT_MAX_SEGMENTS];
	unsigned int nr_mods;
	uint32_t mod_start[MBOOT_MAX_MODS], mod_end[MBOOT_MAX_MODS];
	unsigned int nr_mmap;		/* memory map entries written */
};

/*
 * Load p->image into ram (ram_size bytes of guest RAM: from physical 0 up
 * to MBOOT_LOW_RAM_END, the rest from MBOOT_HIGH_RAM_START; ram is
 * guest-physical 0 and must hold low RAM, as nothing is written above it)
 * and build the info block.  0 on success with *layout filled.  On a bad image
 * or parameters, a negative errno and a one-line reason in why (no
 * trailing newline, never longer than why_size - 1):
 *   -ENOEXEC  not an ELF32 little-endian i386 executable with a valid
 *             Multiboot header, or a truncated or malformed file
 *   -ERANGE   a segment or the entry point outside RAM, overlapping the
 *             loader area or another segment
 *   -E2BIG    image name and command line, module strings or modules that
 *             do not fit,
 *             absurd sizes or counts
 *   -EINVAL   bad arguments (NULL buffers, RAM size outside
 *             MBOOT_MIN_RAM..MBOOT_MAX_RAM)
 * Everything is checked before the first byte is written: on error RAM is
 * untouched.
 */
int mboot_load(const struct mboot_params *p, void *ram, uint64_t ram_size,
	       struct mboot_layout *layout, char *why, size_t why_size);

/* Whether image carries a Multiboot header with a valid checksum. */
bool mboot_probe(const void *image, size_t size);

#endif
