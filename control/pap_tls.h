/* PAP listener over HTTPS with Push Initiator client certificates
 * (libmicrohttpd on GnuTLS): the daemon asks every client for a
 * certificate and trusts one CA bundle; the handler asks who the verified
 * peer is. */
#ifndef KB_PAP_TLS_H
#define KB_PAP_TLS_H

#include <microhttpd.h>
#include <stddef.h>

#define KB_PAP_TLS_NAMES_MAX 8
#define KB_PAP_TLS_NAME_MAX 256

/* Start an HTTPS daemon on addr:port that requests client certificates and
 * verifies them against ca_pem (PEM bundle). NULL + err. */
struct MHD_Daemon *kb_pap_tls_start(const char *addr, unsigned short port, unsigned threads,
				    const char *cert_pem, const char *key_pem, const char *ca_pem,
				    MHD_AccessHandlerCallback handler, void *handler_cls,
				    MHD_RequestCompletedCallback done, char *err, size_t errlen);

enum kb_pap_tls_peer {
	KB_PAP_TLS_NO_CERT = 0, /* the client sent no certificate */
	KB_PAP_TLS_VERIFIED = 1, /* names[] hold its subject CN, then SAN dNSNames */
	KB_PAP_TLS_BAD_CERT = -1, /* sent one that does not verify (CA, time, usage) */
};

/* The connection's peer: the certificate is verified against the trust list
 * (chain, validity period) before any name is read. *n_names gets the
 * number of names (the subject CN first, then the SAN dNSNames). */
enum kb_pap_tls_peer kb_pap_tls_peer(struct MHD_Connection *con,
				     char names[KB_PAP_TLS_NAMES_MAX][KB_PAP_TLS_NAME_MAX],
				     size_t *n_names);

#endif
