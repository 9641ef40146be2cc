/* SPDX-License-Identifier: MIT */
/*
 * Argument helpers for the vintc CLI.
 *
 * Conventions: a usage error (unknown flag, missing or bad value) prints
 * exactly one "vintc: ..." line on stderr and makes the command exit 2; a
 * library error prints "vintc: <what>: <strerror>" and exits 1.  Nothing
 * goes to stdout on either path.  Numbers are decimal or 0x hex, parsed
 * strictly (the whole string, no sign, no blanks).
 */
#ifndef VINTC_TOOLS_ARGS_H
#define VINTC_TOOLS_ARGS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <vintc/vm.h>

#define CLI_EXIT_OK    0
#define CLI_EXIT_FAIL  1	/* library error or failed check */
#define CLI_EXIT_USAGE 2	/* bad command line */

/*
 * Parse only: each command checks its arguments exactly as usual (same
 * messages, same usage status) and then returns CLI_EXIT_OK instead of
 * doing its work.  For the argument-parser fuzz target; false otherwise.
 */
extern bool cli_parse_only;

/* Print "vintc: <msg>" on stderr; returns CLI_EXIT_USAGE. */
__attribute__((format(printf, 1, 2)))
int cli_usage_error(const char *fmt, ...);

/* Print "vintc: <msg>" on stderr; returns CLI_EXIT_FAIL. */
__attribute__((format(printf, 1, 2)))
int cli_error(const char *fmt, ...);

/* Print "vintc: <what>: <strerror(-err)>" on stderr; returns CLI_EXIT_FAIL. */
__attribute__((format(printf, 2, 3)))
int cli_lib_error(int err, const char *fmt, ...);

/*
 * Parse s strictly: decimal, or hex after "0x"/"0X".  0 on success,
 * -EINVAL if s is not such a number, -ERANGE if it does not fit in 64 bits.
 */
int args_parse_num(const char *s, uint64_t *out);

/*
 * args_parse_num() plus a range check.  On error prints one line naming
 * flag (and noun, if not NULL: "--load: vCPU 9 is out of range (0..3)")
 * and returns -1.
 */
int args_parse_u64(const char *flag, const char *noun, const char *s,
		   uint64_t min, uint64_t max, uint64_t *out);

/* True if any of argv[first..argc-1] is "-h" or "--help". */
bool args_want_help(int argc, char **argv, int first);

/*
 * Flag iterator over argv[first..argc-1].  Accepts "--flag value" and
 * "--flag=value".
 */
struct args {
	int argc;
	char **argv;
	int next;			/* index of the next argument */
	const char *arg;		/* the current argument, as given */
	const char *inline_value;	/* after '=' in "--flag=value", or NULL */
	char name[64];			/* the current flag without "=value" */
};

void args_init(struct args *a, int argc, char **argv, int first);
/* Step to the next argument; false at the end. */
bool args_next(struct args *a);
/* True if the current argument is the flag `flag` (with or without =value). */
bool args_is(const struct args *a, const char *flag);
/*
 * args_is() for a flag this parser refuses because it belongs to another
 * target of the command (see args_other_target()): not one of its options,
 * so not passed to args_flag_hook.
 */
bool args_is_other(const struct args *a, const char *flag);

/*
 * For the CLI's own tests: when set, every flag a parser compares an
 * argument with (args_is(), and "-h" and "--help" in args_want_help()) is
 * passed to it.  A parser run on an argument it does not know compares it
 * with every option it takes, so the hook then lists them all, from the
 * parser itself.  NULL otherwise.
 */
extern void (*args_flag_hook)(const char *flag);
/*
 * The current flag's value: the part after '=', else the next argument
 * (which must not start with "--").  NULL after printing an error.
 */
const char *args_value(struct args *a);
/* For flags without a value: -1 after printing an error if "=value" was given. */
int args_no_value(const struct args *a);
/* Print the error for the current argument, which matched no flag. */
int args_unknown(const struct args *a, const char *cmd);

/*
 * For a flag that belongs to another target of the same command:
 * "faults gicv5: --x2avic applies to 'faults avic' only".  Returns
 * CLI_EXIT_USAGE.
 */
int args_other_target(const struct args *a, const char *cmd, const char *owner);

/*
 * A comma list "a,b,c" (no empty items): item() is called on each in order
 * and returns 0 or -1 after printing an error.  -1 if any item failed.
 */
int args_parse_list(const char *flag, const char *list,
		    int (*item)(void *ctx, const char *item), void *ctx);

/* vCPU loads from --load V:CPU,..., in command-line order. */
struct args_loads {
	uint32_t nr;
	uint32_t vcpu[VM_MAX_VCPUS];
	int cpu[VM_MAX_VCPUS];
	int cpu_of[VM_MAX_VCPUS];	/* by vCPU index; -1: not loaded */
};

void args_loads_init(struct args_loads *l);
/*
 * Add the items of one --load list: vCPU 0..nr_vcpus-1, each at most once
 * over every list, and CPU 0..nr_cpus-1.  -1 after printing an error.
 */
int args_parse_loads(struct args_loads *l, const char *list, uint32_t nr_vcpus,
		     uint32_t nr_cpus);

/*
 * A command's targets ("avic", "gicv5"), in a table ending with a NULL
 * name.  run gets argv[0] == the target word; usage prints its --help.
 */
struct cli_target {
	const char *name;
	int (*run)(int argc, char **argv);
	void (*usage)(FILE *f);
};

/* The target called name, or NULL. */
const struct cli_target *args_find_target(const struct cli_target *targets, const char *name);

/*
 * Run "vintc <cmd> <target> [options]": argv[0] is the command word.
 * "-h"/"--help" as the target prints usage (the whole command's help); a
 * "-h"/"--help" anywhere after a known target prints that target's usage
 * and wins over every other argument.  A missing or unknown target is a
 * usage error naming the targets.  Returns the exit status.
 */
int args_dispatch(const char *cmd, const struct cli_target *targets, void (*usage)(FILE *f),
		  int argc, char **argv);

/* --x2avic / --x2avic-4k -> model; -1 after printing an error if both. */
int args_model(bool x2avic, bool x2avic_4k, enum avic_model *model);
/* "xavic", "x2avic" or "x2avic-4k". */
const char *args_model_name(enum avic_model model);

#endif
