// SPDX-License-Identifier: MIT
/*
 * vintc dump avic and dump gicv5, run as a program: the JSON checked value
 * by value against the AVIC layouts in <vintc/amd_defs.h> and the GICv5
 * ones in <vintc/gicv5_defs.h>, the human form against the JSON.
 */
#include <string.h>

#include <vintc/amd_defs.h>
#include <vintc/gicv5_defs.h>

#include "cli_util.h"
#include "json.h"
#include "test.h"

/* The json.h readers that fail the test at a line of this file. */
static int64_t num(const char *json, const char *key, int line)
{
	return json_must_num(json, key, __FILE__, line);
}

static uint64_t hex_val(const char *json, const char *key, int line)
{
	return json_must_hex(json, key, __FILE__, line);
}

static uint64_t hex_at(const char *json, const char *key, size_t k, int line)
{
	return json_must_hex_elem(json, key, k, __FILE__, line);
}

#define HOST_ID(e)    FIELD_GET(AVIC_PHYSICAL_ID_ENTRY_HOST_PHYSICAL_ID, (e))
#define BACKING(e)    ((e) & AVIC_PHYSICAL_ID_ENTRY_BACKING_PAGE)
#define RUNNING(e)    (!!((e) & AVIC_PHYSICAL_ID_ENTRY_IS_RUNNING))
#define VALID(e)      (!!((e) & AVIC_PHYSICAL_ID_ENTRY_VALID))
/* Bits the table never holds: reserved 60:52 and the software GA_LOG_INTR. */
#define NOT_IN_TABLE  (GENMASK_ULL(61, 52))

/* ---- dump avic -------------------------------------------------------- */

TEST(cli_dump_load_json)
{
	struct cli_run r;
	uint64_t e0, e1, vm_id;

	RUN(&r, "dump", "avic", "--vcpus", "2", "--load", "0:3", "--json");
	ASSERT_RAN_OK(&r);
	/* The required keys come first, in order. */
	ASSERT(!strncmp(r.out, "{\"vm_id\":", 9));
	ASSERT(strstr(r.out, "\"physical_table\":") < strstr(r.out, "\"logical_table\":"));
	ASSERT(strstr(r.out, "\"logical_table\":") < strstr(r.out, "\"ga_tags\":"));
	vm_id = (uint64_t)NUM(r.out, "vm_id");
	ASSERT(vm_id > 0 && vm_id <= AVIC_VM_ID_MAX);

	/* xAVIC: entries 0..0xFE. */
	ASSERT_EQ(json_len(r.out, "physical_table"), AVIC_MAX_PHYSICAL_ID + 1);
	ASSERT_EQ(NUM(r.out, "max_index"), AVIC_MAX_PHYSICAL_ID);
	e0 = HEX_AT(r.out, "physical_table", 0);
	e1 = HEX_AT(r.out, "physical_table", 1);
	ASSERT(VALID(e0));
	ASSERT(RUNNING(e0));
	ASSERT_EQ(HOST_ID(e0), 3);
	ASSERT_NE(BACKING(e0), 0);
	ASSERT_EQ(BACKING(e0) % HOST_PAGE_SIZE, 0);
	ASSERT_EQ(e0 & NOT_IN_TABLE, 0);
	ASSERT(VALID(e1));
	ASSERT(!RUNNING(e1));
	ASSERT_EQ(HOST_ID(e1), 0);
	ASSERT_NE(BACKING(e1), 0);
	ASSERT_NE(BACKING(e1), BACKING(e0));
	ASSERT_EQ(e1 & NOT_IN_TABLE, 0);
	/* The entries point at the vCPUs' own backing pages. */
	ASSERT_EQ(BACKING(e0), HEX_AT(r.out, "backing_pages", 0));
	ASSERT_EQ(BACKING(e1), HEX_AT(r.out, "backing_pages", 1));
	for (size_t i = 2; i <= AVIC_MAX_PHYSICAL_ID; i++)
		ASSERT_EQ(HEX_AT(r.out, "physical_table", i), 0);

	/* Logical table: flat 0..7 and cluster 0..59, untouched so far. */
	ASSERT_EQ(json_len(r.out, "logical_table"), AVIC_LOGICAL_CLUSTER_MAX_INDEX + 1);
	for (size_t i = 0; i <= AVIC_LOGICAL_CLUSTER_MAX_INDEX; i++)
		ASSERT_EQ(HEX_AT(r.out, "logical_table", i), 0);

	/* GA tags: (vm_id << 12) | vcpu index. */
	ASSERT_EQ(json_len(r.out, "ga_tags"), 2);
	ASSERT_EQ(HEX_AT(r.out, "ga_tags", 0), vm_id << 12);
	ASSERT_EQ(HEX_AT(r.out, "ga_tags", 1), (vm_id << 12) | 1);

	ASSERT_EQ(json_len(r.out, "inhibits"), 0);
	ASSERT(strstr(r.out, "\"apicv_active\":true"));
	ASSERT(strstr(r.out, "\"model\":\"xavic\""));
	ASSERT_EQ(NUM(r.out, "vcpus"), 2);
	ASSERT(r.out[strlen(r.out) - 1] == '\n');
	cli_free(&r);
}

