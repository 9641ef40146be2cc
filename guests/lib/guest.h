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

static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr) : "memory");
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
			 : "memory");
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

#define CPUID_1_ECX_X2APIC	(1U << 21)
#define CPUID_1_ECX_TSC_DEADLINE (1U << 24)
#define MSR_APIC_BASE		0x1B
#define APIC_BASE_EXTD		(1U << 10)
#define APIC_BASE_EN		(1U << 11)
#define MSR_TSC_DEADLINE	0x6E0
#define X2APIC_MSR(off)		(0x800U + ((off) >> 4))

/* ---- the local APIC (xAPIC MMIO) and SMP: guests/lib/cpu.[cS] ---- */

#define APIC_BASE	0xFEE00000U
#define APIC_ID		0x020
#define APIC_TPR	0x080
#define APIC_PPR	0x0A0
#define APIC_EOI	0x0B0
#define APIC_LDR	0x0D0
#define APIC_SVR	0x0F0
#define APIC_ISR	0x100
#define APIC_ESR	0x280
#define APIC_ICR	0x300
#define APIC_ICR2	0x310

#define ICR_DM_FIXED	(0U << 8)
#define ICR_DM_NMI	(4U << 8)
#define ICR_DM_INIT	(5U << 8)
#define ICR_DM_STARTUP	(6U << 8)
#define ICR_LEVEL_ASSERT (1U << 14)
#define ICR_SH_SELF	(1U << 18)
#define ICR_SH_ALL	(2U << 18)
#define ICR_SH_OTHERS	(3U << 18)

/* fw_cfg: select a key at FW_CFG_SEL, read its bytes from FW_CFG_DATA. */
#define FW_CFG_SEL	0x510
#define FW_CFG_DATA	0x511
#define FW_CFG_NB_CPUS	0x05

#define IRQ_FIRST	32	/* cpu.S has stubs for 2 (NMI) and 32..79 */
#define IRQ_LAST	79

static inline uint32_t apic_read(uint32_t reg)
{
	return *(volatile uint32_t *)(APIC_BASE + reg);
}

static inline void apic_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(APIC_BASE + reg) = v;
}

static inline uint32_t apic_id(void)
{
	return apic_read(APIC_ID) >> 24;
}

/* Flat GDT, the shared IDT, APIC software-enabled: on every CPU. */
void gdt_load(void);
void idt_load(void);
void cpu_init(void);
/*
 * A guest's own exception stub that began with PUSHAL ends with
 * `jmp irq_return`: POPAL, then back to the interrupted instruction (or
 * past it, for a trap) without IRET, as the shared stubs return.
 */
/* Vector vec of the shared IDT: a 32-bit ring-0 interrupt gate to handler. */
void idt_set_gate(unsigned int vec, uint32_t handler);
/* Called by the stubs with the vector; the default ignores it. */
void irq_handler(uint32_t vector);
/*
 * Called on #GP; returns how many bytes to skip past the faulting
 * instruction (2 for RDMSR/WRMSR).  The default prints FAIL and exits.
 */
uint32_t gp_handler(void);
/*
 * Through the ICR, or with x2apic_mode set (every CPU in x2APIC mode), the
 * x2APIC ICR MSR with a 32-bit destination.  apic_eoi() likewise.
 */
extern uint32_t x2apic_mode;
void apic_send(uint32_t dest, uint32_t icr_lo);
void apic_eoi(void);
/* A register by its xAPIC offset, through MMIO or (x2apic_mode) its MSR. */
void apic_reg_write(uint32_t reg, uint32_t v);
uint32_t apic_reg_read(uint32_t reg);
/* This CPU into x2APIC mode (IA32_APIC_BASE.EXTD). */
void x2apic_enable(void);
/*
 * Copy the real-mode trampoline to tramp (4 KiB aligned, below 1 MiB),
 * then INIT-SIPI-SIPI every other CPU; each runs entry(apic_id) on its own
 * stack with the GDT loaded (interrupts off, no IDT yet).
 */
void smp_start_aps(uint32_t tramp, void (*entry)(uint32_t apic_id));
uint32_t fw_cfg_u32(uint16_t key);
/*
 * Halt until *counter (bumped by an interrupt handler) reaches want;
 * returns with interrupts off, 0 after WAIT_HALT_LIMIT wake-ups without it.
 */
#define WAIT_HALT_LIMIT	1000000U
int wait_halting(volatile uint32_t *counter, uint32_t want);

void putc(char c);
void puts(const char *s);
void put_u32(uint32_t v);
void put_hex(uint32_t v);
/* One CPU's lines at a time: take the lock around a line that several print. */
void console_lock(void);
void console_unlock(void);
/* "PASS what" or "FAIL what: 0x<v>" as one line; returns 1 on failure. */
int report(int ok, const char *what, uint32_t v);
__attribute__((noreturn)) void guest_exit(uint32_t code);

int main(uint32_t magic, uint32_t info);

#endif
