// SPDX-License-Identifier: MIT
/*
 * GICv5 virtualization, hypervisor side: a VM's GICv5 state (doorbells,
 * the VMTE and its descriptors, VPEs), its init and teardown, VPE
 * residency around vcpu_load/put and WFI, and the vm_ops.  The IRS access
 * protocol, probe and the VM table are in vgic_v5_host.c.
 *
 * Software writes every table entry with VALID = 0 and asks the IRS, by a
 * VMAP_* register write, to validate it; only the IRS sets or clears
 * VALID.  vintc reads VALID back after each command completes to confirm
 * the IRS took it (a faulted command completes without effect).  A command
 * that does not complete within the poll budget leaves it unknown whether
 * the IRS acted, so everything it could reference is kept and the VM is
 * marked dead until a later teardown can confirm.
 *
 * VM ID 0 is never handed out: a zeroed ICH_CONTEXTR_EL2 or VMTE index
 * then never names a live VM, and 0 can mean "no VM ID".
 */
#include <string.h>

#include "arch.h"
#include "vgic_v5_priv.h"

#define DEFAULT_SPI_ID_BITS 8U
#define DEFAULT_LPI_ID_BITS 12U

/* ---- doorbells ------------------------------------------------------------------ */

static void db_handler(uint32_t lpi, void *arg)
{
	struct vcpu *vcpu = arg;
	struct vgic_v5_vcpu *v = to_vgic_v5_vcpu(vcpu);

	(void)lpi;
	store_release(&v->db_fired, 1);
	store_release(&v->irq_pending_req, 1);
	__atomic_add_fetch(&v->db_handled, 1, __ATOMIC_RELAXED);
	vcpu_wake(vcpu);
}

/* A per-VM domain: one host LPI per vCPU index, handler attached. */
static int doorbells_alloc(struct vgic_v5_vm *k, uint32_t n)
{
	k->db = host_zalloc(HOST_TAG_VM, n * sizeof(k->db[0]), "vgic_v5.db_domain");
	if (!k->db)
		return -ENOMEM;
	k->nr_db = n;
	for (uint32_t i = 0; i < n; i++) {
		int r = host_lpi_alloc(&k->db[i].lpi);

		if (r) {
			k->db[i].lpi = 0;
			return r;
		}
		r = host_lpi_request(k->db[i].lpi, db_handler, vm_get_vcpu(&k->vm, i));
		if (r)
			return r;
		k->db[i].requested = true;
	}
	return 0;
}

static void doorbells_free(struct vgic_v5_vm *k)
{
	for (uint32_t i = 0; k->db && i < k->nr_db; i++) {
		if (k->db[i].requested)
			host_lpi_request(k->db[i].lpi, NULL, NULL);
		if (k->db[i].lpi)
			host_lpi_free(k->db[i].lpi);
	}
	host_free(k->db);
	k->db = NULL;
	k->nr_db = 0;
}

/* ---- VMTE and its descriptors ------------------------------------------------------ */

struct ist_geom {
	unsigned int id_bits, l2_bits;
	bool two_level;
	size_t bytes;		/* linear table, or the L1 */
	uint32_t nr_l2;
};

/* 4-byte ISTEs (ISTSZ 0) and 4 KiB L2s (L2SZ 0), sized as reference 2 says. */
static struct ist_geom ist_geometry(unsigned int id_bits, bool two_level)
{
	struct ist_geom g = { .id_bits = id_bits, .two_level = two_level };
	unsigned int n;

	g.l2_bits = 10;
	if (two_level && id_bits > g.l2_bits) {
		n = id_bits - g.l2_bits + 2;
		g.nr_l2 = 1U << (id_bits - g.l2_bits);
	} else {
		g.two_level = false;
		n = id_bits + 1;
	}
	if (n < 5)
		n = 5;
	g.bytes = (size_t)1 << (n + 1);
	return g;
}

static void *alloc_bytes(enum host_tag tag, size_t bytes, const char *site)
{
	return host_pages_alloc(tag, host_order_for_bytes(bytes), site);
}