TEST(cli_dump_default_vcpus)
{
	struct cli_run r;

	RUN(&r, "dump", "avic", "--json");
	ASSERT_RAN_OK(&r);
	ASSERT_EQ(json_len(r.out, "ga_tags"), 4);
	for (size_t i = 0; i < 4; i++) {
		uint64_t e = HEX_AT(r.out, "physical_table", i);

		ASSERT(VALID(e) && !RUNNING(e));
	}
	ASSERT_EQ(HEX_AT(r.out, "physical_table", 4), 0);
	cli_free(&r);
}

TEST(cli_dump_block)
{
	struct cli_run r;
	uint64_t e0, e1;
	char b[16];

	RUN(&r, "dump", "avic", "--vcpus", "2", "--load", "0:3,1:7", "--block", "0", "--json");
	ASSERT_RAN_OK(&r);
	e0 = HEX_AT(r.out, "physical_table", 0);
	e1 = HEX_AT(r.out, "physical_table", 1);
	/* Blocking: not running, last host APIC ID kept, GA_LOG_INTR only in the shadow. */
	ASSERT(VALID(e0));
	ASSERT(!RUNNING(e0));
	ASSERT_EQ(HOST_ID(e0), 3);
	ASSERT_NE(BACKING(e0), 0);
	ASSERT_EQ(e0 & NOT_IN_TABLE, 0);
	/* The other vCPU is untouched. */
	ASSERT(VALID(e1) && RUNNING(e1));
	ASSERT_EQ(HOST_ID(e1), 7);
	ASSERT(json_str(r.out, "blocking", 0, b, sizeof(b)) && !strcmp(b, "true"));
	ASSERT(json_str(r.out, "blocking", 1, b, sizeof(b)) && !strcmp(b, "false"));
	ASSERT(json_str(r.out, "cpus", 0, b, sizeof(b)) && !strcmp(b, "3"));
	cli_free(&r);
}

TEST(cli_dump_no_ipiv)
{
	struct cli_run r;
	uint64_t e0;

	/* IsRunning lives only in the shadow: the table never shows it. */
	RUN(&r, "dump", "avic", "--no-ipiv", "--load", "0:3", "--json");
	ASSERT_RAN_OK(&r);
	e0 = HEX_AT(r.out, "physical_table", 0);
	ASSERT(VALID(e0));
	ASSERT(!RUNNING(e0));
	ASSERT_EQ(HOST_ID(e0), 3);
	ASSERT_NE(BACKING(e0), 0);
	ASSERT_EQ(json_len(r.out, "inhibits"), 0);
	cli_free(&r);
}

