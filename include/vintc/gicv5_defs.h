/* SPDX-License-Identifier: MIT */
/*
 * Arm GICv5 virtualization layouts, as named masks: INTIDs, IRS registers,
 * ISTEs, the VM table, VPET entries and ICH_CONTEXTR_EL2.  Checked against
 * ../shared/reference/gicv5.md by tests/test_gicv5_layout.c.
 *
 * Where Linux, FreeBSD and QEMU disagree (reference section 9) vintc
 * follows Linux; the two layout choices that differ are build-time options:
 *   VINTC_GICV5_VPED_ADDR_LOW   5 for FreeBSD's VPED_ADDR[55:5] (default 3)
 *   VINTC_GICV5_L1_VMTE_ADDR_HI 55 to let L1 L2_ADDR reach bit 55 (default 51)
 * IRS_VMT_STATUSR is at 0x214 (Linux, FreeBSD), not QEMU's 0x124, and
 * IRS_IDR0.PA_RANGE is [5:2], not QEMU's 5-bit field overlapping VIRT[6].
 */
#ifndef VINTC_GICV5_DEFS_H
#define VINTC_GICV5_DEFS_H

#include <stdint.h>

#include <vintc/host.h>

#ifndef VINTC_GICV5_VPED_ADDR_LOW
#define VINTC_GICV5_VPED_ADDR_LOW 3
#endif
#ifndef VINTC_GICV5_L1_VMTE_ADDR_HI
#define VINTC_GICV5_L1_VMTE_ADDR_HI 51
#endif

/* ---- INTIDs ------------------------------------------------------------ */

#define GICV5_INTID_ID            GENMASK_ULL(23, 0)
#define GICV5_INTID_TYPE          GENMASK_ULL(31, 29)
#define GICV5_HWIRQ_TYPE_PPI      1
#define GICV5_HWIRQ_TYPE_LPI      2
#define GICV5_HWIRQ_TYPE_SPI      3

#define GICV5_PRIORITY_BITS       5
#define GICV5_PRIORITY_LOWEST     0x1F

/* ---- IRS ID registers --------------------------------------------------- */

#define GICV5_IRS_IDR0            0x000
#define GICV5_IRS_IDR1            0x004
#define GICV5_IRS_IDR2            0x008
#define GICV5_IRS_IDR3            0x00C
#define GICV5_IRS_IDR4            0x010

#define GICV5_IRS_IDR0_INT_DOM    GENMASK_ULL(1, 0)
#define GICV5_IRS_IDR0_PA_RANGE   GENMASK_ULL(5, 2)
#define GICV5_IRS_IDR0_VIRT       BIT_ULL(6)
#define GICV5_IRS_IDR0_ONE_N      BIT_ULL(7)
#define GICV5_IRS_IDR0_VIRT_ONE_N BIT_ULL(8)
#define GICV5_IRS_IDR0_SETLPI     BIT_ULL(9)

#define GICV5_IRS_IDR1_PRIORITY_BITS GENMASK_ULL(22, 20)	/* 0b000 = 1 bit .. 0b100 = 5 */

#define GICV5_IRS_IDR2_ID_BITS    GENMASK_ULL(4, 0)
#define GICV5_IRS_IDR2_LPI        BIT_ULL(5)
#define GICV5_IRS_IDR2_MIN_LPI_ID_BITS GENMASK_ULL(9, 6)
#define GICV5_IRS_IDR2_IST_LEVELS BIT_ULL(10)
#define GICV5_IRS_IDR2_IST_L2SZ   GENMASK_ULL(13, 11)
#define GICV5_IRS_IDR2_ISTMD      BIT_ULL(14)
#define GICV5_IRS_IDR2_ISTMD_SZ   GENMASK_ULL(19, 15)

#define GICV5_IRS_IDR3_VMD        BIT_ULL(0)
#define GICV5_IRS_IDR3_VMD_SZ     GENMASK_ULL(4, 1)
#define GICV5_IRS_IDR3_VM_ID_BITS GENMASK_ULL(9, 5)
#define GICV5_IRS_IDR3_VMT_LEVELS BIT_ULL(10)

#define GICV5_IRS_IDR4_VPED_SZ    GENMASK_ULL(5, 0)
#define GICV5_IRS_IDR4_VPE_ID_BITS GENMASK_ULL(9, 6)

/*
 * The public sources do not decode VMD_SZ / VPED_SZ (reference 9.5).
 * vintc's choice: the structure is 2^field bytes.
 */
#define GICV5_DESC_BYTES(field)   (1ULL << (field))

/* ---- IRS physical IST registers ----------------------------------------- */

#define GICV5_IRS_IST_BASER       0x180
#define GICV5_IRS_IST_CFGR        0x190
#define GICV5_IRS_IST_STATUSR     0x194
#define GICV5_IRS_MAP_L2_ISTR     0x1C0

