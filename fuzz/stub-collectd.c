/* stub-collectd.c — compiles the collectd stand-in of the plugin tests
 * (tests/plugin/collectd-stub.c) into the config harness, so its object stays in this
 * directory. */
#include "collectd-stub.c"
