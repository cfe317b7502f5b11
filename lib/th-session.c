/* th-session.c — session identifier validation and generation. */
#include "themis-config.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "th-session.h"
#include "th-time.h"

static bool th_session_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.';
}

bool th_session_id_valid(const char *id)
{
	size_t n;

	if (id == NULL || id[0] == '\0')
		return false;
	for (n = 0; id[n] != '\0'; n++) {
		if (n + 1 >= TH_SESSION_MAX || !th_session_char_ok(id[n]))
			return false;
	}
	return true;
}

th_err th_session_id_make(char *out, const char *definition, int64_t wall_ns, uint32_t rnd,
                          int cycle, char *errbuf)
{
	char def[49];
	char stamp[32];
	size_t i;
	time_t secs = (time_t)(wall_ns / TH_NS_PER_SEC);
	struct tm tm;
	int n;

	if (cycle < 0)
		return th_seterr(errbuf, TH_ERR_INVALID, "session id: negative cycle %d", cycle);
	if (definition == NULL || definition[0] == '\0')
		definition = "session";
	for (i = 0; i < sizeof def - 1 && definition[i] != '\0'; i++)
		def[i] = th_session_char_ok(definition[i]) ? definition[i] : '_';
	def[i] = '\0';
	if (gmtime_r(&secs, &tm) == NULL ||
	    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm) == 0)
		return th_seterr(errbuf, TH_ERR_INVALID, "session id: bad time %lld ns",
		                 (long long)wall_ns);
	n = snprintf(out, TH_SESSION_MAX, "%s.%s.%08x.c%d", def, stamp, (unsigned)rnd, cycle);
	if (n < 0 || n >= TH_SESSION_MAX)
		return th_seterr(errbuf, TH_ERR_TOOBIG, "session id for \"%s\" too long", def);
	return TH_OK;
}

uint32_t th_session_random(void)
{
	uint32_t r;

	if (getrandom(&r, sizeof r, GRND_NONBLOCK) == (ssize_t)sizeof r)
		return r;
	return (uint32_t)(th_wall_ns() ^ (th_mono_ns() << 7));
}
