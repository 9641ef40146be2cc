// SPDX-License-Identifier: MIT
/*
 * The vCPU loop: KVM_RUN, exit dispatch (ports and MMIO to the bus, MSRs
 * to the userspace APIC), interrupt injection, INIT/STARTUP/NMI events,
 * halt with polling, and kicks.
 *
 * Each vCPU thread is model host CPU `idx` and keeps its AVIC vCPU loaded
 * for the whole run, so the physical table's IsRunning bit means "not
 * halted".  Around KVM_RUN the vCPU's mode is IN_GUEST.  A doorbell the
 * silicon model rings for a running target becomes VKVM_KICK_SIGNAL to
 * that thread, but only while it is in IN_GUEST mode; a halted target
 * (IsRunning = 0) gets the not-running exit and a futex wake instead.
 *
 * The kick signal is blocked in every thread's own mask and unblocked only
 * inside KVM_RUN (KVM_SET_SIGNAL_MASK), so a kick arriving between the last
 * look at the APIC and KVM_RUN stays pending and makes KVM_RUN return
 * EINTR at once: no kick is lost.  The pending signal is then consumed
 * with sigtimedwait, or every later KVM_RUN would fail the same way.
 *
 * With --irqchip=kernel (KVM's own LAPIC) there is nothing to inject or
 * park: KVM keeps an AP in its wait-for-SIPI state inside KVM_RUN.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include <vintc/avic.h>

#include "halt_poll.h"
#include "irq.h"
#include "vkvm.h"

#ifdef __x86_64__

#include <linux/kvm.h>

static void kick_handler(int sig)
{
	(void)sig;	/* only there to make KVM_RUN return EINTR */
}

/* Drop a kick that is pending outside KVM_RUN, or KVM_RUN keeps failing. */
void vkvm_kick_consume(void)
{
	struct timespec zero = { 0, 0 };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, VKVM_KICK_SIGNAL);
	while (sigtimedwait(&set, NULL, &zero) == VKVM_KICK_SIGNAL)
		;
}

/*
 * Signal vCPU idx out of KVM_RUN.  Only when it is inside (mode
 * IN_GUEST): a vCPU outside looks at its APIC before it enters, and its
 * mode store is a full barrier, so either it sees what the caller
 * published or the caller sees IN_GUEST here.  `always` (stopping) skips
 * the mode check.
 */
void vkvm_kick(struct vkvm *v, uint32_t idx, bool always)
{
	struct vkvm_cpu *c = &v->cpus[idx];

	if (!load_acquire(&c->has_self))
		return;
	if (!always && (!v->lapic_ready ||
			load_acquire(&c->vcpu->mode) != VCPU_IN_GUEST_MODE))
		return;
	uint64_t t0 = host_now_ns();

	vkvm_count(&v->lapic.st.kicks);
	vkvm_trace_ev(v->trace, VKVM_EV_KICK, idx);
	pthread_kill(c->self, VKVM_KICK_SIGNAL);
	__atomic_add_fetch(&v->lapic.st.kick_ns, host_now_ns() - t0, __ATOMIC_RELAXED);
}

void vkvm_apic_kick(void *opaque, uint32_t idx)
{
	vkvm_kick(opaque, idx, false);
}

/* The AVIC doorbell to host APIC ID h: guest vCPU h runs on host CPU h. */
void vkvm_doorbell(uint32_t host_apic_id, void *opaque)
{
	struct vkvm *v = opaque;
	int cpu = host_cpu_from_apic_id(host_apic_id);

	if (cpu >= 0 && (uint32_t)cpu < v->nr) {
		vkvm_trace_ev(v->trace, VKVM_EV_DOORBELL, (uint32_t)cpu);
		vkvm_kick(v, (uint32_t)cpu, false);
	}
}

void vkvm_signals_setup(struct vkvm *v, sigset_t *saved)
{
	struct sigaction sa, old;
	sigset_t block;

	/* Keep a handler someone else installed; replace only the default (fatal) one. */
	if (sigaction(VKVM_KICK_SIGNAL, NULL, &old) == 0 && old.sa_handler == SIG_DFL) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = kick_handler;
		sigemptyset(&sa.sa_mask);
		sigaction(VKVM_KICK_SIGNAL, &sa, NULL);
	}
	/* Blocked here, so every thread started from now on inherits it. */
	sigemptyset(&block);
	sigaddset(&block, VKVM_KICK_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &block, saved);
	/* Inside KVM_RUN: the thread's mask without the kick signal. */
	v->inside = *saved;
	sigdelset(&v->inside, VKVM_KICK_SIGNAL);
}

