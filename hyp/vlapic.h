/* SPDX-License-Identifier: MIT */
/* APIC register semantics kept in the vAPIC backing page. */
#ifndef VINTC_HYP_VLAPIC_H
#define VINTC_HYP_VLAPIC_H

#include <stdbool.h>
#include <stdint.h>

void vlapic_reset(void *regs, uint32_t apic_id);
/* Highest vector set in a 256-bit register (IRR/ISR/TMR), or -1. */
int vlapic_find_highest(void *regs, unsigned int base);
/* True if the highest IRR vector's priority class beats the PPR's. */
bool vlapic_has_deliverable(void *regs);

#endif
