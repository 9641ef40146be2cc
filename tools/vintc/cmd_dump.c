// SPDX-License-Identifier: MIT
/*
 * vintc dump avic: build an AVIC VM, create vCPUs 0..N-1 (vCPU ID ==
 * index), load some on host CPUs, put some into the blocking state, then
 * print what the silicon would see: the physical APIC ID table (raw u64
 * entries), the logical APIC ID table, each vCPU's GA tag, and the VM's
 * inhibits.  The VM is destroyed before returning.  dump gicv5 lives in
 * cmd_dump_gicv5.c; cmd_dump() picks the target.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vintc/avic.h>

#include "args.h"
#include "cmds.h"

#define DUMP_DEFAULT_VCPUS 4U
/* Flat indexes 0..7 and cluster indexes 0..59 overlap: 60 entries cover both. */
#define DUMP_LOGICAL_ENTRIES (AVIC_LOGICAL_CLUSTER_MAX_INDEX + 1)

struct dump_opts {
	uint32_t vcpus;
	enum avic_model model;
	bool no_ipiv;
	bool json;
	/* Applied in command-line order: loads first, then blocks. */
	struct args_loads loads;
	uint32_t nr_blocks;
	uint32_t block_vcpu[VM_MAX_VCPUS];
	bool blocked[VM_MAX_VCPUS];
};

void cmd_dump_usage(FILE *f)
{
	cmd_dump_avic_usage(f);
	fputs("\n", f);
	cmd_dump_gicv5_usage(f);
}

void cmd_dump_avic_usage(FILE *f)
{
	fputs("usage: vintc dump avic [--vcpus N] [--x2avic|--x2avic-4k] [--load V:CPU,...]\n"
	      "                       [--block V,...] [--no-ipiv] [--json]\n"
	      "\n"
	      "Build a VM with the AVIC backend and vCPUs 0..N-1 (vCPU ID = index), load\n"
	      "and block some of them, print the AVIC structures, then destroy the VM.\n"
	      "\n"
	      "  --vcpus N         vCPUs to create, 1..4096 (default 4).  IDs above the\n"
	      "                    model's max physical ID get no table entry and inhibit\n"
	      "                    AVIC for the VM (PHYSICAL_ID_TOO_BIG)\n"
	      "  --x2avic          x2AVIC model: physical IDs 0..0x1FF (512 entries)\n"
	      "  --x2avic-4k       x2AVIC with 4K IDs: 0..0xFFF (4096 entries)\n"
	      "                    default: xAVIC, IDs 0..0xFE (255 entries)\n"
	      "  --load V:CPU,...  load vCPU V on host CPU CPU (vcpu_load): IsRunning=1 and\n"
	      "                    the CPU's host APIC ID in the entry; repeatable\n"
	      "  --block V,...     then put loaded vCPU V into the blocking state\n"
	      "                    (vcpu_blocking): IsRunning=0, host APIC ID kept\n"
	      "  --no-ipiv         IPI virtualisation off: IsRunning is kept only in the\n"
	      "                    hypervisor's shadow, never in the table\n"
	      "  --json            one JSON object on one line:\n"
	      "                      vm_id, physical_table (entries 0..max index, raw u64),\n"
	      "                      logical_table (entries 0..59), ga_tags (one per vCPU),\n"
	      "                      model, vcpus, max_index, apicv_active, inhibits,\n"
	      "                      backing_pages, cpus (-1: not loaded), blocking\n"
	      "                    default: a table per vCPU with the decoded entry\n"
	      "  -h, --help        this text\n"
	      "\n"
	      "Numbers are decimal or 0x hex.  Host CPUs are the model's (64 by default,\n"
	      "host APIC ID = CPU number).\n", f);
}

