/* Small helpers the two listeners share (libmicrohttpd). */
#ifndef KB_HTTP_UTIL_H
#define KB_HTTP_UTIL_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

/* Queue a response; body is copied. extra headers: NULL-terminated list of
 * name, value pairs (may be NULL). */
enum MHD_Result kb_http_reply(struct MHD_Connection *con, unsigned code, const char *ctype,
			      const char *body, size_t len, const char *const *headers);
/* text/plain "error: msg\n" */
enum MHD_Result kb_http_error(struct MHD_Connection *con, unsigned code, const char *msg);

/* Whether the request's Content-Type is `want` (parameters allowed). */
bool kb_http_ctype_is(struct MHD_Connection *con, const char *want);

/* Append one upload chunk to a request body that grows by doubling. Past
 * `max` the chunk is dropped and *too_large set: the caller keeps draining
 * and answers 413 at the end. Returns false only when out of memory. */
bool kb_http_body_append(char **body, size_t *len, size_t *cap, bool *too_large, const char *chunk,
			 size_t n, size_t max);

/* Start a daemon on addr:port with our common options; NULL + err. */
struct MHD_Daemon *kb_http_start(const char *addr, unsigned short port, unsigned threads,
				 const char *cert_pem, const char *key_pem,
				 MHD_AccessHandlerCallback handler, void *handler_cls,
				 MHD_RequestCompletedCallback done, char *err, size_t errlen);

#endif
