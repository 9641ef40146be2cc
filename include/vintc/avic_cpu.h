/* SPDX-License-Identifier: MIT */
/*
 * hw/avic_cpu.c: the sending CPU's AVIC processing of a guest ICR write.
 *
 * The model reads only architectural state: the sender's VMCB AVIC fields,
 * and through host_va() the physical and logical APIC ID tables and the
 * backing pages they point at.  It never looks at hyp/ bookkeeping.
 *
 * Choices where ../shared/reference/avic.md is silent or marked
 * "reconstructed" are listed at the top of hw/avic_cpu.c.
 */
#ifndef VINTC_AVIC_CPU_H
#define VINTC_AVIC_CPU_H

#include <stdbool.h>
#include <stdint.h>

#include <vintc/amd_defs.h>

/* out->cause when no exit is reported (0 is INVALID_INT_TYPE). */
#define AVIC_CPU_NO_CAUSE              0xFFFFFFFFU

/* EXITINFO2 of AVIC_INCOMPLETE_IPI: cause in 63:32, table index in 11:0. */
#define AVIC_IPI_EXITINFO2_CAUSE       GENMASK_ULL(63, 32)
#define AVIC_IPI_EXITINFO2_INDEX       GENMASK_ULL(11, 0)

struct avic_cpu_ipi {
	uint32_t exit_code;	/* 0: none, else SVM_EXIT_AVIC_INCOMPLETE_IPI */
	uint64_t exitinfo1;	/* ICR high << 32 | ICR low */
	uint64_t exitinfo2;	/* cause << 32 | table index */
	unsigned int cause;	/* AVIC_IPI_FAILURE_*, or AVIC_CPU_NO_CAUSE */
	uint32_t delivered;	/* targets whose IRR bit was set (self included) */
	uint32_t merged;	/* ...of which the bit was pending already */
	uint32_t doorbells;	/* doorbells rung */
	uint32_t not_running;	/* targets whose entry showed IsRunning = 0 */
};

struct avic_cpu_opts {
	/*
	 * Erratum #1235: the sender does not see IsRunning = 0, so a
	 * not-running target gets neither a doorbell nor an exit; its IRR
	 * bit waits until it next runs.
	 */
	bool erratum_1235;
	/* The sending CPU: the silicon never rings its own doorbell. */
	uint32_t current_host_apic_id;
};

/*
 * How the silicon treats a guest access to APIC register `offset` (bits
 * 11:4; the low bits are ignored) that it does not accelerate, reported as
 * SVM_EXIT_AVIC_UNACCELERATED_ACCESS (reference section 5):
 *   trap   the write is already in the backing page and RIP advanced; the
 *          hypervisor applies its side effects (a trap on a read is a
 *          silicon bug);
 *   fault  nothing happened yet (the instruction did not retire): the
 *          hypervisor emulates the whole access.
 */
enum avic_access_class {
	AVIC_ACCESS_TRAP,
	AVIC_ACCESS_FAULT,
};

enum avic_access_class avic_cpu_access_class(unsigned int offset);

/* What the silicon did with an APIC register access other than an ICR write. */
struct avic_cpu_access {
	uint32_t exit_code;	/* 0: accelerated, else SVM_EXIT_AVIC_UNACCELERATED_ACCESS */
	uint64_t exitinfo1;	/* offset in 11:4, bit 32 = write */
	uint64_t exitinfo2;	/* vector in 31:0: 0, no access here carries one */
};

/*
 * A guest access by the vCPU `vmcb` describes to APIC register `offset`
 * (16-byte aligned, in the 4 KiB APIC page; offsets past the registers
 * fault): a read fills *val, a write takes it.
 *   trap class   a read is accelerated from the backing page, no exit; a
 *                write is stored there whole (reserved bits too), then a
 *                trap-like exit;
 *   fault class  nothing is read or stored: a fault-like exit.
 * Returns 0 with *out filled, -EINVAL for NULL arguments, a bad offset or
 * a write to ICR (that is avic_cpu_icr_write), -ENODEV when int_ctl has
 * AVIC_ENABLE clear (not an AVIC access: nothing touched), -EFAULT when
 * the backing page does not translate.
 */
int avic_cpu_apic_access(const struct vmcb_avic_control *vmcb, unsigned int offset, bool write,
			 uint32_t *val, struct avic_cpu_access *out);

/*
 * The guest on the vCPU that `vmcb` describes wrote `icr` (ICR high << 32
 * | ICR low; destination in 63:32 in x2APIC mode, 63:56 in xAPIC mode).
 * Fills *out with what the silicon did.  opts may be NULL (no erratum,
 * current host APIC ID 0).
 *
 * Returns 0 when the write was processed (with or without an exit),
 * -EINVAL for NULL vmcb/out, -ENODEV when int_ctl has AVIC_ENABLE clear
 * (the access is then not an AVIC access at all: the hypervisor's normal
 * APIC intercepts see it, and nothing is touched).
 */
int avic_cpu_icr_write(const struct vmcb_avic_control *vmcb, uint64_t icr,
		       const struct avic_cpu_opts *opts, struct avic_cpu_ipi *out);

#endif
