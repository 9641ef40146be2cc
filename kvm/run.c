// SPDX-License-Identifier: MIT
/*
 * Minimal Multiboot runner on /dev/kvm: one VM, one memslot of anonymous
 * RAM from guest-physical 0, one vCPU entered in flat 32-bit protected
 * mode, and a KVM_RUN loop serving the few ports of QEMU's PC machine
 * that test guests use.  No in-kernel irqchip: every later APIC decision
 * is meant to be vintc's, so KVM_CREATE_IRQCHIP is never called.
 *
 * The timeout uses a helper thread: it sets a flag and sends
 * VKVM_KICK_SIGNAL to the vCPU thread.  That signal is blocked in the vCPU
 * thread's own mask and unblocked only inside KVM_RUN (KVM_SET_SIGNAL_MASK),
 * so a kick arriving between the flag check and KVM_RUN stays pending and
 * makes KVM_RUN return EINTR at once: no kick is lost.
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

#include <vintc/kvm_run.h>

void vkvm_default_opts(struct vkvm_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->ram_mib = 64;
	o->timeout_s = 10;
	o->out_fd = STDOUT_FILENO;
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

/* Where the 3-page TSS KVM needs for real-mode emulation on VMX goes. */
#define TSS_ADDR	0xfffbd000ULL

#define SERIAL_BUF	4096

struct vkvm {
	int kvm_fd, vm_fd, vcpu_fd;
	struct kvm_run *run;
	size_t run_size;
	uint8_t *ram;
	uint64_t ram_size;

	/* COM1 */
	uint8_t lcr;
	char line[SERIAL_BUF];
	size_t line_len;
	int out_fd;

