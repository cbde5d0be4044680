/* The PTM receiver of keyburst-uesim: MTK messages opened with the MSKs the
 * simulated UE holds, SRTP unprotected with proto/srtp's reference,
 * objects reassembled by kb_push_rx. See ptm_rx.h and docs/uesim.md. */
#include "ptm_rx.h"

#include "uesim.h"

#include "mikey/mikey_ref.h"
#include "srtp/srtp.h"
#include "util/be.h"
#include "util/hex.h"
#include "util/secret.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <jansson.h>
#include <net/if.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifdef KB_UESIM_DPDK
#include <rte_ethdev.h>
#endif

#define PTM_MAX_SVC 16 /* configured groups, or groups seen in a capture */
#define PTM_MAX_MTK 16 /* MTKs kept per service; the oldest goes first */
#define PTM_MAX_CTR 8 /* MSKs whose MTK counter a service follows */
#define PTM_MAX_PENDING 16 /* objects being reassembled at once per service */
/* SRTP packets held per service until their MTK message arrives: on two
 * sockets (MTK port, data port) a packet can be read before the MTK
 * message that was sent ahead of it */
#define PTM_MAX_HELD 1024
#define PTM_OBJ_MAX (64u << 20)
#define PTM_DEFAULT_MTK_PORT 4359

struct ptm_mtk {
	uint32_t msk_id;
	uint16_t mtk_id;
	uint64_t age; /* when it was first announced (message number) */
	uint8_t key[KB_SRTP_MASTER_KEY_LEN], salt[KB_SRTP_MASTER_SALT_LEN];
	bool keys_ready;
	struct kb_srtp_keys sk;
	uint16_t s_l; /* highest sequence number seen under this MTK, and its ROC */
	uint32_t roc;
	bool have_seq;
};

struct ptm_ctr {
	uint8_t domain[3];
	uint32_t msk_id;
	uint32_t last; /* the last MTK message counter accepted under this MSK */
};

struct ptm_obj {
	uint32_t push_id;
	uint32_t len;
	bool done;
	struct kb_push_rx rx; /* freed once done */
	uint8_t sha256[32];
	char file[64];
};

struct ptm_svc {
	struct kb_ptm_group g;
	struct ptm_mtk mtk[PTM_MAX_MTK];
	unsigned n_mtk;
	struct ptm_ctr ctr[PTM_MAX_CTR];
	unsigned n_ctr;
	struct ptm_obj *obj;
	unsigned n_obj, cap_obj;
	struct ptm_held {
		uint8_t *p;
		size_t len;
	} held[PTM_MAX_HELD];
	unsigned n_held;
	int fd_mtk, fd_data;
};

struct ptm_stats {
	uint64_t frames, other, mac_bad;
	uint64_t mtk_msgs, mtk_bad, mtk_no_msk, mtk_replays;
	uint64_t srtp_ok, srtp_bad, srtp_no_key, srtp_held;
	uint64_t obj_bad, objects_complete, bytes;
	bool mtk_before_content; /* every SRTP packet's MTK was announced before it */
};

struct kb_ptm_rx {
	struct kb_uesim *sim;
	uint32_t ue_row;
	uint16_t mtk_port;
	bool any_group; /* no --ptm-group: every group of a capture is a service */
	const char *out_dir;
	const char *input; /* "pcap", "sock" or "dpdk": for the summary */
	struct kb_ref_ctx *ref;
	struct ptm_svc svc[PTM_MAX_SVC];
	unsigned n_svc;
	struct ptm_stats st;
	uint64_t n_mtk_seen;
	uint8_t buf[65536]; /* sock mode: one datagram */
};

/* ---- options ---- */

static int parse_group(const char *arg, struct kb_ptm_group *g)
{
	char host[64];
	const char *colon = strrchr(arg, ':');
	char *end;
	if (colon == NULL || (size_t)(colon - arg) >= sizeof(host))
		return -1;
	memcpy(host, arg, (size_t)(colon - arg));
	host[colon - arg] = '\0';
	errno = 0;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || end == colon + 1 || port == 0 || port > 65535)
		return -1;
	memset(g, 0, sizeof(*g));
	g->data_port = (uint16_t)port;
	size_t hl = strlen(host);
	if (hl > 2 && host[0] == '[' && host[hl - 1] == ']') {
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
	}
	if (inet_pton(AF_INET, host, g->addr) == 1) {
		g->af = AF_INET;
		return (g->addr[0] & 0xf0) == 0xe0 ? 0 : -1;
	}
	if (inet_pton(AF_INET6, host, g->addr) == 1) {
		g->af = AF_INET6;
		return g->addr[0] == 0xff ? 0 : -1;
	}
	return -1;
}

