// SPDX-License-Identifier: MIT
/*
 * hw/gicv5_irs: VPE residency on PEs (ICH_CONTEXTR_EL2), doorbells for
 * non-resident VPEs, and the host LPIs they ring.
 */
#include <pthread.h>
#include <unistd.h>

#include "gicv5_irs_util.h"

/* ---- residency ---------------------------------------------------------------------- */

TEST(gicv5_irs_residency_faults)
{
	struct fx fx;
	struct gicv5_irs_stats st;

	fx_init(&fx);
	/* Not a valid VM / VPE. */
	gicv5_pe_write_contextr(fx.irs, 0, ctx(4, 0));
	ASSERT_EQ(gicv5_pe_read_contextr(fx.irs, 0), ctx(4, 0) | ICH_CONTEXTR_EL2_F);
	gicv5_pe_write_contextr(fx.irs, 0, ctx(3, T_NR_VPES));
	ASSERT_EQ(gicv5_pe_read_contextr(fx.irs, 0), ctx(3, T_NR_VPES) | ICH_CONTEXTR_EL2_F);
	gicv5_pe_write_contextr(fx.irs, 0, ctx(0xFFFF, 0xFFFF));
	ASSERT(gicv5_pe_read_contextr(fx.irs, 0) & ICH_CONTEXTR_EL2_F);
	ASSERT_EQ(stats(fx.irs).context_faults, 3);
	/* F written by software is not sticky. */
	gicv5_pe_write_contextr(fx.irs, 0, ctx(3, 0) | ICH_CONTEXTR_EL2_F);
	ASSERT_EQ(gicv5_pe_read_contextr(fx.irs, 0), ctx(3, 0));
	/* Resident elsewhere. */
	gicv5_pe_write_contextr(fx.irs, 1, ctx(3, 0));
	ASSERT(gicv5_pe_read_contextr(fx.irs, 1) & ICH_CONTEXTR_EL2_F);
	ASSERT_EQ(gicv5_pe_ack(fx.irs, 1), -ENOENT);
	/* The same write again on its own PE is fine. */
	make_resident(&fx, 0, 0);
	make_nonresident(&fx, 0, false, 0);
	ASSERT_EQ(gicv5_pe_read_contextr(fx.irs, 0), 0);
	make_resident(&fx, 1, 0);
	/* A new VPE on a PE evicts the old one. */
	make_resident(&fx, 1, 1);
	make_resident(&fx, 0, 0);
	st = stats(fx.irs);
	ASSERT_EQ(st.context_faults, 4);
	ASSERT_EQ(st.doorbells, 0);
}

/* ---- doorbells ------------------------------------------------------------------------ */

TEST(gicv5_irs_doorbell_spi_once_per_period)
{
	struct fx fx;
	uint32_t db;

	fx_init(&fx);
	db = fx.vm.db[1];
	vint(&fx, SPI, 3, 4, 1);
	vint(&fx, SPI, 4, 4, 1);
	vpe_sleep(&fx, 1, 8);
	ASSERT_EQ(hits(db), 0);
	ASSERT_OK(gicv5_irs_inject(fx.irs, 3, SPI, 3));
	ASSERT_EQ(hits(db), 1);
	ASSERT_EQ(state(&fx, SPI, 3) & GICV5_ISTL2E_PENDING, GICV5_ISTL2E_PENDING);
	/* REQ_DB self-cleared: nothing more this period. */
	ASSERT_OK(gicv5_irs_inject(fx.irs, 3, SPI, 4));
	ASSERT_OK(gicv5_irs_inject(fx.irs, 3, SPI, 3));
	ASSERT_EQ(hits(db), 1);
	ASSERT_OK(cmd(fx.irs, GICV5_IRS_VPE_SELR, selr(3, 1)));
	ASSERT_EQ(gicv5_irs_read(fx.irs, GICV5_IRS_VPE_DBR, 8) & GICV5_IRS_VPE_DBR_REQ_DB, 0);
	/* Another period: still pending, so going to sleep fires at once. */
	make_resident(&fx, 2, 1);
	ASSERT_EQ(hits(db), 1);
	make_nonresident(&fx, 2, true, 8);
	ASSERT_EQ(hits(db), 2);
	ASSERT_EQ(stats(fx.irs).doorbells, 2);
	ASSERT_EQ(hits(fx.vm.db[0]) + hits(fx.vm.db[2]) + hits(fx.vm.db[3]), 0);
}