static int ist_alloc(const struct ist_geom *g, void **ist, void ***l2s, uint32_t *nr_l2,
		     const char *site, const char *l2_site)
{
	*ist = alloc_bytes(HOST_TAG_GICV5_IST, g->bytes, site);
	if (!*ist)
		return -ENOMEM;
	if (!g->two_level)
		return 0;
	*l2s = host_zalloc(HOST_TAG_GICV5_IST, g->nr_l2 * sizeof(void *), "vgic_v5.ist_l2_array");
	if (!*l2s)
		return -ENOMEM;
	*nr_l2 = g->nr_l2;
	for (uint32_t i = 0; i < g->nr_l2; i++) {
		(*l2s)[i] = host_pages_alloc(HOST_TAG_GICV5_IST, 0, l2_site);
		if (!(*l2s)[i])
			return -ENOMEM;
		/* VALID = 0: the IRS validates L1 ISTEs when the vIST is mapped. */
		vgic_v5_entry_write((uint64_t *)*ist + i,
				    host_pa((*l2s)[i]) & GICV5_ISTL1E_L2_ADDR);
	}
	return 0;
}

static uint64_t ist_word(const struct ist_geom *g, void *ist)
{
	return (host_pa(ist) & GICV5_VMTEL2E_IST_ADDR) |
	       FIELD_PREP(GICV5_VMTEL2E_IST_L2SZ, GICV5_L2SZ_4K) |
	       FIELD_PREP(GICV5_VMTEL2E_IST_ISTSZ, GICV5_ISTSZ_4) |
	       (g->two_level ? GICV5_VMTEL2E_IST_STRUCTURE : 0) |
	       FIELD_PREP(GICV5_VMTEL2E_IST_ID_BITS, g->id_bits);
}

static uint32_t max_vcpu_id(struct vm *vm)
{
	uint32_t max = 0;

	for (uint32_t i = 0; i < vm_nr_vcpus(vm); i++)
		if (vm_get_vcpu(vm, i)->vcpu_id > max)
			max = vm_get_vcpu(vm, i)->vcpu_id;
	return max;
}

static unsigned int vpet_bits(uint32_t max_id)
{
	unsigned int bits = 1;

	while ((1U << bits) < max_id + 1)
		bits++;
	return bits;
}

/* Allocate the descriptors and write VMTE words 0-3 with every VALID clear. */
static int vmte_init(struct vgic_v5_vm *k, uint32_t n)
{
	struct vgic_v5_host *h = k->host;
	const struct gicv5_config *c = &k->vm.cfg.gicv5;
	struct ist_geom lpi = ist_geometry(c->lpi_id_bits, c->lpi_two_level);
	struct ist_geom spi = ist_geometry(c->spi_id_bits, false);
	uint64_t *vmte;
	int r;

	if (n > (1U << h->vpe_id_bits_max))
		return -E2BIG;
	k->vpe_id_bits = vpet_bits(max_vcpu_id(&k->vm));
	if (k->vpe_id_bits > h->vpe_id_bits_max)
		return -E2BIG;
	if (h->two_level) {
		r = vgic_v5_vmt_l2_map(h, k->vm_id);
		if (r == -ETIMEDOUT)
			k->dead = true;
		if (r)
			return r;
	}
	vmte = vgic_v5_vmte(h, k->vm_id);
	if (vgic_v5_entry_read(vmte) & GICV5_VMTEL2E_VALID)
		return -EBUSY;
	memset(vmte, 0, GICV5_VMTE_SIZE);
	k->vmte_allocated = true;

	if (h->vmd_size) {
		k->vmd = alloc_bytes(HOST_TAG_GICV5_VM, h->vmd_size, "vgic_v5.vmd");
		if (!k->vmd)
			return -ENOMEM;
	}
	k->vpet = alloc_bytes(HOST_TAG_GICV5_VM, ((size_t)1 << k->vpe_id_bits) * sizeof(uint64_t),
			      "vgic_v5.vpet");
	if (!k->vpet)
		return -ENOMEM;
	k->vpeds = alloc_bytes(HOST_TAG_GICV5_VM, n * h->vped_size, "vgic_v5.vpeds");
	if (!k->vpeds)
		return -ENOMEM;
	r = ist_alloc(&lpi, &k->lpi_ist, &k->lpi_ist_l2, &k->nr_lpi_l2,
		      "vgic_v5.lpi_ist", "vgic_v5.lpi_ist_l2");
	if (r)
		return r;
	r = ist_alloc(&spi, &k->spi_ist, NULL, NULL, "vgic_v5.spi_ist", NULL);
	if (r)
		return r;

	host_mutex_lock(&h->irs_lock);
	vgic_v5_entry_write(&vmte[GICV5_VMTE_WORD_VMD],
			    k->vmd ? host_pa(k->vmd) & GICV5_VMTEL2E_VMD_ADDR : 0);
	vgic_v5_entry_write(&vmte[GICV5_VMTE_WORD_VPET],
			    (host_pa(k->vpet) & GICV5_VMTEL2E_VPET_ADDR) |
			    FIELD_PREP(GICV5_VMTEL2E_VPE_ID_BITS, k->vpe_id_bits));
	vgic_v5_entry_write(&vmte[GICV5_VMTE_WORD_LPI_IST], ist_word(&lpi, k->lpi_ist));
	vgic_v5_entry_write(&vmte[GICV5_VMTE_WORD_SPI_IST], ist_word(&spi, k->spi_ist));
	host_mutex_unlock(&h->irs_lock);
	return 0;
}

