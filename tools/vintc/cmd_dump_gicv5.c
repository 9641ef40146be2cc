// SPDX-License-Identifier: MIT
/*
 * vintc dump gicv5: create an IRS model, probe it, build a GICv5 VM with
 * vCPUs 0..N-1 (vCPU ID == index), initialise it, make some VPEs resident,
 * then print what the IRS would see: the VMTE (and, two-level, its L1
 * entry), every VPET entry, each PE's ICH_CONTEXTR_EL2 and the IRS's
 * registers.  Everything is torn down, in order, before returning.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vintc/vgic_v5.h>

#include "args.h"
#include "cmds.h"

#define DUMP_GICV5_DEFAULT_VCPUS 4U

struct gicv5_dump_opts {
	uint32_t vcpus;
	bool two_level;
	bool json;
	struct args_loads loads;
};

/* What was built, for printing and for the teardown of any partial state. */
struct gicv5_dump {
	struct gicv5_irs *irs;
	struct vgic_v5_host *host;
	struct vm *vm;
};

void cmd_dump_gicv5_usage(FILE *f)
{
	fputs("usage: vintc dump gicv5 [--vcpus N] [--two-level] [--load V:CPU,...] [--json]\n"
	      "\n"
	      "Create a GICv5 IRS model (default configuration: 16 VM ID bits, 12 VPE ID\n"
	      "bits, VMD 256 B, VPED 64 B, 64 PEs), probe it, build a VM with vCPUs\n"
	      "0..N-1 (vCPU ID = VPE ID = index), initialise it (VM ID, doorbells, VMTE,\n"
	      "VPET, vISTs, VPEs), make some VPEs resident, print what the IRS sees, then\n"
	      "tear everything down (put, VM destroy, IRS remove).\n"
	      "\n"
	      "  --vcpus N         vCPUs to create, 1..4096 (default 4); N may not exceed\n"
	      "                    2^IDR4.VPE_ID_BITS (4096 here), or init fails.  The\n"
	      "                    VPET has max(2, 2^ceil(log2 N)) entries\n"
	      "  --two-level       two-level VM table: an L1 of 8-byte entries, each\n"
	      "                    covering a 4 KiB L2 of 128 VMTEs\n"
	      "                    default: linear, one 32-byte VMTE per VM ID\n"
	      "  --load V:CPU,...  load vCPU V on host CPU / PE CPU (vcpu_load): the VPE\n"
	      "                    becomes resident, ICH_CONTEXTR_EL2 = V|VM|VPE; repeatable\n"
	      "  --json            one JSON object on one line:\n"
	      "                      vm_id, vmte (4 raw u64 words), vpet (every entry,\n"
	      "                      0..2^vpe_id_bits-1), irs {VMT_BASER, VMT_CFGR,\n"
	      "                      VMT_STATUSR, IDR0..IDR4, VPE_STATUSR}, two_level,\n"
	      "                      l1_vmte (two-level only: the L1 entry covering the\n"
	      "                      VM ID), vmte_pa, vpe_id_bits, vcpus, resident (per\n"
	      "                      vCPU), cpus (-1: not loaded), contextr (per vCPU:\n"
	      "                      ICH_CONTEXTR_EL2 of its PE, null if not loaded)\n"
	      "                    default: the VMTE words and IRS registers decoded, and\n"
	      "                    a VPET table\n"
	      "  -h, --help        this text\n"
	      "\n"
	      "Numbers are decimal or 0x hex.  Host CPUs are the model's (64 by default).\n",
	      f);
}

