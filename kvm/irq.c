// SPDX-License-Identifier: MIT
/*
 * The machine's interrupt lines (kvm/irq.h): devices in, the interrupt
 * controller that registered for them, its messages out to the local
 * APICs and the local APICs' level EOIs back to it.
 */
#include <errno.h>
#include <sys/ioctl.h>

#include <linux/kvm.h>

#include <vintc/avic.h>
#include <vintc/vlapic.h>

#include "irq.h"

/* The userspace APIC's EOI hook (lapic.eoi): to the controller. */
static void irq_lapic_eoi(void *opaque, uint32_t idx, uint8_t vector)
{
	struct vkvm *v = opaque;

	(void)idx;
	if (v->irqchip && v->irqchip->eoi)
		v->irqchip->eoi(v->irqchip_state, vector);
}

int vkvm_irq_set_chip(struct vkvm *v, const struct vkvm_irqchip_ops *ops, void *state)
{
	if (v->irqchip)
		return -EBUSY;
	v->irqchip = ops;
	v->irqchip_state = state;
	/* The APIC's hook shares the kick's opaque, which is this machine. */
	if (v->lapic_ready)
		v->lapic.eoi = irq_lapic_eoi;
	return 0;
}

void vkvm_irq_clear_chip(struct vkvm *v, void *state)
{
	if (v->irqchip_state != state)
		return;
	v->lapic.eoi = NULL;
	v->irqchip = NULL;
	v->irqchip_state = NULL;
}

void vkvm_irq_line(struct vkvm *v, uint32_t gsi, bool level)
{
	if (v->kernel_chip) {
		struct kvm_irq_level irq = { .irq = gsi, .level = level };

		/* KVM's routing has every GSI below 24; a failure is a host one. */
		if (ioctl(v->vm_fd, KVM_IRQ_LINE, &irq) < 0)
			vkvm_fail(v, errno, "KVM_IRQ_LINE");
		return;
	}
	if (v->irqchip && gsi < v->irqchip->nr_lines)
		v->irqchip->set_line(v->irqchip_state, gsi, level);
}

int vkvm_irq_send(struct vkvm *v, const struct vlapic_icr *msg)
{
	if (!v->lapic_ready)
		return 0;
	return avic_deliver_irq(v->lapic.vm, msg);
}
