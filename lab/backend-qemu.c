/* backend-qemu.c — the real hypervisor backend: QEMU processes driven over QMP. */
#include "themis-config.h"

#include <stdio.h>

#include "one-backend.h"

int one_backend_qemu_init(one_backend *b, const char *hook, const char *qmp_dir,
                          const char *info_dir, char *errbuf)
{
	(void)b;
	th_seterr(errbuf, TH_ERR_STATE, "the qemu backend is not available in this build (hook %s)",
	          hook);
	return -1;
}
