// SPDX-License-Identifier: MIT
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <vintc/vgic_v5.h>

#include "campaign.h"

struct gcase {
	struct campaign_result *res;
	const struct campaign_opts *opts;
	uint64_t site;
	struct gicv5_irs *irs;
	bool failed, saw_error, hung;
};

__attribute__((format(printf, 2, 3)))
static void gfail(struct gcase *c, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!c->failed && !c->res->first_failure[0])
		snprintf(c->res->first_failure, sizeof(c->res->first_failure),
			 "site %" PRIu64 " (%s): %s", c->site,
			 host_fault_site_name(c->site) ? host_fault_site_name(c->site) : "none", msg);
	c->failed = true;
}

/* An error came back: note it, and release the IRS if it is stuck. */
static bool gerror(struct gcase *c, int r)
{
	if (!r)
		return false;
	c->saw_error = true;
	if (gicv5_irs_hung(c->irs)) {
		c->hung = true;
		gicv5_irs_unhang(c->irs);
	}
	return true;
}

static struct vgic_v5_host *gprobe(struct gcase *c)
{
	struct vgic_v5_host_opts o = { .two_level = c->opts->two_level };
	struct vgic_v5_host *h = NULL;
	int r = vgic_v5_probe(c->irs, &o, &h);

	if (gerror(c, r)) {
		if (vgic_v5_reclaim())
			gfail(c, "quarantined VM table not reclaimable after the IRS recovered");
		r = vgic_v5_probe(c->irs, &o, &h);
		if (r) {
			gfail(c, "probe retry failed: %d", r);
			return NULL;
		}
	}
	return h;
}

static struct vm *gbuild(struct gcase *c, struct vgic_v5_host *h)
{
	struct vm_config cfg = { .arch = VM_ARCH_GICV5, .gicv5.host = h };
	struct vm *vm = NULL;
	int r;

	r = vm_create(&cfg, &vm);
	if (gerror(c, r) && (r = vm_create(&cfg, &vm))) {
		gfail(c, "vm_create retry failed: %d", r);
		return NULL;
	}
	for (uint32_t i = 0; i < c->opts->vcpus; i++) {
		r = vcpu_create(vm, i, NULL);
		if (gerror(c, r) && (r = vcpu_create(vm, i, NULL))) {
			gfail(c, "vcpu_create(%u) retry failed: %d", i, r);
			return vm;
		}
	}
	return vm;
}

static void ginit(struct gcase *c, struct vm *vm)
{
	int r = vgic_v5_init(vm);

	if (!r)
		return;
	c->saw_error = true;
	if (gicv5_irs_hung(c->irs)) {
		/* Init's own teardown could not finish: the ID must stay taken. */
		c->hung = true;
		if (!vgic_v5_vm_id(vm))
			gfail(c, "VM ID released while the IRS was still busy");
		if (!vgic_v5_teardown(vm))
			gfail(c, "teardown succeeded against a hung IRS");
		gicv5_irs_unhang(c->irs);
		r = vgic_v5_teardown(vm);
		if (r)
			gfail(c, "teardown after recovery failed: %d", r);
	} else if (vgic_v5_vm_id(vm)) {
		gfail(c, "failed init kept VM ID %u", vgic_v5_vm_id(vm));
	}
	r = vgic_v5_init(vm);
	if (r)
		gfail(c, "init retry failed: %d", r);
}

static void gcheck_vm(struct gcase *c, struct vm *vm)
{
	uint32_t vm_id = vgic_v5_vm_id(vm);
	uint64_t *vmte = vgic_v5_vm_vmte(vm);

	if (!vm_id || !vmte || !(vmte[0] & GICV5_VMTEL2E_VALID) ||
	    !(vmte[GICV5_VMTE_WORD_LPI_IST] & GICV5_VMTEL2E_IST_VALID) ||
	    !(vmte[GICV5_VMTE_WORD_SPI_IST] & GICV5_VMTEL2E_IST_VALID)) {
		gfail(c, "VM incomplete after retry (vm_id %u)", vm_id);
		return;
	}
	for (uint32_t i = 0; i < vm_nr_vcpus(vm); i++) {
		struct vcpu *vcpu = vm_get_vcpu(vm, i);
		uint64_t *vpete = vgic_v5_vpete(vm, vcpu->vcpu_id);

		if (!vpete || !(*vpete & GICV5_VPETE_VALID))
			gfail(c, "VPE %u not valid", vcpu->vcpu_id);
		vcpu_load(vcpu, (int)(i % host_cpus_nr()));
		if (!vgic_v5_vcpu_resident(vcpu))
			gfail(c, "VPE %u not resident after load", vcpu->vcpu_id);
		vcpu_put(vcpu);
	}
}