#define GICV5_IRS_IST_BASER_VALID BIT_ULL(0)
#define GICV5_IRS_IST_BASER_ADDR  GENMASK_ULL(55, 6)
#define GICV5_IRS_IST_CFGR_LPI_ID_BITS GENMASK_ULL(4, 0)
#define GICV5_IRS_IST_CFGR_L2SZ   GENMASK_ULL(6, 5)
#define GICV5_IRS_IST_CFGR_ISTSZ  GENMASK_ULL(8, 7)
#define GICV5_IRS_IST_CFGR_STRUCTURE BIT_ULL(16)
#define GICV5_IRS_MAP_L2_ISTR_ID  GENMASK_ULL(23, 0)

/* ---- ISTEs --------------------------------------------------------------- */

#define GICV5_ISTL1E_VALID        BIT_ULL(0)
#define GICV5_ISTL1E_L2_ADDR      GENMASK_ULL(55, 12)

#define GICV5_ISTL2E_PENDING      BIT_ULL(0)
#define GICV5_ISTL2E_ACTIVE       BIT_ULL(1)
#define GICV5_ISTL2E_HM           BIT_ULL(2)	/* 1 = level */
#define GICV5_ISTL2E_ENABLE       BIT_ULL(3)
#define GICV5_ISTL2E_IRM          BIT_ULL(4)
#define GICV5_ISTL2E_HWU          GENMASK_ULL(10, 9)
#define GICV5_ISTL2E_PRIORITY     GENMASK_ULL(15, 11)
#define GICV5_ISTL2E_IAFFID       GENMASK_ULL(31, 16)

#define GICV5_ISTSZ_4             0
#define GICV5_ISTSZ_8             1
#define GICV5_ISTSZ_16            2
#define GICV5_L2SZ_4K             0
#define GICV5_L2SZ_16K            1
#define GICV5_L2SZ_64K            2

/* ---- IRS virtualization registers ---------------------------------------- */

#define GICV5_IRS_SPI_VMR         0x100
#define GICV5_IRS_VMT_BASER       0x200
#define GICV5_IRS_VMT_CFGR        0x210
#define GICV5_IRS_VMT_STATUSR     0x214
#define GICV5_IRS_VPE_SELR        0x240
#define GICV5_IRS_VPE_DBR         0x248
#define GICV5_IRS_VPE_HPPIR       0x250
#define GICV5_IRS_VPE_CR0         0x258
#define GICV5_IRS_VPE_STATUSR     0x25C
#define GICV5_IRS_VM_DBR          0x280
#define GICV5_IRS_VM_SELR         0x288
#define GICV5_IRS_VM_STATUSR      0x28C
#define GICV5_IRS_VMAP_L2_VMTR    0x2C0
#define GICV5_IRS_VMAP_VMR        0x2C8
#define GICV5_IRS_VMAP_VISTR      0x2D0
#define GICV5_IRS_VMAP_L2_VISTR   0x2D8
#define GICV5_IRS_VMAP_VPER       0x2E0
#define GICV5_IRS_SAVE_VMR        0x300
#define GICV5_IRS_SAVE_VM_STATUSR 0x308
#define GICV5_IRS_SWERR_SYNDROMER0 0x3C8
#define GICV5_IRS_FRAME_SIZE      0x10000

#define GICV5_IRS_SPI_VMR_VM_ID   GENMASK_ULL(15, 0)
#define GICV5_IRS_SPI_VMR_VIRT    BIT_ULL(63)

#define GICV5_IRS_VMT_BASER_VALID BIT_ULL(0)
#define GICV5_IRS_VMT_BASER_ADDR  GENMASK_ULL(55, 3)

#define GICV5_IRS_VMT_CFGR_VM_ID_BITS GENMASK_ULL(4, 0)
#define GICV5_IRS_VMT_CFGR_STRUCTURE  BIT_ULL(16)	/* 1 = two-level */

#define GICV5_IRS_STATUSR_IDLE    BIT_ULL(0)
#define GICV5_IRS_STATUSR_V       BIT_ULL(1)

#define GICV5_IRS_VPE_SELR_VM_ID  GENMASK_ULL(15, 0)
#define GICV5_IRS_VPE_SELR_VPE_ID GENMASK_ULL(47, 32)
#define GICV5_IRS_VPE_SELR_S      BIT_ULL(63)

#define GICV5_IRS_VPE_DBR_INTID   GENMASK_ULL(23, 0)
#define GICV5_IRS_VPE_DBR_DBPM    GENMASK_ULL(36, 32)
#define GICV5_IRS_VPE_DBR_REQ_DB  BIT_ULL(62)
#define GICV5_IRS_VPE_DBR_DBV     BIT_ULL(63)

#define GICV5_IRS_VPE_HPPIR_ID    GENMASK_ULL(23, 0)
#define GICV5_IRS_VPE_HPPIR_TYPE  GENMASK_ULL(31, 29)
#define GICV5_IRS_VPE_HPPIR_HPPIV BIT_ULL(32)

#define GICV5_IRS_VPE_CR0_DPS     BIT_ULL(0)

