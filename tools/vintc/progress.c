// SPDX-License-Identifier: MIT
/* The progress line of long runs (progress.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <vintc/host.h>

#include "progress.h"

#define PROGRESS_DEFAULT_COLUMNS 80

void progress_init(struct progress *p)
{
	struct winsize ws;

	memset(p, 0, sizeof(*p));
	p->on = isatty(STDERR_FILENO);
	p->t0_ns = host_now_ns();
	p->next_ns = p->t0_ns;
	p->columns = PROGRESS_DEFAULT_COLUMNS;
	if (p->on && !ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) && ws.ws_col > 1)
		p->columns = ws.ws_col;
}

bool progress_due(struct progress *p)
{
	uint64_t now;

	if (!p->on)
		return false;
	now = host_now_ns();
	if (now < p->next_ns)
		return false;
	p->next_ns = now + PROGRESS_INTERVAL_NS;
	return true;
}

/*
 * "\r", the text, then blanks over what is left of a longer previous
 * line.  Never the last column: a line that fills it wraps on some
 * terminals, and '\r' would then return to the wrong row.
 */
void progress_show(struct progress *p, const char *fmt, ...)
{
	char line[512];
	size_t len, max = p->columns - 1;
	va_list ap;

	if (!p->on)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	len = strlen(line);
	if (len > max)
		len = max;
	line[len] = '\0';
	fprintf(stderr, "\r%s%*s", line, p->shown > len ? (int)(p->shown - len) : 0, "");
	fflush(stderr);
	p->shown = len;
}

void progress_clear(struct progress *p)
{
	if (!p->on || !p->shown)
		return;
	fprintf(stderr, "\r%*s\r", (int)p->shown, "");
	fflush(stderr);
	p->shown = 0;
}

double progress_elapsed(const struct progress *p)
{
	return (double)(host_now_ns() - p->t0_ns) / 1e9;
}