static int dump_gicv5_parse(struct gicv5_dump_opts *o, int argc, char **argv)
{
	struct gicv5_irs_config cfg;
	const char *vcpus = NULL, *v;
	uint32_t nr_loads = 0, nr_cpus;
	int status = CLI_EXIT_USAGE;
	const char **loads;
	struct args a;
	uint64_t n = DUMP_GICV5_DEFAULT_VCPUS;

	loads = calloc((size_t)argc, sizeof(*loads));
	if (!loads)
		return cli_lib_error(-ENOMEM, "dump gicv5");
	args_init(&a, argc, argv, 1);
	while (args_next(&a)) {
		if (args_is(&a, "--vcpus")) {
			if (!(vcpus = args_value(&a)))
				goto out;
		} else if (args_is(&a, "--load")) {
			if (!(v = args_value(&a)))
				goto out;
			loads[nr_loads++] = v;
		} else if (args_is(&a, "--two-level")) {
			if (args_no_value(&a))
				goto out;
			o->two_level = true;
		} else if (args_is(&a, "--json")) {
			if (args_no_value(&a))
				goto out;
			o->json = true;
		} else if (args_is_other(&a, "--x2avic") || args_is_other(&a, "--x2avic-4k") ||
			   args_is_other(&a, "--block") || args_is_other(&a, "--no-ipiv")) {
			args_other_target(&a, "dump gicv5", "dump avic");
			goto out;
		} else {
			args_unknown(&a, "dump gicv5");
			goto out;
		}
	}
	if (vcpus && args_parse_u64("--vcpus", NULL, vcpus, 1, VM_MAX_VCPUS, &n))
		goto out;
	o->vcpus = (uint32_t)n;
	/* A host CPU is a PE of the IRS: both counts bound --load. */
	gicv5_irs_default_config(&cfg);
	nr_cpus = host_cpus_nr() < cfg.nr_pes ? host_cpus_nr() : cfg.nr_pes;
	args_loads_init(&o->loads);
	for (uint32_t i = 0; i < nr_loads; i++)
		if (args_parse_loads(&o->loads, loads[i], o->vcpus, nr_cpus))
			goto out;
	status = -1;
out:
	free(loads);
	return status;
}

/* Undo whatever dump_gicv5_build() got to, in order. */
static int dump_gicv5_teardown(struct gicv5_dump *d)
{
	int r;

	if (d->vm) {
		for (uint32_t i = 0; i < vm_nr_vcpus(d->vm); i++) {
			struct vcpu *vcpu = vm_get_vcpu(d->vm, i);

			if (vcpu->loaded)
				vcpu_put(vcpu);
		}
		vm_destroy(d->vm);
		d->vm = NULL;
	}
	if (d->host) {
		r = vgic_v5_remove(d->host);
		if (r) {
			/* The IRS may still use the VM table: leave both alone. */
			return cli_lib_error(r, "vgic_v5_remove");
		}
		d->host = NULL;
	}
	gicv5_irs_destroy(d->irs);
	d->irs = NULL;
	return CLI_EXIT_OK;
}

static int dump_gicv5_build(const struct gicv5_dump_opts *o, struct gicv5_dump *d)
{
	struct vgic_v5_host_opts hopts = { .two_level = o->two_level };
	struct gicv5_irs_config icfg;
	struct vm_config cfg = { .arch = VM_ARCH_GICV5 };
	int r;

	gicv5_irs_default_config(&icfg);
	r = gicv5_irs_create(&icfg, &d->irs);
	if (r)
		return cli_lib_error(r, "gicv5_irs_create");
	r = vgic_v5_probe(d->irs, &hopts, &d->host);
	if (r) {
		d->host = NULL;
		cli_lib_error(r, "vgic_v5_probe%s", o->two_level ? " (two-level)" : "");
		goto fail;
	}
	cfg.gicv5.host = d->host;
	r = vm_create(&cfg, &d->vm);
	if (r) {
		d->vm = NULL;
		cli_lib_error(r, "vm_create");
		goto fail;
	}
	for (uint32_t i = 0; i < o->vcpus; i++) {
		r = vcpu_create(d->vm, i, NULL);
		if (r) {
			cli_lib_error(r, "vcpu_create(vCPU %u)", i);
			goto fail;
		}
	}
	r = vgic_v5_init(d->vm);
	if (r) {
		struct vgic_v5_host_info hi;

		vgic_v5_host_info(d->host, &hi);
		cli_lib_error(r, "vgic_v5_init(%u vCPUs, %u VPE ID bits)", o->vcpus,
			      hi.vpe_id_bits_max);
		goto fail;
	}
	for (uint32_t i = 0; i < o->loads.nr; i++) {
		r = vcpu_load(vm_get_vcpu(d->vm, o->loads.vcpu[i]), o->loads.cpu[i]);
		if (r) {
			cli_lib_error(r, "vcpu_load(vCPU %u, CPU %d)", o->loads.vcpu[i],
				      o->loads.cpu[i]);
			goto fail;
		}
	}
	return CLI_EXIT_OK;
fail:
	dump_gicv5_teardown(d);
	return CLI_EXIT_FAIL;
}

