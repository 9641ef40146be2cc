// SPDX-License-Identifier: MIT
/*
 * vintc run IMAGE: boot a Multiboot v1 ELF32 guest on /dev/kvm with the
 * minimal runner (<vintc/kvm_run.h>).  The guest's COM1 output is vintc's
 * stdout; its isa-debug-exit value becomes vintc's exit status, as with
 * QEMU.  Every file is read and the image loaded before /dev/kvm is
 * opened, so bad input is a usage error with nothing started.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vintc/host.h>
#include <vintc/kvm_run.h>

#include "args.h"
#include "cmds.h"
#include "term.h"

#define RUN_MAX_FILE	(1ULL << 30)	/* image or module */

void cmd_run_usage(FILE *f)
{
	fputs("usage: vintc run [-c CPUS] [-m MiB] [--irqchip=avic|kernel] [--append CMDLINE]\n"
	      "                 [--initrd FILE]... [--timeout S] [--no-reboot] [--json]\n"
	      "                 [--stats] [--trace FILE] [--halt-poll-us N] IMAGE\n"
	      "\n"
	      "Boot IMAGE, a Multiboot v1 ELF32 kernel, on /dev/kvm the way QEMU's -kernel\n"
	      "does: its PT_LOAD segments at their physical addresses, entry in flat 32-bit\n"
	      "protected mode with paging off, EAX = 0x2BADB002, EBX = the info block at\n"
	      "0x9000 (memory sizes, memory map, command line, modules).  An ELF32 or\n"
	      "ELF64 without a Multiboot header but with a PVH entry note (Xen's\n"
	      "XEN_ELFNOTE_PHYS32_ENTRY, as Linux's vmlinux carries) boots by PVH: the\n"
	      "same segments and entry state, EBX = hvm_start_info (version 1: memory map,\n"
	      "command line: --append's text alone, modules, RSDP) at 0x9000.  A Linux\n"
	      "bzImage (boot protocol 2.06+) has its protected-mode kernel at 1 MiB and\n"
	      "ESI = the zero page at 0x9000 (e820 map, --append's text, one --initrd,\n"
	      "RSDP); it boots by the 64-bit boot protocol when its header allows\n"
	      "(2.12+ with XLF_KERNEL_64: long mode at 1 MiB + 0x200, 0-4 GiB identity\n"
	      "mapped, page tables at 0x1000-0x7FFF, reserved in the e820 map), otherwise\n"
	      "by the 32-bit one (entry at code32_start).  By default no\n"
	      "in-kernel irqchip: the local APICs (xAPIC MMIO at 0xFEE00000, and x2APIC\n"
	      "MSRs if KVM lets them reach userspace, as a probe at start-up checks) and an\n"
	      "I/O APIC (0xFEC00000, 24 pins) are emulated in userspace on vintc's AVIC\n"
	      "model.  APs stay parked until the guest sends them INIT and then STARTUP.\n"
	      "vintc run needs /dev/kvm read-write (root, or a member of the kvm group).\n"
	      "The command line is \"IMAGE CMDLINE\" as QEMU gives it: IMAGE as typed,\n"
	      "then a space, then --append's CMDLINE (if any).\n"
	      "\n"
	      "Devices: COM1 (0x3F8), a 16550A on GSI 4: output to stdout, and input\n"
	      "from stdin when it is a terminal or a pipe (the Console section below says\n"
	      "how a terminal is used); isa-debug-exit (0xF4); the 8259\n"
	      "PICs as a mask stub (they never raise an interrupt); QEMU's pc-testdev\n"
	      "interrupt lines (a byte written to 0x2000 + n sets GSI n, 0..23); other I/O\n"
	      "ports read as all-ones and ignore writes, counted; fw_cfg (0x510/0x511) with\n"
	      "the signature, RAM size, CPU count and the file opt/vintc/reboots; the\n"
	      "reset registers: port 0x92 bit 0, port 0xCF9 (RST_CPU, e.g. 0x06) and the\n"
	      "i8042 (0x60/0x64, no keyboard) command 0xFE.  A reset boots the guest again\n"
	      "from its entry, RAM reloaded, every vCPU reset (opt/vintc/reboots counts\n"
	      "them), unless --no-reboot.  ACPI tables (RSDP, XSDT, FADT, MADT, DSDT) at\n"
	      "0xE0000; the ACPI PM1a registers at 0x600 (event) and 0x604 (control),\n"
	      "where SLP_EN with SLP_TYP 5 (\\_S5) powers the machine off.\n"
	      "\n"
	      "  -c CPUS           vCPUs, 1..64 (default 1); vCPU i has APIC ID i\n"
	      "  --irqchip=avic    the userspace APIC on the AVIC model (the default)\n"
	      "  --irqchip=kernel  KVM's own local APICs (KVM_CAP_SPLIT_IRQCHIP), to\n"
	      "                    compare: APIC accesses and HLT stay in the kernel, so\n"
	      "                    the APIC sections of --stats and --json say \"in-kernel\";\n"
	      "                    the I/O APIC, the PICs and the devices are vintc's\n"
	      "                    under both\n"
	      "  -m MiB            guest RAM, 2..65536 (default 512): from physical 0 up to\n"
	      "                    3 GiB, the rest from 4 GiB, as on a PC (the hole holds\n"
	      "                    the I/O APIC and the local APIC)\n"
	      "  --append CMDLINE  the arguments: the info block's command line is\n"
	      "                    \"IMAGE CMDLINE\" (\"IMAGE \" without --append)\n"
	      "  --initrd FILE     a module (Multiboot or PVH), page-aligned after the kernel;\n"
	      "                    repeat for more (at most 32), in order; the module's\n"
	      "                    string is FILE\n"
	      "  --timeout S       end a guest still running after S seconds, 0..86400,\n"
	      "                    counted from the first boot across reboots; 0 means\n"
	      "                    never (the default, as QEMU)\n"
	      "  --no-reboot       a guest reset ends the run (exit status 10) instead of\n"
	      "                    booting the guest again, as QEMU's -no-reboot\n"
	      "  --json            after the guest's output, one JSON line: end, exit_status,\n"
	      "                    message, seconds, reboots, exits (by KVM exit reason),\n"
	      "                    serial_bytes, ports {reads, writes}, mmio {reads, writes},\n"
	      "                    fw_cfg, cpus, irqchip, apic {reads, writes (by\n"
	      "                    register), ipis {sent, accelerated, doorbells, each\n"
	      "                    incomplete-IPI cause}, kicks, wakeups, injected,\n"
	      "                    irq_windows, ...}\n"
	      "  --stats           the same summary for humans, on stderr at the end\n"
	      "                    default: nothing but the guest's output\n"
	      "  --halt-poll-us N  --irqchip=avic: after a HLT, poll for an interrupt before\n"
	      "                    blocking the vCPU, for at most N us, 0..10000 (default\n"
	      "                    200; 0 never polls).  As KVM's halt_poll_ns, each vCPU's\n"
	      "                    window adapts: it grows from 10 us by x2 after a halt a\n"
	      "                    longer poll would have ended, halves after one longer\n"
	      "                    than N, and a poll stops when the host has more\n"
	      "                    runnable tasks than CPUs.  While polling the vCPU stays\n"
	      "                    IsRunning, so IPIs to it are accelerated instead of\n"
	      "                    waking it\n"
	      "  --trace FILE      write a Chrome/Perfetto trace-event JSON file, as\n"
	      "                    `vintc sim --trace`: a track per vCPU with \"in guest\"\n"
	      "                    slices for its time in KVM_RUN (the exit that ended each\n"
	      "                    in its args, \"exit\"), \"blocked\" slices, and instants\n"
	      "                    for injections, IPIs, doorbells, kicks, INIT, SIPI and\n"
	      "                    NMI; a track for the APIC timer's expiries; at most\n"
	      "                    262144 events a track, later ones counted as dropped\n"
	      "  -h, --help        this text\n"
	      "\n"
	      "Console: from a terminal, the terminal is in raw mode while the guest runs\n"
	      "(restored on every way out) and every key goes to the guest as typed,\n"
	      "Ctrl-C (0x03) included, except these, as QEMU's -nographic has them:\n"
	      "  Ctrl-A x          end the run at once: exit status 130, as SIGINT, and\n"
	      "                    like SIGINT no --stats, --json or --trace output\n"
	      "  Ctrl-A Ctrl-A     send one Ctrl-A (0x01) to the guest\n"
	      "  Ctrl-A h          print the keys on stderr\n"
	      "Ctrl-A and any other key sends both.  From a pipe, bytes go through as they\n"
	      "are and SIGINT ends vintc.  A line of guest output left unfinished for\n"
	      "20 ms while there is input (a prompt, an echoed key) is written out.\n"
	      "\n"
	      "Exit status: the guest's, as QEMU's isa-debug-exit gives it: a write of V to\n"
	      "port 0xF4 exits (V << 1) | 1, so 1 for V = 0; an ACPI poweroff (S5) exits 0.\n"
	      "A run the guest did not end itself prints \"vintc: run: <why>\" on stderr\n"
	      "and exits with an even status:\n"
	      "4 every vCPU halted with interrupts off or parked, so nothing can wake one,\n"
	      "6 triple fault, 8 KVM entry or emulation failure, 10 reset under\n"
	      "--no-reboot, 124 timeout.  2: usage error or bad image (one line, nothing\n"
	      "started); 1: /dev/kvm missing or unusable, or another host error.  A guest\n"
	      "that resets forever runs forever without --timeout, as under QEMU.\n", f);
}

