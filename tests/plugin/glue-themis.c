/* glue-themis.c — compiles the plugin glue (collectd-plugin/themis*.c) into the glue test, so
 * its object stays in this directory. */
#include "themis.c"
#include "themis-archive.c"
#include "themis-deliver.c"
#include "themis-probe.c"
