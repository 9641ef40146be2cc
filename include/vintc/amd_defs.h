/* SPDX-License-Identifier: MIT */
/*
 * AMD AVIC architectural layouts, as named masks.  One header for the
 * architecture: VMCB AVIC fields, the physical and logical APIC ID tables,
 * the vAPIC backing page, the GA tag, exit codes, MSRs and CPUID bits.
 * Every mask here is checked against ../shared/reference/avic.md by
 * tests/test_amd_layout.c.
 */
#ifndef VINTC_AMD_DEFS_H
#define VINTC_AMD_DEFS_H

#include <stdint.h>

#include <vintc/host.h>

/* ---- VMCB control area (offsets into the control area) ---------------- */

#define VMCB_OFF_INT_CTL               0x060
#define VMCB_OFF_CLEAN                 0x0C0
#define VMCB_OFF_AVIC_APIC_BAR         0x098
#define VMCB_OFF_AVIC_BACKING_PAGE     0x0E0
#define VMCB_OFF_AVIC_LOGICAL_ID       0x0F0
#define VMCB_OFF_AVIC_PHYSICAL_ID      0x0F8

#define VMCB_INT_CTL_AVIC_ENABLE       BIT_ULL(31)
#define VMCB_INT_CTL_X2APIC_MODE       BIT_ULL(30)

/* Clean bit 11 covers APIC BAR, backing page, logical and physical table. */
#define VMCB_CLEAN_AVIC                BIT_ULL(11)

/* The AVIC part of the VMCB control area, at its architectural offsets. */
struct vmcb_avic_control {
	uint8_t  reserved_000[VMCB_OFF_INT_CTL];
	uint32_t int_ctl;
	uint8_t  reserved_064[VMCB_OFF_AVIC_APIC_BAR - VMCB_OFF_INT_CTL - 4];
	uint64_t avic_apic_bar;
	uint8_t  reserved_0a0[VMCB_OFF_CLEAN - VMCB_OFF_AVIC_APIC_BAR - 8];
	uint32_t clean;		/* 1 = unchanged since the last VMRUN */
	uint8_t  reserved_0c4[VMCB_OFF_AVIC_BACKING_PAGE - VMCB_OFF_CLEAN - 4];
	uint64_t avic_backing_page;
	uint64_t reserved_0e8;
	uint64_t avic_logical_id;
	uint64_t avic_physical_id;
};

_Static_assert(__builtin_offsetof(struct vmcb_avic_control, int_ctl) == VMCB_OFF_INT_CTL, "int_ctl");
_Static_assert(__builtin_offsetof(struct vmcb_avic_control, avic_apic_bar) == VMCB_OFF_AVIC_APIC_BAR, "bar");
_Static_assert(__builtin_offsetof(struct vmcb_avic_control, clean) == VMCB_OFF_CLEAN, "clean");
_Static_assert(__builtin_offsetof(struct vmcb_avic_control, avic_backing_page) == VMCB_OFF_AVIC_BACKING_PAGE, "backing");
_Static_assert(__builtin_offsetof(struct vmcb_avic_control, avic_logical_id) == VMCB_OFF_AVIC_LOGICAL_ID, "logical");
_Static_assert(__builtin_offsetof(struct vmcb_avic_control, avic_physical_id) == VMCB_OFF_AVIC_PHYSICAL_ID, "physical");

#define AVIC_APIC_BAR_DEFAULT          0xFEE00000ULL
#define VMCB_AVIC_ADDR_MASK            GENMASK_ULL(51, 12)
/* Low 12 bits of the physical-table pointer: the highest valid index. */
#define VMCB_AVIC_PHYSICAL_MAX_INDEX   GENMASK_ULL(11, 0)

/* ---- physical APIC ID table entry (u64, indexed by guest APIC ID) ----- */

#define AVIC_PHYSICAL_ID_ENTRY_HOST_PHYSICAL_ID  GENMASK_ULL(11, 0)
#define AVIC_PHYSICAL_ID_ENTRY_BACKING_PAGE      GENMASK_ULL(51, 12)
/* Software-only: kept in the hypervisor's shadow, never in the table. */
#define AVIC_PHYSICAL_ID_ENTRY_GA_LOG_INTR       BIT_ULL(61)
#define AVIC_PHYSICAL_ID_ENTRY_IS_RUNNING        BIT_ULL(62)
#define AVIC_PHYSICAL_ID_ENTRY_VALID             BIT_ULL(63)

/* Largest guest physical APIC ID per CPU model (0xFF is xAPIC broadcast). */
#define AVIC_MAX_PHYSICAL_ID           0x0FEU
#define X2AVIC_MAX_PHYSICAL_ID         0x1FFU
#define X2AVIC_4K_MAX_PHYSICAL_ID      0xFFFU

/* ---- logical APIC ID table entry (u32; one 4 KiB page per VM) ---------- */

#define AVIC_LOGICAL_ID_ENTRY_GUEST_PHYSICAL_ID  GENMASK_ULL(7, 0)
#define AVIC_LOGICAL_ID_ENTRY_VALID              BIT_ULL(31)
#define AVIC_LOGICAL_ID_TABLE_ENTRIES            1024U

#define APIC_DFR_FLAT                  0xFFFFFFFFU
#define APIC_DFR_CLUSTER               0x0FFFFFFFU
#define APIC_LDR_LOGICAL_ID            GENMASK_ULL(31, 24)
/* Flat: index = bit number of a one-hot logical ID (0..7). */
#define AVIC_LOGICAL_FLAT_MAX_INDEX    7U
/* Cluster: index = (cluster << 2) + bit, cluster < 0xF (0..59). */
#define AVIC_LOGICAL_CLUSTER_MAX_INDEX 59U