struct run_args {
	const char *cpus, *mem, *timeout, *image, *halt_poll;
	const char *initrd[MBOOT_MAX_MODS];
	unsigned int nr_initrd;
	bool json, stats;
};

/* Read a whole file; a usage error (exit 2) on failure, -1 on success. */
static int read_file(const char *what, const char *path, void **data, size_t *size)
{
	struct stat st;
	uint8_t *buf;
	size_t off = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cli_usage_error("run: %s %s: %s", what, path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		int err = errno;

		close(fd);
		return cli_usage_error("run: %s %s: %s", what, path, strerror(err));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return cli_usage_error("run: %s %s: %s", what, path,
				       S_ISDIR(st.st_mode) ? strerror(EISDIR) : "not a regular file");
	}
	if ((uint64_t)st.st_size > RUN_MAX_FILE) {
		close(fd);
		return cli_usage_error("run: %s %s: %" PRIu64 " bytes, more than 1 GiB", what,
				       path, (uint64_t)st.st_size);
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		close(fd);
		return cli_lib_error(-ENOMEM, "run: reading %s", path);
	}
	while (off < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + off, (size_t)st.st_size - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = n < 0 ? errno : EIO;

			free(buf);
			close(fd);
			return cli_usage_error("run: %s %s: %s", what, path, strerror(err));
		}
		off += (size_t)n;
	}
	close(fd);
	*data = buf;
	*size = off;
	return -1;
}