/* ---- reading what the IRS sees ------------------------------------------ */

static uint64_t word(const uint64_t *p)
{
	return p ? __atomic_load_n(p, __ATOMIC_ACQUIRE) : 0;
}

static uint64_t vmte_word(struct vm *vm, unsigned int w)
{
	uint64_t *vmte = vgic_v5_vm_vmte(vm);

	return vmte ? word(&vmte[w]) : 0;
}

static uint32_t vpet_entries(struct vm *vm)
{
	unsigned int bits = vgic_v5_vpe_id_bits(vm);

	return bits ? 1U << bits : 0;
}

/* The L1 entry covering the VM's ID (two-level only). */
static uint64_t l1_vmte(struct gicv5_dump *d)
{
	return word(vgic_v5_vmt_l1e(d->host, vgic_v5_vm_id(d->vm)));
}

struct irs_regs {
	uint64_t vmt_baser;
	uint32_t vmt_cfgr, vmt_statusr, idr[5], vpe_statusr;
};

static void irs_regs_read(struct vgic_v5_host *h, struct irs_regs *regs)
{
	regs->vmt_baser = vgic_v5_irs_read(h, GICV5_IRS_VMT_BASER, 8);
	regs->vmt_cfgr = (uint32_t)vgic_v5_irs_read(h, GICV5_IRS_VMT_CFGR, 4);
	regs->vmt_statusr = (uint32_t)vgic_v5_irs_read(h, GICV5_IRS_VMT_STATUSR, 4);
	for (unsigned int i = 0; i < ARRAY_SIZE(regs->idr); i++)
		regs->idr[i] = (uint32_t)vgic_v5_irs_read(h, GICV5_IRS_IDR0 + 4 * i, 4);
	regs->vpe_statusr = (uint32_t)vgic_v5_irs_read(h, GICV5_IRS_VPE_STATUSR, 4);
}

static uint64_t contextr_of(struct gicv5_dump *d, struct vcpu *vcpu)
{
	return gicv5_pe_read_contextr(d->irs, (unsigned int)vcpu->cpu);
}

/* ---- JSON ------------------------------------------------------------------ */

static void dump_gicv5_json(struct gicv5_dump *d, const struct gicv5_dump_opts *o)
{
	uint32_t n = vm_nr_vcpus(d->vm), vm_id = vgic_v5_vm_id(d->vm);
	struct irs_regs regs;

	irs_regs_read(d->host, &regs);
	printf("{\"vm_id\":%u,\"vmte\":[", vm_id);
	for (unsigned int w = 0; w < GICV5_VMTE_SIZE / sizeof(uint64_t); w++)
		printf("%s\"0x%016" PRIx64 "\"", w ? "," : "", vmte_word(d->vm, w));
	fputs("],\"vpet\":[", stdout);
	for (uint32_t i = 0; i < vpet_entries(d->vm); i++)
		printf("%s\"0x%016" PRIx64 "\"", i ? "," : "", word(vgic_v5_vpete(d->vm, i)));
	printf("],\"irs\":{\"VMT_BASER\":\"0x%016" PRIx64 "\",\"VMT_CFGR\":\"0x%08x\","
	       "\"VMT_STATUSR\":\"0x%08x\"", regs.vmt_baser, regs.vmt_cfgr, regs.vmt_statusr);
	for (unsigned int i = 0; i < ARRAY_SIZE(regs.idr); i++)
		printf(",\"IDR%u\":\"0x%08x\"", i, regs.idr[i]);
	printf(",\"VPE_STATUSR\":\"0x%08x\"},\"two_level\":%s,", regs.vpe_statusr,
	       o->two_level ? "true" : "false");
	if (o->two_level)
		printf("\"l1_vmte\":\"0x%016" PRIx64 "\",", l1_vmte(d));
	printf("\"vmte_pa\":\"0x%016" PRIx64 "\",\"vpe_id_bits\":%u,\"vcpus\":%u,\"resident\":[",
	       host_pa(vgic_v5_vm_vmte(d->vm)), vgic_v5_vpe_id_bits(d->vm), n);
	for (uint32_t i = 0; i < n; i++)
		printf("%s%s", i ? "," : "",
		       vgic_v5_vcpu_resident(vm_get_vcpu(d->vm, i)) ? "true" : "false");
	fputs("],\"cpus\":[", stdout);
	for (uint32_t i = 0; i < n; i++) {
		struct vcpu *vcpu = vm_get_vcpu(d->vm, i);

		printf("%s%d", i ? "," : "", vcpu->loaded ? vcpu->cpu : -1);
	}
	fputs("],\"contextr\":[", stdout);
	for (uint32_t i = 0; i < n; i++) {
		struct vcpu *vcpu = vm_get_vcpu(d->vm, i);

		if (vcpu->loaded)
			printf("%s\"0x%016" PRIx64 "\"", i ? "," : "", contextr_of(d, vcpu));
		else
			printf("%snull", i ? "," : "");
	}
	fputs("]}\n", stdout);
}

