/*
 * SPDX-License-Identifier: MIT
 *
 * avic_delivery.pml - the AMD AVIC delivery protocol as vintc implements it.
 *
 * One target vCPU and three interrupt sources race:
 *   icr_sender  a guest ICR write processed by the silicon
 *               (hw/avic_cpu.c deliver_entry) followed, when the target
 *               was not running, by the incomplete-IPI exit
 *               (hyp/avic.c avic_handle_incomplete_ipi, TARGET_NOT_RUNNING);
 *   hyp_sender  the hypervisor or an emulated device injecting
 *               (hyp/avic.c avic_deliver);
 *   device      a posted interrupt through a GA-mode IRTE
 *               (hw/amd_iommu.c amd_iommu_device_interrupt), including
 *               the GA log and its notifier (hyp/avic_iommu.c
 *               avic_ga_log_process -> ga_log_wake -> vcpu_wake).
 * The target runs guest code, halts through the hypervisor's blocking
 * protocol (hyp/vm.c vcpu_block, vcpu_blocking, vcpu_unblocking,
 * hyp/avic.c avic_vcpu_blocking / avic_vcpu_unblocking) up to MAXHALT
 * times, and can be preempted and migrated to the other host CPU once
 * (hyp/vm.c vcpu_put + vcpu_load, hyp/avic.c avic_vcpu_put /
 * avic_vcpu_load, as sim/sim.c vcpu_migrate does).
 *
 * Property (lost wake-up): when nothing in the system can move any more
 * (Promela `timeout`), the vector is not left pending in the IRR.  The
 * target can then only be asleep in the futex or inside the guest with
 * its budgets spent, so an IRR bit left over is an interrupt whose vCPU
 * is blocked for good (or runs for good without the doorbell it was owed).
 * Every reachable state is checked (pan -DSAFETY, exhaustive).
 *
 * Memory model.  Every writer has a FIFO store buffer (a Promela channel);
 * a store enters the buffer and the `memory` process makes it visible
 * later, in program order, at any interleaving point.  A load of another
 * thread's variable reads memory, so a store can be delayed past the
 * writer's later loads (store buffering, the one reordering x86-TSO
 * allows and the one that breaks a "store; load" handshake).  host_mb()
 * (a seq_cst fence) waits until the writer's buffer is empty.  A
 * read-modify-write (the wake sequence bump) drains the buffer first, as
 * a locked x86 instruction does; in C11 terms that is the release half of
 * the seq_cst RMW that the woken side's acquire load pairs with.  The IRR
 * set is itself a buffered store: host_test_and_set_bit32 is a seq_cst
 * RMW, but a C11 RMW followed by a load of another location is not
 * ordered without the fence, and the model must show that fence matters.
 * Mutexes (ir_list_lock) are not fences: in C11 an unlock is only a
 * release.  Stores of the same thread stay in order, which is what the
 * release stores vintc uses everywhere here guarantee; loads are acquire
 * or follow a fence, so they are not reordered with each other.
 *
 * Variants (cpp macros; verify/run.sh passes them with spin -D...):
 *   BROKEN_NOBARRIER         no host_mb() after the blocking put
 *                            (hyp/avic.c avic_vcpu_blocking; the C fault
 *                            injection cfg.avic.omit_blocking_barrier)
 *   BROKEN_NORECHECK         no IRR look before the first futex wait
 *                            (sim/sim.c vcpu_halt_free with omit_recheck)
 *   BROKEN_SENDER_NOBARRIER  no host_mb() between the silicon's IRR set
 *                            and its IsRunning read (hw/avic_cpu.c
 *                            deliver_entry)
 *   BROKEN_NOGALOG           the blocking put leaves GALogIntr clear in
 *                            the IRTE (hyp/avic.c __avic_vcpu_put with
 *                            start_blocking ignored)
 *   BROKEN_SEQ_LATE          vcpu_block snapshots wake_seq after the IRR
 *                            look instead of before it (hyp/vm.c)
 *   BROKEN_ERRATUM_1235      the silicon misses IsRunning = 0 and neither
 *                            rings nor exits (hw/avic_cpu.c with
 *                            opts->erratum_1235 and IPIv on)
 * Each must be refuted by spin with a counterexample trail.
 *
 * NO_IPIV (correct, must verify): IPI virtualisation off
 * (cfg.avic.disable_ipiv): the table never shows IsRunning, so every
 * IPI to another vCPU exits and the hypervisor kicks; KVM's workaround
 * for erratum #1235.
 */