TEST(cli_dump_x2avic)
{
	struct cli_run r;
	uint64_t vm_id;

	RUN(&r, "dump", "avic", "--x2avic", "--json");
	ASSERT_RAN_OK(&r);
	ASSERT_EQ(json_len(r.out, "physical_table"), X2AVIC_MAX_PHYSICAL_ID + 1);
	ASSERT_EQ(NUM(r.out, "max_index"), X2AVIC_MAX_PHYSICAL_ID);
	ASSERT(strstr(r.out, "\"model\":\"x2avic\""));
	cli_free(&r);

	/* Every ID up to 0x1FF has an entry: no inhibit, last entry valid. */
	RUN(&r, "dump", "avic", "--x2avic", "--vcpus", "512", "--load", "511:63", "--json");
	ASSERT_RAN_OK(&r);
	vm_id = (uint64_t)NUM(r.out, "vm_id");
	ASSERT_EQ(json_len(r.out, "inhibits"), 0);
	ASSERT_EQ(json_len(r.out, "ga_tags"), 512);
	ASSERT(VALID(HEX_AT(r.out, "physical_table", 511)));
	ASSERT(RUNNING(HEX_AT(r.out, "physical_table", 511)));
	ASSERT_EQ(HOST_ID(HEX_AT(r.out, "physical_table", 511)), 63);
	/* Index 300 does not fit the old 24/8 tag: the 20/12 split keeps it. */
	ASSERT_EQ(HEX_AT(r.out, "ga_tags", 300), (vm_id << 12) | 300);
	cli_free(&r);

	RUN(&r, "dump", "avic", "--x2avic", "--vcpus", "513", "--json");
	ASSERT_RAN_OK(&r);
	ASSERT(json_has_str(r.out, "inhibits", "PHYSICAL_ID_TOO_BIG"));
	cli_free(&r);
}

TEST(cli_dump_x2avic_4k)
{
	struct cli_run r;
	uint64_t vm_id, prev = 0;

	RUN(&r, "dump", "avic", "--x2avic-4k", "--vcpus", "4096", "--json");
	ASSERT_RAN_OK(&r);
	vm_id = (uint64_t)NUM(r.out, "vm_id");
	ASSERT_EQ(json_len(r.out, "physical_table"), X2AVIC_4K_MAX_PHYSICAL_ID + 1);
	ASSERT_EQ(NUM(r.out, "max_index"), X2AVIC_4K_MAX_PHYSICAL_ID);
	ASSERT_EQ(json_len(r.out, "ga_tags"), 4096);
	ASSERT_EQ(json_len(r.out, "inhibits"), 0);
	ASSERT(strstr(r.out, "\"model\":\"x2avic-4k\""));
	for (size_t i = 0; i < 4096; i++) {
		uint64_t e = HEX_AT(r.out, "physical_table", i);

		ASSERT(VALID(e) && !RUNNING(e));
		ASSERT(BACKING(e) != 0 && BACKING(e) != prev);
		prev = BACKING(e);
	}
	ASSERT_EQ(HEX_AT(r.out, "ga_tags", 4095), (vm_id << 12) | 4095);
	cli_free(&r);
}

TEST(cli_dump_inhibited)
{
	struct cli_run r;
	uint64_t vm_id;

	/* 300 vCPUs on xAVIC: allowed, but IDs 255..299 inhibit AVIC. */
	RUN(&r, "dump", "avic", "--vcpus", "300", "--load", "0:3", "--json");
	ASSERT_RAN_OK(&r);
	vm_id = (uint64_t)NUM(r.out, "vm_id");
	ASSERT(vm_id > 0);
	ASSERT(json_has_str(r.out, "inhibits", "PHYSICAL_ID_TOO_BIG"));
	ASSERT(strstr(r.out, "\"apicv_active\":false"));
	ASSERT_EQ(json_len(r.out, "physical_table"), AVIC_MAX_PHYSICAL_ID + 1);
	ASSERT_EQ(json_len(r.out, "ga_tags"), 300);
	ASSERT_EQ(HEX_AT(r.out, "ga_tags", 299), (vm_id << 12) | 299);
	/* IDs that fit keep valid entries; an inhibited VM never runs them. */
	ASSERT(VALID(HEX_AT(r.out, "physical_table", 0)));
	ASSERT(!RUNNING(HEX_AT(r.out, "physical_table", 0)));
	ASSERT(VALID(HEX_AT(r.out, "physical_table", AVIC_MAX_PHYSICAL_ID)));
	cli_free(&r);
}

TEST(cli_dump_numbers)
{
	struct cli_run r;

	RUN(&r, "dump", "avic", "--vcpus=0x10", "--load=0x1:0x3f", "--json");
	ASSERT_RAN_OK(&r);
	ASSERT_EQ(json_len(r.out, "ga_tags"), 16);
	ASSERT_EQ(HOST_ID(HEX_AT(r.out, "physical_table", 1)), 63);
	cli_free(&r);

	/* --vcpus after the --load it bounds; repeated --load flags add up. */
	RUN(&r, "dump", "avic", "--load", "5:1", "--load", "6:2", "--vcpus", "8", "--json");
	ASSERT_RAN_OK(&r);
	ASSERT_EQ(HOST_ID(HEX_AT(r.out, "physical_table", 5)), 1);
	ASSERT_EQ(HOST_ID(HEX_AT(r.out, "physical_table", 6)), 2);
	cli_free(&r);
}

