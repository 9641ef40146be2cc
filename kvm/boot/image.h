/* SPDX-License-Identifier: MIT */
/*
 * Helpers the boot loaders share (kvm/loader.c for Multiboot, pvh.c):
 * bounds-checked little-endian reads of an untrusted image, the one-line
 * error, the ELF header and PT_LOAD checks for ELF32 and ELF64, module
 * placement and the guest memory map.  Every check runs before RAM is
 * written.
 */
#ifndef VKVM_BOOT_IMAGE_H
#define VKVM_BOOT_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <vintc/mboot.h>

#define BOOT_PAGE_SIZE	0x1000ULL

/* ELF constants (System V ABI, i386 and x86-64 supplements). */
#define ELF_CLASS32	1
#define ELF_CLASS64	2
#define ELF_EM_386	3
#define ELF_EM_X86_64	62
#define ELF_PT_LOAD	1
#define ELF_PT_NOTE	4

struct boot_img {
	const uint8_t *img;
	size_t size;
	char *why;
	size_t why_size;
};

/* The ELF header fields the loaders use, class-independent. */
struct boot_elf {
	bool is64;
	uint64_t entry;		/* e_entry: virtual */
	uint64_t phoff;
	uint16_t phentsize, phnum;
};

/* One program header, widened to 64 bits. */
struct boot_phdr {
	uint32_t type;
	uint64_t offset, vaddr, paddr, filesz, memsz;
};

struct boot_mmap {
	uint64_t base, len;
	uint32_t type;		/* MBOOT_MMAP_AVAILABLE or _RESERVED (e820 types) */
};

__attribute__((format(printf, 3, 4)))
int boot_fail(struct boot_img *l, int err, const char *fmt, ...);

/*
 * Every loader's start: *l reads p's image and reports into why (cleared),
 * once the arguments and the RAM size (MBOOT_MIN_RAM..MBOOT_MAX_RAM) are
 * checked; -EINVAL and why otherwise.
 */
int boot_img_open(struct boot_img *l, const struct mboot_params *p, const void *ram,
		  uint64_t ram_size, const struct mboot_layout *layout, char *why,
		  size_t why_size);

/* Callers have checked off + 2/4/8 <= size. */
static inline uint16_t boot_rd16(const uint8_t *p, uint64_t off)
{
	return (uint16_t)(p[off] | p[off + 1] << 8);
}

static inline uint32_t boot_rd32(const uint8_t *p, uint64_t off)
{
	return (uint32_t)p[off] | (uint32_t)p[off + 1] << 8 |
	       (uint32_t)p[off + 2] << 16 | (uint32_t)p[off + 3] << 24;
}

static inline uint64_t boot_rd64(const uint8_t *p, uint64_t off)
{
	return boot_rd32(p, off) | (uint64_t)boot_rd32(p, off + 4) << 32;
}

static inline void boot_wr32(uint8_t *p, uint64_t off, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[off + i] = (uint8_t)(v >> (8 * i));
}

/* Copy s (NUL included) to ram + *at, move *at past it; returns where it went. */
static inline uint32_t boot_put_string(uint8_t *ram, uint32_t *at, const char *s)
{
	uint32_t addr = *at;
	size_t n = strlen(s) + 1;

	memcpy(ram + addr, s, n);
	*at += (uint32_t)n;
	return addr;
}

static inline void boot_wr64(uint8_t *p, uint64_t off, uint64_t v)
{
	boot_wr32(p, off, (uint32_t)v);
	boot_wr32(p, off + 4, (uint32_t)(v >> 32));
}

static inline bool boot_overlaps(uint64_t a, uint64_t a_end, uint64_t b, uint64_t b_end)
{
	return a < b_end && b < a_end;
}

static inline uint64_t boot_page_up(uint64_t v)
{
	return (v + BOOT_PAGE_SIZE - 1) & ~(BOOT_PAGE_SIZE - 1);
}

/* The end of RAM below 4 GiB, where every loaded byte goes. */
static inline uint64_t boot_low_ram(uint64_t ram_size)
{
	return ram_size < MBOOT_LOW_RAM_END ? ram_size : MBOOT_LOW_RAM_END;
}

/*
 * An i386 (and, with allow64, an x86-64) little-endian ELF executable
 * whose header fits the file.  -ENOEXEC otherwise.
 */
int boot_elf_header(struct boot_img *l, bool allow64, struct boot_elf *e);

/*
 * Program header table in the file; then boot_elf_phdr() reads entry i
 * (i < e->phnum) without further checks.
 */
int boot_elf_check_phdrs(struct boot_img *l, const struct boot_elf *e);
void boot_elf_phdr(const struct boot_img *l, const struct boot_elf *e, unsigned int i,
		   struct boot_phdr *ph);

/*
 * Check and place the PT_LOAD segments into lay->seg[] and kernel_end:
 * in the file, in RAM below 4 GiB, off the local APIC page, the loader area (named
 * area in the message) and each other.  With map_entry, e_entry must lie
 * in a segment's virtual range and lay->entry becomes its physical alias.
 */
int boot_elf_segments(struct boot_img *l, const struct boot_elf *e, uint64_t ram_size,
		      const char *area, bool map_entry, struct mboot_layout *lay);

/* Copy the checked segments in, zero-filling up to memsz. */
void boot_elf_copy(const struct boot_img *l, const struct mboot_layout *lay, uint8_t *ram);

/*
 * Modules page-aligned after the kernel, at or above 1 MiB, in RAM below
 * 4 GiB and off the APIC page; fills lay->mod_start/mod_end/nr_mods.
 */
int boot_place_modules(struct boot_img *l, const struct mboot_params *p, uint64_t ram_size,
		       const char *proto, struct mboot_layout *lay);

/*
 * The guest's memory map (MBOOT_MMAP_MAX_ENTRIES at most): low RAM, the
 * VGA/BIOS hole, upper RAM up to RAM's end or 3 GiB, the APIC page, RAM
 * from 4 GiB if any.  Returns the number of entries.
 */
unsigned int boot_memory_map(uint64_t ram_size, struct boot_mmap map[MBOOT_MMAP_MAX_ENTRIES]);

#endif