TEST(gicv5_irs_doorbell_lpi_and_targeting)
{
	struct fx fx;

	fx_init(&fx);
	vpe_sleep(&fx, 2, 31);
	vpe_sleep(&fx, 3, 31);
	vint(&fx, LPI, 40, 0, 3);
	ASSERT_OK(gicv5_irs_inject(fx.irs, 3, LPI, 40));
	ASSERT_EQ(hits(fx.vm.db[3]), 1);
	ASSERT_EQ(hits(fx.vm.db[2]), 0);
	ASSERT_OK(gicv5_irs_inject(fx.irs, 3, LPI, 40));
	ASSERT_EQ(hits(fx.vm.db[3]), 1);
	/* Retargeting a pending interrupt at the other sleeping VPE rings it. */
	vint(&fx, LPI, 40, 0, 2);
	ASSERT_EQ(hits(fx.vm.db[2]), 1);
	ASSERT_EQ(hits(fx.vm.db[3]), 1);
}

TEST(gicv5_irs_doorbell_priority_must_reach_dbpm)
{
	struct fx fx;
	uint32_t db;

	fx_init(&fx);
	db = fx.vm.db[0];
	vint(&fx, SPI, 1, 11, 0);
	vint(&fx, SPI, 2, 10, 0);
	vpe_sleep(&fx, 0, 10);
	ASSERT_OK(gicv5_irs_inject(fx.irs, 3, SPI, 1));	/* DBPM + 1 */
	ASSERT_EQ(hits(db), 0);
	ASSERT_OK(gicv5_irs_inject(fx.irs, 3, SPI, 2));	/* priority == DBPM */
	ASSERT_EQ(hits(db), 1);
	/* A later period with a mask that lets the first through, too. */
	ASSERT_EQ(gicv5_pe_ack(fx.irs, 0), -ENOENT);	/* not resident */
	make_resident(&fx, 0, 0);
	ASSERT_EQ(gicv5_pe_ack(fx.irs, 0), (int)(FIELD_PREP(GICV5_INTID_TYPE, SPI) | 2));
	ASSERT_OK(gicv5_pe_eoi(fx.irs, 0, (uint32_t)(FIELD_PREP(GICV5_INTID_TYPE, SPI) | 2)));
	make_nonresident(&fx, 0, true, 10);
	ASSERT_EQ(hits(db), 1);
	make_resident(&fx, 0, 0);
	make_nonresident(&fx, 0, true, 11);
	ASSERT_EQ(hits(db), 2);
	/* DBPM 0 lets only priority 0 through. */
	make_resident(&fx, 0, 0);
	ASSERT_EQ(gicv5_pe_ack(fx.irs, 0), (int)(FIELD_PREP(GICV5_INTID_TYPE, SPI) | 1));
	vint(&fx, SPI, 5, 1, 0);
	make_nonresident(&fx, 0, true, 0);
	ASSERT_OK(gicv5_irs_inject(fx.irs, 3, SPI, 5));
	ASSERT_EQ(hits(db), 2);
}

TEST(gicv5_irs_doorbell_not_when_disabled_then_enable_fires)
{
	struct fx fx;
	uint32_t db;

	fx_init(&fx);
	db = fx.vm.db[1];
	ASSERT_OK(gicv5_irs_vint_config(fx.irs, 3, SPI, 7, false, 2, 1));
	vpe_sleep(&fx, 1, 16);
	ASSERT_OK(gicv5_irs_inject(fx.irs, 3, SPI, 7));
	ASSERT_EQ(hits(db), 0);
	ASSERT_EQ(state(&fx, SPI, 7), GICV5_ISTL2E_PENDING | FIELD_PREP(GICV5_ISTL2E_PRIORITY, 2) |
		  FIELD_PREP(GICV5_ISTL2E_IAFFID, 1));
	/* Lowering the priority below the mask does not ring, raising it does. */
	ASSERT_OK(gicv5_irs_vint_config(fx.irs, 3, SPI, 7, true, 20, 1));
	ASSERT_EQ(hits(db), 0);
	ASSERT_OK(gicv5_irs_vint_config(fx.irs, 3, SPI, 7, true, 2, 1));
	ASSERT_EQ(hits(db), 1);
}

