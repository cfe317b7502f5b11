/* th-ports.h — the default ports every part of Themis agrees on (DESIGN §5.4). A port given on a
 * command line or in a configuration always wins; these are used only when none is given. */
#ifndef TH_PORTS_H
#define TH_PORTS_H

/* UDP: the reflector in the VM (themis-agent reflect, the trigger, the plugin's <Target>, the
 * reflector's systemd unit, the lab). */
#define TH_REFLECT_PORT     7300
#define TH_REFLECT_PORT_STR "7300"

/* TCP: the collectd plugin's HTTP(S) listener. */
#define TH_PLUGIN_PORT     8741
#define TH_PLUGIN_PORT_STR "8741"

#endif
