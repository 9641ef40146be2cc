// SPDX-License-Identifier: MIT
/*
 * The engine: builds the machine (VMs, vCPUs loaded on model host CPUs,
 * the IRS for GICv5), runs the workload free or seeded, checks that every
 * interrupt sent was observed once or merged architecturally, and tears
 * everything down again, counting what leaked.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <unistd.h>

#include <vintc/vlapic.h>

#include "sim_priv.h"

#define FREE_RUN_LIMIT_NS  (120ULL * 1000000000ULL)
#define DET_STALL_STEPS    2000000ULL
#define PROGRESS_DEFAULT_MS 200U
/* Seeded: the clock is read once every this many steps (a power of two). */
#define PROGRESS_STEPS     4096ULL

enum step { STEP_DID, STEP_WAIT, STEP_IDLE };


void sim_default_opts(struct sim_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->workload = "ipi-pingpong";
	o->vms = 1;
	o->vcpus = 4;
	o->host_cpus = 4;
	o->messages = 1000;
	o->watchdog_ms = 2000;
}

static void lat_add(struct sim_vcpu *v, uint64_t sample)
{
	if (v->nlat == v->caplat) {
		size_t cap = v->caplat ? v->caplat * 2 : 256;
		uint64_t *p = realloc(v->lat, cap * sizeof(*p));

		if (!p)
			return;
		v->lat = p;
		v->caplat = cap;
	}
	v->lat[v->nlat++] = sample;
}

/* The guest took an interrupt from `sender`: account it, run the handler. */
static void sim_irq(struct sim_vcpu *v, uint32_t sender)
{
	struct sim *s = v->s;
	uint64_t ts = __atomic_load_n(&v->svm->send_ts[v->local * SIM_MAX_SENDERS + sender],
				      __ATOMIC_ACQUIRE);
	uint64_t now = sim_now(s);

	lat_add(v, now >= ts ? now - ts : 0);
	v->received++;
	sim_trace(v, SIM_EV_IRQ, sender);
	s->wl->on_irq(v, sender);
	/* Counted last: the run may end the moment the totals balance. */
	__atomic_add_fetch(&s->delivered, 1, __ATOMIC_SEQ_CST);
}

/* ---- the vCPU ------------------------------------------------------------- */

static bool gic(const struct sim *s)
{
	return s->wl->arch == VM_ARCH_GICV5;
}

/*
 * The sender an interrupt names indexes the send stamps and the
 * workload's per-sender state: one that no sender of this run could have
 * sent (a stray vector or INTID) is a failure, never an index.
 */
static void sim_irq_checked(struct sim_vcpu *v, uint32_t sender, uint32_t what)
{
	struct sim *s = v->s;
	/* GICv5: the devices; device-storm: sender 0; else this VM's vCPUs. */
	uint32_t senders = gic(s) ? s->ndevs : s->wl == &sim_device_storm ? 1 : v->svm->n;
	if (sender >= senders || sender >= SIM_MAX_SENDERS) {
		sim_fail(s, "vCPU %u took interrupt 0x%x, which no sender of this run sends",
			 v->idx, what);
		return;
	}
	sim_irq(v, sender);
}

static bool vcpu_take_irq(struct sim_vcpu *v)
{
	struct sim *s = v->s;
	int vec, intid;

	if (!gic(s)) {
		void *regs = avic_vcpu_backing(v->vcpu);

		vec = vlapic_accept(regs);
		if (vec < 0)
			return false;
		sim_irq_checked(v, vec < (int)SIM_VECTOR_BASE ? UINT32_MAX :
				   (uint32_t)vec - SIM_VECTOR_BASE, (uint32_t)vec);
		vlapic_eoi(regs);
		return true;
	}
	if (!vgic_v5_vcpu_resident(v->vcpu))
		return false;
	intid = gicv5_pe_ack(s->irs, (unsigned int)v->cpu);
	if (intid < 0)
		return false;
	sim_irq_checked(v, (uint32_t)FIELD_GET(GICV5_INTID_ID, (uint32_t)intid) / v->svm->n,
			(uint32_t)intid);
	gicv5_pe_eoi(s->irs, (unsigned int)v->cpu, (uint32_t)intid);
	return true;
}

static bool vcpu_pending(struct sim_vcpu *v)
{
	return v->vcpu->vm->ops->vcpu_has_interrupt(v->vcpu);
}

