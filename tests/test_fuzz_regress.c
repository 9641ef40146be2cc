// SPDX-License-Identifier: MIT
/*
 * Regression tests for what the libFuzzer targets (fuzz/) found; each
 * names the corpus input that reproduces it.  See fuzz/README.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vintc/amd_defs.h>
#include <vintc/avic.h>

#include "../hyp/vlapic.h"
#include "../tools/vintc/args.h"
#include "../tools/vintc/cmds.h"
#include "avic_util.h"
#include "test.h"

static uint32_t irr_word0(struct vcpu *vcpu)
{
	return *apic_reg(to_avic_vcpu(vcpu)->backing, APIC_IRR);
}

/*
 * fuzz/corpus/lapic/regress-lowest-vector0: a Lowest Priority (or
 * level-triggered Fixed) IPI with vector 0-15 exits as INVALID_INT_TYPE
 * and was emulated, setting IRR bit 0-15 in the target.  Vectors below 16
 * are illegal for both modes: the sender's ESR says so, nobody gets it.
 */
TEST(fuzz_regress_emulated_ipi_illegal_vector)
{
	struct vm *vm = avic_vm_new(AVIC_MODEL_XAVIC, 0, NULL);
	struct vcpu *a = avic_vcpu_new(vm, 0), *b = avic_vcpu_new(vm, 1);
	uint64_t lowest = (1ULL << 56) | FIELD_PREP(APIC_ICR_DELIVERY_MODE, APIC_DM_LOWEST) | 5;
	uint64_t fixed_level = (1ULL << 56) | APIC_ICR_TRIGGER_LEVEL | APIC_ICR_LEVEL_ASSERT | 3;
	uint64_t info2 = (uint64_t)AVIC_IPI_FAILURE_INVALID_INT_TYPE << 32;

	ASSERT_OK(avic_handle_incomplete_ipi(a, lowest, info2, NULL));
	ASSERT_OK(avic_handle_incomplete_ipi(a, fixed_level, info2, NULL));
	ASSERT_EQ(irr_word0(b), 0);
	ASSERT_EQ(irr_word0(a), 0);
	ASSERT_EQ(to_avic_vcpu(a)->esr_pending & APIC_ESR_SEND_ILLEGAL_VECTOR,
		  APIC_ESR_SEND_ILLEGAL_VECTOR);

	/* The same IPI through the trap path (AVIC inhibited): same answer. */
	*apic_reg(to_avic_vcpu(a)->backing, APIC_ICR2) = 1U << 24;
	*apic_reg(to_avic_vcpu(a)->backing, APIC_ICR) = (uint32_t)lowest;
	ASSERT_OK(avic_handle_unaccelerated_access(a, APIC_ICR | BIT_ULL(32), NULL));
	ASSERT_EQ(irr_word0(b), 0);

	/* A legal vector still goes through. */
	ASSERT_OK(avic_handle_incomplete_ipi(a, (lowest & ~0xFFULL) | 0x40, info2, NULL));
	ASSERT_EQ(*apic_reg(to_avic_vcpu(b)->backing, APIC_VECTOR_WORD(APIC_IRR, 0x40)),
		  1U << (0x40 & 31));
	vm_destroy(vm);
}

/*
 * fuzz/corpus/cli/regress-newline-in-arg: a newline inside an argv word
 * was echoed into the usage error, which then took two lines, against the
 * one-line convention of args.h.
 */
TEST(fuzz_regress_cli_error_one_line)
{
	char w0[] = "sim", w1[] = "ping\npong", *argv[] = { w0, w1, NULL };
	char *err = NULL;
	size_t len = 0, lines = 0;
	FILE *f = open_memstream(&err, &len), *saved = stderr;
	int status;

	ASSERT(f);
	stderr = f;
	status = cmd_sim(2, argv);
	fflush(f);
	stderr = saved;
	fclose(f);
	ASSERT_EQ(status, CLI_EXIT_USAGE);
	for (size_t i = 0; i < len; i++)
		lines += err[i] == '\n';
	ASSERT_EQ(lines, 1);
	ASSERT(strstr(err, "'ping?pong'"));
	free(err);
}