/* A VMAP_* command, then confirm the IRS changed `bit` of `*e` as asked. */
static int vmap(struct vgic_v5_vm *k, uint32_t reg, uint64_t cmd, uint64_t *e,
		uint64_t bit, bool want_set)
{
	struct vgic_v5_host *h = k->host;
	int r;

	host_mutex_lock(&h->irs_lock);
	r = vgic_v5_irs_command(h, reg, cmd, 8, GICV5_IRS_VMT_STATUSR);
	if (!r && !!(vgic_v5_entry_read(e) & bit) != want_set)
		r = -EIO;
	host_mutex_unlock(&h->irs_lock);
	if (r == -ETIMEDOUT)
		k->dead = true;
	return r;
}

static int vmte_make_valid(struct vgic_v5_vm *k)
{
	return vmap(k, GICV5_IRS_VMAP_VMR,
		    FIELD_PREP(GICV5_IRS_VMAP_VMR_VM_ID, k->vm_id) | GICV5_IRS_VMAP_VMR_M,
		    vgic_v5_vmte(k->host, k->vm_id), GICV5_VMTEL2E_VALID, true);
}

static int vist_make_valid(struct vgic_v5_vm *k, unsigned int type)
{
	uint64_t *vmte = vgic_v5_vmte(k->host, k->vm_id);
	unsigned int word = type == GICV5_HWIRQ_TYPE_LPI ? GICV5_VMTE_WORD_LPI_IST
							 : GICV5_VMTE_WORD_SPI_IST;

	return vmap(k, GICV5_IRS_VMAP_VISTR,
		    FIELD_PREP(GICV5_IRS_VMAP_VISTR_TYPE, type) |
		    FIELD_PREP(GICV5_IRS_VMAP_VISTR_VM_ID, k->vm_id) | GICV5_IRS_VMAP_VISTR_M,
		    &vmte[word], GICV5_VMTEL2E_IST_VALID, true);
}

uint64_t *vgic_v5_vpete(struct vm *vm, uint32_t vpe_id)
{
	struct vgic_v5_vm *k = to_vgic_v5_vm(vm);

	if (!k->vpet || vpe_id >= (1U << k->vpe_id_bits))
		return NULL;
	return (uint64_t *)k->vpet + vpe_id;
}

