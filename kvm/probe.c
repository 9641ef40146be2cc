// SPDX-License-Identifier: MIT
/*
 * Start-up probe: does this kernel hand a guest's x2APIC, TSC-deadline and
 * APIC-base MSR accesses to userspace when there is no in-kernel LAPIC?
 *
 * KVM's documentation says x2APIC cannot be emulated in userspace; on the
 * kernels measured here a WRMSR to 0x800-0x8FF nevertheless exits as
 * KVM_EXIT_X86_WRMSR (reason INVAL) once KVM_CAP_X86_USER_SPACE_MSR asks
 * for INVAL exits and CPUID advertises x2APIC.  Because that is not
 * promised, a throw-away one-vCPU VM runs a 16-bit stub that writes and
 * reads IA32_APIC_BASE (0x1B, routed by the MSR filter: every access must
 * exit, reason FILTER, not only the ones KVM would refuse), writes SVR
 * (0x80F), reads the APIC ID (0x802) and writes IA32_TSC_DEADLINE (0x6E0,
 * routed by the filter), then halts.  Each access must arrive as the
 * expected exit, in order; one that does not exit is missed, another MSR
 * exit is answered and passed over, and anything else (an exception, which
 * the stub's IVT sends to a second HLT, or another exit) ends the probe.
 * A feature whose accesses did not all arrive stays off: the runner hides
 * it in CPUID, or for IA32_APIC_BASE follows KVM's copy after exits.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vintc/host.h>

#include "probe.h"

#ifdef __x86_64__
#include <linux/kvm.h>

#define PROBE_RAM	0x1000U
#define PROBE_CODE	0x100U
#define PROBE_TRAP	0x500U	/* every IVT vector lands on a HLT here */
#define PROBE_APIC_BASE	0xFEE00900U	/* default base, EN, BSP */
#define MSR_APIC_BASE	0x1BU
#define MSR_X2APIC_SVR	0x80FU
#define MSR_X2APIC_ID	0x802U
#define PROBE_MAX_EXITS	16

/*
 * mov ecx, 0x1B; mov eax, PROBE_APIC_BASE; xor edx, edx; wrmsr
 * mov ecx, 0x1B; rdmsr
 * mov ecx, 0x80F; xor eax, eax; xor edx, edx; wrmsr
 * mov ecx, 0x802; rdmsr
 * mov ecx, 0x6E0; xor eax, eax; wrmsr
 * hlt
 * (16-bit code: 0x66 selects 32-bit operands.)
 */
static const uint8_t probe_code[] = {
	0x66, 0xB9, 0x1B, 0x00, 0x00, 0x00, 0x66, 0xB8, 0x00, 0x09, 0xE0, 0xFE,
	0x66, 0x31, 0xD2, 0x0F, 0x30,
	0x66, 0xB9, 0x1B, 0x00, 0x00, 0x00, 0x0F, 0x32,
	0x66, 0xB9, 0x0F, 0x08, 0x00, 0x00, 0x66, 0x31, 0xC0, 0x66, 0x31, 0xD2, 0x0F, 0x30,
	0x66, 0xB9, 0x02, 0x08, 0x00, 0x00, 0x0F, 0x32,
	0x66, 0xB9, 0xE0, 0x06, 0x00, 0x00, 0x66, 0x31, 0xC0, 0x0F, 0x30,
	0xF4,
};

struct probe_step {
	uint32_t exit_reason, index;
	uint32_t reason;	/* KVM_MSR_EXIT_REASON_*, or 0: any */
	uint64_t data;		/* what a WRMSR writes */
};

enum {
	STEP_BASE_WRITE, STEP_BASE_READ, STEP_SVR, STEP_ID, STEP_TSC_DEADLINE, NR_STEPS
};