TEST(cli_dump_human)
{
	struct cli_run j, h;
	char entry[32], tag[32];

	RUN(&j, "dump", "avic", "--vcpus", "2", "--load", "0:3", "--block", "0", "--json");
	ASSERT_RAN_OK(&j);
	RUN(&h, "dump", "avic", "--vcpus", "2", "--load", "0:3", "--block", "0");
	ASSERT_RAN_OK(&h);
	ASSERT(h.out[0] != '{');
	ASSERT(strstr(h.out, "VM ID"));
	ASSERT(strstr(h.out, "max index"));
	ASSERT(strstr(h.out, "inhibits"));
	ASSERT(strstr(h.out, "blocking/CPU3"));
	/* Same deterministic model run: the table shows the JSON's raw values. */
	ASSERT(json_str(j.out, "physical_table", 0, entry, sizeof(entry)));
	ASSERT(json_str(j.out, "ga_tags", 1, tag, sizeof(tag)));
	ASSERT(strstr(h.out, entry));
	ASSERT(strstr(h.out, tag));
	cli_free(&j);
	cli_free(&h);

	RUN(&h, "dump", "avic", "--vcpus", "300");
	ASSERT_RAN_OK(&h);
	ASSERT(strstr(h.out, "PHYSICAL_ID_TOO_BIG"));
	cli_free(&h);
}

/* ---- dump gicv5 ------------------------------------------------------- */

/* What the hypervisor must size the VPET to: max(1, ceil(log2(N))) ID bits. */
static unsigned int vpe_bits_for(unsigned int n)
{
	unsigned int bits = 1;

	while ((1U << bits) < n)
		bits++;
	return bits;
}

/* An address field holds a non-zero, 8-byte aligned PA and nothing else is set. */
#define GV5_ADDR_OK(w, field, others) \
	(((w) & (field)) != 0 && ((w) & ~((field) | (others))) == 0)

/*
 * The checks every dump gicv5 --json must pass for n vCPUs; returns the
 * VM ID.  Checked against the layouts of <vintc/gicv5_defs.h>.
 */