static void vcpu_enter(struct sim_vcpu *v)
{
	if (gic(v->s))
		vgic_v5_take_doorbell(v->vcpu);
	vcpu_set_mode(v->vcpu, VCPU_IN_GUEST_MODE);
	sim_trace(v, SIM_EV_RUN_BEGIN, 0);
}

static void vcpu_leave(struct sim_vcpu *v)
{
	sim_trace(v, SIM_EV_RUN_END, 0);
	vcpu_set_mode(v->vcpu, VCPU_OUTSIDE_GUEST_MODE);
}

/* One instruction boundary: an interrupt, or one guest action. */
static enum step vcpu_run_one(struct sim_vcpu *v)
{
	int r;

	if (vcpu_take_irq(v))
		return STEP_DID;
	r = v->s->wl->guest_step(v);
	if (r == 0 && v->s->o->spin && !load_acquire(&v->s->stop))
		return STEP_WAIT;	/* a guest that polls rather than halting */
	return r > 0 ? STEP_DID : r == 0 ? STEP_IDLE : STEP_WAIT;
}

/* Free mode: halt through the hypervisor's blocking protocol. */
static void vcpu_halt_free(struct sim_vcpu *v)
{
	struct sim *s = v->s;
	uint64_t watchdog = s->o->watchdog_ms * 1000000ULL;

	bool recheck = !s->o->omit_recheck;

	vcpu_leave(v);
	vcpu_blocking(v->vcpu);
	for (;;) {
		uint32_t seq = load_acquire(&v->vcpu->wake_seq);

		if ((recheck && vcpu_pending(v)) || load_acquire(&s->stop))
			break;
		recheck = true;
		if (host_futex_wait(&v->vcpu->wake_seq, seq, watchdog) == -ETIMEDOUT &&
		    vcpu_pending(v) && load_acquire(&v->vcpu->wake_seq) == seq) {
			sim_fail(s, "lost wake-up: vCPU %u halted %" PRIu64 " ms with an interrupt pending "
				 "(table entry 0x%016" PRIx64 ")", v->idx, s->o->watchdog_ms,
				 gic(s) ? 0 : avic_vcpu_table_entry(v->vcpu));
			break;
		}
	}
	vcpu_unblocking(v->vcpu);
	sim_trace(v, SIM_EV_WAKE, 0);
	vcpu_enter(v);
}

static void *vcpu_thread(void *arg)
{
	struct sim_vcpu *v = arg;
	struct sim *s = v->s;

	unsigned int waits = 0;

	vcpu_enter(v);
	while (!load_acquire(&s->stop)) {
		switch (vcpu_run_one(v)) {
		case STEP_DID:
			waits = 0;
			break;
		case STEP_WAIT:
			/* Poll like a guest in a pause loop; give the core up now and then. */
			if (++waits % 256 == 0)
				sched_yield();
			else
				host_cpu_relax();
			break;
		case STEP_IDLE:
			vcpu_halt_free(v);
			break;
		}
	}
	vcpu_leave(v);
	return NULL;
}

/* Deterministic mode: the same protocol, one step at a time. */
static bool vcpu_runnable(struct sim_vcpu *v)
{
	return !v->halted || load_acquire(&v->vcpu->wake_seq) != v->halt_seq;
}

static bool vcpu_step_det(struct sim_vcpu *v)
{
	if (v->halted) {
		v->halt_seq = load_acquire(&v->vcpu->wake_seq);
		if (!vcpu_pending(v))
			return false;		/* a wake with nothing to take */
		vcpu_unblocking(v->vcpu);
		v->halted = false;
		sim_trace(v, SIM_EV_WAKE, 0);
		vcpu_enter(v);
		return true;
	}
	if (v->hlt) {
		/*
		 * The second half of HLT: the hypervisor's blocking path.  Other
		 * vCPUs and devices may have run since the guest decided to halt,
		 * seeing IsRunning = 1 still; the re-check is what catches them.
		 */
		v->hlt = false;
		vcpu_blocking(v->vcpu);
		v->halt_seq = load_acquire(&v->vcpu->wake_seq);
		if (!v->s->o->omit_recheck && vcpu_pending(v)) {
			vcpu_unblocking(v->vcpu);
			vcpu_enter(v);
			return true;
		}
		v->halted = true;
		return true;
	}
	switch (vcpu_run_one(v)) {
	case STEP_DID:
		return true;
	case STEP_WAIT:
		return false;
	case STEP_IDLE:
		break;
	}
	/* The guest executes HLT: it leaves guest mode, the rest is a later step. */
	vcpu_leave(v);
	v->hlt = true;
	return true;
}

