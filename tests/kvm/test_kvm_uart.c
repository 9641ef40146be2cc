// SPDX-License-Identifier: MIT
/*
 * The uart guest (guests/uart.c) under both irqchips: the 8250 driver's
 * probe, loopback, FIFOs, and a transmit driven by THRE interrupts
 * through I/O APIC pin 4 (vintc's I/O APIC under both irqchips).  Needs
 * /dev/kvm (a visible SKIP without one).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* Bytes on the input fd reach the guest's receiver, by interrupt. */
static void uart_input(enum vkvm_irqchip chip)
{
	struct vkvm_result r;
	struct vkvm_opts o;
	int fds[2];
	char *out;

	need_kvm();
	ASSERT_OK(pipe(fds));
	ASSERT_EQ(write(fds[1], "hello, uart\n", 12), 12);
	close(fds[1]);
	vkvm_default_opts(&o);
	o.boot.cmdline = "rx=12";
	o.timeout_s = 10;
	o.irqchip = chip;
	o.in_fd = fds[0];
	out = lib_run_opts("uart", &o, &r);
	close(fds[0]);
	ASSERT(strstr(out, "PASS uart received by interrupt: hello, uart.\n"));
	ASSERT_EQ(r.exit_status, 1);
	free(out);
}

TEST(kvm_run_uart_input_avic)
{
	uart_input(VKVM_IRQCHIP_AVIC);
}

TEST(kvm_run_uart_input_kernel)
{
	uart_input(VKVM_IRQCHIP_KERNEL);
}
