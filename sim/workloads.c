// SPDX-License-Identifier: MIT
/*
 * Workloads: small guest programs for the model vCPUs, and devices.
 *
 * Every sender keeps at most one message in flight per (sender, target)
 * and vector (a credit the target returns when its handler runs), so the
 * only merges are the ones the architecture makes on purpose (device
 * storms) and exactly-once accounting stays exact.  A vCPU waiting for an
 * interrupt halts through the hypervisor; one waiting for a credit spins.
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include <vintc/amd_iommu.h>
#include <vintc/avic_cpu.h>
#include <vintc/vlapic.h>

#include "sim_priv.h"

static uint64_t icr_fixed(uint32_t dest, uint32_t sender, bool logical, unsigned int shorthand)
{
	return ((uint64_t)dest << 56) | FIELD_PREP(APIC_ICR_SHORTHAND, shorthand) |
	       (logical ? APIC_ICR_DEST_LOGICAL : 0) | (SIM_VECTOR_BASE + sender);
}

static bool take_credit(uint32_t *c)
{
	return __atomic_exchange_n(c, 0, __ATOMIC_ACQ_REL);
}

static void give_credit(uint32_t *c)
{
	__atomic_store_n(c, 1, __ATOMIC_RELEASE);
}

static bool credit_back(uint32_t *c)
{
	return __atomic_load_n(c, __ATOMIC_ACQUIRE);
}

/* ---- ipi-pingpong: pairs (2k, 2k+1); the even one serves, the odd one replies */

static struct sim_vcpu *partner(struct sim_vcpu *v)
{
	uint32_t p = v->local ^ 1;

	return p < v->svm->n ? v->svm->v[p] : NULL;
}

static int pingpong_step(struct sim_vcpu *v)
{
	struct sim_vcpu *p = partner(v);
	uint32_t t;

	if (!p)
		return 0;
	if (v->local & 1) {
		if (!v->next)
			return 0;
		WRITE_ONCE(v->next, v->next - 1);	/* a reply owed */
	} else {
		if (!v->to_send || !take_credit(&v->credit[p->local]))
			return 0;	/* halt until the reply */
		WRITE_ONCE(v->to_send, v->to_send - 1);
	}
	t = p->local;
	sim_avic_send(v, icr_fixed(p->vcpu->vcpu_id, v->local, false, APIC_SH_NONE), &t, 1);
	return 1;
}

static void pingpong_irq(struct sim_vcpu *v, uint32_t sender)
{
	if (v->local & 1)
		WRITE_ONCE(v->next, v->next + 1);
	else
		give_credit(&v->credit[sender]);
}

static bool pingpong_done(struct sim_vcpu *v)
{
	struct sim_vcpu *p = partner(v);

	if (!p)
		return true;
	if (v->local & 1)
		return !READ_ONCE(v->next);
	return !READ_ONCE(v->to_send) && credit_back(&v->credit[p->local]);
}

/* ---- ipi-all-to-all: everyone sends to everyone, round robin ------------------ */

static void credit_to_sender(struct sim_vcpu *v, uint32_t sender)
{
	give_credit(&v->svm->v[sender]->credit[v->local]);
}

static int all_to_all_step(struct sim_vcpu *v)
{
	uint32_t n = v->svm->n;

	if (!v->to_send || n < 2)
		return 0;
	for (uint32_t k = 0; k < n; k++) {
		uint32_t t = (uint32_t)((v->next + k) % n);

		if (t == v->local || !take_credit(&v->credit[t]))
			continue;
		v->next = t + 1;
		WRITE_ONCE(v->to_send, v->to_send - 1);
		sim_avic_send(v, icr_fixed(v->svm->v[t]->vcpu->vcpu_id, v->local, false,
					   APIC_SH_NONE), &t, 1);
		return 1;
	}
	return -1;			/* every target still has our last one */
}

static bool all_credits_back(struct sim_vcpu *v)
{
	for (uint32_t t = 0; t < v->svm->n; t++)
		if (!credit_back(&v->credit[t]))
			return false;
	return true;
}

static bool sender_done(struct sim_vcpu *v)
{
	return (!READ_ONCE(v->to_send) || v->svm->n < 2) && all_credits_back(v);
}

/* ---- broadcast: vCPU 0 sends all-excluding-self, waits for every handler ---- */

