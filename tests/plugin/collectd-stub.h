/* collectd-stub.h — what the small collectd stand-in (collectd-stub.c) recorded, for tests that
 * link the plugin glue (themis.c) without a daemon. */
#ifndef COLLECTD_STUB_H
#define COLLECTD_STUB_H

#include <stddef.h>

typedef struct stub_value {
	char plugin[128], plugin_instance[128], type[128], type_instance[128];
	double time, interval;
	size_t n;
	double v[16];
} stub_value;

typedef struct stub_notice {
	int severity;
	double time;
	char plugin_instance[128], type[128], type_instance[128], message[256];
} stub_notice;

/* The callbacks module_register() registered. */
extern int (*stub_config_cb)(void *ci);
extern int (*stub_init_cb)(void);
extern int (*stub_shutdown_cb)(void);
/* Non-zero: dispatched values reach no writer (collectd after stopping its write threads). */
extern int stub_writers_stopped;

/* Copies of what was dispatched so far (the stub locks internally). */
size_t stub_values(stub_value *out, size_t max);
size_t stub_notices(stub_notice *out, size_t max);
/* Non-zero: plugin_log writes nothing (set by the config fuzz harness). */
extern int stub_quiet;

/* Threads started through plugin_thread_create. */
int stub_threads_started(void);

#endif