static int parse_msk(const char *arg, struct kb_ptm_opts *p)
{
	/* DOMAIN(6):MSKID(8):KEY(32) */
	if (p->n_msks == KB_PTM_MAX_MSKS || strlen(arg) != 6 + 1 + 8 + 1 + 32 || arg[6] != ':' ||
	    arg[15] != ':')
		return -1;
	uint8_t id[4];
	if (kb_hex_decode(arg, 6, p->msks[p->n_msks].domain, 3) != 3 ||
	    kb_hex_decode(arg + 7, 8, id, 4) != 4 ||
	    kb_hex_decode(arg + 16, 32, p->msks[p->n_msks].key, 16) != 16)
		return -1;
	p->msks[p->n_msks].msk_id = kb_be32(id);
	p->n_msks++;
	return 0;
}

int kb_ptm_opt(struct kb_ptm_opts *p, int code, const char *arg)
{
	char *end;
	unsigned long v;
	switch (code) {
	case KB_PTM_OPT_GROUP:
		if (p->n_groups == KB_PTM_MAX_GROUPS ||
		    parse_group(arg, &p->groups[p->n_groups]) != 0) {
			fprintf(stderr,
				"keyburst-uesim: --ptm-group is a multicast ADDR:PORT or "
				"[ADDR]:PORT (at most %d)\n",
				KB_PTM_MAX_GROUPS);
			return -1;
		}
		p->n_groups++;
		return 0;
	case KB_PTM_OPT_MTK_PORT:
	case KB_PTM_OPT_UE:
		errno = 0;
		v = strtoul(arg, &end, 0);
		if (errno != 0 || *end != '\0' || end == arg || *arg == '-' ||
		    (code == KB_PTM_OPT_MTK_PORT && (v == 0 || v > 65535)) || v > UINT32_MAX) {
			fprintf(stderr, "keyburst-uesim: bad number '%s'\n", arg);
			return -1;
		}
		if (code == KB_PTM_OPT_MTK_PORT)
			p->mtk_port = (uint16_t)v;
		else
			p->ue_row = (uint32_t)v;
		return 0;
	case KB_PTM_OPT_OUT:
		p->out_dir = arg;
		return 0;
	case KB_PTM_OPT_PCAP:
		p->pcap = arg;
		return 0;
	case KB_PTM_OPT_MSK:
		if (parse_msk(arg, p) != 0) {
			fprintf(stderr,
				"keyburst-uesim: --ptm-msk is DOMAIN:MSKID:KEY in hex "
				"(6:8:32 digits, at most %d)\n",
				KB_PTM_MAX_MSKS);
			return -1;
		}
		return 0;
	default:
		return -1;
	}
}

bool kb_ptm_enabled(const struct kb_ptm_opts *p)
{
	return p->n_groups > 0 || p->pcap != NULL;
}

/* ---- receiver state ---- */

static struct ptm_svc *svc_add(struct kb_ptm_rx *rx, const struct kb_ptm_group *g)
{
	if (rx->n_svc == PTM_MAX_SVC)
		return NULL;
	struct ptm_svc *s = &rx->svc[rx->n_svc++];
	memset(s, 0, sizeof(*s));
	s->g = *g;
	s->fd_mtk = -1;
	s->fd_data = -1;
	return s;
}

int kb_ptm_rx_new(struct kb_uesim *sim, const struct kb_uesim_opts *o, struct kb_ptm_rx **out)
{
	const struct kb_ptm_opts *p = &o->ptm;
	*out = NULL;
	if (!kb_ptm_enabled(p))
		return 0;
	if (p->ue_row >= sim->n_ue) {
		fprintf(stderr, "uesim: --ptm-ue %u: the roster has %u rows\n", p->ue_row,
			sim->n_ue);
		return -1;
	}
	struct kb_ptm_rx *rx = calloc(1, sizeof(*rx));
	if (rx == NULL)
		return -1;
	rx->sim = sim;
	rx->ue_row = p->ue_row;
	rx->mtk_port = p->mtk_port ? p->mtk_port : PTM_DEFAULT_MTK_PORT;
	rx->out_dir = p->out_dir;
	rx->any_group = p->n_groups == 0;
	rx->st.mtk_before_content = true;
	rx->ref = kb_ref_ctx_new();
	if (rx->ref == NULL) {
		free(rx);
		return -1;
	}
	for (unsigned i = 0; i < p->n_groups; i++)
		svc_add(rx, &p->groups[i]);
	/* --ptm-msk: the UE gets the key as if an MSK message had brought it */
	for (unsigned i = 0; i < p->n_msks; i++)
		kb_uesim_store(sim, rx->ue_row, p->msks[i].domain, p->msks[i].msk_id,
			       p->msks[i].key);
	*out = rx;
	return 0;
}

