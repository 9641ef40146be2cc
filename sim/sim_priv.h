/* SPDX-License-Identifier: MIT */
/* sim/ internals: the machine, its vCPUs and devices, the workload hooks. */
#ifndef VINTC_SIM_PRIV_H
#define VINTC_SIM_PRIV_H

#include <pthread.h>

#include <vintc/avic.h>
#include <vintc/sim.h>
#include <vintc/vgic_v5.h>

#define SIM_VECTOR_BASE   0x30U		/* vector = base + sender's local index */
#define SIM_MAX_SENDERS   (256U - SIM_VECTOR_BASE)
#define SIM_MAX_SECONDS   (7ULL * 24 * 3600)	/* opts.seconds: a week */

enum sim_ev {
	SIM_EV_RUN_BEGIN, SIM_EV_RUN_END, SIM_EV_IRQ, SIM_EV_SEND,
	SIM_EV_DOORBELL, SIM_EV_GA_LOG, SIM_EV_WAKE,
};

struct sim_event {
	uint64_t ts;
	uint32_t type, arg;
};

struct sim_trace {
	struct host_mutex lock;
	struct sim_event *ev;
	size_t n, cap;
};

struct sim_vm;
struct sim;

struct sim_vcpu {
	struct sim *s;
	struct sim_vm *svm;
	struct vcpu *vcpu;
	uint32_t idx, local;		/* global index, index in its VM */
	int cpu;
	bool halted;			/* deterministic: inside the blocking protocol */
	bool hlt;			/* deterministic: HLT executed, blocking next */
	uint32_t halt_seq;
	uint64_t rng;
	/* workload state, owned by this vCPU's thread (or the scheduler) */
	uint64_t to_send, next;
	uint32_t pending_acks;		/* broadcast: replies still due */
	uint32_t *credit;		/* per local target: 1 = the last message was taken */
	uint64_t received;
	uint64_t *lat;			/* latency samples */
	size_t nlat, caplat;
	struct sim_trace trace;
	pthread_t thread;
};

struct sim_vm {
	struct vm *vm;
	struct sim_vcpu **v;
	uint32_t n;
	uint16_t gic_vm_id;
	uint64_t *send_ts;		/* [target local * n + sender local] */
};

struct sim_device {
	struct sim *s;
	uint32_t idx;
	uint64_t to_send, next, rng;
	uint32_t *credit;		/* per global vCPU */
	pthread_t thread;
};

struct sim_workload {
	const char *name;
	enum vm_arch arch;
	uint32_t devices;		/* device entities per run */
	/* Per-VM guest setup after the vCPUs exist (LDR/DFR, vINT config). */
	int (*setup_vm)(struct sim *s, struct sim_vm *svm);
	/*
	 * One guest action: 1 done, 0 nothing to do until an interrupt comes
	 * (the vCPU halts), -1 waiting for something that is not an
	 * interrupt (the vCPU spins).
	 */
	int (*guest_step)(struct sim_vcpu *v);
	/* The guest's interrupt handler for an interrupt from `sender`. */
	void (*on_irq)(struct sim_vcpu *v, uint32_t sender);
	/* One device action; false when the device has nothing to do now. */
	bool (*device_step)(struct sim_device *d);
	bool (*device_done)(struct sim_device *d);
	bool (*vcpu_done)(struct sim_vcpu *v);
	/* Optional: whole-run setup once every vCPU is loaded, teardown after
	 * the VMs are gone, and a refresh of counters kept by a model. */
	int (*setup_run)(struct sim *s);
	void (*teardown_run)(struct sim *s);
	void (*sync)(struct sim *s);
};

struct sim {
	const struct sim_opts *o;
	const struct sim_workload *wl;
	struct sim_vm *vms;
	struct sim_vcpu *vcpus;
	struct sim_device *devs;
	uint32_t nvms, nvcpus, ndevs;
	/* Senders and receivers on different cores: one cache line each. */
	uint64_t sent __attribute__((aligned(64)));
	uint64_t delivered __attribute__((aligned(64)));
	uint64_t merged __attribute__((aligned(64)));
	uint64_t causes[5];
	uint64_t clock;			/* deterministic: logical time */
	uint64_t rng;
	uint32_t stop;
	uint64_t doorbells0, wakeups0;
	struct gicv5_irs *irs;
	struct vgic_v5_host *gh;
	void *wl_state;			/* the workload's own, for the run */
	uint64_t ga_log_entries, ga_log_unknown;
	uint64_t vms_created, vms_destroyed;	/* long-lived and churned */
	char failure[256];
	struct host_mutex fail_lock;
	bool tracing;
};

/* sim/services.c: what workloads call back into; it calls nothing in sim/. */
uint64_t sim_now(struct sim *s);
uint64_t sim_rand(uint64_t *state);
void sim_trace(struct sim_vcpu *v, enum sim_ev type, uint32_t arg);
void sim_fail(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* AVIC: the guest on v writes ICR; `targets` local vCPU indexes it names. */
void sim_avic_send(struct sim_vcpu *v, uint64_t icr, const uint32_t *targets, uint32_t n);
/* Stamp a message's send time; count it as sent too. */
void sim_stamp(struct sim *s, struct sim_vm *svm, uint32_t target, uint32_t sender);
void sim_count_sent(struct sim *s, struct sim_vm *svm, uint32_t target, uint32_t sender);

/* sim/workloads.c, sim/storm.c and sim/trace.c, which sim/sim.c calls. */
const struct sim_workload *sim_find_workload(const char *name);
extern const struct sim_workload sim_device_storm;
int sim_trace_write(struct sim *s, const char *path);

#endif