#define GICV5_IRS_VM_DBR_VPE_ID   GENMASK_ULL(15, 0)
#define GICV5_IRS_VM_DBR_EN       BIT_ULL(63)
#define GICV5_IRS_VM_SELR_VM_ID   GENMASK_ULL(15, 0)

#define GICV5_IRS_VMAP_L2_VMTR_VM_ID GENMASK_ULL(15, 0)
#define GICV5_IRS_VMAP_L2_VMTR_M  BIT_ULL(63)

#define GICV5_IRS_VMAP_VMR_VM_ID  GENMASK_ULL(15, 0)
#define GICV5_IRS_VMAP_VMR_U      BIT_ULL(62)	/* 1 = unmap */
#define GICV5_IRS_VMAP_VMR_M      BIT_ULL(63)

#define GICV5_IRS_VMAP_VISTR_TYPE  GENMASK_ULL(31, 29)
#define GICV5_IRS_VMAP_VISTR_VM_ID GENMASK_ULL(47, 32)
#define GICV5_IRS_VMAP_VISTR_U     BIT_ULL(62)
#define GICV5_IRS_VMAP_VISTR_M     BIT_ULL(63)

#define GICV5_IRS_VMAP_L2_VISTR_ID    GENMASK_ULL(23, 0)
#define GICV5_IRS_VMAP_L2_VISTR_TYPE  GENMASK_ULL(31, 29)
#define GICV5_IRS_VMAP_L2_VISTR_VM_ID GENMASK_ULL(47, 32)
#define GICV5_IRS_VMAP_L2_VISTR_M     BIT_ULL(63)

#define GICV5_IRS_VMAP_VPER_VPE_ID GENMASK_ULL(15, 0)
#define GICV5_IRS_VMAP_VPER_VM_ID  GENMASK_ULL(47, 32)
#define GICV5_IRS_VMAP_VPER_M      BIT_ULL(63)

#define GICV5_IRS_SWERR_VM_ID     GENMASK_ULL(15, 0)
#define GICV5_IRS_SWERR_ID        GENMASK_ULL(55, 32)
#define GICV5_IRS_SWERR_TYPE      GENMASK_ULL(62, 60)
#define GICV5_IRS_SWERR_VIRTUAL   BIT_ULL(63)

/* ---- VM table ------------------------------------------------------------ */

#define GICV5_VMTEL1E_VALID       BIT_ULL(0)
#define GICV5_VMTEL1E_L2_ADDR     GENMASK_ULL(VINTC_GICV5_L1_VMTE_ADDR_HI, 12)
#define GICV5_VMTL2_ENTRIES       128U	/* a 4 KiB L2 (rule D_LSPBK) */
#define GICV5_VMTE_SIZE           32U

/* Word 0 */
#define GICV5_VMTEL2E_VALID       BIT_ULL(0)
#define GICV5_VMTEL2E_VMD_ADDR    GENMASK_ULL(55, 3)
/* Word 1 */
#define GICV5_VMTEL2E_VPET_ADDR   GENMASK_ULL(55, 3)
#define GICV5_VMTEL2E_VPE_ID_BITS GENMASK_ULL(63, 59)
/* Words 2 (LPI IST) and 3 (SPI IST) */
#define GICV5_VMTEL2E_IST_VALID   BIT_ULL(0)
#define GICV5_VMTEL2E_IST_L2SZ    GENMASK_ULL(2, 1)
#define GICV5_VMTEL2E_IST_ADDR    GENMASK_ULL(55, 6)
#define GICV5_VMTEL2E_IST_ISTSZ   GENMASK_ULL(57, 56)
#define GICV5_VMTEL2E_IST_STRUCTURE BIT_ULL(58)
#define GICV5_VMTEL2E_IST_ID_BITS GENMASK_ULL(63, 59)

#define GICV5_VMTE_WORD_VMD       0
#define GICV5_VMTE_WORD_VPET      1
#define GICV5_VMTE_WORD_LPI_IST   2
#define GICV5_VMTE_WORD_SPI_IST   3

#define GICV5_VPETE_VALID         BIT_ULL(0)
#define GICV5_VPETE_VPED_ADDR     GENMASK_ULL(55, VINTC_GICV5_VPED_ADDR_LOW)

/* ---- ICH_CONTEXTR_EL2 ------------------------------------------------------ */

#define ICH_CONTEXTR_EL2_VM       GENMASK_ULL(15, 0)
#define ICH_CONTEXTR_EL2_VPE      GENMASK_ULL(47, 32)
#define ICH_CONTEXTR_EL2_DBPM     GENMASK_ULL(59, 55)
#define ICH_CONTEXTR_EL2_DB       BIT_ULL(60)
#define ICH_CONTEXTR_EL2_IRICHPPIDIS BIT_ULL(61)
#define ICH_CONTEXTR_EL2_F        BIT_ULL(62)
#define ICH_CONTEXTR_EL2_V        BIT_ULL(63)

#endif
