/* SPDX-License-Identifier: MIT */
/* Helpers shared by the AVIC tests. */
#ifndef VINTC_TEST_AVIC_UTIL_H
#define VINTC_TEST_AVIC_UTIL_H

#include <vintc/avic.h>

/* The AVIC tests look inside the backend's structs on purpose. */
#include "hyp/avic_priv.h"
#include "test.h"

static inline struct vm *avic_vm_new(enum avic_model model, uint32_t max_ids,
				     struct id_space *ids)
{
	struct vm_config cfg = {
		.arch = VM_ARCH_AVIC,
		.max_vcpu_ids = max_ids,
		.avic = { .model = model, .ids = ids },
	};
	struct vm *vm = NULL;

	ASSERT_OK(vm_create(&cfg, &vm));
	return vm;
}

static inline struct vcpu *avic_vcpu_new(struct vm *vm, uint32_t id)
{
	struct vcpu *vcpu = NULL;

	ASSERT_OK(vcpu_create(vm, id, &vcpu));
	return vcpu;
}

static inline uint64_t pages_out(void)
{
	return host_mem_stats(HOST_TAG_NR).pages;
}

static inline uint64_t bytes_out(void)
{
	return host_mem_stats(HOST_TAG_NR).bytes;
}

#endif