static int parse_block_item(void *ctx, const char *item)
{
	struct dump_opts *o = ctx;
	uint64_t v;

	if (args_parse_u64("--block", "vCPU", item, 0, o->vcpus - 1, &v))
		return -1;
	if (o->loads.cpu_of[v] < 0) {
		cli_usage_error("--block: vCPU %" PRIu64 " is not loaded (add --load %" PRIu64 ":CPU)",
				v, v);
		return -1;
	}
	if (o->blocked[v]) {
		cli_usage_error("--block: vCPU %" PRIu64 " is blocked twice", v);
		return -1;
	}
	o->blocked[v] = true;
	o->block_vcpu[o->nr_blocks++] = (uint32_t)v;
	return 0;
}

/*
 * Two passes: collect the flags, then interpret them, so --vcpus may come
 * after the --load/--block that it bounds.  Returns an exit status, or -1
 * to go on.
 */
static int dump_avic_parse(struct dump_opts *o, int argc, char **argv)
{
	const char *vcpus = NULL, *v;
	const char **loads, **blocks;
	uint32_t nr_loads = 0, nr_blocks = 0;
	bool x2 = false, x2_4k = false;
	int status = CLI_EXIT_USAGE;
	struct args a;
	uint64_t n = DUMP_DEFAULT_VCPUS;

	loads = calloc((size_t)argc, sizeof(*loads));
	blocks = calloc((size_t)argc, sizeof(*blocks));
	if (!loads || !blocks) {
		status = cli_lib_error(-ENOMEM, "dump avic");
		goto out;
	}
	args_init(&a, argc, argv, 1);
	while (args_next(&a)) {
		if (args_is(&a, "--vcpus")) {
			if (!(vcpus = args_value(&a)))
				goto out;
		} else if (args_is(&a, "--load")) {
			if (!(v = args_value(&a)))
				goto out;
			loads[nr_loads++] = v;
		} else if (args_is(&a, "--block")) {
			if (!(v = args_value(&a)))
				goto out;
			blocks[nr_blocks++] = v;
		} else if (args_is(&a, "--x2avic")) {
			if (args_no_value(&a))
				goto out;
			x2 = true;
		} else if (args_is(&a, "--x2avic-4k")) {
			if (args_no_value(&a))
				goto out;
			x2_4k = true;
		} else if (args_is(&a, "--no-ipiv")) {
			if (args_no_value(&a))
				goto out;
			o->no_ipiv = true;
		} else if (args_is(&a, "--json")) {
			if (args_no_value(&a))
				goto out;
			o->json = true;
		} else if (args_is_other(&a, "--two-level")) {
			args_other_target(&a, "dump avic", "dump gicv5");
			goto out;
		} else {
			args_unknown(&a, "dump avic");
			goto out;
		}
	}
	if (args_model(x2, x2_4k, &o->model))
		goto out;
	if (vcpus && args_parse_u64("--vcpus", NULL, vcpus, 1, VM_MAX_VCPUS, &n))
		goto out;
	o->vcpus = (uint32_t)n;
	args_loads_init(&o->loads);
	for (uint32_t i = 0; i < nr_loads; i++)
		if (args_parse_loads(&o->loads, loads[i], o->vcpus, host_cpus_nr()))
			goto out;
	for (uint32_t i = 0; i < nr_blocks; i++)
		if (args_parse_list("--block", blocks[i], parse_block_item, o))
			goto out;
	status = -1;
out:
	free(loads);
	free(blocks);
	return status;
}

static int dump_avic_build(const struct dump_opts *o, struct vm **out)
{
	struct vm_config cfg = {
		.arch = VM_ARCH_AVIC,
		.avic = { .model = o->model, .disable_ipiv = o->no_ipiv },
	};
	struct vm *vm;
	int r;

	r = vm_create(&cfg, &vm);
	if (r)
		return cli_lib_error(r, "vm_create");
	for (uint32_t i = 0; i < o->vcpus; i++) {
		r = vcpu_create(vm, i, NULL);
		if (r) {
			vm_destroy(vm);
			return cli_lib_error(r, "vcpu_create(vCPU %u)", i);
		}
	}
	for (uint32_t i = 0; i < o->loads.nr; i++) {
		r = vcpu_load(vm_get_vcpu(vm, o->loads.vcpu[i]), o->loads.cpu[i]);
		if (r) {
			vm_destroy(vm);
			return cli_lib_error(r, "vcpu_load(vCPU %u, CPU %d)",
					     o->loads.vcpu[i], o->loads.cpu[i]);
		}
	}
	for (uint32_t i = 0; i < o->nr_blocks; i++)
		vcpu_blocking(vm_get_vcpu(vm, o->block_vcpu[i]));
	*out = vm;
	return CLI_EXIT_OK;
}

