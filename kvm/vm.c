// SPDX-License-Identifier: MIT
/*
 * The VM: /dev/kvm, the VM and its memslots, the vCPUs' file descriptors
 * and kvm_run pages, CPUID, the boot CPU's entry state and an AP's start
 * at its STARTUP vector.  Guest RAM is anonymous memory from
 * guest-physical 0 up to 3 GiB at most, the rest from 4 GiB: the hole
 * holds the I/O APIC and the xAPIC page, so that every access to them
 * exits (kvm/devices/lapic_window.c answers the xAPIC page).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vintc/amd_defs.h>

#include "irq.h"
#include "vkvm.h"

#ifdef __x86_64__

#include <linux/kvm.h>

/* Where the 3-page TSS KVM needs for real-mode emulation on VMX goes. */
#define TSS_ADDR	0xfffbd000ULL

/* Open /dev/kvm and check the API version; returns the fd or -errno. */
int vkvm_open(char *why, size_t why_size)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC), ver;

	if (fd < 0) {
		int err = errno;

		return vkvm_say(why, why_size, -err, "cannot open /dev/kvm: %s", strerror(err));
	}
	ver = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (ver < 0) {
		int err = errno;

		close(fd);
		return vkvm_say(why, why_size, -err, "/dev/kvm is not a KVM device: %s",
			   strerror(err));
	}
	if (ver != KVM_API_VERSION) {
		close(fd);
		return vkvm_say(why, why_size, -ENOTSUP, "/dev/kvm has API version %d, want %d", ver,
			   KVM_API_VERSION);
	}
	return fd;
}

int vkvm_probe(char *why, size_t why_size)
{
	int fd = vkvm_open(why, why_size), vm;

	if (fd < 0)
		return fd;
	vm = ioctl(fd, KVM_CREATE_VM, 0);
	if (vm < 0) {
		int err = errno;

		close(fd);
		return vkvm_say(why, why_size, -err, "/dev/kvm cannot create a VM: %s", strerror(err));
	}
	close(vm);
	close(fd);
	return 0;
}

static int set_signal_mask(struct vkvm *v, int fd, char *why, size_t why_size)
{
	struct kvm_signal_mask *km;
	int ret;

	km = malloc(sizeof(*km) + sizeof(sigset_t));
	if (!km)
		return vkvm_say(why, why_size, -ENOMEM, "out of memory");
	km->len = 8;	/* the kernel's sigset_t on x86-64 */
	memcpy(km->sigset, &v->inside, 8);
	ret = ioctl(fd, KVM_SET_SIGNAL_MASK, km);
	free(km);
	if (ret < 0) {
		int err = errno;

		return vkvm_say(why, why_size, -err, "KVM_SET_SIGNAL_MASK: %s", strerror(err));
	}
	return 0;
}

/*
 * 64-bit long mode on the loader's identity map and GDT, as the bzImage
 * 64-bit boot protocol enters: __BOOT_CS (0x10) flat 64-bit code,
 * __BOOT_DS (0x18) flat data in every data segment register.
 */
static void setup_long_mode(struct kvm_sregs *sregs, const struct mboot_layout *lay)
{
	sregs->cs.selector = 0x10;
	sregs->cs.l = 1;
	sregs->cs.db = 0;
	sregs->ds.selector = sregs->es.selector = sregs->fs.selector = 0x18;
	sregs->gs.selector = sregs->ss.selector = 0x18;
	sregs->gdt.base = lay->gdt_addr;
	sregs->gdt.limit = 4 * 8 - 1;
	sregs->cr3 = lay->cr3;
	sregs->cr4 = 0x20;		/* PAE */
	sregs->cr0 = 0x80000011;	/* PG, ET, PE */
	sregs->efer = 0x500;		/* LMA, LME */
}

/* Flat 32-bit protected mode, paging off, as Multiboot requires; long mode with lay->cr3. */

int vkvm_vm_setup_bsp(struct vkvm_cpu *c, const struct mboot_layout *lay, char *why,
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
		return vkvm_say(why, why_size, -errno, "KVM_GET_SREGS: %s", strerror(errno));
	sregs.cs = code;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.cr0 = 0x11;	/* PE, ET; PG off */
	sregs.cr4 = 0;
	sregs.efer = 0;
	if (lay->cr3)
		setup_long_mode(&sregs, lay);
	if (ioctl(c->fd, KVM_SET_SREGS, &sregs) < 0)
		return vkvm_say(why, why_size, -errno, "KVM_SET_SREGS: %s", strerror(errno));

	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2;	/* reserved bit 1; IF = 0 */
	regs.rip = lay->entry;
	/* The boot protocol's registers (Multiboot: EAX magic, EBX info; PVH: EBX). */
	regs.rax = lay->eax;
	regs.rbx = lay->ebx;
	regs.rsi = lay->esi;
	if (ioctl(c->fd, KVM_SET_REGS, &regs) < 0)
		return vkvm_say(why, why_size, -errno, "KVM_SET_REGS: %s", strerror(errno));
	return 0;
}