/* Count VMTEs the IRS still considers valid. */
static uint64_t count_valid_vmtes(struct vgic_v5_host *h)
{
	struct vgic_v5_host_info hi;
	uint64_t n = 0;

	vgic_v5_host_info(h, &hi);
	for (uint32_t id = 0; id < (1U << hi.vm_id_bits); id++) {
		uint64_t *vmte = vgic_v5_vmte(h, id);

		if (vmte && (vmte[0] & GICV5_VMTEL2E_VALID))
			n++;
	}
	return n;
}

static void gteardown(struct gcase *c, struct vm *vm, struct vgic_v5_host *h)
{
	struct id_space *ids = vgic_v5_host_ids(h);
	uint32_t retired;
	int r;

	/*
	 * Teardown by hand first, so its failure is seen and a hung IRS can
	 * be released before the VM goes; destroy's own teardown then finds
	 * nothing left to do.
	 */
	r = vgic_v5_teardown(vm);
	if (gerror(c, r) && (r = vgic_v5_teardown(vm)))
		gfail(c, "teardown retry failed: %d", r);
	vm_destroy(vm);
	c->res->valid_left += count_valid_vmtes(h);
	if (count_valid_vmtes(h))
		gfail(c, "%" PRIu64 " VMTE(s) left VALID", count_valid_vmtes(h));
	retired = id_space_retired(ids);
	c->res->retired_vm_ids += retired;
	if (id_space_used(ids) != retired) {
		c->res->stale_ids += id_space_used(ids) - retired;
		gfail(c, "%u VM ID(s) still live after destroy", id_space_used(ids) - retired);
	}
	if (retired > 1)
		gfail(c, "%u VM IDs retired by one case", retired);
	r = vgic_v5_remove(h);
	if (gerror(c, r) && (r = vgic_v5_remove(h)))
		gfail(c, "remove retry failed: %d", r);
}

static void gcase_run(struct gcase *c)
{
	struct host_mem_stats before = host_mem_stats(HOST_TAG_NR), after;
	uint32_t lpis = host_lpi_outstanding();
	struct gicv5_irs_config cfg;
	struct vgic_v5_host *h;
	struct vm *vm;

	gicv5_irs_default_config(&cfg);
	if (gicv5_irs_create(&cfg, &c->irs)) {
		gfail(c, "IRS model creation failed");
		return;
	}
	host_fault_reset();
	if (c->site)
		host_fault_arm_nth(c->site);
	h = gprobe(c);
	vm = h ? gbuild(c, h) : NULL;
	if (vm && !c->failed)
		ginit(c, vm);
	if (vm && !c->failed)
		gcheck_vm(c, vm);
	if (vm)
		gteardown(c, vm, h);
	host_fault_disarm();
	if (c->site && host_fault_injected() != 1)
		gfail(c, "site never reached");
	if (c->site && !c->saw_error)
		gfail(c, "the failure was swallowed");
	gicv5_irs_destroy(c->irs);
	after = host_mem_stats(HOST_TAG_NR);
	if (after.pages != before.pages || after.bytes != before.bytes) {
		c->res->leaked_pages += after.pages - before.pages;
		c->res->leaked_bytes += after.bytes - before.bytes;
		gfail(c, "leaked %" PRId64 " pages, %" PRId64 " bytes",
		      (int64_t)(after.pages - before.pages), (int64_t)(after.bytes - before.bytes));
	}
	if (host_lpi_outstanding() != lpis)
		gfail(c, "%u host LPI(s) leaked", host_lpi_outstanding() - lpis);
	c->res->hangs += c->hung;
}

int campaign_gicv5(const struct campaign_opts *opts, struct campaign_result *res)
{
	struct gcase c = { .res = res, .opts = opts };
	uint64_t sites;

	memset(res, 0, sizeof(*res));
	if (!opts->vcpus || opts->vcpus > VM_MAX_VCPUS)
		return -EINVAL;
	gcase_run(&c);
	sites = host_fault_count();
	if (c.failed)
		res->failures++;
	res->sites = sites;
	for (uint64_t site = 1; site <= sites; site++) {
		memset(&c, 0, sizeof(c));
		c.res = res;
		c.opts = opts;
		c.site = site;
		gcase_run(&c);
		res->cases++;
		res->failures += c.failed;
		if (opts->progress)
			opts->progress(opts->progress_arg, res->cases, sites);
	}
	host_fault_reset();
	return 0;
}
