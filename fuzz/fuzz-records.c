/* fuzz-records.c — libFuzzer harness for th_records_decode (a POST /v1/records body). Every
 * record it accepts must encode back to JSON (record-json.c) and decode again to the same kind,
 * vm and stream: what the plugin accepts, the agent's encoder can write. */
#include "themis-config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec-record.h"
#include "record-json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	th_record *r = NULL, *back = NULL;
	size_t n = 0, nback = 0;
	char err[TH_ERRLEN];

	if (th_records_decode((const char *)data, size, &r, &n, err) != TH_OK)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char *json = NULL;
		size_t len = 0;

		if (th_record_to_json(&r[i], &json, &len, err) != TH_OK)
			abort(); /* a decoded record the encoder refuses */
		if (th_records_decode(json, len, &back, &nback, err) != TH_OK || nback != 1 ||
		    back[0].kind != r[i].kind || strcmp(back[0].vm, r[i].vm) != 0 ||
		    strcmp(back[0].stream, r[i].stream) != 0)
			abort(); /* the encoder wrote what the decoder refuses */
		free(back);
		free(json);
	}
	free(r);
	return 0;
}
