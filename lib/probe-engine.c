/* probe-engine.c — the prober's event loop: one connected UDP socket per target (echoes carry
 * the kernel's receive time), a timerfd for the schedule, an eventfd to stop; the record queue
 * and the output thread that hands records to the callback; the watch on the prober's own
 * stalls and on wall-clock steps. The maths lives in probe-stream.c. */
#include "themis-config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "probe-engine.h"
#include "probe-wire.h"
#include "th-secret.h"

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

/* One entry of the record queue: a record, or a log line for the output thread. */
typedef struct qent {
	int level; /* -1: a record; else a log line of that level */
	union {
		th_record rec;
		char msg[256];
	} u;
} qent;

struct th_prober {
	th_record_cb cb;
	void *arg;
	th_prober_log_fn *log;
	void *log_arg;
	tgt *t;
	size_t n, cap;
	th_clock clock;
	int epfd, timerfd, stopfd;
	bool ran;
	size_t *heap;   /* target indices, earliest key first: one wake-up serves only who is due */
	bool no_pwait2; /* epoll_pwait2 unusable: wait on the timer file instead */

	/* the loop's own timing */
	int64_t read_ns;        /* every socket was drained at this time */
	int64_t planned_ns;     /* when the loop meant to run again */
	int64_t clock_check_ns; /* next check of the wall-clock anchor */
	int64_t krt_off_ns;     /* kernel CLOCK_REALTIME - CLOCK_MONOTONIC, for receive stamps */

	/* records and log lines on their way to the output thread; level -1 = record */
	pthread_mutex_t qmu;
	pthread_cond_t qcv;
	qent *q;
	size_t qcap, qhead, qn, qmax;
	bool qclosed, qthread;
	pthread_t writer;

	th_prober_health h; /* under qmu */
};

#define EV_STOP  UINT64_MAX
#define EV_TIMER (UINT64_MAX - 1)

/* The stream's own defaults, so both stay the same. */
/* ------------------------------------------------------------------ output thread */

/* Hand entry e to the output thread; never waits. Records are dropped (and counted) when the
 * queue is full; log lines have a few spare places. */
static void q_push(th_prober *p, const qent *e)
{
	pthread_mutex_lock(&p->qmu);
	size_t room = p->qmax + (e->level >= 0 ? 16 : 0);
	if (p->q == NULL || p->qn >= room || p->qn >= p->qcap) {
		if (e->level < 0)
			p->h.records_dropped++;
	} else {
		p->q[(p->qhead + p->qn) % p->qcap] = *e;
		p->qn++;
		pthread_cond_signal(&p->qcv);
	}
	pthread_mutex_unlock(&p->qmu);
}

/* The callback streams use: queue the record. */
static void q_record(const th_record *rec, void *arg)
{
	th_prober *p = arg;
	qent e;

	e.level = -1;
	e.u.rec = *rec;
	q_push(p, &e);
}