	/* timeout */
	pthread_t vcpu_thread, timer_thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool timer_started, done;
	int timed_out;		/* atomic */
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
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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

static void serial_flush(struct vkvm *v)
{
	size_t off = 0;

	while (off < v->line_len) {
		ssize_t n = write(v->out_fd, v->line + off, v->line_len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;	/* output lost; the guest runs on, as on a real UART */
		off += (size_t)n;
	}
	v->line_len = 0;
}

/* Line-buffered, so guest lines and vintc's own output never interleave. */
static void serial_putc(struct vkvm *v, uint8_t c)
{
	v->line[v->line_len++] = (char)c;
	if (c == '\n' || v->line_len == sizeof(v->line))
		serial_flush(v);
}

static void end_run(struct vkvm_result *r, enum vkvm_end end, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void end_run(struct vkvm_result *r, enum vkvm_end end, int status, const char *fmt, ...)
{
	va_list ap;

	r->end = end;
	r->exit_status = status;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
}

/* One port access of `size` bytes; returns true when the run ends. */
static bool handle_port(struct vkvm *v, struct vkvm_result *r, uint16_t port, bool out,
			uint8_t *data, unsigned int size)
{
	if (port == DEBUG_EXIT_PORT && out) {
		uint32_t val = 0;

		for (unsigned int i = 0; i < size && i < 4; i++)
			val |= (uint32_t)data[i] << (8 * i);
		r->debug_exit_value = val;
		end_run(r, VKVM_END_DEBUG_EXIT, (int)((val << 1) | 1),
			"guest wrote 0x%x to isa-debug-exit (0xf4): exit status %u", val,
			(val << 1) | 1);
		return true;
	}
	if (port >= COM1_BASE && port < COM1_BASE + 8) {
		if (out && port == COM1_THR && !(v->lcr & LCR_DLAB)) {
			serial_putc(v, data[0]);
			r->serial_bytes++;
			return false;
		}
		r->serial_other++;
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
		return false;
	}
	if (out) {
		r->port_writes++;
	} else {
		r->port_reads++;
		memset(data, 0xff, size);
	}
	return false;
}

static void *timer_main(void *arg)
{
	struct vkvm *v = arg;
	struct timespec deadline;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += v->timeout_s;
	pthread_mutex_lock(&v->lock);
	while (!v->done) {
		if (pthread_cond_timedwait(&v->cond, &v->lock, &deadline) == ETIMEDOUT) {
			__atomic_store_n(&v->timed_out, 1, __ATOMIC_SEQ_CST);
			pthread_kill(v->vcpu_thread, VKVM_KICK_SIGNAL);
			break;
		}
	}
	pthread_mutex_unlock(&v->lock);
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

static int setup_signals(struct vkvm *v, sigset_t *saved, char *why, size_t why_size)
{
	struct kvm_signal_mask *km;
	struct sigaction sa, old;
	sigset_t block, inside;
	int ret;

	/* Keep a handler someone else installed; replace only the default (fatal) one. */
	if (sigaction(VKVM_KICK_SIGNAL, NULL, &old) == 0 && old.sa_handler == SIG_DFL) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = kick_handler;
		sigemptyset(&sa.sa_mask);
		sigaction(VKVM_KICK_SIGNAL, &sa, NULL);
	}
	sigemptyset(&block);
	sigaddset(&block, VKVM_KICK_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &block, saved);

	/* Inside KVM_RUN: the thread's mask without the kick signal. */
	inside = *saved;
	sigdelset(&inside, VKVM_KICK_SIGNAL);
	km = malloc(sizeof(*km) + sizeof(sigset_t));
	if (!km)
		return say(why, why_size, -ENOMEM, "out of memory");
	km->len = 8;	/* the kernel's sigset_t on x86-64 */
	memcpy(km->sigset, &inside, 8);
	ret = ioctl(v->vcpu_fd, KVM_SET_SIGNAL_MASK, km);
	free(km);
	if (ret < 0) {
		int err = errno;

		return say(why, why_size, -err, "KVM_SET_SIGNAL_MASK: %s", strerror(err));
	}
	return 0;
}

/* Flat 32-bit protected mode, paging off, as Multiboot requires. */
static int setup_vcpu(struct vkvm *v, const struct mboot_layout *lay, char *why, size_t why_size)
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
	if (ioctl(v->vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return say(why, why_size, -errno, "KVM_GET_SREGS: %s", strerror(errno));
	sregs.cs = code;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.cr0 = 0x11;	/* PE, ET; PG off */
	sregs.cr4 = 0;
	sregs.efer = 0;
	if (ioctl(v->vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		return say(why, why_size, -errno, "KVM_SET_SREGS: %s", strerror(errno));

	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2;	/* reserved bit 1; IF = 0 */
	regs.rip = lay->entry;
	regs.rax = MBOOT_BOOT_MAGIC;
	regs.rbx = lay->info_addr;
	if (ioctl(v->vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return say(why, why_size, -errno, "KVM_SET_REGS: %s", strerror(errno));
	return 0;
}

static int setup_vm(struct vkvm *v, char *why, size_t why_size)
{
	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = v->ram_size,
		.userspace_addr = (uintptr_t)v->ram,
	};
	int fd, size;

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
	if (ioctl(v->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return say(why, why_size, -errno, "KVM_SET_USER_MEMORY_REGION: %s",
			   strerror(errno));
	v->vcpu_fd = ioctl(v->vm_fd, KVM_CREATE_VCPU, 0);
	if (v->vcpu_fd < 0)
		return say(why, why_size, -errno, "KVM_CREATE_VCPU: %s", strerror(errno));
	size = ioctl(v->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size < (int)sizeof(struct kvm_run))
		return say(why, why_size, size < 0 ? -errno : -EINVAL,
			   "KVM_GET_VCPU_MMAP_SIZE: %s", size < 0 ? strerror(errno) : "too small");
	v->run_size = (size_t)size;
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->vcpu_fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		return say(why, why_size, -errno, "mmap of the vCPU's kvm_run: %s",
			   strerror(errno));
	}
	return 0;
}

static void count_exit(struct vkvm_result *r, uint32_t reason)
{
	if (reason < VKVM_NR_EXIT_REASONS)
		r->exits[reason]++;
	else
		r->exits_other++;
}

/* EIP for messages; 0 if KVM will not say. */
static uint64_t vcpu_rip(struct vkvm *v)
{
	struct kvm_regs regs;

	if (ioctl(v->vcpu_fd, KVM_GET_REGS, &regs) < 0)
		return 0;
	return regs.rip;
}

/* The KVM_RUN loop.  0 when the guest ended (r says how), else -errno. */
static int run_loop(struct vkvm *v, struct vkvm_result *r, char *why, size_t why_size)
{
	struct kvm_run *run = v->run;

	for (;;) {
		if (__atomic_load_n(&v->timed_out, __ATOMIC_SEQ_CST)) {
			end_run(r, VKVM_END_TIMEOUT, VKVM_STATUS_TIMEOUT,
				"guest still running after the %u s timeout", v->timeout_s);
			return 0;
		}
		if (ioctl(v->vcpu_fd, KVM_RUN, 0) < 0) {
			int err = errno;

			if (err == EINTR || err == EAGAIN) {
				count_exit(r, KVM_EXIT_INTR);
				consume_kick();
				continue;
			}
			return say(why, why_size, -err, "KVM_RUN: %s", strerror(err));
		}
		count_exit(r, run->exit_reason);
		switch (run->exit_reason) {
		case KVM_EXIT_IO: {
			uint8_t *data = (uint8_t *)run + run->io.data_offset;
			bool out = run->io.direction == KVM_EXIT_IO_OUT;

			/* String I/O (rep outsb) arrives as count back-to-back items. */
			for (uint32_t i = 0; i < run->io.count; i++)
				if (handle_port(v, r, run->io.port, out, data + i * run->io.size,
						run->io.size))
					return 0;
			break;
		}
		case KVM_EXIT_MMIO:
			if (run->mmio.is_write) {
				r->mmio_writes++;
			} else {
				r->mmio_reads++;
				memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
			}
			break;
		case KVM_EXIT_INTR:
			break;
		case KVM_EXIT_HLT:
			/* RIP is past the HLT already. */
			end_run(r, VKVM_END_HALT, VKVM_STATUS_HALT,
				"guest halted (HLT before EIP 0x%llx) with nothing to wake it: no APIC yet",
				(unsigned long long)vcpu_rip(v));
			return 0;
		case KVM_EXIT_SHUTDOWN:
			end_run(r, VKVM_END_SHUTDOWN, VKVM_STATUS_SHUTDOWN,
				"guest triple fault (KVM_EXIT_SHUTDOWN)");
			return 0;
		case KVM_EXIT_FAIL_ENTRY:
			end_run(r, VKVM_END_FAILURE, VKVM_STATUS_FAILURE,
				"KVM could not enter the guest (KVM_EXIT_FAIL_ENTRY, hardware reason 0x%llx)",
				(unsigned long long)run->fail_entry.hardware_entry_failure_reason);
			return 0;
		case KVM_EXIT_INTERNAL_ERROR:
			end_run(r, VKVM_END_FAILURE, VKVM_STATUS_FAILURE,
				"KVM internal error (suberror %u%s)", run->internal.suberror,
				run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ?
				", instruction emulation failed" : "");
			return 0;
		default: {
			const char *name = vkvm_exit_name(run->exit_reason);

			end_run(r, VKVM_END_FAILURE, VKVM_STATUS_FAILURE,
				"unhandled KVM exit %u (%s)", run->exit_reason,
				name ? name : "unknown");
			return 0;
		}
		}
	}
}

static void teardown(struct vkvm *v)
{
	if (v->run)
		munmap(v->run, v->run_size);
	if (v->vcpu_fd >= 0)
		close(v->vcpu_fd);
	if (v->vm_fd >= 0)
		close(v->vm_fd);
	if (v->kvm_fd >= 0)
		close(v->kvm_fd);
	if (v->ram)
		munmap(v->ram, v->ram_size);
}

int vkvm_run_guest(const struct vkvm_opts *o, struct vkvm_result *r,
		   enum vkvm_stage *stage, char *why, size_t why_size)
{
	struct vkvm v = { .kvm_fd = -1, .vm_fd = -1, .vcpu_fd = -1 };
	pthread_condattr_t cattr;
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
	v.ram_size = (uint64_t)o->ram_mib << 20;
	v.out_fd = o->out_fd;
	v.timeout_s = o->timeout_s;

	/* NORESERVE: a 4 GiB guest that touches 1 MiB costs 1 MiB. */
	v.ram = mmap(NULL, v.ram_size, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (v.ram == MAP_FAILED) {
		v.ram = NULL;
		return say(why, why_size, -errno, "cannot map %u MiB of guest RAM: %s",
			   o->ram_mib, strerror(errno));
	}
	/* Load first: a bad image is reported before /dev/kvm is touched. */
	ret = mboot_load(&o->boot, v.ram, v.ram_size, &r->layout, why, why_size);
	if (ret)
		goto out;

	*stage = VKVM_STAGE_KVM;
	ret = setup_vm(&v, why, why_size);
	if (!ret)
		ret = setup_vcpu(&v, &r->layout, why, why_size);
	if (!ret) {
		masked = true;
		ret = setup_signals(&v, &saved, why, why_size);
	}
	if (ret)
		goto out;

	v.vcpu_thread = pthread_self();
	pthread_mutex_init(&v.lock, NULL);
	/* The deadline is on CLOCK_MONOTONIC: wall-clock jumps must not matter. */
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&v.cond, &cattr);
	pthread_condattr_destroy(&cattr);
	if (v.timeout_s) {
		ret = -pthread_create(&v.timer_thread, NULL, timer_main, &v);
		if (ret) {
			say(why, why_size, ret, "cannot start the timeout thread: %s",
			    strerror(-ret));
			goto out_sync;
		}
		v.timer_started = true;
	}

	*stage = VKVM_STAGE_RUN;
	start = now_s();
	ret = run_loop(&v, r, why, why_size);
	r->seconds = now_s() - start;
	serial_flush(&v);

	if (v.timer_started) {
		pthread_mutex_lock(&v.lock);
		v.done = true;
		pthread_cond_signal(&v.cond);
		pthread_mutex_unlock(&v.lock);
		pthread_join(v.timer_thread, NULL);
	}
out_sync:
	pthread_cond_destroy(&v.cond);
	pthread_mutex_destroy(&v.lock);
out:
	if (masked) {
		/* A late kick must not outlive the run. */
		consume_kick();
		pthread_sigmask(SIG_SETMASK, &saved, NULL);
	}
	teardown(&v);
	if (!ret)
		*stage = VKVM_STAGE_NONE;
	return ret;
}

#endif /* __x86_64__ */
