/* backend-sim.c — the simulated hypervisor backend: a migration is a sleep of a configured
 * length; injected fail/lose faults end it with that outcome. No processes, no network. */
#include "themis-config.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "one-backend.h"

typedef struct sim_ctx {
	long duration_ms;
} sim_ctx;

static void sim_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0)
		;
}

static one_mig_result sim_migrate(void *ctx, const one_migration *mig, char *msg, size_t msglen)
{
	sim_ctx *s = ctx;

	sim_sleep_ms(s->duration_ms);
	switch (mig->fault.kind) {
	case LAB_FAULT_FAIL:
		snprintf(msg, msglen, "sim: injected failure migrating %s from %s to %s",
		         mig->vm_name, mig->src_host, mig->dst_host);
		return ONE_MIG_FAILED;
	case LAB_FAULT_LOSE:
		snprintf(msg, msglen, "sim: injected loss of %s during migration to %s",
		         mig->vm_name, mig->dst_host);
		return ONE_MIG_LOST;
	default:
		return ONE_MIG_OK;
	}
}

static int sim_boot(void *ctx, int vm_id, const char *vm_name, int hid, const char *host, char *msg,
                    size_t msglen)
{
	sim_sleep_ms(100);
	return 0;
}

static void sim_destroy(void *ctx)
{
	free(ctx);
}

int one_backend_sim_init(one_backend *b, long duration_ms)
{
	sim_ctx *s = calloc(1, sizeof *s);

	if (s == NULL)
		return -1;
	s->duration_ms = duration_ms;
	b->name = "sim";
	b->ctx = s;
	b->migrate = sim_migrate;
	b->boot = sim_boot;
	b->destroy = sim_destroy;
	return 0;
}
