// SPDX-License-Identifier: MIT
/*
 * Host physical LPIs: the interrupts an interrupt controller model makes
 * pending on the host, such as a GICv5 VPE doorbell.
 *
 * IDs come from the bounded ID allocator; handlers live in one table
 * guarded by a rwlock.  A raise runs the handler under the read lock, so
 * any number of LPIs can be handled at once, while attaching, detaching or
 * freeing takes the write lock and therefore waits for a handler already
 * running: once host_lpi_free() or host_lpi_request(lpi, NULL, NULL)
 * returns, the old handler is not running and will not run again, and its
 * argument may be freed.  As with free_irq(), calling either from inside
 * the handler deadlocks.
 */
#include <vintc/idalloc.h>

struct lpi_desc {
	bool allocated;
	host_irq_handler fn;
	void *arg;
};

static struct {
	pthread_once_t once;
	struct id_space *ids;
	struct host_rwlock lock;
	uint32_t outstanding;
	struct lpi_desc desc[1U << HOST_LPI_ID_BITS];
} lpis = {
	.once = PTHREAD_ONCE_INIT,
	.lock = { PTHREAD_RWLOCK_INITIALIZER },
};

/* Every allocated ID is bound to this owner; the table says the rest. */
static char lpi_owner;

static void lpi_ids_init(void)
{
	if (id_space_create(HOST_LPI_ID_BITS, &lpis.ids))
		lpis.ids = NULL;
	else
		id_space_set_lowest_first(lpis.ids);
}

static bool lpi_in_range(uint32_t lpi)
{
	return lpi && lpi < ARRAY_SIZE(lpis.desc);
}

int host_lpi_alloc(uint32_t *lpi)
{
	uint32_t id;
	int r;

	if (host_fault_hit("host.lpi"))
		return -ENOMEM;
	pthread_once(&lpis.once, lpi_ids_init);
	if (!lpis.ids)
		return -ENOMEM;
	r = id_alloc(lpis.ids, &lpi_owner, &id);
	if (r)
		return r;
	host_write_lock(&lpis.lock);
	lpis.desc[id] = (struct lpi_desc){ .allocated = true };
	lpis.outstanding++;
	host_write_unlock(&lpis.lock);
	*lpi = id;
	return 0;
}

void host_lpi_free(uint32_t lpi)
{
	bool was;

	if (!lpi_in_range(lpi))
		return;
	host_write_lock(&lpis.lock);
	was = lpis.desc[lpi].allocated;
	if (was) {
		lpis.desc[lpi] = (struct lpi_desc){ 0 };
		lpis.outstanding--;
	}
	host_write_unlock(&lpis.lock);
	/*
	 * The descriptor is cleared before the ID goes back, so a new owner
	 * of the ID can never have its descriptor wiped by this free.
	 */
	if (was)
		id_free(lpis.ids, lpi);
}

int host_lpi_request(uint32_t lpi, host_irq_handler handler, void *arg)
{
	int r = -ENOENT;

	if (!lpi_in_range(lpi))
		return -ENOENT;
	host_write_lock(&lpis.lock);
	if (lpis.desc[lpi].allocated) {
		lpis.desc[lpi].fn = handler;
		lpis.desc[lpi].arg = handler ? arg : NULL;
		r = 0;
	}
	host_write_unlock(&lpis.lock);
	return r;
}

int host_lpi_raise(uint32_t lpi)
{
	int r = -ENOENT;

	if (!lpi_in_range(lpi))
		return -ENOENT;
	host_read_lock(&lpis.lock);
	if (lpis.desc[lpi].allocated && lpis.desc[lpi].fn) {
		lpis.desc[lpi].fn(lpi, lpis.desc[lpi].arg);
		r = 0;
	}
	host_read_unlock(&lpis.lock);
	return r;
}

uint32_t host_lpi_outstanding(void)
{
	uint32_t n;

	host_read_lock(&lpis.lock);
	n = lpis.outstanding;
	host_read_unlock(&lpis.lock);
	return n;
}