int vkvm_vm_start_ap(struct vkvm_cpu *c, uint8_t vector)
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
		return vkvm_say(why, why_size, -errno, "KVM_SET_USER_MEMORY_REGION: %s",
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
 * - both hide the KVM paravirtual features (leaf 0x40000001 EAX) whose
 *   MSRs or hypercalls need KVM's own LAPIC: under avic KVM has none and
 *   refuses their MSRs (#GP) or drops their hypercalls, and hiding them
 *   under kernel keeps the guest on the same architectural paths in the
 *   side-by-side comparison.  guests/pvmsr.c writes every PV MSR left.
 */
#define CPUID_MAX_ENTRIES	256
#define CPUID_1_ECX_X2APIC	(1U << 21)
#define CPUID_1_ECX_TSC_DEADLINE (1U << 24)
#define KVM_CPUID_FEATURES_LEAF	0x40000001U
/* KVM_FEATURE_* (Documentation/virt/kvm/x86/cpuid.rst) that need KVM's LAPIC. */
#define KVM_PV_NEEDS_KVM_LAPIC						\
	((1U << 4)	/* ASYNC_PF: MSR 0x4b564d02 refused without it */	\
	 | (1U << 6)	/* PV_EOI: MSR 0x4b564d04, an EOI KVM's LAPIC does */	\
	 | (1U << 7)	/* PV_UNHALT: KICK_CPU hypercall wakes via KVM's LAPIC */ \
	 | (1U << 10)	/* ASYNC_PF_VMEXIT: a mode of ASYNC_PF */		\
	 | (1U << 11)	/* PV_SEND_IPI: SEND_IPI hypercall into KVM's LAPIC */	\
	 | (1U << 13)	/* PV_SCHED_YIELD: finds the target in KVM's APIC map */ \
	 | (1U << 14)	/* ASYNC_PF_INT: MSR 0x4b564d06 refused without it */	\
	 | (1U << 15))	/* MSI_EXT_DEST_ID: no such routing here */

static struct kvm_cpuid2 *cpuid_supported(struct vkvm *v, char *why, size_t why_size)
{
	struct kvm_cpuid2 *cpuid;

	cpuid = calloc(1, sizeof(*cpuid) + CPUID_MAX_ENTRIES * sizeof(cpuid->entries[0]));
	if (!cpuid) {
		vkvm_say(why, why_size, -ENOMEM, "out of memory");
		return NULL;
	}
	cpuid->nent = CPUID_MAX_ENTRIES;
	if (ioctl(v->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) < 0) {
		vkvm_say(why, why_size, -errno, "KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
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
			e->eax &= ~KVM_PV_NEEDS_KVM_LAPIC;
			break;
		}
	}
	if (ioctl(c->fd, KVM_SET_CPUID2, cpuid) < 0)
		return vkvm_say(why, why_size, -errno, "KVM_SET_CPUID2 on vCPU %u: %s", c->idx,
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
		return vkvm_say(why, why_size, -errno, "KVM_GET_SREGS: %s", strerror(errno));
	sregs.apic_base = VKVM_APIC_BASE | MSR_IA32_APICBASE_ENABLE |
			  (c->idx == 0 ? MSR_IA32_APICBASE_BSP : 0);
	if (ioctl(c->fd, KVM_SET_SREGS, &sregs) < 0)
		return vkvm_say(why, why_size, -errno, "KVM_SET_SREGS (APIC base): %s",
			   strerror(errno));
	tsc_khz = ioctl(c->fd, KVM_GET_TSC_KHZ, 0);
	if (tsc_khz > 0)
		c->v->tsc_khz = (uint64_t)tsc_khz;
	return 0;
}

/*
 * A guest WRMSR of IA32_APIC_BASE, routed here by the MSR filter (KVM
 * never sees it).  The model decides (#GP: -EINVAL); then KVM's copy
 * follows, host-initiated, so that CPUID.1:EDX[9] keeps tracking EN and
 * run->apic_base agrees (KVM refusing it is a #GP as well, before the
 * model moved); then the userspace APIC, and CR8 after a reset.  Other
 * -errno: KVM_SET_MSRS failed.
 */
int vkvm_vm_write_apic_base(struct vkvm_cpu *c, uint64_t val)
{
	struct vkvm_lapic *l = &c->v->lapic;
	union {
		struct kvm_msrs h;
		uint8_t bytes[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
	} m;
	int ret = vkvm_lapic_check_base(l, c->idx, val, c->v->msrs.x2apic,
					c->v->msrs.maxphyaddr);

	if (ret)
		return ret;
	memset(&m, 0, sizeof(m));
	m.h.nmsrs = 1;
	m.h.entries[0].index = MSR_IA32_APICBASE;
	m.h.entries[0].data = val;
	ret = ioctl(c->fd, KVM_SET_MSRS, &m);
	if (ret < 0)
		return -errno;
	if (ret != 1)
		return -EINVAL;
	if (vkvm_lapic_set_base(l, c->idx, val))
		c->run->cr8 = vkvm_lapic_cr8(l, c->idx);
	return 0;
}

int vkvm_vm_create(struct vkvm *v, char *why, size_t why_size)
{
	struct kvm_cpuid2 *sup, *cpuid;
	uint64_t low = vkvm_ram_low(v->ram_size);
	int fd, size, ret;

	fd = vkvm_open(why, why_size);
	if (fd < 0)
		return fd;
	v->kvm_fd = fd;
	v->vm_fd = ioctl(v->kvm_fd, KVM_CREATE_VM, 0);
	if (v->vm_fd < 0)
		return vkvm_say(why, why_size, -errno, "/dev/kvm cannot create a VM: %s",
			   strerror(errno));
	/*
	 * VMX without unrestricted guest emulates real mode through a TSS
	 * KVM keeps in guest memory; it goes in the hole below 4 GiB, where
	 * RAM never is.
	 */
	(void)ioctl(v->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)TSS_ADDR);
	/*
	 * KVM's own LAPICs, and nothing else of its irqchip (the PIC and the
	 * I/O APIC are ours, as under --irqchip=avic): before any vCPU
	 * exists.  args[0]: the GSIs whose MSI routes name the I/O APIC's
	 * level vectors, whose EOIs then exit (kvm/irq.c).
	 */
	if (v->kernel_chip) {
		struct kvm_enable_cap cap = {
			.cap = KVM_CAP_SPLIT_IRQCHIP,
			.args = { VKVM_NR_GSIS },
		};

		if (ioctl(v->vm_fd, KVM_ENABLE_CAP, &cap) < 0)
			return vkvm_say(why, why_size, -errno,
					"KVM_CAP_SPLIT_IRQCHIP (--irqchip=kernel): %s",
					strerror(errno));
	}
	/*
	 * RAM below 3 GiB, and the rest from 4 GiB in a second slot: the
	 * hole between has no memslot, so every access to the I/O APIC and
	 * the xAPIC page exits as KVM_EXIT_MMIO.
	 */
	ret = add_slot(v, 0, 0, low, why, why_size);
	if (!ret && v->ram_size > low)
		ret = add_slot(v, 1, MBOOT_HIGH_RAM_START, v->ram_size - low, why, why_size);
	if (ret)
		return ret;
	/*
	 * The userspace APIC's MSRs: only what the probe saw delivered, and
	 * only if this VM takes the same set-up.
	 */
	if (!v->kernel_chip) {
		(void)vkvm_msr_probe(&v->msrs);
		if ((v->msrs.x2apic || v->msrs.tsc_deadline || v->msrs.apic_base) &&
		    vkvm_msr_exits_enable(v->vm_fd, &v->msrs))
			memset(&v->msrs, 0, sizeof(v->msrs));
	}
	size = ioctl(v->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size < (int)sizeof(struct kvm_run))
		return vkvm_say(why, why_size, size < 0 ? -errno : -EINVAL,
			   "KVM_GET_VCPU_MMAP_SIZE: %s", size < 0 ? strerror(errno) : "too small");
	v->run_size = (size_t)size;
	sup = cpuid_supported(v, why, why_size);
	if (!sup)
		return -EINVAL;
	cpuid = malloc(sizeof(*sup) + sup->nent * sizeof(sup->entries[0]));
	if (!cpuid) {
		free(sup);
		return vkvm_say(why, why_size, -ENOMEM, "out of memory");
	}
	for (uint32_t i = 0; i < v->nr; i++) {
		struct vkvm_cpu *c = &v->cpus[i];

		c->fd = ioctl(v->vm_fd, KVM_CREATE_VCPU, (unsigned long)i);
		if (c->fd < 0) {
			ret = vkvm_say(why, why_size, -errno, "KVM_CREATE_VCPU %u: %s", i,
				  strerror(errno));
			break;
		}
		c->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
		if (c->run == MAP_FAILED) {
			c->run = NULL;
			ret = vkvm_say(why, why_size, -errno, "mmap of vCPU %u's kvm_run: %s", i,
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

void vkvm_vm_destroy(struct vkvm *v)
{
	for (uint32_t i = 0; i < v->nr; i++) {
		struct vkvm_cpu *c = &v->cpus[i];

		if (c->run)
			munmap(c->run, v->run_size);
		c->run = NULL;
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
	}
	if (v->vm_fd >= 0)
		close(v->vm_fd);
	if (v->kvm_fd >= 0)
		close(v->kvm_fd);
	v->vm_fd = v->kvm_fd = -1;
}

#endif /* __x86_64__ */