static uint64_t check_gicv5_dump(const char *out, unsigned int n, bool two_level, int line)
{
	unsigned int bits = vpe_bits_for(n);
	uint64_t vm_id, w0, w1, w2, w3, baser, cfgr, vmte_pa, prev = 0;

	if (strncmp(out, "{\"vm_id\":", 9) ||
	    !(strstr(out, "\"vm_id\":") < strstr(out, "\"vmte\":") &&
	      strstr(out, "\"vmte\":") < strstr(out, "\"vpet\":") &&
	      strstr(out, "\"vpet\":") < strstr(out, "\"irs\":{\"VMT_BASER\":")))
		test_fail(__FILE__, line, "keys out of order: %.200s", out);
	vm_id = (uint64_t)num(out, "vm_id", line);
	if (vm_id < 1 || vm_id > 0xFFFF)
		test_fail(__FILE__, line, "vm_id %" PRIu64, vm_id);
	if (num(out, "vcpus", line) != n || num(out, "vpe_id_bits", line) != bits)
		test_fail(__FILE__, line, "vcpus/vpe_id_bits: %.200s", out);

	/* The VMTE: 4 words, every VALID set by the IRS, fields as written. */
	if (json_len(out, "vmte") != 4)
		test_fail(__FILE__, line, "vmte has %ld words", json_len(out, "vmte"));
	w0 = hex_at(out, "vmte", 0, line);
	w1 = hex_at(out, "vmte", 1, line);
	w2 = hex_at(out, "vmte", 2, line);
	w3 = hex_at(out, "vmte", 3, line);
	if (!(w0 & GICV5_VMTEL2E_VALID) ||
	    !(GV5_ADDR_OK(w0, GICV5_VMTEL2E_VMD_ADDR, GICV5_VMTEL2E_VALID)))
		test_fail(__FILE__, line, "VMTE word 0 0x%016" PRIx64, w0);
	if (FIELD_GET(GICV5_VMTEL2E_VPE_ID_BITS, w1) != bits ||
	    !(GV5_ADDR_OK(w1, GICV5_VMTEL2E_VPET_ADDR, GICV5_VMTEL2E_VPE_ID_BITS)))
		test_fail(__FILE__, line, "VMTE word 1 0x%016" PRIx64 ", want VPE_ID_BITS %u",
			  w1, bits);
	/* LPI IST: 12 ID bits, SPI IST: 8 (the defaults), both linear 4-byte ISTEs. */
	if (!(w2 & GICV5_VMTEL2E_IST_VALID) || FIELD_GET(GICV5_VMTEL2E_IST_ID_BITS, w2) != 12 ||
	    (w2 & GICV5_VMTEL2E_IST_STRUCTURE) || FIELD_GET(GICV5_VMTEL2E_IST_ISTSZ, w2) ||
	    !(w2 & GICV5_VMTEL2E_IST_ADDR))
		test_fail(__FILE__, line, "VMTE word 2 (LPI IST) 0x%016" PRIx64, w2);
	if (!(w3 & GICV5_VMTEL2E_IST_VALID) || FIELD_GET(GICV5_VMTEL2E_IST_ID_BITS, w3) != 8 ||
	    (w3 & GICV5_VMTEL2E_IST_STRUCTURE) || !(w3 & GICV5_VMTEL2E_IST_ADDR) ||
	    (w3 & GICV5_VMTEL2E_IST_ADDR) == (w2 & GICV5_VMTEL2E_IST_ADDR))
		test_fail(__FILE__, line, "VMTE word 3 (SPI IST) 0x%016" PRIx64, w3);

	/* The VPET: 2^bits entries, one valid VPETE per vCPU, its own VPED. */
	if (json_len(out, "vpet") != (1L << bits))
		test_fail(__FILE__, line, "vpet has %ld entries, want %ld", json_len(out, "vpet"),
			  1L << bits);
	for (size_t i = 0; i < (1U << bits); i++) {
		uint64_t e = hex_at(out, "vpet", i, line);

		if (i >= n) {
			if (e)
				test_fail(__FILE__, line,
					  "vpet[%zu] = 0x%" PRIx64 " beyond the vCPUs", i, e);
			continue;
		}
		if (!(e & GICV5_VPETE_VALID) ||
		    !(GV5_ADDR_OK(e, GICV5_VPETE_VPED_ADDR, GICV5_VPETE_VALID)) ||
		    (e & GICV5_VPETE_VPED_ADDR) == prev)
			test_fail(__FILE__, line, "vpet[%zu] = 0x%016" PRIx64, i, e);
		prev = e & GICV5_VPETE_VPED_ADDR;
	}

	/* The IRS has the VM table installed, in the structure asked for. */
	baser = hex_val(out, "VMT_BASER", line);
	cfgr = hex_val(out, "VMT_CFGR", line);
	vmte_pa = hex_val(out, "vmte_pa", line);
	if (!(baser & GICV5_IRS_VMT_BASER_VALID) ||
	    !(GV5_ADDR_OK(baser, GICV5_IRS_VMT_BASER_ADDR, GICV5_IRS_VMT_BASER_VALID)))
		test_fail(__FILE__, line, "VMT_BASER 0x%016" PRIx64, baser);
	if (FIELD_GET(GICV5_IRS_VMT_CFGR_VM_ID_BITS, cfgr) !=
	    FIELD_GET(GICV5_IRS_IDR3_VM_ID_BITS, hex_val(out, "IDR3", line)) ||
	    !!(cfgr & GICV5_IRS_VMT_CFGR_STRUCTURE) != two_level)
		test_fail(__FILE__, line, "VMT_CFGR 0x%08" PRIx64, cfgr);
	if (!(hex_val(out, "VMT_STATUSR", line) & GICV5_IRS_STATUSR_IDLE) ||
	    !(hex_val(out, "IDR0", line) & GICV5_IRS_IDR0_VIRT) ||
	    FIELD_GET(GICV5_IRS_IDR4_VPE_ID_BITS, hex_val(out, "IDR4", line)) != 12 ||
	    !(hex_val(out, "VPE_STATUSR", line) & GICV5_IRS_STATUSR_IDLE))
		test_fail(__FILE__, line, "IRS registers: %.300s", strstr(out, "\"irs\""));
	if (two_level) {
		uint64_t l1 = hex_val(out, "l1_vmte", line);
		uint64_t l2 = l1 & GICV5_VMTEL1E_L2_ADDR;

		/* L1 VALID, L2_ADDR[51:12] non-zero, and the VMTE in that L2. */
		if (!strstr(out, "\"two_level\":true") || !(l1 & GICV5_VMTEL1E_VALID) ||
		    !(GV5_ADDR_OK(l1, GICV5_VMTEL1E_L2_ADDR, GICV5_VMTEL1E_VALID)) ||
		    l2 + (vm_id % GICV5_VMTL2_ENTRIES) * GICV5_VMTE_SIZE != vmte_pa ||
		    l2 == (baser & GICV5_IRS_VMT_BASER_ADDR))
			test_fail(__FILE__, line, "l1_vmte 0x%016" PRIx64 ", vmte_pa 0x%" PRIx64
				  ", VMT_BASER 0x%" PRIx64, l1, vmte_pa, baser);
	} else {
		/* Linear: the VMTE is entry vm_id of the table VMT_BASER names. */
		if (!strstr(out, "\"two_level\":false") || json_val(out, "l1_vmte") ||
		    (baser & GICV5_IRS_VMT_BASER_ADDR) + vm_id * GICV5_VMTE_SIZE != vmte_pa)
			test_fail(__FILE__, line, "linear VMT: VMT_BASER 0x%" PRIx64
				  ", vmte_pa 0x%" PRIx64 ", vm_id %" PRIu64, baser, vmte_pa, vm_id);
	}
	if (json_len(out, "resident") != n || json_len(out, "contextr") != n ||
	    json_len(out, "cpus") != n)
		test_fail(__FILE__, line, "per-vCPU arrays: %.200s", out);
	if (out[strlen(out) - 1] != '\n')
		test_fail(__FILE__, line, "no final newline");
	return vm_id;
}