/* ---- GA tag: opaque to hardware, the hypervisor's (vm_id, vcpu index) -- */

#define AVIC_VM_ID_BITS                20
#define AVIC_VCPU_IDX_BITS             12
#define AVIC_GATAG_VM_ID               GENMASK_ULL(31, 12)
#define AVIC_GATAG_VCPU_IDX            GENMASK_ULL(11, 0)
#define AVIC_VM_ID_MAX                 ((1U << AVIC_VM_ID_BITS) - 1)

static inline uint32_t avic_gatag(uint32_t vm_id, uint32_t vcpu_idx)
{
	return (uint32_t)(FIELD_PREP(AVIC_GATAG_VM_ID, vm_id) |
			  FIELD_PREP(AVIC_GATAG_VCPU_IDX, vcpu_idx));
}

/* ---- vAPIC backing page: 32-bit registers on a 16-byte stride ---------- */

#define APIC_ID        0x020
#define APIC_LVR       0x030
#define APIC_TASKPRI   0x080
#define APIC_ARBPRI    0x090
#define APIC_PROCPRI   0x0A0
#define APIC_EOI       0x0B0
#define APIC_RRR       0x0C0
#define APIC_LDR       0x0D0
#define APIC_DFR       0x0E0
#define APIC_SPIV      0x0F0
#define APIC_ISR       0x100
#define APIC_TMR       0x180
#define APIC_IRR       0x200
#define APIC_ESR       0x280
#define APIC_ICR       0x300
#define APIC_ICR2      0x310
#define APIC_LVTT      0x320
#define APIC_LVTTHMR   0x330
#define APIC_LVTPC     0x340
#define APIC_LVT0      0x350
#define APIC_LVT1      0x360
#define APIC_LVTERR    0x370
#define APIC_TMICT     0x380
#define APIC_TMCCT     0x390
#define APIC_TDCR      0x3E0
#define APIC_SELF_IPI  0x3F0	/* x2APIC only (MSR 0x83F), write-only */

/* IA32_APIC_BASE (MSR 0x1B) */
#define MSR_IA32_APICBASE              0x1BU
#define MSR_IA32_APICBASE_BSP          BIT_ULL(8)
#define MSR_IA32_APICBASE_EXTD         BIT_ULL(10)	/* x2APIC mode */
#define MSR_IA32_APICBASE_ENABLE       BIT_ULL(11)
#define X2APIC_MSR_FIRST               0x800U
#define X2APIC_MSR_LAST                0x8FFU

/* Offset of the word holding vector v in a 256-bit register (ISR/TMR/IRR). */
#define APIC_VECTOR_WORD(base, v)      ((base) + (((v) >> 5) << 4))
#define APIC_VECTOR_BIT(v)             ((v) & 31U)
#define APIC_X2APIC_MSR(offset)        (0x800U + ((offset) >> 4))

#define APIC_ICR_VECTOR                GENMASK_ULL(7, 0)
#define APIC_ICR_DELIVERY_MODE         GENMASK_ULL(10, 8)
#define APIC_ICR_DEST_LOGICAL          BIT_ULL(11)
#define APIC_ICR_BUSY                  BIT_ULL(12)
#define APIC_ICR_LEVEL_ASSERT          BIT_ULL(14)
#define APIC_ICR_TRIGGER_LEVEL         BIT_ULL(15)
#define APIC_ICR_SHORTHAND             GENMASK_ULL(19, 18)
#define APIC_ICR2_XAPIC_DEST           GENMASK_ULL(31, 24)

#define APIC_DM_FIXED   0
#define APIC_DM_LOWEST  1
#define APIC_DM_SMI     2
#define APIC_DM_NMI     4
#define APIC_DM_INIT    5
#define APIC_DM_STARTUP 6

#define APIC_SH_NONE    0
#define APIC_SH_SELF    1
#define APIC_SH_ALL     2
#define APIC_SH_OTHERS  3

#define APIC_LVT_MASKED                BIT_ULL(16)
#define APIC_SPIV_APIC_ENABLED         BIT_ULL(8)
#define APIC_SPIV_FOCUS_DISABLED       BIT_ULL(9)
#define APIC_SPIV_DIRECTED_EOI         BIT_ULL(12)	/* EOI-broadcast suppression */
#define APIC_XAPIC_ID                  GENMASK_ULL(31, 24)
/* Version 0x14 (integrated APIC), six LVT entries (max index 5). */
#define APIC_LVR_VALUE                 (0x14U | (5U << 16))
#define APIC_LVR_DIRECTED_EOI          BIT_ULL(24)	/* SVR bit 12 supported */

static inline uint32_t *apic_reg(void *page, unsigned int offset)
{
	return (uint32_t *)((char *)page + offset);
}

/* ---- exits, MSRs, CPUID ------------------------------------------------ */

#define SVM_EXIT_AVIC_INCOMPLETE_IPI       0x401
#define SVM_EXIT_AVIC_UNACCELERATED_ACCESS 0x402

#define AVIC_IPI_FAILURE_INVALID_INT_TYPE     0
#define AVIC_IPI_FAILURE_TARGET_NOT_RUNNING   1
#define AVIC_IPI_FAILURE_INVALID_TARGET       2
#define AVIC_IPI_FAILURE_INVALID_BACKING_PAGE 3
#define AVIC_IPI_FAILURE_INVALID_IPI_VECTOR   4

#define MSR_AMD64_SVM_AVIC_DOORBELL    0xC001011BU

#define CPUID_8000_000A_EDX_AVIC       BIT_ULL(13)
#define CPUID_8000_000A_EDX_X2AVIC     BIT_ULL(18)
#define CPUID_8000_000A_ECX_X2AVIC_EXT BIT_ULL(6)

#endif