/* VPETE with VALID = 0, then the VPE reset sequence of reference 7. */
static int vpe_init(struct vgic_v5_vm *k, struct vcpu *vcpu)
{
	struct vgic_v5_host *h = k->host;
	uint64_t *vpete = vgic_v5_vpete(&k->vm, vcpu->vcpu_id);
	uint64_t vped_pa = host_pa((char *)k->vpeds + vcpu->vcpu_idx * h->vped_size);
	uint64_t sel, dbr;
	int r;

	if (!vpete)
		return -E2BIG;
	if (vgic_v5_entry_read(vpete) & GICV5_VPETE_VALID)
		return -EBUSY;
	host_mutex_lock(&h->irs_lock);
	vgic_v5_entry_write(vpete, vped_pa & GICV5_VPETE_VPED_ADDR);
	host_mutex_unlock(&h->irs_lock);

	r = vmap(k, GICV5_IRS_VMAP_VPER,
		 FIELD_PREP(GICV5_IRS_VMAP_VPER_VPE_ID, vcpu->vcpu_id) |
		 FIELD_PREP(GICV5_IRS_VMAP_VPER_VM_ID, k->vm_id) | GICV5_IRS_VMAP_VPER_M,
		 vpete, GICV5_VPETE_VALID, true);
	if (r)
		return r;

	sel = FIELD_PREP(GICV5_IRS_VPE_SELR_VM_ID, k->vm_id) |
	      FIELD_PREP(GICV5_IRS_VPE_SELR_VPE_ID, vcpu->vcpu_id) | GICV5_IRS_VPE_SELR_S;
	dbr = FIELD_PREP(GICV5_IRS_VPE_DBR_INTID, k->db[vcpu->vcpu_idx].lpi) |
	      FIELD_PREP(GICV5_IRS_VPE_DBR_DBPM, GICV5_PRIORITY_LOWEST) |
	      GICV5_IRS_VPE_DBR_REQ_DB | GICV5_IRS_VPE_DBR_DBV;
	host_mutex_lock(&h->irs_lock);
	/*
	 * Each step is read back: a faulted command completes like any other,
	 * and a failed select would leave the next commands aimed at the VPE
	 * selected before.
	 */
	r = vgic_v5_irs_command(h, GICV5_IRS_VPE_SELR, sel, 8, GICV5_IRS_VPE_STATUSR);
	if (!r && (!(vgic_v5_irs_read32(h, GICV5_IRS_VPE_STATUSR) & GICV5_IRS_STATUSR_V) ||
		   gicv5_irs_read(h->irs, GICV5_IRS_VPE_SELR, 8) != sel))
		r = -EIO;
	/* Targeted interrupts only: no 1-of-N participation. */
	if (!r)
		r = vgic_v5_irs_command(h, GICV5_IRS_VPE_CR0, GICV5_IRS_VPE_CR0_DPS, 4,
					GICV5_IRS_VPE_STATUSR);
	if (!r && !(vgic_v5_irs_read32(h, GICV5_IRS_VPE_CR0) & GICV5_IRS_VPE_CR0_DPS))
		r = -EIO;
	/*
	 * Doorbell valid and requested at the lowest mask: the VPE has not run
	 * yet, so anything pending before its first load rings.
	 */
	if (!r)
		r = vgic_v5_irs_command(h, GICV5_IRS_VPE_DBR, dbr, 8, GICV5_IRS_VPE_STATUSR);
	if (!r && (gicv5_irs_read(h->irs, GICV5_IRS_VPE_DBR, 8) &
		   (GICV5_IRS_VPE_DBR_INTID | GICV5_IRS_VPE_DBR_DBV)) !=
		  (dbr & (GICV5_IRS_VPE_DBR_INTID | GICV5_IRS_VPE_DBR_DBV)))
		r = -EIO;
	host_mutex_unlock(&h->irs_lock);
	if (r == -ETIMEDOUT)
		k->dead = true;
	return r;
}

/* ---- init and teardown --------------------------------------------------------------- */

static int vgic_v5_init_locked(struct vgic_v5_vm *k)
{
	uint32_t n = vm_nr_vcpus(&k->vm);
	int r;

	if (!n)
		return -ENODEV;
	if (k->vm_id)
		return -EBUSY;
	/* The ID space is bounded by the VM table; exhaustion is not logged. */
	r = id_alloc(k->host->ids, &k->vm, &k->vm_id);
	if (r)
		return r;
	k->dead = false;
	/* The doorbells come first: they are how the VPEs get their INTIDs. */
	r = doorbells_alloc(k, n);
	if (!r)
		r = vmte_init(k, n);
	if (!r)
		r = vmte_make_valid(k);
	if (!r)
		r = vist_make_valid(k, GICV5_HWIRQ_TYPE_SPI);
	if (!r)
		r = vist_make_valid(k, GICV5_HWIRQ_TYPE_LPI);
	for (uint32_t i = 0; !r && i < n; i++)
		r = vpe_init(k, vm_get_vcpu(&k->vm, i));
	return r;
}

int vgic_v5_init(struct vm *vm)
{
	struct vgic_v5_vm *k;
	int r;

	if (!vm || vm->cfg.arch != VM_ARCH_GICV5)
		return -EINVAL;
	k = to_vgic_v5_vm(vm);
	host_mutex_lock(&vm->lock);
	r = vgic_v5_init_locked(k);
	/* One teardown for every partial state; userspace may init again. */
	if (r && r != -EBUSY)
		vgic_v5_teardown(vm);
	host_mutex_unlock(&vm->lock);
	return r;
}

