// SPDX-License-Identifier: MIT
/*
 * vintc: command-line front end of the vintc library.  Dispatches to the
 * commands in cmds.h, which dispatch to their targets (avic, gicv5) through
 * args_dispatch(); the library never prints, this tool does.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "cmds.h"

/* The commands: dispatch, the overview and `vintc help CMD` all read this. */
struct cli_cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	void (*usage)(FILE *f);
	const struct cli_target *targets;	/* NULL: the command has none */
};

static int cmd_help(int argc, char **argv);
static void usage(FILE *f);

static const struct cli_cmd cli_cmds[] = {
	{ "dump", cmd_dump, cmd_dump_usage, cmd_dump_targets },
	{ "faults", cmd_faults, cmd_faults_usage, cmd_faults_targets },
	{ "sim", cmd_sim, cmd_sim_usage, NULL },
	{ "run", cmd_run, cmd_run_usage, NULL },
	{ "help", cmd_help, usage, NULL },
};

static const struct cli_cmd *cli_find_cmd(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(cli_cmds); i++)
		if (!strcmp(cli_cmds[i].name, name))
			return &cli_cmds[i];
	return NULL;
}

static void usage(FILE *f)
{
	fputs("usage: vintc <command> [<target>] [options]\n"
	      "\n"
	      "vintc drives the hypervisor side of interrupt virtualization (AMD AVIC,\n"
	      "Arm GICv5) against software models of the silicon: it builds VMs with the\n"
	      "library and prints what the silicon would see.\n"
	      "\n"
	      "commands:\n"
	      "  dump avic      build an AVIC VM and print its physical and logical APIC\n"
	      "                 ID tables, GA tags and inhibits\n"
	      "  dump gicv5     build a GICv5 VM on an IRS model and print its VMTE, VPET,\n"
	      "                 the PEs' ICH_CONTEXTR_EL2 and the IRS registers\n"
	      "  faults avic    run the exhaustive fault-injection campaign (AVIC)\n"
	      "  faults gicv5   the same for GICv5: allocations, host LPIs, and IRS\n"
	      "                 commands that fault or never complete\n"
	      "  sim WORKLOAD   deliver interrupts end to end on model vCPUs (IPIs through\n"
	      "                 AVIC, device interrupts through a GICv5 IRS), free-running\n"
	      "                 or seeded and deterministic, and count every one\n"
	      "  run IMAGE      boot a Multiboot ELF32 guest on /dev/kvm (read-write: root\n"
	      "                 or the kvm group) with 1..64 vCPUs, its local APICs\n"
	      "                 emulated in userspace on the AVIC model (--irqchip=kernel:\n"
	      "                 KVM's own); its COM1 is stdout, its isa-debug-exit status\n"
	      "                 is vintc's\n"
	      "  help [CMD [TARGET]]\n"
	      "                 this text, or one command's or target's\n"
	      "\n"
	      "Long runs (faults, sim) show their progress on stderr when it is a terminal.\n"
	      "Exit status: 0 success, 1 library error or failed check, 2 usage error\n"
	      "(one \"vintc: ...\" line on stderr, nothing on stdout).\n"
	      "VINTC_LOG=err|warn|info|debug prints the library's log on stderr, which is\n"
	      "silent otherwise.\n", f);
}

static void full_help(FILE *f)
{
	usage(f);
	for (size_t i = 0; i < ARRAY_SIZE(cli_cmds); i++) {
		if (cli_cmds[i].usage == usage)
			continue;
		fputs("\n", f);
		cli_cmds[i].usage(f);
	}
}

/* vintc help [CMD [TARGET]] */
static int cmd_help(int argc, char **argv)
{
	const struct cli_target *t;
	const struct cli_cmd *c;

	if (argc < 2) {
		full_help(stdout);
		return CLI_EXIT_OK;
	}
	if (args_want_help(argc, argv, 1)) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	c = cli_find_cmd(argv[1]);
	if (!c)
		return cli_usage_error("help: unknown command '%s' (try 'vintc --help')", argv[1]);
	if (argc > 3 || (argc == 3 && !c->targets))
		return cli_usage_error("help: unexpected argument '%s'", argv[argc - 1]);
	if (argc == 3) {
		t = args_find_target(c->targets, argv[2]);
		if (!t)
			return cli_usage_error("help: %s has no target '%s'", argv[1], argv[2]);
		t->usage(stdout);
		return CLI_EXIT_OK;
	}
	c->usage(stdout);
	return CLI_EXIT_OK;
}

static int dispatch(int argc, char **argv)
{
	const struct cli_cmd *c;
	const char *cmd;

	if (argc < 2)
		return cli_usage_error("missing command (try 'vintc --help')");
	cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
		full_help(stdout);
		return CLI_EXIT_OK;
	}
	c = cli_find_cmd(cmd);
	if (c)
		return c->run(argc - 1, argv + 1);
	if (cmd[0] == '-')
		return cli_usage_error("unknown option '%s' (try 'vintc --help')", cmd);
	return cli_usage_error("unknown command '%s' (try 'vintc --help')", cmd);
}

int main(int argc, char **argv)
{
	int status = dispatch(argc, argv);

	/* A result that never reached stdout (full disk, closed pipe) is a failure. */
	if (fflush(stdout) || ferror(stdout)) {
		int err = errno;

		return cli_lib_error(err ? err : EIO, "writing stdout");
	}
	return status;
}