static int broadcast_step(struct sim_vcpu *v)
{
	uint32_t n = v->svm->n, targets[SIM_MAX_SENDERS], k = 0;

	if (v->local || !v->to_send || n < 2)
		return 0;
	if (__atomic_load_n(&v->pending_acks, __ATOMIC_ACQUIRE))
		return -1;
	for (uint32_t t = 1; t < n; t++)
		targets[k++] = t;
	__atomic_store_n(&v->pending_acks, k, __ATOMIC_RELEASE);
	WRITE_ONCE(v->to_send, v->to_send - 1);
	sim_avic_send(v, icr_fixed(0, v->local, false, APIC_SH_OTHERS), targets, k);
	return 1;
}

static void broadcast_irq(struct sim_vcpu *v, uint32_t sender)
{
	__atomic_sub_fetch(&v->svm->v[sender]->pending_acks, 1, __ATOMIC_ACQ_REL);
}

static bool broadcast_done(struct sim_vcpu *v)
{
	return v->local || !READ_ONCE(v->to_send) || v->svm->n < 2 ?
	       !__atomic_load_n(&v->pending_acks, __ATOMIC_ACQUIRE) : false;
}

/* ---- logical-cluster: xAPIC cluster mode, 4 vCPUs per cluster ---------------- */

static int cluster_setup(struct sim *s, struct sim_vm *svm)
{
	(void)s;
	if (svm->n > 60)
		return -EINVAL;		/* 15 clusters of 4 */
	for (uint32_t i = 0; i < svm->n; i++) {
		struct vcpu *vcpu = svm->v[i]->vcpu;
		void *regs = avic_vcpu_backing(vcpu);

		*apic_reg(regs, APIC_DFR) = APIC_DFR_CLUSTER;
		avic_handle_dfr_update(vcpu);
		*apic_reg(regs, APIC_LDR) = ((i / 4) << 28) | (1U << (24 + i % 4));
		avic_handle_ldr_update(vcpu);
	}
	return 0;
}

static int cluster_step(struct sim_vcpu *v)
{
	uint32_t n = v->svm->n, nclusters = (n + 3) / 4;
	uint32_t c = (v->local / 4 + 1) % nclusters, targets[4], k = 0, mask = 0;

	if (!v->to_send || n < 2)
		return 0;
	for (uint32_t b = 0; b < 4; b++) {
		uint32_t t = c * 4 + b;

		if (t >= n || t == v->local)
			continue;
		if (!credit_back(&v->credit[t]))
			return -1;
		targets[k++] = t;
		mask |= 1U << b;
	}
	if (!k)
		return 0;
	for (uint32_t i = 0; i < k; i++)
		take_credit(&v->credit[targets[i]]);
	WRITE_ONCE(v->to_send, v->to_send - 1);
	sim_avic_send(v, icr_fixed((c << 4) | mask, v->local, true, APIC_SH_NONE), targets, k);
	return 1;
}

/* ---- self-ipi ---------------------------------------------------------------- */

static int self_step(struct sim_vcpu *v)
{
	uint32_t t = v->local;

	if (!v->to_send)
		return 0;
	if (!take_credit(&v->credit[t]))
		return -1;
	WRITE_ONCE(v->to_send, v->to_send - 1);
	sim_avic_send(v, icr_fixed(0, v->local, false, APIC_SH_SELF), &t, 1);
	return 1;
}

/* A self-IPI needs no second vCPU: done when every message came back. */
static bool self_done(struct sim_vcpu *v)
{
	return !READ_ONCE(v->to_send) && all_credits_back(v);
}

/* ---- GICv5: devices inject virtual SPIs or LPIs, VPEs take them ------------------ */

static unsigned int gic_type(const struct sim *s)
{
	return strcmp(s->wl->name, "gicv5-lpi") ? GICV5_HWIRQ_TYPE_SPI : GICV5_HWIRQ_TYPE_LPI;
}

static int gic_setup(struct sim *s, struct sim_vm *svm)
{
	/* One interrupt per (device, VPE): ID = device * n + VPE, aimed at the VPE. */
	for (uint32_t d = 0; d < s->wl->devices; d++)
		for (uint32_t t = 0; t < svm->n; t++) {
			int r = gicv5_irs_vint_config(s->irs, svm->gic_vm_id, gic_type(s),
						      d * svm->n + t, true, 8,
						      (uint16_t)svm->v[t]->vcpu->vcpu_id);

			if (r)
				return r;
		}
	for (uint32_t t = 0; t < svm->n; t++)
		svm->v[t]->to_send = 0;	/* the devices send */
	return 0;
}