static const struct probe_step probe_steps[NR_STEPS] = {
	[STEP_BASE_WRITE] = { KVM_EXIT_X86_WRMSR, MSR_APIC_BASE, KVM_MSR_EXIT_REASON_FILTER,
			      PROBE_APIC_BASE },
	[STEP_BASE_READ] = { KVM_EXIT_X86_RDMSR, MSR_APIC_BASE, KVM_MSR_EXIT_REASON_FILTER, 0 },
	[STEP_SVR] = { KVM_EXIT_X86_WRMSR, MSR_X2APIC_SVR, 0, 0 },
	[STEP_ID] = { KVM_EXIT_X86_RDMSR, MSR_X2APIC_ID, 0, 0 },
	[STEP_TSC_DEADLINE] = { KVM_EXIT_X86_WRMSR, VKVM_MSR_TSC_DEADLINE, 0, 0 },
};

int vkvm_msr_exits_enable(int vm_fd, const struct vkvm_msr_probe *filter)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_X86_USER_SPACE_MSR,
		.args[0] = KVM_MSR_EXIT_REASON_INVAL | KVM_MSR_EXIT_REASON_UNKNOWN |
			   KVM_MSR_EXIT_REASON_FILTER,
	};
	/* One MSR a range, denied for reads and writes: every access exits (FILTER). */
	uint8_t deny = 0;
	struct kvm_msr_filter f = { .flags = KVM_MSR_FILTER_DEFAULT_ALLOW };
	uint32_t n = 0;

	if (filter->tsc_deadline)
		f.ranges[n++] = (struct kvm_msr_filter_range){
			.flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE,
			.nmsrs = 1, .base = VKVM_MSR_TSC_DEADLINE, .bitmap = &deny,
		};
	if (filter->apic_base)
		f.ranges[n++] = (struct kvm_msr_filter_range){
			.flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE,
			.nmsrs = 1, .base = MSR_APIC_BASE, .bitmap = &deny,
		};
	if (ioctl(vm_fd, KVM_ENABLE_CAP, &cap) < 0)
		return -errno;
	if (n && ioctl(vm_fd, KVM_X86_SET_MSR_FILTER, &f) < 0)
		return -errno;
	return 0;
}

/* The guest's CPUID (x2APIC advertised); *maxphyaddr from leaf 0x80000008. */
static int probe_cpuid(int kvm_fd, int vcpu_fd, uint32_t *maxphyaddr)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 256 * sizeof(c->entries[0]));
	int ret = 0;

	if (!c)
		return -ENOMEM;
	c->nent = 256;
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0)
		ret = -errno;
	for (uint32_t i = 0; !ret && i < c->nent; i++) {
		if (c->entries[i].function == 1)
			c->entries[i].ecx |= 1U << 21;	/* x2APIC */
		if (c->entries[i].function == 0x80000008U)
			*maxphyaddr = c->entries[i].eax & 0xFF;
	}
	if (!ret && ioctl(vcpu_fd, KVM_SET_CPUID2, c) < 0)
		ret = -errno;
	free(c);
	return ret;
}

/* The first step from `next` on that this MSR exit is, or NR_STEPS. */
static unsigned int probe_match(const struct kvm_run *run, unsigned int next)
{
	for (unsigned int k = next; k < NR_STEPS; k++) {
		const struct probe_step *want = &probe_steps[k];

		if (run->exit_reason != want->exit_reason || run->msr.index != want->index)
			continue;
		if (want->reason && run->msr.reason != want->reason)
			continue;
		if (want->exit_reason == KVM_EXIT_X86_WRMSR && run->msr.data != want->data)
			continue;
		return k;
	}
	return NR_STEPS;
}

