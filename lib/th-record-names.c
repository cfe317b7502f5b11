/* th-record-names.c — JSON names of record enum values (see th-record-names.h). */
#include "themis-config.h"

#include <stddef.h>

#include "th-record-names.h"

const char *th_record_kind_name(th_record_kind k)
{
	switch (k) {
	case TH_REC_SECOND:
		return "second";
	case TH_REC_OUTAGE:
		return "outage";
	case TH_REC_IPERF:
		return "iperf";
	}
	return NULL;
}

const char *th_direction_name(th_direction d)
{
	switch (d) {
	case TH_DIR_UP:
		return "up";
	case TH_DIR_DOWN:
		return "down";
	case TH_DIR_BOTH:
		return "both";
	case TH_DIR_UNKNOWN:
		return "unknown";
	}
	return NULL;
}
