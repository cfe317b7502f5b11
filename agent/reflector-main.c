/* reflector-main.c — themis-reflector: "themis-agent reflect" as one static binary for guests.
 * main runs cmd_reflect (cmd-reflect.c) on its own arguments, so options, wire format, messages
 * and counters are the agent's. It is linked with -static and with the linker wrapping
 * getaddrinfo, freeaddrinfo and gai_strerror (agent/Makefile.am): the wrappers below read
 * numeric addresses only, with inet_pton, so no NSS module is ever loaded and glibc's getaddrinfo
 * (which would need the shared NSS libraries at run time) is not linked at all. A name in
 * --listen is refused with a message saying why. */
#include "themis-config.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "commands.h"

int __wrap_getaddrinfo(const char *host, const char *port, const struct addrinfo *hints,
                       struct addrinfo **res);
void __wrap_freeaddrinfo(struct addrinfo *ai);
const char *__wrap_gai_strerror(int code);
const char *__real_gai_strerror(int code);

/* One result: the addrinfo and its address in one allocation, freed by __wrap_freeaddrinfo. */
typedef struct refl_ai {
	struct addrinfo ai;
	struct sockaddr_storage ss;
} refl_ai;

/* A zone ("eth0" or "2") as an interface index, 0 when unknown. */
static unsigned refl_zone(const char *zone)
{
	char *end;
	unsigned long v = strtoul(zone, &end, 10);

	if (zone[0] != '\0' && *end == '\0')
		return (unsigned)v;
	return if_nametoindex(zone);
}

/* getaddrinfo for numeric hosts and numeric ports only: one result, of hints' socket type. */
int __wrap_getaddrinfo(const char *host, const char *port, const struct addrinfo *hints,
                       struct addrinfo **res)
{
	char *end, buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	unsigned long pn = port != NULL ? strtoul(port, &end, 10) : 0;

	*res = NULL;
	if (port != NULL && (port[0] < '0' || port[0] > '9' || *end != '\0' || pn > 65535))
		return EAI_SERVICE;
	refl_ai *r = calloc(1, sizeof *r);
	if (r == NULL)
		return EAI_MEMORY;
	if (host == NULL)
		host = "0.0.0.0";
	struct sockaddr_in *a4 = (struct sockaddr_in *)&r->ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&r->ss;
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)pn);
		r->ai.ai_addrlen = sizeof *a4;
	} else {
		/* an IPv6 address, maybe with %zone */
		size_t n = strcspn(host, "%");
		if (n >= sizeof buf) {
			free(r);
			return EAI_NONAME;
		}
		memcpy(buf, host, n);
		buf[n] = '\0';
		if (inet_pton(AF_INET6, buf, &a6->sin6_addr) != 1 ||
		    (host[n] == '%' && (a6->sin6_scope_id = refl_zone(host + n + 1)) == 0)) {
			free(r);
			return EAI_NONAME;
		}
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)pn);
		r->ai.ai_addrlen = sizeof *a6;
	}
	r->ai.ai_family = r->ss.ss_family;
	r->ai.ai_socktype = hints != NULL ? hints->ai_socktype : 0;
	r->ai.ai_protocol = hints != NULL ? hints->ai_protocol : 0;
	r->ai.ai_addr = (struct sockaddr *)&r->ss;
	*res = &r->ai;
	return 0;
}

void __wrap_freeaddrinfo(struct addrinfo *ai)
{
	free(ai); /* the first member of a refl_ai; never a list */
}

const char *__wrap_gai_strerror(int code)
{
	if (code == EAI_NONAME)
		return "not a numeric address (themis-reflector is static and resolves no names: "
		       "give an IPv4 or [IPv6] address)";
	return __real_gai_strerror(code);
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("themis-reflector %s\n", THEMIS_VERSION);
		return TH_EXIT_OK;
	}
	return cmd_reflect(argc, argv);
}