void kb_ptm_rx_free(struct kb_ptm_rx *rx)
{
	if (rx == NULL)
		return;
	for (unsigned i = 0; i < rx->n_svc; i++) {
		struct ptm_svc *s = &rx->svc[i];
		for (unsigned j = 0; j < s->n_obj; j++)
			kb_push_rx_free(&s->obj[j].rx);
		free(s->obj);
		for (unsigned j = 0; j < s->n_held; j++)
			free(s->held[j].p);
		if (s->fd_mtk >= 0)
			close(s->fd_mtk);
		if (s->fd_data >= 0)
			close(s->fd_data);
	}
	kb_ref_ctx_free(rx->ref);
	kb_memzero(rx, sizeof(*rx)); /* MTKs and session keys */
	free(rx);
}

/* The UE's MSK for (domain, MSK ID), from its two slots; NULL if it has
 * not got it (yet). */
static const uint8_t *ue_msk(const struct kb_ptm_rx *rx, const struct kb_mikey_msg *m)
{
	const struct kb_ue *ue = &rx->sim->ue[rx->ue_row];
	for (unsigned i = 0; i < KB_UE_MSK_SLOTS; i++) {
		const struct kb_ue_msk *k = &ue->slot[i];
		if (k->used && k->msk_id == m->msk_id &&
		    (!m->has_domain || memcmp(k->domain, m->domain, 3) == 0))
			return k->msk;
	}
	return NULL;
}

static struct ptm_ctr *ctr_get(struct ptm_svc *s, const struct kb_mikey_msg *m)
{
	uint8_t dom[3] = {0};
	if (m->has_domain)
		memcpy(dom, m->domain, 3);
	for (unsigned i = 0; i < s->n_ctr; i++)
		if (s->ctr[i].msk_id == m->msk_id && memcmp(s->ctr[i].domain, dom, 3) == 0)
			return &s->ctr[i];
	/* full: forget the oldest MSK (long rolled over) */
	if (s->n_ctr == PTM_MAX_CTR) {
		memmove(s->ctr, s->ctr + 1, sizeof(s->ctr[0]) * (PTM_MAX_CTR - 1));
		s->n_ctr--;
	}
	struct ptm_ctr *c = &s->ctr[s->n_ctr++];
	memcpy(c->domain, dom, 3);
	c->msk_id = m->msk_id;
	c->last = 0; /* counters start at 1 */
	return c;
}

static struct ptm_mtk *mtk_get(struct ptm_svc *s, uint32_t msk_id, uint16_t mtk_id)
{
	for (unsigned i = 0; i < s->n_mtk; i++)
		if (s->mtk[i].msk_id == msk_id && s->mtk[i].mtk_id == mtk_id)
			return &s->mtk[i];
	return NULL;
}

static struct ptm_mtk *mtk_new(struct ptm_svc *s)
{
	if (s->n_mtk < PTM_MAX_MTK)
		return &s->mtk[s->n_mtk++];
	unsigned old = 0;
	for (unsigned i = 1; i < PTM_MAX_MTK; i++)
		if (s->mtk[i].age < s->mtk[old].age)
			old = i;
	kb_memzero(&s->mtk[old], sizeof(s->mtk[old]));
	return &s->mtk[old];
}

/* One MTK message (PROFILE.md "MTK message"). */
static void on_srtp(struct kb_ptm_rx *rx, struct ptm_svc *s, uint8_t *p, size_t len);
static void release_held(struct kb_ptm_rx *rx, struct ptm_svc *s);

static void on_mtk(struct kb_ptm_rx *rx, struct ptm_svc *s, const uint8_t *p, size_t len)
{
	struct kb_mikey_opened o;
	struct kb_mikey_msg m;
	struct kb_mikey_error err;
	const uint8_t *msk;

	if (kb_mikey_decode(p, len, &m, &err) != 0 || m.data_type != 0 || !m.has_msk_id ||
	    !m.has_mtk_id || !m.has_t || m.t_type != 2 || !m.has_rand) {
		rx->st.mtk_bad++;
		return;
	}
	msk = ue_msk(rx, &m);
	if (msk == NULL) {
		rx->st.mtk_no_msk++; /* a UE that has not got this MSK: it waits */
		return;
	}
	if (kb_ref_open_ctx(rx->ref, p, len, msk, KB_MSK_LEN, NULL, 0, &o, &err) != 0 ||
	    o.n_keydata != 1 || o.keydata[0].type != 1 ||
	    o.keydata[0].key_len != KB_SRTP_MASTER_KEY_LEN ||
	    o.keydata[0].salt_len != KB_SRTP_MASTER_SALT_LEN || o.keydata[0].spi_len != 2 ||
	    kb_be16(o.keydata[0].spi) != (uint16_t)o.msg.mtk_id || o.msg.mtk_id > 0xffff) {
		rx->st.mtk_bad++;
		goto out;
	}
	/* the MIKEY replay rule: the counter strictly increases per MSK */
	struct ptm_ctr *c = ctr_get(s, &m);
	if (o.msg.t_value > UINT32_MAX || (uint32_t)o.msg.t_value <= c->last) {
		rx->st.mtk_replays++;
		goto out;
	}
	c->last = (uint32_t)o.msg.t_value;
	rx->st.mtk_msgs++;
	struct ptm_mtk *t = mtk_get(s, m.msk_id, (uint16_t)m.mtk_id);
	if (t != NULL) {
		/* a repeat for late joiners: the same key and salt */
		if (!kb_ct_equal(t->key, o.keydata[0].key, KB_SRTP_MASTER_KEY_LEN) ||
		    !kb_ct_equal(t->salt, o.keydata[0].salt, KB_SRTP_MASTER_SALT_LEN))
			rx->st.mtk_bad++;
		goto out;
	}
	t = mtk_new(s);
	memset(t, 0, sizeof(*t));
	t->msk_id = m.msk_id;
	t->mtk_id = (uint16_t)m.mtk_id;
	t->age = ++rx->n_mtk_seen;
	memcpy(t->key, o.keydata[0].key, KB_SRTP_MASTER_KEY_LEN);
	memcpy(t->salt, o.keydata[0].salt, KB_SRTP_MASTER_SALT_LEN);
	kb_memzero(&o, sizeof(o));
	release_held(rx, s);
	return;
out:
	kb_memzero(&o, sizeof(o));
}

