// SPDX-License-Identifier: MIT
/*
 * ACPI on the machine: the PM1a registers (kvm/devices/acpi_pm.c) on a
 * bare machine driven through the bus as a vCPU's port exits would drive
 * them (no /dev/kvm); then the acpi guest (guests/acpi.c), which finds the
 * tables in the BIOS area and powers off through \_S5, under both
 * irqchips on 1 and 3 vCPUs with the same PASS lines, and through the CLI.
 */
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "kvm/boot/acpi.h"
#include "kvm/bus.h"
#include "kvm/devices/devices.h"
#include "kvm_util.h"
#include "test.h"

/* A bare machine for the PM device: no VM, no vCPU threads. */
struct bare {
	struct vkvm v;
	struct vkvm_result r;
	struct vkvm_cpu cpu;
	void *state;
};

static void bare_new(struct bare *b)
{
	char why[128] = "";

	memset(b, 0, sizeof(*b));
	b->v.nr = 1;
	b->v.r = &b->r;
	b->v.ram_size = 64ULL << 20;
	b->v.kvm_fd = b->v.vm_fd = -1;
	b->v.out_fd = -1;
	pthread_mutex_init(&b->v.end_lock, NULL);
	vkvm_bus_init(&b->v.bus);
	b->cpu.v = &b->v;
	if (vkvm_dev_acpi_pm.create(&b->v, &b->state, why, sizeof(why)))
		test_fail(__FILE__, __LINE__, "creating acpi-pm: %s", why);
}

static void bare_free(struct bare *b)
{
	vkvm_dev_acpi_pm.destroy(b->state);
	vkvm_bus_fini(&b->v.bus);
	pthread_mutex_destroy(&b->v.end_lock);
}

static uint32_t pm_in(struct bare *b, uint16_t port, unsigned int size)
{
	enum vkvm_io_ret ret;
	uint8_t data[4] = { 0 };
	uint32_t v;

	if (!vkvm_bus_access(&b->v.bus, VKVM_PIO, port, &b->cpu, 0, false, data, size, &ret))
		test_fail(__FILE__, __LINE__, "nothing at port 0x%x", port);
	ASSERT_EQ(ret, VKVM_IO_DONE);
	memcpy(&v, data, sizeof(v));
	return v;
}

/* A write; true if it powered the machine off. */
static bool pm_out(struct bare *b, uint16_t port, uint32_t val, unsigned int size)
{
	enum vkvm_io_ret ret;
	uint8_t data[4];

	memcpy(data, &val, sizeof(data));
	if (!vkvm_bus_access(&b->v.bus, VKVM_PIO, port, &b->cpu, 0, true, data, size, &ret))
		test_fail(__FILE__, __LINE__, "nothing at port 0x%x", port);
	if (ret == VKVM_IO_DONE) {
		ASSERT(!b->v.ended);
		return false;
	}
	ASSERT_EQ(ret, VKVM_IO_END);
	ASSERT(b->v.ended);
	ASSERT_EQ(b->r.end, VKVM_END_POWEROFF);
	ASSERT_EQ(b->r.exit_status, 0);
	ASSERT(strstr(b->r.message, "ACPI S5"));
	return true;
}

