/* SPDX-License-Identifier: MIT */
/*
 * A runner for Multiboot guests on /dev/kvm: 1..VKVM_MAX_CPUS vCPUs, no
 * in-kernel irqchip, the local APICs emulated in userspace on vintc's AVIC
 * model (kvm/lapic.c), the guest loaded by mboot_load() and the BSP
 * entered in flat 32-bit protected mode.  APs wait, parked, for INIT and
 * then STARTUP from the guest.
 *
 * Devices (QEMU PC machine conventions):
 *   COM1 0x3F8     a 16550A on GSI 4 (FIFOs, loopback, modem status);
 *                  bytes sent go to opts->out_fd, by line and by vCPU;
 *                  opts->in_fd (if not -1) feeds the receiver
 *   0xF4           isa-debug-exit: a write of v ends the run with exit
 *                  status (v << 1) | 1
 *   0x510/0x511    fw_cfg: signature, RAM size, CPU count, the file
 *                  "opt/vintc/reboots" (how many times the guest reset)
 *   0x92, 0xCF9    System Control Port A fast reset, Reset Control Register
 *   0x60/0x64      i8042 keyboard controller (no keyboard): command 0xFE
 *                  and output-port writes with bit 0 clear reset
 *   0x600, 0x604   ACPI PM1a event and control blocks: SLP_EN with
 *                  SLP_TYP 5 (\_S5) powers off, exit status 0; the ACPI
 *                  tables (RSDP, XSDT, FADT, MADT, DSDT) are at 0xE0000
 *   0xFEE00000     the xAPIC registers (no memslot: MMIO exits)
 *
 * With VKVM_IRQCHIP_KERNEL the same guest runs on KVM's in-kernel LAPIC
 * instead: KVM_CAP_SPLIT_IRQCHIP before the vCPUs, every vCPU thread
 * enters KVM_RUN at once (KVM holds the APs until their STARTUP), the
 * xAPIC page and HLT never reach userspace; the I/O APIC, the PICs and the
 * ports are served as above, the same platform under both.
 *   other ports    reads all-ones, writes dropped, both counted
 *   unbacked MMIO  the same, counted apart
 *
 * The run also ends on HLT with IF = 0 on a single vCPU (nothing can wake
 * it), a triple fault (KVM_EXIT_SHUTDOWN), a failed entry, a KVM internal
 * error, or the timeout.  Those ends have even exit statuses, which the
 * debug-exit port can never produce.
 *
 * A reset (any of the three reset devices) boots the machine again: it
 * is torn down and built anew, RAM zeroed and the image loaded again,
 * every vCPU in its reset state, r->reboots one higher; the timeout
 * counts from the first boot, and with none a guest that resets forever
 * runs forever, as under QEMU.  With opts.no_reboot the run ends at the
 * first reset instead (VKVM_END_RESET), as QEMU's -no-reboot.
 */
#ifndef VINTC_KVM_RUN_H
#define VINTC_KVM_RUN_H

#include <stdbool.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <vintc/mboot.h>

/* How a run ended, and the exit status each end gives. */
enum vkvm_end {
	VKVM_END_DEBUG_EXIT,	/* status (v << 1) | 1 */
	VKVM_END_HALT,		/* VKVM_STATUS_HALT */
	VKVM_END_SHUTDOWN,	/* triple fault: VKVM_STATUS_SHUTDOWN */
	VKVM_END_FAILURE,	/* entry failure, internal error, unknown exit */
	VKVM_END_TIMEOUT,	/* VKVM_STATUS_TIMEOUT */
	VKVM_END_RESET,		/* reset with opts.no_reboot: VKVM_STATUS_RESET */
	VKVM_END_POWEROFF,	/* ACPI S5 (SLP_EN, SLP_TYP 5): VKVM_STATUS_POWEROFF */
	VKVM_NR_ENDS
};

#define VKVM_STATUS_POWEROFF	0
#define VKVM_STATUS_HALT	4
#define VKVM_STATUS_SHUTDOWN	6
#define VKVM_STATUS_FAILURE	8
#define VKVM_STATUS_RESET	10
#define VKVM_STATUS_TIMEOUT	124	/* as timeout(1) */

/* Where a failed vkvm_run_guest() stopped. */
enum vkvm_stage {
	VKVM_STAGE_NONE,
	VKVM_STAGE_LOAD,	/* bad image, modules or options: nothing started */
	VKVM_STAGE_KVM,		/* /dev/kvm missing, unusable, or refused a setup step */
	VKVM_STAGE_RUN,		/* KVM_RUN itself failed */
};

#define VKVM_MIN_RAM_MIB	2
#define VKVM_MAX_RAM_MIB	65536	/* RAM past 3 GiB goes from 4 GiB (MBOOT_LOW_RAM_END) */
/*
 * Enough for a distribution kernel: Debian's bzImage decompresses from
 * 16 MiB with an init_size of 51 MiB.  RAM is mapped on demand, so what
 * the guest never touches costs nothing.
 */
#define VKVM_DEFAULT_RAM_MIB	512
#define VKVM_MAX_TIMEOUT_S	86400
#define VKVM_DEFAULT_HALT_POLL_US 200	/* KVM's halt_poll_ns default */
#define VKVM_MAX_HALT_POLL_US	10000
#define VKVM_NR_EXIT_REASONS	64	/* KVM_EXIT_* counted below this */

/* The timeout kicks the vCPU out of KVM_RUN with this signal. */
#define VKVM_KICK_SIGNAL	SIGUSR1

#define VKVM_MAX_CPUS		64	/* one model host CPU per vCPU thread */
#define VKVM_APIC_REGS		64	/* APIC registers, by offset >> 4 */

