// SPDX-License-Identifier: MIT
/*
 * GICv5 virtualization, hypervisor side: the IRS as the host sees it.  The
 * command protocol (idle, one write, idle), probe and remove with the
 * quarantine of VM tables the IRS may still use, and the VM table with
 * its on-demand L2 tables.
 *
 * Software writes every table entry with VALID = 0 and asks the IRS, by a
 * VMAP_* register write, to validate it; only the IRS sets or clears
 * VALID.
 */
#include "vgic_v5_priv.h"

#define DEFAULT_POLL_BUDGET 10000U

/* ---- IRS access (irs_lock held) ------------------------------------------ */

uint32_t vgic_v5_irs_read32(struct vgic_v5_host *h, uint32_t off)
{
	return (uint32_t)gicv5_irs_read(h->irs, off, 4);
}

int vgic_v5_irs_wait_idle(struct vgic_v5_host *h, uint32_t statusr)
{
	for (unsigned int i = 0; i < h->poll_budget; i++)
		if (vgic_v5_irs_read32(h, statusr) & GICV5_IRS_STATUSR_IDLE)
			return 0;
	return -ETIMEDOUT;
}

/* The protocol of every command: idle, one write, idle again. */
int vgic_v5_irs_command(struct vgic_v5_host *h, uint32_t reg, uint64_t val,
			unsigned int size, uint32_t statusr)
{
	int r = vgic_v5_irs_wait_idle(h, statusr);

	if (r)
		return r;
	gicv5_irs_write(h->irs, reg, val, size);
	return vgic_v5_irs_wait_idle(h, statusr);
}

/* ---- probe and remove ----------------------------------------------------- */

static size_t vmt_bytes(const struct vgic_v5_host *h)
{
	size_t entries = (size_t)1 << h->vm_id_bits;

	if (!h->two_level)
		return entries * GICV5_VMTE_SIZE;
	return (entries + GICV5_VMTL2_ENTRIES - 1) / GICV5_VMTL2_ENTRIES * sizeof(uint64_t);
}

static void host_free_tables(struct vgic_v5_host *h)
{
	for (uint32_t i = 0; h->vmt_l2 && i < h->nr_l1; i++)
		host_pages_free(h->vmt_l2[i]);
	host_free(h->vmt_l2);
	host_pages_free(h->vmt);
	id_space_destroy(h->ids);
	host_free(h);
}

/* Program VMT_CFGR and VMT_BASER under the IRS lock. */
static int vmt_install(struct vgic_v5_host *h)
{
	uint64_t baser;
	int r;

	host_mutex_lock(&h->irs_lock);
	r = vgic_v5_irs_wait_idle(h, GICV5_IRS_VMT_STATUSR);
	if (!r && (gicv5_irs_read(h->irs, GICV5_IRS_VMT_BASER, 8) & GICV5_IRS_VMT_BASER_VALID))
		r = -EBUSY;
	if (!r) {
		gicv5_irs_write(h->irs, GICV5_IRS_VMT_CFGR,
				FIELD_PREP(GICV5_IRS_VMT_CFGR_VM_ID_BITS, h->vm_id_bits) |
				(h->two_level ? GICV5_IRS_VMT_CFGR_STRUCTURE : 0), 4);
		baser = (host_pa(h->vmt) & GICV5_IRS_VMT_BASER_ADDR) | GICV5_IRS_VMT_BASER_VALID;
		r = vgic_v5_irs_command(h, GICV5_IRS_VMT_BASER, baser, 8, GICV5_IRS_VMT_STATUSR);
		if (!r && !(gicv5_irs_read(h->irs, GICV5_IRS_VMT_BASER, 8) & GICV5_IRS_VMT_BASER_VALID))
			r = -EIO;
	}
	host_mutex_unlock(&h->irs_lock);
	return r;
}

/* Clear VMT_BASER; 0 only when the IRS confirmed it no longer uses the VMT. */
static int vmt_uninstall(struct vgic_v5_host *h)
{
	int r;

	host_mutex_lock(&h->irs_lock);
	r = vgic_v5_irs_command(h, GICV5_IRS_VMT_BASER, 0, 8, GICV5_IRS_VMT_STATUSR);
	if (!r && (gicv5_irs_read(h->irs, GICV5_IRS_VMT_BASER, 8) & GICV5_IRS_VMT_BASER_VALID))
		r = -EIO;
	host_mutex_unlock(&h->irs_lock);
	return r;
}

