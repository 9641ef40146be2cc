/* SPDX-License-Identifier: MIT */
/*
 * kvm/irq.c: the machine's interrupt lines and where they go.  A device
 * raises or lowers GSI n with vkvm_irq_line() and never calls an interrupt
 * controller itself; the machine routes:
 *
 *   --irqchip=avic    GSI n is input n of the interrupt controller that
 *                     registered for the lines (the I/O APIC,
 *                     kvm/devices/ioapic.c); its messages come back through
 *                     vkvm_irq_send() to the local APICs (the AVIC model's
 *                     avic_deliver_irq), and a local APIC's EOI of a
 *                     level-triggered vector goes back to it
 *   --irqchip=kernel  KVM_IRQ_LINE on the VM: by KVM's default routing GSIs
 *                     0-15 reach its 8259 pair and its I/O APIC pins 0-15,
 *                     GSIs 16-23 the I/O APIC pins 16-23
 *
 * Private to kvm/.
 */
#ifndef VINTC_KVM_IRQ_H
#define VINTC_KVM_IRQ_H

#include <stdbool.h>
#include <stdint.h>

#include "vkvm.h"

#define VKVM_NR_GSIS	24

struct vlapic_icr;

/* An interrupt controller the machine's lines can be routed to. */
struct vkvm_irqchip_ops {
	const char *name;
	uint32_t nr_lines;
	/* Line `line` (< nr_lines) is now asserted or not. */
	void (*set_line)(void *state, uint32_t line, bool level);
	/* A local APIC's EOI broadcast for a level-triggered vector. */
	void (*eoi)(void *state, uint8_t vector);
};

/*
 * The machine's lines go to `ops` from now on (--irqchip=avic), and the
 * local APICs' level EOIs to ops->eoi.  Before any vCPU runs.  -EBUSY if a
 * controller has the lines already.
 */
int vkvm_irq_set_chip(struct vkvm *v, const struct vkvm_irqchip_ops *ops, void *state);
/* Undo vkvm_irq_set_chip for `state` (after the vCPU threads ended). */
void vkvm_irq_clear_chip(struct vkvm *v, void *state);

/*
 * GSI `gsi` is asserted (level true) or not.  Lines no controller has are
 * dropped.  Callable from any vCPU thread.
 */
void vkvm_irq_line(struct vkvm *v, uint32_t gsi, bool level);

/*
 * An interrupt message of the I/O APIC to the local APICs; how many
 * accepted it (0 without a userspace APIC).
 */
int vkvm_irq_send(struct vkvm *v, const struct vlapic_icr *msg);

#endif
