/*
 * SPDX-License-Identifier: MIT
 *
 * gicv5_doorbell.pml - GICv5 VPE residency and the one-shot doorbell as
 * vintc implements them.
 *
 * One VPE (the target vCPU) and two devices, each injecting one virtual
 * LPI (hw/gicv5_irs.c gicv5_irs_inject).  Each interrupt is enabled and
 * targets the VPE; its priority is chosen by the model checker: DBPM
 * (must ring) or DBPM + 1 (masked: must neither wake nor be taken).  The
 * guest's virtual CPU interface is on with VPMR = MASK - 1 and nothing
 * active, so hyp/vgic_v5.c vgic_v5_doorbell_dbpm() gives
 * DBPM = MASK - 1 and the guest takes priorities below MASK.
 *
 * The target runs its guest (resident: the PE acknowledges its interrupts,
 * sim/sim.c vcpu_take_irq -> gicv5_pe_ack / gicv5_pe_eoi), halts through
 * hyp/vm.c vcpu_block with the GICv5 hooks (hyp/vgic_v5.c
 * vgic_v5_vcpu_blocking -> vgic_v5_make_nonresident(wfi = true),
 * vgic_v5_vcpu_unblocking -> vgic_v5_vcpu_load -> vgic_v5_make_resident)
 * up to MAXHALT times, and can be preempted (vcpu_put -> vgic_v5_vcpu_put
 * -> vgic_v5_make_nonresident(wfi = false); vcpu_load -> vgic_v5_vcpu_load).
 * Doorbells are raised after the IRS lock is dropped, in the thread that
 * made them fire (hw/gicv5_irs.c irs_fire_flush -> host/irq.c
 * host_lpi_raise -> hyp/vgic_v5.c db_handler), which is the target itself
 * when its own ICH_CONTEXTR_EL2 write fires one.
 *
 * Properties:
 *  - no lost wake-up: when nothing can move any more (Promela `timeout`),
 *    no interrupt that should wake the VPE (pending, enabled, priority
 *    below MASK) is still pending.  With the VPE resident in the guest
 *    the PE would take it, so one left over means the VPE sleeps
 *    non-resident with no doorbell owed to it;
 *  - one-shot: the IRS fires the VPE's doorbell at most once per
 *    non-resident period (asserted where it fires).
 * Every reachable state is checked (pan -DSAFETY, exhaustive).
 *
 * Memory model: as in avic_delivery.pml.  Each thread's stores go through
 * a FIFO store buffer that `memory` drains at any time; host_mb() waits
 * for the buffer to drain; the wake sequence bump (a seq_cst RMW) drains
 * it first.  Everything the IRS does happens under its model lock
 * (irs->lock), which the model turns into one atomic step per call;
 * taking that lock is not a fence for the caller's own earlier stores.
 *
 * Variants (cpp macros):
 *   BROKEN_CLEAR_LATE     db_fired is cleared after the ICH_CONTEXTR_EL2
 *                         write instead of before it, so a doorbell that
 *                         fires during or right after the write is wiped
 *                         (hyp/vgic_v5.c vgic_v5_make_nonresident)
 *   BROKEN_NOMB           no host_mb() between clearing db_fired and the
 *                         ICH_CONTEXTR_EL2 write: the clear can land after
 *                         a device's doorbell handler set the flag
 *   BROKEN_NO_REARM       the blocking put requests the doorbell only the
 *                         first time, as if the request persisted (it does
 *                         not: it self-clears when it fires and
 *                         irs_pe_load clears it on residency)
 *   BROKEN_STRICT_DBPM    the IRS rings only for priority < DBPM instead
 *                         of <= DBPM (hw/gicv5_irs.c irs_db_beats)
 *   BROKEN_NO_SELFCLEAR   the IRS leaves REQ_DB set when the doorbell
 *                         fires (hw/gicv5_irs.c irs_db_fire): more than
 *                         one doorbell per non-resident period
 *   PREEMPT_IN_BLOCKING   also preempt the thread between hyp/vm.c
 *                         vcpu_blocking's store of blocking = 1 and the
 *                         GICv5 blocking hook
 *   BROKEN_PUT_NO_DOORBELL  with PREEMPT_IN_BLOCKING: vgic_v5_vcpu_put
 *                         never requests a doorbell, as hyp/vgic_v5.c did
 *                         before this model found the lost wake-up (see
 *                         README); the C code now passes vcpu->blocking,
 *                         as hyp/avic.c avic_vcpu_put does for GALogIntr
 */