static void print_inhibits_json(struct vm *vm)
{
	uint64_t inh = avic_inhibits(vm);
	bool first = true;

	fputs("\"inhibits\":[", stdout);
	for (unsigned int r = 0; r < AVIC_INHIBIT_NR; r++) {
		if (!(inh & BIT_ULL(r)))
			continue;
		printf("%s\"%s\"", first ? "" : ",", avic_inhibit_name((enum avic_inhibit)r));
		first = false;
	}
	putchar(']');
}

static void dump_avic_json(struct vm *vm, const struct dump_opts *o)
{
	struct avic_vm_info k;
	uint32_t n = vm_nr_vcpus(vm);

	avic_vm_info(vm, &k);
	printf("{\"vm_id\":%u,\"physical_table\":[", k.vm_id);
	for (uint32_t i = 0; i < k.physical_entries; i++)
		printf("%s\"0x%016" PRIx64 "\"", i ? "," : "", avic_vm_physical_entry(vm, i));
	fputs("],\"logical_table\":[", stdout);
	for (uint32_t i = 0; i < DUMP_LOGICAL_ENTRIES; i++)
		printf("%s\"0x%08x\"", i ? "," : "", avic_vm_logical_entry(vm, i));
	fputs("],\"ga_tags\":[", stdout);
	for (uint32_t i = 0; i < n; i++)
		printf("%s\"0x%08x\"", i ? "," : "", avic_vcpu_gatag(vm_get_vcpu(vm, i)));
	printf("],\"model\":\"%s\",\"vcpus\":%u,\"max_index\":%u,\"apicv_active\":%s,",
	       args_model_name(o->model), n, k.physical_max_id,
	       avic_apicv_active(vm) ? "true" : "false");
	print_inhibits_json(vm);
	fputs(",\"backing_pages\":[", stdout);
	for (uint32_t i = 0; i < n; i++)
		printf("%s\"0x%016" PRIx64 "\"", i ? "," : "",
		       avic_vcpu_backing_pa(vm_get_vcpu(vm, i)));
	fputs("],\"cpus\":[", stdout);
	for (uint32_t i = 0; i < n; i++) {
		struct vcpu *vcpu = vm_get_vcpu(vm, i);

		printf("%s%d", i ? "," : "", vcpu->loaded ? vcpu->cpu : -1);
	}
	fputs("],\"blocking\":[", stdout);
	for (uint32_t i = 0; i < n; i++)
		printf("%s%s", i ? "," : "",
		       load_acquire(&vm_get_vcpu(vm, i)->blocking) ? "true" : "false");
	fputs("]}\n", stdout);
}

