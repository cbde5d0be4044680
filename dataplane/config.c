/* keyburstd INI configuration (inih does the parsing). */
#include "config.h"

#include "util/hex.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ini.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct parse_ctx {
	struct kb_config *c;
	char *err;
	size_t errlen;
	char bad[160];
};

void kb_config_defaults(struct kb_config *c)
{
	memset(c, 0, sizeof(*c));
	c->port_id = 0;
	c->ip4[0] = 192, c->ip4[1] = 0, c->ip4[2] = 2, c->ip4[3] = 1;
	c->has_ip4 = true;
	c->udp_csum_v4 = true;
	c->lcores = 0;
	c->burst = 32;
	c->pps = 0;
	c->ack_timeout_ms = 200;
	c->retries = 5;
	c->backoff = 2;
	c->mbufs = 65535;
	c->ring_size = 4096;
	c->counter_window = 1u << 16;
	snprintf(c->idi, sizeof(c->idi), "bmsc.example.org");
	c->domain[0] = 0x62, c->domain[1] = 0xf2, c->domain[2] = 0x10;
	c->ctl.max_ues = 65536;
	c->pap.switch_at = 1.0;
}

int kb_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char tail;
	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
		return -1;
	for (int i = 0; i < 6; i++) {
		if (v[i] > 0xff)
			return -1;
		mac[i] = (uint8_t)v[i];
	}
	return 0;
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	errno = 0;
	if (*s == '\0' || *s == '-')
		return -1;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno != 0 || *end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_bool(const char *s, bool *out)
{
	if (strcasecmp(s, "1") == 0 || strcasecmp(s, "true") == 0 || strcasecmp(s, "yes") == 0 ||
	    strcasecmp(s, "on") == 0)
		*out = true;
	else if (strcasecmp(s, "0") == 0 || strcasecmp(s, "false") == 0 ||
		 strcasecmp(s, "no") == 0 || strcasecmp(s, "off") == 0)
		*out = false;
	else
		return -1;
	return 0;
}

/* a string key into a fixed buffer: 1 taken, -1 too long */
static int str_key(char *dst, size_t cap, const char *value)
{
	if (strlen(value) >= cap)
		return -1;
	snprintf(dst, cap, "%s", value);
	return 1;
}

static void ptm_defaults(struct kb_ptm_svc_cfg *p)
{
	memset(p, 0, sizeof(*p));
	p->mtk_port = 4359; /* PROFILE.md: MTK messages on the MIKEY port */
	p->data_port = 5004;
	p->rate_bps = 10000000;
	p->rotate_ms = 600000;
	p->repeat_ms = 1000;
	p->lead_ms = 200;
	p->counter_block = 256;
	p->pt = 96;
	p->ttl = 16;
	p->srtp_max = 1200;
}

static struct kb_service_cfg *service_for(struct kb_config *c, const char *name)
{
	for (unsigned i = 0; i < c->n_services; i++)
		if (strcmp(c->svc[i].name, name) == 0)
			return &c->svc[i];
	if (c->n_services == KB_MAX_SERVICES)
		return NULL;
	struct kb_service_cfg *s = &c->svc[c->n_services++];
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->udp_port = 4359;
	s->ack = true;
	ptm_defaults(&s->ptm);
	return s;
}