#ifndef MAXHALT
#define MAXHALT 3		/* WFIs (-> vcpu_block) per run */
#endif
#ifndef MAXPREEMPT
#define MAXPREEMPT 2		/* preemptions per run */
#endif

#define MASK	2		/* min(active priority, VPMR + 1) */
#define DBPM	(MASK - 1)	/* vgic_v5_doorbell_dbpm(): mask - 1 */
#define DBPM_LOWEST 3		/* VPE_DBR from vpe_init (model scale) */

#define V_BLOCKING	1	/* vcpu->blocking */
#define V_DB_FIRED	2	/* vgic_v5_vcpu->db_fired */

/* ---- the IRS (hw/gicv5_irs.c), changed only under irs->lock ------------- */
bit irs_res;		/* VPED_RESIDENT */
bit req_db;		/* VPED_REQ_DB (DBV is set: vpe_init wrote VPE_DBR) */
byte dbpm;		/* irs_vped.dbpm */
bit pend[2];		/* ISTE PENDING of the two LPIs (ENABLE set, never ACTIVE) */
byte prio[2];		/* ISTE PRIORITY */
byte fires;		/* doorbells fired in this non-resident period */

/* ---- hypervisor memory --------------------------------------------------- */
bit db_fired;		/* vgic_v5_vcpu->db_fired */
bit blocking;		/* vcpu->blocking */
byte wake_seq;		/* vcpu->wake_seq */
bit sleeping;		/* queued in host_futex_wait */

chan tsb = [3] of { byte, byte };	/* target thread */
chan dsb0 = [1] of { byte, byte };	/* device 0's thread (its db_handler) */
chan dsb1 = [1] of { byte, byte };	/* device 1's thread */

inline mem_store(var, val)
{
	if
	:: var == V_BLOCKING -> blocking = val
	:: var == V_DB_FIRED -> db_fired = val
	fi
}

active proctype memory()
{
	byte var, val;

end_mem:
	do
	:: atomic { tsb?var, val -> mem_store(var, val); var = 0; val = 0 }
	:: atomic { dsb0?var, val -> mem_store(var, val); var = 0; val = 0 }
	:: atomic { dsb1?var, val -> mem_store(var, val); var = 0; val = 0 }
	od
}

/* irs_db_beats(): "priority higher than DBPM", inclusive */
#ifdef BROKEN_STRICT_DBPM
#define BEATS(p)	((p) < dbpm)
#else
#define BEATS(p)	((p) <= dbpm)
#endif
/* irs_db_armed(): non-resident, DBV, REQ_DB */
#define ARMED		(!irs_res && req_db)
/* should wake / would be taken: pending and not masked */
#define WAKEABLE(i)	(pend[i] && prio[i] < MASK)

/*
 * irs_db_fire(): REQ_DB self-clears, one doorbell per request; the LPI is
 * raised after the lock is dropped (the caller's `fire`).
 */
#ifdef BROKEN_NO_SELFCLEAR
#define DB_FIRE(fire) \
	assert(fires == 0);	/* one-shot: a second doorbell this period */ \
	fires++; fire = 1
#else
#define DB_FIRE(fire) \
	assert(fires == 0);	/* one-shot: a second doorbell this period */ \
	req_db = 0; fires++; fire = 1
#endif

/*
 * hyp/vgic_v5.c db_handler() on the thread that raised the LPI
 * (sb = its store buffer):
 *   store_release(&v->db_fired, 1); store_release(&v->irq_pending_req, 1);
 *   vcpu_wake(vcpu): __atomic_add_fetch(&wake_seq, 1, SEQ_CST) (drains sb);
 *   host_mb(); if (load_acquire(&blocking)) host_futex_wake(...)
 */
inline db_handler(sb)
{
	sb!V_DB_FIRED, 1;
	atomic { empty(sb) -> wake_seq++ };
	if
	:: blocking -> sleeping = 0
	:: else -> skip
	fi
}

