// SPDX-License-Identifier: MIT
/*
 * A bzImage guest whose setup header has XLF_KERNEL_64
 * (guests/bzimage/bzimage64.c) booted by the 64-bit boot protocol under
 * both irqchips: it enters at load address + 0x200 in long mode (CS 0x10,
 * DS/SS 0x18, EFER.LME/LMA, CR0.PG, CR4.PAE, RFLAGS 0x2, RSI = the zero
 * page, an identity map reaching 0xFEE00000, its tables reserved in e820)
 * and finds the same zero page as the 32-bit guest (guests/bzimage/
 * bzimage.c), which still enters by the 32-bit protocol.  Needs /dev/kvm.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vintc/kvm_run.h>

#include "kvm_util.h"
#include "test.h"

static const char initrd[] = "INITRD-BYTES";

static uint32_t ram_mib = VKVM_DEFAULT_RAM_MIB;

/* Run VINTC_GUESTS/name.bin with ram_mib of RAM; returns its COM1 output. */
static char *run_bin(const char *name, enum vkvm_irqchip chip, struct vkvm_result *r)
{
	struct mboot_module mod = { initrd, sizeof(initrd) - 1, "initrd.img" };
	enum vkvm_stage stage;
	FILE *out = tmpfile();
	struct vkvm_opts o;
	char path[4200], why[256], *text;
	size_t len;
	int fd;

	snprintf(path, sizeof(path), "%s", guest_path(name));
	memcpy(path + strlen(path) - 4, ".bin", 4);
	fd = open(path, O_RDONLY);
	ASSERT(fd >= 0);
	ASSERT(out);
	vkvm_default_opts(&o);
	o.boot.image = slurp_fd(fd, &o.boot.image_size);
	close(fd);
	o.boot.cmdline = "console=ttyS0 bz=64";
	o.boot.mods = &mod;
	o.boot.nr_mods = 1;
	o.ram_mib = ram_mib;
	o.timeout_s = 30;
	o.irqchip = chip;
	o.halt_poll_us = 0;
	o.out_fd = fileno(out);
	if (vkvm_run_guest(&o, r, &stage, why, sizeof(why)))
		test_fail(__FILE__, __LINE__, "vkvm_run_guest(%s) failed at stage %d: %s", name,
			  stage, why);
	text = slurp_fd(fileno(out), &len);
	fclose(out);
	free((void *)o.boot.image);
	return text;
}

/* Both irqchips: exit status 1, the same PASS lines, every line of must[]. */
static void both(const char *name, const char *const *must, unsigned int nr_must,
		 const char *never, struct vkvm_result *ra)
{
	struct vkvm_result rk;
	char *oa, *ok, *pa, *pk;

	oa = run_bin(name, VKVM_IRQCHIP_AVIC, ra);
	ok = run_bin(name, VKVM_IRQCHIP_KERNEL, &rk);
	pa = pass_lines(oa);
	pk = pass_lines(ok);
	if (strcmp(pa, pk) || ra->exit_status != 1 || rk.exit_status != 1 || strstr(oa, "FAIL") ||
	    strstr(oa, never))
		test_fail(__FILE__, __LINE__, "%s: avic (exit %d, %s):\n%s\nkernel (exit %d, %s):\n%s",
			  name, ra->exit_status, ra->message, oa, rk.exit_status, rk.message, ok);
	for (unsigned int i = 0; i < nr_must; i++)
		if (!strstr(oa, must[i]))
			test_fail(__FILE__, __LINE__, "missing \"%s\" in:\n%s", must[i], oa);
	ASSERT_EQ(ra->layout.protocol, BOOT_BZIMAGE);
	ASSERT_EQ(rk.layout.protocol, BOOT_BZIMAGE);
	free(pa);
	free(pk);
	free(oa);
	free(ok);
}

TEST(kvm_bzimage64_boots_in_long_mode_under_both_irqchips)
{
	static const char *const must[] = {
		"PASS bzimage entered\n",
		"PASS bzimage 64-bit entry\n",
		"PASS bzimage long mode cs 0x10 ds ss 0x18\n",
		"PASS bzimage long mode efer lme lma\n",
		"PASS bzimage long mode cr0 pe pg cr4 pae\n",
		"PASS bzimage long mode rflags 0x2 interrupts off\n",
		"PASS bzimage long mode 64-bit registers\n",
		"PASS bzimage long mode rsi is the zero page\n",
		"PASS bzimage long mode page tables below 1 MiB reserved in e820\n",
		"PASS bzimage long mode identity map reaches 0xfee00000\n",
		"PASS bzimage long mode no ram at 4 GiB\n",
		"PASS bzimage HdrS version=0x0000020f loader=0x000000ff\n",
		"PASS bzimage e820 0x00000000 size 0x00001000 type 1\n",
		"PASS bzimage e820 0x00001000 size 0x00007000 type 2\n",
		"PASS bzimage e820 0x00008000 size 0x00098000 type 1\n",
		"PASS bzimage e820 0x000a0000 size 0x00060000 type 2\n",
		"PASS bzimage e820 0x00100000 size 0x1ff00000 type 1\n",
		"PASS bzimage e820 0xfee00000 size 0x00001000 type 2\n",
		"PASS bzimage cmdline=\"console=ttyS0 bz=64\"\n",
		"PASS bzimage initrd size=12 bytes=INITRD-BYTES\n",
		"PASS bzimage rsdp=0x000e0000\n",
	};
	struct vkvm_result r;

	need_kvm();
	both("bzimage64", must, sizeof(must) / sizeof(must[0]), "32-bit entry", &r);
	ASSERT_EQ(r.layout.entry, 0x100200);
	ASSERT_EQ(r.layout.esi, 0x9000);
	ASSERT(r.layout.cr3);
}

/* The header without XLF_KERNEL_64 still enters by the 32-bit protocol. */
TEST(kvm_bzimage32_still_enters_by_the_32bit_protocol)
{
	static const char *const must[] = {
		"PASS bzimage 32-bit entry\n",
		"PASS bzimage e820 0x00000000 size 0x000a0000 type 1\n",
	};
	struct vkvm_result r;

	need_kvm();
	both("bzimage", must, sizeof(must) / sizeof(must[0]), "long mode", &r);
	ASSERT_EQ(r.layout.entry, 0x100000);
	ASSERT_EQ(r.layout.cr3, 0);
}

/*
 * RAM past 3 GiB is at 4 GiB: the e820 map lists it, the guest's write
 * there reads back (a second memslot), and the hole holds no RAM.
 */
TEST(kvm_bzimage64_ram_above_4g_under_both_irqchips)
{
	static const char *const must[] = {
		"PASS bzimage long mode ram at 4 GiB holds what was written\n",
		"PASS bzimage e820 0x00100000 size 0xbff00000 type 1\n",
		"PASS bzimage e820 0xfee00000 size 0x00001000 type 2\n",
		"PASS bzimage e820 0x00000001_00000000 size 0x00000001_40000000 type 1\n",
	};
	struct vkvm_result r;

	need_kvm();
	ram_mib = 8192;
	both("bzimage64", must, sizeof(must) / sizeof(must[0]), "no ram at 4 GiB", &r);
	ram_mib = VKVM_DEFAULT_RAM_MIB;
	ASSERT_EQ(r.layout.nr_mmap, 7);
}
