// SPDX-License-Identifier: MIT
/*
 * The ACPI fixed-hardware PM1a registers the FADT names
 * (kvm/boot/acpi.h), under both irqchips:
 *
 *   0x600  PM1_STS  (16-bit) write 1 to clear; nothing here sets a bit
 *                   (no PM timer, no fixed buttons, no RTC, no wake), so
 *                   the SCI is never raised
 *   0x602  PM1_EN   (16-bit) the defined enable bits, kept as written
 *   0x604  PM1_CNT  (16-bit) SCI_EN reads 1 (no SMI_CMD: always in ACPI
 *                   mode); BM_RLD and SLP_TYP kept; GBL_RLS and SLP_EN
 *                   are write-only and read 0.  SLP_EN written with
 *                   SLP_TYP = \_S5's value powers the machine off: the
 *                   run ends with VKVM_END_POWEROFF, exit status 0.  The
 *                   DSDT offers no other sleep state, so SLP_EN with any
 *                   other SLP_TYP does nothing.
 *
 * Any access of 1, 2 or 4 bytes inside a block is taken byte by byte, so a
 * 32-bit access to 0x600 reaches PM1_STS and PM1_EN together, as the
 * specification allows for the event block.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "boot/acpi.h"
#include "devices.h"

enum { PM1_STS, PM1_EN, PM1_CNT, PM1_NR };

struct acpi_pm {
	struct vkvm *v;
	pthread_mutex_t lock;
	uint16_t reg[PM1_NR];
};

static uint16_t pm_read(const struct acpi_pm *pm, unsigned int r)
{
	if (r == PM1_CNT)
		return (uint16_t)((pm->reg[PM1_CNT] & (ACPI_PM1_CNT_BM_RLD | ACPI_PM1_CNT_SLP_TYP)) |
				  ACPI_PM1_CNT_SCI_EN);
	return pm->reg[r];
}

/* Write the bytes of register r that mask selects; true: power off. */
static bool pm_write(struct acpi_pm *pm, unsigned int r, uint16_t val, uint16_t mask)
{
	uint16_t cnt;

	switch (r) {
	case PM1_STS:
		pm->reg[PM1_STS] &= (uint16_t)~(val & mask);
		return false;
	case PM1_EN:
		pm->reg[PM1_EN] = (uint16_t)((pm->reg[PM1_EN] & ~mask) |
					     (val & mask & ACPI_PM1_EN_MASK));
		return false;
	default:
		cnt = (uint16_t)((pm->reg[PM1_CNT] & ~mask) | (val & mask));
		pm->reg[PM1_CNT] = cnt & (ACPI_PM1_CNT_BM_RLD | ACPI_PM1_CNT_SLP_TYP);
		return (cnt & ACPI_PM1_CNT_SLP_EN) &&
		       ((cnt & ACPI_PM1_CNT_SLP_TYP) >> ACPI_PM1_CNT_SLP_TYP_SHIFT) ==
		       VKVM_ACPI_S5_SLP_TYP;
	}
}

/* An access at byte `first` of the registers (0: PM1_STS's low byte). */
static enum vkvm_io_ret pm_io(struct acpi_pm *pm, unsigned int first, bool write, uint8_t *data,
			      unsigned int size)
{
	uint16_t val[PM1_NR] = { 0 }, mask[PM1_NR] = { 0 };
	bool off = false;

	pthread_mutex_lock(&pm->lock);
	for (unsigned int i = 0; i < size; i++) {
		unsigned int r = (first + i) / 2, shift = 8 * ((first + i) % 2);

		if (r >= PM1_NR)
			break;
		if (write) {
			val[r] |= (uint16_t)(data[i] << shift);
			mask[r] |= (uint16_t)(0xff << shift);
		} else {
			data[i] = (uint8_t)(pm_read(pm, r) >> shift);
		}
	}
	for (unsigned int r = 0; write && r < PM1_NR; r++)
		if (mask[r] && pm_write(pm, r, val[r], mask[r]))
			off = true;
	pthread_mutex_unlock(&pm->lock);
	if (!off)
		return VKVM_IO_DONE;
	vkvm_end(pm->v, VKVM_END_POWEROFF, VKVM_STATUS_POWEROFF,
		 "guest powered the machine off (ACPI S5)");
	return VKVM_IO_END;
}

static enum vkvm_io_ret evt_io(void *opaque, struct vkvm_cpu *c, uint64_t off, bool write,
			       uint8_t *data, unsigned int size)
{
	(void)c;
	return pm_io(opaque, (unsigned int)off, write, data, size);
}

static enum vkvm_io_ret cnt_io(void *opaque, struct vkvm_cpu *c, uint64_t off, bool write,
			       uint8_t *data, unsigned int size)
{
	(void)c;
	return pm_io(opaque, 2 * PM1_CNT + (unsigned int)off, write, data, size);
}

static int acpi_pm_create(struct vkvm *v, void **state, char *why, size_t why_size)
{
	struct acpi_pm *pm = calloc(1, sizeof(*pm));
	int ret;

	if (!pm)
		return vkvm_say(why, why_size, -ENOMEM, "out of memory for the ACPI PM registers");
	pm->v = v;
	pthread_mutex_init(&pm->lock, NULL);
	ret = vkvm_bus_register(&v->bus, VKVM_PIO, VKVM_ACPI_PM1A_EVT, VKVM_ACPI_PM1_EVT_LEN,
				VKVM_BUS_ALL_CPUS, evt_io, pm, "acpi-pm1a-evt");
	if (!ret)
		ret = vkvm_bus_register(&v->bus, VKVM_PIO, VKVM_ACPI_PM1A_CNT,
					VKVM_ACPI_PM1_CNT_LEN, VKVM_BUS_ALL_CPUS, cnt_io, pm,
					"acpi-pm1a-cnt");
	if (ret) {
		/* The bus is torn down with the machine; only the state is ours. */
		pthread_mutex_destroy(&pm->lock);
		free(pm);
		return vkvm_say(why, why_size, ret, "cannot place the ACPI PM registers at 0x%x",
				VKVM_ACPI_PM1A_EVT);
	}
	*state = pm;
	return 0;
}

static void acpi_pm_destroy(void *state)
{
	struct acpi_pm *pm = state;

	pthread_mutex_destroy(&pm->lock);
	free(pm);
}

const struct vkvm_device vkvm_dev_acpi_pm = {
	.name = "acpi-pm",
	.irqchip = VKVM_NR_IRQCHIPS,
	.create = acpi_pm_create,
	.destroy = acpi_pm_destroy,
};
