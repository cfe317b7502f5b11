/* records-read.c — JSON lines → th_record array. */
#include "themis-config.h"

#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "codec-record.h"
#include "records-read.h"

th_err records_read(const char *text, th_record **recs, size_t *n, size_t *skipped, char *errbuf)
{
	size_t cap = 64, cnt = 0, skip = 0;
	th_record *arr = malloc(cap * sizeof *arr);
	const char *p = text;

	if (arr == NULL)
		return th_seterr(errbuf, TH_ERR_NOMEM, "out of memory reading records");
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		char *line = strndup(p, len);
		yajl_val v;

		p += len + (nl != NULL);
		if (line == NULL) {
			free(arr);
			return th_seterr(errbuf, TH_ERR_NOMEM, "out of memory reading records");
		}
		if (len == 0) {
			free(line);
			continue;
		}
		v = yajl_tree_parse(line, NULL, 0);
		free(line);
		if (v == NULL) {
			skip++;
			continue;
		}
		if (cnt == cap) {
			th_record *na = realloc(arr, cap * 2 * sizeof *arr);
			if (na == NULL) {
				yajl_tree_free(v);
				free(arr);
				return th_seterr(errbuf, TH_ERR_NOMEM,
				                 "out of memory reading records");
			}
			arr = na;
			cap *= 2;
		}
		if (th_record_decode_value(v, "record", &arr[cnt], NULL) == TH_OK)
			cnt++;
		else
			skip++;
		yajl_tree_free(v);
	}
	*recs = arr;
	*n = cnt;
	if (skipped != NULL)
		*skipped = skip;
	return TH_OK;
}