static int gic_guest_step(struct sim_vcpu *v)
{
	(void)v;
	return 0;			/* nothing to do but wait for interrupts */
}

static void gic_irq(struct sim_vcpu *v, uint32_t sender)
{
	give_credit(&v->s->devs[sender].credit[v->idx]);
}

static bool gic_device_step(struct sim_device *d)
{
	struct sim *s = d->s;

	if (!d->to_send)
		return false;
	for (uint32_t k = 0; k < s->nvcpus; k++) {
		uint32_t g = (uint32_t)((d->next + k) % s->nvcpus);
		struct sim_vcpu *v = &s->vcpus[g];

		if (!take_credit(&d->credit[g]))
			continue;
		d->next = g + 1;
		WRITE_ONCE(d->to_send, d->to_send - 1);
		sim_count_sent(s, v->svm, v->local, d->idx);
		if (gicv5_irs_inject(s->irs, v->svm->gic_vm_id, gic_type(s),
				     d->idx * v->svm->n + v->local))
			sim_fail(s, "device %u: injection to VPE %u refused", d->idx, v->local);
		return true;
	}
	return false;
}

static bool gic_device_done(struct sim_device *d)
{
	for (uint32_t g = 0; g < d->s->nvcpus; g++)
		if (!credit_back(&d->credit[g]))
			return false;
	return !READ_ONCE(d->to_send);
}

/* ---- churn: all-to-all traffic while a device thread makes and breaks VMs ---- */

/*
 * Device 0 churns VMs; device 1 is the IOMMU's GA-log interrupt thread.
 * The GA-log interrupt only marks the log pending and device 1 drains it
 * later, as a threaded interrupt handler would, so its GA-tag lookups
 * (under the ID space's read lock) race the churned VMs' teardown: a VM
 * may leave the lookup (pre-destroy) between the IOMMU logging its tag
 * and the notifier resolving it, which must then find nothing.
 */
#define CHURN_DEVID   0x100U	/* the churned VMs' device: one IRT, two IRTEs */
#define CHURN_VECTOR  0x50U

struct churn {
	struct amd_iommu *iommu;
	struct avic_ga_log *log;
	uint64_t *irt;			/* 256 x 16 B; the churner owns entries 0 and 1 */
	uint32_t pending;		/* GA-log interrupt raised, not yet handled */
};

static void churn_ga_irq(struct amd_iommu *iommu, void *arg)
{
	struct churn *c = arg;

	(void)iommu;
	__atomic_store_n(&c->pending, 1, __ATOMIC_RELEASE);
}

static void churn_overflow(void *arg)
{
	struct sim *s = arg;

	for (uint32_t i = 0; i < s->nvcpus; i++)
		vcpu_wake(s->vcpus[i].vcpu);
}

static int churn_setup(struct sim *s)
{
	struct churn *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	s->wl_state = c;
	c->irt = host_pages_alloc(HOST_TAG_MISC, 0, "sim.churn_irt");
	if (!c->irt)
		return -ENOMEM;
	r = amd_iommu_create(&c->iommu);
	/* The churned VMs take their IDs from the process-wide space: NULL. */
	if (!r)
		r = avic_ga_log_init_cb(c->iommu, NULL, churn_overflow, s, &c->log);
	if (!r)
		r = amd_iommu_set_irt(c->iommu, CHURN_DEVID, host_pa(c->irt), 2);
	if (!r)
		amd_iommu_set_ga_log_handler(c->iommu, churn_ga_irq, c);
	return r;
}

static void churn_teardown(struct sim *s)
{
	struct churn *c = s->wl_state;

	if (!c)
		return;
	if (c->log)
		avic_ga_log_destroy(c->log);
	if (c->iommu)
		amd_iommu_destroy(c->iommu);
	host_pages_free(c->irt);
	free(c);
	s->wl_state = NULL;
}

static void churn_sync(struct sim *s)
{
	struct churn *c = s->wl_state;
	struct avic_ga_log_stats ls;

	if (!c || !c->log)
		return;
	avic_ga_log_stats(c->log, &ls);
	s->ga_log_entries = ls.entries;
	s->ga_log_unknown = ls.unknown;
}