TEST(acpi_pm_registers_read_and_write_as_the_fadt_says)
{
	static struct bare b;
	enum vkvm_io_ret ret;
	uint8_t data[4] = { 0 };

	bare_new(&b);
	ASSERT_EQ(pm_in(&b, 0x600, 2), 0);		/* PM1_STS */
	ASSERT_EQ(pm_in(&b, 0x602, 2), 0);		/* PM1_EN */
	ASSERT_EQ(pm_in(&b, 0x604, 2), 1);		/* PM1_CNT: SCI_EN */
	/* PM1_EN keeps its defined bits only, byte by byte too. */
	ASSERT(!pm_out(&b, 0x602, 0xffff, 2));
	ASSERT_EQ(pm_in(&b, 0x602, 2), 0x4721);
	ASSERT(!pm_out(&b, 0x603, 0x00, 1));
	ASSERT_EQ(pm_in(&b, 0x602, 2), 0x21);
	/* Write-1-to-clear status: nothing sets it, so it stays 0. */
	ASSERT(!pm_out(&b, 0x600, 0xffff, 2));
	ASSERT_EQ(pm_in(&b, 0x600, 2), 0);
	/* A 32-bit access at 0x600 is PM1_STS and PM1_EN together. */
	ASSERT_EQ(pm_in(&b, 0x600, 4), 0x21u << 16);
	ASSERT(!pm_out(&b, 0x600, 0x01000000, 4));
	ASSERT_EQ(pm_in(&b, 0x602, 2), 0x100);
	/* SLP_TYP and BM_RLD kept; GBL_RLS and SCI_EN writes change nothing read. */
	ASSERT(!pm_out(&b, 0x604, (3 << 10) | 0x6, 2));
	ASSERT_EQ(pm_in(&b, 0x604, 2), (3 << 10) | 0x3);
	ASSERT_EQ(pm_in(&b, 0x605, 1), 3 << 2);
	/* SLP_EN with a sleep state the DSDT does not offer: nothing. */
	ASSERT(!pm_out(&b, 0x604, (1 << 10) | (1 << 13), 2));
	ASSERT(!pm_out(&b, 0x604, (7 << 10) | (1 << 13), 2));
	/* SLP_EN reads 0. */
	ASSERT_EQ(pm_in(&b, 0x604, 2) & (1 << 13), 0);
	/* SLP_TYP 5 in the low byte's bits, then SLP_EN in the high byte alone. */
	ASSERT(!pm_out(&b, 0x604, 5 << 10, 2));
	ASSERT(!pm_out(&b, 0x604, 0x00, 1));
	/* Past the blocks: 0x606 is not ours; a dword at 0x604 runs past PM1_CNT. */
	ASSERT(!vkvm_bus_access(&b.v.bus, VKVM_PIO, 0x606, &b.cpu, 0, false, data, 1, &ret));
	ASSERT(!vkvm_bus_access(&b.v.bus, VKVM_PIO, 0x604, &b.cpu, 0, true, data, 4, &ret));
	ASSERT(!vkvm_bus_access(&b.v.bus, VKVM_PIO, 0x603, &b.cpu, 0, true, data, 2, &ret));
	ASSERT(!b.v.ended);
	ASSERT(pm_out(&b, 0x605, (5 << 2) | (1 << 5), 1));
	bare_free(&b);
	/* A 16-bit write with both at once, as an OS does it. */
	bare_new(&b);
	ASSERT(pm_out(&b, 0x604, (5 << 10) | (1 << 13), 2));
	/* The first end wins. */
	ASSERT(pm_out(&b, 0x604, (5 << 10) | (1 << 13), 2));
	bare_free(&b);
}

/* The acpi guest on cpus vCPUs under both irqchips: poweroff, same PASS lines. */
static void acpi_both(uint32_t cpus)
{
	struct vkvm_result ra, rk;
	char *oa, *ok, *pa, *pk;

	oa = lib_run_chip("acpi", NULL, 30, cpus, VKVM_IRQCHIP_AVIC, &ra);
	ok = lib_run_chip("acpi", NULL, 30, cpus, VKVM_IRQCHIP_KERNEL, &rk);
	pa = pass_lines(oa);
	pk = pass_lines(ok);
	if (!strstr(pa, "PASS powering off") || strcmp(pa, pk) || strstr(oa, "FAIL") ||
	    strstr(ok, "FAIL") || ra.end != VKVM_END_POWEROFF || rk.end != VKVM_END_POWEROFF ||
	    ra.exit_status || rk.exit_status)
		test_fail(__FILE__, __LINE__,
			  "acpi -c %u: avic (%s, exit %d):\n%s\nkernel (%s, exit %d):\n%s", cpus,
			  ra.message, ra.exit_status, oa, rk.message, rk.exit_status, ok);
	ASSERT(!strcmp(vkvm_end_name(ra.end), "poweroff"));
	ASSERT(strstr(pa, "PASS madt local APICs = fw_cfg CPUs"));
	free(pa);
	free(pk);
	free(oa);
	free(ok);
}

TEST(kvm_acpi_tables_and_poweroff_on_both_irqchips)
{
	need_kvm();
	acpi_both(1);
	acpi_both(3);
}

TEST(kvm_acpi_poweroff_through_the_cli_exits_0)
{
	struct cli_run r;

	need_kvm();
	RUN(&r, "run", "--json", "--timeout", "30", guest_path("acpi"));
	ASSERT_RAN_OK(&r);
	ASSERT(strstr(r.out, "PASS powering off"));
	ASSERT(strstr(r.out, "\"end\":\"poweroff\",\"exit_status\":0"));
	cli_free(&r);
}
