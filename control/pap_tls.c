/* PAP over HTTPS with client certificates (pap_tls.h). */
#include "pap_tls.h"

#include "ctl_internal.h"

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct MHD_Daemon *kb_pap_tls_start(const char *addr, unsigned short port, unsigned threads,
				    const char *cert_pem, const char *key_pem, const char *ca_pem,
				    MHD_AccessHandlerCallback handler, void *handler_cls,
				    MHD_RequestCompletedCallback done, char *err, size_t errlen)
{
	struct sockaddr_in6 ss;
	unsigned sslen;
	bool v6;
	unsigned flags =
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_USE_TLS;
	struct MHD_Daemon *d;

	if (kb_ctl_sockaddr(addr, port, &ss, &sslen, &v6) != 0) {
		snprintf(err, errlen, "bad listen address '%s'", addr);
		return NULL;
	}
	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
		snprintf(err, errlen, "libmicrohttpd was built without TLS");
		return NULL;
	}
	if (v6)
		flags |= MHD_USE_IPv6;
	/* MHD_OPTION_HTTPS_MEM_TRUST: the server requests a client certificate
	 * (GNUTLS_CERT_REQUEST) and keeps the CA for our verification below */
	d = MHD_start_daemon(flags, port, NULL, NULL, handler, handler_cls, MHD_OPTION_SOCK_ADDR,
			     (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE, threads,
			     MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_NOTIFY_COMPLETED, done,
			     handler_cls, MHD_OPTION_HTTPS_MEM_KEY, key_pem,
			     MHD_OPTION_HTTPS_MEM_CERT, cert_pem, MHD_OPTION_HTTPS_MEM_TRUST,
			     ca_pem, MHD_OPTION_END);
	if (d == NULL)
		snprintf(err, errlen, "cannot listen (HTTPS, client CA) on %s port %u", addr, port);
	return d;
}

enum kb_pap_tls_peer kb_pap_tls_peer(struct MHD_Connection *con,
				     char names[KB_PAP_TLS_NAMES_MAX][KB_PAP_TLS_NAME_MAX],
				     size_t *n_names)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(con, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	gnutls_session_t s;
	const gnutls_datum_t *chain;
	unsigned int n_chain = 0, status = 0;
	gnutls_x509_crt_t crt = NULL;
	enum kb_pap_tls_peer ret = KB_PAP_TLS_BAD_CERT;

	*n_names = 0;
	if (ci == NULL || ci->tls_session == NULL)
		return KB_PAP_TLS_NO_CERT;
	s = (gnutls_session_t)ci->tls_session;
	if (gnutls_certificate_type_get(s) != GNUTLS_CRT_X509)
		return KB_PAP_TLS_NO_CERT;
	chain = gnutls_certificate_get_peers(s, &n_chain);
	if (chain == NULL || n_chain == 0)
		return KB_PAP_TLS_NO_CERT;
	/* chain to the trust list, signatures, validity period, key usage */
	if (gnutls_certificate_verify_peers2(s, &status) != GNUTLS_E_SUCCESS || status != 0)
		return KB_PAP_TLS_BAD_CERT;
	if (gnutls_x509_crt_init(&crt) != GNUTLS_E_SUCCESS)
		return KB_PAP_TLS_BAD_CERT;
	if (gnutls_x509_crt_import(crt, &chain[0], GNUTLS_X509_FMT_DER) != GNUTLS_E_SUCCESS)
		goto out;
	size_t len = KB_PAP_TLS_NAME_MAX;
	if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, names[0], &len) ==
		    GNUTLS_E_SUCCESS &&
	    strlen(names[0]) == len)
		(*n_names)++; /* a CN with an embedded NUL is not a name */
	for (unsigned i = 0; *n_names < KB_PAP_TLS_NAMES_MAX; i++) {
		unsigned critical = 0;
		len = KB_PAP_TLS_NAME_MAX;
		int t = gnutls_x509_crt_get_subject_alt_name(crt, i, names[*n_names], &len,
							     &critical);
		if (t == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE ||
		    (t < 0 && t != GNUTLS_E_SHORT_MEMORY_BUFFER))
			break;
		if (t == GNUTLS_SAN_DNSNAME && len < KB_PAP_TLS_NAME_MAX &&
		    strlen(names[*n_names]) == len)
			(*n_names)++;
	}
	ret = KB_PAP_TLS_VERIFIED;
out:
	gnutls_x509_crt_deinit(crt);
	return ret;
}
