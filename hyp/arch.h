/* SPDX-License-Identifier: MIT */
/* The backends hyp/vm.c can pick from; chosen once, at vm_create. */
#ifndef VINTC_HYP_ARCH_H
#define VINTC_HYP_ARCH_H

#include <vintc/vm.h>

extern const struct vm_ops avic_vm_ops;
extern const struct vm_ops vgic_v5_vm_ops;

#endif
