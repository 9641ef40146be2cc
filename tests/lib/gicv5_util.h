/* SPDX-License-Identifier: MIT */
/* Helpers shared by the GICv5 tests: an IRS, a probed host, VMs. */
#ifndef VINTC_TEST_GICV5_UTIL_H
#define VINTC_TEST_GICV5_UTIL_H

#include <vintc/vgic_v5.h>

#include "test.h"

struct gv5 {
	struct gicv5_irs *irs;
	struct vgic_v5_host *host;
};

static inline struct gv5 gv5_setup(bool two_level, unsigned int vm_id_bits)
{
	struct vgic_v5_host_opts o = { .two_level = two_level, .vm_id_bits = vm_id_bits };
	struct gicv5_irs_config cfg;
	struct gv5 g;

	gicv5_irs_default_config(&cfg);
	ASSERT_OK(gicv5_irs_create(&cfg, &g.irs));
	ASSERT_OK(vgic_v5_probe(g.irs, &o, &g.host));
	return g;
}

static inline void gv5_done(struct gv5 *g)
{
	ASSERT_OK(vgic_v5_remove(g->host));
	gicv5_irs_destroy(g->irs);
	ASSERT_EQ(host_mem_stats(HOST_TAG_NR).pages, 0);
	ASSERT_EQ(host_mem_stats(HOST_TAG_NR).bytes, 0);
	ASSERT_EQ(host_lpi_outstanding(), 0);
}

static inline struct vm *gv5_vm(struct gv5 *g, uint32_t nvcpus, uint32_t id_stride)
{
	struct vm_config cfg = { .arch = VM_ARCH_GICV5, .gicv5.host = g->host };
	struct vm *vm;

	ASSERT_OK(vm_create(&cfg, &vm));
	for (uint32_t i = 0; i < nvcpus; i++)
		ASSERT_OK(vcpu_create(vm, i * id_stride, NULL));
	return vm;
}

#endif
