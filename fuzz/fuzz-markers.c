/* fuzz-markers.c — libFuzzer harness for th_markers_decode (a POST /v1/markers body). */
#include "themis-config.h"

#include <stdint.h>
#include <stdlib.h>

#include "codec-marker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	th_marker *m = NULL;
	size_t n = 0;
	char err[TH_ERRLEN];

	if (th_markers_decode((const char *)data, size, &m, &n, err) != TH_OK)
		return 0;
	for (size_t i = 0; i < n; i++) {
		/* every accepted marker names a valid session, event and outcome (or none) */
		if (!th_codec_session_ok(m[i].session) || th_event_name(m[i].event) == NULL ||
		    (m[i].outcome != TH_OUT_NONE && th_outcome_name(m[i].outcome) == NULL))
			abort();
	}
	free(m);
	return 0;
}
