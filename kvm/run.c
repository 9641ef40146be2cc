// SPDX-License-Identifier: MIT
/*
 * Multiboot runner on /dev/kvm: one VM, anonymous RAM from guest-physical
 * 0 (with a hole at the xAPIC page), one thread per vCPU, and KVM_RUN
 * loops serving the few ports of QEMU's PC machine that test guests use.
 * No in-kernel irqchip: the local APICs are vintc's AVIC model
 * (kvm/lapic.c), so KVM_CREATE_IRQCHIP is never called.
 *
 * Each vCPU thread is model host CPU `index` and keeps its AVIC vCPU
 * loaded for the whole run, so the physical table's IsRunning bit means
 * "not halted".  Around KVM_RUN the vCPU's mode is IN_GUEST.  A doorbell
 * the silicon model rings for a running target becomes VKVM_KICK_SIGNAL
 * to that thread, but only while it is in IN_GUEST mode; a halted target
 * (IsRunning = 0) gets the not-running exit and a futex wake instead.
 *
 * The kick signal is blocked in every thread's own mask and unblocked only
 * inside KVM_RUN (KVM_SET_SIGNAL_MASK), so a kick arriving between the last
 * look at the APIC and KVM_RUN stays pending and makes KVM_RUN return
 * EINTR at once: no kick is lost.  The pending signal is then consumed
 * with sigtimedwait, or every later KVM_RUN would fail the same way.
 *
 * The run ends at the first end any thread or the timeout thread records
 * (end_run); stop_all() then brings every vCPU thread home.
 *
 * VKVM_IRQCHIP_KERNEL, for comparison, is the same runner on KVM's own
 * LAPIC: KVM_CREATE_IRQCHIP, no AVIC model, no parking (KVM keeps an AP
 * in its wait-for-SIPI state inside KVM_RUN), no injection; only the
 * ports and the stop signal are ours.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <vintc/avic.h>
#include <vintc/kvm_run.h>

#include "lapic.h"
#include "probe.h"
#include "trace.h"

void vkvm_default_opts(struct vkvm_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->ram_mib = 64;
	o->timeout_s = 10;
	o->out_fd = STDOUT_FILENO;
	o->nr_cpus = 1;
	o->irqchip = VKVM_IRQCHIP_AVIC;
	o->halt_poll_us = VKVM_DEFAULT_HALT_POLL_US;
}

const char *vkvm_end_name(enum vkvm_end end)
{
	static const char *const names[VKVM_NR_ENDS] = {
		[VKVM_END_DEBUG_EXIT] = "debug-exit", [VKVM_END_HALT] = "halt",
		[VKVM_END_SHUTDOWN] = "shutdown", [VKVM_END_FAILURE] = "failure",
		[VKVM_END_TIMEOUT] = "timeout",
	};

	return (unsigned int)end < VKVM_NR_ENDS ? names[end] : "?";
}

__attribute__((format(printf, 4, 5)))
static int say(char *why, size_t why_size, int err, const char *fmt, ...)
{
	va_list ap;

	if (why && why_size) {
		va_start(ap, fmt);
		vsnprintf(why, why_size, fmt, ap);
		va_end(ap);
	}
	return err;
}

#ifndef __x86_64__
/* The guests are x86 code: elsewhere the model engine (sim/) is the way. */
int vkvm_probe(char *why, size_t why_size)
{
	return say(why, why_size, -ENOTSUP, "running x86 guests needs an x86-64 host");
}

int vkvm_run_guest(const struct vkvm_opts *o, struct vkvm_result *r,
		   enum vkvm_stage *stage, char *why, size_t why_size)
{
	(void)o;
	memset(r, 0, sizeof(*r));
	*stage = VKVM_STAGE_KVM;
	return vkvm_probe(why, why_size);
}

const char *vkvm_exit_name(unsigned int reason)
{
	(void)reason;
	return NULL;
}
#else

#include <linux/kvm.h>

#define COM1_BASE	0x3f8
#define COM1_THR	0x3f8
#define COM1_LSR	0x3fd
#define COM1_LCR	0x3fb
#define LCR_DLAB	0x80
#define LSR_IDLE	0x60	/* THR empty, transmitter empty */
#define DEBUG_EXIT_PORT	0xf4
#define FW_CFG_SEL	0x510
#define FW_CFG_DATA	0x511

/* fw_cfg keys (QEMU's numbering). */
#define FW_CFG_SIGNATURE	0x00
#define FW_CFG_RAM_SIZE		0x03
#define FW_CFG_NB_CPUS		0x05
#define FW_CFG_MAX_CPUS		0x0f

/* Where the 3-page TSS KVM needs for real-mode emulation on VMX goes. */
#define TSS_ADDR	0xfffbd000ULL

#define SERIAL_BUF	4096
#define NS_PER_S	1000000000ULL

struct vkvm;

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
	uint64_t exits[VKVM_NR_EXIT_REASONS];
	uint64_t exits_other;
	/* COM1 output by line and by vCPU, so CPUs' lines never interleave. */
	char line[SERIAL_BUF];
	size_t line_len;
};

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

	/* Devices shared by every vCPU: COM1's LCR, fw_cfg, the output fd. */
	pthread_mutex_t io_lock;
	uint8_t lcr;
	uint16_t fw_key;
	uint32_t fw_off;
	int out_fd;

	/* How the run ended: the first end wins, then every vCPU stops. */
	pthread_mutex_t end_lock;
	bool ended;
	uint32_t stop;			/* atomic */
	int err;			/* KVM_RUN failed: -errno */
	char why[256];

	/* timeout */
	pthread_t timer_thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool timer_started, done;
	uint32_t timeout_s;
};