static void obj_finish(struct kb_ptm_rx *rx, struct ptm_svc *s, struct ptm_obj *ob)
{
	unsigned si = (unsigned)(s - rx->svc);
	ob->done = true;
	EVP_Digest(ob->rx.buf, ob->len, ob->sha256, NULL, EVP_sha256(), NULL);
	if (si == 0)
		snprintf(ob->file, sizeof(ob->file), "push-%" PRIu32 ".bin", ob->push_id);
	else
		snprintf(ob->file, sizeof(ob->file), "svc%u-push-%" PRIu32 ".bin", si, ob->push_id);
	if (rx->out_dir != NULL) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", rx->out_dir, ob->file);
		FILE *f = fopen(path, "wb");
		if (f == NULL || (ob->len != 0 && fwrite(ob->rx.buf, 1, ob->len, f) != ob->len) ||
		    fclose(f) != 0) {
			fprintf(stderr, "uesim: cannot write %s: %s\n", path, strerror(errno));
			ob->file[0] = '\0';
		}
	}
	rx->st.objects_complete++;
	rx->st.bytes += ob->len;
	kb_push_rx_free(&ob->rx);
}

static void on_payload(struct kb_ptm_rx *rx, struct ptm_svc *s, const uint8_t *pl, size_t len)
{
	if (len < KB_PUSH_HDR_LEN) {
		rx->st.obj_bad++;
		return;
	}
	uint32_t id = kb_be32(pl), olen = kb_be32(pl + 4);
	struct ptm_obj *ob = NULL;
	unsigned pending = 0;
	for (unsigned i = 0; i < s->n_obj; i++) {
		if (s->obj[i].push_id == id)
			ob = &s->obj[i];
		pending += !s->obj[i].done;
	}
	if (ob != NULL && ob->done)
		return; /* a late copy of a complete object */
	if (ob == NULL) {
		if (pending == PTM_MAX_PENDING || olen > PTM_OBJ_MAX) {
			rx->st.obj_bad++;
			return;
		}
		if (s->n_obj == s->cap_obj) {
			unsigned cap = s->cap_obj ? 2 * s->cap_obj : 8;
			struct ptm_obj *n = realloc(s->obj, cap * sizeof(*n));
			if (n == NULL) {
				rx->st.obj_bad++;
				return;
			}
			s->obj = n;
			s->cap_obj = cap;
		}
		ob = &s->obj[s->n_obj];
		memset(ob, 0, sizeof(*ob));
		if (kb_push_rx_init(&ob->rx, id, olen, PTM_OBJ_MAX) != 0) {
			rx->st.obj_bad++;
			return;
		}
		ob->push_id = id;
		ob->len = olen;
		s->n_obj++;
	}
	int rc = kb_push_rx_add(&ob->rx, pl, len);
	if (rc < 0)
		rx->st.obj_bad++;
	else if (rc == 1)
		obj_finish(rx, s, ob);
}

