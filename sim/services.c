// SPDX-License-Identifier: MIT
/*
 * What a run's workloads (sim/workloads.c, sim/storm.c) call back into:
 * the guest's AVIC ICR write, send stamps and counts, the seeded random
 * numbers and clock, failing the run, the trace.  Kept apart from the
 * engine (sim/sim.c) so the calls go one way: sim.c calls the workloads,
 * the workloads call this file, and this file calls neither.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <vintc/avic_cpu.h>

#include "sim_priv.h"

uint64_t sim_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

uint64_t sim_now(struct sim *s)
{
	return s->o->deterministic ? READ_ONCE(s->clock) : host_now_ns();
}

void sim_fail(struct sim *s, const char *fmt, ...)
{
	va_list ap;

	host_mutex_lock(&s->fail_lock);
	if (!s->failure[0]) {
		va_start(ap, fmt);
		vsnprintf(s->failure, sizeof(s->failure), fmt, ap);
		va_end(ap);
	}
	host_mutex_unlock(&s->fail_lock);
	store_release(&s->stop, 1);
}

void sim_trace(struct sim_vcpu *v, enum sim_ev type, uint32_t arg)
{
	struct sim_trace *t = &v->trace;

	if (!v->s->tracing)
		return;
	host_mutex_lock(&t->lock);
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 1024;
		struct sim_event *ev = realloc(t->ev, cap * sizeof(*ev));

		if (!ev) {
			host_mutex_unlock(&t->lock);
			return;
		}
		t->ev = ev;
		t->cap = cap;
	}
	t->ev[t->n++] = (struct sim_event){ sim_now(v->s), type, arg };
	host_mutex_unlock(&t->lock);
}

void sim_stamp(struct sim *s, struct sim_vm *svm, uint32_t target, uint32_t sender)
{
	__atomic_store_n(&svm->send_ts[target * SIM_MAX_SENDERS + sender], sim_now(s),
			 __ATOMIC_RELEASE);
}

void sim_count_sent(struct sim *s, struct sim_vm *svm, uint32_t target, uint32_t sender)
{
	sim_stamp(s, svm, target, sender);
	__atomic_add_fetch(&s->sent, 1, __ATOMIC_SEQ_CST);
}

void sim_avic_send(struct sim_vcpu *v, uint64_t icr, const uint32_t *targets, uint32_t n)
{
	struct sim *s = v->s;
	struct avic_cpu_opts o = {
		/*
		 * The erratum is a missed IsRunning *change*; with IPIv off the
		 * table's IsRunning never changes (always 0), so the CPU reliably
		 * exits.  That is why KVM's workaround works.
		 */
		.erratum_1235 = s->o->erratum_1235 && !s->o->disable_ipiv,
		.current_host_apic_id = (uint32_t)host_cpu_apic_id(v->cpu),
	};
	struct avic_cpu_ipi out;
	int r;

	for (uint32_t i = 0; i < n; i++)
		sim_stamp(s, v->svm, targets[i], v->local);
	sim_trace(v, SIM_EV_SEND, n);
	r = avic_icr_write(v->vcpu, icr, &o, &out, NULL);
	if (r == 1) {
		sim_fail(s, "vCPU %u: ICR write not processed (AVIC off?)", v->idx);
		return;
	}
	/*
	 * Counted after the write, off the delivery's critical path.  Until
	 * then delivered can run ahead of sent, which never looks finished.
	 */
	__atomic_add_fetch(&s->sent, n, __ATOMIC_SEQ_CST);
	if (out.merged)
		__atomic_add_fetch(&s->merged, out.merged, __ATOMIC_SEQ_CST);
	if (out.exit_code && out.cause < ARRAY_SIZE(s->causes))
		__atomic_add_fetch(&s->causes[out.cause], 1, __ATOMIC_RELAXED);
	if (r)
		sim_fail(s, "vCPU %u: incomplete IPI cause %u failed", v->idx, out.cause);
}