static const char *const exit_names[] = {
	[KVM_EXIT_UNKNOWN] = "UNKNOWN", [KVM_EXIT_EXCEPTION] = "EXCEPTION",
	[KVM_EXIT_IO] = "IO", [KVM_EXIT_HYPERCALL] = "HYPERCALL",
	[KVM_EXIT_DEBUG] = "DEBUG", [KVM_EXIT_HLT] = "HLT", [KVM_EXIT_MMIO] = "MMIO",
	[KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN", [KVM_EXIT_SHUTDOWN] = "SHUTDOWN",
	[KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY", [KVM_EXIT_INTR] = "INTR",
	[KVM_EXIT_SET_TPR] = "SET_TPR", [KVM_EXIT_TPR_ACCESS] = "TPR_ACCESS",
	[KVM_EXIT_NMI] = "NMI", [KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
	[KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT", [KVM_EXIT_X86_RDMSR] = "X86_RDMSR",
	[KVM_EXIT_X86_WRMSR] = "X86_WRMSR",
};

const char *vkvm_exit_name(unsigned int reason)
{
	if (reason < sizeof(exit_names) / sizeof(exit_names[0]))
		return exit_names[reason];
	return NULL;
}

static double now_s(void)
{
	return (double)host_now_ns() / 1e9;
}

static void count(uint64_t *c)
{
	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

/* Open /dev/kvm and check the API version; returns the fd or -errno. */
static int kvm_open(char *why, size_t why_size)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC), ver;

	if (fd < 0) {
		int err = errno;

		return say(why, why_size, -err, "cannot open /dev/kvm: %s", strerror(err));
	}
	ver = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (ver < 0) {
		int err = errno;

		close(fd);
		return say(why, why_size, -err, "/dev/kvm is not a KVM device: %s",
			   strerror(err));
	}
	if (ver != KVM_API_VERSION) {
		close(fd);
		return say(why, why_size, -ENOTSUP, "/dev/kvm has API version %d, want %d", ver,
			   KVM_API_VERSION);
	}
	return fd;
}

int vkvm_probe(char *why, size_t why_size)
{
	int fd = kvm_open(why, why_size), vm;

	if (fd < 0)
		return fd;
	vm = ioctl(fd, KVM_CREATE_VM, 0);
	if (vm < 0) {
		int err = errno;

		close(fd);
		return say(why, why_size, -err, "/dev/kvm cannot create a VM: %s", strerror(err));
	}
	close(vm);
	close(fd);
	return 0;
}

static void serial_flush(struct vkvm_cpu *c)
{
	struct vkvm *v = c->v;
	size_t off = 0;

	pthread_mutex_lock(&v->io_lock);
	while (off < c->line_len) {
		ssize_t n = write(v->out_fd, c->line + off, c->line_len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;	/* output lost; the guest runs on, as on a real UART */
		off += (size_t)n;
	}
	pthread_mutex_unlock(&v->io_lock);
	c->line_len = 0;
}

/* Line-buffered, so guest lines and vintc's own output never interleave. */
static void serial_putc(struct vkvm_cpu *c, uint8_t ch)
{
	c->line[c->line_len++] = (char)ch;
	if (ch == '\n' || c->line_len == sizeof(c->line))
		serial_flush(c);
}

static void kick_cpu(struct vkvm *v, uint32_t idx, bool always);

/*
 * Stop every vCPU: the flag first, then a wake-up for the sleeping ones
 * and a signal for the ones inside KVM_RUN.  Each checks the flag after
 * setting its mode and after each wake-up, so none can miss it.
 */
static void stop_all(struct vkvm *v)
{
	__atomic_store_n(&v->stop, 1, __ATOMIC_SEQ_CST);
	for (uint32_t i = 0; i < v->nr; i++) {
		if (v->lapic_ready)
			vcpu_wake(v->lapic.vcpus[i]);
		kick_cpu(v, i, true);
	}
}

static bool stopping(struct vkvm *v)
{
	return __atomic_load_n(&v->stop, __ATOMIC_SEQ_CST);
}

static void end_run(struct vkvm *v, enum vkvm_end end, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void end_run(struct vkvm *v, enum vkvm_end end, int status, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&v->end_lock);
	if (!v->ended) {
		v->ended = true;
		v->r->end = end;
		v->r->exit_status = status;
		va_start(ap, fmt);
		vsnprintf(v->r->message, sizeof(v->r->message), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&v->end_lock);
	stop_all(v);
}

/* KVM_RUN itself failed: the run has no guest end. */
static void fail_run(struct vkvm *v, int err, const char *what)
{
	pthread_mutex_lock(&v->end_lock);
	if (!v->ended) {
		v->ended = true;
		v->err = -err;
		snprintf(v->why, sizeof(v->why), "%s: %s", what, strerror(err));
	}
	pthread_mutex_unlock(&v->end_lock);
	stop_all(v);
}

/* fw_cfg item bytes: little-endian, zero past the end. */
static uint8_t fw_cfg_byte(struct vkvm *v, uint16_t key, uint32_t off)
{
	uint64_t val;

	switch (key) {
	case FW_CFG_SIGNATURE:
		return off < 4 ? (uint8_t)"QEMU"[off] : 0;
	case FW_CFG_RAM_SIZE:
		val = v->ram_size;
		return off < 8 ? (uint8_t)(val >> (8 * off)) : 0;
	case FW_CFG_NB_CPUS:
	case FW_CFG_MAX_CPUS:
		val = v->nr;
		return off < 2 ? (uint8_t)(val >> (8 * off)) : 0;
	default:
		return 0;
	}
}

/* One port access of `size` bytes; returns true when the run ends. */
static bool handle_port(struct vkvm_cpu *c, uint16_t port, bool out, uint8_t *data,
			unsigned int size)
{
	struct vkvm *v = c->v;
	struct vkvm_result *r = v->r;

	if (port == DEBUG_EXIT_PORT && out) {
		uint32_t val = 0;

		for (unsigned int i = 0; i < size && i < 4; i++)
			val |= (uint32_t)data[i] << (8 * i);
		serial_flush(c);
		pthread_mutex_lock(&v->end_lock);
		if (!v->ended)
			r->debug_exit_value = val;
		pthread_mutex_unlock(&v->end_lock);
		end_run(v, VKVM_END_DEBUG_EXIT, (int)((val << 1) | 1),
			"guest wrote 0x%x to isa-debug-exit (0xf4): exit status %u", val,
			(val << 1) | 1);
		return true;
	}
	if (port >= COM1_BASE && port < COM1_BASE + 8) {
		pthread_mutex_lock(&v->io_lock);
		if (out && port == COM1_THR && !(v->lcr & LCR_DLAB)) {
			pthread_mutex_unlock(&v->io_lock);
			serial_putc(c, data[0]);
			count(&r->serial_bytes);
			return false;
		}
		count(&r->serial_other);
		if (out) {
			if (port == COM1_LCR)
				v->lcr = data[0];
		} else {
			memset(data, 0, size);
			if (port == COM1_LSR)
				data[0] = LSR_IDLE;
			else if (port == COM1_LCR)
				data[0] = v->lcr;
		}
		pthread_mutex_unlock(&v->io_lock);
		return false;
	}
	if (port == FW_CFG_SEL || port == FW_CFG_DATA) {
		count(&r->fw_cfg);
		pthread_mutex_lock(&v->io_lock);
		if (port == FW_CFG_SEL && out) {
			v->fw_key = (uint16_t)(data[0] | (size > 1 ? data[1] << 8 : 0));
			v->fw_off = 0;
		} else if (port == FW_CFG_DATA && !out) {
			for (unsigned int i = 0; i < size; i++)
				data[i] = fw_cfg_byte(v, v->fw_key, v->fw_off++);
		} else if (!out) {
			memset(data, 0, size);
		}
		pthread_mutex_unlock(&v->io_lock);
		return false;
	}
	if (out) {
		count(&r->port_writes);
	} else {
		count(&r->port_reads);
		memset(data, 0xff, size);
	}
	return false;
}

static void *timer_main(void *arg)
{
	struct vkvm *v = arg;
	struct timespec deadline;
	bool fire = false;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += v->timeout_s;
	pthread_mutex_lock(&v->lock);
	while (!v->done) {
		if (pthread_cond_timedwait(&v->cond, &v->lock, &deadline) == ETIMEDOUT) {
			fire = true;
			break;
		}
	}
	pthread_mutex_unlock(&v->lock);
	if (fire)
		end_run(v, VKVM_END_TIMEOUT, VKVM_STATUS_TIMEOUT,
			"guest still running after the %u s timeout", v->timeout_s);
	return NULL;
}

static void kick_handler(int sig)
{
	(void)sig;	/* only there to make KVM_RUN return EINTR */
}

/* Drop a kick that is pending outside KVM_RUN, or KVM_RUN keeps failing. */
static void consume_kick(void)
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
static void kick_cpu(struct vkvm *v, uint32_t idx, bool always)
{
	struct vkvm_cpu *c = &v->cpus[idx];

	if (!load_acquire(&c->has_self))
		return;
	if (!always && (!v->lapic_ready ||
			load_acquire(&c->vcpu->mode) != VCPU_IN_GUEST_MODE))
		return;
	uint64_t t0 = host_now_ns();

	count(&v->lapic.st.kicks);
	vkvm_trace_ev(v->trace, VKVM_EV_KICK, idx);
	pthread_kill(c->self, VKVM_KICK_SIGNAL);
	__atomic_add_fetch(&v->lapic.st.kick_ns, host_now_ns() - t0, __ATOMIC_RELAXED);
}

static void lapic_kick(void *opaque, uint32_t idx)
{
	kick_cpu(opaque, idx, false);
}

/* The AVIC doorbell to host APIC ID h: guest vCPU h runs on host CPU h. */
static void on_doorbell(uint32_t host_apic_id, void *opaque)
{
	struct vkvm *v = opaque;
	int cpu = host_cpu_from_apic_id(host_apic_id);

	if (cpu >= 0 && (uint32_t)cpu < v->nr) {
		vkvm_trace_ev(v->trace, VKVM_EV_DOORBELL, (uint32_t)cpu);
		kick_cpu(v, (uint32_t)cpu, false);
	}
}

static int setup_signals(struct vkvm *v, sigset_t *saved)
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
	return 0;
}

static int set_signal_mask(struct vkvm *v, int fd, char *why, size_t why_size)
{
	struct kvm_signal_mask *km;
	int ret;

	km = malloc(sizeof(*km) + sizeof(sigset_t));
	if (!km)
		return say(why, why_size, -ENOMEM, "out of memory");
	km->len = 8;	/* the kernel's sigset_t on x86-64 */
	memcpy(km->sigset, &v->inside, 8);
	ret = ioctl(fd, KVM_SET_SIGNAL_MASK, km);
	free(km);
	if (ret < 0) {
		int err = errno;

		return say(why, why_size, -err, "KVM_SET_SIGNAL_MASK: %s", strerror(err));
	}
	return 0;
}

/* Flat 32-bit protected mode, paging off, as Multiboot requires. */
static int setup_bsp(struct vkvm_cpu *c, const struct mboot_layout *lay, char *why,
		     size_t why_size)
{
	struct kvm_segment code = {
		.base = 0, .limit = 0xffffffff, .selector = 0x08,
		.type = 0xb,	/* execute/read, accessed */
		.present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
	};
	struct kvm_segment data = code;
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	data.selector = 0x10;
	data.type = 0x3;	/* read/write, accessed */
	if (ioctl(c->fd, KVM_GET_SREGS, &sregs) < 0)
		return say(why, why_size, -errno, "KVM_GET_SREGS: %s", strerror(errno));
	sregs.cs = code;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.cr0 = 0x11;	/* PE, ET; PG off */
	sregs.cr4 = 0;
	sregs.efer = 0;
	if (ioctl(c->fd, KVM_SET_SREGS, &sregs) < 0)
		return say(why, why_size, -errno, "KVM_SET_SREGS: %s", strerror(errno));

	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2;	/* reserved bit 1; IF = 0 */
	regs.rip = lay->entry;
	regs.rax = MBOOT_BOOT_MAGIC;
	regs.rbx = lay->info_addr;
	if (ioctl(c->fd, KVM_SET_REGS, &regs) < 0)
		return say(why, why_size, -errno, "KVM_SET_REGS: %s", strerror(errno));
	return 0;
}

/* STARTUP vector V: real mode at V << 8 : 0, as after INIT. */
static int sipi_start(struct vkvm_cpu *c, uint8_t vector)
{
	struct kvm_segment seg = {
		.base = 0, .limit = 0xffff, .selector = 0,
		.type = 0x3, .present = 1, .s = 1,
	};
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(c->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = seg;
	sregs.cs = seg;
	sregs.cs.type = 0xb;
	sregs.cs.selector = (uint16_t)(vector << 8);
	sregs.cs.base = (uint64_t)vector << 12;
	sregs.gdt.base = sregs.idt.base = 0;
	sregs.gdt.limit = sregs.idt.limit = 0xffff;
	sregs.cr0 = 0x60000010;
	sregs.cr4 = 0;
	sregs.efer = 0;
	if (ioctl(c->fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;
	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2;
	if (ioctl(c->fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	c->run->cr8 = 0;
	c->run->request_interrupt_window = 0;
	return 0;
}

static int add_slot(struct vkvm *v, uint32_t slot, uint64_t gpa, uint64_t size, char *why,
		    size_t why_size)
{
	struct kvm_userspace_memory_region region = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)(v->ram + gpa),
	};

	if (ioctl(v->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return say(why, why_size, -errno, "KVM_SET_USER_MEMORY_REGION: %s",
			   strerror(errno));
	return 0;
}

/*
 * CPUID, the same on both irqchips except where the userspace APIC lacks
 * a feature.  Start from what this KVM supports (KVM_GET_SUPPORTED_CPUID)
 * and per vCPU:
 * - the initial APIC ID is the vCPU index: leaf 1 EBX[31:24] and, when
 *   leaf 0xB exists, its EDX (x2APIC ID) in every subleaf; it must agree
 *   with the APIC ID register the guest reads, which is the index too;
 * - --irqchip=avic advertises x2APIC (leaf 1 ECX[21]) and TSC-deadline
 *   (leaf 1 ECX[24]) only when the start-up probe (kvm/probe.c) saw this
 *   kernel hand their MSRs to userspace; otherwise KVM would drop them;
 * - both hide the KVM paravirtual features that assume KVM's own LAPIC
 *   (PV EOI and PV send-IPI in leaf 0x40000001 EAX): under avic KVM has no
 *   LAPIC to back them, and hiding them under kernel keeps the guest on the
 *   same architectural paths in the side-by-side comparison.
 */
#define CPUID_MAX_ENTRIES	256
#define CPUID_1_ECX_X2APIC	(1U << 21)
#define CPUID_1_ECX_TSC_DEADLINE (1U << 24)
#define KVM_CPUID_FEATURES_LEAF	0x40000001U
#define KVM_PV_EOI_BIT		(1U << 6)	/* KVM_FEATURE_PV_EOI */
#define KVM_PV_SEND_IPI_BIT	(1U << 11)	/* KVM_FEATURE_PV_SEND_IPI */

static struct kvm_cpuid2 *cpuid_supported(struct vkvm *v, char *why, size_t why_size)
{
	struct kvm_cpuid2 *cpuid;

	cpuid = calloc(1, sizeof(*cpuid) + CPUID_MAX_ENTRIES * sizeof(cpuid->entries[0]));
	if (!cpuid) {
		say(why, why_size, -ENOMEM, "out of memory");
		return NULL;
	}
	cpuid->nent = CPUID_MAX_ENTRIES;
	if (ioctl(v->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) < 0) {
		say(why, why_size, -errno, "KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		free(cpuid);
		return NULL;
	}
	return cpuid;
}

static int cpuid_set(struct vkvm *v, struct vkvm_cpu *c, const struct kvm_cpuid2 *sup,
		     struct kvm_cpuid2 *cpuid, char *why, size_t why_size)
{
	memcpy(cpuid, sup, sizeof(*sup) + sup->nent * sizeof(sup->entries[0]));
	for (uint32_t i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0x00ffffffU) | (c->idx << 24);
			if (!v->kernel_chip && !v->msrs.x2apic)
				e->ecx &= ~CPUID_1_ECX_X2APIC;
			if (!v->kernel_chip && !v->msrs.tsc_deadline)
				e->ecx &= ~CPUID_1_ECX_TSC_DEADLINE;
			break;
		case 0xb:
			e->edx = c->idx;
			break;
		case KVM_CPUID_FEATURES_LEAF:
			e->eax &= ~(KVM_PV_EOI_BIT | KVM_PV_SEND_IPI_BIT);
			break;
		}
	}
	if (ioctl(c->fd, KVM_SET_CPUID2, cpuid) < 0)
		return say(why, why_size, -errno, "KVM_SET_CPUID2 on vCPU %u: %s", c->idx,
			   strerror(errno));
	return 0;
}

/*
 * IA32_APIC_BASE at reset: the default base, enabled, BSP on vCPU 0.
 * Without an in-kernel LAPIC KVM keeps the MSR but does not reset it, so
 * the runner does; the userspace APIC starts from the same value.
 */
static int set_apic_base(struct vkvm_cpu *c, char *why, size_t why_size)
{
	struct kvm_sregs sregs;
	int tsc_khz;

	if (c->v->kernel_chip)
		return 0;
	if (ioctl(c->fd, KVM_GET_SREGS, &sregs) < 0)
		return say(why, why_size, -errno, "KVM_GET_SREGS: %s", strerror(errno));
	sregs.apic_base = VKVM_APIC_BASE | MSR_IA32_APICBASE_ENABLE |
			  (c->idx == 0 ? MSR_IA32_APICBASE_BSP : 0);
	if (ioctl(c->fd, KVM_SET_SREGS, &sregs) < 0)
		return say(why, why_size, -errno, "KVM_SET_SREGS (APIC base): %s",
			   strerror(errno));
	tsc_khz = ioctl(c->fd, KVM_GET_TSC_KHZ, 0);
	if (tsc_khz > 0)
		c->v->tsc_khz = (uint64_t)tsc_khz;
	return 0;
}

static int setup_vm(struct vkvm *v, char *why, size_t why_size)
{
	struct kvm_cpuid2 *sup, *cpuid;
	uint64_t low = v->ram_size;
	int fd, size, ret;

	fd = kvm_open(why, why_size);
	if (fd < 0)
		return fd;
	v->kvm_fd = fd;
	v->vm_fd = ioctl(v->kvm_fd, KVM_CREATE_VM, 0);
	if (v->vm_fd < 0)
		return say(why, why_size, -errno, "/dev/kvm cannot create a VM: %s",
			   strerror(errno));
	/*
	 * VMX without unrestricted guest emulates real mode through a TSS
	 * KVM keeps in guest memory; only place it where RAM is not.
	 */
	if (v->ram_size <= TSS_ADDR)
		(void)ioctl(v->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)TSS_ADDR);
	/* KVM's own PIC, IOAPIC and LAPICs: before any vCPU exists. */
	if (v->kernel_chip && ioctl(v->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return say(why, why_size, -errno, "KVM_CREATE_IRQCHIP (--irqchip=kernel): %s",
			   strerror(errno));
	/*
	 * The xAPIC page has no memslot, so every access to it exits as
	 * KVM_EXIT_MMIO; RAM above it (only with -m 4096) is a second slot.
	 */
	if (low > VKVM_APIC_BASE)
		low = VKVM_APIC_BASE;
	ret = add_slot(v, 0, 0, low, why, why_size);
	if (!ret && v->ram_size > VKVM_APIC_BASE + VKVM_APIC_SIZE)
		ret = add_slot(v, 1, VKVM_APIC_BASE + VKVM_APIC_SIZE,
			       v->ram_size - VKVM_APIC_BASE - VKVM_APIC_SIZE, why, why_size);
	if (ret)
		return ret;
	/*
	 * The userspace APIC's MSRs: only what the probe saw delivered, and
	 * only if this VM takes the same set-up.
	 */
	if (!v->kernel_chip) {
		(void)vkvm_msr_probe(&v->msrs);
		if ((v->msrs.x2apic || v->msrs.tsc_deadline) && vkvm_msr_exits_enable(v->vm_fd))
			memset(&v->msrs, 0, sizeof(v->msrs));
	}
	size = ioctl(v->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size < (int)sizeof(struct kvm_run))
		return say(why, why_size, size < 0 ? -errno : -EINVAL,
			   "KVM_GET_VCPU_MMAP_SIZE: %s", size < 0 ? strerror(errno) : "too small");
	v->run_size = (size_t)size;
	sup = cpuid_supported(v, why, why_size);
	if (!sup)
		return -EINVAL;
	cpuid = malloc(sizeof(*sup) + sup->nent * sizeof(sup->entries[0]));
	if (!cpuid) {
		free(sup);
		return say(why, why_size, -ENOMEM, "out of memory");
	}
	for (uint32_t i = 0; i < v->nr; i++) {
		struct vkvm_cpu *c = &v->cpus[i];

		c->fd = ioctl(v->vm_fd, KVM_CREATE_VCPU, (unsigned long)i);
		if (c->fd < 0) {
			ret = say(why, why_size, -errno, "KVM_CREATE_VCPU %u: %s", i,
				  strerror(errno));
			break;
		}
		c->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
		if (c->run == MAP_FAILED) {
			c->run = NULL;
			ret = say(why, why_size, -errno, "mmap of vCPU %u's kvm_run: %s", i,
				  strerror(errno));
			break;
		}
		ret = cpuid_set(v, c, sup, cpuid, why, why_size);
		if (!ret)
			ret = set_apic_base(c, why, why_size);
		if (!ret)
			ret = set_signal_mask(v, c->fd, why, why_size);
		if (ret)
			break;
	}
	free(cpuid);
	free(sup);
	return ret;
}

static void count_exit(struct vkvm_cpu *c, uint32_t reason)
{
	if (reason < VKVM_NR_EXIT_REASONS)
		c->exits[reason]++;
	else
		c->exits_other++;
}

/* EIP for messages; 0 if KVM will not say. */
static uint64_t vcpu_rip(struct vkvm_cpu *c)
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
	if (ev & AVIC_EVENT_INIT) {
		count(&l->st.inits);
		vkvm_trace_ev(c->v->trace, VKVM_EV_INIT, 0);
		vkvm_lapic_reset(l, c->idx);
		c->parked = true;
		c->wait_sipi = true;
	}
	if ((ev & AVIC_EVENT_SIPI) && c->wait_sipi) {
		count(&l->st.sipis);
		vkvm_trace_ev(c->v->trace, VKVM_EV_SIPI, vector);
		ret = sipi_start(c, vector);
		if (ret) {
			fail_run(c->v, -ret, "starting an AP (KVM_SET_SREGS)");
			return false;
		}
		c->parked = false;
		c->wait_sipi = false;
	}
	if ((ev & AVIC_EVENT_NMI) && !c->parked) {
		count(&l->st.nmis);
		vkvm_trace_ev(c->v->trace, VKVM_EV_NMI, 0);
		if (ioctl(c->fd, KVM_NMI, 0) < 0) {
			fail_run(c->v, errno, "KVM_NMI");
			return false;
		}
	}
	return true;
}

static bool has_events(struct vkvm_cpu *c)
{
	return __atomic_load_n(&to_avic_vcpu(c->vcpu)->events, __ATOMIC_ACQUIRE) != 0;
}

/*
 * Sleep until `ready` or a stop.  The blocking hook clears IsRunning and
 * is a full barrier, so a sender either sees the vCPU not running (and
 * takes the wake-up path, which bumps wake_seq) or we see its IRR bit or
 * event below.  The wake_seq snapshot is taken before looking, so a wake
 * between the look and the futex call makes the futex return at once.
 */
static void block_until(struct vkvm_cpu *c, bool (*ready)(struct vkvm_cpu *c))
{
	struct vcpu *vcpu = c->vcpu;

	vkvm_trace_ev(c->v->trace, VKVM_EV_HALT_BEGIN, 0);
	vcpu_blocking(vcpu);
	for (;;) {
		uint32_t seq = load_acquire(&vcpu->wake_seq);

		if (stopping(c->v) || ready(c))
			break;
		/* Bounded only as a safety net; every wake-up path bumps wake_seq. */
		host_futex_wait(&vcpu->wake_seq, seq, NS_PER_S);
	}
	vcpu_unblocking(vcpu);
	vkvm_trace_ev(c->v->trace, VKVM_EV_HALT_END, 0);
}

static bool halt_ready(struct vkvm_cpu *c)
{
	/* With IF = 0 only an NMI or INIT ends a HLT. */
	if (c->run->if_flag && vkvm_lapic_deliverable(&c->v->lapic, c->idx))
		return true;
	return has_events(c);
}

/*
 * Halt polling, as KVM does before it blocks a vCPU: look for a wake-up
 * reason for up to halt_poll_ns first.  The vCPU is still loaded and not
 * blocking, so IsRunning stays 1 and a sender's IPI is accelerated (IRR
 * and a doorbell, which outside KVM_RUN rings nobody) instead of taking
 * the not-running exit and a futex wake; the poll sees the IRR bit.  The
 * cost is a host CPU kept busy for at most halt_poll_ns per HLT.
 */
static bool halt_poll(struct vkvm_cpu *c)
{
	struct vkvm *v = c->v;
	uint64_t end;

	if (!v->halt_poll_ns)
		return false;
	end = host_now_ns() + v->halt_poll_ns;
	do {
		for (int i = 0; i < 64; i++) {
			if (halt_ready(c) || stopping(v)) {
				count(&v->lapic.st.halt_polls);
				return true;
			}
			__builtin_ia32_pause();
		}
	} while (host_now_ns() < end);
	count(&v->lapic.st.halt_poll_misses);
	return false;
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
			fail_run(c->v, errno, "KVM_INTERRUPT");
			return false;
		}
		/* A higher class still pending goes in at the next window. */
		if (!vkvm_lapic_deliverable(l, c->idx))
			return true;
	}
	count(&l->st.irq_windows);
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
	}
	if (ret < 0) {
		count(&c->v->r->msr_gp);
		run->msr.error = 1;
		return true;
	}
	run->msr.error = 0;
	if (!write)
		run->msr.data = val;
	return true;
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
			if (handle_port(c, run->io.port, out, data + i * run->io.size,
					run->io.size))
				return false;
		return true;
	}
	case KVM_EXIT_MMIO: {
		uint64_t gpa = run->mmio.phys_addr;

		/* A disabled or x2APIC-mode APIC leaves the page unbacked. */
		if (v->lapic_ready && gpa >= VKVM_APIC_BASE &&
		    gpa < VKVM_APIC_BASE + VKVM_APIC_SIZE &&
		    vkvm_lapic_mmio_enabled(&v->lapic, c->idx)) {
			uint32_t off = (uint32_t)(gpa - VKVM_APIC_BASE), val = 0;

			/* Only aligned 32-bit accesses reach a register. */
			if (run->mmio.len != 4)
				off |= 1;
			if (run->mmio.is_write)
				memcpy(&val, run->mmio.data, 4);
			if (vkvm_lapic_access(&v->lapic, c->idx, off, run->mmio.is_write, &val))
				run->cr8 = vkvm_lapic_cr8(&v->lapic, c->idx);
			if (!run->mmio.is_write) {
				memset(run->mmio.data, 0, sizeof(run->mmio.data));
				memcpy(run->mmio.data, &val, run->mmio.len < 4 ? run->mmio.len : 4);
			}
			return true;
		}
		if (run->mmio.is_write) {
			count(&v->r->mmio_writes);
		} else {
			count(&v->r->mmio_reads);
			memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
		}
		return true;
	}
	case KVM_EXIT_X86_RDMSR:
	case KVM_EXIT_X86_WRMSR:
		return handle_msr(c);
	case KVM_EXIT_INTR:
	case KVM_EXIT_IRQ_WINDOW_OPEN:
	case KVM_EXIT_SET_TPR:
		return true;	/* the loop re-checks the APIC before every entry */
	case KVM_EXIT_HLT:
		/* KVM's LAPIC keeps HLT in the kernel; re-enter if one leaks out. */
		if (v->kernel_chip)
			return true;
		/* RIP is past the HLT already. */
		if (v->nr == 1 && !run->if_flag) {
			end_run(v, VKVM_END_HALT, VKVM_STATUS_HALT,
				"guest halted (HLT before EIP 0x%llx) with interrupts off and no other vCPU to wake it",
				(unsigned long long)vcpu_rip(c));
			return false;
		}
		if (!halt_poll(c))
			block_until(c, halt_ready);
		return true;
	case KVM_EXIT_SHUTDOWN:
		end_run(v, VKVM_END_SHUTDOWN, VKVM_STATUS_SHUTDOWN,
			"guest triple fault (KVM_EXIT_SHUTDOWN) on vCPU %u", c->idx);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		end_run(v, VKVM_END_FAILURE, VKVM_STATUS_FAILURE,
			"KVM could not enter the guest (KVM_EXIT_FAIL_ENTRY, hardware reason 0x%llx)",
			(unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		end_run(v, VKVM_END_FAILURE, VKVM_STATUS_FAILURE,
			"KVM internal error (suberror %u%s) on vCPU %u at EIP 0x%llx",
			run->internal.suberror,
			run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ?
			", instruction emulation failed" : "", c->idx,
			(unsigned long long)vcpu_rip(c));
		return false;
	default: {
		const char *name = vkvm_exit_name(run->exit_reason);

		end_run(v, VKVM_END_FAILURE, VKVM_STATUS_FAILURE,
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
		consume_kick();
		return 0;
	}
	fail_run(v, err, "KVM_RUN");
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

		if (stopping(c->v))
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

		if (stopping(v))
			return;
		if (c->parked) {
			block_until(c, park_ready);
			continue;
		}
		/*
		 * IN_GUEST before the last look at the APIC: a sender that
		 * sets IRR or posts an event after that look sees IN_GUEST and
		 * signals us, and the signal (blocked out here) makes KVM_RUN
		 * return EINTR at once.
		 */
		vcpu_set_mode(c->vcpu, VCPU_IN_GUEST_MODE);
		if (!take_events(c) || c->parked || stopping(v) || !inject(c)) {
			vcpu_set_mode(c->vcpu, VCPU_OUTSIDE_GUEST_MODE);
			continue;
		}
		ret = run_guest(c, c->vcpu);
		if (ret < 0)
			return;
		if (!ret)
			continue;
		/* KVM stored the guest's CR8 and APIC base on exit: the APIC follows. */
		vkvm_lapic_set_base(&v->lapic, c->idx, run->apic_base);
		vkvm_lapic_set_cr8(&v->lapic, c->idx, run->cr8);
		if (!handle_exit(c))
			return;
	}
}

static void *cpu_main(void *arg)
{
	struct vkvm_cpu *c = arg;

	c->self = pthread_self();
	vkvm_trace_set_track(c->idx);
	store_release(&c->has_self, 1);
	if (c->v->kernel_chip) {
		cpu_loop_kernel(c);
		serial_flush(c);
		return NULL;
	}
	/* Loaded for the whole run: IsRunning then means "not halted". */
	if (vcpu_load(c->vcpu, (int)c->idx)) {
		fail_run(c->v, EINVAL, "loading the AVIC vCPU");
		return NULL;
	}
	cpu_loop(c);
	serial_flush(c);
	vcpu_put(c->vcpu);
	return NULL;
}

static void teardown(struct vkvm *v)
{
	for (uint32_t i = 0; i < v->nr; i++) {
		struct vkvm_cpu *c = &v->cpus[i];

		if (c->run)
			munmap(c->run, v->run_size);
		if (c->fd >= 0)
			close(c->fd);
	}
	if (v->vm_fd >= 0)
		close(v->vm_fd);
	if (v->kvm_fd >= 0)
		close(v->kvm_fd);
	if (v->ram)
		munmap(v->ram, v->ram_size);
	if (v->lapic_ready)
		vkvm_lapic_fini(&v->lapic);
}

static void collect(struct vkvm *v, struct vkvm_result *r)
{
	for (uint32_t i = 0; i < v->nr; i++) {
		for (unsigned int e = 0; e < VKVM_NR_EXIT_REASONS; e++)
			r->exits[e] += v->cpus[i].exits[e];
		r->exits_other += v->cpus[i].exits_other;
	}
	if (v->lapic_ready)
		vkvm_lapic_stats(&v->lapic, &r->apic);
}

int vkvm_run_guest(const struct vkvm_opts *o, struct vkvm_result *r,
		   enum vkvm_stage *stage, char *why, size_t why_size)
{
	struct vkvm *v;
	struct vkvm_trace trace = { 0 };
	pthread_condattr_t cattr;
	uint32_t started = 0;
	double start;
	sigset_t saved;
	bool masked = false;
	int ret;

	*stage = VKVM_STAGE_LOAD;
	if (why && why_size)
		why[0] = '\0';
	memset(r, 0, sizeof(*r));
	if (o->ram_mib < VKVM_MIN_RAM_MIB || o->ram_mib > VKVM_MAX_RAM_MIB)
		return say(why, why_size, -EINVAL, "RAM size %u MiB is outside %u..%u", o->ram_mib,
			   VKVM_MIN_RAM_MIB, VKVM_MAX_RAM_MIB);
	if (o->timeout_s > VKVM_MAX_TIMEOUT_S)
		return say(why, why_size, -EINVAL, "timeout %u s is above %u", o->timeout_s,
			   VKVM_MAX_TIMEOUT_S);
	if (o->nr_cpus > VKVM_MAX_CPUS)
		return say(why, why_size, -EINVAL, "%u vCPUs is outside 1..%u", o->nr_cpus,
			   VKVM_MAX_CPUS);
	if (o->halt_poll_us > VKVM_MAX_HALT_POLL_US)
		return say(why, why_size, -EINVAL, "halt polling %u us is above %u", o->halt_poll_us,
			   VKVM_MAX_HALT_POLL_US);
	if (o->irqchip != VKVM_IRQCHIP_AVIC && o->irqchip != VKVM_IRQCHIP_KERNEL)
		return say(why, why_size, -EINVAL, "unknown irqchip %d", (int)o->irqchip);
	v = calloc(1, sizeof(*v));
	if (!v)
		return say(why, why_size, -ENOMEM, "out of memory");
	v->kvm_fd = v->vm_fd = -1;
	v->nr = o->nr_cpus ? o->nr_cpus : 1;
	v->kernel_chip = o->irqchip == VKVM_IRQCHIP_KERNEL;
	for (uint32_t i = 0; i < v->nr; i++) {
		v->cpus[i].fd = -1;
		v->cpus[i].v = v;
		v->cpus[i].idx = i;
		/* APs wait for INIT, then STARTUP: in KVM itself on its LAPIC. */
		v->cpus[i].parked = i != 0 && !v->kernel_chip;
	}
	v->r = r;
	r->nr_cpus = v->nr;
	r->irqchip = o->irqchip;
	v->ram_size = (uint64_t)o->ram_mib << 20;
	v->out_fd = o->out_fd;
	v->timeout_s = o->timeout_s;
	v->halt_poll_ns = (uint64_t)o->halt_poll_us * 1000;
	pthread_mutex_init(&v->io_lock, NULL);
	pthread_mutex_init(&v->end_lock, NULL);
	pthread_mutex_init(&v->lock, NULL);
	/* The deadline is on CLOCK_MONOTONIC: wall-clock jumps must not matter. */
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&v->cond, &cattr);
	pthread_condattr_destroy(&cattr);

	/* NORESERVE: a 4 GiB guest that touches 1 MiB costs 1 MiB. */
	v->ram = mmap(NULL, v->ram_size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (v->ram == MAP_FAILED) {
		v->ram = NULL;
		ret = say(why, why_size, -errno, "cannot map %u MiB of guest RAM: %s",
			  o->ram_mib, strerror(errno));
		goto out;
	}
	/* Load first: a bad image is reported before /dev/kvm is touched. */
	ret = mboot_load(&o->boot, v->ram, v->ram_size, &r->layout, why, why_size);
	if (ret)
		goto out;
	if (o->trace_path) {
		FILE *f = fopen(o->trace_path, "w");

		if (!f) {
			ret = say(why, why_size, -errno, "cannot write the trace %s: %s",
				  o->trace_path, strerror(errno));
			goto out;
		}
		fclose(f);
		if (vkvm_trace_init(&trace, v->nr, VKVM_TRACE_EVENTS)) {
			ret = say(why, why_size, -ENOMEM, "out of memory for the trace");
			goto out;
		}
		v->trace = &trace;
	}
	v->lay = &r->layout;

	*stage = VKVM_STAGE_KVM;
	masked = true;
	setup_signals(v, &saved);
	ret = setup_vm(v, why, why_size);
	if (!ret)
		ret = setup_bsp(&v->cpus[0], &r->layout, why, why_size);
	if (!ret && !v->kernel_chip)
		ret = vkvm_lapic_init(&v->lapic, v->nr, why, why_size);
	if (ret)
		goto out;
	if (!v->kernel_chip) {
		v->lapic_ready = true;
		v->lapic.kick = lapic_kick;
		v->lapic.opaque = v;
		v->lapic.trace = v->trace;
		for (uint32_t i = 0; i < v->nr; i++)
			v->cpus[i].vcpu = v->lapic.vcpus[i];
		host_doorbell_set_handler(on_doorbell, v);
		ret = vkvm_lapic_timer_start(&v->lapic, why, why_size);
		if (ret)
			goto out_doorbell;
	}

	*stage = VKVM_STAGE_RUN;
	start = now_s();
	if (v->timeout_s) {
		ret = -pthread_create(&v->timer_thread, NULL, timer_main, v);
		if (ret) {
			say(why, why_size, ret, "cannot start the timeout thread: %s",
			    strerror(-ret));
			goto out_doorbell;
		}
		v->timer_started = true;
	}
	for (; started < v->nr; started++) {
		ret = -pthread_create(&v->threads[started], NULL, cpu_main, &v->cpus[started]);
		if (ret) {
			fail_run(v, -ret, "cannot start a vCPU thread");
			break;
		}
	}
	for (uint32_t i = 0; i < started; i++)
		pthread_join(v->threads[i], NULL);
	r->seconds = now_s() - start;
	/* No expiry may kick a vCPU thread that is gone. */
	if (v->lapic_ready)
		vkvm_lapic_timer_stop(&v->lapic);

	if (v->timer_started) {
		pthread_mutex_lock(&v->lock);
		v->done = true;
		pthread_cond_signal(&v->cond);
		pthread_mutex_unlock(&v->lock);
		pthread_join(v->timer_thread, NULL);
	}
	collect(v, r);
	if (v->trace) {
		for (uint32_t i = 0; i < trace.nr_tracks; i++) {
			r->trace_events += trace.tracks[i].n;
			r->trace_dropped += trace.tracks[i].dropped;
		}
		ret = vkvm_trace_write(&trace, o->trace_path, v->kernel_chip ? "kernel" : "avic");
		if (ret && !v->err) {
			v->err = ret;
			snprintf(v->why, sizeof(v->why), "cannot write the trace %s: %s",
				 o->trace_path, strerror(-ret));
		}
	}
	r->x2apic = v->kernel_chip || v->msrs.x2apic;
	r->tsc_deadline = v->kernel_chip || v->msrs.tsc_deadline;
	ret = v->err;
	if (ret)
		say(why, why_size, ret, "%s", v->why);
out_doorbell:
	if (v->lapic_ready)
		vkvm_lapic_timer_stop(&v->lapic);
	host_doorbell_set_handler(NULL, NULL);
out:
	if (masked) {
		/* A late kick must not outlive the run. */
		consume_kick();
		pthread_sigmask(SIG_SETMASK, &saved, NULL);
	}
	teardown(v);
	vkvm_trace_fini(&trace);
	pthread_cond_destroy(&v->cond);
	pthread_mutex_destroy(&v->lock);
	pthread_mutex_destroy(&v->end_lock);
	pthread_mutex_destroy(&v->io_lock);
	free(v);
	if (!ret)
		*stage = VKVM_STAGE_NONE;
	return ret;
}

#endif /* __x86_64__ */
