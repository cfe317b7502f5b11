/* th-time.c — monotonic/epoch clock helpers. */
#include "themis-config.h"

#include <errno.h>
#include <time.h>

#include "th-time.h"

static int64_t th_read_clock(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * TH_NS_PER_SEC + ts.tv_nsec;
}

int64_t th_mono_ns(void) { return th_read_clock(CLOCK_MONOTONIC); }

int64_t th_wall_ns(void) { return th_read_clock(CLOCK_REALTIME); }

void th_clock_init(th_clock *c)
{
	c->mono0_ns = th_mono_ns();
	c->wall0_ns = th_wall_ns();
}

int64_t th_clock_to_wall_ns(const th_clock *c, int64_t mono_ns)
{
	return c->wall0_ns + (mono_ns - c->mono0_ns);
}

double th_clock_to_epoch(const th_clock *c, int64_t mono_ns)
{
	int64_t w = th_clock_to_wall_ns(c, mono_ns);

	return (double)(w / TH_NS_PER_SEC) + (double)(w % TH_NS_PER_SEC) / 1e9;
}

void th_sleep_until_ns(int64_t deadline_ns)
{
	struct timespec ts = {
	    .tv_sec = deadline_ns / TH_NS_PER_SEC,
	    .tv_nsec = deadline_ns % TH_NS_PER_SEC,
	};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}