/* ptm_* keys of [service NAME]: 1 taken, 0 unknown, -1 bad value. */
static int ptm_key(struct kb_ptm_svc_cfg *p, const char *name, const char *value)
{
	unsigned long long u;
	static const struct {
		const char *name;
		unsigned long long min, max;
	} nums[] = {
		{"ptm_mtk_port", 1, 65535},           {"ptm_data_port", 1, 65535},
		{"ptm_rate_bps", 0, 400000000000ull}, {"ptm_rotate_ms", 0, 86400000ull * 365},
		{"ptm_repeat_ms", 0, 86400000},       {"ptm_lead_ms", 0, 3600000},
		{"ptm_counter_block", 1, 1u << 20},   {"ptm_ssrc", 0, UINT32_MAX},
		{"ptm_payload_type", 0, 127},         {"ptm_ttl", 1, 255},
		{"ptm_srtp_max", 64, 1472},
	};
	if (strcmp(name, "ptm_group") == 0) {
		if (inet_pton(AF_INET, value, p->group) != 1 || (p->group[0] & 0xf0) != 0xe0)
			return -1;
		return 1;
	}
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		if (strcmp(name, nums[i].name) != 0)
			continue;
		if (parse_uint(value, nums[i].max, &u) != 0 || u < nums[i].min)
			return -1;
		switch (i) {
		case 0:
			p->mtk_port = (uint16_t)u;
			break;
		case 1:
			p->data_port = (uint16_t)u;
			break;
		case 2:
			p->rate_bps = u;
			break;
		case 3:
			p->rotate_ms = u;
			break;
		case 4:
			p->repeat_ms = u;
			break;
		case 5:
			p->lead_ms = u;
			break;
		case 6:
			p->counter_block = (uint32_t)u;
			break;
		case 7:
			p->ssrc = (uint32_t)u;
			break;
		case 8:
			p->pt = (uint8_t)u;
			break;
		case 9:
			p->ttl = (uint8_t)u;
			break;
		default:
			p->srtp_max = (uint16_t)u;
			break;
		}
		return 1;
	}
	return 0;
}

/* [pap] keys: 1 taken, 0 unknown, -1 bad value. */
static int pap_key(struct kb_pap_conf *k, const char *name, const char *value)
{
	unsigned long long u;
	char *end;
	if (strcmp(name, "port") == 0) {
		if (parse_uint(value, 65535, &u) != 0)
			return -1;
		k->port = (uint16_t)u;
		return 1;
	}
	if (strcmp(name, "addr") == 0)
		return str_key(k->addr, sizeof(k->addr), value);
	if (strcmp(name, "tls_cert") == 0)
		return str_key(k->tls_cert, sizeof(k->tls_cert), value);
	if (strcmp(name, "tls_key") == 0)
		return str_key(k->tls_key, sizeof(k->tls_key), value);
	if (strcmp(name, "client_ca") == 0)
		return str_key(k->client_ca, sizeof(k->client_ca), value);
	if (strcmp(name, "require_client_cert") == 0)
		return parse_bool(value, &k->require_client_cert) == 0 ? 1 : -1;
	if (strcmp(name, "rate") == 0 || strcmp(name, "burst") == 0) {
		double d = strtod(value, &end);
		if (*value == '\0' || *end != '\0' || !(d > 0) || d > 1e6)
			return -1;
		*(name[0] == 'r' ? &k->rate : &k->burst) = d;
		return 1;
	}
	if (strcmp(name, "max_body") == 0 || strcmp(name, "max_content") == 0) {
		if (parse_uint(value, 1ull << 32, &u) != 0 || u == 0)
			return -1;
		*(name[4] == 'b' ? &k->max_body : &k->max_content) = u;
		return 1;
	}
	if (strcmp(name, "default_lifetime") == 0) {
		if (parse_uint(value, 86400 * 365, &u) != 0 || u == 0)
			return -1;
		k->default_lifetime = (uint32_t)u;
		return 1;
	}
	return 0;
}

/* [pap initiator ID] keys: password, allowed. */
static int initiator_key(struct kb_pap_conf *k, const char *id, const char *name, const char *value)
{
	unsigned i;
	if (id[0] == '\0' || strlen(id) >= sizeof(k->ini[0].id))
		return -1;
	for (i = 0; i < k->n_initiators; i++)
		if (strcmp(k->ini[i].id, id) == 0)
			break;
	if (i == k->n_initiators) {
		if (i == KB_PAP_CONF_INITIATORS)
			return -1;
		k->n_initiators++;
		snprintf(k->ini[i].id, sizeof(k->ini[i].id), "%s", id);
		k->ini[i].allowed = true;
	}
	if (strcmp(name, "password") == 0)
		return value[0] != '\0'
			       ? str_key(k->ini[i].password, sizeof(k->ini[i].password), value)
			       : -1;
	if (strcmp(name, "allowed") == 0)
		return parse_bool(value, &k->ini[i].allowed) == 0 ? 1 : -1;
	return 0;
}