enum vkvm_irqchip {
	VKVM_IRQCHIP_AVIC,	/* userspace local APIC on the AVIC model */
	VKVM_IRQCHIP_KERNEL,	/* KVM's own LAPIC (KVM_CAP_SPLIT_IRQCHIP), to compare */
};

/*
 * The userspace APIC's counters.  IPIs are counted by the path the model
 * took: accelerated (the silicon delivered it without an exit), each
 * incomplete-IPI cause (AVIC_IPI_FAILURE_*: 0 invalid int type, i.e.
 * INIT/SIPI/NMI, 1 target not running, 2 invalid target, 3 invalid backing
 * page, 4 illegal vector), doorbells rung for running targets.
 */
struct vkvm_apic_stats {
	uint64_t reads[VKVM_APIC_REGS], writes[VKVM_APIC_REGS];
	uint64_t bad_accesses;		/* not 4 aligned bytes, or past 0x3F0 */
	uint64_t ipis;			/* ICR writes */
	uint64_t ipi_accelerated;
	uint64_t ipi_exits[5];
	uint64_t doorbells;
	uint64_t kicks;			/* signals to vCPU threads inside KVM_RUN */
	uint64_t kick_ns;		/* time the senders spent sending them */
	uint64_t wakeups;		/* futex wake-ups of halted or parked vCPUs */
	uint64_t injected, nmis, inits, sipis;
	uint64_t irq_windows;		/* interrupt windows requested */
	uint64_t timer_fires;		/* APIC timer expiries (masked ones too) */
	uint64_t halt_polls;		/* HLTs that halt polling ended without blocking */
	uint64_t halt_poll_misses;	/* HLTs that polled (window 0 too), then blocked */
	uint64_t halt_poll_yields;	/* of those, polls cut short: the host had other work */
};

struct vkvm_opts {
	struct mboot_params boot;	/* image, command line, modules */
	uint32_t ram_mib;		/* VKVM_MIN_RAM_MIB..VKVM_MAX_RAM_MIB */
	uint32_t timeout_s;		/* 0: none (the default), across reboots */
	bool no_reboot;			/* a reset ends the run (VKVM_END_RESET) */
	int out_fd;			/* COM1 output */
	int in_fd;			/* COM1 input, read by a thread; -1: none (the default) */
	uint32_t nr_cpus;		/* 1..VKVM_MAX_CPUS (0: 1) */
	enum vkvm_irqchip irqchip;
	/*
	 * --irqchip=avic: after a HLT exit, look for a wake-up reason this
	 * long before blocking (KVM's halt_poll_ns does the same for its own
	 * LAPIC); 0 never polls.  At most VKVM_MAX_HALT_POLL_US.
	 */
	uint32_t halt_poll_us;
	/*
	 * Trace-event JSON (as `vintc sim --trace`) written here at the end,
	 * or NULL: a track per vCPU (time in KVM_RUN with its exit reason,
	 * time blocked, injections, IPIs, doorbells, kicks, INIT/SIPI/NMI)
	 * and one for the APIC timer.
	 */
	const char *trace_path;
};

struct vkvm_result {
	enum vkvm_end end;
	int exit_status;
	uint32_t debug_exit_value;	/* VKVM_END_DEBUG_EXIT */
	uint32_t reboots;		/* resets that booted the machine again */
	char message[256];		/* how it ended, one line */
	uint64_t exits[VKVM_NR_EXIT_REASONS];	/* by KVM_EXIT_* reason */
	uint64_t exits_other;		/* reasons >= VKVM_NR_EXIT_REASONS */
	uint64_t serial_bytes;		/* written to COM1 THR */
	uint64_t serial_other;		/* other UART accesses */
	uint64_t port_reads, port_writes;	/* unclaimed ports */
	uint64_t mmio_reads, mmio_writes;	/* unbacked guest-physical addresses */
	uint64_t fw_cfg;			/* fw_cfg port accesses */
	uint64_t msr_gp;		/* MSR exits answered with #GP */
	uint64_t int3_delivered;	/* INT3s KVM could not emulate, given as #BP */
	uint64_t fwait_completed;	/* FWAITs KVM could not emulate, run here */
	uint64_t trace_events, trace_dropped;	/* with opts.trace_path */
	double seconds;
	uint32_t nr_cpus;
	enum vkvm_irqchip irqchip;
	/* Advertised in CPUID (always with the kernel irqchip; avic: probed). */
	bool x2apic, tsc_deadline;
	/*
	 * IA32_APIC_BASE writes reach the APIC as they happen (kernel: KVM's
	 * LAPIC; avic: the MSR filter, probed); false: the userspace APIC
	 * follows KVM's copy at the next exit.
	 */
	bool apic_base_msr;
	struct vkvm_apic_stats apic;	/* all zero with VKVM_IRQCHIP_KERNEL */
	struct mboot_layout layout;
};

void vkvm_default_opts(struct vkvm_opts *o);

/*
 * Check that /dev/kvm can be opened and can create a VM.  0, or a negative
 * errno with the reason in why.
 */
int vkvm_probe(char *why, size_t why_size);

/*
 * Load and run the guest to its end.  0 when the guest ran (however it
 * ended: see r->end, r->exit_status, r->message).  Otherwise a negative
 * errno, *stage says where, and why holds one line.
 */
int vkvm_run_guest(const struct vkvm_opts *o, struct vkvm_result *r,
		   enum vkvm_stage *stage, char *why, size_t why_size);

/* "debug-exit", "halt", "shutdown", "failure", "timeout", "reset", "poweroff" */
const char *vkvm_end_name(enum vkvm_end end);
/* "IO", "HLT", ... for a KVM_EXIT_* reason, or NULL if unknown. */
const char *vkvm_exit_name(unsigned int reason);

#endif