/*
 * One churn cycle: a fresh two-vCPU VM on random host CPUs, its vCPUs'
 * IRTEs attached, a few IPIs between its vCPUs through the same ICR model,
 * a device interrupt to vCPU 0 while it blocks (IRR set, GA log entry
 * naming its tag), then destroy.  Its IDs, tables and backing pages come
 * and go while the long-lived VMs' senders walk theirs and device 1's
 * notifier resolves the tag.  The device interrupt is sent from this
 * thread, before the teardown: the detach's IRT flush would make a device
 * thread racing the teardown safe, but its interrupt could then miss the
 * blocking vCPU (no IRR, no GA log entry), and the run counts exactly one
 * of each per churned VM.
 */
static bool churn_cycle(struct sim_device *d)
{
	struct sim *s = d->s;
	struct churn *c = s->wl_state;
	struct vm_config cfg = { .arch = VM_ARCH_AVIC, .avic.model = s->o->model };
	struct vcpu *vc[2];
	struct vm *vm;
	bool ok = true;
	int vec;

	if (!d->to_send)
		return false;
	if (vm_create(&cfg, &vm)) {
		sim_fail(s, "churn: vm_create failed");
		return false;
	}
	__atomic_add_fetch(&s->vms_created, 1, __ATOMIC_RELAXED);
	for (int i = 0; ok && i < 2; i++) {
		if (vcpu_create(vm, (uint32_t)i, &vc[i]) ||
		    vcpu_load(vc[i], (int)(sim_rand(&d->rng) % s->o->host_cpus)) ||
		    avic_irte_attach_iommu(vc[i], c->iommu, CHURN_DEVID, c->irt + 2 * i,
					   CHURN_VECTOR)) {
			sim_fail(s, "churn: vCPU %d could not be made", i);
			ok = false;
		}
	}
	for (int m = 0; ok && m < 4; m++) {
		struct avic_cpu_opts o = { .current_host_apic_id = (uint32_t)host_cpu_apic_id(vc[0]->cpu) };
		void *regs = avic_vcpu_backing(vc[1]);

		__atomic_add_fetch(&s->sent, 1, __ATOMIC_SEQ_CST);
		avic_icr_write(vc[0], (1ULL << 56) | (0x40 + m), &o, NULL, NULL);
		vec = vlapic_accept(regs);
		if (vec != 0x40 + m) {
			sim_fail(s, "churn: vector %d taken, 0x%x sent", vec, 0x40 + m);
			ok = false;
			break;
		}
		vlapic_eoi(regs);
		__atomic_add_fetch(&s->delivered, 1, __ATOMIC_SEQ_CST);
	}
	if (ok) {
		/* vCPU 0 halts: IsRun = 0, GALogIntr = 1, so the IOMMU logs its tag. */
		vcpu_blocking(vc[0]);
		__atomic_add_fetch(&s->sent, 1, __ATOMIC_SEQ_CST);
		if (amd_iommu_device_interrupt(c->iommu, CHURN_DEVID, 0)) {
			sim_fail(s, "churn: device interrupt not posted");
			ok = false;
		}
		vcpu_unblocking(vc[0]);
		vec = vlapic_accept(avic_vcpu_backing(vc[0]));
		if (ok && vec != (int)CHURN_VECTOR) {
			sim_fail(s, "churn: vector %d taken, 0x%x posted", vec, CHURN_VECTOR);
			ok = false;
		}
		if (ok) {
			vlapic_eoi(avic_vcpu_backing(vc[0]));
			__atomic_add_fetch(&s->delivered, 1, __ATOMIC_SEQ_CST);
		}
	}
	/*
	 * Give the notifier a random head start, from none to a few time
	 * slices, so that its look-up lands before, during and after the
	 * VM leaves the lookup.  (Seeded runs have one thread: no waiting.)
	 */
	for (uint64_t k = sim_rand(&d->rng) % 64; !s->o->deterministic && k &&
	     __atomic_load_n(&c->pending, __ATOMIC_ACQUIRE); k--)
		sched_yield();
	for (uint32_t i = 0; i < vm_nr_vcpus(vm); i++)
		vcpu_put(vm_get_vcpu(vm, i));
	/* Leaves the GA-tag lookup first, then detaches the IRTEs, then frees. */
	vm_destroy(vm);
	__atomic_add_fetch(&s->vms_destroyed, 1, __ATOMIC_RELAXED);
	if (ok)
		WRITE_ONCE(d->to_send, d->to_send - 1);
	return ok;
}

