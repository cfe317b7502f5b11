/* fuzz-iperf.c — libFuzzer harness for th_iperf_decode: the whole `iperf3 --json` document and
 * `--json-stream` lines alike (the decoder tells them apart itself). */
#include "themis-config.h"

#include <stdint.h>
#include <stdlib.h>

#include "codec-iperf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	th_record *r = NULL;
	size_t n = 0;
	char err[TH_ERRLEN];

	if (th_iperf_decode((const char *)data, size, "vm-42", "ip1", &r, &n, err) != TH_OK)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (r[i].kind != TH_REC_IPERF)
			abort();
	free(r);
	return 0;
}
