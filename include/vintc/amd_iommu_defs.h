/* SPDX-License-Identifier: MIT */
/*
 * AMD IOMMU guest-virtual-APIC layouts, as named masks: the 128-bit
 * GA-mode interrupt remapping table entry (IRTE), the GA log entry and
 * the MMIO registers the GA log needs.  Every mask here is checked
 * against ../shared/reference/avic.md section 6 by tests/test_amd_iommu.c.
 */
#ifndef VINTC_AMD_IOMMU_DEFS_H
#define VINTC_AMD_IOMMU_DEFS_H

#include <stdint.h>

#include <vintc/host.h>

/* ---- 128-bit IRTE: two little-endian u64, lo at +0, hi at +8 ---------- */

#define AMD_IRTE_SIZE                  16U
/* One interrupt remapping table holds at most 512 entries (8 KiB). */
#define AMD_IRTE_MAX_ENTRIES           512U

/* lo, fields common to both views */
#define AMD_IRTE_LO_VALID              BIT_ULL(0)
#define AMD_IRTE_LO_NO_FAULT           BIT_ULL(1)
#define AMD_IRTE_LO_GUEST_MODE         BIT_ULL(7)
#define AMD_IRTE_LO_DEST_LO            GENMASK_ULL(31, 8)	/* destination[23:0] */

/* lo, guest (GA) mode view: GuestMode = 1 */
#define AMD_IRTE_LO_GA_LOG_INTR        BIT_ULL(2)
#define AMD_IRTE_LO_GA_RSVD            GENMASK_ULL(5, 3)
#define AMD_IRTE_LO_IS_RUN             BIT_ULL(6)
#define AMD_IRTE_LO_GA_TAG             GENMASK_ULL(63, 32)

/* lo, remapped view: GuestMode = 0 (same bits reused) */
#define AMD_IRTE_LO_REMAP_INT_TYPE     GENMASK_ULL(4, 2)
#define AMD_IRTE_LO_REMAP_RQ_EOI       BIT_ULL(5)
#define AMD_IRTE_LO_REMAP_DM           BIT_ULL(6)

/* hi */
#define AMD_IRTE_HI_VECTOR             GENMASK_ULL(7, 0)
#define AMD_IRTE_HI_RSVD_LO            GENMASK_ULL(11, 8)
#define AMD_IRTE_HI_GA_ROOT_PTR        GENMASK_ULL(51, 12)	/* backing PA >> 12 */
#define AMD_IRTE_HI_RSVD_HI            GENMASK_ULL(55, 52)
#define AMD_IRTE_HI_DEST_HI            GENMASK_ULL(63, 56)	/* destination[31:24] */

/* The destination's split: 24 bits in lo, the top 8 in hi. */
#define AMD_IRTE_DEST_LO_BITS          24

static inline uint32_t amd_irte_dest(uint64_t lo, uint64_t hi)
{
	return (uint32_t)(FIELD_GET(AMD_IRTE_HI_DEST_HI, hi) << AMD_IRTE_DEST_LO_BITS |
			  FIELD_GET(AMD_IRTE_LO_DEST_LO, lo));
}

static inline uint64_t amd_irte_lo_dest(uint32_t dest)
{
	return FIELD_PREP(AMD_IRTE_LO_DEST_LO, dest & 0xFFFFFFU);
}

static inline uint64_t amd_irte_hi_dest(uint32_t dest)
{
	return FIELD_PREP(AMD_IRTE_HI_DEST_HI, dest >> AMD_IRTE_DEST_LO_BITS);
}

/* ga_root_ptr holds the 4 KiB-aligned backing page's PA bits 51:12. */
static inline uint64_t amd_irte_hi_root(uint64_t backing_pa)
{
	return backing_pa & AMD_IRTE_HI_GA_ROOT_PTR;
}

static inline uint64_t amd_irte_backing_pa(uint64_t hi)
{
	return hi & AMD_IRTE_HI_GA_ROOT_PTR;
}

/* ---- GA log entry (8 bytes) -------------------------------------------- */

#define AMD_GA_LOG_ENTRY_TAG           GENMASK_ULL(31, 0)
#define AMD_GA_LOG_ENTRY_DEVID         GENMASK_ULL(47, 32)
#define AMD_GA_LOG_ENTRY_TYPE          GENMASK_ULL(63, 60)
#define AMD_GA_LOG_TYPE_GUEST_NR       1U	/* interrupt for a not-running vCPU */

#define AMD_GA_LOG_ENTRY_SIZE          8U
#define AMD_GA_LOG_ENTRIES             512U
#define AMD_GA_LOG_SIZE                (AMD_GA_LOG_ENTRIES * AMD_GA_LOG_ENTRY_SIZE)

/* ---- MMIO registers ---------------------------------------------------- */

/*
 * The reference names the GA log registers but not where control and
 * status live; 0x0018 and 0x2020 are the AMD IOMMU specification's MMIO
 * Control Register and MMIO Status Register, which hold these bits.
 */
#define AMD_IOMMU_MMIO_CONTROL         0x0018U
#define AMD_IOMMU_MMIO_GA_LOG_BASE     0x00E0U
#define AMD_IOMMU_MMIO_STATUS          0x2020U
#define AMD_IOMMU_MMIO_GA_LOG_HEAD     0x2040U
#define AMD_IOMMU_MMIO_GA_LOG_TAIL     0x2048U

#define AMD_IOMMU_CONTROL_GA_EN        BIT_ULL(17)	/* 128-bit IRTE format */
#define AMD_IOMMU_CONTROL_GAM_EN       BIT_ULL(25)	/* guest virtual APIC mode */
#define AMD_IOMMU_CONTROL_GALOG_EN     BIT_ULL(28)
#define AMD_IOMMU_CONTROL_GAINT_EN     BIT_ULL(29)

#define AMD_IOMMU_STATUS_GALOG_RUN     BIT_ULL(8)	/* read-only */
#define AMD_IOMMU_STATUS_GALOG_OVERFLOW BIT_ULL(9)	/* write 1 to clear */
#define AMD_IOMMU_STATUS_GA_INT        BIT_ULL(10)	/* write 1 to clear */

#define AMD_IOMMU_GA_LOG_BASE_ADDR     GENMASK_ULL(51, 12)
#define AMD_IOMMU_GA_LOG_BASE_LEN      GENMASK_ULL(59, 56)
#define AMD_IOMMU_GA_LOG_LEN_512       0x8U	/* 512 entries, the only size */

/* Head and tail: byte offsets of an 8-byte entry inside the 4 KiB log. */
#define AMD_IOMMU_GA_LOG_PTR           GENMASK_ULL(11, 3)

#endif
