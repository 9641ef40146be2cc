// SPDX-License-Identifier: MIT
/*
 * int3race: code patched under a running CPU, as Linux patches its text
 * (an INT3 over the first byte, then the new instruction).  AP 1 calls a
 * one-byte site over and over while the BSP flips that byte between INT3
 * and NOP.  Every INT3 AP 1 fetches must become a #BP, even when the BSP
 * has put the NOP back by the time the host looks: on hosts whose KVM
 * cannot emulate INT3, vintc must decide by the byte KVM fetched, not by
 * what memory holds later.  Needs 2 CPUs; with one it prints SKIP.
 */
#include "guest.h"

#define TRAMPOLINE	0x8000U
#define BPS		100		/* #BPs AP 1 waits for */
#define MAX_CALLS	1000000
#define WAIT_TSC	4000000000ULL

static volatile uint32_t bp_count, calls_done, stop, go;

/* The patched site lives in .data: paging is off, so data is executable. */
__asm__(".data\n"
	"race_site:\n"
	"	nop\n"
	"	ret\n"
	".text\n"
	"race_bp_stub:\n"
	"	pushal\n"
	"	lock incl bp_count\n"
	"	jmp	irq_return\n");
extern volatile uint8_t race_site[];
extern const char race_bp_stub[];

static void ap_main(uint32_t id)
{
	if (id != 1)
		for (;;)
			__asm__ volatile("cli; hlt" ::: "memory");
	idt_load();
	while (!go)
		__asm__ volatile("pause");
	for (uint32_t i = 0; i < MAX_CALLS && bp_count < BPS; i++) {
		((void (*)(void))race_site)();
		__atomic_store_n(&calls_done, i + 1, __ATOMIC_RELEASE);
	}
	stop = 1;
	for (;;)
		__asm__ volatile("cli; hlt" ::: "memory");
}

int main(uint32_t magic, uint32_t info)
{
	uint32_t n = fw_cfg_u32(FW_CFG_NB_CPUS) & 0xffff, flips = 0;
	uint64_t end;

	(void)magic;
	(void)info;
	if (n < 2) {
		puts("SKIP int3race: needs 2 CPUs\n");
		return 0;
	}
	cpu_init();
	idt_set_gate(3, (uint32_t)race_bp_stub);
	smp_start_aps(TRAMPOLINE, ap_main);
	end = rdtsc() + WAIT_TSC;
	go = 1;
	while (!stop && rdtsc() < end) {
		race_site[0] = (flips++ & 1) ? 0x90 : 0xCC;
	}
	race_site[0] = 0x90;
	report(stop && calls_done >= BPS, "int3race every call returned", calls_done);
	report(bp_count >= BPS && bp_count <= calls_done, "int3race calls took #bp", bp_count);
	return 0;
}