/* One SRTP packet (PROFILE.md "PTM push content"), unprotected in place. */
static void on_srtp(struct kb_ptm_rx *rx, struct ptm_svc *s, uint8_t *p, size_t len)
{
	struct kb_rtp_hdr h;
	uint8_t mki[KB_SRTP_MKI_LEN];
	size_t out_len = 0;

	if (kb_rtp_parse(p, len, &h) != 0 || len < h.len + KB_SRTP_TRAILER_LEN) {
		rx->st.srtp_bad++;
		return;
	}
	memcpy(mki, p + len - KB_SRTP_TRAILER_LEN, KB_SRTP_MKI_LEN);
	struct ptm_mtk *t = mtk_get(s, kb_be32(mki), kb_be16(mki + 4));
	if (t == NULL) {
		/* content under an MTK this UE has not opened (yet): held until
		 * its MTK message comes, if there is room */
		rx->st.mtk_before_content = false;
		uint8_t *copy = s->n_held < PTM_MAX_HELD ? malloc(len) : NULL;
		if (copy == NULL) {
			rx->st.srtp_no_key++;
			return;
		}
		memcpy(copy, p, len);
		s->held[s->n_held++] = (struct ptm_held){.p = copy, .len = len};
		rx->st.srtp_held++;
		return;
	}
	uint32_t roc = t->have_seq ? kb_srtp_guess_roc(t->s_l, t->roc, h.seq) : 0;
	if (!t->keys_ready) {
		if (kb_srtp_derive(t->key, t->salt, &t->sk) != 0) {
			rx->st.srtp_bad++;
			return;
		}
		t->keys_ready = true;
	}
	if (kb_srtp_ref_unprotect(&t->sk, p, len, roc, mki, sizeof(mki), &out_len) != 0) {
		rx->st.srtp_bad++;
		return;
	}
	if (!t->have_seq || roc > t->roc || (roc == t->roc && h.seq > t->s_l)) {
		t->s_l = h.seq;
		t->roc = roc;
		t->have_seq = true;
	}
	rx->st.srtp_ok++;
	on_payload(rx, s, p + h.len, out_len - h.len);
}

/* A new MTK: the held packets under it go through now, in arrival order. */
static void release_held(struct kb_ptm_rx *rx, struct ptm_svc *s)
{
	unsigned keep = 0;
	for (unsigned i = 0; i < s->n_held; i++) {
		struct ptm_held h = s->held[i];
		const uint8_t *mki = h.p + h.len - KB_SRTP_TRAILER_LEN;
		if (mtk_get(s, kb_be32(mki), kb_be16(mki + 4)) == NULL) {
			s->held[keep++] = h;
			continue;
		}
		on_srtp(rx, s, h.p, h.len); /* its MTK is known: never held again */
		free(h.p);
	}
	s->n_held = keep;
}

/* ---- frames (DPDK, pcap) ---- */

struct frame_udp {
	int af;
	const uint8_t *dst; /* IP destination */
	uint16_t dport;
	uint8_t *payload;
	size_t len;
};

/* Ethernet / IPv4 (options allowed) or IPv6 (no extension headers) / UDP,
 * not fragmented. 0, or -1 for anything else. */
static int frame_parse(uint8_t *f, size_t len, struct frame_udp *u)
{
	if (len < 14)
		return -1;
	uint16_t et = kb_be16(f + 12);
	uint8_t *l3 = f + 14, *l4;
	size_t l3len = len - 14, l4len;
	if (et == 0x0800) {
		size_t ihl = (size_t)(l3[0] & 0x0f) * 4;
		if (l3len < 20 || (l3[0] >> 4) != 4 || ihl < 20 || l3[9] != 17)
			return -1;
		size_t tot = kb_be16(l3 + 2);
		if (tot < ihl || tot > l3len || (l3[6] & 0x3f) != 0 || l3[7] != 0)
			return -1;
		u->af = AF_INET;
		u->dst = l3 + 16;
		l4 = l3 + ihl;
		l4len = tot - ihl;
	} else if (et == 0x86dd) {
		if (l3len < 40 || (l3[0] >> 4) != 6 || l3[6] != 17)
			return -1;
		size_t plen = kb_be16(l3 + 4);
		if (plen > l3len - 40)
			return -1;
		u->af = AF_INET6;
		u->dst = l3 + 24;
		l4 = l3 + 40;
		l4len = plen;
	} else {
		return -1;
	}
	if (l4len < 8)
		return -1;
	size_t ulen = kb_be16(l4 + 4);
	if (ulen < 8 || ulen > l4len)
		return -1;
	u->dport = kb_be16(l4 + 2);
	u->payload = l4 + 8;
	u->len = ulen - 8;
	return 0;
}

static bool is_group(int af, const uint8_t *a)
{
	return af == AF_INET ? (a[0] & 0xf0) == 0xe0 : a[0] == 0xff;
}

/* The service of a group address (and data port, for SRTP); a capture
 * without --ptm-group makes one per group seen. */
static struct ptm_svc *svc_find(struct kb_ptm_rx *rx, int af, const uint8_t *dst)
{
	size_t alen = af == AF_INET ? 4 : 16;
	for (unsigned i = 0; i < rx->n_svc; i++)
		if (rx->svc[i].g.af == af && memcmp(rx->svc[i].g.addr, dst, alen) == 0)
			return &rx->svc[i];
	if (!rx->any_group)
		return NULL;
	struct kb_ptm_group g = {.af = af, .data_port = 0};
	memcpy(g.addr, dst, alen);
	return svc_add(rx, &g);
}

