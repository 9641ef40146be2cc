// SPDX-License-Identifier: MIT
/*
 * What KVM could not emulate.  Some hosts' KVM (kvm-pvm runs 32-bit ring-0
 * code through its instruction emulator) fails on instructions it does not
 * know, under either irqchip.  Never skip one.  Two are completed here as
 * the SDM defines them, because an unmodified kernel cannot avoid them:
 *
 * - INT3 is delivered as the #BP it is (a trap: the saved RIP is past the
 *   one-byte instruction);
 * - FWAIT (Linux runs one whenever a task exits, fpu__drop) checks, in
 *   this order, CR0.MP and CR0.TS (both set: #NM, a fault), then a pending
 *   unmasked x87 exception (FSW.ES; with CR0.NE: #MF, a fault); with
 *   neither it does nothing and RIP moves past it.
 *
 * Anything else ends the run with the instruction's bytes, RIP and the
 * vCPU's mode on one line, so a host limit can be told from a vintc bug by
 * running the same guest under the other irqchip.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vkvm.h"

#define X86_CR0_MP	(1ULL << 1)
#define X86_CR0_TS	(1ULL << 3)
#define X86_CR0_NE	(1ULL << 5)
#define X87_FSW_ES	(1u << 7)	/* error summary: an unmasked exception is pending */

enum vkvm_fwait vkvm_fwait_action(uint64_t cr0, uint16_t fsw)
{
	if ((cr0 & X86_CR0_MP) && (cr0 & X86_CR0_TS))
		return VKVM_FWAIT_NM;
	if (!(fsw & X87_FSW_ES))
		return VKVM_FWAIT_RUN;
	return (cr0 & X86_CR0_NE) ? VKVM_FWAIT_MF : VKVM_FWAIT_FERR;
}

#ifdef __x86_64__

#include <linux/kvm.h>

#define X86_CR0_PE	(1ULL << 0)
#define X86_CR0_PG	(1ULL << 31)
#define EFER_LMA	(1ULL << 10)
#define INSN_MAX	15
#define INSN_SHOWN	8
#define OPCODE_INT3	0xCC
#define OPCODE_FWAIT	0x9B
#define VECTOR_BP	3
#define VECTOR_NM	7
#define VECTOR_MF	16

static const char *cpu_mode(const struct kvm_sregs *s)
{
	if (s->efer & EFER_LMA)
		return s->cs.l ? "64-bit mode" : "compatibility mode";
	if (!(s->cr0 & X86_CR0_PE))
		return "real mode";
	return s->cs.db ? "32-bit protected mode" : "16-bit protected mode";
}

/*
 * The bytes at CS:RIP now, read from guest memory through the guest's own
 * page tables (up to 8: enough to tell the instruction, as the length is
 * unknown).
 */
static unsigned int mem_insn_bytes(struct vkvm_cpu *c, const struct kvm_sregs *s, uint64_t rip,
				   uint8_t *out)
{
	struct kvm_translation tr = { 0 };
	unsigned int n = 0;

	tr.linear_address = ((s->efer & EFER_LMA) && s->cs.l ? 0 : s->cs.base) + rip;
	/* Paging off: the linear address is the physical one. */
	if (!(s->cr0 & X86_CR0_PG)) {
		tr.physical_address = tr.linear_address;
		tr.valid = 1;
	} else if (ioctl(c->fd, KVM_TRANSLATE, &tr) < 0) {
		tr.valid = 0;
	}
	if (tr.valid)
		for (; n < INSN_SHOWN && vkvm_is_ram(c->v, tr.physical_address + n); n++)
			out[n] = c->v->ram[tr.physical_address + n];
	return n;
}

/* The bytes KVM fetched for the instruction it failed (often only the first). */
static unsigned int kvm_insn_bytes(struct vkvm_cpu *c, uint8_t *out)
{
	struct kvm_run *run = c->run;
	unsigned int n;

	if (run->emulation_failure.ndata < 1 ||
	    !(run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES))
		return 0;
	n = run->emulation_failure.insn_size;
	if (n > INSN_MAX)
		n = INSN_MAX;
	memcpy(out, run->emulation_failure.insn_bytes, n);
	return n;
}

static void hex_bytes(char *buf, size_t size, const uint8_t *b, unsigned int n)
{
	buf[0] = '\0';
	for (unsigned int i = 0; i < n; i++)
		snprintf(buf + 3 * i, size - 3 * i, "%02x%s", b[i], i + 1 < n ? " " : "");
}