#ifndef MAXHALT
#define MAXHALT 2		/* halts (HLT -> vcpu_block) per run */
#endif
#ifndef MAXPREEMPT
#define MAXPREEMPT 1		/* preemptions with migration per run */
#endif

/* Variable ids carried in the store buffers. */
#define V_TBL		1	/* physical ID table entry (IsRunning | host ID << 1) */
#define V_IRTE		2	/* IRTE lo (IsRun | GALogIntr << 1 | dest << 2) */
#define V_MODE		3	/* vcpu->mode == VCPU_IN_GUEST_MODE */
#define V_BLOCKING	4	/* vcpu->blocking */
#define V_IRR		5	/* the vector's bit in the backing page IRR */

/* ---- shared memory (what other threads can read) ---------------------- */
bit irr;		/* backing page IRR, one vector */
bit tbl_run;		/* AVIC_PHYSICAL_ID_ENTRY_IS_RUNNING of the target */
bit tbl_host;		/* AVIC_PHYSICAL_ID_ENTRY_HOST_PHYSICAL_ID (CPU 0 or 1) */
bit irte_run;		/* AMD_IRTE_LO_IS_RUN */
bit irte_galog;		/* AMD_IRTE_LO_GA_LOG_INTR */
bit irte_dest;		/* IRTE destination (host CPU) */
bit mode_in;		/* vcpu->mode */
bit blocking;		/* vcpu->blocking */
byte wake_seq;		/* vcpu->wake_seq (the futex word) */
bit vcpu_cpu;		/* vcpu->cpu, a plain field written by vcpu_load */

/* ---- the target's host CPU and the futex ------------------------------ */
bit in_guest;		/* the target's CPU is between VMRUN and #VMEXIT */
bit db;			/* a doorbell landed while in guest, not yet handled */
bit sleeping;		/* the target is queued in host_futex_wait */

/* ---- store buffers ------------------------------------------------------ */
chan tsb = [4] of { byte, byte };	/* target thread */
chan isb = [1] of { byte, byte };	/* silicon processing the ICR write */
/*
 * The other writers need none: the hypervisor sender and the IOMMU store
 * only the IRR bit, each immediately followed by host_mb(), and a
 * buffered store drained at once is one atomic store at that moment.
 */

inline mem_store(var, val)
{
	if
	:: var == V_TBL -> tbl_run = val & 1; tbl_host = (val >> 1) & 1
	:: var == V_IRTE -> irte_run = val & 1; irte_galog = (val >> 1) & 1;
		irte_dest = (val >> 2) & 1
	:: var == V_MODE -> mode_in = val
	:: var == V_BLOCKING -> blocking = val
	:: var == V_IRR -> irr = 1	/* an OR: the RMW lands here */
	fi
}

/* Makes buffered stores visible, oldest first per writer, at any time. */
active proctype memory()
{
	byte var, val;

end_mem:
	do
	:: atomic { tsb?var, val -> mem_store(var, val); var = 0; val = 0 }
	:: atomic { isb?var, val -> mem_store(var, val); var = 0; val = 0 }
	od
}

/*
 * host_doorbell_ring(h) (include/vintc/host.h; WRMSR 0xC001011B).  It is
 * recognised only by a CPU in guest mode running the target; otherwise it
 * is a host interrupt that does nothing (a stale doorbell is harmless:
 * the next VMRUN looks at the IRR anyway).  A doorbell that is in flight
 * longer is covered too: the target may leave the guest before handling
 * `db`, which drops it.
 */
inline ring(h)
{
	atomic {
		if
		:: in_guest && vcpu_cpu == h -> db = 1
		:: else -> skip
		fi
	}
}

/*
 * hyp/vm.c vcpu_wake(), run by whoever wakes (none of them has a store
 * buffered by then, so the fence after the bump is a no-op here):
 *   __atomic_add_fetch(&vcpu->wake_seq, 1, SEQ_CST);
 *   host_mb();
 *   if (load_acquire(&vcpu->blocking)) host_futex_wake(&vcpu->wake_seq, 1);
 */
