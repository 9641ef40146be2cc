/* SPDX-License-Identifier: MIT */
/*
 * vintc CLI commands.  Each takes its own argc/argv (argv[0] is the
 * command word, e.g. "dump" or "avic"), prints only its result on stdout,
 * and returns the exit status: 0 ok, 1 library error or failed check,
 * 2 usage error (see args.h).
 */
#ifndef VINTC_TOOLS_CMDS_H
#define VINTC_TOOLS_CMDS_H

#include <stdio.h>

#include "args.h"

/* vintc dump <target> ...: build a VM and print its structures. */
int cmd_dump(int argc, char **argv);
void cmd_dump_usage(FILE *f);
extern const struct cli_target cmd_dump_targets[];
/* vintc dump avic ... */
int cmd_dump_avic(int argc, char **argv);
void cmd_dump_avic_usage(FILE *f);
/* vintc dump gicv5 ... (cmd_dump_gicv5.c) */
int cmd_dump_gicv5(int argc, char **argv);
void cmd_dump_gicv5_usage(FILE *f);

/* vintc faults <target> ...: exhaustive fault-injection campaign. */
int cmd_faults(int argc, char **argv);
void cmd_faults_usage(FILE *f);
extern const struct cli_target cmd_faults_targets[];
/* vintc faults avic ... */
int cmd_faults_avic(int argc, char **argv);
void cmd_faults_avic_usage(FILE *f);
/* vintc faults gicv5 ... */
int cmd_faults_gicv5(int argc, char **argv);
void cmd_faults_gicv5_usage(FILE *f);

/* vintc sim WORKLOAD ...: deliver interrupts on model vCPUs (cmd_sim.c). */
int cmd_sim(int argc, char **argv);
void cmd_sim_usage(FILE *f);

/* vintc run IMAGE ...: boot a Multiboot guest on /dev/kvm (cmd_run.c). */
int cmd_run(int argc, char **argv);
void cmd_run_usage(FILE *f);

#endif