static struct {
	struct host_mutex lock;
	struct vgic_v5_host *list;
} quarantine = { .lock = { PTHREAD_MUTEX_INITIALIZER } };

static void quarantine_add(struct vgic_v5_host *h)
{
	host_mutex_lock(&quarantine.lock);
	h->quarantine_next = quarantine.list;
	quarantine.list = h;
	host_mutex_unlock(&quarantine.lock);
}

int vgic_v5_reclaim(void)
{
	struct vgic_v5_host **pp, *h;
	int left = 0;

	host_mutex_lock(&quarantine.lock);
	for (pp = &quarantine.list; (h = *pp);) {
		if (!vmt_uninstall(h)) {
			*pp = h->quarantine_next;
			host_free_tables(h);
		} else {
			pp = &h->quarantine_next;
			left++;
		}
	}
	host_mutex_unlock(&quarantine.lock);
	return left;
}

int vgic_v5_probe(struct gicv5_irs *irs, const struct vgic_v5_host_opts *opts,
		  struct vgic_v5_host **out)
{
	static const struct vgic_v5_host_opts no_opts;
	uint32_t idr3, idr4;
	struct vgic_v5_host *h;
	unsigned int max_bits;
	int r;

	if (!irs || !out)
		return -EINVAL;
	if (!opts)
		opts = &no_opts;
	if (!(gicv5_irs_read(irs, GICV5_IRS_IDR0, 4) & GICV5_IRS_IDR0_VIRT))
		return -ENODEV;
	idr3 = (uint32_t)gicv5_irs_read(irs, GICV5_IRS_IDR3, 4);
	idr4 = (uint32_t)gicv5_irs_read(irs, GICV5_IRS_IDR4, 4);
	max_bits = (unsigned int)FIELD_GET(GICV5_IRS_IDR3_VM_ID_BITS, idr3);
	if (opts->two_level && !(idr3 & GICV5_IRS_IDR3_VMT_LEVELS))
		return -EOPNOTSUPP;
	if (opts->vm_id_bits > max_bits || !max_bits || max_bits > 16)
		return -EINVAL;

	h = host_zalloc(HOST_TAG_GICV5_VMT, sizeof(*h), "vgic_v5.host");
	if (!h)
		return -ENOMEM;
	h->irs = irs;
	host_mutex_init(&h->irs_lock);
	host_mutex_init(&h->l2_lock);
	h->two_level = opts->two_level;
	h->vm_id_bits = opts->vm_id_bits ? opts->vm_id_bits : max_bits;
	h->poll_budget = opts->poll_budget ? opts->poll_budget : DEFAULT_POLL_BUDGET;
	h->vpe_id_bits_max = (unsigned int)FIELD_GET(GICV5_IRS_IDR4_VPE_ID_BITS, idr4);
	h->vped_size = GICV5_DESC_BYTES(FIELD_GET(GICV5_IRS_IDR4_VPED_SZ, idr4));
	if (idr3 & GICV5_IRS_IDR3_VMD)
		h->vmd_size = GICV5_DESC_BYTES(FIELD_GET(GICV5_IRS_IDR3_VMD_SZ, idr3));

	r = id_space_create(h->vm_id_bits, &h->ids);
	if (!r) {
		h->vmt = host_pages_alloc(HOST_TAG_GICV5_VMT, host_order_for_bytes(vmt_bytes(h)),
					  "vgic_v5.vmt");
		if (!h->vmt)
			r = -ENOMEM;
	}
	if (!r && h->two_level) {
		h->nr_l1 = (uint32_t)(vmt_bytes(h) / sizeof(uint64_t));
		h->vmt_l2 = host_zalloc(HOST_TAG_GICV5_VMT, h->nr_l1 * sizeof(void *),
					"vgic_v5.vmt_l2_array");
		if (!h->vmt_l2)
			r = -ENOMEM;
	}
	if (!r)
		r = vmt_install(h);
	if (r) {
		/*
		 * Free the VMT only if the IRS confirms it is not using it; a
		 * VMT_BASER write that never completed may still take effect,
		 * so the tables wait in quarantine for vgic_v5_reclaim().
		 */
		if (!h->vmt || !vmt_uninstall(h))
			host_free_tables(h);
		else
			quarantine_add(h);
		return r;
	}
	*out = h;
	return 0;
}