inline vcpu_wake()
{
	wake_seq++;
	if
	:: blocking -> sleeping = 0	/* host_futex_wake: the waiter runs */
	:: else -> skip
	fi
}

/*
 * hyp/avic.c avic_kick(): IRR is set and fenced already.
 *   if (apicv active && load_acquire(&vcpu->mode) == IN_GUEST_MODE && ...)
 *           host_doorbell_ring(host_cpu_apic_id(vcpu->cpu));
 *   else    vcpu_wake(vcpu);
 * AVIC is never inhibited in this model.
 */
inline avic_kick(h)
{
	if
	:: mode_in -> h = vcpu_cpu; ring(h); h = 0
	:: else -> vcpu_wake()
	fi
}

/*
 * A guest ICR write to the target, processed by the sending CPU's AVIC
 * (hw/avic_cpu.c avic_cpu_icr_write -> deliver_physical -> deliver_entry),
 * then the #VMEXIT(AVIC_INCOMPLETE_IPI) handler if it found the target
 * not running (sim/sim.c sim_avic_send ->
 * hyp/avic.c avic_handle_incomplete_ipi).
 */
active proctype icr_sender()
{
	bit e_run, e_host, h;

	/*
	 * deliver_entry: set_irr() -> host_test_and_set_bit32(IRR), then
	 * host_mb() "IRR before IsRunning".  A buffered store immediately
	 * followed by a drain is the same as one atomic store at the moment
	 * of the drain, so the model only buffers it when the fence is gone.
	 */
#ifdef BROKEN_SENDER_NOBARRIER
	isb!V_IRR, 1;
#else
	irr = 1;
#endif
	/* deliver_entry: e = __atomic_load_n(ptr, __ATOMIC_ACQUIRE) */
	atomic { e_run = tbl_run; e_host = tbl_host };
	if
	:: e_run ->
		/* deliver_entry: host_doorbell_ring(host_id) */
		e_run = 0;
		ring(e_host)
	:: else ->
		/*
		 * deliver_entry: record(TARGET_NOT_RUNNING) -> the sender exits
		 * with SVM_EXIT_AVIC_INCOMPLETE_IPI (serialising: the store
		 * buffer drains); avic_handle_incomplete_ipi:
		 *   if (avic_vcpu_table_entry(t) & IS_RUNNING) continue;
		 *   avic_kick(t);
		 */
#ifdef BROKEN_ERRATUM_1235
		/*
		 * Erratum #1235 with IPIv on (hw/avic_cpu.c deliver_entry with
		 * opts->erratum_1235): no exit, the IPI waits in the IRR.
		 */
		skip
#else
		empty(isb);
		if
		:: tbl_run -> skip
		:: else -> avic_kick(h)
		fi
#endif
	fi
}

/*
 * hyp/avic.c avic_deliver(): the hypervisor's own injection.
 *   host_set_bit32(IRR); host_mb(); avic_kick(vcpu);
 */
active proctype hyp_sender()
{
	bit h;

	/* host_set_bit32 + host_mb(): one store made visible at the fence */
	irr = 1;
	avic_kick(h)
}

/*
 * hw/amd_iommu.c amd_iommu_device_interrupt() for a valid guest-mode IRTE
 * of the target, and the GA log path it may take.
 */
active proctype device()
{
	bit r, g, d;

	/* host_test_and_set_bit32(irr, vector); host_mb(): "IRR before IsRun" */
	irr = 1;
	/* lo = __atomic_load_n(&irte[0], __ATOMIC_ACQUIRE) (the re-read) */
	atomic { r = irte_run; g = irte_galog; d = irte_dest };
	if
	:: r ->
		/* lo & AMD_IRTE_LO_IS_RUN: host_doorbell_ring(amd_irte_dest()) */
		ring(d)
	:: !r && g ->
		/*
		 * lo & AMD_IRTE_LO_GA_LOG_INTR: ga_log_append() writes the
		 * entry and calls the GA log interrupt handler on this thread:
		 * hyp/avic_iommu.c ga_log_irq -> avic_ga_log_process ->
		 * ga_log_drain -> avic_ga_tag_resolve -> ga_log_wake ->
		 * vcpu_wake.  (The bounded run never fills the 512-entry log.)
		 */
		vcpu_wake()
	:: else ->
		/* irr_only: a preempted vCPU sees the IRR at its next VMRUN */
		skip
	fi
}