/* Device 1: the GA-log interrupt thread, running behind the IOMMU. */
static bool churn_notifier_step(struct sim_device *d)
{
	struct churn *c = d->s->wl_state;

	if (!__atomic_exchange_n(&c->pending, 0, __ATOMIC_ACQ_REL))
		return false;
	avic_ga_log_process(c->log);
	return true;
}

static bool churn_device_step(struct sim_device *d)
{
	return d->idx ? churn_notifier_step(d) : churn_cycle(d);
}

static bool churn_device_done(struct sim_device *d)
{
	struct churn *c = d->s->wl_state;

	if (d->idx)
		return !READ_ONCE(d->s->devs[0].to_send) &&
		       !__atomic_load_n(&c->pending, __ATOMIC_ACQUIRE);
	return !READ_ONCE(d->to_send);
}

static bool always_done(struct sim_vcpu *v)
{
	(void)v;
	return true;
}

static bool no_device_step(struct sim_device *d)
{
	(void)d;
	return false;
}

static bool no_device_done(struct sim_device *d)
{
	(void)d;
	return true;
}

static const struct sim_workload workloads[] = {
	{ .name = "ipi-pingpong", .arch = VM_ARCH_AVIC, .devices = 0, .setup_vm = NULL,
	  .guest_step = pingpong_step, .on_irq = pingpong_irq, .device_step = no_device_step,
	  .device_done = no_device_done, .vcpu_done = pingpong_done },
	{ .name = "ipi-all-to-all", .arch = VM_ARCH_AVIC, .devices = 0, .setup_vm = NULL,
	  .guest_step = all_to_all_step, .on_irq = credit_to_sender, .device_step = no_device_step,
	  .device_done = no_device_done, .vcpu_done = sender_done },
	{ .name = "broadcast", .arch = VM_ARCH_AVIC, .devices = 0, .setup_vm = NULL,
	  .guest_step = broadcast_step, .on_irq = broadcast_irq, .device_step = no_device_step,
	  .device_done = no_device_done, .vcpu_done = broadcast_done },
	{ .name = "logical-cluster", .arch = VM_ARCH_AVIC, .devices = 0, .setup_vm = cluster_setup,
	  .guest_step = cluster_step, .on_irq = credit_to_sender, .device_step = no_device_step,
	  .device_done = no_device_done, .vcpu_done = sender_done },
	{ .name = "self-ipi", .arch = VM_ARCH_AVIC, .devices = 0, .setup_vm = NULL,
	  .guest_step = self_step, .on_irq = credit_to_sender, .device_step = no_device_step,
	  .device_done = no_device_done, .vcpu_done = self_done },
	{ .name = "churn", .arch = VM_ARCH_AVIC, .devices = 2, .setup_vm = NULL,
	  .guest_step = all_to_all_step, .on_irq = credit_to_sender, .device_step = churn_device_step,
	  .device_done = churn_device_done, .vcpu_done = sender_done,
	  .setup_run = churn_setup, .teardown_run = churn_teardown, .sync = churn_sync },
	{ .name = "gicv5-spi", .arch = VM_ARCH_GICV5, .devices = 2, .setup_vm = gic_setup,
	  .guest_step = gic_guest_step, .on_irq = gic_irq, .device_step = gic_device_step,
	  .device_done = gic_device_done, .vcpu_done = always_done },
	{ .name = "gicv5-lpi", .arch = VM_ARCH_GICV5, .devices = 2, .setup_vm = gic_setup,
	  .guest_step = gic_guest_step, .on_irq = gic_irq, .device_step = gic_device_step,
	  .device_done = gic_device_done, .vcpu_done = always_done },
};

static const char *const names[] = {
	"ipi-pingpong", "ipi-all-to-all", "broadcast", "logical-cluster", "self-ipi",
	"churn", "device-storm", "gicv5-spi", "gicv5-lpi", NULL,
};

const char *const *sim_workloads(void)
{
	return names;
}

const struct sim_workload *sim_find_workload(const char *name)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(workloads); i++)
		if (!strcmp(workloads[i].name, name))
			return &workloads[i];
	if (!strcmp(name, sim_device_storm.name))
		return &sim_device_storm;
	return NULL;
}