TEST(gicv5_irs_doorbell_not_when_active)
{
	struct fx fx;
	uint32_t db, intid = (uint32_t)(FIELD_PREP(GICV5_INTID_TYPE, LPI) | 12);

	fx_init(&fx);
	db = fx.vm.db[2];
	vint(&fx, LPI, 12, 3, 2);
	make_resident(&fx, 3, 2);
	ASSERT_OK(gicv5_irs_inject(fx.irs, 3, LPI, 12));
	ASSERT_EQ(gicv5_pe_ack(fx.irs, 3), (int)intid);
	/* Active and pending again: still not deliverable. */
	ASSERT_OK(gicv5_irs_inject(fx.irs, 3, LPI, 12));
	make_nonresident(&fx, 3, true, 31);
	ASSERT_EQ(hits(db), 0);
	ASSERT_EQ(state(&fx, LPI, 12) & (GICV5_ISTL2E_ACTIVE | GICV5_ISTL2E_PENDING),
		  GICV5_ISTL2E_ACTIVE | GICV5_ISTL2E_PENDING);
	/* Still armed: a different interrupt rings it. */
	vint(&fx, LPI, 13, 3, 2);
	ASSERT_OK(gicv5_irs_inject(fx.irs, 3, LPI, 13));
	ASSERT_EQ(hits(db), 1);
}

TEST(gicv5_irs_doorbell_needs_dbv_and_request)
{
	struct fx fx;
	uint32_t db;

	fx_init(&fx);
	db = fx.vm.db[0];
	vint(&fx, SPI, 1, 1, 0);
	vint(&fx, SPI, 2, 1, 0);
	/* No request: DB = 0 on the way out. */
	make_resident(&fx, 0, 0);
	make_nonresident(&fx, 0, false, 31);
	ASSERT_OK(gicv5_irs_inject(fx.irs, 3, SPI, 1));
	ASSERT_EQ(hits(db), 0);
	/* No DBV: the request waits. */
	ASSERT_OK(cmd(fx.irs, GICV5_IRS_VPE_SELR, selr(3, 0)));
	ASSERT_OK(cmd(fx.irs, GICV5_IRS_VPE_DBR, FIELD_PREP(GICV5_IRS_VPE_DBR_INTID, db) |
		      FIELD_PREP(GICV5_IRS_VPE_DBR_DBPM, 31) | GICV5_IRS_VPE_DBR_REQ_DB));
	ASSERT_EQ(hits(db), 0);
	ASSERT_OK(gicv5_irs_inject(fx.irs, 3, SPI, 2));
	ASSERT_EQ(hits(db), 0);
	ASSERT(gicv5_irs_read(fx.irs, GICV5_IRS_VPE_DBR, 8) & GICV5_IRS_VPE_DBR_REQ_DB);
	/* DBV = 1 with REQ_DB = 0 keeps the request and evaluates it. */
	ASSERT_OK(cmd(fx.irs, GICV5_IRS_VPE_DBR, FIELD_PREP(GICV5_IRS_VPE_DBR_INTID, db) |
		      FIELD_PREP(GICV5_IRS_VPE_DBR_DBPM, 31) | GICV5_IRS_VPE_DBR_DBV));
	ASSERT_EQ(hits(db), 1);
	ASSERT_EQ(gicv5_irs_read(fx.irs, GICV5_IRS_VPE_DBR, 8) & GICV5_IRS_VPE_DBR_REQ_DB, 0);
}

