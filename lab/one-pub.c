/* one-pub.c — ZeroMQ publisher of the lab endpoint's hook-manager events (see one-pub.h). */
#include "themis-config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "one-pub.h"

struct one_pub {
	void *ctx;
	void *sock;
	pthread_mutex_t lock; /* a ZeroMQ socket is used by one thread at a time */
};

th_err one_pub_open(one_pub **out, const char *endpoint, int hwm, char *errbuf)
{
	one_pub *p = calloc(1, sizeof *p);
	int linger = 0;

	*out = NULL;
	if (p == NULL)
		return th_seterr(errbuf, TH_ERR_NOMEM, "events %s: out of memory", endpoint);
	p->ctx = zmq_ctx_new();
	if (p->ctx == NULL) {
		free(p);
		return th_seterr(errbuf, TH_ERR_NET, "events %s: zmq_ctx_new: %s", endpoint,
		                 zmq_strerror(errno));
	}
	p->sock = zmq_socket(p->ctx, ZMQ_PUB);
	if (p->sock == NULL || zmq_setsockopt(p->sock, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
	    zmq_setsockopt(p->sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
	    zmq_bind(p->sock, endpoint) != 0) {
		th_err e = th_seterr(errbuf, TH_ERR_NET, "events %s: cannot publish there: %s",
		                     endpoint, zmq_strerror(errno));

		if (p->sock != NULL)
			zmq_close(p->sock);
		zmq_ctx_term(p->ctx);
		free(p);
		return e;
	}
	pthread_mutex_init(&p->lock, NULL);
	*out = p;
	return TH_OK;
}

/* One two-frame message; never waits (ZMQ_DONTWAIT). */
static int one_pub_msg(void *sock, const char *key, const one_event *ev)
{
	if (zmq_send(sock, key, strlen(key), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
		return -1;
	return zmq_send(sock, ev->payload, ev->payload_len, ZMQ_DONTWAIT) < 0 ? -1 : 0;
}

th_err one_pub_send(one_pub *p, const one_event *ev, char *errbuf)
{
	int rc, err = 0;

	pthread_mutex_lock(&p->lock);
	rc = one_pub_msg(p->sock, ev->key_vm, ev);
	if (rc == 0)
		rc = one_pub_msg(p->sock, ev->key_state, ev);
	if (rc != 0)
		err = errno;
	pthread_mutex_unlock(&p->lock);
	if (rc != 0)
		return th_seterr(errbuf, TH_ERR_NET, "event \"%s\" not published: %s", ev->key_vm,
		                 zmq_strerror(err));
	return TH_OK;
}

void one_pub_close(one_pub *p)
{
	if (p == NULL)
		return;
	zmq_close(p->sock);
	zmq_ctx_term(p->ctx);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