static void q_log(th_prober *p, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void q_log(th_prober *p, int level, const char *fmt, ...)
{
	qent e;
	va_list ap;

	if (p->log == NULL)
		return;
	e.level = level;
	va_start(ap, fmt);
	vsnprintf(e.u.msg, sizeof e.u.msg, fmt, ap);
	va_end(ap);
	q_push(p, &e);
}

static void out_log(th_prober *p, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A log line from the output thread itself. */
static void out_log(th_prober *p, int level, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (p->log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	p->log(level, msg, p->log_arg);
}

/* Takes entries off the queue and hands them to the callback (or the log function), so a slow
 * consumer never holds up probing. Returns once the queue is closed and empty. */
static void *q_writer(void *arg)
{
	th_prober *p = arg;
	uint64_t told_dropped = 0;
	qent *e = malloc(sizeof *e);

	pthread_mutex_lock(&p->qmu);
	for (;;) {
		if (p->h.records_dropped != told_dropped) {
			uint64_t d = p->h.records_dropped;
			told_dropped = d;
			pthread_mutex_unlock(&p->qmu);
			out_log(
			    p, 1,
			    "record queue full (%zu records): %llu records dropped so far, probing "
			    "goes on",
			    p->qmax, (unsigned long long)d);
			pthread_mutex_lock(&p->qmu);
		}
		if (p->qn == 0) {
			if (p->qclosed)
				break;
			pthread_cond_wait(&p->qcv, &p->qmu);
			continue;
		}
		if (e == NULL) { /* no memory for a copy: the entry is lost, counted */
			p->qhead = (p->qhead + 1) % p->qcap;
			p->qn--;
			p->h.records_dropped++;
			continue;
		}
		*e = p->q[p->qhead];
		p->qhead = (p->qhead + 1) % p->qcap;
		p->qn--;
		pthread_mutex_unlock(&p->qmu);
		int64_t t0 = th_mono_ns();
		if (e->level < 0) {
			if (p->cb != NULL)
				p->cb(&e->u.rec, p->arg);
		} else if (p->log != NULL) {
			p->log(e->level, e->u.msg, p->log_arg);
		}
		int64_t took = th_mono_ns() - t0;
		pthread_mutex_lock(&p->qmu);
		if (took > TH_PROBER_STALL_NS) {
			bool first = took > p->h.output_stall_max_ns;
			p->h.output_stalls++;
			if (first)
				p->h.output_stall_max_ns = took;
			size_t waiting = p->qn;
			pthread_mutex_unlock(&p->qmu);
			out_log(
			    p, 1,
			    "record output was blocked for %.3f s (%zu records waited); probing "
			    "was not held up",
			    (double)took / 1e9, waiting);
			pthread_mutex_lock(&p->qmu);
		}
	}
	pthread_mutex_unlock(&p->qmu);
	free(e);
	return NULL;
}

void th_target_defaults(th_target *t)
{
	memset(t, 0, sizeof *t);
	th_stream_conf_defaults(&t->probe);
}

th_err th_target_set_addr(th_target *t, const char *addrport, char *errbuf)
{
	th_addr a;
	th_err e = th_addr_parse("address", addrport, &a, errbuf);

	if (e != TH_OK)
		return e;
	memcpy(t->host, a.host, sizeof t->host);
	memcpy(t->port, a.port, sizeof t->port);
	return TH_OK;
}

th_err th_key_load(const char *path, uint8_t *key, size_t *len, char *errbuf)
{
	size_t n;
	th_err e =
	    th_secret_read(path, "key file", (char *)key, TH_KEY_MAX, &n, TH_SECRET_BINARY, errbuf);

	if (e != TH_OK)
		return e;
	if (n < TH_KEY_MIN) {
		memset(key, 0, n);
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "key file %s has %zu bytes, at least %d needed", path, n,
		                 TH_KEY_MIN);
	}
	*len = n;
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
	p->qmax = TH_PROBER_QUEUE_DEFAULT;
	pthread_mutex_init(&p->qmu, NULL);
	pthread_cond_init(&p->qcv, NULL);
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
			int on = 1;
			if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) != 0)
				setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
			/* the kernel's receive time: an echo read late still counts when it came */
			setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
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
	if (conf->probe.vm[0] == '\0')
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
	if (t->conf.probe.stream[0] == '\0') {
		char host[64] = "supervisor";
		gethostname(host, sizeof host - 1);
		snprintf(t->conf.probe.stream, sizeof t->conf.probe.stream, "%.50s/%.60s/%.15s",
		         host, conf->probe.vm, conf->port);
	}
	/* validate the maths parameters now, with a throw-away stream */
	th_stream *probe_s;
	e = th_stream_new(&probe_s, &t->conf.probe, &p->clock, th_mono_ns(), errbuf);
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

/* The kernel's CLOCK_REALTIME straight from the system call: receive stamps are taken on it,
 * whatever a preloaded library makes clock_gettime() say. */
static int64_t kernel_realtime_ns(void)
{
	struct timespec ts;

	if (syscall(SYS_clock_gettime, CLOCK_REALTIME, &ts) != 0)
		return th_wall_ns();
	return (int64_t)ts.tv_sec * TH_NS_PER_SEC + ts.tv_nsec;
}

static void sample_krt(th_prober *p)
{
	int64_t m0 = th_mono_ns(), w = kernel_realtime_ns(), m1 = th_mono_ns();

	p->krt_off_ns = w - (m0 + (m1 - m0) / 2);
}

/* Monotonic receive time of a datagram: the kernel's stamp when there is one and it is
 * plausible (a wall-clock step not yet seen by sample_krt() makes it implausible), else now. */
static int64_t rx_time(const th_prober *p, struct msghdr *mh, int64_t now)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS)
			continue;
		struct timespec ts;
		memcpy(&ts, CMSG_DATA(c), sizeof ts);
		int64_t rx = (int64_t)ts.tv_sec * TH_NS_PER_SEC + ts.tv_nsec - p->krt_off_ns;
		return rx <= now && rx > now - 3600 * TH_NS_PER_SEC ? rx : now;
	}
	return now;
}

