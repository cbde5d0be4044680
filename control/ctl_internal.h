/* Control-plane internals shared by its files (not for the daemon). */
#ifndef KB_CTL_INTERNAL_H
#define KB_CTL_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "control.h"
#include "digest/digest.h"
#include "keysource.h"
#include "records.h"
#include "store.h"

struct MHD_Daemon;

/* /metrics: HTTP outcomes per UE endpoint. */
enum kb_ep { KB_EP_REGISTER, KB_EP_DEREGISTER, KB_EP_MSK, KB_EP_OTHER, KB_EP_COUNT };
#define KB_CODE_SLOTS 10
extern const int kb_metric_codes[KB_CODE_SLOTS]; /* last slot: any other code */
/* auth failures: the kb_digest_result values, plus "expired" */
#define KB_AUTH_EXPIRED KB_DIGEST_RESULT_COUNT
#define KB_AUTH_REASONS (KB_DIGEST_RESULT_COUNT + 1)

#define KB_MAX_ROLLOVERS 64

struct kb_rollover_progress {
	bool used;
	char service[KB_SERVICE_ID_MAX];
	uint16_t key_group;
	uint32_t msk_id;
	uint64_t targets;
	_Atomic uint64_t delivered;
	_Atomic uint64_t failed;
	int64_t started;
	/* the targets' csb_ids, ascending, and who answered: a repeated ack
	 * (a retransmission's) or an answer from a non-target is not counted */
	uint32_t *csb;
	uint8_t *answered; /* bitmap over csb[] */
};

struct kb_ctl {
	struct kb_control_cfg cfg;
	char fqdn[KB_GBA_FQDN_MAX + 1];
	char realm[KB_GBA_FQDN_MAX + 32];
	char admin_token[256];
	char bsf_domain[KB_GBA_FQDN_MAX + 1];
	struct kb_control_hooks hooks;
	struct kb_store *st;
	struct kb_keysource *records, *bsfsim;
	struct kb_digest_server *digest;
	struct MHD_Daemon *ue_d, *admin_d;
	char *tls_cert_pem, *tls_key_pem;
	struct kb_counter_grantor grantor;
	/* one writer for the key table, the SA/UE tables and rollover state */
	pthread_mutex_t writer;
	/* csb_ids are handed out in ascending order (the SA table is appended
	 * to): the next free one, from the greatest stored at start */
	pthread_mutex_t csb_lock;
	uint32_t next_csb;
	pthread_t timer;
	bool timer_running;
	atomic_bool stopping;

	_Atomic uint64_t http[KB_EP_COUNT][KB_CODE_SLOTS];
	_Atomic uint64_t auth_fail[KB_AUTH_REASONS];
	_Atomic uint64_t jobs_posted, jobs_refused, sas_created;
	pthread_mutex_t roll_lock;
	struct kb_rollover_progress roll[KB_MAX_ROLLOVERS];
};

extern struct kb_ctl *kb_ctl_g;

int64_t kb_ctl_now(void);
void kb_ctl_count_http(struct kb_ctl *c, enum kb_ep ep, int code);

/* Key sources in order; KB_KS_* codes. */
int kb_ctl_lookup(struct kb_ctl *c, const char *btid, struct kb_bootstrap *out);

/* SA for a UE whose MUK is known (sa_mgr.c). Reuses the live SA when the
 * B-TID and address are unchanged. Returns 0 and the csb_id, or -1. */
int kb_ctl_ensure_sa(struct kb_ctl *c, const struct kb_bootstrap *b, const struct kb_ue_addr *addr,
		     uint16_t key_group, uint32_t *csb_id);
/* Rebuild one SA from its stored record and publish it. */
int kb_ctl_publish_stored_sa(struct kb_ctl *c, uint32_t csb_id, const struct kb_rec_sa *rec);
/* n fresh csb_ids: *base .. *base + n - 1, above every one handed out so
 * far (unique among live SAs). -1 once the 32-bit space is used up. */
int kb_ctl_csb_reserve(struct kb_ctl *c, uint32_t n, uint32_t *base);
/* Sets next_csb from the store (start). */
int kb_ctl_csb_init(struct kb_ctl *c);
int kb_ctl_rebuild_keytable(struct kb_ctl *c, uint64_t *n);

/* Services and MSKs (services.c). */
int kb_ctl_service_get(struct kb_ctl *c, const char *id, struct kb_rec_service *out);
int kb_ctl_service_by_group(struct kb_ctl *c, const uint8_t domain[3], uint16_t group,
			    struct kb_rec_service *out);
int kb_ctl_msk_get(struct kb_ctl *c, const struct kb_rec_service *svc, uint16_t kn,
		   uint8_t msk[KB_MSK_LEN]);
/* Creates the service and its first MSK (key number 1). 0, 1 if it exists, -1. */
int kb_ctl_service_create(struct kb_ctl *c, const struct kb_rec_service *svc);
/* Start a rollover now: a new MSK with the next key number, persisted, then
 * the job. 0 or -1 with err. */
int kb_ctl_rollover_start(struct kb_ctl *c, const char *service, char *err, size_t errlen);
int kb_ctl_rollover_resume_all(struct kb_ctl *c);
int kb_ctl_solicit(struct kb_ctl *c, const char *service, const char *impi, uint64_t *posted,
		   char *err, size_t errlen);
bool kb_ctl_rollover_progress(struct kb_ctl *c, const char *service,
			      struct kb_rollover_progress *out);
void kb_ctl_rollover_free(struct kb_ctl *c); /* the progress tables (stop) */

/* Listeners. */
struct MHD_Daemon *kb_ctl_ue_server_start(struct kb_ctl *c, char *err, size_t errlen);
struct MHD_Daemon *kb_ctl_admin_server_start(struct kb_ctl *c, char *err, size_t errlen);
/* Prometheus text; malloc'd. */
char *kb_ctl_metrics_text(struct kb_ctl *c, size_t *len);

/* Address parsing shared by the listeners. */
int kb_ctl_sockaddr(const char *addr, uint16_t port, void *ss, unsigned *sslen, bool *v6);

#endif
