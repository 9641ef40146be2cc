// SPDX-License-Identifier: MIT
/*
 * Concurrency: run under TSan in CI.  VM churn against GA-tag lookups,
 * and the block / deliver pairing that must never lose a wake-up.
 */
#include <stdlib.h>
#include <string.h>

#include <vintc/avic.h>

#include "avic_util.h"

enum { CHURNERS = 2, LIVE_SLOTS = 64 };

static struct {
	struct host_mutex lock;
	struct vm *live[LIVE_SLOTS];	/* VMs that are resolvable or about to be */
	uint32_t tags[LIVE_SLOTS * 8];	/* tags seen recently, live or not */
	uint32_t stop;
	uint64_t resolved, bad, cycles;
} ch;

static bool vm_is_live(struct vm *vm)
{
	bool live = false;

	host_mutex_lock(&ch.lock);
	for (int i = 0; i < LIVE_SLOTS; i++)
		live |= ch.live[i] == vm;
	host_mutex_unlock(&ch.lock);
	return live;
}

static void on_resolve(struct vcpu *vcpu, void *arg)
{
	(void)arg;
	/* Under the lookup's read lock: the VM must not have been torn down. */
	if (!vm_is_live(vcpu->vm) || vm_get_vcpu(vcpu->vm, vcpu->vcpu_idx) != vcpu)
		__atomic_add_fetch(&ch.bad, 1, __ATOMIC_RELAXED);
	vcpu_wake(vcpu);
	__atomic_add_fetch(&ch.resolved, 1, __ATOMIC_RELAXED);
}