/*
 * The target vCPU thread: sim/sim.c vcpu_thread / vcpu_halt_free (free
 * mode) and vcpu_step_det (seeded mode) over hyp/vm.c and hyp/avic.c.
 * It starts loaded on CPU 0 and inside the guest (sim.c run_det calls
 * vcpu_enter for every vCPU; the tables say IsRunning, IRTE IsRun).
 */
active proctype target()
{
	bit sh_run = 1;		/* v->physical_entry IsRunning (the shadow) */
	bit sh_blocking;	/* this thread's own view of vcpu->blocking */
	bit start_blocking;
	byte seq;
	byte halts, preempts;
#ifdef BROKEN_NORECHECK
	bit first;
#endif

	/*
	 * __avic_vcpu_put(v, start_blocking), under ir_list_lock:
	 *   entry = physical_entry & ~IS_RUNNING (keeps the host ID)
	 *   avic_write_entry -> __atomic_store_n(physical_entry_ptr, RELEASE)
	 *   avic_irte_update_locked(v, ir_dest, false, start_blocking)
	 *       -> irte_sync -> irte_store (lo with release)
	 */
#ifdef BROKEN_NOGALOG
#define GALOG_BIT(sb) 0
#else
#define GALOG_BIT(sb) (sb)
#endif
/*
 * avic_write_entry(): with cfg.avic.disable_ipiv IsRunning lives only in
 * the shadow and the table never shows it (the erratum #1235 workaround).
 */
#ifdef NO_IPIV
#define TBL_RUN 0
#else
#define TBL_RUN 1
#endif
#define AVIC_PUT(sb) \
	sh_run = 0; \
	tsb!V_TBL, (vcpu_cpu << 1); \
	tsb!V_IRTE, ((GALOG_BIT(sb) << 1) | (vcpu_cpu << 2))

	/*
	 * __avic_vcpu_load(v, cpu), under ir_list_lock:
	 *   entry = (entry & ~(HOST_ID | GA_LOG_INTR)) | apicid(cpu) | IS_RUNNING
	 *   avic_write_entry(); avic_irte_update_locked(v, h, true, false)
	 */
#define AVIC_LOAD() \
	sh_run = 1; \
	tsb!V_TBL, (TBL_RUN | (vcpu_cpu << 1)); \
	tsb!V_IRTE, (1 | (vcpu_cpu << 2))

	/*
	 * A preemption with migration, at a point where the thread is in the
	 * host (sim/sim.c vcpu_migrate; a kernel's sched-out/sched-in):
	 *   vcpu_put -> avic_vcpu_put:
	 *       if (!(physical_entry & IS_RUNNING)) return;   (blocked: keep
	 *       GA_LOG_INTR) __avic_vcpu_put(v, load_acquire(&blocking));
	 *   vcpu_load(cpu): vcpu->cpu = cpu; avic_vcpu_load:
	 *       if (load_acquire(&vcpu->blocking)) return; __avic_vcpu_load;
	 * Other threads run between the put and the load.  vcpu->cpu is a
	 * plain field; the model makes its store visible at once (ahead of
	 * the buffered ones), which allows more orders than the C code has.
	 * It is also where the thread now runs: doorbells to the old CPU miss.
	 */
#define PREEMPT() \
	preempts++; \
	if \
	:: sh_run -> start_blocking = sh_blocking; AVIC_PUT(start_blocking); start_blocking = 0 \
	:: else -> skip \
	fi; \
	vcpu_cpu = 1 - vcpu_cpu; \
	if \
	:: !sh_blocking -> AVIC_LOAD() \
	:: else -> skip \
	fi
#define MAYBE_PREEMPT() \
	if \
	:: preempts < MAXPREEMPT -> PREEMPT() \
	:: true -> skip \
	fi

	/*
	 * sim/sim.c vcpu_enter -> hyp/vm.c vcpu_set_mode(IN_GUEST_MODE):
	 *   store_release(&vcpu->mode, IN_GUEST); host_mb();
	 * then VMRUN: the CPU evaluates the vIRR (reference 1.4) and from
	 * then on takes doorbells.  Accepting the vector is the vAPIC's
	 * IRR -> ISR move (hyp/vlapic.c vlapic_accept, a locked RMW).
	 */
#define ENTER_GUEST() \
	tsb!V_MODE, 1; \
	empty(tsb); \
	atomic { \
		in_guest = 1; \
		if \
		:: irr -> irr = 0 \
		:: else -> skip \
		fi \
	}

	/* #VMEXIT, then sim/sim.c vcpu_leave: store_release(&mode, OUTSIDE). */
#define LEAVE_GUEST() \
	atomic { in_guest = 0; db = 0 }; \
	tsb!V_MODE, 0

	/* initial state, before any other thread runs */
	atomic {
		tbl_run = TBL_RUN; tbl_host = 0; irte_run = 1; irte_galog = 0; irte_dest = 0;
		vcpu_cpu = 0; mode_in = 1; in_guest = 1
	};

guest:
end_guest:
	do
	:: atomic {
		/* a doorbell in guest mode: the vAPIC takes the IRR bit */
		db -> db = 0;
		if
		:: irr -> irr = 0
		:: else -> skip
		fi
	   }
	:: halts < MAXHALT ->
		halts++;
		/* the guest executes HLT */
		LEAVE_GUEST();
		goto halt
	:: preempts < MAXPREEMPT ->
		/* an exit of any kind, and the host preempts the thread */
		LEAVE_GUEST();
		PREEMPT();
		ENTER_GUEST()
	od;

halt:
	MAYBE_PREEMPT();
	/* hyp/vm.c vcpu_blocking: store_release(&vcpu->blocking, 1); host_mb(); */
	tsb!V_BLOCKING, 1;
	sh_blocking = 1;
	empty(tsb);
	MAYBE_PREEMPT();
	/*
	 * hyp/avic.c avic_vcpu_blocking:
	 *   if (physical_entry & IS_RUNNING) __avic_vcpu_put(v, true);
	 *   host_mb();
	 */
	if
	:: sh_run -> AVIC_PUT(1)
	:: else -> skip
	fi;
#ifndef BROKEN_NOBARRIER
	empty(tsb);
#endif
#ifdef BROKEN_NORECHECK
	first = 1;
#endif

	/* hyp/vm.c vcpu_block (sim.c vcpu_halt_free is the same loop) */
block_loop:
#ifndef BROKEN_SEQ_LATE
	/* seq = load_acquire(&vcpu->wake_seq); */
	seq = wake_seq;
#endif
	/* ops->vcpu_has_interrupt -> avic_vcpu_has_interrupt -> vlapic_has_deliverable */
#ifdef BROKEN_NORECHECK
	/* sim/sim.c vcpu_halt_free with omit_recheck: no look the first time */
	if
	:: first -> first = 0
	:: else ->
		if
		:: irr -> goto unblock
		:: else -> skip
		fi
	fi;
#else
	if
	:: irr -> goto unblock
	:: else -> skip
	fi;
#endif
#ifdef BROKEN_SEQ_LATE
	seq = wake_seq;
#endif
	/* host_futex_wait(&vcpu->wake_seq, seq, ...): compare and queue atomically */
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
	/*
	 * hyp/vm.c vcpu_unblocking: store_release(&vcpu->blocking, 0);
	 * hyp/avic.c avic_vcpu_unblocking -> avic_vcpu_load(vcpu, vcpu->cpu):
	 *   blocking is 0 now -> __avic_vcpu_load
	 */
	tsb!V_BLOCKING, 0;
	sh_blocking = 0;
	AVIC_LOAD();
	/* sim/sim.c vcpu_enter */
	ENTER_GUEST();
	goto guest
}

/* The property, checked in every state where nothing else can move. */
active proctype lost_wakeup_check()
{
	bit lost_wakeup;

	timeout ->
		/* the vector is left pending in the IRR for good */
		lost_wakeup = irr;
		assert(!lost_wakeup)
}