TEST(gicv5_irs_doorbell_req_db_via_vpe_dbr)
{
	struct fx fx;
	uint32_t db;
	uint64_t dbr;

	fx_init(&fx);
	db = fx.vm.db[3];
	dbr = FIELD_PREP(GICV5_IRS_VPE_DBR_INTID, db) | FIELD_PREP(GICV5_IRS_VPE_DBR_DBPM, 5) |
	      GICV5_IRS_VPE_DBR_DBV | GICV5_IRS_VPE_DBR_REQ_DB;
	vint(&fx, LPI, 60, 4, 3);
	/* A never-run VPE: the request alone is enough. */
	ASSERT_OK(cmd(fx.irs, GICV5_IRS_VPE_SELR, selr(3, 3)));
	ASSERT_OK(cmd(fx.irs, GICV5_IRS_VPE_DBR, dbr));
	ASSERT_EQ(gicv5_irs_read(fx.irs, GICV5_IRS_VPE_DBR, 8), dbr);
	ASSERT_OK(gicv5_irs_inject(fx.irs, 3, LPI, 60));
	ASSERT_EQ(hits(db), 1);
	ASSERT_EQ(gicv5_irs_read(fx.irs, GICV5_IRS_VPE_DBR, 8), dbr & ~GICV5_IRS_VPE_DBR_REQ_DB);
	/* Already pending: a new request fires on the DBR write itself. */
	ASSERT_OK(cmd(fx.irs, GICV5_IRS_VPE_DBR, dbr));
	ASSERT_EQ(hits(db), 2);
	/* A request pending when the VPE becomes resident is dropped... */
	ASSERT_OK(cmd(fx.irs, GICV5_IRS_VPE_DBR, dbr & ~GICV5_IRS_VPE_DBR_DBV));
	ASSERT(gicv5_irs_read(fx.irs, GICV5_IRS_VPE_DBR, 8) & GICV5_IRS_VPE_DBR_REQ_DB);
	make_resident(&fx, 1, 3);
	ASSERT_EQ(gicv5_irs_read(fx.irs, GICV5_IRS_VPE_DBR, 8), dbr & ~(GICV5_IRS_VPE_DBR_DBV |
		  GICV5_IRS_VPE_DBR_REQ_DB));
	/* ...one made while resident waits, and fires when it leaves. */
	ASSERT_OK(cmd(fx.irs, GICV5_IRS_VPE_DBR, dbr));
	ASSERT_EQ(hits(db), 2);
	make_nonresident(&fx, 1, false, 0);
	ASSERT_EQ(hits(db), 3);
}

TEST(gicv5_irs_doorbell_never_for_resident_vpe)
{
	struct fx fx;
	uint32_t db;

	fx_init(&fx);
	db = fx.vm.db[1];
	vint(&fx, SPI, 10, 0, 1);
	vpe_sleep(&fx, 1, 31);
	make_resident(&fx, 2, 1);
	ASSERT_OK(gicv5_irs_inject(fx.irs, 3, SPI, 10));
	ASSERT_OK(cmd(fx.irs, GICV5_IRS_VPE_SELR, selr(3, 1)));
	ASSERT_OK(cmd(fx.irs, GICV5_IRS_VPE_DBR, FIELD_PREP(GICV5_IRS_VPE_DBR_INTID, db) |
		      FIELD_PREP(GICV5_IRS_VPE_DBR_DBPM, 31) | GICV5_IRS_VPE_DBR_DBV |
		      GICV5_IRS_VPE_DBR_REQ_DB));
	ASSERT_EQ(hits(db), 0);
	ASSERT_EQ(stats(fx.irs).doorbells, 0);
	/* It sees the interrupt directly instead. */
	ASSERT_EQ(gicv5_pe_ack(fx.irs, 2), (int)(FIELD_PREP(GICV5_INTID_TYPE, SPI) | 10));
}

/* A handler that calls back into the model must not deadlock it. */
static struct gicv5_irs *reentrant_irs;

static void db_reentrant(uint32_t lpi, void *arg)
{
	(void)arg;
	__atomic_add_fetch(&db_hits[lpi], 1, __ATOMIC_SEQ_CST);
	gicv5_pe_write_contextr(reentrant_irs, 3, ctx(3, 0));
}

TEST(gicv5_irs_doorbell_handler_may_reenter)
{
	struct fx fx;

	fx_init(&fx);
	reentrant_irs = fx.irs;
	ASSERT_OK(host_lpi_request(fx.vm.db[0], db_reentrant, NULL));
	vint(&fx, SPI, 1, 1, 0);
	vpe_sleep(&fx, 0, 31);
	ASSERT_OK(gicv5_irs_inject(fx.irs, 3, SPI, 1));
	ASSERT_EQ(hits(fx.vm.db[0]), 1);
	ASSERT_EQ(gicv5_pe_read_contextr(fx.irs, 3), ctx(3, 0));
}

/* ---- host LPIs ------------------------------------------------------------------------- */

static void lpi_count(uint32_t lpi, void *arg)
{
	(void)lpi;
	__atomic_add_fetch((unsigned int *)arg, 1, __ATOMIC_SEQ_CST);
}

