/* one-xml.h — the XML documents of the lab endpoint, in the shapes oned 6.10 writes them
 * (notes/opennebula-api.md §4): full <VM> with every history record, short <VM> bodies of
 * <VM_POOL>, <HOST> and <HOST_POOL>. Pure: model in, text out.
 */
#ifndef TH_LAB_ONE_XML_H
#define TH_LAB_ONE_XML_H

#include <stddef.h>

#include "one-model.h"

/* A growable string; on allocation failure `failed` is set and appends become no-ops. */
typedef struct one_buf {
	char *s;
	size_t len, cap;
	int failed;
} one_buf;

void one_buf_free(one_buf *b);
void one_buf_printf(one_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Text with &, <, > escaped. */
void one_buf_text(one_buf *b, const char *s);
/* <![CDATA[s]]>, splitting any "]]>" inside s. */
void one_buf_cdata(one_buf *b, const char *s);

/* Owner of every lab object (UNAME/GNAME in the documents). */
typedef struct one_owner {
	const char *uname;
	const char *gname;
} one_owner;

/* The lab's owner: oneadmin / oneadmin. */
extern const one_owner one_lab_owner;

/* one.vm.info */
void one_xml_vm(one_buf *b, const lab_vm *vm, const one_owner *o);
/* one.vmpool.info: filter_flag, start_id, end_id, state as the call receives them. Returns 0,
 * or -1 with *f (XML_RPC_API) when the filter flag or the state is out of range. */
int one_xml_vmpool(one_buf *b, const one_model *m, const one_owner *o, int filter_flag,
                   int start_id, int end_id, int state, one_fail *f);
/* one.host.info */
void one_xml_host(one_buf *b, const one_model *m, const lab_host *h);
/* one.hostpool.info */
void one_xml_hostpool(one_buf *b, const one_model *m);

#endif
