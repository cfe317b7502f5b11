/* probe-engine.c — the prober's event loop: one connected UDP socket per target, a timerfd for
 * the schedule, an eventfd to stop; the maths lives in probe-stream.c. */
#include "themis-config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "probe-engine.h"
#include "probe-wire.h"

typedef struct tgt {
	th_target conf;
	th_stream *s;
	int fd;
	uint32_t stream_id;
	th_hmac hmac;
	bool keyed;
	th_target_stats st; /* socket-level counters; stream counters copied in stats() */
	int64_t key;        /* when this target next needs attention (heap order) */
	size_t pos;         /* its place in the heap */
} tgt;

struct th_prober {
	th_record_cb cb;
	void *arg;
	tgt *t;
	size_t n, cap;
	th_clock clock;
	int epfd, timerfd, stopfd;
	bool ran;
	size_t *heap;   /* target indices, earliest key first: one wake-up serves only who is due */
	bool no_pwait2; /* kernel without epoll_pwait2: wait on the timer file instead */
};

#define EV_STOP  UINT64_MAX
#define EV_TIMER (UINT64_MAX - 1)

/* The stream's own defaults, so both stay the same. */
void th_target_defaults(th_target *t)
{
	th_stream_conf c;

	th_stream_conf_defaults(&c);
	memset(t, 0, sizeof *t);
	t->interval_ns = c.interval_ns;
	t->loss_timeout_ns = c.loss_timeout_ns;
	t->stall_ns = c.stall_ns;
	t->min_lost = c.min_lost;
	t->hold_max_ns = c.hold_max_ns;
}

th_err th_target_set_addr(th_target *t, const char *addrport, char *errbuf)
{
	const char *colon, *host = addrport;
	size_t hlen;

	if (addrport[0] == '[') {
		const char *close = strchr(addrport, ']');
		if (close == NULL || close[1] != ':')
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "address \"%s\": expected [IPv6]:PORT", addrport);
		host = addrport + 1;
		hlen = (size_t)(close - host);
		colon = close + 1;
	} else {
		colon = strrchr(addrport, ':');
		if (colon == NULL || strchr(addrport, ':') != colon)
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "address \"%s\": expected ADDR:PORT (IPv6 as [ADDR]:PORT)",
			                 addrport);
		hlen = (size_t)(colon - addrport);
	}
	if (hlen == 0 || hlen >= sizeof t->host)
		return th_seterr(errbuf, TH_ERR_INVALID, "address \"%s\": host missing or too long",
		                 addrport);
	const char *port = colon + 1;
	char *end;
	long pn = strtol(port, &end, 10);
	if (*port == '\0' || *end != '\0' || pn < 1 || pn > 65535)
		return th_seterr(errbuf, TH_ERR_INVALID, "address \"%s\": port must be 1..65535",
		                 addrport);
	memcpy(t->host, host, hlen);
	t->host[hlen] = '\0';
	snprintf(t->port, sizeof t->port, "%ld", pn);
	return TH_OK;
}

th_err th_key_load(const char *path, uint8_t *key, size_t *len, char *errbuf)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	ssize_t n;

	if (fd < 0)
		return th_seterr(errbuf, TH_ERR_IO, "key file %s: %s", path, strerror(errno));
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return th_seterr(errbuf, TH_ERR_INVALID, "key file %s is not a regular file", path);
	}
	if (sb.st_size > TH_KEY_MAX) {
		close(fd);
		return th_seterr(errbuf, TH_ERR_TOOBIG, "key file %s has %lld bytes, at most %d",
		                 path, (long long)sb.st_size, TH_KEY_MAX);
	}
	n = read(fd, key, TH_KEY_MAX);
	close(fd);
	if (n < 0)
		return th_seterr(errbuf, TH_ERR_IO, "key file %s: %s", path, strerror(errno));
	if (n < TH_KEY_MIN)
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "key file %s has %zd bytes, at least %d needed", path, n,
		                 TH_KEY_MIN);
	*len = (size_t)n;
	return TH_OK;
}

th_err th_prober_new(th_prober **out, th_record_cb cb, void *arg, char *errbuf)
{
	th_prober *p = calloc(1, sizeof *p);

	*out = NULL;
	if (p == NULL)
		return th_seterr(errbuf, TH_ERR_NOMEM, "out of memory creating the prober");
	p->cb = cb;
	p->arg = arg;
	p->epfd = p->timerfd = p->stopfd = -1;
	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	p->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	p->stopfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->epfd < 0 || p->timerfd < 0 || p->stopfd < 0) {
		th_err e = th_seterr(errbuf, TH_ERR_IO, "prober: %s", strerror(errno));
		th_prober_free(p);
		return e;
	}
	struct epoll_event ev = {.events = EPOLLIN};
	ev.data.u64 = EV_STOP;
	epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->stopfd, &ev);
	ev.data.u64 = EV_TIMER;
	epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->timerfd, &ev);
	th_clock_init(&p->clock);
	*out = p;
	return TH_OK;
}

