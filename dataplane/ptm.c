/* PTM push for one service (ptm.h): MTK messages, then paced SRTP content,
 * written as whole multicast frames into the caller's buffers. */
#include "ptm.h"

#include "mikey/mikey_profile.h"
#include "util/be.h"
#include "util/secret.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_MS 1000000ull
#define NS_PER_S 1000000000ull

struct ptm_msk {
	bool used;
	uint32_t msk_id;
	struct kb_sa_record sa; /* transport keys from the MSK, MTK csb_id and RAND */
};

struct ptm_mtk {
	bool used;
	uint32_t msk_id;
	uint16_t mtk_id;
	uint64_t born; /* step sequence, for eviction */
	uint8_t mtk[KB_MTK_LEN];
	uint8_t salt[KB_SRTP_MASTER_SALT_LEN];
	struct kb_srtp_tx_key txk;
};

struct kb_ptm {
	struct kb_ptm_cfg cfg;
	struct kb_sealer *sealer;
	struct kb_srtp_burster *burster;
	struct kb_mtk_sched sched;
	bool started;
	struct ptm_msk msk[2];
	struct ptm_mtk mtk[KB_PTM_MTKS];
	uint64_t mtk_seq;
	struct kb_srtp_stream stream;
	/* object queue: q[head] is in flight once tx_active */
	struct kb_ptm_object q[KB_PTM_QUEUE];
	unsigned head, count;
	bool tx_active;
	struct kb_push_tx tx;
	uint32_t ts;
	/* pacing: a bit bucket that may go one frame into debt */
	int64_t tokens;
	uint64_t last_ns;
	bool have_clock;
	uint8_t hdr[KB_PTM_L2L3_LEN]; /* frame template; lengths and checksum per frame */
	struct kb_ptm_stats st;
};

void kb_ptm_mcast_mac(const uint8_t group_ip[4], uint8_t mac[6])
{
	mac[0] = 0x01;
	mac[1] = 0x00;
	mac[2] = 0x5e;
	mac[3] = group_ip[1] & 0x7f;
	mac[4] = group_ip[2];
	mac[5] = group_ip[3];
}

static void build_template(struct kb_ptm *p)
{
	uint8_t *h = p->hdr;

	memset(h, 0, sizeof(p->hdr));
	kb_ptm_mcast_mac(p->cfg.group_ip, h);
	memcpy(h + 6, p->cfg.src_mac, 6);
	h[12] = 0x08; /* IPv4 */
	h[14] = 0x45;
	h[22] = p->cfg.ttl != 0 ? p->cfg.ttl : 16;
	h[23] = 17; /* UDP */
	memcpy(h + 26, p->cfg.src_ip, 4);
	memcpy(h + 30, p->cfg.group_ip, 4);
	kb_put16(h + 34, p->cfg.src_port);
}