/* A preemption: the vCPU leaves its host CPU and comes back on another. */
static void vcpu_migrate(struct sim_vcpu *v, int cpu)
{
	vcpu_put(v->vcpu);
	v->cpu = cpu;
	vcpu_load(v->vcpu, cpu);
}

/* ---- progress ------------------------------------------------------------------ */

/* sim_opts.progress over the runs of one sim_run(). */
struct sim_prog {
	const struct sim_opts *o;
	struct sim_progress done;	/* the runs finished */
	uint64_t t0, next, interval;
};

static void sim_prog_init(struct sim_prog *pg, const struct sim_opts *o)
{
	memset(pg, 0, sizeof(*pg));
	pg->o = o;
	pg->t0 = host_now_ns();
	pg->next = pg->t0;
	pg->interval = (uint64_t)(o->progress_ms ? o->progress_ms : PROGRESS_DEFAULT_MS) * 1000000ULL;
	pg->done.total_ns = o->seconds * 1000000000ULL;
}

/*
 * Report, if one is due: the runs finished plus s, the one under way (or
 * NULL between runs).  Only reads the run: never changes what it does.
 */
static void sim_prog_tick(struct sim_prog *pg, struct sim *s)
{
	struct sim_progress p;
	uint64_t now;

	if (!pg->o->progress)
		return;
	now = host_now_ns();
	if (now < pg->next)
		return;
	pg->next = now + pg->interval;
	p = pg->done;
	if (s) {
		uint64_t sent = __atomic_load_n(&s->sent, __ATOMIC_SEQ_CST);
		uint64_t delivered = __atomic_load_n(&s->delivered, __ATOMIC_SEQ_CST);

		/*
		 * An IPI is counted as sent after the ICR write (sim_avic_send),
		 * so a free-running snapshot can see its delivery first.
		 */
		p.steps += s->clock;
		p.sent += sent;
		p.delivered += delivered < sent ? delivered : sent;
	}
	p.elapsed_ns = now - pg->t0;
	pg->o->progress(pg->o->progress_arg, &p);
}

/* A run has ended: its counts join the finished runs'. */
static void sim_prog_run_done(struct sim_prog *pg, const struct sim_result *r)
{
	pg->done.runs++;
	pg->done.steps += r->steps;
	pg->done.sent += r->sent;
	pg->done.delivered += r->delivered;
}

/* ---- running ------------------------------------------------------------------- */

static bool all_done(struct sim *s)
{
	if (s->wl->sync)
		s->wl->sync(s);
	for (uint32_t i = 0; i < s->ndevs; i++)
		if (!s->wl->device_done(&s->devs[i]))
			return false;
	for (uint32_t i = 0; i < s->nvcpus; i++)
		if (!s->wl->vcpu_done(&s->vcpus[i]))
			return false;
	return __atomic_load_n(&s->sent, __ATOMIC_SEQ_CST) ==
	       __atomic_load_n(&s->delivered, __ATOMIC_SEQ_CST) +
	       __atomic_load_n(&s->merged, __ATOMIC_SEQ_CST);
}

static void *device_thread(void *arg)
{
	struct sim_device *d = arg;
	struct sim *s = d->s;

	while (!load_acquire(&s->stop) && !s->wl->device_done(d))
		if (!s->wl->device_step(d))
			sched_yield();
	return NULL;
}

static void run_free(struct sim *s, struct sim_prog *pg)
{
	uint64_t deadline = host_now_ns() + FREE_RUN_LIMIT_NS;

	for (uint32_t i = 0; i < s->nvcpus; i++)
		pthread_create(&s->vcpus[i].thread, NULL, vcpu_thread, &s->vcpus[i]);
	for (uint32_t i = 0; i < s->ndevs; i++)
		pthread_create(&s->devs[i].thread, NULL, device_thread, &s->devs[i]);
	while (!load_acquire(&s->stop) && !all_done(s)) {
		if (host_now_ns() > deadline) {
			sim_fail(s, "did not finish in %llu s: sent %" PRIu64 ", delivered %" PRIu64,
				 FREE_RUN_LIMIT_NS / 1000000000ULL, s->sent, s->delivered);
			break;
		}
		sim_prog_tick(pg, s);
		usleep(1000);
	}
	store_release(&s->stop, 1);
	for (uint32_t i = 0; i < s->nvcpus; i++)
		vcpu_wake(s->vcpus[i].vcpu);
	for (uint32_t i = 0; i < s->nvcpus; i++)
		pthread_join(s->vcpus[i].thread, NULL);
	for (uint32_t i = 0; i < s->ndevs; i++)
		pthread_join(s->devs[i].thread, NULL);
}

