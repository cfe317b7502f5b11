/* one-fault.c — fault injection control files of the lab endpoint (see one-fault.h). */
#include "themis-config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "one-fault.h"

th_err lab_fault_parse(const char *text, lab_fault *f, char *errbuf)
{
	char word[16];
	const char *p = text, *end;
	size_t n;

	f->kind = LAB_FAULT_NONE;
	f->slow_ms = 0;
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '\0')
		return TH_OK;
	for (end = p; *end && !isspace((unsigned char)*end); end++)
		;
	n = (size_t)(end - p);
	if (n >= sizeof word)
		return th_seterr(errbuf, TH_ERR_INVALID, "unknown fault \"%.*s\"", (int)n, p);
	memcpy(word, p, n);
	word[n] = '\0';
	while (isspace((unsigned char)*end))
		end++;
	if (strcmp(word, "slow") == 0) {
		char *stop;
		long ms;

		errno = 0;
		ms = strtol(end, &stop, 10);
		if (stop == end || errno != 0 || ms <= 0)
			return th_seterr(
			    errbuf, TH_ERR_INVALID,
			    "fault \"slow\" needs a positive number of milliseconds, got "
			    "\"%s\"",
			    end);
		end = stop;
		while (isspace((unsigned char)*end))
			end++;
		if (*end != '\0')
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "trailing text after fault: \"%s\"", end);
		f->kind = LAB_FAULT_SLOW;
		f->slow_ms = ms;
		return TH_OK;
	}
	if (*end != '\0')
		return th_seterr(errbuf, TH_ERR_INVALID, "trailing text after fault \"%s\": \"%s\"",
		                 word, end);
	if (strcmp(word, "fail") == 0)
		f->kind = LAB_FAULT_FAIL;
	else if (strcmp(word, "hang") == 0)
		f->kind = LAB_FAULT_HANG;
	else if (strcmp(word, "lose") == 0)
		f->kind = LAB_FAULT_LOSE;
	else
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "unknown fault \"%s\" (fail, hang, lose, slow MS)", word);
	return TH_OK;
}

static th_err one_fault_read(const char *path, lab_fault *f, int *found, char *errbuf)
{
	char line[128];
	FILE *fp = fopen(path, "r");
	th_err e;

	*found = 0;
	if (fp == NULL) {
		if (errno == ENOENT)
			return TH_OK;
		return th_seterr(errbuf, TH_ERR_IO, "%s: %s", path, strerror(errno));
	}
	if (fgets(line, sizeof line, fp) == NULL)
		line[0] = '\0';
	fclose(fp);
	unlink(path);
	*found = 1;
	e = lab_fault_parse(line, f, errbuf);
	if (e != TH_OK) {
		char tmp[TH_ERRLEN];

		snprintf(tmp, sizeof tmp, "%s", errbuf ? errbuf : "");
		return th_seterr(errbuf, e, "%s: %s", path, tmp);
	}
	return TH_OK;
}

th_err lab_fault_take(const char *dir, int vm_id, lab_fault *f, char *errbuf)
{
	char path[4096];
	int found;
	th_err e;

	f->kind = LAB_FAULT_NONE;
	f->slow_ms = 0;
	if (dir == NULL)
		return TH_OK;
	snprintf(path, sizeof path, "%s/fault.%d", dir, vm_id);
	e = one_fault_read(path, f, &found, errbuf);
	if (e != TH_OK || found)
		return e;
	snprintf(path, sizeof path, "%s/fault", dir);
	return one_fault_read(path, f, &found, errbuf);
}
