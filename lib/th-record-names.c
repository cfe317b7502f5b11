/* th-record-names.c — the one table of JSON names per enum (see th-record-names.h). */
#include "themis-config.h"

#include <stddef.h>
#include <string.h>

#include "th-record-names.h"

#define TH_NNAMES(t) (sizeof(t) / sizeof(t)[0])

static const char *const th_kind_names[] = {
    [TH_REC_SECOND] = "second",
    [TH_REC_OUTAGE] = "outage",
    [TH_REC_IPERF] = "iperf",
};

static const char *const th_direction_names[] = {
    [TH_DIR_UP] = "up",
    [TH_DIR_DOWN] = "down",
    [TH_DIR_BOTH] = "both",
    [TH_DIR_UNKNOWN] = "unknown",
};

static const char *const th_event_names[] = {
    [TH_EV_SESSION_START] = "session-start",
    [TH_EV_MIGRATION_REQUEST] = "migration-request",
    [TH_EV_MIGRATION_START] = "migration-start",
    [TH_EV_MIGRATION_END] = "migration-end",
    [TH_EV_SESSION_END] = "session-end",
    [TH_EV_HV_STATUS] = "hv-status",
    [TH_EV_HV_PAUSE] = "hv-pause",
    [TH_EV_HV_RESUME] = "hv-resume",
};

static const char *const th_outcome_names[] = {
    [TH_OUT_NONE] = "none",       [TH_OUT_SUCCESS] = "success", [TH_OUT_FAILED] = "failed",
    [TH_OUT_TIMEOUT] = "timeout", [TH_OUT_LOST] = "lost",       [TH_OUT_ABORTED] = "aborted",
};

static const char *const th_origin_names[] = {
    [TH_ORIGIN_RUN] = "run",
    [TH_ORIGIN_OBSERVED] = "observed",
};

/* names[v], NULL outside the table or on a hole. */
static const char *th_name_of(const char *const *names, size_t n, int v)
{
	return v >= 0 && (size_t)v < n ? names[v] : NULL;
}

/* The index whose name is s; -1 when none is. */
static int th_name_find(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (names[i] != NULL && s != NULL && strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

const char *th_record_kind_name(th_record_kind k)
{
	return th_name_of(th_kind_names, TH_NNAMES(th_kind_names), (int)k);
}

th_record_kind th_record_kind_parse(const char *s)
{
	int i = th_name_find(th_kind_names, TH_NNAMES(th_kind_names), s);

	return i < 0 ? (th_record_kind)0 : (th_record_kind)i;
}

const char *th_direction_name(th_direction d)
{
	return th_name_of(th_direction_names, TH_NNAMES(th_direction_names), (int)d);
}

th_direction th_direction_parse(const char *s)
{
	int i = th_name_find(th_direction_names, TH_NNAMES(th_direction_names), s);

	return i < 0 ? (th_direction)0 : (th_direction)i;
}

const char *th_event_name(th_event e)
{
	return th_name_of(th_event_names, TH_NNAMES(th_event_names), (int)e);
}

th_event th_event_parse(const char *s)
{
	int i = th_name_find(th_event_names, TH_NNAMES(th_event_names), s);

	return i < 0 ? (th_event)0 : (th_event)i;
}

const char *th_outcome_name(th_outcome o)
{
	return th_name_of(th_outcome_names, TH_NNAMES(th_outcome_names), (int)o);
}

int th_outcome_parse(const char *s)
{
	return th_name_find(th_outcome_names, TH_NNAMES(th_outcome_names), s);
}

const char *th_origin_name(th_origin o)
{
	return th_name_of(th_origin_names, TH_NNAMES(th_origin_names), (int)o);
}

th_origin th_origin_parse(const char *s)
{
	int i = th_name_find(th_origin_names, TH_NNAMES(th_origin_names), s);

	return i < 0 ? TH_ORIGIN_NONE : (th_origin)i;
}