int vgic_v5_remove(struct vgic_v5_host *h)
{
	int r;

	if (!h)
		return 0;
	if (id_space_used(h->ids) != id_space_retired(h->ids))
		return -EBUSY;
	r = vmt_uninstall(h);
	if (r)
		return r;
	host_free_tables(h);
	return 0;
}

/* ---- the VM table ------------------------------------------------------------ */

uint64_t *vgic_v5_vmte(struct vgic_v5_host *h, uint32_t vm_id)
{
	char *l2;

	if (!h || vm_id >= (1U << h->vm_id_bits))
		return NULL;
	if (!h->two_level)
		return (uint64_t *)((char *)h->vmt + (size_t)vm_id * GICV5_VMTE_SIZE);
	host_mutex_lock(&h->l2_lock);
	l2 = h->vmt_l2[vm_id / GICV5_VMTL2_ENTRIES];
	host_mutex_unlock(&h->l2_lock);
	if (!l2)
		return NULL;
	return (uint64_t *)(l2 + (vm_id % GICV5_VMTL2_ENTRIES) * GICV5_VMTE_SIZE);
}

/*
 * Two-level: make the L2 covering vm_id exist and be valid.  An L2 stays
 * with the VM table until vgic_v5_remove(), even after a failed map: once
 * VMAP_L2_VMTR was written the IRS may walk it whenever the command lands.
 */
int vgic_v5_vmt_l2_map(struct vgic_v5_host *h, uint32_t vm_id)
{
	uint32_t i = vm_id / GICV5_VMTL2_ENTRIES;
	uint64_t *l1 = (uint64_t *)h->vmt + i;
	int r = 0;

	host_mutex_lock(&h->l2_lock);
	if (!h->vmt_l2[i]) {
		void *l2 = host_pages_alloc(HOST_TAG_GICV5_VMT, 0, "vgic_v5.vmt_l2");

		if (!l2) {
			host_mutex_unlock(&h->l2_lock);
			return -ENOMEM;
		}
		h->vmt_l2[i] = l2;
		host_mutex_lock(&h->irs_lock);
		vgic_v5_entry_write(l1, host_pa(l2) & GICV5_VMTEL1E_L2_ADDR);
		host_mutex_unlock(&h->irs_lock);
	}
	if (!(vgic_v5_entry_read(l1) & GICV5_VMTEL1E_VALID)) {
		host_mutex_lock(&h->irs_lock);
		r = vgic_v5_irs_command(h, GICV5_IRS_VMAP_L2_VMTR,
					FIELD_PREP(GICV5_IRS_VMAP_L2_VMTR_VM_ID, vm_id) |
					GICV5_IRS_VMAP_L2_VMTR_M, 8, GICV5_IRS_VMT_STATUSR);
		if (!r && !(vgic_v5_entry_read(l1) & GICV5_VMTEL1E_VALID))
			r = -EIO;
		host_mutex_unlock(&h->irs_lock);
	}
	host_mutex_unlock(&h->l2_lock);
	return r;
}

/* ---- accessors ------------------------------------------------------------ */

void vgic_v5_host_info(struct vgic_v5_host *h, struct vgic_v5_host_info *info)
{
	*info = (struct vgic_v5_host_info){
		.two_level = h->two_level,
		.vm_id_bits = h->vm_id_bits,
		.vpe_id_bits_max = h->vpe_id_bits_max,
		.vmt_pa = host_pa(h->vmt),
		.nr_l1 = h->nr_l1,
	};
}

struct id_space *vgic_v5_host_ids(struct vgic_v5_host *h)
{
	return h->ids;
}

uint64_t *vgic_v5_vmt_l1e(struct vgic_v5_host *h, uint32_t vm_id)
{
	if (!h->two_level || vm_id >= (1U << h->vm_id_bits))
		return NULL;
	return (uint64_t *)h->vmt + vm_id / GICV5_VMTL2_ENTRIES;
}

uint64_t vgic_v5_irs_read(struct vgic_v5_host *h, uint32_t offset, unsigned int size)
{
	uint64_t v;

	host_mutex_lock(&h->irs_lock);
	v = gicv5_irs_read(h->irs, offset, size);
	host_mutex_unlock(&h->irs_lock);
	return v;
}