static void report_stuck(struct sim *s)
{
	for (uint32_t i = 0; i < s->nvcpus; i++) {
		struct sim_vcpu *v = &s->vcpus[i];

		if (v->halted && vcpu_pending(v)) {
			sim_fail(s, "lost wake-up: vCPU %u blocked with an interrupt pending and "
				 "nothing left to run (step %" PRIu64 ", table entry 0x%016" PRIx64 ")",
				 v->idx, s->clock, gic(s) ? 0 : avic_vcpu_table_entry(v->vcpu));
			return;
		}
	}
	sim_fail(s, "stalled at step %" PRIu64 ": sent %" PRIu64 ", delivered %" PRIu64
		 ", merged %" PRIu64, s->clock, s->sent, s->delivered, s->merged);
}

static void run_det(struct sim *s, struct sim_prog *pg)
{
	uint32_t n = s->nvcpus + s->ndevs;
	uint32_t *pick = calloc(n, sizeof(*pick));
	uint64_t last_progress = 0;

	if (!pick) {
		sim_fail(s, "out of memory");
		return;
	}
	/* Every vCPU starts in guest mode, as its thread does in free mode. */
	for (uint32_t i = 0; i < s->nvcpus; i++)
		vcpu_enter(&s->vcpus[i]);
	while (!s->stop && !all_done(s)) {
		uint32_t nr = 0, e;

		for (uint32_t i = 0; i < s->nvcpus; i++)
			if (vcpu_runnable(&s->vcpus[i]))
				pick[nr++] = i;
		for (uint32_t i = 0; i < s->ndevs; i++)
			if (!s->wl->device_done(&s->devs[i]))
				pick[nr++] = s->nvcpus + i;
		if (!nr || s->clock - last_progress > DET_STALL_STEPS) {
			report_stuck(s);
			break;
		}
		e = pick[sim_rand(&s->rng) % nr];
		s->clock++;
		if (!(s->clock & (PROGRESS_STEPS - 1)))
			sim_prog_tick(pg, s);
		if (e >= s->nvcpus) {
			if (s->wl->device_step(&s->devs[e - s->nvcpus]))
				last_progress = s->clock;
			continue;
		}
		/* Now and then the host preempts a running vCPU and migrates it. */
		if (!gic(s) && !s->vcpus[e].halted && sim_rand(&s->rng) % 64 == 0)
			vcpu_migrate(&s->vcpus[e], (int)(sim_rand(&s->rng) % s->o->host_cpus));
		if (vcpu_step_det(&s->vcpus[e]))
			last_progress = s->clock;
	}
	/* Close the running slices of the vCPUs the run ended in guest mode. */
	for (uint32_t i = 0; i < s->nvcpus; i++)
		if (load_acquire(&s->vcpus[i].vcpu->mode) == VCPU_IN_GUEST_MODE)
			vcpu_leave(&s->vcpus[i]);
	free(pick);
}

/* ---- building and tearing down ---------------------------------------------------- */

static void doorbell_seen(uint32_t host_apic_id, void *opaque)
{
	struct sim *s = opaque;
	int cpu;

	if (!s->tracing)
		return;		/* polling vCPUs look at IRR anyway */
	cpu = host_cpu_from_apic_id(host_apic_id);
	for (uint32_t i = 0; i < s->nvcpus; i++)
		if (s->vcpus[i].cpu == cpu &&
		    load_acquire(&s->vcpus[i].vcpu->mode) == VCPU_IN_GUEST_MODE)
			sim_trace(&s->vcpus[i], SIM_EV_DOORBELL, host_apic_id);
}

static int build_gic(struct sim *s)
{
	struct gicv5_irs_config cfg;
	int r;

	gicv5_irs_default_config(&cfg);
	if (cfg.nr_pes < s->o->host_cpus)
		cfg.nr_pes = s->o->host_cpus;
	r = gicv5_irs_create(&cfg, &s->irs);
	if (!r)
		r = vgic_v5_probe(s->irs, NULL, &s->gh);
	return r;
}