static void read_echoes(th_prober *p, tgt *t)
{
	uint8_t buf[TH_WIRE_MAX + 64];
	union {
		char b[CMSG_SPACE(sizeof(struct timespec)) + 64];
		struct cmsghdr align;
	} cbuf;

	for (;;) {
		struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
		struct msghdr mh = {.msg_iov = &iov,
		                    .msg_iovlen = 1,
		                    .msg_control = cbuf.b,
		                    .msg_controllen = sizeof cbuf.b};
		ssize_t n = recvmsg(t->fd, &mh, MSG_TRUNC);
		if (n < 0) {
			if (errno == EINTR || errno == ECONNREFUSED)
				continue;
			return; /* EAGAIN or a socket error: nothing more now */
		}
		int64_t now = rx_time(p, &mh, th_mono_ns());
		th_echo_pkt e;
		th_wire_status ws = TH_WIRE_MALFORMED;
		if ((size_t)n <= sizeof buf)
			ws = th_wire_decode_echo(buf, (size_t)n, &e, t->keyed ? &t->hmac : NULL);
		if (ws == TH_WIRE_MALFORMED) {
			t->st.malformed++;
			continue;
		}
		if (ws == TH_WIRE_OLD_VERSION) {
			if (t->st.old_version++ == 0)
				q_log(p, 1, "%s (%s:%s): echo of wire version %u dropped (%s %d)",
				      t->conf.probe.vm, t->conf.host, t->conf.port, buf[4],
				      "update the reflector: this prober speaks version",
				      TH_WIRE_VERSION);
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
		if (now < (int64_t)e.probe.send_ns) /* a stamp from before the send: distrust */
			now = th_mono_ns();
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

/* Wait for events until `until` (0: only look), handling echoes; returns true when stop was
 * requested. Every socket with something to read is drained, so afterwards read_ns says up to
 * when all echoes are in. */
static bool wait_events(th_prober *p, int64_t until)
{
	struct epoll_event evs[64];
	bool stop = false;

	int n = -1;
	int64_t before = th_mono_ns();

	if (until <= before) {
		n = epoll_wait(p->epfd, evs, 64, 0);
	} else if (!p->no_pwait2) {
		/* a nanosecond timeout without the timer file's two system calls */
		int64_t left = until - before;
		struct timespec ts = {left / TH_NS_PER_SEC, left % TH_NS_PER_SEC};
		n = epoll_pwait2(p->epfd, evs, 64, &ts, NULL);
		/* any failure but a signal (ENOSYS on old kernels, EPERM under a seccomp filter):
		 * the timer file from now on, instead of spinning on an error */
		if (n < 0 && errno != EINTR) {
			p->no_pwait2 = true;
			q_log(p, 1, "epoll_pwait2: %s; waiting on a timer file instead",
			      strerror(errno));
		}
	}
	if (p->no_pwait2 && until > before) {
		arm(p, until);
		n = epoll_wait(p->epfd, evs, 64, -1);
	}
	if (n >= 0 && n < 64)
		p->read_ns = th_mono_ns(); /* what is not ready now came later */
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
			/* the time before the read: every echo that came by then is in */
			int64_t now = th_mono_ns();
			read_echoes(p, &p->t[id]);
			th_stream_advance(p->t[id].s, now, q_record, p);
			if (p->heap != NULL)
				heap_fix(p, (size_t)id);
		}
	}
	return stop;
}

/* The loop did not run from planned_ns to now: the prober's own stall. Marked in the seconds
 * it covers, counted, logged; the probes of that time are late or skipped, not lost. */
static void check_stall(th_prober *p, int64_t now)
{
	int64_t late = now - p->planned_ns;

	if (p->planned_ns == 0 || late <= TH_PROBER_STALL_NS)
		return;
	pthread_mutex_lock(&p->qmu); /* th_prober_get_health() may read from another thread */
	p->h.stalls++;
	p->h.stall_total_ns += late;
	if (late > p->h.stall_max_ns)
		p->h.stall_max_ns = late;
	pthread_mutex_unlock(&p->qmu);
	for (size_t i = 0; i < p->n; i++)
		th_stream_prober_stall(p->t[i].s, p->planned_ns, now);
	q_log(p, 1,
	      "the prober did not run for %.3f s (from %.3f): its probes of that time were sent "
	      "late or skipped; marked as prober_stall_ms, not as loss",
	      (double)late / 1e9, th_clock_to_epoch(&p->clock, p->planned_ns));
}

/* Once a second: does the wall clock still agree with the anchor? A step of more than
 * TH_CLOCK_STEP_NS re-anchors every stream (records keep true epoch seconds; durations are
 * monotonic and do not move). */
static void check_clock(th_prober *p, int64_t now)
{
	if (now < p->clock_check_ns)
		return;
	p->clock_check_ns = now + TH_NS_PER_SEC;
	sample_krt(p);
	th_clock c;
	th_clock_init(&c);
	int64_t step = c.wall0_ns - th_clock_to_wall_ns(&p->clock, c.mono0_ns);
	if (step <= TH_CLOCK_STEP_NS && step >= -TH_CLOCK_STEP_NS)
		return;
	p->clock = c;
	pthread_mutex_lock(&p->qmu);
	p->h.clock_steps++;
	p->h.last_step_ns = step;
	pthread_mutex_unlock(&p->qmu);
	for (size_t i = 0; i < p->n; i++)
		th_stream_set_clock(p->t[i].s, &c, c.mono0_ns);
	q_log(p, 1, "wall clock stepped by %+.3f s: records re-anchored to it from %.3f on",
	      (double)step / 1e9, th_clock_to_epoch(&c, c.mono0_ns));
}

static th_err q_start(th_prober *p, char *errbuf)
{
	p->qcap = p->qmax + 16;
	p->q = malloc(p->qcap * sizeof *p->q);
	if (p->q == NULL)
		return th_seterr(errbuf, TH_ERR_NOMEM, "out of memory for a queue of %zu records",
		                 p->qmax);
	if (pthread_create(&p->writer, NULL, q_writer, p) != 0) {
		free(p->q);
		p->q = NULL;
		return th_seterr(errbuf, TH_ERR_STATE, "cannot start the record output thread");
	}
	p->qthread = true;
	return TH_OK;
}

/* Close the queue and wait until the output thread has handed over everything in it. */
static void q_finish(th_prober *p)
{
	if (!p->qthread)
		return;
	pthread_mutex_lock(&p->qmu);
	p->qclosed = true;
	pthread_cond_signal(&p->qcv);
	pthread_mutex_unlock(&p->qmu);
	pthread_join(p->writer, NULL);
	p->qthread = false;
}

/* Is a probe scheduled before t neither sent nor skipped yet on some target? */
static bool unsent_before(const th_prober *p, int64_t t)
{
	for (size_t i = 0; i < p->n; i++)
		if (th_stream_next_send_ns(p->t[i].s) < t)
			return true;
	return false;
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
	th_clock_init(&p->clock);
	sample_krt(p);
	int64_t start = th_mono_ns() + TH_NS_PER_MS;
	for (size_t i = 0; i < p->n; i++) {
		tgt *t = &p->t[i];
		th_stream_conf sc = *th_stream_get_conf(t->s);
		th_stream *s;
		int64_t st = start + (int64_t)((double)sc.interval_ns * (double)i / (double)p->n);
		sc.stall_ns = t->conf.probe.stall_ns;
		if (th_stream_new(&s, &sc, &p->clock, st, errbuf) != TH_OK)
			return TH_ERR_INVALID;
		th_stream_free(t->s);
		t->s = s;
	}
	int64_t stop_at = duration_ns > 0 ? start + duration_ns : INT64_MAX;
	for (size_t i = 0; i < p->n; i++)
		th_stream_set_end(p->t[i].s, stop_at);
	bool stop = false;

	p->heap = malloc(p->n * sizeof *p->heap);
	if (p->heap == NULL)
		return th_seterr(errbuf, TH_ERR_NOMEM, "out of memory for %zu targets", p->n);
	th_err qe = q_start(p, errbuf);
	if (qe != TH_OK) {
		free(p->heap);
		p->heap = NULL;
		return qe;
	}
	for (size_t i = 0; i < p->n; i++) {
		p->heap[i] = i;
		p->t[i].pos = i;
		p->t[i].key = INT64_MIN;
	}
	for (size_t i = 0; i < p->n; i++)
		heap_fix(p, i);
	p->clock_check_ns = th_mono_ns() + TH_NS_PER_SEC;
	p->read_ns = th_mono_ns();
	p->planned_ns = 0;
	while (!stop) {
		int64_t now = th_mono_ns();
		check_stall(p, now);
		check_clock(p, now);
		/* a run of a given duration sends (or skips, when too late) every probe scheduled
		 * before its end, also those a late wake-up left due, and none after it; the first
		 * pass after the end does that, unless memory for the slots ran out: then 5 s more
		 * at most */
		if (now >= stop_at &&
		    (!unsent_before(p, stop_at) || now - stop_at >= 5 * TH_NS_PER_SEC))
			break;
		/* no stream declares a loss before every echo that came by `now` is read: after a
		 * stall the echoes wait in the sockets, with the kernel's receive time */
		if (now > p->read_ns + TH_NS_PER_MS && (stop = wait_events(p, 0)))
			break;
		/* serve every target that is due, earliest first */
		for (size_t served = 0; served < p->n && p->t[p->heap[0]].key <= now; served++) {
			size_t i = p->heap[0];
			send_due(&p->t[i], now);
			th_stream_advance(p->t[i].s, now, q_record, p);
			heap_fix(p, i);
		}
		int64_t wake = p->t[p->heap[0]].key < stop_at ? p->t[p->heap[0]].key : stop_at;
		/* the thread may also be held while it works (a signal, a stolen CPU): the loop
		 * meant to run on from `now`, so a pass that took longer is a stall as well */
		int64_t done = th_mono_ns();
		p->planned_ns = now;
		check_stall(p, done);
		p->planned_ns = wake > done ? wake : done;
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
		if (wait_events(p, 0))
			break;
		for (size_t i = 0; i < p->n; i++) {
			th_stream_advance(p->t[i].s, now, q_record, p);
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
	wait_events(p, 0);
	for (size_t i = 0; i < p->n; i++)
		th_stream_finish(p->t[i].s, now, q_record, p);
	q_finish(p);
	return TH_OK;
}

void th_prober_set_log(th_prober *p, th_prober_log_fn *fn, void *arg)
{
	p->log = fn;
	p->log_arg = arg;
}

void th_prober_set_queue(th_prober *p, size_t records)
{
	if (!p->ran && records > 0)
		p->qmax = records;
}

void th_prober_get_health(th_prober *p, th_prober_health *out)
{
	pthread_mutex_lock(&p->qmu);
	*out = p->h;
	pthread_mutex_unlock(&p->qmu);
}

void th_prober_stats(const th_prober *p, size_t i, th_target_stats *out)
{
	*out = p->t[i].st;
	th_stream_get_counters(p->t[i].s, &out->s);
}

const char *th_prober_stream_name(const th_prober *p, size_t i)
{
	return p->t[i].conf.probe.stream;
}

const char *th_prober_vm_name(const th_prober *p, size_t i)
{
	return p->t[i].conf.probe.vm;
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
	q_finish(p);
	free(p->q);
	pthread_cond_destroy(&p->qcv);
	pthread_mutex_destroy(&p->qmu);
	free(p);
}
