/* one-pub.h — the ZeroMQ PUB socket on which the lab endpoint publishes oned's hook-manager
 * events (one-events.h), as oned's hook manager driver does. Publishing never blocks the
 * caller: frames are queued up to a high-water mark per subscriber and dropped beyond it, so a
 * slow or absent subscriber loses events, exactly as with oned.
 */
#ifndef TH_LAB_ONE_PUB_H
#define TH_LAB_ONE_PUB_H

#include "one-events.h"
#include "th-error.h"

typedef struct one_pub one_pub;

/* Binds a PUB socket on endpoint ("tcp://ADDR:PORT") with ZMQ_SNDHWM hwm (messages). */
th_err one_pub_open(one_pub **out, const char *endpoint, int hwm, char *errbuf);

/* Publishes ev's two messages [key_vm, payload] and [key_state, payload] without waiting.
 * Safe from any thread. TH_ERR_NET when ZeroMQ refused a frame (the event is lost). */
th_err one_pub_send(one_pub *p, const one_event *ev, char *errbuf);

/* Closes the socket (queued frames are dropped) and frees p. NULL is a no-op. */
void one_pub_close(one_pub *p);

#endif