static int build(struct sim *s)
{
	const struct sim_opts *o = s->o;
	uint32_t g = 0;
	int r;

	r = host_cpus_set(o->host_cpus, NULL);
	if (!r && gic(s))
		r = build_gic(s);
	if (r)
		return r;
	s->vms = calloc(s->nvms, sizeof(*s->vms));
	s->vcpus = calloc(s->nvcpus, sizeof(*s->vcpus));
	s->devs = calloc(s->ndevs ? s->ndevs : 1, sizeof(*s->devs));
	if (!s->vms || !s->vcpus || !s->devs)
		return -ENOMEM;
	for (uint32_t m = 0; m < s->nvms; m++) {
		struct sim_vm *svm = &s->vms[m];
		struct vm_config cfg = {
			.arch = s->wl->arch,
			.max_vcpus = o->vcpus,
			.avic = { .model = o->model, .disable_ipiv = o->disable_ipiv,
				  .omit_blocking_barrier = o->omit_blocking_barrier },
			.gicv5 = { .host = s->gh },
		};

		r = vm_create(&cfg, &svm->vm);
		if (r)
			return r;
		__atomic_add_fetch(&s->vms_created, 1, __ATOMIC_RELAXED);
		svm->n = o->vcpus;
		svm->v = calloc(o->vcpus, sizeof(*svm->v));
		svm->send_ts = calloc((size_t)o->vcpus * SIM_MAX_SENDERS, sizeof(uint64_t));
		if (!svm->v || !svm->send_ts)
			return -ENOMEM;
		for (uint32_t i = 0; i < o->vcpus; i++, g++) {
			struct sim_vcpu *v = &s->vcpus[g];

			v->s = s;
			v->svm = svm;
			v->idx = g;
			v->local = i;
			v->cpu = (int)(g % o->host_cpus);
			v->rng = o->seed * 1000003ULL + g;
			v->to_send = o->messages;
			host_mutex_init(&v->trace.lock);
			v->credit = calloc(o->vcpus, sizeof(*v->credit));
			if (!v->credit)
				return -ENOMEM;
			for (uint32_t t = 0; t < o->vcpus; t++)
				v->credit[t] = 1;
			r = vcpu_create(svm->vm, i, &v->vcpu);
			if (r)
				return r;
			svm->v[i] = v;
		}
		if (gic(s)) {
			r = vgic_v5_init(svm->vm);
			if (r)
				return r;
			svm->gic_vm_id = (uint16_t)vgic_v5_vm_id(svm->vm);
		}
		for (uint32_t i = 0; i < o->vcpus; i++) {
			r = vcpu_load(svm->v[i]->vcpu, svm->v[i]->cpu);
			if (r)
				return r;
		}
		if (s->wl->setup_vm) {
			r = s->wl->setup_vm(s, svm);
			if (r)
				return r;
		}
	}
	if (s->wl->setup_run) {
		r = s->wl->setup_run(s);
		if (r)
			return r;
	}
	for (uint32_t d = 0; d < s->ndevs; d++) {
		s->devs[d].s = s;
		s->devs[d].idx = d;
		s->devs[d].rng = o->seed * 7919ULL + d + 1;
		s->devs[d].to_send = o->messages;
		s->devs[d].credit = calloc(s->nvcpus, sizeof(uint32_t));
		if (!s->devs[d].credit)
			return -ENOMEM;
		for (uint32_t i = 0; i < s->nvcpus; i++)
			s->devs[d].credit[i] = 1;
	}
	return 0;
}

