// SPDX-License-Identifier: MIT
#include <string.h>

#include <vintc/amd_defs.h>

#include "vlapic.h"

void vlapic_reset(void *regs, uint32_t apic_id)
{
	static const unsigned int lvts[] = {
		APIC_LVTT, APIC_LVTTHMR, APIC_LVTPC, APIC_LVT0, APIC_LVT1, APIC_LVTERR,
	};

	memset(regs, 0, HOST_PAGE_SIZE);
	*apic_reg(regs, APIC_ID) = (uint32_t)FIELD_PREP(APIC_XAPIC_ID, apic_id);
	*apic_reg(regs, APIC_LVR) = APIC_LVR_VALUE;
	*apic_reg(regs, APIC_DFR) = APIC_DFR_FLAT;
	*apic_reg(regs, APIC_SPIV) = 0xFF;	/* spurious vector 0xFF, software-disabled */
	for (unsigned int i = 0; i < ARRAY_SIZE(lvts); i++)
		*apic_reg(regs, lvts[i]) = (uint32_t)APIC_LVT_MASKED;
}

int vlapic_find_highest(void *regs, unsigned int base)
{
	for (int w = 7; w >= 0; w--) {
		uint32_t v = __atomic_load_n(apic_reg(regs, base + (unsigned int)w * 0x10),
					     __ATOMIC_ACQUIRE);

		if (v)
			return w * 32 + 31 - __builtin_clz(v);
	}
	return -1;
}

bool vlapic_has_deliverable(void *regs)
{
	int v = vlapic_find_highest(regs, APIC_IRR);
	uint32_t ppr = __atomic_load_n(apic_reg(regs, APIC_PROCPRI), __ATOMIC_RELAXED);

	return v >= 16 && ((unsigned int)v & 0xF0) > (ppr & 0xF0);
}
