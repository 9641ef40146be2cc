// SPDX-License-Identifier: MIT
/*
 * device-storm: devices behind the IOMMU post interrupts through GA-mode
 * IRTEs, one per vCPU, with no flow control.  Running vCPUs get the vector
 * and a doorbell; halted ones get it through the GA log, whose notifier
 * wakes them.  A vector still pending when the next one lands merges, as
 * the architecture says; the IOMMU counts those.
 */
#include <stdlib.h>

#include <vintc/amd_iommu.h>

#include "sim_priv.h"

struct storm {
	struct amd_iommu *iommu;
	struct avic_ga_log *log;
	void **irt;			/* one remapping table per VM (device ID = VM) */
};

static void storm_overflow(void *arg)
{
	struct sim *s = arg;

	/* Entries were dropped: nobody knows whose, so wake every vCPU. */
	for (uint32_t i = 0; i < s->nvcpus; i++)
		vcpu_wake(s->vcpus[i].vcpu);
}

static int storm_setup(struct sim *s)
{
	struct storm *st = calloc(1, sizeof(*st));
	int r;

	if (!st)
		return -ENOMEM;
	s->wl_state = st;
	st->irt = calloc(s->nvms, sizeof(void *));
	if (!st->irt)
		return -ENOMEM;
	r = amd_iommu_create(&st->iommu);
	if (!r)
		r = avic_ga_log_init_cb(st->iommu, NULL, storm_overflow, s, &st->log);
	for (uint32_t m = 0; !r && m < s->nvms; m++) {
		struct sim_vm *svm = &s->vms[m];

		st->irt[m] = host_pages_alloc(HOST_TAG_MISC, 1, "sim.irt");	/* 512 x 16 B */
		if (!st->irt[m])
			return -ENOMEM;
		r = amd_iommu_set_irt(st->iommu, (uint16_t)m, host_pa(st->irt[m]), svm->n);
		for (uint32_t i = 0; !r && i < svm->n; i++)
			r = avic_irte_attach_iommu(svm->v[i]->vcpu, st->iommu, (uint16_t)m,
						   (uint64_t *)st->irt[m] + 2 * i, SIM_VECTOR_BASE);
	}
	return r;
}

static void storm_teardown(struct sim *s)
{
	struct storm *st = s->wl_state;

	if (!st)
		return;
	/* The VMs are gone, their vCPUs detached every IRTE on the way out. */
	if (st->log)
		avic_ga_log_destroy(st->log);
	for (uint32_t m = 0; st->irt && m < s->nvms; m++)
		host_pages_free(st->irt[m]);
	if (st->iommu)
		amd_iommu_destroy(st->iommu);
	free(st->irt);
	free(st);
	s->wl_state = NULL;
}

static void storm_sync(struct sim *s)
{
	struct storm *st = s->wl_state;
	struct amd_iommu_stats is;
	struct avic_ga_log_stats ls;

	if (!st || !st->iommu)
		return;
	amd_iommu_get_stats(st->iommu, &is);
	__atomic_store_n(&s->merged, is.irr_merged, __ATOMIC_SEQ_CST);
	if (st->log) {
		avic_ga_log_stats(st->log, &ls);
		s->ga_log_entries = ls.entries;
	}
}

static bool storm_device_step(struct sim_device *d)
{
	struct sim *s = d->s;
	struct storm *st = s->wl_state;
	struct sim_vcpu *v;
	int r;

	if (!d->to_send)
		return false;
	v = &s->vcpus[sim_rand(&d->rng) % s->nvcpus];
	/* Counted first: the run may not end between the post and the count. */
	sim_count_sent(s, v->svm, v->local, 0);
	r = amd_iommu_device_interrupt(st->iommu, (uint16_t)(v->svm - s->vms), v->local);
	if (r)
		sim_fail(s, "device %u: interrupt to vCPU %u failed: %d", d->idx, v->idx, r);
	WRITE_ONCE(d->to_send, d->to_send - 1);
	return true;
}

static bool storm_device_done(struct sim_device *d)
{
	return !READ_ONCE(d->to_send);
}

static int storm_guest_step(struct sim_vcpu *v)
{
	(void)v;
	return 0;
}

static void storm_irq(struct sim_vcpu *v, uint32_t sender)
{
	(void)v;
	(void)sender;
}

static bool storm_vcpu_done(struct sim_vcpu *v)
{
	(void)v;
	return true;
}

const struct sim_workload sim_device_storm = {
	.name = "device-storm",
	.arch = VM_ARCH_AVIC,
	.devices = 2,
	.guest_step = storm_guest_step,
	.on_irq = storm_irq,
	.device_step = storm_device_step,
	.device_done = storm_device_done,
	.vcpu_done = storm_vcpu_done,
	.setup_run = storm_setup,
	.teardown_run = storm_teardown,
	.sync = storm_sync,
};