static uint16_t ip_csum(const uint8_t *h)
{
	uint32_t s = 0;

	for (int i = 0; i < 20; i += 2)
		s += (uint32_t)h[i] << 8 | h[i + 1];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Fill the L2-L4 headers of a frame whose UDP payload is plen bytes. The UDP
 * checksum is 0 (allowed for IPv4); SRTP and the MIKEY MAC protect the data. */
static uint16_t frame_hdr(struct kb_ptm *p, uint8_t *f, uint16_t dport, size_t plen)
{
	memcpy(f, p->hdr, KB_PTM_L2L3_LEN);
	kb_put16(f + 16, (uint16_t)(20 + 8 + plen));
	kb_put16(f + 24, 0);
	kb_put16(f + 24, ip_csum(f + 14));
	kb_put16(f + 36, dport);
	kb_put16(f + 38, (uint16_t)(8 + plen));
	return (uint16_t)(KB_PTM_L2L3_LEN + plen);
}

struct kb_ptm *kb_ptm_new(const struct kb_ptm_cfg *cfg, struct kb_sealer *sealer,
			  struct kb_srtp_burster *burster)
{
	struct kb_ptm *p;

	if (cfg == NULL || sealer == NULL || burster == NULL || cfg->mtk_csb_id == 0 ||
	    (cfg->group_ip[0] & 0xf0) != 0xe0 || cfg->persist.load == NULL ||
	    cfg->persist.save == NULL)
		return NULL;
	if (cfg->srtp_max != 0 &&
	    (cfg->srtp_max > KB_PTM_FRAME_MAX - KB_PTM_L2L3_LEN ||
	     cfg->srtp_max <= KB_RTP_HDR_LEN + KB_PUSH_HDR_LEN + KB_SRTP_TRAILER_LEN))
		return NULL;
	p = aligned_alloc(64, (sizeof(*p) + 63) / 64 * 64);
	if (p == NULL)
		return NULL;
	memset(p, 0, sizeof(*p));
	p->cfg = *cfg;
	if (p->cfg.pt == 0)
		p->cfg.pt = KB_RTP_PT_DEFAULT;
	if (p->cfg.srtp_max == 0)
		p->cfg.srtp_max = 1200;
	p->sealer = sealer;
	p->burster = burster;
	p->stream.ssrc = cfg->ssrc;
	p->stream.pt = p->cfg.pt;
	build_template(p);
	return p;
}

void kb_ptm_free(struct kb_ptm *p)
{
	if (p == NULL)
		return;
	kb_memzero(p, sizeof(*p));
	free(p);
}

static struct ptm_msk *msk_find(struct kb_ptm *p, uint32_t msk_id)
{
	for (int i = 0; i < 2; i++)
		if (p->msk[i].used && p->msk[i].msk_id == msk_id)
			return &p->msk[i];
	return NULL;
}

int kb_ptm_set_msk(struct kb_ptm *p, uint32_t msk_id, const uint8_t msk[16])
{
	struct ptm_msk *m = msk_find(p, msk_id);
	struct kb_ue_addr none = {0};
	int slot = 0;

	if (m != NULL)
		return 0; /* already known */
	/* keep the MSK the current MTK is under; replace the other slot */
	if (p->started && p->msk[0].used && p->sched.have_cur &&
	    p->sched.cur.msk_id == p->msk[0].msk_id)
		slot = 1;
	m = &p->msk[slot];
	if (kb_sa_record_build(&m->sa, msk, 16, p->cfg.mtk_csb_id, p->cfg.rand, "",
			       (uint16_t)(msk_id >> 16), &none, 1) != 0)
		return -1;
	m->used = true;
	m->msk_id = msk_id;
	if (!p->started) {
		if (kb_mtk_sched_init(&p->sched, &p->cfg.sched, &p->cfg.persist, msk_id) != 0)
			return -1;
		p->started = true;
		return 0;
	}
	return kb_mtk_sched_set_msk(&p->sched, msk_id) == 0 ? 0 : -1;
}

int kb_ptm_push(struct kb_ptm *p, const struct kb_ptm_object *o)
{
	if (p->count == KB_PTM_QUEUE || (o->obj == NULL && o->len != 0))
		return -1;
	p->q[(p->head + p->count) % KB_PTM_QUEUE] = *o;
	p->count++;
	return 0;
}

int kb_ptm_cancel(struct kb_ptm *p, uint32_t push_id)
{
	for (unsigned i = 0; i < p->count; i++) {
		unsigned at = (p->head + i) % KB_PTM_QUEUE;
		if (p->q[at].push_id != push_id || (i == 0 && p->tx_active))
			continue;
		for (unsigned j = i; j + 1 < p->count; j++)
			p->q[(p->head + j) % KB_PTM_QUEUE] = p->q[(p->head + j + 1) % KB_PTM_QUEUE];
		p->count--;
		return 0;
	}
	return -1;
}

unsigned kb_ptm_pending(const struct kb_ptm *p)
{
	return p->count;
}

const struct kb_ptm_stats *kb_ptm_get_stats(const struct kb_ptm *p)
{
	return &p->st;
}

static struct ptm_mtk *mtk_find(struct kb_ptm *p, uint32_t msk_id, uint16_t mtk_id)
{
	for (int i = 0; i < KB_PTM_MTKS; i++)
		if (p->mtk[i].used && p->mtk[i].msk_id == msk_id && p->mtk[i].mtk_id == mtk_id)
			return &p->mtk[i];
	return NULL;
}

/* A fresh MTK and master salt (RFC 3711 master key); evicts the oldest
 * entry that neither content nor the scheduler still names. */
static struct ptm_mtk *mtk_new(struct kb_ptm *p, uint32_t msk_id, uint16_t mtk_id)
{
	struct ptm_mtk *e = NULL;

	for (int i = 0; i < KB_PTM_MTKS; i++) {
		struct ptm_mtk *c = &p->mtk[i];
		bool busy = c->used && ((p->sched.have_cur && c->msk_id == p->sched.cur.msk_id &&
					 c->mtk_id == p->sched.cur.mtk_id) ||
					(p->sched.have_next && c->msk_id == p->sched.next.msk_id &&
					 c->mtk_id == p->sched.next.mtk_id));
		if (busy)
			continue;
		if (e == NULL || !c->used || (e->used && c->born < e->born))
			e = c;
		if (!c->used)
			break;
	}
	if (e == NULL)
		return NULL;
	kb_memzero(e, sizeof(*e));
	if (RAND_bytes(e->mtk, sizeof(e->mtk)) != 1 || RAND_bytes(e->salt, sizeof(e->salt)) != 1)
		goto fail;
	if (kb_srtp_tx_key_build(p->burster, &e->txk, e->mtk, e->salt, msk_id, mtk_id) != 0)
		goto fail;
	e->used = true;
	e->msk_id = msk_id;
	e->mtk_id = mtk_id;
	e->born = ++p->mtk_seq;
	return e;
fail:
	kb_memzero(e, sizeof(*e));
	return NULL;
}

/* Write the MTK messages the scheduler wants now; sealed by the caller. */
static unsigned mtk_frames(struct kb_ptm *p, uint64_t now_ms, uint8_t *const *bufs, uint16_t *lens,
			   unsigned max, struct kb_seal_req *req, struct kb_mikey_layout *lay,
			   uint64_t *next_ms)
{
	struct kb_mtk_action act[KB_MTK_ACTIONS_MAX];
	unsigned n = 0;
	int rc;

	if (max < KB_MTK_ACTIONS_MAX)
		return 0;
	rc = kb_mtk_sched_poll(&p->sched, now_ms, act, KB_MTK_ACTIONS_MAX, next_ms);
	if (rc < 0) {
		p->st.sched_errors++;
		return 0;
	}
	for (int i = 0; i < rc; i++) {
		struct ptm_mtk *e = mtk_find(p, act[i].msk_id, act[i].mtk_id);
		struct ptm_msk *m = msk_find(p, act[i].msk_id);
		uint8_t *f = bufs[n];

		if (e == NULL && act[i].fresh)
			e = mtk_new(p, act[i].msk_id, act[i].mtk_id);
		if (e == NULL || m == NULL) {
			/* the counter is spent unused: harmless, never reused */
			p->st.sched_errors++;
			continue;
		}
		struct kb_mtk_msg_params mp = {
			.csb_id = p->cfg.mtk_csb_id,
			.counter = act[i].counter,
			.rand = p->cfg.rand,
			.msk_id = act[i].msk_id,
			.mtk_id = act[i].mtk_id,
			.mtk = e->mtk,
			.salt = e->salt,
		};
		memcpy(mp.domain, p->cfg.domain, 3);
		if (kb_mtk_msg_write(f + KB_PTM_L2L3_LEN, KB_PTM_FRAME_MAX - KB_PTM_L2L3_LEN, &mp,
				     &lay[n]) != 0) {
			p->st.seal_errors++;
			continue;
		}
		lens[n] = frame_hdr(p, f, p->cfg.mtk_port, lay[n].len);
		req[n].msg = f + KB_PTM_L2L3_LEN;
		req[n].lay = &lay[n];
		req[n].sa = &m->sa;
		req[n].counter = act[i].counter;
		n++;
	}
	return n;
}

static void refill(struct kb_ptm *p, uint64_t now_ns)
{
	const int64_t cap = (int64_t)KB_PTM_BURST_MAX * KB_PTM_FRAME_MAX * 8;

	if (!p->have_clock) {
		p->last_ns = now_ns;
		p->have_clock = true;
		p->tokens = cap;
		return;
	}
	if (now_ns > p->last_ns) {
		/* split to avoid overflow of (dt * rate) */
		uint64_t dt = now_ns - p->last_ns;
		uint64_t add = dt / NS_PER_MS * p->cfg.rate_bps / 1000 +
			       dt % NS_PER_MS * p->cfg.rate_bps / NS_PER_S;
		p->tokens += add > (uint64_t)cap ? cap : (int64_t)add;
		if (p->tokens > cap)
			p->tokens = cap;
		if (add != 0)
			p->last_ns = now_ns;
	}
}

int kb_ptm_step(struct kb_ptm *p, uint64_t now_ns, uint8_t *const *bufs, uint16_t *lens,
		unsigned max, uint32_t *done, unsigned *n_done, uint64_t *next_ns)
{
	struct kb_seal_req sreq[KB_MTK_ACTIONS_MAX];
	struct kb_mikey_layout lay[KB_MTK_ACTIONS_MAX];
	struct kb_srtp_req rreq[KB_PTM_BURST_MAX];
	struct kb_mtk_ref ref;
	struct ptm_mtk *key;
	uint64_t next_ms = UINT64_MAX;
	unsigned n = 0, n_mtk, n_rtp = 0;

	*n_done = 0;
	*next_ns = now_ns + 100 * NS_PER_MS;
	if (max > KB_PTM_BURST_MAX)
		max = KB_PTM_BURST_MAX;
	if (!p->started)
		return 0;
	n_mtk = mtk_frames(p, now_ns / NS_PER_MS, bufs, lens, max, sreq, lay, &next_ms);
	if (n_mtk != 0 && kb_seal_burst(p->sealer, sreq, n_mtk) != n_mtk) {
		p->st.seal_errors++;
		return -1;
	}
	n = n_mtk;
	p->st.mtk_msgs += n_mtk;
	if (next_ms != UINT64_MAX && next_ms * NS_PER_MS < *next_ns)
		*next_ns = next_ms * NS_PER_MS;

	if (p->cfg.rate_bps != 0)
		refill(p, now_ns);
	if (p->count == 0 || kb_mtk_sched_content(&p->sched, &ref) != 0)
		goto out;
	key = mtk_find(p, ref.msk_id, ref.mtk_id);
	if (key == NULL) {
		p->st.sched_errors++;
		goto out;
	}
	while (n < max && p->count != 0) {
		struct kb_ptm_object *o = &p->q[p->head];
		struct kb_push_pkt info;
		uint8_t *f = bufs[n];
		int rc;

		if (p->cfg.rate_bps != 0 && p->tokens < 0) {
			p->st.paced_waits++;
			/* when the debt is paid back */
			*next_ns = now_ns + (uint64_t)(-p->tokens) * NS_PER_S / p->cfg.rate_bps + 1;
			break;
		}
		if (!p->tx_active) {
			/* all packets of an object share one RTP timestamp (90 kHz) */
			p->ts = (uint32_t)(now_ns / 1000 * 9 / 100);
			if (kb_push_tx_init(&p->tx, o->push_id, p->ts, o->obj, o->len,
					    p->cfg.srtp_max) != 0) {
				p->st.seal_errors++;
				return -1;
			}
			p->tx_active = true;
		}
		rc = kb_push_tx_next(&p->tx, &p->stream, f + KB_PTM_L2L3_LEN,
				     KB_PTM_FRAME_MAX - KB_PTM_L2L3_LEN, &info);
		if (rc != 1) {
			p->st.seal_errors++; /* index exhausted or buffer: a bug */
			return -1;
		}
		lens[n] = frame_hdr(p, f, p->cfg.data_port, info.len + KB_SRTP_TRAILER_LEN);
		rreq[n_rtp].pkt = f + KB_PTM_L2L3_LEN;
		rreq[n_rtp].len = (uint16_t)info.len;
		rreq[n_rtp].hdr_len = KB_RTP_HDR_LEN;
		rreq[n_rtp].roc = info.roc;
		rreq[n_rtp].key = &key->txk;
		n_rtp++;
		if (p->cfg.rate_bps != 0)
			p->tokens -= (int64_t)lens[n] * 8;
		n++;
		if (p->tx.off == p->tx.len) {
			done[(*n_done)++] = o->push_id;
			p->tx_active = false;
			p->head = (p->head + 1) % KB_PTM_QUEUE;
			p->count--;
		}
	}
	if (n_rtp != 0 && kb_srtp_protect_burst(p->burster, rreq, n_rtp) != n_rtp) {
		p->st.seal_errors++;
		return -1;
	}
	p->st.srtp_pkts += n_rtp;
	p->st.objects_done += *n_done;
	if (p->count != 0 && n == max)
		*next_ns = now_ns;
out:
	for (unsigned i = 0; i < n; i++)
		p->st.bytes_sent += lens[i];
	return (int)n;
}
