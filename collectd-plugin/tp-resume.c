/* tp-resume.c — reopen sessions left "open" in the archive (see tp-resume.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "codec-json.h"
#include "codec-marker.h"
#include "codec-record.h"
#include "tp-resume.h"

th_err tp_resume_session(tp_core *c, tp_archive *a, const char *json, size_t len,
                         const char *rrd_path, int64_t now_ns, char *errbuf)
{
	yajl_val root = NULL, ms, os, cb;
	th_marker *m = NULL;
	th_record *o = NULL;
	size_t nm = 0, no = 0;
	int64_t first = 0, last = 0;
	struct stat st;
	char w[48];
	th_err e;

	if ((e = th_json_parse(json, len, &root, errbuf)))
		return e;
	cb = th_json_member(root, "closed_by");
	if (!YAJL_IS_STRING(cb) || strcmp(cb->u.string, "open") != 0) {
		yajl_val id = th_json_member(root, "session");

		/* Closed: nothing to resume, but its markers must never reopen it. */
		if (YAJL_IS_STRING(id) && th_codec_session_ok(id->u.string) &&
		    tp_core_mark_finished(c, id->u.string) != TH_OK)
			e = th_seterr(errbuf, TH_ERR_NOMEM, "out of memory");
		else
			e = TH_ERR_NOTFOUND;
		yajl_tree_free(root);
		return e;
	}
	ms = th_json_member(root, "markers");
	os = th_json_member(root, "outages");
	if ((e = th_json_int(root, "session", "first", 0, TH_EPOCH_MAX, &first, errbuf)))
		goto out;
	if (!YAJL_IS_ARRAY(ms) || ms->u.array.len == 0 || !YAJL_IS_ARRAY(os)) {
		e = th_seterr(errbuf, TH_ERR_INVALID, "session: markers/outages missing");
		goto out;
	}
	m = calloc(ms->u.array.len, sizeof *m);
	o = calloc(os->u.array.len + 1, sizeof *o);
	if (m == NULL || o == NULL) {
		e = th_seterr(errbuf, TH_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (nm = 0; nm < ms->u.array.len; nm++) {
		snprintf(w, sizeof w, "markers[%zu]", nm);
		if ((e = th_marker_decode_value(ms->u.array.values[nm], w, &m[nm], errbuf)))
			goto out;
	}
	for (no = 0; no < os->u.array.len; no++) {
		snprintf(w, sizeof w, "outages[%zu]", no);
		if ((e = th_record_decode_value(os->u.array.values[no], w, &o[no], errbuf)))
			goto out;
	}
	last = first - 1;
	if (stat(rrd_path, &st) == 0 && (e = tp_archive_last(a, rrd_path, &last, errbuf)))
		goto out;
	e = tp_core_resume(c, m, nm, o, no, first, last, now_ns, errbuf);
	if (e == TH_OK) {
		/* Rows accepted before the restart but not final yet. */
		char pend[1400], *text = NULL;
		size_t plen = 0;

		snprintf(pend, sizeof pend, "%.*s.pending", (int)(strlen(rrd_path) - 4), rrd_path);
		if (stat(pend, &st) == 0 && (e = tp_read_file(pend, &text, &plen, errbuf)) == TH_OK)
			e = tp_core_resume_rows(c, m[0].session, text, plen, errbuf);
		free(text);
	}
out:
	free(m);
	free(o);
	yajl_tree_free(root);
	return e;
}

th_err tp_resume_dir(tp_core *c, tp_archive *a, int64_t now_ns, size_t *resumed,
                     void (*warn)(const char *msg), char *errbuf)
{
	DIR *top = opendir(a->dir), *sub;
	struct dirent *vd, *sd;
	char path[1400], rrd[1400], msg[TH_ERRLEN + 64], err[TH_ERRLEN];

	*resumed = 0;
	if (top == NULL)
		return errno == ENOENT ? TH_OK
		                       : th_seterr(errbuf, TH_ERR_IO, "ArchiveDir %s: %s", a->dir,
		                                   strerror(errno));
	while ((vd = readdir(top)) != NULL) {
		if (vd->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", a->dir, vd->d_name);
		if ((sub = opendir(path)) == NULL)
			continue;
		while ((sd = readdir(sub)) != NULL) {
			size_t nl = strlen(sd->d_name), len = 0;
			char *text = NULL;
			th_err e;

			if (nl < 6 || strcmp(sd->d_name + nl - 5, ".json") != 0)
				continue;
			snprintf(path, sizeof path, "%s/%s/%s", a->dir, vd->d_name, sd->d_name);
			snprintf(rrd, sizeof rrd, "%.*s.rrd", (int)(strlen(path) - 5), path);
			e = tp_read_file(path, &text, &len, err);
			if (e == TH_OK)
				e = tp_resume_session(c, a, text, len, rrd, now_ns, err);
			free(text);
			if (e == TH_OK)
				(*resumed)++;
			else if (e != TH_ERR_NOTFOUND && warn) {
				snprintf(msg, sizeof msg, "%s: not resumed: %s", path, err);
				warn(msg);
			}
		}
		closedir(sub);
	}
	closedir(top);
	return TH_OK;
}