/* ---- human ------------------------------------------------------------------ */

static const char *l2sz_name(uint64_t l2sz)
{
	static const char *const names[] = { "4K", "16K", "64K", "reserved" };

	return names[l2sz & 3];
}

static const char *istsz_name(uint64_t istsz)
{
	static const char *const names[] = { "4 B", "8 B", "16 B", "reserved" };

	return names[istsz & 3];
}

static void print_ist_word(unsigned int idx, const char *what, uint64_t w)
{
	printf("  word %u  0x%016" PRIx64 "  %s IST: IST_VALID %u  IST_ADDR 0x%" PRIx64
	       "  ID_BITS %u\n", idx, w, what, (unsigned int)!!(w & GICV5_VMTEL2E_IST_VALID),
	       (uint64_t)(w & GICV5_VMTEL2E_IST_ADDR),
	       (unsigned int)FIELD_GET(GICV5_VMTEL2E_IST_ID_BITS, w));
	printf("%28s  STRUCTURE %s  L2SZ %s  ISTSZ %s\n", "",
	       (w & GICV5_VMTEL2E_IST_STRUCTURE) ? "two-level" : "linear",
	       l2sz_name(FIELD_GET(GICV5_VMTEL2E_IST_L2SZ, w)),
	       istsz_name(FIELD_GET(GICV5_VMTEL2E_IST_ISTSZ, w)));
}

static void print_vmte(struct vm *vm)
{
	uint64_t w0 = vmte_word(vm, GICV5_VMTE_WORD_VMD);
	uint64_t w1 = vmte_word(vm, GICV5_VMTE_WORD_VPET);

	printf("\nVMTE (32 bytes at PA 0x%" PRIx64 ")\n", host_pa(vgic_v5_vm_vmte(vm)));
	printf("  word 0  0x%016" PRIx64 "  VALID %u  VMD_ADDR 0x%" PRIx64 "\n", w0,
	       (unsigned int)!!(w0 & GICV5_VMTEL2E_VALID),
	       (uint64_t)(w0 & GICV5_VMTEL2E_VMD_ADDR));
	printf("  word 1  0x%016" PRIx64 "  VPET_ADDR 0x%" PRIx64 "  VPE_ID_BITS %u\n", w1,
	       (uint64_t)(w1 & GICV5_VMTEL2E_VPET_ADDR),
	       (unsigned int)FIELD_GET(GICV5_VMTEL2E_VPE_ID_BITS, w1));
	print_ist_word(GICV5_VMTE_WORD_LPI_IST, "LPI",
		       vmte_word(vm, GICV5_VMTE_WORD_LPI_IST));
	print_ist_word(GICV5_VMTE_WORD_SPI_IST, "SPI",
		       vmte_word(vm, GICV5_VMTE_WORD_SPI_IST));
}

static void print_vpet(struct gicv5_dump *d)
{
	printf("\nVPET (%u entries at PA 0x%" PRIx64 ", VPE ID = vCPU ID)\n",
	       vpet_entries(d->vm), host_pa(vgic_v5_vpete(d->vm, 0)));
	printf("%5s  %-18s  %5s  %-18s  %-18s  %s\n", "VPE", "entry", "VALID", "VPED_ADDR",
	       "state", "ICH_CONTEXTR_EL2");
	for (uint32_t i = 0; i < vpet_entries(d->vm); i++) {
		uint64_t e = word(vgic_v5_vpete(d->vm, i));
		struct vcpu *vcpu = vm_get_vcpu_by_id(d->vm, i);
		char state[32], ctx[24] = "-";

		if (!vcpu) {
			snprintf(state, sizeof(state), "(no vCPU)");
		} else if (!vcpu->loaded) {
			snprintf(state, sizeof(state), "not loaded");
		} else {
			snprintf(state, sizeof(state), "%s/PE%d",
				 vgic_v5_vcpu_resident(vcpu) ? "resident" : "not resident",
				 vcpu->cpu);
			snprintf(ctx, sizeof(ctx), "0x%016" PRIx64, contextr_of(d, vcpu));
		}
		printf("%5u  0x%016" PRIx64 "  %5u  0x%016" PRIx64 "  %-18s  %s\n", i, e,
		       (unsigned int)!!(e & GICV5_VPETE_VALID),
		       (uint64_t)(e & GICV5_VPETE_VPED_ADDR), state, ctx);
	}
}