static void count_exit(struct vkvm_cpu *c, uint32_t reason)
{
	if (reason < VKVM_NR_EXIT_REASONS)
		c->exits[reason]++;
	else
		c->exits_other++;
}

/* EIP for messages; 0 if KVM will not say. */
uint64_t vkvm_cpu_rip(struct vkvm_cpu *c)
{
	struct kvm_regs regs;

	if (ioctl(c->fd, KVM_GET_REGS, &regs) < 0)
		return 0;
	return regs.rip;
}

/*
 * INIT, STARTUP and NMI that the hypervisor path posted for this vCPU.
 * INIT resets the APIC and parks the vCPU until a STARTUP; a STARTUP to a
 * vCPU not waiting for one (the second of the pair) is ignored, as is an
 * NMI to a parked one.  Returns false if a KVM call failed.
 */
static bool take_events(struct vkvm_cpu *c)
{
	struct vkvm_lapic *l = &c->v->lapic;
	uint8_t vector = 0;
	uint32_t ev = avic_vcpu_take_events(c->vcpu, &vector);
	int ret;

	if (!ev)
		return true;
	/*
	 * A hardware-disabled APIC (IA32_APIC_BASE.EN = 0) takes no message
	 * from the bus: INIT, STARTUP and NMI sent to it are dropped, as KVM's
	 * LAPIC drops them.
	 */
	if (!(vkvm_lapic_base(l, c->idx) & MSR_IA32_APICBASE_ENABLE)) {
		(void)avic_vcpu_take_nmis(c->vcpu);
		return true;
	}
	if (ev & AVIC_EVENT_INIT) {
		vkvm_count(&l->st.inits);
		vkvm_trace_ev(c->v->trace, VKVM_EV_INIT, 0);
		vkvm_lapic_reset(l, c->idx);
		c->parked = true;
		c->wait_sipi = true;
	}
	if ((ev & AVIC_EVENT_SIPI) && c->wait_sipi) {
		vkvm_count(&l->st.sipis);
		vkvm_trace_ev(c->v->trace, VKVM_EV_SIPI, vector);
		ret = vkvm_vm_start_ap(c, vector);
		if (ret) {
			vkvm_fail(c->v, -ret, "starting an AP (KVM_SET_SREGS)");
			return false;
		}
		c->parked = false;
		c->wait_sipi = false;
	}
	if (ev & AVIC_EVENT_NMI) {
		/*
		 * One KVM_NMI per NMI posted, as KVM's LAPIC queues each; KVM
		 * then keeps what the CPU can hold (one in service, one
		 * latched), so more than two at once can never be taken and
		 * are not issued.  A parked vCPU drops them.
		 */
		uint32_t n = avic_vcpu_take_nmis(c->vcpu);

		if (c->parked)
			n = 0;
		for (uint32_t i = 0; i < n && i < 2; i++) {
			vkvm_count(&l->st.nmis);
			vkvm_trace_ev(c->v->trace, VKVM_EV_NMI, 0);
			if (ioctl(c->fd, KVM_NMI, 0) < 0) {
				vkvm_fail(c->v, errno, "KVM_NMI");
				return false;
			}
		}
	}
	return true;
}

static bool has_events(struct vkvm_cpu *c)
{
	return avic_vcpu_has_events(c->vcpu);
}

/*
 * Sleep until `ready` or a stop.  The blocking hook clears IsRunning and
 * is a full barrier, so a sender either sees the vCPU not running (and
 * takes the wake-up path, which bumps wake_seq) or we see its IRR bit or
 * event below.  The wake_seq snapshot is taken before looking, so a wake
 * between the look and the futex call makes the futex return at once.
 */
/*
 * Every vCPU stuck, none woken since it last looked and none with an
 * event to take: nothing is left that could wake one.  A vCPU that posts
 * an event bumps the target's wake_seq before it can block itself, and
 * the timer and devices raise only maskable interrupts, which a vCPU
 * halted with IF = 0 or parked does not take.
 */
static bool all_stuck(struct vkvm *v)
{
	if (__atomic_load_n(&v->nr_stuck, __ATOMIC_SEQ_CST) != v->nr)
		return false;
	for (uint32_t i = 0; i < v->nr; i++) {
		struct vkvm_cpu *o = &v->cpus[i];

		if (!__atomic_load_n(&o->stuck, __ATOMIC_SEQ_CST) ||
		    __atomic_load_n(&o->vcpu->wake_seq, __ATOMIC_SEQ_CST) !=
		    __atomic_load_n(&o->stuck_seq, __ATOMIC_SEQ_CST) ||
		    avic_vcpu_has_events(o->vcpu))
			return false;
	}
	return true;
}

