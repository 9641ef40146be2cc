/* SPDX-License-Identifier: MIT */
/*
 * hyp/avic*.c internals: what the AVIC backend's files share and nothing
 * outside hyp/ may use.
 */
#ifndef VINTC_HYP_AVIC_PRIV_H
#define VINTC_HYP_AVIC_PRIV_H

#include <vintc/avic.h>

/*
 * IRR is set and a full barrier done: doorbell a vCPU in guest mode,
 * vcpu_kick() any other (hyp/avic.c).
 */
void avic_kick(struct vcpu *vcpu);

#endif