static void print_contextrs(struct gicv5_dump *d)
{
	bool header = false;

	for (uint32_t i = 0; i < vm_nr_vcpus(d->vm); i++) {
		struct vcpu *vcpu = vm_get_vcpu(d->vm, i);
		uint64_t c;

		if (!vcpu->loaded)
			continue;
		if (!header) {
			printf("\nICH_CONTEXTR_EL2 of the PEs with a loaded vCPU\n");
			header = true;
		}
		c = contextr_of(d, vcpu);
		printf("  PE%-3d 0x%016" PRIx64 "  V %u  F %u  VM %u  VPE %u  DB %u  "
		       "IRICHPPIDIS %u\n", vcpu->cpu, c,
		       (unsigned int)!!(c & ICH_CONTEXTR_EL2_V),
		       (unsigned int)!!(c & ICH_CONTEXTR_EL2_F),
		       (unsigned int)FIELD_GET(ICH_CONTEXTR_EL2_VM, c),
		       (unsigned int)FIELD_GET(ICH_CONTEXTR_EL2_VPE, c),
		       (unsigned int)!!(c & ICH_CONTEXTR_EL2_DB),
		       (unsigned int)!!(c & ICH_CONTEXTR_EL2_IRICHPPIDIS));
	}
}

static void print_irs(struct vgic_v5_host *h)
{
	struct irs_regs r;

	irs_regs_read(h, &r);
	printf("\nIRS registers\n");
	printf("  VMT_BASER    0x%016" PRIx64 "  VALID %u  ADDR 0x%" PRIx64 "\n", r.vmt_baser,
	       (unsigned int)!!(r.vmt_baser & GICV5_IRS_VMT_BASER_VALID),
	       (uint64_t)(r.vmt_baser & GICV5_IRS_VMT_BASER_ADDR));
	printf("  VMT_CFGR     0x%08x  VM_ID_BITS %u  STRUCTURE %s\n", r.vmt_cfgr,
	       (unsigned int)FIELD_GET(GICV5_IRS_VMT_CFGR_VM_ID_BITS, r.vmt_cfgr),
	       (r.vmt_cfgr & GICV5_IRS_VMT_CFGR_STRUCTURE) ? "two-level" : "linear");
	printf("  VMT_STATUSR  0x%08x  IDLE %u\n", r.vmt_statusr,
	       (unsigned int)!!(r.vmt_statusr & GICV5_IRS_STATUSR_IDLE));
	printf("  IDR0         0x%08x  INT_DOM %u  PA_RANGE %u  VIRT %u\n", r.idr[0],
	       (unsigned int)FIELD_GET(GICV5_IRS_IDR0_INT_DOM, r.idr[0]),
	       (unsigned int)FIELD_GET(GICV5_IRS_IDR0_PA_RANGE, r.idr[0]),
	       (unsigned int)!!(r.idr[0] & GICV5_IRS_IDR0_VIRT));
	printf("  IDR1         0x%08x  PRIORITY_BITS %u (%u bits)\n", r.idr[1],
	       (unsigned int)FIELD_GET(GICV5_IRS_IDR1_PRIORITY_BITS, r.idr[1]),
	       (unsigned int)FIELD_GET(GICV5_IRS_IDR1_PRIORITY_BITS, r.idr[1]) + 1);
	printf("  IDR2         0x%08x  ID_BITS %u  LPI %u  IST_LEVELS %u\n", r.idr[2],
	       (unsigned int)FIELD_GET(GICV5_IRS_IDR2_ID_BITS, r.idr[2]),
	       (unsigned int)!!(r.idr[2] & GICV5_IRS_IDR2_LPI),
	       (unsigned int)!!(r.idr[2] & GICV5_IRS_IDR2_IST_LEVELS));
	printf("  IDR3         0x%08x  VMD %u  VMD_SZ %u  VM_ID_BITS %u  VMT_LEVELS %u\n",
	       r.idr[3], (unsigned int)!!(r.idr[3] & GICV5_IRS_IDR3_VMD),
	       (unsigned int)FIELD_GET(GICV5_IRS_IDR3_VMD_SZ, r.idr[3]),
	       (unsigned int)FIELD_GET(GICV5_IRS_IDR3_VM_ID_BITS, r.idr[3]),
	       (unsigned int)!!(r.idr[3] & GICV5_IRS_IDR3_VMT_LEVELS));
	printf("  IDR4         0x%08x  VPED_SZ %u  VPE_ID_BITS %u\n", r.idr[4],
	       (unsigned int)FIELD_GET(GICV5_IRS_IDR4_VPED_SZ, r.idr[4]),
	       (unsigned int)FIELD_GET(GICV5_IRS_IDR4_VPE_ID_BITS, r.idr[4]));
	printf("  VPE_STATUSR  0x%08x  IDLE %u  V %u\n", r.vpe_statusr,
	       (unsigned int)!!(r.vpe_statusr & GICV5_IRS_STATUSR_IDLE),
	       (unsigned int)!!(r.vpe_statusr & GICV5_IRS_STATUSR_V));
}