static void block_until(struct vkvm_cpu *c, bool (*ready)(struct vkvm_cpu *c), bool stuck)
{
	struct vcpu *vcpu = c->vcpu;
	struct vkvm *v = c->v;

	vkvm_trace_ev(c->v->trace, VKVM_EV_HALT_BEGIN, 0);
	vcpu_blocking(vcpu);
	if (stuck) {
		__atomic_store_n(&c->stuck_seq, load_acquire(&vcpu->wake_seq) - 1, __ATOMIC_SEQ_CST);
		__atomic_store_n(&c->stuck, 1, __ATOMIC_SEQ_CST);
		__atomic_add_fetch(&v->nr_stuck, 1, __ATOMIC_SEQ_CST);
	}
	for (;;) {
		uint32_t seq = load_acquire(&vcpu->wake_seq);

		if (vkvm_stopping(c->v) || ready(c))
			break;
		if (stuck) {
			__atomic_store_n(&c->stuck_seq, seq, __ATOMIC_SEQ_CST);
			if (all_stuck(v)) {
				vkvm_end(v, VKVM_END_HALT, VKVM_STATUS_HALT,
					 "every vCPU is halted with interrupts off or waiting for INIT and STARTUP: nothing can wake them");
				break;
			}
		}
		/*
		 * Bounded by this vCPU's TSC deadline (it fires it itself),
		 * and otherwise only as a safety net: every wake-up path
		 * bumps wake_seq.
		 */
		host_futex_wait(&vcpu->wake_seq, seq,
				vkvm_lapic_timer_wait_ns(&c->v->lapic, c->idx, NS_PER_S));
	}
	if (stuck) {
		__atomic_sub_fetch(&v->nr_stuck, 1, __ATOMIC_SEQ_CST);
		__atomic_store_n(&c->stuck, 0, __ATOMIC_SEQ_CST);
	}
	vcpu_unblocking(vcpu);
	vkvm_trace_ev(c->v->trace, VKVM_EV_HALT_END, 0);
}

static bool halt_ready(struct vkvm_cpu *c)
{
	vkvm_lapic_timer_poll(&c->v->lapic, c->idx);
	/* With IF = 0 only an NMI or INIT ends a HLT. */
	if (c->run->if_flag && vkvm_lapic_deliverable(&c->v->lapic, c->idx))
		return true;
	return has_events(c);
}

static bool poll_ready(void *arg)
{
	struct vkvm_cpu *c = arg;

	return halt_ready(c) || vkvm_stopping(c->v);
}

/*
 * Halt polling, as KVM does before it blocks a vCPU: look for a wake-up
 * reason for up to this vCPU's window first (kvm/halt_poll.c sizes it and
 * stops early when the host has other work for the CPU).  The vCPU is
 * still loaded and not blocking, so IsRunning stays 1 and a sender's IPI
 * is accelerated (IRR and a doorbell, which outside KVM_RUN rings nobody)
 * instead of taking the not-running exit and a futex wake; the poll sees
 * the IRR bit.  The cost is a host CPU kept busy for the window.
 */
static bool halt_poll(struct vkvm_cpu *c)
{
	struct vkvm *v = c->v;
	enum vkvm_poll_end end = VKVM_POLL_TIMEOUT;

	if (!v->halt_poll_ns)
		return false;
	if (c->halt_poll_ns)
		end = vkvm_halt_poll_run(c->halt_poll_ns, poll_ready, c);
	if (end == VKVM_POLL_READY) {
		vkvm_count(&v->lapic.st.halt_polls);
		return true;
	}
	vkvm_count(&v->lapic.st.halt_poll_misses);
	if (end == VKVM_POLL_HOST_BUSY)
		vkvm_count(&v->lapic.st.halt_poll_yields);
	return false;
}

/* A HLT: poll, then block; the whole halt sizes the next poll. */
static void halt(struct vkvm_cpu *c)
{
	uint64_t t0 = host_now_ns();

	if (!halt_poll(c))
		block_until(c, halt_ready, !c->run->if_flag);
	c->halt_poll_ns = vkvm_halt_poll_next(c->halt_poll_ns, c->v->halt_poll_ns,
					      host_now_ns() - t0);
}

