// SPDX-License-Identifier: MIT
/*
 * Start-up probe: does this kernel hand a guest's x2APIC and TSC-deadline
 * MSR accesses to userspace when there is no in-kernel LAPIC?
 *
 * KVM's documentation says x2APIC cannot be emulated in userspace; on the
 * kernels measured here a WRMSR to 0x800-0x8FF nevertheless exits as
 * KVM_EXIT_X86_WRMSR (reason INVAL) once KVM_CAP_X86_USER_SPACE_MSR asks
 * for INVAL exits and CPUID advertises x2APIC.  Because that is not
 * promised, a throw-away one-vCPU VM runs a 16-bit stub that writes SVR
 * (0x80F), reads the APIC ID (0x802) and writes IA32_TSC_DEADLINE (0x6E0,
 * routed by an MSR filter), then halts.  Each access must arrive as the
 * expected exit, in order; anything else (an exception, which the stub's
 * IVT sends to a second HLT, or another exit) means "not delivered", and
 * the runner then hides the feature in CPUID.
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
#define MSR_X2APIC_SVR	0x80FU
#define MSR_X2APIC_ID	0x802U
#define PROBE_MAX_EXITS	16

/*
 * mov ecx, 0x80F; xor eax, eax; xor edx, edx; wrmsr
 * mov ecx, 0x802; rdmsr
 * mov ecx, 0x6E0; xor eax, eax; wrmsr
 * hlt
 * (16-bit code: 0x66 selects 32-bit operands.)
 */
static const uint8_t probe_code[] = {
	0x66, 0xB9, 0x0F, 0x08, 0x00, 0x00, 0x66, 0x31, 0xC0, 0x66, 0x31, 0xD2, 0x0F, 0x30,
	0x66, 0xB9, 0x02, 0x08, 0x00, 0x00, 0x0F, 0x32,
	0x66, 0xB9, 0xE0, 0x06, 0x00, 0x00, 0x66, 0x31, 0xC0, 0x0F, 0x30,
	0xF4,
};

struct probe_step {
	uint32_t exit_reason, index;
};

static const struct probe_step probe_steps[] = {
	{ KVM_EXIT_X86_WRMSR, MSR_X2APIC_SVR },
	{ KVM_EXIT_X86_RDMSR, MSR_X2APIC_ID },
	{ KVM_EXIT_X86_WRMSR, VKVM_MSR_TSC_DEADLINE },
};

int vkvm_msr_exits_enable(int vm_fd)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_X86_USER_SPACE_MSR,
		.args[0] = KVM_MSR_EXIT_REASON_INVAL | KVM_MSR_EXIT_REASON_UNKNOWN |
			   KVM_MSR_EXIT_REASON_FILTER,
	};
	/* One MSR, denied for reads and writes: every access exits (FILTER). */
	static uint8_t deny;
	struct kvm_msr_filter filter = {
		.flags = KVM_MSR_FILTER_DEFAULT_ALLOW,
		.ranges[0] = {
			.flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE,
			.nmsrs = 1,
			.base = VKVM_MSR_TSC_DEADLINE,
			.bitmap = &deny,
		},
	};

	if (ioctl(vm_fd, KVM_ENABLE_CAP, &cap) < 0)
		return -errno;
	if (ioctl(vm_fd, KVM_X86_SET_MSR_FILTER, &filter) < 0)
		return -errno;
	return 0;
}

static int probe_cpuid(int kvm_fd, int vcpu_fd)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 256 * sizeof(c->entries[0]));
	int ret = 0;

	if (!c)
		return -ENOMEM;
	c->nent = 256;
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0)
		ret = -errno;
	for (uint32_t i = 0; !ret && i < c->nent; i++)
		if (c->entries[i].function == 1)
			c->entries[i].ecx |= 1U << 21;	/* x2APIC */
	if (!ret && ioctl(vcpu_fd, KVM_SET_CPUID2, c) < 0)
		ret = -errno;
	free(c);
	return ret;
}

/* Run the stub; *found gets how many probe steps exited as expected. */
static int probe_run(int kvm_fd, int vm_fd, uint8_t *ram, unsigned int *found)
{
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
	ret = vkvm_msr_exits_enable(vm_fd);
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
	ret = probe_cpuid(kvm_fd, fd);
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
	for (unsigned int n = 0; !ret && n < PROBE_MAX_EXITS; n++) {
		const struct probe_step *want = &probe_steps[*found];

		if (ioctl(fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			ret = -errno;
			break;
		}
		if (run->exit_reason == KVM_EXIT_HLT || *found == ARRAY_SIZE(probe_steps))
			break;
		if (run->exit_reason != want->exit_reason || run->msr.index != want->index)
			break;
		run->msr.error = 0;
		run->msr.data = 0;
		++*found;
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
	unsigned int found = 0;
	int kvm_fd, vm_fd;

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
		probe_err = probe_run(kvm_fd, vm_fd, ram, &found);
		munmap(ram, PROBE_RAM);
	}
	close(vm_fd);
	close(kvm_fd);
	/* A refused capability or filter is an answer, not an error. */
	if (probe_err == -EINVAL || probe_err == -ENOTTY || probe_err == -ENXIO)
		probe_err = 0;
	probe_result.x2apic = found >= 2;
	probe_result.tsc_deadline = found >= 3;
}

int vkvm_msr_probe(struct vkvm_msr_probe *out)
{
	pthread_once(&probe_once, probe_do);
	*out = probe_result;
	return probe_err;
}

#else

int vkvm_msr_exits_enable(int vm_fd)
{
	(void)vm_fd;
	return -EOPNOTSUPP;
}

int vkvm_msr_probe(struct vkvm_msr_probe *out)
{
	memset(out, 0, sizeof(*out));
	return -EOPNOTSUPP;
}

#endif
