// SPDX-License-Identifier: MIT
/*
 * The C half of guests/lib/cpu.S: one IDT shared by every CPU, the xAPIC
 * accessors and the AP start-up sequence.
 */
#include "guest.h"

struct idt_gate {
	uint16_t off_lo, sel;
	uint8_t zero, type;
	uint16_t off_hi;
} __attribute__((packed));

static struct idt_gate idt[IRQ_LAST + 1];

extern const uint32_t irq_stubs[];
extern const uint32_t irq_stub_nmi, irq_stub_gp_addr;
extern const char ap_tramp_start[], ap_tramp_end[];

void (*ap_entry)(uint32_t apic_id);

/* Guests that take interrupts define their own. */
__attribute__((weak)) void irq_handler(uint32_t vector)
{
	(void)vector;
}

/* A guest that expects no #GP ends the run on one. */
__attribute__((weak)) uint32_t gp_handler(void)
{
	puts("FAIL unexpected #GP\n");
	guest_exit(2);
}

void idt_set_gate(unsigned int vec, uint32_t handler)
{
	idt[vec].off_lo = (uint16_t)handler;
	idt[vec].off_hi = (uint16_t)(handler >> 16);
	idt[vec].sel = 0x08;
	idt[vec].zero = 0;
	idt[vec].type = 0x8e;	/* present, DPL 0, 32-bit interrupt gate */
}

void idt_load(void)
{
	struct {
		uint16_t limit;
		uint32_t base;
	} __attribute__((packed)) idtr = { sizeof(idt) - 1, (uint32_t)idt };

	/* Filled once by the BSP before any AP exists; filling is idempotent. */
	if (!idt[IRQ_FIRST].sel) {
		idt_set_gate(2, irq_stub_nmi);
		idt_set_gate(13, irq_stub_gp_addr);
		for (unsigned int v = IRQ_FIRST; v <= IRQ_LAST; v++)
			idt_set_gate(v, irq_stubs[v - IRQ_FIRST]);
	}
	__asm__ volatile("lidt %0" : : "m"(idtr));
}

void cpu_init(void)
{
	gdt_load();
	idt_load();
	/* Software-enable the APIC with spurious vector 0xFF. */
	apic_write(APIC_SVR, 0x1ff);
}

uint32_t x2apic_mode;

void apic_send(uint32_t dest, uint32_t icr_lo)
{
	if (x2apic_mode) {
		/* One 64-bit write: the destination is 32 bits wide. */
		wrmsr(X2APIC_MSR(APIC_ICR), ((uint64_t)dest << 32) | icr_lo);
		return;
	}
	apic_write(APIC_ICR2, dest << 24);
	apic_write(APIC_ICR, icr_lo);
}

void apic_eoi(void)
{
	apic_reg_write(APIC_EOI, 0);
}

void apic_reg_write(uint32_t reg, uint32_t v)
{
	if (x2apic_mode)
		wrmsr(X2APIC_MSR(reg), v);
	else
		apic_write(reg, v);
}

uint32_t apic_reg_read(uint32_t reg)
{
	return x2apic_mode ? (uint32_t)rdmsr(X2APIC_MSR(reg)) : apic_read(reg);
}

void x2apic_enable(void)
{
	wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | APIC_BASE_EXTD | APIC_BASE_EN);
}

static void delay(unsigned int n)
{
	for (volatile unsigned int i = 0; i < n; i++)
		;
}

void smp_start_aps(uint32_t tramp, void (*entry)(uint32_t apic_id))
{
	const char *s = ap_tramp_start;
	char *d = (char *)tramp;

	while (s < ap_tramp_end)
		*d++ = *s++;
	ap_entry = entry;
	__asm__ volatile("" ::: "memory");
	/* INIT, then two STARTUPs, to everyone but us: the MP-spec sequence. */
	apic_send(0, ICR_SH_OTHERS | ICR_DM_INIT | ICR_LEVEL_ASSERT);
	delay(10000);
	apic_send(0, ICR_SH_OTHERS | ICR_DM_STARTUP | (tramp >> 12));
	delay(1000);
	apic_send(0, ICR_SH_OTHERS | ICR_DM_STARTUP | (tramp >> 12));
}

uint32_t fw_cfg_u32(uint16_t key)
{
	uint32_t v = 0;

	outw(FW_CFG_SEL, key);
	for (int i = 0; i < 4; i++)
		v |= (uint32_t)inb(FW_CFG_DATA) << (8 * i);
	return v;
}

int wait_halting(volatile uint32_t *counter, uint32_t want)
{
	/*
	 * Interrupts off while looking: one taken between the look and the
	 * HLT would leave the HLT waiting for an interrupt already handled.
	 * STI's shadow then covers the HLT, so one pending wakes it.
	 */
	__asm__ volatile("cli" ::: "memory");
	for (uint32_t n = 0; *counter < want; n++) {
		__asm__ volatile("sti; hlt; cli" ::: "memory");
		if (n > WAIT_HALT_LIMIT)
			return 0;
	}
	return 1;
}