TEST(cli_dump_gicv5_json)
{
	static const unsigned int ns[] = { 1, 2, 3, 4, 5, 17, 64, 129 };
	struct cli_run r;
	char n[16];

	for (size_t i = 0; i < ARRAY_SIZE(ns); i++) {
		snprintf(n, sizeof(n), "%u", ns[i]);
		RUN(&r, "dump", "gicv5", "--vcpus", n, "--json");
		ASSERT_RAN_OK(&r);
		check_gicv5_dump(r.out, ns[i], false, __LINE__);
		/* Nothing loaded: nothing resident. */
		for (size_t v = 0; v < ns[i]; v++) {
			ASSERT(json_elem_is(r.out, "resident", v, "false"));
			ASSERT(json_elem_is(r.out, "contextr", v, "null"));
			ASSERT(json_elem_is(r.out, "cpus", v, "-1"));
		}
		cli_free(&r);
	}
	/* Default: 4 vCPUs. */
	RUN(&r, "dump", "gicv5", "--json");
	ASSERT_RAN_OK(&r);
	check_gicv5_dump(r.out, 4, false, __LINE__);
	cli_free(&r);
}

TEST(cli_dump_gicv5_two_level)
{
	struct cli_run r;

	RUN(&r, "dump", "gicv5", "--two-level", "--vcpus", "3", "--json");
	ASSERT_RAN_OK(&r);
	check_gicv5_dump(r.out, 3, true, __LINE__);
	ASSERT(HEX(r.out, "VMT_CFGR") & BIT_ULL(16));
	cli_free(&r);

	RUN(&r, "dump", "gicv5", "--vcpus=0x20", "--two-level", "--load", "31:0", "--json");
	ASSERT_RAN_OK(&r);
	check_gicv5_dump(r.out, 32, true, __LINE__);
	ASSERT(json_elem_is(r.out, "resident", 31, "true"));
	cli_free(&r);
}

