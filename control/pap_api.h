/* The PAP endpoint for Push Initiators (issue 7, docs/pap.md): its own
 * libmicrohttpd listener on the control plane. POST multipart/related (or a
 * bare application/xml for statusquery and cancel) → proto/pap parsing →
 * push-message / statusquery-message / cancel-message handling. PIs
 * authenticate with HTTP Digest (a configured password per initiator id) or
 * with a TLS client certificate (pap_tls.h), and must be on the allowlist; each is rate-limited by a token bucket keyed by
 * its id. Pushes are durable in the store (KB_ST_PUSH) until delivered,
 * expired or cancelled; due pushes are posted to the dataplane through the
 * post_push hook; result notifications are POSTed (libcurl) to
 * ppg-notify-requested-to.
 *
 * The embedder calls kb_pap_api_configure before kb_control_start; the
 * control plane then starts the listener (kb_pap_api_start) if a port is
 * configured. */
#ifndef KB_PAP_API_H
#define KB_PAP_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "records.h"
#include "srtp/mtk_sched.h"

#define KB_PAP_INITIATOR_MAX 64 /* id length, NUL included */
#define KB_PAP_INITIATORS_MAX 32

struct kb_pap_initiator {
	const char *id; /* the Digest username */
	const char *password; /* Digest password; NULL: certificate only */
	bool allowed; /* on the allowlist; a known but not allowed PI gets 2001 */
};

/* What the dataplane is asked to send: the object of one push to the
 * service's multicast group under its current MSK. obj stays valid until
 * kb_pap_api_on_delivered/on_failed(push_num) returns. The hook copies what
 * it keeps of the MSK and must not keep `msk`. */
struct kb_pap_push_job {
	uint32_t push_num; /* the 4-byte push id on the wire */
	char service[KB_SERVICE_ID_MAX];
	uint8_t key_domain[3];
	uint16_t key_group;
	uint32_t msk_id;
	uint8_t msk[KB_MSK_LEN];
	const uint8_t *obj;
	uint32_t len;
	uint8_t priority; /* enum kb_pap_priority */
};

struct kb_pap_api_cfg {
	const char *addr; /* NULL: 127.0.0.1 */
	uint16_t port; /* 0: no PAP listener */
	const char *tls_cert, *tls_key; /* PEM paths (HTTPS), optional */
	const struct kb_pap_initiator *initiators;
	size_t n_initiators;
	double rate; /* requests per second per initiator; 0: 10 */
	double burst; /* bucket size; 0: 20 */
	size_t max_body; /* 0: 1 MiB */
	size_t max_content; /* 0: max_body */
	uint32_t default_lifetime; /* seconds a push without deliver-before lives; 0: 3600 */
	/* 0 posted, -1 refused (retried later) */
	int (*post_push)(void *ctx, const struct kb_pap_push_job *job);
	/* Remove a posted push that has not started: 0 removed, -1 too late. */
	int (*cancel_push)(void *ctx, uint32_t push_num);
	/* PTM of the key group may now seal its MTK messages with msk_id (a
	 * rollover reached switch_at). The hook copies the MSK. 0 posted, -1
	 * refused (retried at the next tick). NULL: the embedder switches by
	 * itself. */
	int (*use_msk)(void *ctx, const uint8_t key_domain[3], uint16_t key_group, uint32_t msk_id,
		       const uint8_t msk[KB_MSK_LEN]);
	void *ctx;
	/* Fraction (0..1) of a rollover's targets that must have acked before
	 * PTM moves to the new MSK; a complete rollover (delivered + failed ==
	 * targets) always switches. 1: at completion; 0: when it starts. */
	double switch_at;
	/* PI authentication by TLS client certificate (needs tls_cert/key):
	 * PEM CA bundle the PIs' certificates must chain to. The verified
	 * certificate's subject CN (or a SAN dNSName) names the initiator. */
	const char *client_ca;
	bool require_client_cert; /* no certificate → 403, no Digest fallback */
};

/* Copies cfg (strings included). 0, or -1 if invalid. */
int kb_pap_api_configure(const struct kb_pap_api_cfg *cfg);

struct kb_ctl;
/* Called by kb_control_start / kb_control_stop. */
int kb_pap_api_start(struct kb_ctl *c, char *err, size_t errlen);
void kb_pap_api_stop(void);

/* From the dataplane's events: every packet of the push left the port, or
 * the dataplane gave up on it. Thread-safe. */
void kb_pap_api_on_delivered(uint32_t push_num);
void kb_pap_api_on_failed(uint32_t push_num);

/* Run due work now (posting, expiry, notifications); the PAP thread calls
 * it every 100 ms, tests may call it. */
void kb_pap_api_tick(int64_t now);

/* A rollover's progress (control plane, after each counted answer and when
 * it is posted): once delivered >= switch_at * targets, or delivered +
 * failed == targets, hands the new MSK to PTM through use_msk. Thread-safe;
 * call without the control plane's locks held. */
void kb_pap_api_rollover_progress(const char *service, uint32_t msk_id, uint64_t delivered,
				  uint64_t failed, uint64_t targets);

/* Durable per-MSK MTK marks (counter, MTK ID) for the dataplane's MTK
 * scheduler, in the store's META table under "mtk_mark/<service>/<MSK ID>".
 * service must outlive the persist. Valid between start and stop. */
void kb_pap_api_mtk_persist(const char *service, struct kb_mtk_persist *p);

#endif