/* A device: hw/gicv5_irs.c gicv5_irs_inject() for LPI i, then the doorbell. */
proctype device(byte i; chan sb)
{
	bit fire;

	/*
	 * Under irs->lock: iste |= PENDING; irs_db_eval_int(): the ISTE is
	 * ready, its IAFFID is our VPE; if irs_db_armed(v) && irs_db_beats()
	 * then irs_db_fire().
	 */
	atomic {
		pend[i] = 1;
		if
		:: ARMED && BEATS(prio[i]) -> DB_FIRE(fire)
		:: else -> skip
		fi
	};
	/* irs_fire_flush() -> host_lpi_raise() -> db_handler() */
	if
	:: fire -> fire = 0; db_handler(sb)
	:: else -> skip
	fi
}

init
{
	/* vint_config before the run: each LPI gets a priority */
	atomic {
		if
		:: prio[0] = DBPM
		:: prio[0] = DBPM + 1
		fi;
		if
		:: prio[1] = DBPM
		:: prio[1] = DBPM + 1
		fi;
		/*
		 * vpe_init wrote VPE_DBR {DBPM = lowest, REQ_DB, DBV}; the first
		 * vcpu_load made the VPE resident (irs_pe_load clears REQ_DB).
		 */
		irs_res = 1; req_db = 0; dbpm = DBPM_LOWEST;
		run target();
		run device(0, dsb0);
		run device(1, dsb1);
		run lost_wakeup_check()
	}
}