static th_err open_socket(tgt *t, char *errbuf)
{
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res, *ai;
	int rc = getaddrinfo(t->conf.host, t->conf.port, &hints, &res);

	if (rc != 0)
		return th_seterr(errbuf, TH_ERR_NET, "target %s:%s: %s", t->conf.host, t->conf.port,
		                 gai_strerror(rc));
	int err = 0;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			int sz = 1 << 20;
			if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) != 0)
				setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
			t->fd = fd;
			freeaddrinfo(res);
			return TH_OK;
		}
		err = errno;
		close(fd);
	}
	freeaddrinfo(res);
	return th_seterr(errbuf, TH_ERR_NET, "target %s:%s: %s", t->conf.host, t->conf.port,
	                 strerror(err));
}

th_err th_prober_add(th_prober *p, const th_target *conf, char *errbuf)
{
	th_err e;

	if (p->ran)
		return th_seterr(errbuf, TH_ERR_STATE, "targets can only be added before running");
	if (conf->vm[0] == '\0')
		return th_seterr(errbuf, TH_ERR_INVALID, "target %s:%s has no VM name", conf->host,
		                 conf->port);
	if (p->n == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 4;
		tgt *nt = realloc(p->t, ncap * sizeof *nt);
		if (nt == NULL)
			return th_seterr(errbuf, TH_ERR_NOMEM, "out of memory adding target %s",
			                 conf->host);
		p->t = nt;
		p->cap = ncap;
	}
	tgt *t = &p->t[p->n];
	memset(t, 0, sizeof *t);
	t->conf = *conf;
	t->fd = -1;
	if (t->conf.stream[0] == '\0') {
		char host[64] = "supervisor";
		gethostname(host, sizeof host - 1);
		snprintf(t->conf.stream, sizeof t->conf.stream, "%.50s/%.60s/%.15s", host, conf->vm,
		         conf->port);
	}
	/* validate the maths parameters now, with a throw-away stream */
	th_stream_conf sc;
	th_stream *probe_s;
	th_stream_conf_defaults(&sc);
	snprintf(sc.vm, sizeof sc.vm, "%s", t->conf.vm);
	snprintf(sc.stream, sizeof sc.stream, "%s", t->conf.stream);
	sc.interval_ns = conf->interval_ns;
	sc.loss_timeout_ns = conf->loss_timeout_ns;
	sc.stall_ns = conf->stall_ns;
	sc.min_lost = conf->min_lost;
	sc.hold_max_ns = conf->hold_max_ns;
	e = th_stream_new(&probe_s, &sc, &p->clock, th_mono_ns(), errbuf);
	if (e != TH_OK)
		return e;
	t->s = probe_s;
	if (conf->key_len > 0) {
		e = th_hmac_init(&t->hmac, conf->key, conf->key_len, errbuf);
		if (e != TH_OK)
			goto fail;
		t->keyed = true;
	}
	if (getrandom(&t->stream_id, sizeof t->stream_id, 0) != sizeof t->stream_id)
		t->stream_id = (uint32_t)th_wall_ns() ^ (uint32_t)getpid() ^ (uint32_t)p->n;
	e = open_socket(t, errbuf);
	if (e != TH_OK)
		goto fail;
	struct epoll_event ev = {.events = EPOLLIN};
	ev.data.u64 = p->n;
	if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, t->fd, &ev) != 0) {
		e = th_seterr(errbuf, TH_ERR_IO, "target %s: %s", conf->host, strerror(errno));
		goto fail;
	}
	p->n++;
	return TH_OK;
fail:
	if (t->fd >= 0)
		close(t->fd);
	th_stream_free(t->s);
	th_hmac_clear(&t->hmac);
	return e;
}

size_t th_prober_count(const th_prober *p)
{
	return p->n;
}

void th_prober_stop(th_prober *p)
{
	uint64_t one = 1;
	ssize_t r = write(p->stopfd, &one, sizeof one);

	(void)r;
}

static void send_due(tgt *t, int64_t now)
{
	uint64_t seq;
	uint8_t buf[TH_WIRE_MAX];

	while ((seq = th_stream_due(t->s, now)) != 0) {
		int64_t sent = th_mono_ns();
		th_probe_pkt pk = {
		    .stream_id = t->stream_id, .seq = seq, .send_ns = (uint64_t)sent};
		size_t len = th_wire_encode_probe(buf, &pk, t->keyed ? &t->hmac : NULL);
		if (send(t->fd, buf, len, 0) < 0)
			t->st.send_errors++;
		th_stream_sent(t->s, seq, sent);
	}
}

