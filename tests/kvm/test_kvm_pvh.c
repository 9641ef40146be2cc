// SPDX-License-Identifier: MIT
/*
 * A PVH guest (guests/pvh/pvh.c: no Multiboot header, a Xen
 * PHYS32_ENTRY note) booted by `vintc run`'s loader under both irqchips:
 * the dispatcher picks PVH, the BSP enters with EBX = hvm_start_info, and
 * the guest reads the same start info, memory map, command line and
 * module on the AVIC model and on KVM's LAPIC.  Likewise a bzImage guest
 * (guests/bzimage/bzimage.c, a flat setup header + kernel) entered by the
 * 32-bit boot protocol with ESI = the zero page.  Needs /dev/kvm.
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

static char *run_pvh(enum vkvm_irqchip chip, struct vkvm_result *r)
{
	struct mboot_module mod = { initrd, sizeof(initrd) - 1, "initrd.img" };
	struct vkvm_opts o;

	vkvm_default_opts(&o);
	o.boot.cmdline = "console=ttyS0 pvh=1";
	o.boot.mods = &mod;
	o.boot.nr_mods = 1;
	o.timeout_s = 30;
	o.irqchip = chip;
	o.halt_poll_us = 0;
	return lib_run_opts("pvh", &o, r);
}

TEST(kvm_pvh_boots_under_both_irqchips)
{
	static const char *const must[] = {
		"PASS pvh entered\n",
		"PASS pvh magic=0x336ec578 version=1\n",
		"PASS pvh memmap 0x00000000 size 0x000a0000 type 1\n",
		"PASS pvh memmap 0x000a0000 size 0x00060000 type 2\n",
		"PASS pvh memmap 0xfee00000 size 0x00001000 type 2\n",
		"PASS pvh rsdp=0x000e0000\n",
		/* --append's text alone: no image name in front. */
		"PASS pvh cmdline=\"console=ttyS0 pvh=1\"\n",
		"PASS pvh nr_modules=1\n",
		"PASS pvh module0 size=12 bytes=INITRD-BYTES string=initrd.img\n",
	};
	struct vkvm_result ra, rk;
	char *oa, *ok, *pa, *pk;

	need_kvm();
	oa = run_pvh(VKVM_IRQCHIP_AVIC, &ra);
	ok = run_pvh(VKVM_IRQCHIP_KERNEL, &rk);
	pa = pass_lines(oa);
	pk = pass_lines(ok);
	if (strcmp(pa, pk) || ra.exit_status != 1 || rk.exit_status != 1 || strstr(oa, "FAIL"))
		test_fail(__FILE__, __LINE__, "pvh: avic (exit %d):\n%s\nkernel (exit %d, %s):\n%s",
			  ra.exit_status, oa, rk.exit_status, rk.message, ok);
	for (unsigned int i = 0; i < sizeof(must) / sizeof(must[0]); i++)
		if (!strstr(oa, must[i]))
			test_fail(__FILE__, __LINE__, "missing \"%s\" in:\n%s", must[i], oa);
	ASSERT_EQ(ra.layout.protocol, BOOT_PVH);
	ASSERT_EQ(rk.layout.protocol, BOOT_PVH);
	free(pa);
	free(pk);
	free(oa);
	free(ok);
}

/* guests/bzimage/NAME.c is built flat, as NAME.bin beside the ELF guests. */
static char *run_bzimage(enum vkvm_irqchip chip, struct vkvm_result *r)
{
	struct mboot_module mod = { initrd, sizeof(initrd) - 1, "initrd.img" };
	char path[4096], why[256], *text;
	enum vkvm_stage stage;
	FILE *out = tmpfile();
	struct vkvm_opts o;
	size_t len;
	int fd;

	snprintf(path, sizeof(path), "%s", guest_path("bzimage"));
	memcpy(path + strlen(path) - 4, ".bin", 4);
	fd = open(path, O_RDONLY);
	ASSERT(fd >= 0);
	ASSERT(out);
	vkvm_default_opts(&o);
	o.boot.image = slurp_fd(fd, &o.boot.image_size);
	close(fd);
	o.boot.cmdline = "console=ttyS0 bz=1";
	o.boot.mods = &mod;
	o.boot.nr_mods = 1;
	o.timeout_s = 30;
	o.irqchip = chip;
	o.halt_poll_us = 0;
	o.out_fd = fileno(out);
	if (vkvm_run_guest(&o, r, &stage, why, sizeof(why)))
		test_fail(__FILE__, __LINE__, "vkvm_run_guest(bzimage) failed at stage %d: %s",
			  stage, why);
	text = slurp_fd(fileno(out), &len);
	fclose(out);
	free((void *)o.boot.image);
	return text;
}

TEST(kvm_bzimage_boots_under_both_irqchips)
{
	static const char *const must[] = {
		"PASS bzimage entered\n",
		"PASS bzimage HdrS version=0x0000020f loader=0x000000ff\n",
		"PASS bzimage e820 0x00000000 size 0x000a0000 type 1\n",
		"PASS bzimage e820 0x000a0000 size 0x00060000 type 2\n",
		"PASS bzimage e820 0xfee00000 size 0x00001000 type 2\n",
		"PASS bzimage cmdline=\"console=ttyS0 bz=1\"\n",
		"PASS bzimage initrd size=12 bytes=INITRD-BYTES\n",
		"PASS bzimage rsdp=0x000e0000\n",
	};
	struct vkvm_result ra, rk;
	char *oa, *ok, *pa, *pk;

	need_kvm();
	oa = run_bzimage(VKVM_IRQCHIP_AVIC, &ra);
	ok = run_bzimage(VKVM_IRQCHIP_KERNEL, &rk);
	pa = pass_lines(oa);
	pk = pass_lines(ok);
	if (strcmp(pa, pk) || ra.exit_status != 1 || rk.exit_status != 1 || strstr(oa, "FAIL"))
		test_fail(__FILE__, __LINE__, "bzimage: avic (exit %d):\n%s\nkernel (exit %d, %s):\n%s",
			  ra.exit_status, oa, rk.exit_status, rk.message, ok);
	for (unsigned int i = 0; i < sizeof(must) / sizeof(must[0]); i++)
		if (!strstr(oa, must[i]))
			test_fail(__FILE__, __LINE__, "missing \"%s\" in:\n%s", must[i], oa);
	ASSERT_EQ(ra.layout.protocol, BOOT_BZIMAGE);
	ASSERT_EQ(rk.layout.protocol, BOOT_BZIMAGE);
	ASSERT_EQ(ra.layout.esi, 0x9000);
	free(pa);
	free(pk);
	free(oa);
	free(ok);
}
