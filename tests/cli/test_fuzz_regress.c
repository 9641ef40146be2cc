// SPDX-License-Identifier: MIT
/*
 * Regression tests for what the libFuzzer targets (fuzz/) found; each
 * names the corpus input that reproduces it.  See fuzz/README.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <vintc/amd_defs.h>
#include <vintc/avic.h>
#include <vintc/mboot.h>
#include <vintc/vlapic.h>

#include "tools/vintc/args.h"
#include "tools/vintc/cmds.h"
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
 * fuzz/corpus/lapic/regress-init-deassert: an INIT level de-assert IPI
 * (INIT, level-triggered, Level = 0) was emulated as an INIT, resetting
 * its targets; it only resynchronises arbitration IDs.
 */
TEST(fuzz_regress_init_level_deassert)
{
	struct vm *vm = avic_vm_new(AVIC_MODEL_XAVIC, 0, NULL);
	struct vcpu *a = avic_vcpu_new(vm, 0), *b = avic_vcpu_new(vm, 1);
	uint64_t info2 = (uint64_t)AVIC_IPI_FAILURE_INVALID_INT_TYPE << 32;
	uint64_t init = (1ULL << 56) | FIELD_PREP(APIC_ICR_DELIVERY_MODE, APIC_DM_INIT);

	ASSERT_OK(avic_handle_incomplete_ipi(a, init | APIC_ICR_TRIGGER_LEVEL, info2, NULL));
	ASSERT_EQ(avic_vcpu_take_events(b, NULL), 0);
	/* Shorthand "all" through the trap path: nobody either. */
	*apic_reg(to_avic_vcpu(a)->backing, APIC_ICR2) = 0;
	*apic_reg(to_avic_vcpu(a)->backing, APIC_ICR) =
		(uint32_t)(FIELD_PREP(APIC_ICR_DELIVERY_MODE, APIC_DM_INIT) |
			   FIELD_PREP(APIC_ICR_SHORTHAND, APIC_SH_ALL) | APIC_ICR_TRIGGER_LEVEL);
	ASSERT_OK(avic_handle_unaccelerated_access(a, APIC_ICR | BIT_ULL(32), NULL));
	ASSERT_EQ(avic_vcpu_take_events(a, NULL), 0);
	ASSERT_EQ(avic_vcpu_take_events(b, NULL), 0);
	/* INIT assert, level- or edge-triggered, still resets. */
	ASSERT_OK(avic_handle_incomplete_ipi(a, init | APIC_ICR_TRIGGER_LEVEL | APIC_ICR_LEVEL_ASSERT,
					     info2, NULL));
	ASSERT_EQ(avic_vcpu_take_events(b, NULL), AVIC_EVENT_INIT);
	ASSERT_OK(avic_handle_incomplete_ipi(a, init | APIC_ICR_LEVEL_ASSERT, info2, NULL));
	ASSERT_EQ(avic_vcpu_take_events(b, NULL), AVIC_EVENT_INIT);
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

/*
 * A minimal Multiboot ELF: one PT_LOAD of `memsz` bytes at physical and
 * virtual `paddr`, entered at its start, its 12-byte Multiboot header as
 * the segment's file contents.
 */
static size_t tiny_elf(uint8_t *img, uint32_t paddr, uint32_t memsz)
{
	static const uint32_t mb[3] = { 0x1BADB002U, 0, (uint32_t)-0x1BADB002 };
	uint32_t ph[8] = { 1, 0x60, paddr, paddr, 12, memsz, 7, 0x1000 };

	memset(img, 0, 0x80);
	memcpy(img, "\177ELF\1\1\1", 7);
	img[16] = 2;			/* ET_EXEC */
	img[18] = 3;			/* EM_386 */
	img[20] = 1;			/* EV_CURRENT */
	memcpy(img + 24, &paddr, 4);	/* e_entry */
	img[28] = 52;			/* e_phoff */
	img[40] = 52;			/* e_ehsize */
	img[42] = 32;			/* e_phentsize */
	img[44] = 1;			/* e_phnum */
	memcpy(img + 52, ph, sizeof(ph));
	memcpy(img + 0x60, mb, sizeof(mb));
	return 0x6C;
}

/*
 * fuzz/corpus/mboot/regress-module-ends-at-4g (the loader target's
 * largest-RAM mode): a module ending at exactly 4 GiB got mod_end 0, and
 * one placed after a kernel ending at 4 GiB got mod_start 0 (32-bit
 * truncation).  RAM below 4 GiB now ends at 3 GiB at most, the rest going
 * above 4 GiB: kernels and modules stop at 3 GiB, where no 32-bit address
 * wraps, and a kernel up at 4 GiB is outside RAM.
 */
TEST(fuzz_regress_mboot_module_end_32bit)
{
	const uint64_t ram_size = 4ULL << 30;
	uint8_t img[0x80], *ram, data[4096] = { 1, 2, 3 };
	struct mboot_module mod = { data, sizeof(data), "m" };
	struct mboot_params p = { .image = img, .mods = &mod, .nr_mods = 1 };
	struct mboot_layout lay;
	char why[160];

	/* The loader writes nothing above 3 GiB: only that much is mapped. */
	ram = mmap(NULL, MBOOT_LOW_RAM_END, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (ram == MAP_FAILED)
		test_skip("cannot map 3 GiB of address space for the guest RAM");

	/* The old kernel's last page 0xFFFFE000: in the hole, outside RAM. */
	p.image_size = tiny_elf(img, 0xFFFFE000U, 0x1000);
	ASSERT_EQ(mboot_load(&p, ram, ram_size, &lay, why, sizeof(why)), -ERANGE);
	ASSERT(strstr(why, "outside RAM (0x0-0xbfffffff)"));

	/* Kernel up to 3 GiB: a module after it does not fit. */
	p.image_size = tiny_elf(img, 0xBFFFF000U, 0x1000);
	ASSERT_EQ(mboot_load(&p, ram, ram_size, &lay, why, sizeof(why)), -E2BIG);

	/* One page lower, both fit, and the module ends at 3 GiB. */
	p.image_size = tiny_elf(img, 0xBFFFE000U, 0x1000);
	ASSERT_OK(mboot_load(&p, ram, ram_size, &lay, why, sizeof(why)));
	ASSERT_EQ(lay.mod_start[0], 0xBFFFF000U);
	ASSERT_EQ(lay.mod_end[0], 0xC0000000U);
	ASSERT_EQ(ram[0xBFFFF001U], 2);
	munmap(ram, MBOOT_LOW_RAM_END);
}