proctype target()
{
	bit v_res = 1;		/* vgic_v5_vcpu->resident */
	bit sh_blocking;	/* own view of vcpu->blocking */
	bit wfi, fire;
	byte seq, halts, preempts;
	bit requested;		/* BROKEN_NO_REARM only */

	/*
	 * hyp/vgic_v5.c vgic_v5_make_nonresident(vcpu, wfi):
	 *   dbpm = wfi ? vgic_v5_doorbell_dbpm() : -1;
	 *   if (!v->resident) return;
	 *   store_release(&v->db_fired, 0); v->resident = false; host_mb();
	 *   gicv5_pe_write_contextr(V = 0 [| DB | DBPM]) -> irs_pe_evict():
	 *       RESIDENT cleared; DB: REQ_DB set, dbpm = DBPM;
	 *       irs_db_eval_vpe(): HPPI ready and beats DBPM -> irs_db_fire()
	 *   then irs_fire_flush() raises the doorbell on this thread.
	 */
#ifdef BROKEN_NO_REARM
#define REQUEST_DB(wfi)	(wfi && !requested)
#define NOTE_REQUEST(wfi) if :: wfi -> requested = 1 :: else -> skip fi
#else
#define REQUEST_DB(wfi)	(wfi)
#define NOTE_REQUEST(wfi) skip
#endif
#ifdef BROKEN_CLEAR_LATE
#define CLEAR_EARLY()	skip
#define CLEAR_LATE()	tsb!V_DB_FIRED, 0
#else
#define CLEAR_EARLY()	tsb!V_DB_FIRED, 0
#define CLEAR_LATE()	skip
#endif
#ifdef BROKEN_NOMB
#define MB()		skip
#else
#define MB()		empty(tsb)
#endif
#define MAKE_NONRESIDENT(wfi) \
	if \
	:: !v_res -> skip \
	:: else -> \
		CLEAR_EARLY(); \
		v_res = 0; \
		MB(); \
		atomic { \
			irs_res = 0; \
			fires = 0;	/* a non-resident period starts */ \
			if \
			:: REQUEST_DB(wfi) -> req_db = 1; dbpm = DBPM \
			:: else -> skip \
			fi; \
			if \
			:: ARMED && ((pend[0] && BEATS(prio[0])) || \
				     (pend[1] && BEATS(prio[1]))) -> DB_FIRE(fire) \
			:: else -> skip \
			fi \
		}; \
		NOTE_REQUEST(wfi); \
		if \
		:: fire -> fire = 0; db_handler(tsb) \
		:: else -> skip \
		fi; \
		CLEAR_LATE() \
	fi

	/*
	 * vgic_v5_vcpu_load(): if resident already or load_acquire(&blocking),
	 * nothing; else vgic_v5_make_resident(): gicv5_pe_write_contextr(V = 1)
	 * -> irs_pe_load(): flags = (flags | RESIDENT) & ~REQ_DB; then
	 * v->resident = true (after the F read-back).
	 */
#define LOAD() \
	if \
	:: !v_res && !sh_blocking -> \
		atomic { irs_res = 1; req_db = 0 }; \
		v_res = 1 \
	:: else -> skip \
	fi

	/*
	 * A preemption: vcpu_put -> vgic_v5_vcpu_put ->
	 * make_nonresident(load_acquire(&vcpu->blocking)) (BROKEN_PUT_NO_DOORBELL:
	 * make_nonresident(false)), then vcpu_load -> vgic_v5_vcpu_load.
	 */
#ifdef BROKEN_PUT_NO_DOORBELL
#define PUT_WFI 0
#else
#define PUT_WFI sh_blocking
#endif
#define PREEMPT() \
	preempts++; \
	wfi = PUT_WFI; \
	MAKE_NONRESIDENT(wfi); \
	wfi = 0; \
	LOAD()
#define MAYBE_PREEMPT() \
	if \
	:: preempts < MAXPREEMPT -> PREEMPT() \
	:: true -> skip \
	fi

	/*
	 * sim/sim.c vcpu_enter: vgic_v5_take_doorbell() =
	 * __atomic_exchange_n(&db_fired, 0, ACQ_REL) (an RMW: drains), then
	 * vcpu_set_mode(IN_GUEST_MODE) (not read by anyone for GICv5).
	 */
#define ENTER() \
	atomic { empty(tsb) -> db_fired = 0 }

guest:
end_guest:
	do
	:: atomic {
		/*
		 * sim/sim.c vcpu_take_irq: v->resident, then gicv5_pe_ack() takes
		 * the highest-priority ready interrupt the running priority
		 * allows (the guest's mask) and gicv5_pe_eoi() ends it.
		 */
		v_res && irs_res && (WAKEABLE(0) || WAKEABLE(1)) ->
		if
		:: WAKEABLE(0) -> pend[0] = 0
		:: else -> pend[1] = 0
		fi
	   }
	:: halts < MAXHALT ->
		halts++;
		goto halt
	:: preempts < MAXPREEMPT ->
		PREEMPT();
		ENTER()
	od;

halt:
	/* the guest executed WFI; the host may preempt before blocking */
	MAYBE_PREEMPT();
	/* hyp/vm.c vcpu_blocking: store_release(&blocking, 1); host_mb(); */
	tsb!V_BLOCKING, 1;
	sh_blocking = 1;
	empty(tsb);
#ifdef PREEMPT_IN_BLOCKING
	MAYBE_PREEMPT();
#endif
	/* ops->vcpu_blocking -> vgic_v5_vcpu_blocking -> make_nonresident(true) */
	wfi = 1;
	MAKE_NONRESIDENT(wfi);
	wfi = 0;

	/* hyp/vm.c vcpu_block */
block_loop:
	/* seq = load_acquire(&vcpu->wake_seq) */
	seq = wake_seq;
	/* vgic_v5_vcpu_has_interrupt: load_acquire(&db_fired) */
	if
	:: db_fired -> goto unblock
	:: else -> skip
	fi;
	/* host_futex_wait(&wake_seq, seq) */
	atomic {
		if
		:: wake_seq == seq -> sleeping = 1
		:: else -> skip
		fi
	};
end_sleep:
	(sleeping == 0);
	goto block_loop;

unblock:
	seq = 0;
	/*
	 * hyp/vm.c vcpu_unblocking: store_release(&blocking, 0);
	 * vgic_v5_vcpu_unblocking -> vgic_v5_vcpu_load
	 */
	tsb!V_BLOCKING, 0;
	sh_blocking = 0;
	LOAD();
	ENTER();
	goto guest
}

/* The property, checked in every state where nothing else can move. */
proctype lost_wakeup_check()
{
	bit lost_wakeup;

	timeout ->
		/* a wake-up interrupt pending while its VPE sleeps, no doorbell */
		lost_wakeup = WAKEABLE(0) || WAKEABLE(1);
		assert(!lost_wakeup)
}
