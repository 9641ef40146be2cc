// SPDX-License-Identifier: MIT
/*
 * The uart guest (guests/uart.c) under both irqchips: the 8250 driver's
 * probe, loopback, FIFOs, and a transmit driven by THRE interrupts
 * through I/O APIC pin 4 (under --irqchip=kernel, KVM_IRQ_LINE 4 into
 * KVM's I/O APIC).  Needs /dev/kvm (a visible SKIP without one).
 */
#include <stdlib.h>
#include <string.h>

#include "kvm_util.h"
#include "test.h"

TEST(kvm_run_irqchips_uart)
{
	both_irqchips("uart", NULL, 1);
}

TEST(kvm_run_uart_transmits_by_interrupt)
{
	struct vkvm_result r;
	char *out;

	need_kvm();
	out = lib_run("uart", NULL, 10, &r);
	ASSERT(strstr(out, "PASS uart interrupt-driven transmit\n"));
	ASSERT(strstr(out, "PASS uart one thre interrupt per byte\n"));
	ASSERT(!strstr(out, "FAIL"));
	ASSERT_EQ(r.exit_status, 1);
	free(out);
}