/* No VPE may stay resident in a VM that leaves the table. */
static void vpes_make_nonresident(struct vgic_v5_vm *k)
{
	for (uint32_t i = 0; i < vm_nr_vcpus(&k->vm); i++) {
		struct vcpu *vcpu = vm_get_vcpu(&k->vm, i);
		struct vgic_v5_vcpu *v = to_vgic_v5_vcpu(vcpu);

		if (v->resident) {
			v->resident = false;
			gicv5_pe_write_contextr(k->host->irs, (unsigned int)vcpu->cpu, 0);
		}
	}
}

static int vmte_make_invalid(struct vgic_v5_vm *k)
{
	uint64_t *vmte = vgic_v5_vmte(k->host, k->vm_id);

	vpes_make_nonresident(k);
	if (!(vgic_v5_entry_read(vmte) & GICV5_VMTEL2E_VALID))
		return 0;
	return vmap(k, GICV5_IRS_VMAP_VMR,
		    FIELD_PREP(GICV5_IRS_VMAP_VMR_VM_ID, k->vm_id) |
		    GICV5_IRS_VMAP_VMR_U | GICV5_IRS_VMAP_VMR_M,
		    vmte, GICV5_VMTEL2E_VALID, false);
}

static int irs_quiesce(struct vgic_v5_host *h)
{
	static const uint32_t statusr[] = {
		GICV5_IRS_VMT_STATUSR, GICV5_IRS_VPE_STATUSR, GICV5_IRS_VM_STATUSR,
	};
	int r = 0;

	host_mutex_lock(&h->irs_lock);
	for (unsigned int i = 0; !r && i < ARRAY_SIZE(statusr); i++)
		r = vgic_v5_irs_wait_idle(h, statusr[i]);
	host_mutex_unlock(&h->irs_lock);
	return r;
}

static void free_run(void **p)
{
	host_pages_free(*p);
	*p = NULL;
}

/* The VMTE is invalid: the IRS no longer walks anything below it. */
static int vmte_release(struct vgic_v5_vm *k)
{
	uint64_t *vmte = vgic_v5_vmte(k->host, k->vm_id);

	if (vgic_v5_entry_read(vmte) & GICV5_VMTEL2E_VALID)
		return -EBUSY;
	if (k->vpet)
		memset(k->vpet, 0, ((size_t)1 << k->vpe_id_bits) * sizeof(uint64_t));
	vgic_v5_entry_write(&vmte[GICV5_VMTE_WORD_LPI_IST], 0);
	vgic_v5_entry_write(&vmte[GICV5_VMTE_WORD_SPI_IST], 0);
	for (uint32_t i = 0; k->lpi_ist_l2 && i < k->nr_lpi_l2; i++)
		host_pages_free(k->lpi_ist_l2[i]);
	host_free(k->lpi_ist_l2);
	k->lpi_ist_l2 = NULL;
	k->nr_lpi_l2 = 0;
	free_run(&k->lpi_ist);
	free_run(&k->spi_ist);
	free_run(&k->vpeds);
	free_run(&k->vpet);
	free_run(&k->vmd);
	memset(vmte, 0, GICV5_VMTE_SIZE);
	k->vmte_allocated = false;
	return 0;
}

int vgic_v5_teardown(struct vm *vm)
{
	struct vgic_v5_vm *k = to_vgic_v5_vm(vm);
	int r = 0;

	if (!k->vm_id)
		return 0;
	/*
	 * Any command still in flight (a VMAP that may yet validate an entry,
	 * a VPE command that may yet write a VPED) forbids freeing anything.
	 */
	r = irs_quiesce(k->host);
	if (!r && k->vmte_allocated) {
		r = vmte_make_invalid(k);
		if (!r)
			r = vmte_release(k);
	}
	doorbells_free(k);
	if (r) {
		/* Keep the ID and what the IRS may reference; a retry may finish. */
		k->teardown_failed = true;
		return r;
	}
	if (k->teardown_failed)
		id_retire(k->host->ids, k->vm_id);
	else
		id_free(k->host->ids, k->vm_id);
	k->vm_id = 0;
	k->dead = false;
	k->teardown_failed = false;	/* the next ID starts clean */
	return 0;
}

/* ---- residency ----------------------------------------------------------------------- */

void vgic_v5_set_vcpu_if(struct vcpu *vcpu, bool enabled, uint8_t vpmr, uint8_t active_prio)
{
	struct vgic_v5_vcpu *v = to_vgic_v5_vcpu(vcpu);

	v->vcpu_if_enabled = enabled;
	v->vpmr = vpmr;
	v->active_prio = active_prio;
}

