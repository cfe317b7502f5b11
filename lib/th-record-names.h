/* th-record-names.h — the JSON names of th-record.h's enum values ("second", "up", ...), shared
 * by the encoder (record-json) and the decoder (codec-record). */
#ifndef TH_RECORD_NAMES_H
#define TH_RECORD_NAMES_H

#include "th-record.h"

/* Names of enum values as used in JSON; NULL for an invalid value. */
const char *th_record_kind_name(th_record_kind k);
const char *th_direction_name(th_direction d);

#endif
