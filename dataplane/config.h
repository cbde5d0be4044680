/* keyburstd configuration: an INI file (inih) plus command-line overrides.
 * See dataplane/keyburstd.conf.example for every key. */
#ifndef KB_DP_CONFIG_H
#define KB_DP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KB_MAX_SERVICES 64
#define KB_IDI_MAX 255

/* PTM push of a key group's service (issue 7, docs/pap.md): where and how
 * fast its MTK messages and SRTP content go. Keys ptm_* of [service NAME];
 * a key group without a section gets the defaults (kb_config_ptm). */
struct kb_ptm_svc_cfg {
	uint8_t group[4]; /* IPv4 multicast group; 0.0.0.0 = 239.192.<key group> */
	uint16_t mtk_port; /* MTK messages; 0 = 4359 */
	uint16_t data_port; /* SRTP content; 0 = 5004 */
	uint64_t rate_bps; /* content pacing in bits of frames per second; 0 = unpaced */
	uint64_t rotate_ms, repeat_ms, lead_ms; /* MTK lifetime, resend period, announce lead */
	uint32_t counter_block; /* MTK counters reserved per store write; 0 = 256 */
	uint32_t ssrc; /* 0 = random per run */
	uint8_t pt; /* RTP payload type; 0 = 96 */
	uint8_t ttl; /* 0 = 16 */
	uint16_t srtp_max; /* whole SRTP packet; 0 = 1200 */
};

struct kb_service_cfg {
	char name[64];
	uint16_t key_group;
	uint16_t udp_port; /* our source port; acks come back to it */
	bool ack; /* V bit: ask UEs for a verification message */
	struct kb_ptm_svc_cfg ptm;
};

/* [pap] and [pap initiator ID]: the PAP endpoint for Push Initiators
 * (control/pap_api.h), with [control] only. No port = no PAP listener. */
#define KB_PAP_CONF_INITIATORS 32
struct kb_pap_conf {
	uint16_t port;
	char addr[64]; /* "" = 127.0.0.1 */
	char tls_cert[512], tls_key[512];
	double rate, burst; /* requests per second per initiator and bucket size; 0 = 10, 20 */
	uint64_t max_body, max_content; /* 0 = 1 MiB, max_body */
	uint32_t default_lifetime; /* seconds; 0 = 3600 */
	char client_ca[512]; /* PI client certificates' CA (PEM); "" = Digest only */
	bool require_client_cert; /* with client_ca: a verified certificate is needed */
	double switch_at; /* [ptm] switch_at: fraction of a rollover acked before PTM
			     moves to the new MSK (docs/pap.md); default 1.0 */
	unsigned n_initiators;
	struct {
		char id[64];
		char password[128];
		bool allowed; /* on the allowlist (default yes) */
	} ini[KB_PAP_CONF_INITIATORS];
};

/* [control]: the control plane (control/control.h) in the same process.
 * Present (any key in the section) = keyburstd starts it. */
struct kb_control_conf {
	bool enabled;
	char ue_addr[64]; /* UE listener (HTTP Digest); "" = 0.0.0.0 */
	uint16_t ue_port;
	char admin_addr[64]; /* admin API; "" = 127.0.0.1 */
	uint16_t admin_port;
	char admin_token[256]; /* "" = $KEYBURST_ADMIN_TOKEN */
	char store[512]; /* LMDB directory (required) */
	uint64_t store_map_size;
	char tls_cert[512], tls_key[512];
	unsigned http_threads;
	uint64_t max_body;
	uint32_t nonce_lifetime;
	uint16_t ue_udp_port; /* where UEs receive MSK messages; 0 = 4359 */
	char mrk_variant[64];
	bool bsf_sim;
	char bsf_domain[256];
	uint32_t bsf_lifetime;
	uint32_t max_ues; /* SAs the key table and shards are sized for */
	unsigned import_threads; /* SA derivation workers (on the main lcore's core); 0 = auto */
	bool metrics_auth; /* admin token on /metrics and /healthz too */
};

struct kb_config {
	/* [port] */
	uint16_t port_id;
	uint8_t ip4[4]; /* our IPv4 source address */
	uint8_t ip6[16]; /* our IPv6 source address */
	bool has_ip4, has_ip6;
	uint8_t next_hop_mac[6];
	bool has_next_hop_mac; /* static; otherwise learned by ARP */
	uint8_t next_hop_ip4[4];
	bool has_next_hop_ip4;
	bool udp_csum_v4; /* IPv4 UDP checksum (IPv6 always has one) */
	/* [dataplane] */
	unsigned lcores; /* dataplane lcores; 0 = every worker lcore */
	unsigned burst; /* messages built and sealed at once, 1..64 */
	uint64_t pps; /* token-bucket ceiling over all lcores; 0 = none */
	unsigned ack_timeout_ms;
	unsigned retries; /* retransmissions before a UE is marked failed */
	unsigned backoff; /* timeout multiplier per retry (1 = constant) */
	unsigned mbufs; /* mbuf pool size */
	unsigned ring_size; /* job, event and hand-over rings */
	uint32_t counter_window; /* counter values granted at once */
	/* [identity] */
	char idi[KB_IDI_MAX + 1]; /* BM-SC FQDN */
	uint8_t domain[3]; /* key domain id: MCC||MNC */
	/* [service NAME] */
	unsigned n_services;
	struct kb_service_cfg svc[KB_MAX_SERVICES];
	/* [control] */
	struct kb_control_conf ctl;
	/* [pap], [pap initiator ID] */
	struct kb_pap_conf pap;
};

void kb_config_defaults(struct kb_config *c);
/* Parse an INI file over the defaults. Returns 0, or -1 with a message in
 * err naming the line and key. */
int kb_config_load(struct kb_config *c, const char *path, char *err, size_t errlen);
/* Check cross-field constraints after overrides. */
int kb_config_check(const struct kb_config *c, char *err, size_t errlen);
const struct kb_service_cfg *kb_config_service(const struct kb_config *c, uint16_t key_group);
/* The PTM settings of a key group with every default filled in. */
void kb_config_ptm(const struct kb_config *c, uint16_t key_group, struct kb_ptm_svc_cfg *out);
int kb_parse_mac(const char *s, uint8_t mac[6]);

#endif
