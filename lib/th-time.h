/* th-time.h — clocks. All measurement maths runs on CLOCK_MONOTONIC nanoseconds; wall-clock
 * epoch times are derived once through a th_clock anchor so that a wall-clock step during a run
 * cannot distort durations (DESIGN §4.1).
 */
#ifndef TH_TIME_H
#define TH_TIME_H

#include <stdint.h>

#define TH_NS_PER_SEC 1000000000LL
#define TH_NS_PER_MS 1000000LL
#define TH_NS_PER_US 1000LL

/* Current CLOCK_MONOTONIC time in nanoseconds. */
int64_t th_mono_ns(void);

/* Current CLOCK_REALTIME time in nanoseconds since the epoch. */
int64_t th_wall_ns(void);

/* Anchor tying the monotonic clock to the epoch, taken once. */
typedef struct th_clock {
	int64_t mono0_ns;
	int64_t wall0_ns;
} th_clock;

/* Take the anchor now (reads both clocks back to back). */
void th_clock_init(th_clock *c);

/* Epoch nanoseconds corresponding to monotonic time mono_ns under anchor c. */
int64_t th_clock_to_wall_ns(const th_clock *c, int64_t mono_ns);

/* Epoch seconds (double, sub-microsecond digits) for monotonic mono_ns. */
double th_clock_to_epoch(const th_clock *c, int64_t mono_ns);

/* Sleep until the monotonic time reaches deadline_ns (absolute); restarts on EINTR. */
void th_sleep_until_ns(int64_t deadline_ns);

#endif
