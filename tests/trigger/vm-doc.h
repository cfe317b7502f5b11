/* vm-doc.h — builds one.vm.info documents for the tests in the shape oned writes them
 * (6.10 element order, CDATA-wrapped template values and MADs, all history records). */
#ifndef VM_DOC_H
#define VM_DOC_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct doc_hist {
	int seq, hid;
	const char *host;
	int64_t stime, etime, rstime, retime;
	int action;
} doc_hist;

/* Writes the document into buf (size bytes); returns its length. */
static inline size_t vm_doc(char *buf, size_t size, int id, const char *name, int state, int lcm,
                            const char *error, const doc_hist *h, int nh)
{
	size_t n = 0;

	n += (size_t)snprintf(buf + n, size - n,
	                      "<VM><ID>%d</ID><UID>0</UID><GID>0</GID><UNAME>oneadmin</UNAME>"
	                      "<GNAME>oneadmin</GNAME><NAME>%s</NAME><LAST_POLL>1718003590"
	                      "</LAST_POLL><STATE>%d</STATE><LCM_STATE>%d</LCM_STATE>"
	                      "<PREV_STATE>%d</PREV_STATE><PREV_LCM_STATE>%d</PREV_LCM_STATE>"
	                      "<RESCHED>0</RESCHED><STIME>1717999990</STIME><ETIME>0</ETIME>"
	                      "<DEPLOY_ID>one-%d</DEPLOY_ID><MONITORING><CPU><![CDATA[3.02]]>"
	                      "</CPU></MONITORING><TEMPLATE><CONTEXT><NETWORK><![CDATA[YES]]>"
	                      "</NETWORK></CONTEXT><CPU><![CDATA[1]]></CPU><VMID><![CDATA[%d]]>"
	                      "</VMID></TEMPLATE><USER_TEMPLATE>",
	                      id, name, state, lcm, state, lcm, id, id);
	if (error != NULL)
		n += (size_t)snprintf(buf + n, size - n, "<ERROR><![CDATA[%s]]></ERROR>", error);
	n += (size_t)snprintf(buf + n, size - n,
	                      "<MIGTEST_TAG><![CDATA[run-7]]></MIGTEST_TAG></USER_TEMPLATE>"
	                      "<HISTORY_RECORDS>");
	for (int i = 0; i < nh; i++)
		n += (size_t)snprintf(
		    buf + n, size - n,
		    "<HISTORY><OID>%d</OID><SEQ>%d</SEQ><HOSTNAME>%s</HOSTNAME><HID>%d</HID>"
		    "<CID>0</CID><STIME>%lld</STIME><ETIME>%lld</ETIME><VM_MAD><![CDATA[kvm]]>"
		    "</VM_MAD><TM_MAD><![CDATA[shared]]></TM_MAD><DS_ID>0</DS_ID><PSTIME>0</PSTIME>"
		    "<PETIME>0</PETIME><RSTIME>%lld</RSTIME><RETIME>%lld</RETIME><ESTIME>0</ESTIME>"
		    "<EETIME>0</EETIME><ACTION>%d</ACTION><UID>-1</UID><GID>-1</GID>"
		    "<REQUEST_ID>-1</REQUEST_ID></HISTORY>",
		    id, h[i].seq, h[i].host, h[i].hid, (long long)h[i].stime, (long long)h[i].etime,
		    (long long)h[i].rstime, (long long)h[i].retime, h[i].action);
	n += (size_t)snprintf(buf + n, size - n,
	                      "</HISTORY_RECORDS><BACKUPS><BACKUP_CONFIG/><BACKUP_IDS></BACKUP_IDS>"
	                      "</BACKUPS></VM>");
	return n;
}

#endif