int vgic_v5_doorbell_dbpm(struct vcpu *vcpu)
{
	struct vgic_v5_vcpu *v = to_vgic_v5_vcpu(vcpu);
	unsigned int mask;

	if (!v->vcpu_if_enabled)
		return -1;
	mask = (unsigned int)v->vpmr + 1;
	if (v->active_prio < mask)
		mask = v->active_prio;
	/*
	 * The guest's mask and active priority are 8-bit values, DBPM a 5-bit
	 * field: a mask past the lowest priority unmasks everything (DBPM 31),
	 * where the field would keep only the low bits (VPMR 64 -> DBPM 0)
	 * and the vCPU would sleep through its interrupts.
	 */
	if (mask > GICV5_PRIORITY_LOWEST + 1)
		mask = GICV5_PRIORITY_LOWEST + 1;
	return mask ? (int)mask - 1 : -1;
}

bool vgic_v5_take_doorbell(struct vcpu *vcpu)
{
	return __atomic_exchange_n(&to_vgic_v5_vcpu(vcpu)->db_fired, 0, __ATOMIC_ACQ_REL);
}

static bool vgic_v5_active(struct vgic_v5_vm *k)
{
	return k->vm_id && k->vmte_allocated && !k->dead;
}

static void vgic_v5_make_resident(struct vcpu *vcpu, int cpu)
{
	struct vgic_v5_vm *k = to_vgic_v5_vm(vcpu->vm);
	struct vgic_v5_vcpu *v = to_vgic_v5_vcpu(vcpu);
	uint64_t val = ICH_CONTEXTR_EL2_V | ICH_CONTEXTR_EL2_IRICHPPIDIS |
		       FIELD_PREP(ICH_CONTEXTR_EL2_VM, k->vm_id) |
		       FIELD_PREP(ICH_CONTEXTR_EL2_VPE, vcpu->vcpu_id);

	gicv5_pe_write_contextr(k->host->irs, (unsigned int)cpu, val);
	if (gicv5_pe_read_contextr(k->host->irs, (unsigned int)cpu) & ICH_CONTEXTR_EL2_F) {
		k->dead = true;		/* the VM cannot run safely any more */
		return;
	}
	v->resident = true;
}

static void vgic_v5_vcpu_load(struct vcpu *vcpu, int cpu)
{
	struct vgic_v5_vm *k = to_vgic_v5_vm(vcpu->vm);

	/* Resident already (double load around WFI) or halted: nothing to do. */
	if (!vgic_v5_active(k) || to_vgic_v5_vcpu(vcpu)->resident ||
	    load_acquire(&vcpu->blocking))
		return;
	vgic_v5_make_resident(vcpu, cpu);
}

static void vgic_v5_make_nonresident(struct vcpu *vcpu, bool wfi)
{
	struct vgic_v5_vm *k = to_vgic_v5_vm(vcpu->vm);
	struct vgic_v5_vcpu *v = to_vgic_v5_vcpu(vcpu);
	int dbpm = wfi ? vgic_v5_doorbell_dbpm(vcpu) : -1;
	uint64_t val = 0;

	if (!v->resident)
		return;
	/* A doorbell only pays off for a vCPU about to sleep. */
	if (dbpm >= 0)
		val = ICH_CONTEXTR_EL2_DB | FIELD_PREP(ICH_CONTEXTR_EL2_DBPM, dbpm);
	/*
	 * Software state first: a doorbell can fire the moment the write
	 * lands, and its handler must find db_fired clear to set it.
	 */
	store_release(&v->db_fired, 0);
	v->resident = false;
	host_mb();
	gicv5_pe_write_contextr(k->host->irs, (unsigned int)vcpu->cpu, val);
}

static void vgic_v5_vcpu_put(struct vcpu *vcpu)
{
	/*
	 * Preempted between vcpu_blocking() setting `blocking` and the
	 * blocking hook: the load on the way back is skipped while blocking,
	 * and the hook then finds the VPE not resident and returns, so this
	 * put is the last chance to ask for a doorbell.  Without one the
	 * vCPU would sleep through its interrupts (verify/gicv5_doorbell.pml).
	 */
	vgic_v5_make_nonresident(vcpu, load_acquire(&vcpu->blocking));
}

static void vgic_v5_vcpu_blocking(struct vcpu *vcpu)
{
	vgic_v5_make_nonresident(vcpu, true);
}

