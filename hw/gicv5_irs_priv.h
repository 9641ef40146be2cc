/* SPDX-License-Identifier: MIT */
/*
 * The software IRS's own encodings: choices of the model, not of the
 * architecture, kept here so that tests can name them.
 */
#ifndef VINTC_HW_GICV5_IRS_PRIV_H
#define VINTC_HW_GICV5_IRS_PRIV_H

/*
 * IRS_SWERR_SYNDROMER0.TYPE of a faulted command (VIRTUAL is always 1,
 * VM_ID is the command's VM ID, ID the VPE ID or INTID it named, if any).
 * The register holds the most recent fault; reading does not clear it.
 */
#define IRS_SWERR_INJECTED   1	/* the "irs.<REG>" fault site fired */
#define IRS_SWERR_BAD_CMD    2	/* M = 0, unknown TYPE, wrong VMT/vIST structure */
#define IRS_SWERR_BAD_ID     3	/* VM, VPE or interrupt ID beyond its table */
#define IRS_SWERR_BAD_ADDR   4	/* a table or descriptor address does not translate */
#define IRS_SWERR_BAD_CFG    5	/* a size or ID_BITS field out of range */
#define IRS_SWERR_BAD_STATE  6	/* VALID already set / not set, a VPE resident */

/* What VMAP_VMR writes at the start of the VMD of a VM it maps (ORed with
 * the VM ID) and clears again when it unmaps the VM. */
#define IRS_VMD_SIGNATURE    0x564d440000000000ULL	/* "VMD" */

/* First 32 bits of a VPED that VMAP_VPER initialised. */
#define IRS_VPED_MAGIC       0x56504544U		/* "VPED" */

#endif
