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
	return s;
}

/* a string key into a fixed buffer: 1 taken, -1 too long */
static int str_key(char *dst, size_t cap, const char *value)
{
	if (strlen(value) >= cap)
		return -1;
	snprintf(dst, cap, "%s", value);
	return 1;
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
