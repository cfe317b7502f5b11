/* iperf-impl.c — compiles the agent's iperf3 output parser into the unit test. */
#include "iperf-parse.c"
