// SPDX-License-Identifier: MIT
/*
 * Polled COM1 output and the debug-exit port.  Polling LSR.THRE keeps the
 * guest correct on a real 8250 too; the VMM answers 0x60 (THRE | TEMT), so
 * under vintc the loop never spins.
 */
#include "guest.h"

void putc(char c)
{
	while (!(inb(COM1_LSR) & LSR_THRE))
		;
	outb(COM1, (uint8_t)c);
}

void puts(const char *s)
{
	while (*s)
		putc(*s++);
}

void put_u32(uint32_t v)
{
	char buf[11];
	int i = 0;

	do {
		buf[i++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (i)
		putc(buf[--i]);
}

void put_hex(uint32_t v)
{
	puts("0x");
	for (int shift = 28; shift >= 0; shift -= 4)
		putc("0123456789abcdef"[(v >> shift) & 0xf]);
}

static volatile uint32_t print_lock;

void console_lock(void)
{
	while (__atomic_exchange_n(&print_lock, 1, __ATOMIC_ACQUIRE))
		__asm__ volatile("pause");
}

void console_unlock(void)
{
	__atomic_store_n(&print_lock, 0, __ATOMIC_RELEASE);
}

int report(int ok, const char *what, uint32_t v)
{
	console_lock();
	puts(ok ? "PASS " : "FAIL ");
	puts(what);
	if (!ok) {
		puts(": ");
		put_hex(v);
	}
	putc('\n');
	console_unlock();
	return !ok;
}

void guest_exit(uint32_t code)
{
	/* A 32-bit write: the VMM takes the value, whatever the width. */
	__asm__ volatile("outl %0, %1" : : "a"(code), "Nd"((uint16_t)DEBUG_EXIT_PORT));
	/* Not under a VMM with debug-exit: stop here for good. */
	for (;;)
		__asm__ volatile("cli; hlt");
}