TEST(cli_dump_gicv5_load)
{
	struct cli_run r;
	uint64_t vm_id, c;

	RUN(&r, "dump", "gicv5", "--vcpus", "2", "--load", "0:2", "--json");
	ASSERT_RAN_OK(&r);
	vm_id = check_gicv5_dump(r.out, 2, false, __LINE__);
	c = HEX_AT(r.out, "contextr", 0);
	/* Resident: V set, no fault, this VM and VPE, no doorbell request. */
	ASSERT(c & ICH_CONTEXTR_EL2_V);
	ASSERT(!(c & ICH_CONTEXTR_EL2_F));
	ASSERT_EQ(FIELD_GET(ICH_CONTEXTR_EL2_VM, c), vm_id);
	ASSERT_EQ(FIELD_GET(ICH_CONTEXTR_EL2_VPE, c), 0);
	ASSERT(!(c & ICH_CONTEXTR_EL2_DB));
	ASSERT(json_elem_is(r.out, "resident", 0, "true"));
	ASSERT(json_elem_is(r.out, "cpus", 0, "2"));
	ASSERT(json_elem_is(r.out, "resident", 1, "false"));
	ASSERT(json_elem_is(r.out, "contextr", 1, "null"));
	ASSERT(json_elem_is(r.out, "cpus", 1, "-1"));
	cli_free(&r);

	/* Several PEs, repeated flags, --vcpus after the loads it bounds. */
	RUN(&r, "dump", "gicv5", "--load", "1:5,3:63", "--load", "2:0", "--vcpus", "4",
	    "--json");
	ASSERT_RAN_OK(&r);
	vm_id = check_gicv5_dump(r.out, 4, false, __LINE__);
	for (size_t v = 1; v < 4; v++) {
		c = HEX_AT(r.out, "contextr", v);
		ASSERT((c & ICH_CONTEXTR_EL2_V) && !(c & ICH_CONTEXTR_EL2_F));
		ASSERT_EQ(FIELD_GET(ICH_CONTEXTR_EL2_VM, c), vm_id);
		ASSERT_EQ(FIELD_GET(ICH_CONTEXTR_EL2_VPE, c), v);
		ASSERT(json_elem_is(r.out, "resident", v, "true"));
	}
	ASSERT(json_elem_is(r.out, "cpus", 1, "5"));
	ASSERT(json_elem_is(r.out, "cpus", 3, "63"));
	ASSERT(json_elem_is(r.out, "contextr", 0, "null"));
	cli_free(&r);
}

TEST(cli_dump_gicv5_max_vcpus)
{
	struct cli_run r;

	/* 2^IDR4.VPE_ID_BITS VPEs: every VPE ID of the IRS in use. */
	RUN(&r, "dump", "gicv5", "--vcpus", "4096", "--load", "4095:7", "--json");
	ASSERT_RAN_OK(&r);
	check_gicv5_dump(r.out, 4096, false, __LINE__);
	ASSERT_EQ(FIELD_GET(ICH_CONTEXTR_EL2_VPE, HEX_AT(r.out, "contextr", 4095)), 4095);
	cli_free(&r);
}

TEST(cli_dump_gicv5_human)
{
	struct cli_run j, h;
	char w[32];

	RUN(&j, "dump", "gicv5", "--vcpus", "3", "--load", "1:2", "--json");
	ASSERT_RAN_OK(&j);
	RUN(&h, "dump", "gicv5", "--vcpus", "3", "--load", "1:2");
	ASSERT_RAN_OK(&h);
	ASSERT(h.out[0] != '{');
	for (const char *const *s = (const char *const[]){ "VM ID", "VMTE", "VALID 1",
			"VMD_ADDR", "VPET_ADDR", "VPE_ID_BITS 2", "IST_VALID 1", "ID_BITS 12",
			"ID_BITS 8", "STRUCTURE linear", "VPED_ADDR", "resident/PE2",
			"not loaded", "(no vCPU)", "VMT_BASER", "VMT_CFGR", "IDR4",
			"VPE_STATUSR", NULL }; *s; s++)
		if (!strstr(h.out, *s))
			test_fail(__FILE__, __LINE__, "human dump lacks '%s':\n%s", *s, h.out);
	/* Same deterministic model run: the raw values match the JSON's. */
	for (size_t i = 0; i < 4; i++) {
		ASSERT(json_str(j.out, "vmte", i, w, sizeof(w)));
		ASSERT(strstr(h.out, w));
	}
	ASSERT(json_str(j.out, "vpet", 2, w, sizeof(w)));
	ASSERT(strstr(h.out, w));
	ASSERT(json_str(j.out, "contextr", 1, w, sizeof(w)));
	ASSERT(strstr(h.out, w));
	cli_free(&j);
	cli_free(&h);

	RUN(&h, "dump", "gicv5", "--two-level");
	ASSERT_RAN_OK(&h);
	ASSERT(strstr(h.out, "two-level"));
	ASSERT(strstr(h.out, "L2_ADDR"));
	cli_free(&h);
}
