// SPDX-License-Identifier: MIT
/*
 * The I/O APIC at 0xFEC00000, under both irqchips: the model of
 * kvm/ioapic.c on the MMIO bus, behind one lock, taking the machine's
 * interrupt lines (GSI n = pin n) and its local APICs' level EOIs through
 * kvm/irq.c, and sending its messages back through it.  A guest finds it
 * in the MADT (kvm/boot/acpi.c) or at the address every PC has it at.
 *
 * Under --irqchip=kernel the local APICs are KVM's (split irqchip), which
 * report the EOI of a level-triggered vector only for the vectors KVM's
 * MSI routes for GSIs 0-23 name: when a write changes a redirection
 * entry's message, the routes follow (vkvm_irq_set_routes) before the
 * entry sends anything with it (an unmasked level line sends at once),
 * so no vCPU can take that message and EOI it before KVM knows.
 *
 * Lock order: the I/O APIC's lock, then whatever a delivery takes (the
 * model's avic_deliver: atomics, a futex wake, a signal; or KVM's
 * KVM_SIGNAL_MSI and KVM_SET_GSI_ROUTING); nothing a delivery does comes
 * back here, and an EOI arrives on a vCPU thread holding no lock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "devices.h"
#include "ioapic.h"
#include "irq.h"

struct ioapic_dev {
	struct vkvm *v;
	pthread_mutex_t lock;
	struct ioapic chip;
};

/* An entry's message changed: every pin's message to the routes.  Locked. */
static void ioapic_dev_msg_changed(void *opaque, uint32_t pin)
{
	struct ioapic_dev *d = opaque;
	struct vlapic_icr msgs[IOAPIC_NR_PINS];
	int ret;

	(void)pin;
	for (uint32_t i = 0; i < IOAPIC_NR_PINS; i++)
		msgs[i] = ioapic_msg(&d->chip, i);
	ret = vkvm_irq_set_routes(d->v, msgs, IOAPIC_NR_PINS);
	if (ret)
		vkvm_fail(d->v, -ret, "KVM_SET_GSI_ROUTING");
}

static int ioapic_dev_send(void *opaque, uint32_t pin, const struct vlapic_icr *msg)
{
	struct ioapic_dev *d = opaque;

	(void)pin;
	return vkvm_irq_send(d->v, msg);
}

static enum vkvm_io_ret ioapic_dev_io(void *opaque, struct vkvm_cpu *c, uint64_t off, bool write,
				      uint8_t *data, unsigned int size)
{
	struct ioapic_dev *d = opaque;

	(void)c;
	pthread_mutex_lock(&d->lock);
	ioapic_mmio(&d->chip, off, write, data, size);
	pthread_mutex_unlock(&d->lock);
	return VKVM_IO_DONE;
}

static void ioapic_dev_set_line(void *state, uint32_t line, bool level)
{
	struct ioapic_dev *d = state;

	pthread_mutex_lock(&d->lock);
	ioapic_set_line(&d->chip, line, level);
	pthread_mutex_unlock(&d->lock);
}

static void ioapic_dev_eoi(void *state, uint8_t vector)
{
	struct ioapic_dev *d = state;

	pthread_mutex_lock(&d->lock);
	ioapic_eoi(&d->chip, vector);
	pthread_mutex_unlock(&d->lock);
}

static const struct vkvm_irqchip_ops ioapic_dev_ops = {
	.name = "ioapic",
	.nr_lines = IOAPIC_NR_PINS,
	.set_line = ioapic_dev_set_line,
	.eoi = ioapic_dev_eoi,
};

static int ioapic_dev_create(struct vkvm *v, void **state, char *why, size_t why_size)
{
	struct ioapic_dev *d = calloc(1, sizeof(*d));
	int ret;

	if (!d)
		return vkvm_say(why, why_size, -ENOMEM, "out of memory for the I/O APIC");
	d->v = v;
	pthread_mutex_init(&d->lock, NULL);
	ioapic_init(&d->chip, ioapic_dev_send, d);
	d->chip.msg_changed = ioapic_dev_msg_changed;
	ret = vkvm_bus_register(&v->bus, VKVM_MMIO, IOAPIC_BASE, IOAPIC_MMIO_SIZE,
				VKVM_BUS_ALL_CPUS, ioapic_dev_io, d, "ioapic");
	if (ret) {
		ret = vkvm_say(why, why_size, ret, "cannot place the I/O APIC at 0x%llx",
			       (unsigned long long)IOAPIC_BASE);
	} else {
		ret = vkvm_irq_set_chip(v, &ioapic_dev_ops, d);
		if (ret)
			vkvm_say(why, why_size, ret, "another interrupt controller has the lines");
	}
	if (ret) {
		/* The bus is torn down with the machine; only the state is ours. */
		pthread_mutex_destroy(&d->lock);
		free(d);
		return ret;
	}
	*state = d;
	return 0;
}

static void ioapic_dev_destroy(void *state)
{
	struct ioapic_dev *d = state;

	vkvm_irq_clear_chip(d->v, d);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

const struct vkvm_device vkvm_dev_ioapic = {
	.name = "ioapic",
	.irqchip = VKVM_NR_IRQCHIPS,
	.create = ioapic_dev_create,
	.destroy = ioapic_dev_destroy,
};