static void read_echoes(tgt *t)
{
	uint8_t buf[TH_WIRE_MAX + 64];

	for (;;) {
		ssize_t n = recv(t->fd, buf, sizeof buf, MSG_TRUNC);
		if (n < 0) {
			if (errno == EINTR || errno == ECONNREFUSED)
				continue;
			return; /* EAGAIN or a socket error: nothing more now */
		}
		int64_t now = th_mono_ns();
		th_echo_pkt e;
		th_wire_status ws = TH_WIRE_MALFORMED;
		if ((size_t)n <= sizeof buf)
			ws = th_wire_decode_echo(buf, (size_t)n, &e, t->keyed ? &t->hmac : NULL);
		if (ws == TH_WIRE_MALFORMED) {
			t->st.malformed++;
			continue;
		}
		if (ws != TH_WIRE_OK) {
			t->st.forged++;
			continue;
		}
		if (e.probe.stream_id != t->stream_id) {
			t->st.foreign++;
			continue;
		}
		th_echo_info info = {
		    .seq = e.probe.seq,
		    .send_ns = (int64_t)e.probe.send_ns,
		    .prev_seq = e.prev_seq,
		    .run_start = e.run_start,
		    .rx_count = e.rx_count,
		    .hold_ns = (int64_t)e.hold_ns,
		};
		th_echo_verdict v = th_stream_echo(t->s, &info, now);
		if (t->keyed && (v == TH_ECHO_DUP || v == TH_ECHO_INVALID))
			t->st.replayed++;
	}
}

/* ------------------------------------------------------------------ target heap */

static void heap_swap(th_prober *p, size_t a, size_t b)
{
	size_t t = p->heap[a];

	p->heap[a] = p->heap[b];
	p->heap[b] = t;
	p->t[p->heap[a]].pos = a;
	p->t[p->heap[b]].pos = b;
}

/* Recompute target i's key and restore the heap order around it. */
static void heap_fix(th_prober *p, size_t i)
{
	tgt *t = &p->t[i];
	int64_t k = th_stream_next_send_ns(t->s), d = th_stream_next_deadline_ns(t->s);
	size_t at = t->pos;

	t->key = d < k ? d : k;
	while (at > 0 && p->t[p->heap[(at - 1) / 2]].key > t->key) {
		heap_swap(p, at, (at - 1) / 2);
		at = (at - 1) / 2;
	}
	for (;;) {
		size_t l = 2 * at + 1, r = l + 1, m = at;
		if (l < p->n && p->t[p->heap[l]].key < p->t[p->heap[m]].key)
			m = l;
		if (r < p->n && p->t[p->heap[r]].key < p->t[p->heap[m]].key)
			m = r;
		if (m == at)
			break;
		heap_swap(p, at, m);
		at = m;
	}
}