TEST(gicv5_irs_host_lpi_alloc_request_raise)
{
	uint32_t a, b, c;
	unsigned int na = 0, nb = 0;
	uint32_t base = host_lpi_outstanding();

	ASSERT_OK(host_lpi_alloc(&a));
	ASSERT_OK(host_lpi_alloc(&b));
	ASSERT(a != 0 && b != 0 && a != b);
	ASSERT(a < (1U << HOST_LPI_ID_BITS) && b < (1U << HOST_LPI_ID_BITS));
	ASSERT_EQ(host_lpi_outstanding(), base + 2);
	ASSERT_EQ(host_lpi_raise(a), -ENOENT);		/* no handler yet */
	ASSERT_OK(host_lpi_request(a, lpi_count, &na));
	ASSERT_OK(host_lpi_request(b, lpi_count, &nb));
	ASSERT_OK(host_lpi_raise(a));
	ASSERT_OK(host_lpi_raise(a));
	ASSERT_OK(host_lpi_raise(b));
	ASSERT_EQ(na, 2);
	ASSERT_EQ(nb, 1);
	ASSERT_OK(host_lpi_request(a, NULL, NULL));	/* detach */
	ASSERT_EQ(host_lpi_raise(a), -ENOENT);
	ASSERT_EQ(na, 2);
	host_lpi_free(b);
	ASSERT_EQ(host_lpi_raise(b), -ENOENT);
	ASSERT_EQ(host_lpi_request(b, lpi_count, &nb), -ENOENT);
	ASSERT_EQ(host_lpi_outstanding(), base + 1);
	host_lpi_free(b);			/* twice: ignored */
	host_lpi_free(0);
	host_lpi_free(1U << HOST_LPI_ID_BITS);
	ASSERT_EQ(host_lpi_raise(0), -ENOENT);
	ASSERT_EQ(host_lpi_raise(0xFFFFFFFF), -ENOENT);
	ASSERT_EQ(host_lpi_request(0x10000, lpi_count, &nb), -ENOENT);
	ASSERT_EQ(host_lpi_outstanding(), base + 1);
	/* The fault site. */
	host_fault_arm_site("host.lpi", 0);
	ASSERT_EQ(host_lpi_alloc(&c), -ENOMEM);
	host_fault_disarm();
	ASSERT_EQ(host_lpi_outstanding(), base + 1);
	host_lpi_free(a);
	ASSERT_EQ(host_lpi_outstanding(), base);
}

TEST(gicv5_irs_host_lpi_exhaustion)
{
	uint32_t lpi, first = 0, n = 0;

	while (!host_lpi_alloc(&lpi)) {
		if (!first)
			first = lpi;
		n++;
	}
	ASSERT_EQ(n, (1U << HOST_LPI_ID_BITS) - 1);
	ASSERT_EQ(host_lpi_alloc(&lpi), -ENOSPC);
	host_lpi_free(first);
	ASSERT_OK(host_lpi_alloc(&lpi));
	ASSERT_EQ(lpi, first);
}

static struct {
	unsigned int entered, left;
} slow;

static void lpi_slow(uint32_t lpi, void *arg)
{
	(void)lpi;
	(void)arg;
	__atomic_store_n(&slow.entered, 1, __ATOMIC_SEQ_CST);
	usleep(100 * 1000);
	__atomic_store_n(&slow.left, 1, __ATOMIC_SEQ_CST);
}

static void *raise_thread(void *arg)
{
	host_lpi_raise(*(uint32_t *)arg);
	return NULL;
}

TEST(gicv5_irs_host_lpi_free_waits_for_running_handler)
{
	uint32_t lpi;
	pthread_t t;

	ASSERT_OK(host_lpi_alloc(&lpi));
	ASSERT_OK(host_lpi_request(lpi, lpi_slow, NULL));
	ASSERT_OK(pthread_create(&t, NULL, raise_thread, &lpi));
	while (!__atomic_load_n(&slow.entered, __ATOMIC_SEQ_CST))
		usleep(100);
	host_lpi_free(lpi);
	/* Free returned: the handler has finished. */
	ASSERT_EQ(__atomic_load_n(&slow.left, __ATOMIC_SEQ_CST), 1);
	pthread_join(t, NULL);
	ASSERT_EQ(host_lpi_raise(lpi), -ENOENT);
}