/* Move RIP past a one-byte instruction that has completed. */
static int skip_completed(struct vkvm_cpu *c)
{
	struct kvm_regs regs;

	if (ioctl(c->fd, KVM_GET_REGS, &regs) < 0)
		return -errno;
	regs.rip += 1;
	return ioctl(c->fd, KVM_SET_REGS, &regs) < 0 ? -errno : 0;
}

/* Exception `nr` (none of these has an error code) at the next entry. */
static int inject_exception(struct vkvm_cpu *c, uint8_t nr)
{
	struct kvm_vcpu_events ev;

	if (ioctl(c->fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return -errno;
	ev.exception.injected = 1;
	ev.exception.nr = nr;
	ev.exception.has_error_code = 0;
	ev.exception.error_code = 0;
	ev.flags = 0;
	return ioctl(c->fd, KVM_SET_VCPU_EVENTS, &ev) < 0 ? -errno : 0;
}

/* #BP for an INT3: a trap, so RIP moves past it first. */
static int deliver_bp(struct vkvm_cpu *c)
{
	int ret = skip_completed(c);

	return ret ? ret : inject_exception(c, VECTOR_BP);
}

/*
 * FWAIT as the SDM's pseudo-code has it.  With CR0.NE clear a pending
 * exception would assert FERR#, which this machine does not wire to an
 * interrupt line (no 8259 IRQ 13): -EOPNOTSUPP, and the run ends saying so.
 */
static int complete_fwait(struct vkvm_cpu *c, const struct kvm_sregs *s)
{
	struct kvm_fpu fpu;

	if (ioctl(c->fd, KVM_GET_FPU, &fpu) < 0)
		return -errno;
	switch (vkvm_fwait_action(s->cr0, fpu.fsw)) {
	case VKVM_FWAIT_NM:
		return inject_exception(c, VECTOR_NM);
	case VKVM_FWAIT_MF:
		return inject_exception(c, VECTOR_MF);
	case VKVM_FWAIT_FERR:
		return -EOPNOTSUPP;
	case VKVM_FWAIT_RUN:
		break;
	}
	return skip_completed(c);
}

bool vkvm_emulation_failure(struct vkvm_cpu *c)
{
	struct vkvm *v = c->v;
	uint8_t mem[INSN_MAX], fetched[INSN_MAX];
	char hex[3 * INSN_MAX + 1], khex[3 * INSN_MAX + 1];
	unsigned int n, kn;
	struct kvm_sregs s;
	struct kvm_regs regs;
	int opcode = -1, ret;

	if (ioctl(c->fd, KVM_GET_SREGS, &s) < 0 || ioctl(c->fd, KVM_GET_REGS, &regs) < 0) {
		vkvm_fail(v, errno, "reading the vCPU after an emulation failure");
		return false;
	}
	/*
	 * What KVM fetched decides, not what memory holds now: another vCPU
	 * may have rewritten the bytes since (Linux patches its text through
	 * an INT3 at the first byte, and a vCPU that fetched that INT3 must
	 * take the #BP whatever the byte is by the time we look).
	 */
	kn = kvm_insn_bytes(c, fetched);
	n = mem_insn_bytes(c, &s, regs.rip, mem);
	if (kn)
		opcode = fetched[0];
	else if (n)
		opcode = mem[0];
	if (opcode == OPCODE_INT3) {
		ret = deliver_bp(c);
		if (ret) {
			vkvm_fail(v, -ret, "delivering #BP for an INT3 KVM could not emulate");
			return false;
		}
		vkvm_count(&v->r->int3_delivered);
		return true;
	}
	if (opcode == OPCODE_FWAIT) {
		ret = complete_fwait(c, &s);
		if (!ret) {
			vkvm_count(&v->r->fwait_completed);
			return true;
		}
		if (ret != -EOPNOTSUPP) {
			vkvm_fail(v, -ret, "completing an FWAIT KVM could not emulate");
			return false;
		}
	}
	hex_bytes(hex, sizeof(hex), n ? mem : fetched, n ? n : kn);
	hex_bytes(khex, sizeof(khex), fetched, kn);
	vkvm_end(v, VKVM_END_FAILURE, VKVM_STATUS_FAILURE,
		 "KVM could not emulate the instruction at RIP 0x%llx on vCPU %u (%s, paging %s): bytes %s%s%s",
		 (unsigned long long)regs.rip, c->idx, cpu_mode(&s),
		 (s.cr0 & X86_CR0_PG) ? "on" : "off", n || kn ? hex : "unreadable",
		 n && kn && memcmp(mem, fetched, kn < n ? kn : n) ? "; KVM fetched " : "",
		 n && kn && memcmp(mem, fetched, kn < n ? kn : n) ? khex : "");
	return false;
}

#endif /* __x86_64__ */
