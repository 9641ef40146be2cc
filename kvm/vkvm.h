/* SPDX-License-Identifier: MIT */
/*
 * The KVM engine's private structs: one machine (struct vkvm) and its
 * vCPUs (struct vkvm_cpu), and what kvm/vm.c, kvm/vcpu.c, kvm/run.c and
 * the devices (kvm/devices/) call of each other.  Private to kvm/.
 *
 *   run.c     one run: check the options, build the machine, start the
 *             vCPU threads, wait for the end, tear down
 *   vm.c      /dev/kvm, the VM, memslots, CPUID, boot-CPU state, AP start
 *   vcpu.c    the vCPU loop: KVM_RUN, exit dispatch, injection, events,
 *             halt and polling, kicks
 *   bus.c     port-I/O and MMIO ranges -> device handlers
 *   devices/  one file per device, listed in devices/devices.h
 */
#ifndef VINTC_KVM_VKVM_H
#define VINTC_KVM_VKVM_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vintc/kvm_run.h>

#include "bus.h"
#include "lapic.h"
#include "probe.h"
#include "trace.h"

#define NS_PER_S	1000000000ULL

struct vkvm;
struct kvm_run;
struct vkvm_irqchip_ops;

struct vkvm_cpu {
	struct vkvm *v;
	uint32_t idx;
	int fd;
	struct kvm_run *run;
	struct vcpu *vcpu;		/* the model's AVIC vCPU: the APIC */
	pthread_t self;			/* valid once has_self is set (release) */
	uint32_t has_self;
	bool parked;			/* AP not started: no KVM_RUN */
	bool wait_sipi;			/* parked after INIT: a STARTUP starts it */
	/*
	 * Blocked where only another vCPU can wake it (halted with IF = 0, or
	 * parked), and its wake_seq when it last found nothing to do: while
	 * every vCPU is stuck and none was woken since, the run can end.
	 */
	uint32_t stuck, stuck_seq;	/* atomic */
	uint64_t halt_poll_ns;		/* its halt-polling window (kvm/halt_poll.h) */
	uint64_t exits[VKVM_NR_EXIT_REASONS];
	uint64_t exits_other;
};

/* A device: made once per run, after the VM, before any vCPU runs. */
struct vkvm_device {
	const char *name;
	/* Only with this irqchip's machine; VKVM_NR_IRQCHIPS: with both. */
	int irqchip;
	/* Allocate state and register ranges on v->bus; 0 or -errno with why. */
	int (*create)(struct vkvm *v, void **state, char *why, size_t why_size);
	/* A vCPU thread is about to end (e.g. flush its output); may be NULL. */
	void (*cpu_exit)(void *state, struct vkvm_cpu *c);
	/* After every vCPU thread ended; may be NULL. */
	void (*destroy)(void *state);
};

#define VKVM_NR_IRQCHIPS	2
#define VKVM_MAX_DEVICES	16

struct vkvm {
	int kvm_fd, vm_fd;
	size_t run_size;
	uint8_t *ram;
	uint64_t ram_size;
	uint32_t nr;
	struct vkvm_cpu cpus[VKVM_MAX_CPUS];
	pthread_t threads[VKVM_MAX_CPUS];
	struct vkvm_lapic lapic;
	bool lapic_ready;
	bool kernel_chip;		/* VKVM_IRQCHIP_KERNEL: no lapic at all */
	struct vkvm_trace *trace;	/* NULL unless --trace */
	struct vkvm_msr_probe msrs;	/* what the userspace APIC serves as MSRs */
	uint64_t tsc_khz;		/* the guest TSC's rate, for TSC deadlines */
	uint64_t halt_poll_ns;
	const struct mboot_layout *lay;
	struct vkvm_result *r;
	sigset_t inside;		/* signal mask inside KVM_RUN */
	int out_fd;			/* the guest's console */
	bool has_input;			/* in_fd feeds COM1's receiver */
	int in_fd;

	struct vkvm_bus bus;
	uint32_t nr_devices;
	const struct vkvm_device *devices[VKVM_MAX_DEVICES];
	void *device_state[VKVM_MAX_DEVICES];
	/* The interrupt controller the machine's lines go to (kvm/irq.h). */
	const struct vkvm_irqchip_ops *irqchip;
	void *irqchip_state;

	/* How the run ended: the first end wins, then every vCPU stops. */
	pthread_mutex_t end_lock;
	bool ended;
	uint32_t stop;			/* atomic */
	uint32_t nr_stuck;		/* vCPUs with stuck set, atomic */
	int err;			/* KVM_RUN failed: -errno */
	char why[256];
};

__attribute__((format(printf, 4, 5)))
int vkvm_say(char *why, size_t why_size, int err, const char *fmt, ...);

