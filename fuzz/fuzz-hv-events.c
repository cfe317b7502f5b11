/* fuzz-hv-events.c — libFuzzer harness for hv_events_parse: an --hv-events command's output
 * (QMP event lines, virsh event lines, anything), read as the source's and as the
 * destination's, then the pause/resume choice over both. */
#include "themis-config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "hv-events.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static hv_events src, dst;
	const hv_event *p, *r;
	char err[TH_ERRLEN];

	hv_events_parse((const char *)data, size, HV_SIDE_SRC, &src, err);
	hv_events_parse((const char *)data, size, HV_SIDE_DST, &dst, err);
	if (src.n > HV_EVENTS_MAX || dst.n > HV_EVENTS_MAX)
		abort();
	hv_events_pick(&src, &dst, &p, &r);
	if (p != NULL && (p->kind != HV_EV_PAUSE || !isfinite(p->t)))
		abort();
	if (r != NULL && (r->kind != HV_EV_RESUME || (p != NULL && r->t < p->t)))
		abort();
	return 0;
}
