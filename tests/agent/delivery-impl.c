/* delivery-impl.c — compiles the agent's delivery engine (agent/report-url.c and the files of
 * its parts) into the test programs, which cannot list sources of another directory. */
#include "report-url.c"
#include "report-curl.c"
#include "report-spool.c"
#include "report-send.c"
