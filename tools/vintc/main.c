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
	      "  run IMAGE      boot a Multiboot ELF32 guest on /dev/kvm (one vCPU for now;\n"
	      "                 SMP and --irqchip arrive with the userspace APIC); its\n"
	      "                 COM1 is stdout, its isa-debug-exit status is vintc's\n"
	      "  help [CMD [TARGET]]\n"
	      "                 this text, or one command's or target's\n"
	      "\n"
	      "Exit status: 0 success, 1 library error or failed check, 2 usage error\n"
	      "(one \"vintc: ...\" line on stderr, nothing on stdout).\n"
	      "Set VINTC_LOG=err|warn|info|debug to see the library's log.\n", f);
}

static void full_help(FILE *f)
{
	usage(f);
	fputs("\n", f);
	cmd_dump_usage(f);
	fputs("\n", f);
	cmd_faults_usage(f);
	fputs("\n", f);
	cmd_sim_usage(f);
	fputs("\n", f);
	cmd_run_usage(f);
}

/* vintc help [CMD [TARGET]] */
static int cmd_help(int argc, char **argv)
{
	const struct cli_target *targets = NULL, *t;
	void (*cmd_usage)(FILE *f) = NULL;

	if (argc < 2) {
		full_help(stdout);
		return CLI_EXIT_OK;
	}
	if (!strcmp(argv[1], "dump")) {
		targets = cmd_dump_targets;
		cmd_usage = cmd_dump_usage;
	} else if (!strcmp(argv[1], "faults")) {
		targets = cmd_faults_targets;
		cmd_usage = cmd_faults_usage;
	} else if (!strcmp(argv[1], "sim")) {
		cmd_usage = cmd_sim_usage;
	} else if (!strcmp(argv[1], "run")) {
		cmd_usage = cmd_run_usage;
	} else if (!strcmp(argv[1], "help")) {
		cmd_usage = usage;
	} else {
		return cli_usage_error("help: unknown command '%s' (try 'vintc --help')", argv[1]);
	}
	if (argc > 3 || (argc == 3 && !targets))
		return cli_usage_error("help: unexpected argument '%s'", argv[argc - 1]);
	if (argc == 3) {
		t = args_find_target(targets, argv[2]);
		if (!t)
			return cli_usage_error("help: %s has no target '%s'", argv[1], argv[2]);
		t->usage(stdout);
		return CLI_EXIT_OK;
	}
	cmd_usage(stdout);
	return CLI_EXIT_OK;
}

static int dispatch(int argc, char **argv)
{
	const char *cmd;

	if (argc < 2)
		return cli_usage_error("missing command (try 'vintc --help')");
	cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
		full_help(stdout);
		return CLI_EXIT_OK;
	}
	if (!strcmp(cmd, "help"))
		return cmd_help(argc - 1, argv + 1);
	if (!strcmp(cmd, "dump"))
		return cmd_dump(argc - 1, argv + 1);
	if (!strcmp(cmd, "faults"))
		return cmd_faults(argc - 1, argv + 1);
	if (!strcmp(cmd, "sim"))
		return cmd_sim(argc - 1, argv + 1);
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
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
