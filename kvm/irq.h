/* SPDX-License-Identifier: MIT */
/*
 * kvm/irq.c: the machine's interrupt lines and where they go.  A device
 * raises or lowers GSI n with vkvm_irq_line() and never calls an interrupt
 * controller itself.  The controller is the same under both irqchips,
 * so the guest sees one platform: our I/O APIC
 * (kvm/devices/ioapic.c) takes GSI n on pin n and its messages go out
 * through vkvm_irq_send() to the local APICs, whose EOIs of a
 * level-triggered vector come back to it through vkvm_irq_eoi():
 *
 *   --irqchip=avic    the local APICs are the AVIC model's (avic_deliver_irq);
 *                     an EOI arrives through the userspace APIC's hook
 *   --irqchip=kernel  KVM_CAP_SPLIT_IRQCHIP: the local APICs are KVM's; a
 *                     message is a KVM_SIGNAL_MSI, and an EOI arrives as
 *                     KVM_EXIT_IOAPIC_EOI for the vectors the MSI routes of
 *                     GSIs 0-23 (vkvm_irq_set_routes) name level-triggered
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
 * The machine's lines go to `ops` from now on, and the
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
 * accepted it.  Callable from any thread.
 */
int vkvm_irq_send(struct vkvm *v, const struct vlapic_icr *msg);

/* The MSI (address, data) that carries `msg` to KVM's local APICs. */
void vkvm_irq_msi(const struct vlapic_icr *msg, uint32_t *addr, uint32_t *data);

/* A local APIC's EOI of level-triggered `vector`: to the controller. */
void vkvm_irq_eoi(struct vkvm *v, uint8_t vector);

/*
 * What KVM must know of the controller's pins under --irqchip=kernel:
 * msgs[n] is the message pin n would send now (n < VKVM_NR_GSIS).  Under
 * --irqchip=avic a no-op.  The caller serialises calls.  0 or -errno.
 */
int vkvm_irq_set_routes(struct vkvm *v, const struct vlapic_icr *msgs, uint32_t n);

#endif
