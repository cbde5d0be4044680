/* libmicrohttpd glue shared by the UE and admin listeners. */
#include "http_util.h"

#include "ctl_internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum MHD_Result kb_http_reply(struct MHD_Connection *con, unsigned code, const char *ctype,
			      const char *body, size_t len, const char *const *headers)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;
	if (r == NULL)
		return MHD_NO;
	if (ctype != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	for (size_t i = 0; headers != NULL && headers[i] != NULL; i += 2)
		MHD_add_response_header(r, headers[i], headers[i + 1]);
	ret = MHD_queue_response(con, code, r);
	MHD_destroy_response(r);
	return ret;
}

enum MHD_Result kb_http_error(struct MHD_Connection *con, unsigned code, const char *msg)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "error: %s\n", msg);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	return kb_http_reply(con, code, "text/plain; charset=utf-8", buf, (size_t)n, NULL);
}

bool kb_http_ctype_is(struct MHD_Connection *con, const char *want)
{
	const char *ct =
		MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	size_t wl = strlen(want);
	if (ct == NULL)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, want, wl) != 0)
		return false;
	ct += wl;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

int kb_ctl_sockaddr(const char *addr, uint16_t port, void *ss, unsigned *sslen, bool *v6)
{
	struct sockaddr_in *a4 = ss;
	struct sockaddr_in6 *a6 = ss;
	memset(ss, 0, sizeof(struct sockaddr_in6));
	if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		*sslen = sizeof(*a4);
		*v6 = false;
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		*sslen = sizeof(*a6);
		*v6 = true;
		return 0;
	}
	return -1;
}

struct MHD_Daemon *kb_http_start(const char *addr, unsigned short port, unsigned threads,
				 const char *cert_pem, const char *key_pem,
				 MHD_AccessHandlerCallback handler, void *handler_cls,
				 MHD_RequestCompletedCallback done, char *err, size_t errlen)
{
	struct sockaddr_in6 ss;
	unsigned sslen;
	bool v6;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	struct MHD_Daemon *d;
	if (kb_ctl_sockaddr(addr, port, &ss, &sslen, &v6) != 0) {
		snprintf(err, errlen, "bad listen address '%s'", addr);
		return NULL;
	}
	if (v6)
		flags |= MHD_USE_IPv6;
	if (cert_pem != NULL) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			snprintf(err, errlen, "libmicrohttpd was built without TLS");
			return NULL;
		}
		flags |= MHD_USE_TLS;
		d = MHD_start_daemon(
			flags, port, NULL, NULL, handler, handler_cls, MHD_OPTION_SOCK_ADDR,
			(struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE, threads,
			MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_NOTIFY_COMPLETED, done,
			handler_cls, MHD_OPTION_HTTPS_MEM_KEY, key_pem, MHD_OPTION_HTTPS_MEM_CERT,
			cert_pem, MHD_OPTION_END);
	} else {
		d = MHD_start_daemon(
			flags, port, NULL, NULL, handler, handler_cls, MHD_OPTION_SOCK_ADDR,
			(struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE, threads,
			MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_NOTIFY_COMPLETED, done,
			handler_cls, MHD_OPTION_END);
	}
	if (d == NULL)
		snprintf(err, errlen, "cannot listen on %s port %u", addr, port);
	return d;
}

bool kb_http_body_append(char **body, size_t *len, size_t *cap, bool *too_large, const char *chunk,
			 size_t n, size_t max)
{
	if (*too_large || *len + n > max) {
		*too_large = true;
		return true;
	}
	if (*len + n > *cap) {
		size_t c = *cap != 0 ? *cap : 4096;
		while (c < *len + n)
			c *= 2;
		char *nb = realloc(*body, c);
		if (nb == NULL)
			return false;
		*body = nb;
		*cap = c;
	}
	memcpy(*body + *len, chunk, n);
	*len += n;
	return true;
}