static void dump_gicv5_human(struct gicv5_dump *d, const struct gicv5_dump_opts *o)
{
	uint32_t loaded = 0, resident = 0, vm_id = vgic_v5_vm_id(d->vm);
	struct vgic_v5_host_info h;

	for (uint32_t i = 0; i < vm_nr_vcpus(d->vm); i++) {
		struct vcpu *vcpu = vm_get_vcpu(d->vm, i);

		loaded += vcpu->loaded;
		resident += vgic_v5_vcpu_resident(vcpu);
	}
	vgic_v5_host_info(d->host, &h);
	printf("GICv5 VM\n");
	printf("  VM ID           %u (of 1..%u)\n", vm_id, (1U << h.vm_id_bits) - 1);
	if (o->two_level) {
		uint64_t l1 = l1_vmte(d);

		printf("  VM table        two-level: L1 at PA 0x%" PRIx64 " (%u entries)\n",
		       h.vmt_pa, h.nr_l1);
		printf("  L1 entry %-6u 0x%016" PRIx64 "  VALID %u  L2_ADDR 0x%" PRIx64 "\n",
		       vm_id / GICV5_VMTL2_ENTRIES, l1,
		       (unsigned int)!!(l1 & GICV5_VMTEL1E_VALID),
		       (uint64_t)(l1 & GICV5_VMTEL1E_L2_ADDR));
	} else {
		printf("  VM table        linear at PA 0x%" PRIx64 " (%u VMTEs)\n",
		       h.vmt_pa, 1U << h.vm_id_bits);
	}
	printf("  vCPUs           %u (%u loaded, %u resident)\n", vm_nr_vcpus(d->vm), loaded,
	       resident);
	printf("  VPE ID bits     %u (IRS maximum %u)\n", vgic_v5_vpe_id_bits(d->vm),
	       h.vpe_id_bits_max);
	print_vmte(d->vm);
	print_vpet(d);
	print_contextrs(d);
	print_irs(d->host);
}

int cmd_dump_gicv5(int argc, char **argv)
{
	struct gicv5_dump_opts *o;
	struct gicv5_dump d = { 0 };
	int r;

	if (args_want_help(argc, argv, 1)) {
		cmd_dump_gicv5_usage(stdout);
		return CLI_EXIT_OK;
	}
	o = calloc(1, sizeof(*o));
	if (!o)
		return cli_lib_error(-ENOMEM, "dump gicv5");
	r = dump_gicv5_parse(o, argc, argv);
	if (r < 0 && cli_parse_only) {
		free(o);
		return CLI_EXIT_OK;
	}
	if (r < 0)
		r = dump_gicv5_build(o, &d);
	if (r == CLI_EXIT_OK) {
		if (o->json)
			dump_gicv5_json(&d, o);
		else
			dump_gicv5_human(&d, o);
		r = dump_gicv5_teardown(&d);
	}
	free(o);
	return r;
}