/*
 * Guest RAM is [0, low) with low at most 3 GiB (MBOOT_LOW_RAM_END), the
 * rest from 4 GiB, as on a PC.  v->ram maps guest-physical 0 up to RAM's
 * last byte, hole included (never touched, so it costs nothing), so that
 * guest address a is always v->ram + a.
 */
static inline uint64_t vkvm_ram_low(uint64_t ram_size)
{
	return ram_size < MBOOT_LOW_RAM_END ? ram_size : MBOOT_LOW_RAM_END;
}

static inline uint64_t vkvm_ram_span(uint64_t ram_size)
{
	uint64_t low = vkvm_ram_low(ram_size);

	return ram_size == low ? low : MBOOT_HIGH_RAM_START + (ram_size - low);
}

static inline bool vkvm_is_ram(const struct vkvm *v, uint64_t gpa)
{
	return gpa < vkvm_ram_low(v->ram_size) ||
	       (gpa >= MBOOT_HIGH_RAM_START && gpa < vkvm_ram_span(v->ram_size));
}

static inline void vkvm_count(uint64_t *c)
{
	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

/* run.c: the end of a run, recorded once, then every vCPU stops. */
__attribute__((format(printf, 4, 5)))
void vkvm_end(struct vkvm *v, enum vkvm_end end, int status, const char *fmt, ...);
/*
 * The guest reset the machine (`how`: through what): this boot ends, and
 * the run boots the machine again unless opts.no_reboot.
 */
void vkvm_reset(struct vkvm *v, const char *how);
/* A host call failed: the run has no guest end and returns -err. */
void vkvm_fail(struct vkvm *v, int err, const char *what);
bool vkvm_stopping(struct vkvm *v);

/* vm.c */
int vkvm_open(char *why, size_t why_size);
int vkvm_vm_create(struct vkvm *v, char *why, size_t why_size);
/* Flat 32-bit protected mode at the entry, or long mode if lay->cr3 (bzImage 64-bit). */
int vkvm_vm_setup_bsp(struct vkvm_cpu *c, const struct mboot_layout *lay, char *why,
		      size_t why_size);
/* STARTUP vector V: real mode at V << 8 : 0, as after INIT.  0 or -errno. */
int vkvm_vm_start_ap(struct vkvm_cpu *c, uint8_t vector);
/* A guest WRMSR of IA32_APIC_BASE (the MSR filter's): 0, -EINVAL (#GP), or -errno. */
int vkvm_vm_write_apic_base(struct vkvm_cpu *c, uint64_t val);
void vkvm_vm_destroy(struct vkvm *v);

/* vcpu.c */
void vkvm_signals_setup(struct vkvm *v, sigset_t *saved);
/* Drop a kick that is pending outside KVM_RUN. */
void vkvm_kick_consume(void);
/* Signal vCPU idx out of KVM_RUN; only when inside it unless `always`. */
void vkvm_kick(struct vkvm *v, uint32_t idx, bool always);
/* The AVIC doorbell to host APIC ID h: guest vCPU h runs on host CPU h. */
void vkvm_doorbell(uint32_t host_apic_id, void *opaque);
void *vkvm_cpu_main(void *arg);
/* The vCPU's RIP for messages; 0 if KVM will not say. */
uint64_t vkvm_cpu_rip(struct vkvm_cpu *c);
/* The guest changed TPR through the APIC: CR8 follows before the next entry. */
void vkvm_cpu_tpr_changed(struct vkvm_cpu *c);
/* The userspace APIC asks that vCPU idx look at its events (lapic.kick). */
void vkvm_apic_kick(void *opaque, uint32_t idx);

/*
 * emulation.c: KVM could not emulate an instruction.  An INT3 becomes the
 * #BP it is and an FWAIT runs as the SDM says (true: run on); anything
 * else ends the run (false).
 */
bool vkvm_emulation_failure(struct vkvm_cpu *c);

/* What an FWAIT does with this CR0 and x87 status word (SDM order). */
enum vkvm_fwait {
	VKVM_FWAIT_RUN,		/* nothing pending: on to the next instruction */
	VKVM_FWAIT_NM,		/* CR0.MP and CR0.TS: #NM on the FWAIT */
	VKVM_FWAIT_MF,		/* FSW.ES and CR0.NE: #MF on the FWAIT */
	VKVM_FWAIT_FERR,	/* FSW.ES without CR0.NE: FERR#, not wired here */
};
enum vkvm_fwait vkvm_fwait_action(uint64_t cr0, uint16_t fsw);

/* devices/: make every device of this machine, then undo it. */
int vkvm_devices_create(struct vkvm *v, char *why, size_t why_size);
void vkvm_devices_cpu_exit(struct vkvm_cpu *c);
void vkvm_devices_destroy(struct vkvm *v);

#endif
