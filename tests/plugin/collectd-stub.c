/* collectd-stub.c — the few collectd daemon symbols themis.c uses, recording what the plugin
 * dispatches so unit tests can check it. Compiled against collectd's own headers. */
#include "collectd/core/daemon/collectd.h"

#include "collectd/core/daemon/plugin.h"
#include "collectd/core/daemon/utils_time.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "collectd-stub.h"

char *hostname_g = "stubhost";

int (*stub_config_cb)(void *ci);
int (*stub_init_cb)(void);
int (*stub_shutdown_cb)(void);
plugin_write_cb stub_write_cb;
int stub_writers_stopped;

static pthread_mutex_t stub_lock = PTHREAD_MUTEX_INITIALIZER;
static stub_value stub_vals[4096];
static size_t stub_nvals;
static stub_notice stub_nots[64];
static size_t stub_nnots;
static int stub_nthreads;
int stub_quiet;

int plugin_register_complex_config(const char *type, int (*callback)(oconfig_item_t *))
{
	stub_config_cb = (int (*)(void *))callback;
	return 0;
}

int plugin_register_init(const char *name, plugin_init_cb callback)
{
	stub_init_cb = callback;
	return 0;
}

int plugin_register_write(const char *name, plugin_write_cb callback, user_data_t const *ud)
{
	stub_write_cb = callback;
	return 0;
}

int plugin_register_shutdown(const char *name, plugin_shutdown_cb callback)
{
	stub_shutdown_cb = callback;
	return 0;
}

int plugin_thread_create(pthread_t *thread, void *(*start_routine)(void *), void *arg,
                         char const *name)
{
	stub_nthreads++;
	return pthread_create(thread, NULL, start_routine, arg);
}

/* Like collectd: a value reaches the writers (here, only while "write threads" run), and
 * each registered write callback sees it. */
int plugin_dispatch_values(value_list_t const *vl)
{
	if (stub_writers_stopped)
		return 0; /* collectd's write queue is dropped */
	if (stub_write_cb != NULL)
		stub_write_cb(NULL, vl, NULL);
	pthread_mutex_lock(&stub_lock);
	if (stub_nvals < sizeof stub_vals / sizeof stub_vals[0]) {
		stub_value *v = &stub_vals[stub_nvals++];

		snprintf(v->plugin, sizeof v->plugin, "%s", vl->plugin);
		snprintf(v->plugin_instance, sizeof v->plugin_instance, "%s", vl->plugin_instance);
		snprintf(v->type, sizeof v->type, "%s", vl->type);
		snprintf(v->type_instance, sizeof v->type_instance, "%s", vl->type_instance);
		v->time = CDTIME_T_TO_DOUBLE(vl->time);
		v->interval = CDTIME_T_TO_DOUBLE(vl->interval);
		v->n = vl->values_len;
		for (size_t i = 0; i < vl->values_len && i < 16; i++)
			v->v[i] = vl->values[i].gauge;
	}
	pthread_mutex_unlock(&stub_lock);
	return 0;
}

int plugin_dispatch_notification(const notification_t *n)
{
	pthread_mutex_lock(&stub_lock);
	if (stub_nnots < sizeof stub_nots / sizeof stub_nots[0]) {
		stub_notice *s = &stub_nots[stub_nnots++];

		s->severity = n->severity;
		s->time = CDTIME_T_TO_DOUBLE(n->time);
		snprintf(s->plugin_instance, sizeof s->plugin_instance, "%s", n->plugin_instance);
		snprintf(s->type, sizeof s->type, "%s", n->type);
		snprintf(s->type_instance, sizeof s->type_instance, "%s", n->type_instance);
		snprintf(s->message, sizeof s->message, "%s", n->message);
	}
	pthread_mutex_unlock(&stub_lock);
	return 0;
}

void plugin_log(int level, const char *format, ...)
{
	va_list ap;

	va_start(ap, format);
	if (stub_quiet) {
		char buf[1024];

		vsnprintf(buf, sizeof buf, format, ap); /* formatted all the same */
		va_end(ap);
		return;
	}
	fprintf(stderr, "[collectd-stub %d] ", level);
	vfprintf(stderr, format, ap);
	fputc('\n', stderr);
	va_end(ap);
}

size_t stub_values(stub_value *out, size_t max)
{
	size_t n;

	pthread_mutex_lock(&stub_lock);
	n = stub_nvals < max ? stub_nvals : max;
	memcpy(out, stub_vals, n * sizeof *out);
	pthread_mutex_unlock(&stub_lock);
	return n;
}

size_t stub_notices(stub_notice *out, size_t max)
{
	size_t n;

	pthread_mutex_lock(&stub_lock);
	n = stub_nnots < max ? stub_nnots : max;
	memcpy(out, stub_nots, n * sizeof *out);
	pthread_mutex_unlock(&stub_lock);
	return n;
}

int stub_threads_started(void)
{
	return stub_nthreads;
}