static void vgic_v5_vcpu_unblocking(struct vcpu *vcpu)
{
	if (vcpu->loaded)
		vgic_v5_vcpu_load(vcpu, vcpu->cpu);
}

static bool vgic_v5_vcpu_has_interrupt(struct vcpu *vcpu)
{
	return load_acquire(&to_vgic_v5_vcpu(vcpu)->db_fired);
}

/* ---- accessors -------------------------------------------------------------------------- */

uint32_t vgic_v5_vm_id(struct vm *vm)
{
	return to_vgic_v5_vm(vm)->vm_id;
}

unsigned int vgic_v5_vpe_id_bits(struct vm *vm)
{
	struct vgic_v5_vm *k = to_vgic_v5_vm(vm);

	return k->vpet ? k->vpe_id_bits : 0;
}

uint64_t *vgic_v5_vm_vmte(struct vm *vm)
{
	struct vgic_v5_vm *k = to_vgic_v5_vm(vm);

	return k->vm_id ? vgic_v5_vmte(k->host, k->vm_id) : NULL;
}

bool vgic_v5_vcpu_resident(struct vcpu *vcpu)
{
	return to_vgic_v5_vcpu(vcpu)->resident;
}

uint64_t vgic_v5_vcpu_doorbells(struct vcpu *vcpu)
{
	return __atomic_load_n(&to_vgic_v5_vcpu(vcpu)->db_handled, __ATOMIC_ACQUIRE);
}

/* ---- ops ------------------------------------------------------------------------------- */

static int vgic_v5_vm_init(struct vm *vm)
{
	struct vgic_v5_vm *k = to_vgic_v5_vm(vm);
	struct gicv5_config *c = &vm->cfg.gicv5;
	unsigned int max_bits;

	if (!c->host)
		return -EINVAL;
	max_bits = (unsigned int)FIELD_GET(GICV5_IRS_IDR2_ID_BITS,
					   gicv5_irs_read(c->host->irs, GICV5_IRS_IDR2, 4));
	if (!c->spi_id_bits)
		c->spi_id_bits = DEFAULT_SPI_ID_BITS;
	if (!c->lpi_id_bits)
		c->lpi_id_bits = DEFAULT_LPI_ID_BITS;
	if (c->spi_id_bits > max_bits || c->lpi_id_bits > max_bits ||
	    (!c->lpi_two_level && c->lpi_id_bits > 16))
		return -EINVAL;
	k->host = c->host;
	return 0;
}

static int vgic_v5_vcpu_create(struct vcpu *vcpu)
{
	struct vgic_v5_vcpu *v = to_vgic_v5_vcpu(vcpu);

	/* The VPE table is sized at init: no vCPUs after it. */
	if (to_vgic_v5_vm(vcpu->vm)->vm_id)
		return -EBUSY;
	v->vcpu_if_enabled = true;
	v->vpmr = GICV5_PRIORITY_LOWEST;
	v->active_prio = 32;
	return 0;
}

static void vgic_v5_vm_pre_destroy(struct vm *vm)
{
	/* Out of the VM table before any vCPU goes. */
	vgic_v5_teardown(vm);
}

static void vgic_v5_vm_destroy(struct vm *vm)
{
	struct vgic_v5_vm *k = to_vgic_v5_vm(vm);

	/*
	 * Still failing: the IRS may yet write what the VMTE points at, so
	 * that memory stays allocated (it shows as outstanding) and the ID is
	 * retired for good.
	 */
	if (vgic_v5_teardown(vm) && k->vm_id)
		id_retire(k->host->ids, k->vm_id);
}

const struct vm_ops vgic_v5_vm_ops = {
	.name = "gicv5",
	.vm_size = sizeof(struct vgic_v5_vm),
	.vcpu_size = sizeof(struct vgic_v5_vcpu),
	.vm_init = vgic_v5_vm_init,
	.vcpu_create = vgic_v5_vcpu_create,
	.vcpu_load = vgic_v5_vcpu_load,
	.vcpu_put = vgic_v5_vcpu_put,
	.vcpu_blocking = vgic_v5_vcpu_blocking,
	.vcpu_unblocking = vgic_v5_vcpu_unblocking,
	.vcpu_has_interrupt = vgic_v5_vcpu_has_interrupt,
	.vm_pre_destroy = vgic_v5_vm_pre_destroy,
	.vm_destroy = vgic_v5_vm_destroy,
};