static void dump_avic_human(struct vm *vm, const struct dump_opts *o)
{
	uint32_t n = vm_nr_vcpus(vm), logical_valid = 0, no_entry = 0;
	uint64_t inh = avic_inhibits(vm);
	struct avic_vm_info k;

	avic_vm_info(vm, &k);
	for (uint32_t i = 0; i < DUMP_LOGICAL_ENTRIES; i++)
		if (avic_vm_logical_entry(vm, i) & AVIC_LOGICAL_ID_ENTRY_VALID)
			logical_valid++;
	printf("AVIC VM\n");
	printf("  VM ID           %u\n", k.vm_id);
	printf("  model           %s (max physical ID 0x%x)\n", args_model_name(o->model),
	       avic_model_max_id(o->model));
	printf("  vCPUs           %u\n", n);
	printf("  max index       %u (physical table: %u entries at PA 0x%" PRIx64 ")\n",
	       k.physical_max_id, k.physical_entries, k.physical_table_pa);
	printf("  logical table   %u of %u entries valid (PA 0x%" PRIx64 ")\n",
	       logical_valid, DUMP_LOGICAL_ENTRIES, k.logical_table_pa);
	printf("  IPI virt.       %s\n", o->no_ipiv ? "off (IsRunning only in the shadow)" : "on");
	printf("  inhibits        ");
	if (!inh) {
		printf("none (AVIC active)\n");
	} else {
		const char *sep = "";

		for (unsigned int r = 0; r < AVIC_INHIBIT_NR; r++)
			if (inh & BIT_ULL(r)) {
				printf("%s%s", sep, avic_inhibit_name((enum avic_inhibit)r));
				sep = ", ";
			}
		printf(" (AVIC off for the VM)\n");
	}
	printf("\n%5s  %-14s %-18s  %7s  %-18s  %9s  %5s  %s\n", "vCPU", "state",
	       "table entry", "host ID", "backing PA", "IsRunning", "Valid", "GA tag");
	for (uint32_t i = 0; i < n; i++) {
		struct vcpu *vcpu = vm_get_vcpu(vm, i);
		uint64_t e = avic_vcpu_table_entry(vcpu);
		char state[32];

		if (!vcpu->loaded)
			snprintf(state, sizeof(state), "not loaded");
		else if (load_acquire(&vcpu->blocking))
			snprintf(state, sizeof(state), "blocking/CPU%d", vcpu->cpu);
		else
			snprintf(state, sizeof(state), "loaded/CPU%d", vcpu->cpu);
		if (!avic_vcpu_has_table_entry(vcpu)) {
			no_entry++;
			printf("%5u  %-14s %-18s  %7s  0x%016" PRIx64 "  %9s  %5s  0x%08x\n",
			       vcpu->vcpu_id, state, "(no entry)", "-", avic_vcpu_backing_pa(vcpu),
			       "-", "-", avic_vcpu_gatag(vcpu));
			continue;
		}
		printf("%5u  %-14s 0x%016" PRIx64 "  %7" PRIu64 "  0x%016" PRIx64
		       "  %9u  %5u  0x%08x\n", vcpu->vcpu_id, state, e,
		       (uint64_t)FIELD_GET(AVIC_PHYSICAL_ID_ENTRY_HOST_PHYSICAL_ID, e),
		       (uint64_t)(e & AVIC_PHYSICAL_ID_ENTRY_BACKING_PAGE),
		       (unsigned int)!!(e & AVIC_PHYSICAL_ID_ENTRY_IS_RUNNING),
		       (unsigned int)!!(e & AVIC_PHYSICAL_ID_ENTRY_VALID),
		       avic_vcpu_gatag(vcpu));
	}
	if (no_entry)
		printf("\n%u vCPU(s) have IDs above max index %u: no table entry.\n",
		       no_entry, k.physical_max_id);
}

int cmd_dump_avic(int argc, char **argv)
{
	struct dump_opts *o;
	struct vm *vm = NULL;
	int r;

	if (args_want_help(argc, argv, 1)) {
		cmd_dump_avic_usage(stdout);
		return CLI_EXIT_OK;
	}
	o = calloc(1, sizeof(*o));
	if (!o)
		return cli_lib_error(-ENOMEM, "dump avic");
	r = dump_avic_parse(o, argc, argv);
	if (r < 0 && cli_parse_only) {
		free(o);
		return CLI_EXIT_OK;
	}
	if (r < 0)
		r = dump_avic_build(o, &vm);
	if (r == CLI_EXIT_OK) {
		if (o->json)
			dump_avic_json(vm, o);
		else
			dump_avic_human(vm, o);
		vm_destroy(vm);
	}
	free(o);
	return r;
}

const struct cli_target cmd_dump_targets[] = {
	{ "avic", cmd_dump_avic, cmd_dump_avic_usage },
	{ "gicv5", cmd_dump_gicv5, cmd_dump_gicv5_usage },
	{ NULL, NULL, NULL }
};

int cmd_dump(int argc, char **argv)
{
	return args_dispatch("dump", cmd_dump_targets, cmd_dump_usage, argc, argv);
}