/* Returns an exit status, or -1 to go on. */
static int run_parse(int argc, char **argv, struct run_args *ra, struct vkvm_opts *o)
{
	uint64_t v;
	struct args a;

	args_init(&a, argc, argv, 1);
	while (args_next(&a)) {
		const char **val = NULL;

		if (args_is(&a, "-c"))
			val = &ra->cpus;
		else if (args_is(&a, "-m"))
			val = &ra->mem;
		else if (args_is(&a, "--timeout"))
			val = &ra->timeout;
		else if (args_is(&a, "--append"))
			val = &o->boot.cmdline;
		else if (args_is(&a, "--trace"))
			val = &o->trace_path;
		else if (args_is(&a, "--halt-poll-us"))
			val = &ra->halt_poll;
		if (val) {
			if (!(*val = args_value(&a)))
				return CLI_EXIT_USAGE;
			continue;
		}
		if (args_is(&a, "--initrd")) {
			const char *f = args_value(&a);

			if (!f)
				return CLI_EXIT_USAGE;
			if (ra->nr_initrd == MBOOT_MAX_MODS)
				return cli_usage_error("run: --initrd: at most %u modules",
						       MBOOT_MAX_MODS);
			ra->initrd[ra->nr_initrd++] = f;
			continue;
		}
		if (args_is(&a, "--json")) {
			if (args_no_value(&a))
				return CLI_EXIT_USAGE;
			ra->json = true;
		} else if (args_is(&a, "--stats")) {
			if (args_no_value(&a))
				return CLI_EXIT_USAGE;
			ra->stats = true;
		} else if (args_is(&a, "--no-reboot")) {
			if (args_no_value(&a))
				return CLI_EXIT_USAGE;
			o->no_reboot = true;
		} else if (args_is(&a, "--irqchip")) {
			const char *chip = args_value(&a);

			if (!chip)
				return CLI_EXIT_USAGE;
			if (!strcmp(chip, "kernel"))
				o->irqchip = VKVM_IRQCHIP_KERNEL;
			else if (!strcmp(chip, "avic"))
				o->irqchip = VKVM_IRQCHIP_AVIC;
			else
				return cli_usage_error("run: --irqchip: '%s' is not avic or kernel", chip);
		} else if (a.arg[0] != '-' && !ra->image) {
			ra->image = a.arg;
		} else if (a.arg[0] != '-') {
			return cli_usage_error("run: unexpected argument '%s' (one IMAGE only)",
					       a.arg);
		} else {
			return args_unknown(&a, "run");
		}
	}
	if (ra->cpus) {
		if (args_parse_u64("-c", NULL, ra->cpus, 1, VKVM_MAX_CPUS, &v))
			return CLI_EXIT_USAGE;
		o->nr_cpus = (uint32_t)v;
	}
	if (ra->mem) {
		if (args_parse_u64("-m", NULL, ra->mem, VKVM_MIN_RAM_MIB, VKVM_MAX_RAM_MIB, &v))
			return CLI_EXIT_USAGE;
		o->ram_mib = (uint32_t)v;
	}
	if (ra->timeout) {
		if (args_parse_u64("--timeout", NULL, ra->timeout, 0, VKVM_MAX_TIMEOUT_S, &v))
			return CLI_EXIT_USAGE;
		o->timeout_s = (uint32_t)v;
	}
	if (ra->halt_poll) {
		if (args_parse_u64("--halt-poll-us", NULL, ra->halt_poll, 0, VKVM_MAX_HALT_POLL_US,
				   &v))
			return CLI_EXIT_USAGE;
		o->halt_poll_us = (uint32_t)v;
	}
	if (!ra->image)
		return cli_usage_error("run: missing IMAGE (a Multiboot ELF32 kernel)");
	return -1;
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* xAPIC register names by offset >> 4 (NULL: reserved). */
static const char *apic_reg_name(unsigned int i)
{
	static const char *const names[VKVM_APIC_REGS] = {
		[0x2] = "ID", [0x3] = "VERSION", [0x8] = "TPR", [0x9] = "APR", [0xa] = "PPR",
		[0xb] = "EOI", [0xc] = "RRD", [0xd] = "LDR", [0xe] = "DFR", [0xf] = "SVR",
		[0x10] = "ISR", [0x18] = "TMR", [0x20] = "IRR", [0x28] = "ESR",
		[0x30] = "ICR", [0x31] = "ICR2", [0x32] = "LVTT", [0x33] = "LVTTHMR",
		[0x34] = "LVTPC", [0x35] = "LVT0", [0x36] = "LVT1", [0x37] = "LVTERR",
		[0x38] = "TMICT", [0x39] = "TMCCT", [0x3e] = "TDCR",
	};
	static char buf[16];

	if (names[i])
		return names[i];
	/* ISR, TMR and IRR words 1..7 */
	if (i > 0x10 && i < 0x28) {
		snprintf(buf, sizeof(buf), "%s%u", i < 0x18 ? "ISR" : i < 0x20 ? "TMR" : "IRR",
			 i & 7);
		return buf;
	}
	snprintf(buf, sizeof(buf), "0x%03x", i << 4);
	return buf;
}

static const char *const ipi_exit_names[5] = {
	"invalid_int_type", "not_running", "invalid_target", "bad_backing_page",
	"illegal_vector",
};

static void json_regs(const uint64_t *c)
{
	bool first = true;

	putchar('{');
	for (unsigned int i = 0; i < VKVM_APIC_REGS; i++) {
		if (!c[i])
			continue;
		printf("%s\"%s\":%" PRIu64, first ? "" : ",", apic_reg_name(i), c[i]);
		first = false;
	}
	putchar('}');
}

static void json_apic(const struct vkvm_result *r)
{
	const struct vkvm_apic_stats *a = &r->apic;

	printf(",\"apic\":{\"reads\":");
	json_regs(a->reads);
	printf(",\"writes\":");
	json_regs(a->writes);
	printf(",\"bad_accesses\":%" PRIu64 ",\"ipis\":{\"sent\":%" PRIu64
	       ",\"accelerated\":%" PRIu64 ",\"doorbells\":%" PRIu64, a->bad_accesses, a->ipis,
	       a->ipi_accelerated, a->doorbells);
	for (unsigned int i = 0; i < ARRAY_SIZE(ipi_exit_names); i++)
		printf(",\"%s\":%" PRIu64, ipi_exit_names[i], a->ipi_exits[i]);
	printf("},\"kicks\":%" PRIu64 ",\"wakeups\":%" PRIu64 ",\"injected\":%" PRIu64
	       ",\"irq_windows\":%" PRIu64 ",\"nmis\":%" PRIu64 ",\"inits\":%" PRIu64
	       ",\"sipis\":%" PRIu64 ",\"timer_fires\":%" PRIu64 ",\"halt_polls\":%" PRIu64
	       ",\"halt_poll_misses\":%" PRIu64 ",\"kick_ns\":%" PRIu64 ",\"msr_gp\":%" PRIu64
	       ",\"x2apic\":%s"
	       ",\"tsc_deadline\":%s,\"apic_base_msr\":%s}", a->kicks, a->wakeups,
	       a->injected, a->irq_windows, a->nmis, a->inits, a->sipis, a->timer_fires,
	       a->halt_polls, a->halt_poll_misses, a->kick_ns, r->msr_gp, r->x2apic ? "true" : "false",
	       r->tsc_deadline ? "true" : "false", r->apic_base_msr ? "true" : "false");
}

/* The human summary, on stderr after the guest's output (--stats). */
static void run_stats(const struct vkvm_result *r)
{
	const struct vkvm_apic_stats *a = &r->apic;

	fprintf(stderr, "vintc: run: %u vCPU%s, %.3f s, ", r->nr_cpus,
		r->nr_cpus == 1 ? "" : "s", r->seconds);
	if (r->reboots)
		fprintf(stderr, "%u reboot%s, ", r->reboots, r->reboots == 1 ? "" : "s");
	fprintf(stderr, "exits:");
	for (unsigned int i = 0; i < VKVM_NR_EXIT_REASONS; i++) {
		const char *name = vkvm_exit_name(i);

		if (r->exits[i])
			fprintf(stderr, " %s %" PRIu64, name ? name : "?", r->exits[i]);
	}
	if (r->irqchip == VKVM_IRQCHIP_KERNEL) {
		fprintf(stderr, "\nvintc: run: APIC: in-kernel (KVM's LAPIC, split irqchip): "
			"no accesses, IPIs or wake-ups seen here\n");
		return;
	}
	fprintf(stderr, "\nvintc: run: APIC reads:");
	for (unsigned int i = 0; i < VKVM_APIC_REGS; i++)
		if (a->reads[i])
			fprintf(stderr, " %s %" PRIu64, apic_reg_name(i), a->reads[i]);
	fprintf(stderr, "; writes:");
	for (unsigned int i = 0; i < VKVM_APIC_REGS; i++)
		if (a->writes[i])
			fprintf(stderr, " %s %" PRIu64, apic_reg_name(i), a->writes[i]);
	fprintf(stderr, "\nvintc: run: IPIs %" PRIu64 ": accelerated %" PRIu64 ", doorbells %"
		PRIu64, a->ipis, a->ipi_accelerated, a->doorbells);
	for (unsigned int i = 0; i < ARRAY_SIZE(ipi_exit_names); i++)
		fprintf(stderr, ", %s %" PRIu64, ipi_exit_names[i], a->ipi_exits[i]);
	fprintf(stderr, "\nvintc: run: kicks %" PRIu64 ", wake-ups %" PRIu64 ", injected %" PRIu64
		", irq windows %" PRIu64 ", NMI %" PRIu64 ", INIT %" PRIu64 ", SIPI %" PRIu64
		", timer fires %" PRIu64 "\n", a->kicks, a->wakeups, a->injected, a->irq_windows,
		a->nmis, a->inits, a->sipis, a->timer_fires);
	fprintf(stderr, "vintc: run: halt polls %" PRIu64 " ended a HLT, %" PRIu64
		" gave up; MSR #GPs %" PRIu64 "; x2APIC %s, TSC-deadline %s, IA32_APIC_BASE %s\n",
		a->halt_polls, a->halt_poll_misses, r->msr_gp,
		r->x2apic ? "advertised" : "hidden (probe)",
		r->tsc_deadline ? "advertised" : "hidden (probe)",
		r->apic_base_msr ? "filtered" : "followed after exits (probe)");
}

static void run_json(const struct vkvm_result *r)
{
	bool first = true;

	printf("{\"end\":\"%s\",\"exit_status\":%d,\"message\":", vkvm_end_name(r->end),
	       r->exit_status);
	json_str(r->message);
	printf(",\"seconds\":%.6f,\"reboots\":%u,\"exits\":{", r->seconds, r->reboots);
	for (unsigned int i = 0; i < VKVM_NR_EXIT_REASONS; i++) {
		const char *name = vkvm_exit_name(i);

		if (!r->exits[i])
			continue;
		if (name)
			printf("%s\"%s\":%" PRIu64, first ? "" : ",", name, r->exits[i]);
		else
			printf("%s\"%u\":%" PRIu64, first ? "" : ",", i, r->exits[i]);
		first = false;
	}
	if (r->exits_other)
		printf("%s\"other\":%" PRIu64, first ? "" : ",", r->exits_other);
	printf("},\"serial_bytes\":%" PRIu64 ",\"ports\":{\"reads\":%" PRIu64
	       ",\"writes\":%" PRIu64 "},\"mmio\":{\"reads\":%" PRIu64 ",\"writes\":%" PRIu64
	       "},\"fw_cfg\":%" PRIu64 ",\"cpus\":%u,\"int3_delivered\":%" PRIu64
	       ",\"fwait_completed\":%" PRIu64,
	       r->serial_bytes, r->port_reads, r->port_writes, r->mmio_reads, r->mmio_writes,
	       r->fw_cfg, r->nr_cpus, r->int3_delivered, r->fwait_completed);
	if (r->irqchip == VKVM_IRQCHIP_KERNEL) {
		printf(",\"irqchip\":\"kernel\",\"apic\":\"in-kernel\"");
	} else {
		printf(",\"irqchip\":\"avic\"");
		json_apic(r);
	}
	printf("}\n");
}

int cmd_run(int argc, char **argv)
{
	struct mboot_module mods[MBOOT_MAX_MODS];
	struct run_args ra = { 0 };
	struct vkvm_result r;
	enum vkvm_stage stage;
	struct vkvm_opts o;
	void *image = NULL;
	char why[256];
	int status, ret;

	if (args_want_help(argc, argv, 1)) {
		cmd_run_usage(stdout);
		return CLI_EXIT_OK;
	}
	vkvm_default_opts(&o);
	status = run_parse(argc, argv, &ra, &o);
	if (status >= 0)
		return status;
	if (cli_parse_only)
		return CLI_EXIT_OK;

	status = read_file("IMAGE", ra.image, &image, &o.boot.image_size);
	for (unsigned int i = 0; status < 0 && i < ra.nr_initrd; i++) {
		void *d = NULL;

		status = read_file("--initrd", ra.initrd[i], &d, &mods[i].size);
		mods[i].data = d;
		mods[i].string = ra.initrd[i];
		o.boot.nr_mods = status < 0 ? i + 1 : i;
	}
	o.boot.image = image;
	o.boot.image_name = ra.image;
	o.boot.mods = mods;
	if (status >= 0)
		goto out;

	/* The guest writes COM1 straight to fd 1: nothing of ours may sit in stdio's buffer. */
	fflush(stdout);
	ret = term_console_open(&o.in_fd);
	if (ret) {
		status = cli_lib_error(ret, "run: the console");
		goto out;
	}
	ret = vkvm_run_guest(&o, &r, &stage, why, sizeof(why));
	term_console_close();
	if (ret) {
		if (stage == VKVM_STAGE_LOAD && ret != -ENOMEM)
			status = cli_usage_error("run: %s: %s", ra.image, why);
		else
			status = cli_error("run: %s", why);
		goto out;
	}
	if (ra.json)
		run_json(&r);
	fflush(stdout);
	if (ra.stats)
		run_stats(&r);
	if (r.end != VKVM_END_DEBUG_EXIT && r.end != VKVM_END_POWEROFF)
		fprintf(stderr, "vintc: run: %s\n", r.message);
	status = r.exit_status & 0xff;
out:
	for (unsigned int i = 0; i < o.boot.nr_mods; i++)
		free((void *)mods[i].data);
	free(image);
	return status;
}