static void *churner(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg;
	/* Slot 0 holds the long-lived VM; each churner owns its own slots. */
	int per = (LIVE_SLOTS - 1) / CHURNERS;
	int base = 1 + (int)(uintptr_t)arg * per;

	while (!load_acquire(&ch.stop)) {
		int slot = base + (int)(rand_r(&seed) % (unsigned int)per);
		struct vm_config cfg = { .arch = VM_ARCH_AVIC, .avic.model = AVIC_MODEL_X2AVIC };
		struct vm *vm = ch.live[slot];

		if (vm) {
			/* Unhash first; only then is it no longer "live". */
			vm_pre_destroy(vm);
			host_mutex_lock(&ch.lock);
			ch.live[slot] = NULL;
			host_mutex_unlock(&ch.lock);
			vm_destroy(vm);
			continue;
		}
		if (vm_create(&cfg, &vm))
			abort();
		host_mutex_lock(&ch.lock);
		ch.live[slot] = vm;
		host_mutex_unlock(&ch.lock);
		for (uint32_t i = 0, n = 1 + rand_r(&seed) % 8; i < n; i++) {
			struct vcpu *vcpu;

			if (vcpu_create(vm, i * 7, &vcpu))
				abort();
			__atomic_store_n(&ch.tags[(seed + i) % ARRAY_SIZE(ch.tags)],
					 avic_vcpu_gatag(vcpu), __ATOMIC_RELAXED);
		}
		__atomic_add_fetch(&ch.cycles, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void *resolver(void *arg)
{
	unsigned int seed = 99;

	(void)arg;
	while (!load_acquire(&ch.stop)) {
		uint32_t tag = __atomic_load_n(&ch.tags[rand_r(&seed) % ARRAY_SIZE(ch.tags)],
					       __ATOMIC_RELAXED);

		if (rand_r(&seed) % 4 == 0)
			tag = (uint32_t)rand_r(&seed) & 0x3FFF;	/* small VM IDs, any index */
		avic_ga_tag_resolve(NULL, tag, on_resolve, NULL);
	}
	return NULL;
}

struct runner_arg {
	struct vm *vm;
	uint64_t iterations;
};

static void *load_put_block(void *arg)
{
	struct runner_arg *ra = arg;
	unsigned int seed = 5;

	for (uint64_t i = 0; i < ra->iterations; i++) {
		struct vcpu *vcpu = vm_get_vcpu(ra->vm, (uint32_t)(i % vm_nr_vcpus(ra->vm)));

		if (vcpu_load(vcpu, (int)(rand_r(&seed) % host_cpus_nr())))
			abort();
		if (i % 3 == 0) {
			vcpu_blocking(vcpu);
			vcpu_unblocking(vcpu);
		}
		vcpu_put(vcpu);
	}
	return NULL;
}

TEST(concurrency_churn_vs_ga_tag_lookup)
{
	pthread_t c[CHURNERS], r, lp;
	struct runner_arg ra = { .iterations = 200000 };
	uint64_t deadline;

	host_mutex_init(&ch.lock);
	/* A long-lived VM whose vCPUs are loaded and put while tags resolve. */
	ra.vm = avic_vm_new(AVIC_MODEL_X2AVIC, 0, NULL);
	for (uint32_t i = 0; i < 4; i++) {
		struct vcpu *vcpu = avic_vcpu_new(ra.vm, i);

		ch.tags[i] = avic_vcpu_gatag(vcpu);
	}
	ch.live[0] = ra.vm;
	for (uintptr_t i = 0; i < CHURNERS; i++)
		pthread_create(&c[i], NULL, churner, (void *)i);
	pthread_create(&r, NULL, resolver, NULL);
	pthread_create(&lp, NULL, load_put_block, &ra);
	pthread_join(lp, NULL);
	deadline = host_now_ns() + 300000000ULL;
	while (host_now_ns() < deadline && load_acquire(&ch.cycles) < 2000)
		;
	store_release(&ch.stop, 1);
	for (int i = 0; i < CHURNERS; i++)
		pthread_join(c[i], NULL);
	pthread_join(r, NULL);

	ASSERT_EQ(ch.bad, 0);
	ASSERT(ch.resolved > 0);
	ASSERT(ch.cycles > 0);
	for (int i = 0; i < LIVE_SLOTS; i++)
		vm_destroy(ch.live[i]);
	ASSERT_EQ(pages_out(), 0);
	ASSERT_EQ(bytes_out(), 0);
}

/*
 * Lost wake-up hunt.  The target alternates between "in guest" (polling
 * IRR as hardware would at instruction boundaries) and halting through
 * vcpu_block(); the sender delivers the next vector only after the last
 * was taken.  Any delivery that finds the target neither running nor
 * woken shows up as vcpu_block() timing out with the vector pending.
 */
struct pingpong {
	struct vcpu *vcpu;
	uint32_t taken;		/* vectors the target has taken */
	uint32_t rounds;
	uint32_t timeouts;
	uint64_t doorbells;
};

static bool take_vector(struct pingpong *pp)
{
	uint32_t *irr = apic_reg(to_avic_vcpu(pp->vcpu)->backing, APIC_VECTOR_WORD(APIC_IRR, 0x40));

	if (__atomic_fetch_and(irr, ~(1U << APIC_VECTOR_BIT(0x40)), __ATOMIC_SEQ_CST) &
	    (1U << APIC_VECTOR_BIT(0x40))) {
		store_release(&pp->taken, load_acquire(&pp->taken) + 1);
		return true;
	}
	return false;
}

static void *target(void *arg)
{
	struct pingpong *pp = arg;
	unsigned int seed = 17;

	vcpu_load(pp->vcpu, 1);
	while (load_acquire(&pp->taken) < pp->rounds) {
		bool took = false;

		/*
		 * Mostly a short stay in the guest, so senders race the halt;
		 * one round in four stays until the vector arrives, so senders
		 * also find the target in guest mode and ring its doorbell.
		 */
		bool stay = rand_r(&seed) % 4 == 0;

		vcpu_set_mode(pp->vcpu, VCPU_IN_GUEST_MODE);
		for (int spin = rand_r(&seed) % 64; (stay || spin >= 0) && !took; spin--)
			took = take_vector(pp);
		vcpu_set_mode(pp->vcpu, VCPU_OUTSIDE_GUEST_MODE);
		if (took || take_vector(pp))
			continue;
		/* Halt.  A pending vector ends the block at once. */
		if (vcpu_block(pp->vcpu, 2000000000ULL) == -ETIMEDOUT) {
			__atomic_add_fetch(&pp->timeouts, 1, __ATOMIC_SEQ_CST);
			break;
		}
		take_vector(pp);
		if (rand_r(&seed) % 8 == 0) {	/* preempted and migrated */
			vcpu_put(pp->vcpu);
			vcpu_load(pp->vcpu, 1 + (int)(rand_r(&seed) % 3));
		}
	}
	vcpu_put(pp->vcpu);
	return NULL;
}

static void count_doorbell(uint32_t apic_id, void *opaque)
{
	struct pingpong *pp = opaque;

	(void)apic_id;
	__atomic_add_fetch(&pp->doorbells, 1, __ATOMIC_RELAXED);
}

TEST(concurrency_block_never_loses_wakeup)
{
	struct pingpong pp = { .rounds = 20000 };
	struct vm *vm = avic_vm_new(AVIC_MODEL_XAVIC, 0, NULL);
	const char *env = getenv("VINTC_TEST_SCALE");
	pthread_t t;

	if (env && atoi(env) > 0)
		pp.rounds /= (uint32_t)atoi(env);
	pp.vcpu = avic_vcpu_new(vm, 0);
	host_doorbell_set_handler(count_doorbell, &pp);
	pthread_create(&t, NULL, target, &pp);
	for (uint32_t i = 0; i < pp.rounds; i++) {
		while (load_acquire(&pp.taken) < i && !load_acquire(&pp.timeouts))
			;
		avic_deliver(pp.vcpu, 0x40);
	}
	pthread_join(t, NULL);
	/* A timed-out halt is a lost wake-up: the vector sat in IRR unnoticed. */
	ASSERT_EQ(pp.timeouts, 0);
	ASSERT_EQ(pp.taken, pp.rounds);
	/* Both paths were exercised: doorbells to a running target, wake-ups to a halted one. */
	ASSERT(pp.doorbells > 0);
	ASSERT(pp.vcpu->wakeups > 0);
	vm_destroy(vm);
}
