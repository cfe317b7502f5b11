/* delivery-impl.c — compiles the agent's delivery engine (agent/report-url.c) into the test
 * programs, which cannot list sources of another directory. */
#include "report-url.c"