static void teardown(struct sim *s)
{
	for (uint32_t i = 0; s->vcpus && i < s->nvcpus; i++) {
		struct sim_vcpu *v = &s->vcpus[i];

		if (v->vcpu) {
			if (v->halted)
				vcpu_unblocking(v->vcpu);
			vcpu_put(v->vcpu);
		}
		free(v->credit);
		free(v->lat);
		free(v->trace.ev);
	}
	for (uint32_t m = 0; s->vms && m < s->nvms; m++) {
		if (s->vms[m].vm)
			s->vms_destroyed++;
		vm_destroy(s->vms[m].vm);
		free(s->vms[m].v);
		free(s->vms[m].send_ts);
	}
	if (s->wl->teardown_run)
		s->wl->teardown_run(s);
	for (uint32_t d = 0; s->devs && d < s->ndevs; d++)
		free(s->devs[d].credit);
	if (s->gh)
		vgic_v5_remove(s->gh);
	if (s->irs)
		gicv5_irs_destroy(s->irs);
	free(s->vms);
	free(s->vcpus);
	free(s->devs);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void latency(struct sim *s, struct sim_result *r)
{
	size_t n = 0, k = 0;
	uint64_t *all;

	for (uint32_t i = 0; i < s->nvcpus; i++)
		n += s->vcpus[i].nlat;
	if (!n || !(all = malloc(n * sizeof(*all))))
		return;
	for (uint32_t i = 0; i < s->nvcpus; i++) {
		if (!s->vcpus[i].nlat)
			continue;
		memcpy(all + k, s->vcpus[i].lat, s->vcpus[i].nlat * sizeof(*all));
		k += s->vcpus[i].nlat;
	}
	qsort(all, n, sizeof(*all), cmp_u64);
	r->lat_p50 = all[n / 2];
	r->lat_p99 = all[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1];
	r->lat_max = all[n - 1];
	free(all);
}

/* One machine: build, run, tear down.  Options already checked. */
static int sim_run_once(const struct sim_opts *o, const struct sim_workload *wl,
			struct sim_result *r, struct sim_prog *pg)
{
	struct host_mem_stats before = host_mem_stats(HOST_TAG_NR), after;
	struct sim s = { .o = o, .wl = wl };
	uint64_t t0;
	int ret;

	memset(r, 0, sizeof(*r));
	snprintf(r->workload, sizeof(r->workload), "%s", o->workload);
	s.nvms = o->vms;
	s.nvcpus = o->vms * o->vcpus;
	s.ndevs = s.wl->devices;
	s.rng = o->seed ^ 0x5EEDULL;
	s.tracing = o->trace_path != NULL;
	host_mutex_init(&s.fail_lock);
	s.doorbells0 = host_doorbell_count();
	host_doorbell_set_handler(doorbell_seen, &s);

	ret = build(&s);
	if (!ret) {
		t0 = host_now_ns();
		if (o->deterministic)
			run_det(&s, pg);
		else
			run_free(&s, pg);
		r->seconds = (double)(host_now_ns() - t0) / 1e9;
	}
	host_doorbell_set_handler(NULL, NULL);
	r->sent = s.sent;
	r->delivered = s.delivered;
	r->merged = s.merged;
	r->lost = s.sent - s.delivered - s.merged;
	r->doorbells = host_doorbell_count() - s.doorbells0;
	memcpy(r->incomplete_ipi, s.causes, sizeof(r->incomplete_ipi));
	for (uint32_t i = 0; s.vcpus && i < s.nvcpus; i++) {
		if (!s.vcpus[i].vcpu)
			continue;
		r->wakeups += s.vcpus[i].vcpu->wakeups;
		/* GICv5 doorbells are host LPIs, not the AVIC doorbell MSR. */
		if (gic(&s))
			r->doorbells += vgic_v5_vcpu_doorbells(s.vcpus[i].vcpu);
	}
	r->steps = s.clock;
	r->ga_log_entries = s.ga_log_entries;
	r->ga_log_unknown = s.ga_log_unknown;
	latency(&s, r);
	if (!ret && o->trace_path && sim_trace_write(&s, o->trace_path))
		sim_fail(&s, "cannot write the trace to %s", o->trace_path);
	snprintf(r->failure, sizeof(r->failure), "%s", s.failure);
	teardown(&s);
	r->runs = 1;
	r->vms_created = s.vms_created;
	r->vms_destroyed = s.vms_destroyed;
	after = host_mem_stats(HOST_TAG_NR);
	r->leaked_pages = after.pages - before.pages;
	r->leaked_bytes = after.bytes - before.bytes;
	if (!ret && !r->failure[0] && r->lost)
		snprintf(r->failure, sizeof(r->failure), "%" PRIu64 " interrupt(s) lost", r->lost);
	return ret;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* Soak: one run's counts onto the totals. */
static void sim_accumulate(struct sim_result *t, const struct sim_result *r)
{
	t->sent += r->sent;
	t->delivered += r->delivered;
	t->merged += r->merged;
	t->lost += r->lost;
	t->doorbells += r->doorbells;
	for (size_t i = 0; i < ARRAY_SIZE(t->incomplete_ipi); i++)
		t->incomplete_ipi[i] += r->incomplete_ipi[i];
	t->ga_log_entries += r->ga_log_entries;
	t->ga_log_unknown += r->ga_log_unknown;
	t->wakeups += r->wakeups;
	t->steps += r->steps;
	t->lat_p50 = max_u64(t->lat_p50, r->lat_p50);
	t->lat_p99 = max_u64(t->lat_p99, r->lat_p99);
	t->lat_max = max_u64(t->lat_max, r->lat_max);
	t->leaked_pages += r->leaked_pages;
	t->leaked_bytes += r->leaked_bytes;
	t->watchdog_fired |= r->watchdog_fired;
	t->runs += r->runs;
	t->vms_created += r->vms_created;
	t->vms_destroyed += r->vms_destroyed;
	if (!t->failure[0] && r->failure[0])
		snprintf(t->failure, sizeof(t->failure), "run %" PRIu64 ": %.200s", t->runs,
			 r->failure);
}

int sim_run(const struct sim_opts *o, struct sim_result *r)
{
	const struct sim_workload *wl;
	struct sim_opts each;
	struct sim_result one;
	struct sim_prog pg;
	uint64_t t0, end;
	int ret;

	memset(r, 0, sizeof(*r));
	if (!o || !o->workload)
		return -EINVAL;
	wl = sim_find_workload(o->workload);
	if (!wl)
		return -ENOENT;
	if (!o->vms || !o->vcpus || !o->host_cpus || o->vcpus > SIM_MAX_SENDERS ||
	    o->host_cpus > HOST_MAX_CPUS || (uint64_t)o->vms * o->vcpus > 4096 ||
	    !o->watchdog_ms || o->seconds > SIM_MAX_SECONDS)
		return -EINVAL;
	if (wl->arch == VM_ARCH_GICV5 && (uint64_t)o->vms * o->vcpus > o->host_cpus)
		return -EINVAL;		/* a VPE is resident on one PE at a time */
	sim_prog_init(&pg, o);
	if (!o->seconds)
		return sim_run_once(o, wl, r, &pg);

	/* Soak: whole machines, one after another, until the time is up. */
	each = *o;
	t0 = host_now_ns();
	end = t0 + o->seconds * 1000000000ULL;
	snprintf(r->workload, sizeof(r->workload), "%s", o->workload);
	do {
		ret = sim_run_once(&each, wl, &one, &pg);
		if (ret)
			return ret;
		sim_accumulate(r, &one);
		sim_prog_run_done(&pg, &one);
		sim_prog_tick(&pg, NULL);
		each.seed++;
	} while (!r->failure[0] && !r->lost && !r->leaked_pages && !r->leaked_bytes &&
		 host_now_ns() < end);
	r->seconds = (double)(host_now_ns() - t0) / 1e9;
	return 0;
}

int sim_result_json(const struct sim_result *r, char *buf, size_t len)
{
	int n = snprintf(buf, len,
		"{\"workload\":\"%s\",\"sent\":%" PRIu64 ",\"delivered\":%" PRIu64
		",\"merged\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"doorbells\":%" PRIu64
		",\"incomplete_ipi\":{\"invalid_int_type\":%" PRIu64 ",\"target_not_running\":%" PRIu64
		",\"invalid_target\":%" PRIu64 ",\"invalid_backing_page\":%" PRIu64
		",\"invalid_ipi_vector\":%" PRIu64 "},\"ga_log_entries\":%" PRIu64
		",\"wakeups\":%" PRIu64 ",\"latency_ns\":{\"p50\":%" PRIu64 ",\"p99\":%" PRIu64
		",\"max\":%" PRIu64 "},\"leaked_pages\":%" PRIu64 ",\"leaked_bytes\":%" PRIu64
		",\"runs\":%" PRIu64 ",\"vms_created\":%" PRIu64 ",\"vms_destroyed\":%" PRIu64
		",\"ga_log_unknown\":%" PRIu64 ",\"failure\":\"%s\"}",
		r->workload, r->sent, r->delivered, r->merged, r->lost, r->doorbells,
		r->incomplete_ipi[0], r->incomplete_ipi[1], r->incomplete_ipi[2],
		r->incomplete_ipi[3], r->incomplete_ipi[4], r->ga_log_entries, r->wakeups,
		r->lat_p50, r->lat_p99, r->lat_max, r->leaked_pages, r->leaked_bytes, r->runs,
		r->vms_created, r->vms_destroyed, r->ga_log_unknown, r->failure);

	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}