static bool park_ready(struct vkvm_cpu *c)
{
	/* Events are taken here, so a parked vCPU sleeps again after INIT. */
	if (!take_events(c))
		return true;
	return !c->parked;
}

/*
 * Before KVM_RUN: at most one vector per entry, and only when the last
 * exit said KVM can inject (IF = 1, no shadow, nothing half-injected);
 * with no in-kernel irqchip a second KVM_INTERRUPT overwrites the first.
 * Otherwise ask for an exit as soon as the window opens.
 */
static bool inject(struct vkvm_cpu *c)
{
	struct vkvm_lapic *l = &c->v->lapic;
	struct kvm_run *run = c->run;

	run->request_interrupt_window = 0;
	if (!vkvm_lapic_deliverable(l, c->idx))
		return true;
	if (run->ready_for_interrupt_injection) {
		struct kvm_interrupt irq;
		int vec = vkvm_lapic_accept(l, c->idx);

		if (vec < 0)
			return true;
		irq.irq = (uint32_t)vec;
		vkvm_trace_ev(c->v->trace, VKVM_EV_INJECT, (uint32_t)vec);
		if (ioctl(c->fd, KVM_INTERRUPT, &irq) < 0) {
			vkvm_fail(c->v, errno, "KVM_INTERRUPT");
			return false;
		}
		/* A higher class still pending goes in at the next window. */
		if (!vkvm_lapic_deliverable(l, c->idx))
			return true;
	}
	vkvm_count(&l->st.irq_windows);
	run->request_interrupt_window = 1;
	return true;
}

