/* SPDX-License-Identifier: MIT */
/* What every fault campaign must leave behind: nothing. */
#ifndef VINTC_TEST_CAMPAIGN_UTIL_H
#define VINTC_TEST_CAMPAIGN_UTIL_H

#include "../tools/vintc/campaign.h"
#include "test.h"

static inline void campaign_check_clean(const struct campaign_result *r)
{
	if (r->failures)
		fprintf(stderr, "first failure: %s\n", r->first_failure);
	ASSERT_EQ(r->failures, 0);
	ASSERT_EQ(r->leaked_pages, 0);
	ASSERT_EQ(r->leaked_bytes, 0);
	ASSERT_EQ(r->stale_ids, 0);
	ASSERT_EQ(r->valid_left, 0);
	ASSERT_EQ(r->cases, r->sites);
}

#endif
