// SPDX-License-Identifier: MIT
/*
 * Rate-limited logging, silent unless VINTC_LOG asks for it: the library
 * reports through return values, and expected conditions (an exhausted ID
 * space, an inhibited VM) are answers, not messages.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vintc/host.h>

#define RL_INTERVAL_NS (5ULL * 1000000000ULL)

static int log_level = -1;	/* -1: not yet read from the environment */
static uint64_t log_calls;

static enum host_log_level level_from_env(void)
{
	static const char *const names[] = { "err", "warn", "info", "debug" };
	const char *v = getenv("VINTC_LOG");

	for (unsigned int i = 0; v && i < ARRAY_SIZE(names); i++)
		if (!strcmp(v, names[i]))
			return (enum host_log_level)i;
	return HOST_LOG_OFF;
}

void host_log_set_level(enum host_log_level level)
{
	__atomic_store_n(&log_level, (int)level, __ATOMIC_RELAXED);
}

uint64_t host_log_count(void)
{
	return __atomic_load_n(&log_calls, __ATOMIC_RELAXED);
}

void host_log_rl(struct host_ratelimit *rl, enum host_log_level level, const char *fmt, ...)
{
	int cur = __atomic_load_n(&log_level, __ATOMIC_RELAXED);
	uint64_t now, start;
	va_list ap;

	__atomic_add_fetch(&log_calls, 1, __ATOMIC_RELAXED);
	if (cur < 0) {
		cur = (int)level_from_env();
		__atomic_store_n(&log_level, cur, __ATOMIC_RELAXED);
	}
	if (cur == HOST_LOG_OFF || (int)level > cur)
		return;

	now = host_now_ns();
	start = __atomic_load_n(&rl->window_ns, __ATOMIC_RELAXED);
	if (now - start > RL_INTERVAL_NS &&
	    __atomic_compare_exchange_n(&rl->window_ns, &start, now, false,
					__ATOMIC_RELAXED, __ATOMIC_RELAXED))
		__atomic_store_n(&rl->printed, 0, __ATOMIC_RELAXED);
	if (__atomic_add_fetch(&rl->printed, 1, __ATOMIC_RELAXED) > rl->burst)
		return;

	va_start(ap, fmt);
	fputs("vintc: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}