/* The guest's TSC now, for a TSC deadline; 0 if KVM will not say. */
static uint64_t guest_tsc(struct vkvm_cpu *c)
{
	union {
		struct kvm_msrs h;
		uint8_t bytes[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
	} m;

	memset(&m, 0, sizeof(m));
	m.h.nmsrs = 1;
	m.h.entries[0].index = 0x10;	/* IA32_TIME_STAMP_COUNTER */
	if (ioctl(c->fd, KVM_GET_MSRS, &m) != 1)
		return 0;
	return m.h.entries[0].data;
}

/*
 * An MSR KVM handed to userspace: the x2APIC range and IA32_TSC_DEADLINE
 * go to the model; anything else is an MSR KVM does not know either, and
 * gets the #GP KVM itself would raise.
 */
static bool handle_msr(struct vkvm_cpu *c)
{
	struct vkvm_lapic *l = &c->v->lapic;
	struct kvm_run *run = c->run;
	bool write = run->exit_reason == KVM_EXIT_X86_WRMSR;
	uint32_t msr = run->msr.index;
	uint64_t val = write ? run->msr.data : 0;
	int ret = -EINVAL;

	if (c->v->lapic_ready && msr >= X2APIC_MSR_FIRST && msr <= X2APIC_MSR_LAST) {
		ret = vkvm_lapic_msr(l, c->idx, msr, write, &val);
		if (ret == 1)
			run->cr8 = vkvm_lapic_cr8(l, c->idx);
	} else if (c->v->lapic_ready && msr == VKVM_MSR_TSC_DEADLINE && c->v->msrs.tsc_deadline) {
		vkvm_lapic_tsc_deadline(l, c->idx, write, &val, guest_tsc(c), c->v->tsc_khz);
		ret = 0;
	} else if (c->v->lapic_ready && msr == MSR_IA32_APICBASE && c->v->msrs.apic_base) {
		ret = write ? vkvm_vm_write_apic_base(c, val) : 0;
		val = vkvm_lapic_base(l, c->idx);
		if (ret < 0 && ret != -EINVAL) {
			vkvm_fail(c->v, -ret, "KVM_SET_MSRS (IA32_APIC_BASE)");
			return false;
		}
	}
	if (ret < 0) {
		vkvm_count(&c->v->r->msr_gp);
		run->msr.error = 1;
		return true;
	}
	run->msr.error = 0;
	if (!write)
		run->msr.data = val;
	return true;
}

/* A port access: a device on the bus, or all-ones and counted.  false: stop. */
static bool port_access(struct vkvm_cpu *c, uint16_t port, bool out, uint8_t *data,
			unsigned int size)
{
	struct vkvm *v = c->v;
	enum vkvm_io_ret ret;

	if (vkvm_bus_access(&v->bus, VKVM_PIO, port, c, c->idx, out, data, size, &ret))
		return ret == VKVM_IO_DONE;
	if (out) {
		vkvm_count(&v->r->port_writes);
	} else {
		vkvm_count(&v->r->port_reads);
		memset(data, 0xff, size);
	}
	return true;
}

/* The same for MMIO: an unbacked address reads all-ones. */
static bool mmio_access(struct vkvm_cpu *c, uint64_t gpa, bool write, uint8_t *data,
			unsigned int len)
{
	struct vkvm *v = c->v;
	enum vkvm_io_ret ret;

	/* KVM's buffer is 8 bytes; it never reports more, but the guest is not trusted. */
	if (len > 8)
		len = 8;
	if (vkvm_bus_access(&v->bus, VKVM_MMIO, gpa, c, c->idx, write, data, len, &ret))
		return ret == VKVM_IO_DONE;
	if (write) {
		vkvm_count(&v->r->mmio_writes);
	} else {
		vkvm_count(&v->r->mmio_reads);
		memset(data, 0xff, 8);
	}
	return true;
}

void vkvm_cpu_tpr_changed(struct vkvm_cpu *c)
{
	c->run->cr8 = vkvm_lapic_cr8(&c->v->lapic, c->idx);
}

/* One exit; returns false when this vCPU must stop. */
static bool handle_exit(struct vkvm_cpu *c)
{
	struct vkvm *v = c->v;
	struct kvm_run *run = c->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO: {
		uint8_t *data = (uint8_t *)run + run->io.data_offset;
		bool out = run->io.direction == KVM_EXIT_IO_OUT;

		/* String I/O (rep outsb) arrives as count back-to-back items. */
		for (uint32_t i = 0; i < run->io.count; i++)
			if (!port_access(c, run->io.port, out, data + i * run->io.size,
					 run->io.size))
				return false;
		return true;
	}
	case KVM_EXIT_MMIO:
		return mmio_access(c, run->mmio.phys_addr, run->mmio.is_write, run->mmio.data,
				   run->mmio.len);
	case KVM_EXIT_X86_RDMSR:
	case KVM_EXIT_X86_WRMSR:
		return handle_msr(c);
	case KVM_EXIT_INTR:
	case KVM_EXIT_IRQ_WINDOW_OPEN:
	case KVM_EXIT_SET_TPR:
		return true;	/* the loop re-checks the APIC before every entry */
	case KVM_EXIT_IOAPIC_EOI:
		/* KVM's LAPIC (split irqchip) EOIed a level vector of our I/O APIC. */
		vkvm_irq_eoi(v, run->eoi.vector);
		return true;
	case KVM_EXIT_HLT:
		/* KVM's LAPIC keeps HLT in the kernel; re-enter if one leaks out. */
		if (v->kernel_chip)
			return true;
		/* RIP is past the HLT already. */
		if (v->nr == 1 && !run->if_flag) {
			vkvm_end(v, VKVM_END_HALT, VKVM_STATUS_HALT,
				"guest halted (HLT before EIP 0x%llx) with interrupts off and no other vCPU to wake it",
				(unsigned long long)vkvm_cpu_rip(c));
			return false;
		}
		halt(c);
		return true;
	case KVM_EXIT_SHUTDOWN:
		vkvm_end(v, VKVM_END_SHUTDOWN, VKVM_STATUS_SHUTDOWN,
			"guest triple fault (KVM_EXIT_SHUTDOWN) on vCPU %u", c->idx);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		vkvm_end(v, VKVM_END_FAILURE, VKVM_STATUS_FAILURE,
			"KVM could not enter the guest (KVM_EXIT_FAIL_ENTRY, hardware reason 0x%llx)",
			(unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION)
			return vkvm_emulation_failure(c);
		vkvm_end(v, VKVM_END_FAILURE, VKVM_STATUS_FAILURE,
			"KVM internal error (suberror %u%s) on vCPU %u at EIP 0x%llx",
			run->internal.suberror,
			run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ?
			", instruction emulation failed" : "", c->idx,
			(unsigned long long)vkvm_cpu_rip(c));
		return false;
	default: {
		const char *name = vkvm_exit_name(run->exit_reason);

		vkvm_end(v, VKVM_END_FAILURE, VKVM_STATUS_FAILURE,
			"unhandled KVM exit %u (%s)", run->exit_reason,
			name ? name : "unknown");
		return false;
	}
	}
}

/*
 * One KVM_RUN.  1: an exit to handle (counted); 0: interrupted by a kick,
 * which is consumed (KVM_RUN would fail again at once otherwise); -1: the
 * run failed and is ending.  mode_vcpu, if set, leaves IN_GUEST mode as
 * soon as KVM_RUN returns.
 */
static int run_guest(struct vkvm_cpu *c, struct vcpu *mode_vcpu)
{
	struct vkvm *v = c->v;
	int ret, err;

	vkvm_trace_ev(v->trace, VKVM_EV_GUEST_BEGIN, 0);
	ret = ioctl(c->fd, KVM_RUN, 0);
	err = errno;
	if (mode_vcpu)
		vcpu_set_mode(mode_vcpu, VCPU_OUTSIDE_GUEST_MODE);
	vkvm_trace_ev(v->trace, VKVM_EV_GUEST_END, ret < 0 ? KVM_EXIT_INTR : c->run->exit_reason);
	if (ret >= 0) {
		count_exit(c, c->run->exit_reason);
		return 1;
	}
	if (err == EINTR || err == EAGAIN) {
		count_exit(c, KVM_EXIT_INTR);
		vkvm_kick_consume();
		return 0;
	}
	vkvm_fail(v, err, "KVM_RUN");
	return -1;
}

/*
 * The KVM_RUN loop of one vCPU on KVM's in-kernel LAPIC: nothing to
 * inject or park, so only the stop flag is looked at before each entry; a
 * stop's kick is pending by then at the latest and makes KVM_RUN return
 * EINTR at once.
 */
static void cpu_loop_kernel(struct vkvm_cpu *c)
{
	for (;;) {
		int ret;

		if (vkvm_stopping(c->v))
			return;
		ret = run_guest(c, NULL);
		if (ret < 0 || (ret > 0 && !handle_exit(c)))
			return;
	}
}

/* The KVM_RUN loop of one vCPU, until the run stops. */
static void cpu_loop(struct vkvm_cpu *c)
{
	struct vkvm *v = c->v;
	struct kvm_run *run = c->run;

	for (;;) {
		int ret;

		if (vkvm_stopping(v))
			return;
		if (c->parked) {
			block_until(c, park_ready, true);
			continue;
		}
		/* A near TSC deadline that is due: IRR now, before IN_GUEST. */
		vkvm_lapic_timer_poll(&v->lapic, c->idx);
		/*
		 * IN_GUEST before the last look at the APIC: a sender that
		 * sets IRR or posts an event after that look sees IN_GUEST and
		 * signals us, and the signal (blocked out here) makes KVM_RUN
		 * return EINTR at once.
		 */
		vcpu_set_mode(c->vcpu, VCPU_IN_GUEST_MODE);
		if (!take_events(c) || c->parked || vkvm_stopping(v) || !inject(c)) {
			vcpu_set_mode(c->vcpu, VCPU_OUTSIDE_GUEST_MODE);
			continue;
		}
		vkvm_lapic_timer_entry(&v->lapic, c->idx);
		ret = run_guest(c, c->vcpu);
		if (ret < 0)
			return;
		if (!ret)
			continue;
		/*
		 * KVM stored the guest's CR8 on exit, and its APIC base when
		 * no MSR filter brings the guest's writes here: the APIC
		 * follows (a reset by the base last: TPR 0, CR8 with it).
		 */
		vkvm_lapic_set_cr8(&v->lapic, c->idx, run->cr8);
		if (!v->msrs.apic_base && vkvm_lapic_set_base(&v->lapic, c->idx, run->apic_base))
			run->cr8 = vkvm_lapic_cr8(&v->lapic, c->idx);
		if (!handle_exit(c))
			return;
	}
}

void *vkvm_cpu_main(void *arg)
{
	struct vkvm_cpu *c = arg;

	c->self = pthread_self();
	vkvm_trace_set_track(c->idx);
	store_release(&c->has_self, 1);
	if (c->v->kernel_chip) {
		cpu_loop_kernel(c);
		vkvm_devices_cpu_exit(c);
		return NULL;
	}
	/* Loaded for the whole run: IsRunning then means "not halted". */
	if (vcpu_load(c->vcpu, (int)c->idx)) {
		vkvm_fail(c->v, EINVAL, "loading the AVIC vCPU");
		return NULL;
	}
	vkvm_lapic_timer_cpu_init(&c->v->lapic, c->idx);
	cpu_loop(c);
	vkvm_lapic_timer_cpu_fini(&c->v->lapic, c->idx);
	vkvm_devices_cpu_exit(c);
	vcpu_put(c->vcpu);
	return NULL;
}

#endif /* __x86_64__ */