/* [control] keys: 1 taken, 0 unknown, -1 bad value. */
static int control_key(struct kb_config *c, const char *name, const char *value)
{
	struct kb_control_conf *k = &c->ctl;
	unsigned long long u;
	static const struct {
		const char *name;
		size_t off, cap;
	} strs[] = {
#define S(n, f) {n, offsetof(struct kb_control_conf, f), sizeof(((struct kb_control_conf *)0)->f)}
		S("ue_addr", ue_addr),         S("admin_addr", admin_addr),
		S("admin_token", admin_token), S("store", store),
		S("tls_cert", tls_cert),       S("tls_key", tls_key),
		S("mrk_variant", mrk_variant), S("bsf_domain", bsf_domain),
#undef S
	};
	static const struct {
		const char *name;
		unsigned long long max;
	} nums[] = {
		{"ue_port", 65535},      {"admin_port", 65535},      {"store_map_size", 1ull << 44},
		{"http_threads", 64},    {"max_body", 1u << 30},     {"nonce_lifetime", 86400},
		{"ue_udp_port", 65535},  {"bsf_lifetime", 1u << 30}, {"max_ues", 1u << 24},
		{"import_threads", 256},
	};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		if (strcmp(name, strs[i].name) == 0)
			return str_key((char *)k + strs[i].off, strs[i].cap, value);
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		if (strcmp(name, nums[i].name) != 0)
			continue;
		if (parse_uint(value, nums[i].max, &u) != 0)
			return -1;
		switch (i) {
		case 0:
			k->ue_port = (uint16_t)u;
			break;
		case 1:
			k->admin_port = (uint16_t)u;
			break;
		case 2:
			k->store_map_size = u;
			break;
		case 3:
			k->http_threads = (unsigned)u;
			break;
		case 4:
			k->max_body = u;
			break;
		case 5:
			k->nonce_lifetime = (uint32_t)u;
			break;
		case 6:
			k->ue_udp_port = (uint16_t)u;
			break;
		case 7:
			k->bsf_lifetime = (uint32_t)u;
			break;
		case 8:
			if (u == 0)
				return -1;
			k->max_ues = (uint32_t)u;
			break;
		default:
			k->import_threads = (unsigned)u;
			break;
		}
		return 1;
	}
	if (strcmp(name, "bsf_sim") == 0)
		return parse_bool(value, &k->bsf_sim) == 0 ? 1 : -1;
	if (strcmp(name, "metrics_auth") == 0)
		return parse_bool(value, &k->metrics_auth) == 0 ? 1 : -1;
	return 0;
}