/* RFC 1112 §6.4 / RFC 2464 §7: the group's Ethernet address. */
static bool mac_is_groups(const uint8_t *mac, int af, const uint8_t *a)
{
	if (af == AF_INET)
		return mac[0] == 0x01 && mac[1] == 0x00 && mac[2] == 0x5e &&
		       mac[3] == (a[1] & 0x7f) && mac[4] == a[2] && mac[5] == a[3];
	return mac[0] == 0x33 && mac[1] == 0x33 && memcmp(mac + 2, a + 12, 4) == 0;
}

static void dispatch(struct kb_ptm_rx *rx, struct ptm_svc *s, uint16_t dport, uint8_t *p,
		     size_t len)
{
	if (dport == rx->mtk_port)
		on_mtk(rx, s, p, len);
	else if (s->g.data_port == 0 || dport == s->g.data_port)
		on_srtp(rx, s, p, len);
	else
		rx->st.other++;
}

void kb_ptm_rx_frame(struct kb_ptm_rx *rx, uint8_t *f, size_t len)
{
	struct frame_udp u;
	rx->st.frames++;
	if (frame_parse(f, len, &u) != 0 || !is_group(u.af, u.dst)) {
		rx->st.other++;
		return;
	}
	struct ptm_svc *s = svc_find(rx, u.af, u.dst);
	if (s == NULL) {
		rx->st.other++;
		return;
	}
	if (!mac_is_groups(f, u.af, u.dst))
		rx->st.mac_bad++;
	dispatch(rx, s, u.dport, u.payload, u.len);
}

/* ---- sock mode ---- */

/* The interface that holds addr (0: any). */
static unsigned ifindex_of(const char *addr)
{
	uint8_t a[16];
	int af = AF_INET;
	if (inet_pton(AF_INET, addr, a) != 1) {
		af = AF_INET6;
		if (inet_pton(AF_INET6, addr, a) != 1)
			return 0;
	}
	struct ifaddrs *ifs, *i;
	unsigned idx = 0;
	if (getifaddrs(&ifs) != 0)
		return 0;
	for (i = ifs; i != NULL && idx == 0; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != af)
			continue;
		const void *ia =
			af == AF_INET
				? (const void *)&((struct sockaddr_in *)i->ifa_addr)->sin_addr
				: (const void *)&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
		if (memcmp(ia, a, af == AF_INET ? 4 : 16) == 0)
			idx = if_nametoindex(i->ifa_name);
	}
	freeifaddrs(ifs);
	return idx;
}

