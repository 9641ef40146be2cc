/* SPDX-License-Identifier: MIT */
/*
 * The test guests' tiny runtime: port I/O, a polled COM1 console and an
 * exit through QEMU's isa-debug-exit port, which the VMM turns into its
 * own exit status ((code << 1) | 1).
 */
#ifndef VINTC_GUEST_H
#define VINTC_GUEST_H

#include <stdint.h>

#define COM1		0x3F8
#define COM1_LSR	(COM1 + 5)
#define LSR_THRE	(1 << 5)	/* transmit holding register empty */
#define DEBUG_EXIT_PORT	0xF4

#define MB_BOOT_MAGIC	0x2BADB002

/* Multiboot v1 info block, the part the guests read. */
struct mb_info {
	uint32_t flags;
	uint32_t mem_lower, mem_upper;
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
};

#define MB_INFO_MEM	(1 << 0)
#define MB_INFO_CMDLINE	(1 << 2)
#define MB_INFO_MODS	(1 << 3)
#define MB_INFO_MMAP	(1 << 6)

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

void putc(char c);
void puts(const char *s);
void put_u32(uint32_t v);
void put_hex(uint32_t v);
__attribute__((noreturn)) void guest_exit(uint32_t code);

int main(uint32_t magic, uint32_t info);

#endif