#define UINT_KEY(sec, key, field, max)                             \
	if (strcmp(section, sec) == 0 && strcmp(name, key) == 0) { \
		if (parse_uint(value, max, &u) != 0)               \
			goto bad;                                  \
		field = u;                                         \
		return 1;                                          \
	}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *p = user;
	struct kb_config *c = p->c;
	unsigned long long u;

	UINT_KEY("port", "port", c->port_id, 65535)
	UINT_KEY("dataplane", "lcores", c->lcores, 128)
	UINT_KEY("dataplane", "burst", c->burst, 64)
	UINT_KEY("dataplane", "pps", c->pps, UINT64_MAX)
	UINT_KEY("dataplane", "ack_timeout_ms", c->ack_timeout_ms, 3600000)
	UINT_KEY("dataplane", "retries", c->retries, 64)
	UINT_KEY("dataplane", "backoff", c->backoff, 16)
	UINT_KEY("dataplane", "mbufs", c->mbufs, 1u << 24)
	UINT_KEY("dataplane", "ring_size", c->ring_size, 1u << 20)
	UINT_KEY("dataplane", "counter_window", c->counter_window, 1u << 30)

	if (strcmp(section, "port") == 0) {
		if (strcmp(name, "ip") == 0) {
			if (inet_pton(AF_INET, value, c->ip4) != 1)
				goto bad;
			c->has_ip4 = true;
			return 1;
		}
		if (strcmp(name, "ip6") == 0) {
			if (inet_pton(AF_INET6, value, c->ip6) != 1)
				goto bad;
			c->has_ip6 = true;
			return 1;
		}
		if (strcmp(name, "next_hop_mac") == 0) {
			if (kb_parse_mac(value, c->next_hop_mac) != 0)
				goto bad;
			c->has_next_hop_mac = true;
			return 1;
		}
		if (strcmp(name, "next_hop_ip") == 0) {
			if (inet_pton(AF_INET, value, c->next_hop_ip4) != 1)
				goto bad;
			c->has_next_hop_ip4 = true;
			return 1;
		}
		if (strcmp(name, "udp_checksum_ipv4") == 0) {
			if (parse_bool(value, &c->udp_csum_v4) != 0)
				goto bad;
			return 1;
		}
	}
	if (strcmp(section, "identity") == 0) {
		if (strcmp(name, "idi") == 0) {
			if (strlen(value) == 0 || strlen(value) > KB_IDI_MAX)
				goto bad;
			snprintf(c->idi, sizeof(c->idi), "%s", value);
			return 1;
		}
		if (strcmp(name, "key_domain") == 0) {
			if (strlen(value) != 6 || kb_hex_decode(value, 6, c->domain, 3) != 3)
				goto bad;
			return 1;
		}
	}
	if (strncmp(section, "service ", 8) == 0 && section[8] != '\0') {
		struct kb_service_cfg *s = service_for(c, section + 8);
		bool b;
		if (s == NULL)
			goto bad;
		if (strcmp(name, "key_group") == 0) {
			if (parse_uint(value, 65535, &u) != 0)
				goto bad;
			s->key_group = (uint16_t)u;
			return 1;
		}
		if (strcmp(name, "udp_port") == 0) {
			if (parse_uint(value, 65535, &u) != 0 || u == 0)
				goto bad;
			s->udp_port = (uint16_t)u;
			return 1;
		}
		if (strcmp(name, "ack") == 0) {
			if (parse_bool(value, &b) != 0)
				goto bad;
			s->ack = b;
			return 1;
		}
		int rc = ptm_key(&s->ptm, name, value);
		if (rc < 0)
			goto bad;
		if (rc > 0)
			return 1;
	}
	if (strcmp(section, "pap") == 0) {
		int rc = pap_key(&c->pap, name, value);
		if (rc < 0)
			goto bad;
		if (rc > 0)
			return 1;
	}
	if (strcmp(section, "ptm") == 0 && strcmp(name, "switch_at") == 0) {
		char *end;
		double d = strtod(value, &end);
		if (*value == '\0' || *end != '\0' || !(d >= 0 && d <= 1))
			goto bad;
		c->pap.switch_at = d;
		return 1;
	}
	if (strncmp(section, "pap initiator ", 14) == 0) {
		int rc = initiator_key(&c->pap, section + 14, name, value);
		if (rc < 0)
			goto bad;
		if (rc > 0)
			return 1;
	}
	if (strcmp(section, "control") == 0) {
		int rc = control_key(c, name, value);
		if (rc < 0)
			goto bad;
		if (rc > 0) {
			c->ctl.enabled = true;
			return 1;
		}
	}
	snprintf(p->bad, sizeof(p->bad), "unknown key [%s] %s", section, name);
	return 0;
bad:
	snprintf(p->bad, sizeof(p->bad), "bad value for [%s] %s: '%s'", section, name, value);
	return 0;
}

int kb_config_load(struct kb_config *c, const char *path, char *err, size_t errlen)
{
	struct parse_ctx p = {.c = c, .err = err, .errlen = errlen};
	int rc = ini_parse(path, handler, &p);
	if (rc == -1) {
		snprintf(err, errlen, "%s: cannot open", path);
		return -1;
	}
	if (rc != 0) {
		snprintf(err, errlen, "%s:%d: %s", path, rc, p.bad[0] ? p.bad : "syntax error");
		return -1;
	}
	return kb_config_check(c, err, errlen);
}