static int group_socket(const struct kb_ptm_group *g, uint16_t port, unsigned ifindex)
{
	int one = 1, zero = 0, buf = 16 << 20;
	int fd = socket(g->af, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	int rc;
	if (g->af == AF_INET) {
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
		struct ip_mreqn mr = {.imr_ifindex = (int)ifindex};
		memcpy(&sa.sin_addr, g->addr, 4);
		memcpy(&mr.imr_multiaddr, g->addr, 4);
		/* bound to the group: only its datagrams; and only the groups this
		 * socket joined, not every group of the host */
		rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
		if (rc == 0)
			rc = setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr));
		if (rc == 0)
			setsockopt(fd, IPPROTO_IP, IP_MULTICAST_ALL, &zero, sizeof(zero));
	} else {
		struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
		struct ipv6_mreq mr = {.ipv6mr_interface = ifindex};
		memcpy(&sa.sin6_addr, g->addr, 16);
		memcpy(&mr.ipv6mr_multiaddr, g->addr, 16);
		rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
		if (rc == 0)
			rc = setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mr, sizeof(mr));
		if (rc == 0)
			setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_ALL, &zero, sizeof(zero));
	}
	if (rc != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int kb_ptm_rx_sock_open(struct kb_ptm_rx *rx, const char *bind_addr, int ue_fd)
{
	int zero = 0;
	unsigned ifindex = ifindex_of(bind_addr);
	rx->input = "sock";
	/* the UE model's wildcard socket on the MIKEY port would otherwise get
	 * the MTK messages too (IP_MULTICAST_ALL is on by default) */
	setsockopt(ue_fd, IPPROTO_IP, IP_MULTICAST_ALL, &zero, sizeof(zero));
	setsockopt(ue_fd, IPPROTO_IPV6, IPV6_MULTICAST_ALL, &zero, sizeof(zero));
	for (unsigned i = 0; i < rx->n_svc; i++) {
		struct ptm_svc *s = &rx->svc[i];
		char a[INET6_ADDRSTRLEN];
		inet_ntop(s->g.af, s->g.addr, a, sizeof(a));
		s->fd_mtk = group_socket(&s->g, rx->mtk_port, ifindex);
		if (s->fd_mtk >= 0)
			s->fd_data = group_socket(&s->g, s->g.data_port, ifindex);
		if (s->fd_mtk < 0 || s->fd_data < 0) {
			fprintf(stderr, "uesim: cannot join %s (ports %u, %u) on %s: %s\n", a,
				rx->mtk_port, s->g.data_port, bind_addr, strerror(errno));
			return -1;
		}
		fprintf(stderr, "uesim: PTM: joined %s (MTK port %u, data port %u) on %s\n", a,
			rx->mtk_port, s->g.data_port, bind_addr);
	}
	return 0;
}

unsigned kb_ptm_rx_pollfds(const struct kb_ptm_rx *rx, struct pollfd *p)
{
	unsigned n = 0;
	if (rx == NULL)
		return 0;
	for (unsigned i = 0; i < rx->n_svc; i++) {
		if (rx->svc[i].fd_mtk < 0)
			continue;
		p[n++] = (struct pollfd){.fd = rx->svc[i].fd_mtk, .events = POLLIN};
		p[n++] = (struct pollfd){.fd = rx->svc[i].fd_data, .events = POLLIN};
	}
	return n;
}

void kb_ptm_rx_sock_input(struct kb_ptm_rx *rx, const struct pollfd *p)
{
	unsigned n = 0;
	if (rx == NULL)
		return;
	for (unsigned i = 0; i < rx->n_svc; i++) {
		struct ptm_svc *s = &rx->svc[i];
		if (s->fd_mtk < 0)
			continue;
		for (unsigned k = 0; k < 2; k++, n++) {
			if (!(p[n].revents & POLLIN))
				continue;
			/* bounded: the UE model's socket must not starve */
			for (int j = 0; j < 256; j++) {
				ssize_t r = recv(p[n].fd, rx->buf, sizeof(rx->buf), MSG_DONTWAIT);
				if (r < 0)
					break;
				rx->st.frames++;
				if (k == 0)
					on_mtk(rx, s, rx->buf, (size_t)r);
				else
					on_srtp(rx, s, rx->buf, (size_t)r);
			}
		}
	}
}

#ifdef KB_UESIM_DPDK
void kb_ptm_rx_dpdk_port(struct kb_ptm_rx *rx, uint16_t port_id)
{
	if (rx == NULL)
		return;
	rx->input = "dpdk";
	if (rte_eth_allmulticast_enable(port_id) == 0)
		return;
	struct rte_ether_addr macs[PTM_MAX_SVC];
	unsigned n = 0;
	for (unsigned i = 0; i < rx->n_svc; i++) {
		const uint8_t *a = rx->svc[i].g.addr;
		uint8_t *m = macs[n++].addr_bytes;
		if (rx->svc[i].g.af == AF_INET) {
			const uint8_t v[6] = {0x01, 0x00, 0x5e, (uint8_t)(a[1] & 0x7f), a[2], a[3]};
			memcpy(m, v, 6);
		} else {
			m[0] = m[1] = 0x33;
			memcpy(m + 2, a + 12, 4);
		}
	}
	int rc = rte_eth_dev_set_mc_addr_list(port_id, macs, n);
	/* a PMD with neither (memif) does not filter multicast at all */
	if (rc != 0 && rc != -ENOTSUP)
		fprintf(stderr, "uesim: port %u: cannot add the groups' MACs (%d)\n", port_id, rc);
}
#endif

/* ---- summary ---- */

static void put_u64(json_t *o, const char *k, uint64_t v)
{
	json_object_set_new(o, k, json_integer((json_int_t)v));
}

bool kb_ptm_rx_ok(const struct kb_ptm_rx *rx)
{
	const struct ptm_stats *st = &rx->st;
	if (st->mtk_msgs == 0 || st->mtk_bad || st->mtk_replays || st->srtp_bad || st->obj_bad ||
	    st->mac_bad)
		return false;
	for (unsigned i = 0; i < rx->n_svc; i++)
		for (unsigned j = 0; j < rx->svc[i].n_obj; j++)
			if (!rx->svc[i].obj[j].done)
				return false;
	return true;
}

void kb_ptm_rx_json(const struct kb_ptm_rx *rx, json_t *summary)
{
	const struct ptm_stats *st = &rx->st;
	json_t *o = json_object(), *objs = json_array(), *mtks = json_array(), *svcs = json_array();
	json_object_set_new(o, "input", json_string(rx->input ? rx->input : "?"));
	put_u64(o, "ue_row", rx->ue_row);
	put_u64(o, "frames", st->frames);
	put_u64(o, "other", st->other);
	put_u64(o, "mac_bad", st->mac_bad);
	put_u64(o, "mtk_msgs", st->mtk_msgs);
	put_u64(o, "mtk_bad", st->mtk_bad);
	put_u64(o, "mtk_no_msk", st->mtk_no_msk);
	put_u64(o, "mtk_replays", st->mtk_replays);
	put_u64(o, "srtp_ok", st->srtp_ok);
	put_u64(o, "srtp_bad", st->srtp_bad);
	uint64_t still_held = 0;
	for (unsigned i = 0; i < rx->n_svc; i++)
		still_held += rx->svc[i].n_held;
	/* held to the end: their MTK never came */
	put_u64(o, "srtp_no_key", st->srtp_no_key + still_held);
	put_u64(o, "srtp_held", st->srtp_held);
	put_u64(o, "obj_bad", st->obj_bad);
	put_u64(o, "objects_complete", st->objects_complete);
	put_u64(o, "bytes", st->bytes);
	json_object_set_new(o, "mtk_before_content", json_boolean(st->mtk_before_content));
	for (unsigned i = 0; i < rx->n_svc; i++) {
		const struct ptm_svc *s = &rx->svc[i];
		char a[INET6_ADDRSTRLEN], h[80];
		inet_ntop(s->g.af, s->g.addr, a, sizeof(a));
		json_t *e = json_object();
		json_object_set_new(e, "group", json_string(a));
		put_u64(e, "data_port", s->g.data_port);
		json_array_append_new(svcs, e);
		for (unsigned j = 0; j < s->n_mtk; j++) {
			snprintf(h, sizeof(h), "%08" PRIx32 ":%u", s->mtk[j].msk_id,
				 s->mtk[j].mtk_id);
			json_array_append_new(mtks, json_string(h));
		}
		for (unsigned j = 0; j < s->n_obj; j++) {
			const struct ptm_obj *ob = &s->obj[j];
			json_t *e2 = json_object();
			put_u64(e2, "service", i);
			put_u64(e2, "push_id", ob->push_id);
			put_u64(e2, "length", ob->len);
			json_object_set_new(e2, "complete", json_boolean(ob->done));
			if (ob->done) {
				char hex[65];
				kb_hex_encode(ob->sha256, 32, hex);
				json_object_set_new(e2, "sha256", json_string(hex));
				if (rx->out_dir != NULL && ob->file[0] != '\0')
					json_object_set_new(e2, "file", json_string(ob->file));
			} else {
				put_u64(e2, "received", ob->rx.got);
			}
			json_array_append_new(objs, e2);
		}
	}
	json_object_set_new(o, "services", svcs);
	json_object_set_new(o, "mtk_ids", mtks);
	json_object_set_new(o, "objects", objs);
	json_object_set_new(o, "ok", json_boolean(kb_ptm_rx_ok(rx)));
	json_object_set_new(summary, "ptm", o);
}

/* ---- --ptm-pcap ---- */

/* One pass over the capture. ue_pass: unicast UDP to --udp-port through the
 * UE model (the acks go nowhere); else multicast frames to the receiver. */
static int pcap_pass(struct kb_ptm_rx *rx, struct kb_uesim_run *run, const char *path, bool ue_pass)
{
	char ebuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *ph;
	const u_char *data;
	int rc;
	pcap_t *pc = pcap_open_offline(path, ebuf);
	if (pc == NULL) {
		fprintf(stderr, "uesim: %s: %s\n", path, ebuf);
		return -1;
	}
	if (pcap_datalink(pc) != DLT_EN10MB) {
		fprintf(stderr, "uesim: %s: not an Ethernet capture\n", path);
		pcap_close(pc);
		return -1;
	}
	uint8_t *f = malloc(65536 + 64);
	if (f == NULL) {
		pcap_close(pc);
		return -1;
	}
	while ((rc = pcap_next_ex(pc, &ph, &data)) == 1) {
		size_t len = ph->caplen < 65536 ? ph->caplen : 65536;
		struct frame_udp u;
		memcpy(f, data, len); /* SRTP is unprotected in place */
		bool multicast = len >= 14 && (f[0] & 1) != 0;
		if (ue_pass) {
			if (multicast)
				continue;
			if (frame_parse(f, len, &u) != 0 || u.dport != run->o->udp_port) {
				run->rx_other++;
				continue;
			}
			struct kb_ue_reply rep;
			kb_uesim_handle(run->sim, u.payload, u.len, &rep);
		} else if (multicast) {
			kb_ptm_rx_frame(rx, f, len);
		}
	}
	free(f);
	if (rc == -1)
		fprintf(stderr, "uesim: %s: %s\n", path, pcap_geterr(pc));
	pcap_close(pc);
	return rc == -1 ? -1 : 0;
}

int kb_ptm_run_pcap(struct kb_uesim *sim, const struct kb_uesim_opts *o)
{
	struct kb_ptm_rx *rx;
	struct kb_uesim_run run;
	if (kb_ptm_rx_new(sim, o, &rx) != 0)
		return 2;
	kb_uesim_run_start(&run, sim, o);
	run.ptm = rx;
	rx->input = "pcap";
	/* The UE's unicast bearer first, then the broadcast one: in a capture
	 * the two are interleaved by one port's clock, not by what a UE would
	 * see on two bearers. */
	if (pcap_pass(rx, &run, o->ptm.pcap, true) != 0 ||
	    pcap_pass(rx, &run, o->ptm.pcap, false) != 0) {
		kb_ptm_rx_free(rx);
		return 2;
	}
	int rc = kb_uesim_run_finish(&run);
	kb_ptm_rx_free(rx);
	return rc;
}