/* Run the stub; *found gets a bit for each probe step that exited as expected. */
static int probe_run(int kvm_fd, int vm_fd, uint8_t *ram, uint32_t *found,
		     uint32_t *maxphyaddr)
{
	static const struct vkvm_msr_probe all = {
		.x2apic = true, .tsc_deadline = true, .apic_base = true,
	};
	unsigned int next = 0;
	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = PROBE_RAM,
		.userspace_addr = (uintptr_t)ram,
	};
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *run;
	int fd, size, ret = 0;

	*found = 0;
	for (uint32_t v = 0; v < 256; v++) {
		/* IVT entry v: offset PROBE_TRAP, segment 0. */
		uint32_t ent = PROBE_TRAP;

		memcpy(ram + v * 4, &ent, 4);
	}
	ram[PROBE_TRAP] = 0xF4;
	memcpy(ram + PROBE_CODE, probe_code, sizeof(probe_code));
	if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return -errno;
	ret = vkvm_msr_exits_enable(vm_fd, &all);
	if (ret)
		return ret;
	size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size < (int)sizeof(*run))
		return -EINVAL;
	fd = ioctl(vm_fd, KVM_CREATE_VCPU, 0UL);
	if (fd < 0)
		return -errno;
	run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (run == MAP_FAILED) {
		close(fd);
		return -errno;
	}
	ret = probe_cpuid(kvm_fd, fd, maxphyaddr);
	if (!ret && ioctl(fd, KVM_GET_SREGS, &sregs) < 0)
		ret = -errno;
	if (!ret) {
		sregs.cs.base = 0;
		sregs.cs.selector = 0;
		if (ioctl(fd, KVM_SET_SREGS, &sregs) < 0)
			ret = -errno;
	}
	if (!ret) {
		memset(&regs, 0, sizeof(regs));
		regs.rip = PROBE_CODE;
		regs.rflags = 0x2;
		if (ioctl(fd, KVM_SET_REGS, &regs) < 0)
			ret = -errno;
	}
	for (unsigned int n = 0; !ret && n < PROBE_MAX_EXITS && next < NR_STEPS; n++) {
		unsigned int k;

		if (ioctl(fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			ret = -errno;
			break;
		}
		if (run->exit_reason != KVM_EXIT_X86_WRMSR && run->exit_reason != KVM_EXIT_X86_RDMSR)
			break;
		/* Another MSR exit (e.g. a refused access, reason INVAL): answered, passed over. */
		k = probe_match(run, next);
		if (k < NR_STEPS) {
			*found |= 1U << k;
			next = k + 1;
		}
		run->msr.error = 0;
		run->msr.data = 0;
	}
	munmap(run, (size_t)size);
	close(fd);
	return ret;
}

static struct vkvm_msr_probe probe_result;
static int probe_err;
static pthread_once_t probe_once = PTHREAD_ONCE_INIT;

static void probe_do(void)
{
	uint8_t *ram;
	uint32_t found = 0;
	int kvm_fd, vm_fd;

	probe_result.maxphyaddr = 36;	/* without CPUID leaf 0x80000008 */
	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0) {
		probe_err = -errno;
		return;
	}
	vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm_fd < 0) {
		probe_err = -errno;
		close(kvm_fd);
		return;
	}
	ram = mmap(NULL, PROBE_RAM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ram == MAP_FAILED) {
		probe_err = -errno;
	} else {
		probe_err = probe_run(kvm_fd, vm_fd, ram, &found, &probe_result.maxphyaddr);
		munmap(ram, PROBE_RAM);
	}
	close(vm_fd);
	close(kvm_fd);
	/* A refused capability or filter is an answer, not an error. */
	if (probe_err == -EINVAL || probe_err == -ENOTTY || probe_err == -ENXIO)
		probe_err = 0;
	probe_result.apic_base = (found & (1U << STEP_BASE_WRITE)) && (found & (1U << STEP_BASE_READ));
	probe_result.x2apic = (found & (1U << STEP_SVR)) && (found & (1U << STEP_ID));
	probe_result.tsc_deadline = found & (1U << STEP_TSC_DEADLINE);
	host_log(HOST_LOG_INFO, "kvm: MSR exits to userspace: x2APIC %s, IA32_TSC_DEADLINE %s, IA32_APIC_BASE %s%s",
		 probe_result.x2apic ? "yes" : "no", probe_result.tsc_deadline ? "yes" : "no",
		 probe_result.apic_base ? "yes" : "no", probe_err ? " (the probe could not run)" : "");
}

int vkvm_msr_probe(struct vkvm_msr_probe *out)
{
	pthread_once(&probe_once, probe_do);
	*out = probe_result;
	return probe_err;
}

#else

int vkvm_msr_exits_enable(int vm_fd, const struct vkvm_msr_probe *filter)
{
	(void)vm_fd;
	(void)filter;
	return -EOPNOTSUPP;
}

int vkvm_msr_probe(struct vkvm_msr_probe *out)
{
	memset(out, 0, sizeof(*out));
	return -EOPNOTSUPP;
}

#endif