int kb_config_check(const struct kb_config *c, char *err, size_t errlen)
{
	if (c->burst == 0 || c->burst > 64) {
		snprintf(err, errlen, "burst must be 1..64");
		return -1;
	}
	if (c->ring_size < 64 || (c->ring_size & (c->ring_size - 1)) != 0) {
		snprintf(err, errlen, "ring_size must be a power of two >= 64");
		return -1;
	}
	if (c->ack_timeout_ms == 0 || c->backoff == 0) {
		snprintf(err, errlen, "ack_timeout_ms and backoff must be > 0");
		return -1;
	}
	if (c->ctl.enabled && c->ctl.store[0] == '\0') {
		snprintf(err, errlen, "[control] needs store = DIR (the LMDB directory)");
		return -1;
	}
	if ((c->ctl.tls_cert[0] == '\0') != (c->ctl.tls_key[0] == '\0')) {
		snprintf(err, errlen, "[control] tls_cert and tls_key go together");
		return -1;
	}
	if (c->pap.port != 0 && !c->ctl.enabled) {
		snprintf(err, errlen, "[pap] needs [control] (pushes live in its store)");
		return -1;
	}
	if ((c->pap.tls_cert[0] == '\0') != (c->pap.tls_key[0] == '\0')) {
		snprintf(err, errlen, "[pap] tls_cert and tls_key go together");
		return -1;
	}
	if (c->pap.client_ca[0] != '\0' && c->pap.tls_cert[0] == '\0') {
		snprintf(err, errlen, "[pap] client_ca needs tls_cert and tls_key (HTTPS)");
		return -1;
	}
	if (c->pap.require_client_cert && c->pap.client_ca[0] == '\0') {
		snprintf(err, errlen, "[pap] require_client_cert needs client_ca");
		return -1;
	}
	for (unsigned i = 0; i < c->pap.n_initiators; i++)
		if (c->pap.ini[i].password[0] == '\0' && c->pap.client_ca[0] == '\0') {
			snprintf(err, errlen,
				 "[pap initiator %s] needs a password (or [pap] client_ca)",
				 c->pap.ini[i].id);
			return -1;
		}
	for (unsigned i = 0; i < c->n_services; i++) {
		const struct kb_ptm_svc_cfg *p = &c->svc[i].ptm;
		if (p->rotate_ms != 0 && p->lead_ms >= p->rotate_ms) {
			snprintf(err, errlen, "service %s: ptm_lead_ms must be < ptm_rotate_ms",
				 c->svc[i].name);
			return -1;
		}
	}
	for (unsigned i = 0; i < c->n_services; i++)
		for (unsigned j = i + 1; j < c->n_services; j++)
			if (c->svc[i].key_group == c->svc[j].key_group) {
				snprintf(err, errlen, "services %s and %s share key group %u",
					 c->svc[i].name, c->svc[j].name, c->svc[i].key_group);
				return -1;
			}
	return 0;
}

const struct kb_service_cfg *kb_config_service(const struct kb_config *c, uint16_t key_group)
{
	for (unsigned i = 0; i < c->n_services; i++)
		if (c->svc[i].key_group == key_group)
			return &c->svc[i];
	return NULL;
}

void kb_config_ptm(const struct kb_config *c, uint16_t key_group, struct kb_ptm_svc_cfg *out)
{
	const struct kb_service_cfg *s = kb_config_service(c, key_group);
	if (s != NULL)
		*out = s->ptm;
	else
		ptm_defaults(out);
	if (out->group[0] == 0) {
		/* administratively scoped (RFC 2365), one group per key group */
		out->group[0] = 239;
		out->group[1] = 192;
		out->group[2] = (uint8_t)(key_group >> 8);
		out->group[3] = (uint8_t)key_group;
	}
}
