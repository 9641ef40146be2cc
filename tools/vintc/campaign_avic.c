// SPDX-License-Identifier: MIT
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <vintc/avic.h>

#include "campaign.h"

struct case_state {
	struct campaign_result *res;
	bool failed;
};

__attribute__((format(printf, 2, 3)))
static void case_fail(struct case_state *cs, const char *fmt, ...)
{
	va_list ap;

	if (!cs->failed && !cs->res->first_failure[0]) {
		va_start(ap, fmt);
		vsnprintf(cs->res->first_failure, sizeof(cs->res->first_failure), fmt, ap);
		va_end(ap);
	}
	cs->failed = true;
}

static void count_hit(struct vcpu *vcpu, void *arg)
{
	(void)vcpu;
	(*(unsigned int *)arg)++;
}

/* The VM a retried build produced must be whole and consistent. */
static void check_vm(struct case_state *cs, struct vm *vm, uint32_t nvcpus, uint64_t site)
{
	struct avic_vm_info k;

	avic_vm_info(vm, &k);
	if (vm_nr_vcpus(vm) != nvcpus || !k.vm_id || !k.physical_table_pa || !k.logical_table_pa) {
		case_fail(cs, "site %" PRIu64 ": VM incomplete after retry (%u vCPUs, vm_id %u)",
			  site, vm_nr_vcpus(vm), k.vm_id);
		return;
	}
	for (uint32_t i = 0; i < nvcpus; i++) {
		struct vcpu *vcpu = vm_get_vcpu(vm, i);
		uint64_t want = (avic_vcpu_backing_pa(vcpu) & AVIC_PHYSICAL_ID_ENTRY_BACKING_PAGE) |
				AVIC_PHYSICAL_ID_ENTRY_VALID |
				FIELD_PREP(AVIC_PHYSICAL_ID_ENTRY_HOST_PHYSICAL_ID,
					   host_cpu_apic_id(vcpu->cpu));
		unsigned int hits = 0;

		if (avic_vcpu_has_table_entry(vcpu) && avic_vcpu_table_entry(vcpu) != want)
			case_fail(cs, "site %" PRIu64 ": vCPU %u entry 0x%016" PRIx64
				  " != 0x%016" PRIx64, site, i, avic_vcpu_table_entry(vcpu), want);
		if (avic_ga_tag_resolve(k.ids, avic_vcpu_gatag(vcpu), count_hit, &hits) || hits != 1)
			case_fail(cs, "site %" PRIu64 ": GA tag 0x%08x does not resolve",
				  site, avic_vcpu_gatag(vcpu));
	}
}

/*
 * One run: every step that fails (the armed site) must report it, and a
 * retry of that step must succeed.  Returns the VM, or NULL when even the
 * retry failed (recorded as a case failure).
 */
static struct vm *build(struct case_state *cs, const struct vm_config *cfg,
			uint32_t nvcpus, uint64_t site, bool *saw_error)
{
	struct vm *vm = NULL;
	int r;

	r = vm_create(cfg, &vm);
	if (r) {
		*saw_error = true;
		r = vm_create(cfg, &vm);
		if (r) {
			case_fail(cs, "site %" PRIu64 ": vm_create retry failed: %d", site, r);
			return NULL;
		}
	}
	for (uint32_t i = 0; i < nvcpus; i++) {
		struct vcpu *vcpu;

		r = vcpu_create(vm, i, &vcpu);
		if (r) {
			*saw_error = true;
			r = vcpu_create(vm, i, &vcpu);
		}
		if (r) {
			case_fail(cs, "site %" PRIu64 ": vcpu_create(%u) retry failed: %d", site, i, r);
			break;
		}
		vcpu_load(vcpu, (int)(i % host_cpus_nr()));
		vcpu_put(vcpu);
	}
	return vm;
}

static void run_case(struct case_state *cs, const struct vm_config *cfg, uint32_t nvcpus,
		     uint64_t site, struct id_space *ids)
{
	struct host_mem_stats before = host_mem_stats(HOST_TAG_NR), after;
	bool saw_error = false;
	struct vm *vm;

	host_fault_reset();
	if (site)
		host_fault_arm_nth(site);
	vm = build(cs, cfg, nvcpus, site, &saw_error);
	host_fault_disarm();
	if (site && host_fault_injected() != 1)
		case_fail(cs, "site %" PRIu64 " was never reached", site);
	if (site && !saw_error)
		case_fail(cs, "site %" PRIu64 " (%s) failed silently", site,
			  host_fault_site_name(site) ? host_fault_site_name(site) : "?");
	if (vm && !cs->failed)
		check_vm(cs, vm, nvcpus, site);
	vm_destroy(vm);

	after = host_mem_stats(HOST_TAG_NR);
	if (after.pages != before.pages || after.bytes != before.bytes) {
		cs->res->leaked_pages += after.pages - before.pages;
		cs->res->leaked_bytes += after.bytes - before.bytes;
		case_fail(cs, "site %" PRIu64 ": leaked %" PRId64 " pages, %" PRId64 " bytes", site,
			  (int64_t)(after.pages - before.pages), (int64_t)(after.bytes - before.bytes));
	}
	if (id_space_used(ids)) {
		cs->res->stale_ids += id_space_used(ids);
		case_fail(cs, "site %" PRIu64 ": %u VM IDs still taken", site, id_space_used(ids));
	}
}

int campaign_avic(const struct campaign_opts *opts, struct campaign_result *res)
{
	struct vm_config cfg = { .arch = VM_ARCH_AVIC };
	struct case_state cs = { .res = res };
	struct id_space *ids;
	int r;

	memset(res, 0, sizeof(*res));
	if (!opts->vcpus || opts->vcpus > VM_MAX_VCPUS)
		return -EINVAL;
	r = id_space_create(AVIC_VM_ID_BITS, &ids);
	if (r)
		return r;
	cfg.avic.model = opts->model;
	cfg.avic.ids = ids;

	/* Unarmed: how many sites does the scenario pass? */
	run_case(&cs, &cfg, opts->vcpus, 0, ids);
	res->sites = host_fault_count();
	if (cs.failed)
		res->failures++;
	for (uint64_t site = 1; site <= res->sites; site++) {
		cs.failed = false;
		run_case(&cs, &cfg, opts->vcpus, site, ids);
		res->cases++;
		if (cs.failed)
			res->failures++;
		if (opts->progress)
			opts->progress(opts->progress_arg, res->cases, res->sites);
	}
	host_fault_reset();
	id_space_destroy(ids);
	return 0;
}