static void arm(th_prober *p, int64_t at)
{
	struct itimerspec its = {0};

	if (at == INT64_MAX)
		at = th_mono_ns() + TH_NS_PER_SEC;
	if (at <= 0)
		at = 1;
	its.it_value.tv_sec = at / TH_NS_PER_SEC;
	its.it_value.tv_nsec = at % TH_NS_PER_SEC;
	timerfd_settime(p->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* Wait for events until `until`, handling echoes; returns true when stop was requested. */
static bool wait_events(th_prober *p, int64_t until)
{
	struct epoll_event evs[64];
	bool stop = false;

	int n = -1;

	if (!p->no_pwait2) {
		/* a nanosecond timeout without the timer file's two system calls */
		int64_t left = until - th_mono_ns();
		struct timespec ts = {0, 0};
		if (left > 0) {
			ts.tv_sec = left / TH_NS_PER_SEC;
			ts.tv_nsec = left % TH_NS_PER_SEC;
		}
		n = epoll_pwait2(p->epfd, evs, 64, &ts, NULL);
		if (n < 0 && errno == ENOSYS)
			p->no_pwait2 = true;
	}
	if (p->no_pwait2) {
		arm(p, until);
		n = epoll_wait(p->epfd, evs, 64, -1);
	}
	for (int i = 0; i < n; i++) {
		uint64_t id = evs[i].data.u64, v;
		if (id == EV_STOP) {
			ssize_t r =
			    read(p->stopfd, &v, sizeof v); /* consume: a later stop wakes again */
			(void)r;
			stop = true;
		} else if (id == EV_TIMER) {
			ssize_t r = read(p->timerfd, &v, sizeof v);
			(void)r;
		} else if (id < p->n) {
			read_echoes(&p->t[id]);
			th_stream_advance(p->t[id].s, th_mono_ns(), p->cb, p->arg);
			if (p->heap != NULL)
				heap_fix(p, (size_t)id);
		}
	}
	return stop;
}

th_err th_prober_run(th_prober *p, int64_t duration_ns, char *errbuf)
{
	if (p->ran)
		return th_seterr(errbuf, TH_ERR_STATE, "a prober runs only once");
	if (p->n == 0)
		return th_seterr(errbuf, TH_ERR_INVALID, "no target to probe");
	p->ran = true;
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);

	/* fresh streams, starts staggered across one interval so targets do not send in bursts */
	int64_t start = th_mono_ns() + TH_NS_PER_MS;
	for (size_t i = 0; i < p->n; i++) {
		tgt *t = &p->t[i];
		th_stream_conf sc = *th_stream_get_conf(t->s);
		th_stream *s;
		int64_t st = start + (int64_t)((double)sc.interval_ns * (double)i / (double)p->n);
		sc.stall_ns = t->conf.stall_ns;
		if (th_stream_new(&s, &sc, &p->clock, st, errbuf) != TH_OK)
			return TH_ERR_INVALID;
		th_stream_free(t->s);
		t->s = s;
	}
	int64_t stop_at = duration_ns > 0 ? start + duration_ns : INT64_MAX;
	bool stop = false;

	p->heap = malloc(p->n * sizeof *p->heap);
	if (p->heap == NULL)
		return th_seterr(errbuf, TH_ERR_NOMEM, "out of memory for %zu targets", p->n);
	for (size_t i = 0; i < p->n; i++) {
		p->heap[i] = i;
		p->t[i].pos = i;
		p->t[i].key = INT64_MIN;
	}
	for (size_t i = 0; i < p->n; i++)
		heap_fix(p, i);
	while (!stop) {
		int64_t now = th_mono_ns();
		if (now >= stop_at)
			break;
		/* serve every target that is due, earliest first */
		for (size_t served = 0; served < p->n && p->t[p->heap[0]].key <= now; served++) {
			size_t i = p->heap[0];
			send_due(&p->t[i], now);
			th_stream_advance(p->t[i].s, now, p->cb, p->arg);
			heap_fix(p, i);
		}
		int64_t wake = p->t[p->heap[0]].key < stop_at ? p->t[p->heap[0]].key : stop_at;
		stop = wait_events(p, wake);
	}
	free(p->heap);
	p->heap = NULL;

	/* drain: no more probes; wait for echoes on their way, at most one loss timeout */
	int64_t now = th_mono_ns(), drain_end = now;
	for (size_t i = 0; i < p->n; i++) {
		int64_t d = now + th_stream_get_conf(p->t[i].s)->loss_timeout_ns;
		if (d > drain_end)
			drain_end = d;
	}
	for (;;) {
		bool idle = true;
		now = th_mono_ns();
		for (size_t i = 0; i < p->n; i++) {
			th_stream_advance(p->t[i].s, now, p->cb, p->arg);
			idle = idle && th_stream_idle(p->t[i].s);
		}
		if (idle || now >= drain_end)
			break;
		int64_t wake = drain_end;
		for (size_t i = 0; i < p->n; i++) {
			int64_t w = th_stream_next_deadline_ns(p->t[i].s);
			if (w < wake)
				wake = w;
		}
		if (wait_events(p, wake))
			break; /* asked to stop again while draining: give up waiting */
	}
	now = th_mono_ns();
	for (size_t i = 0; i < p->n; i++)
		th_stream_finish(p->t[i].s, now, p->cb, p->arg);
	return TH_OK;
}

void th_prober_stats(const th_prober *p, size_t i, th_target_stats *out)
{
	*out = p->t[i].st;
	th_stream_get_counters(p->t[i].s, &out->s);
}

const char *th_prober_stream_name(const th_prober *p, size_t i)
{
	return p->t[i].conf.stream;
}

const char *th_prober_vm_name(const th_prober *p, size_t i)
{
	return p->t[i].conf.vm;
}

void th_prober_free(th_prober *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n; i++) {
		close(p->t[i].fd);
		th_stream_free(p->t[i].s);
		th_hmac_clear(&p->t[i].hmac);
	}
	free(p->t);
	free(p->heap);
	if (p->epfd >= 0)
		close(p->epfd);
	if (p->timerfd >= 0)
		close(p->timerfd);
	if (p->stopfd >= 0)
		close(p->stopfd);
	free(p);
}
