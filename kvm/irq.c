// SPDX-License-Identifier: MIT
/*
 * The machine's interrupt lines (kvm/irq.h): devices in, the interrupt
 * controller that registered for them, its messages out to the local
 * APICs and the local APICs' level EOIs back to it.
 *
 * Under --irqchip=kernel (KVM_CAP_SPLIT_IRQCHIP) each message is a
 * KVM_SIGNAL_MSI of exactly what the I/O APIC sends, rather than a
 * KVM_IRQ_LINE on an MSI route: the I/O APIC's own logic (masks, Remote
 * IRR, the edge) decides whether a message goes out, and KVM_SIGNAL_MSI
 * says how many local APICs took it, which is what sets Remote IRR.  The
 * routes of GSIs 0-23 exist only because KVM asks them which vectors it
 * must report with KVM_EXIT_IOAPIC_EOI: it scans them for level-triggered
 * MSIs whose destination is the vCPU.  They mirror every redirection
 * entry, masked or not, so that an entry the guest masks while it is in
 * service still has its EOI reported and Remote IRR cleared.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/kvm.h>

#include <vintc/avic.h>
#include <vintc/vlapic.h>

#include "irq.h"

/* The MSI an I/O APIC message is on the bus, Intel SDM vol. 3 11.11. */
#define MSI_ADDR_BASE		0xFEE00000U
#define MSI_ADDR_DEST_SHIFT	12		/* bits 19:12 destination ID */
#define MSI_ADDR_REDIR_HINT	(1U << 3)	/* RH: lowest priority among dest */
#define MSI_ADDR_DEST_LOGICAL	(1U << 2)	/* DM */
#define MSI_DATA_DELMOD_SHIFT	8		/* bits 10:8 delivery mode */
#define MSI_DATA_LEVEL_ASSERT	(1U << 14)
#define MSI_DATA_TRIGGER_LEVEL	(1U << 15)
#define DM_LOWEST		1

void vkvm_irq_msi(const struct vlapic_icr *msg, uint32_t *addr, uint32_t *data)
{
	*addr = MSI_ADDR_BASE | (msg->dest & 0xFF) << MSI_ADDR_DEST_SHIFT;
	if (msg->dest_logical)
		*addr |= MSI_ADDR_DEST_LOGICAL;
	/* A lowest-priority message goes to one of its destinations. */
	if (msg->delivery_mode == DM_LOWEST)
		*addr |= MSI_ADDR_REDIR_HINT;
	*data = msg->vector | (uint32_t)(msg->delivery_mode & 7) << MSI_DATA_DELMOD_SHIFT;
	if (msg->level_assert)
		*data |= MSI_DATA_LEVEL_ASSERT;
	if (msg->trigger_level)
		*data |= MSI_DATA_TRIGGER_LEVEL;
}

void vkvm_irq_eoi(struct vkvm *v, uint8_t vector)
{
	if (v->irqchip && v->irqchip->eoi)
		v->irqchip->eoi(v->irqchip_state, vector);
}

/* The userspace APIC's EOI hook (lapic.eoi): to the controller. */
static void irq_lapic_eoi(void *opaque, uint32_t idx, uint8_t vector)
{
	(void)idx;
	vkvm_irq_eoi(opaque, vector);
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
	if (v->irqchip && gsi < v->irqchip->nr_lines)
		v->irqchip->set_line(v->irqchip_state, gsi, level);
}

int vkvm_irq_send(struct vkvm *v, const struct vlapic_icr *msg)
{
	struct kvm_msi msi;
	int ret;

	if (v->lapic_ready)
		return avic_deliver_irq(v->lapic.vm, msg);
	if (!v->kernel_chip)
		return 0;
	memset(&msi, 0, sizeof(msi));
	vkvm_irq_msi(msg, &msi.address_lo, &msi.data);
	ret = ioctl(v->vm_fd, KVM_SIGNAL_MSI, &msi);
	if (ret >= 0)
		return ret;
	/* KVM's -1 "no local APIC matched" arrives as EPERM. */
	if (errno != EPERM)
		vkvm_fail(v, errno, "KVM_SIGNAL_MSI");
	return 0;
}

int vkvm_irq_set_routes(struct vkvm *v, const struct vlapic_icr *msgs, uint32_t n)
{
	union {
		struct kvm_irq_routing h;
		uint8_t bytes[sizeof(struct kvm_irq_routing) +
			      VKVM_NR_GSIS * sizeof(struct kvm_irq_routing_entry)];
	} r;

	if (!v->kernel_chip)
		return 0;
	if (n > VKVM_NR_GSIS)
		return -EINVAL;
	memset(&r, 0, sizeof(r));
	r.h.nr = n;
	for (uint32_t gsi = 0; gsi < n; gsi++) {
		struct kvm_irq_routing_entry *e = &r.h.entries[gsi];

		e->gsi = gsi;
		e->type = KVM_IRQ_ROUTING_MSI;
		vkvm_irq_msi(&msgs[gsi], &e->u.msi.address_lo, &e->u.msi.data);
	}
	if (ioctl(v->vm_fd, KVM_SET_GSI_ROUTING, &r.h) < 0)
		return -errno;
	return 0;
}
