/* oneway-impl.c — compiles the agent's one-way maths and wire format into the unit test. */
#include "oneway-engine.c"
#include "oneway-wire.c"
