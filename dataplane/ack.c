/* Acks: classify, decode, look up, verify in a burst, mark delivered. */
#include "ack.h"

#include "keytable.h"
#include "lcore.h"
#include "log.h"
#include "mikey/mikey_codec.h"
#include "rollover.h"

#include <string.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

struct kb_handover {
	uint32_t slot;
	uint32_t counter;
};

static void post_delivered(struct kb_lcore *lc, const struct kb_ue *ue)
{
	struct kb_event ev = {
		.type = KB_EV_DELIVERED,
		.shard = (uint8_t)lc->idx,
		.svc = ue->svc,
		.csb_id = ue->csb_id,
		.gen = ue->gen,
		.value = ue->last_ctr,
	};
	kb_lcore_event(lc, &ev);
}

void kb_ack_apply(struct kb_lcore *lc, uint32_t slot, uint32_t counter)
{
	struct kb_shard *sh = &lc->sh;
	if (slot >= sh->n_ue) {
		lc->st.acks_unknown_csb++;
		return;
	}
	struct kb_ue *ue = &sh->ue[slot];
	/* the counter must be one we sent for the current MSK: first..last */
	bool in_range = ue->first_ctr != 0 && counter >= ue->first_ctr && counter <= ue->last_ctr;
	if (!in_range) {
		lc->st.acks_stale_counter++;
		return;
	}
	if (ue->state != KB_UE_PENDING) {
		lc->st.acks_dup++;
		return;
	}
	ue->state = KB_UE_DELIVERED;
	lc->st.acks_ok++;
	if (ue->gen == sh->ro_job.gen && ue->svc == sh->ro_job.svc) {
		sh->ro_pending--;
		sh->ro_acked++;
	}
	post_delivered(lc, ue);
}

void kb_ack_handover_drain(struct kb_lcore *lc)
{
	struct kb_dp *dp = lc->dp;
	struct kb_handover h[32];
	for (unsigned from = 0; from < dp->n_lcores; from++) {
		struct rte_ring *r = dp->ho[from][lc->idx];
		if (r == NULL)
			continue;
		unsigned n = rte_ring_dequeue_burst_elem(r, h, sizeof(h[0]), RTE_DIM(h), NULL);
		for (unsigned i = 0; i < n; i++)
			kb_ack_apply(lc, h[i].slot, h[i].counter);
		lc->st.handover_in += n;
	}
}

static void consume_other(struct kb_lcore *lc, struct rte_mbuf *m, enum kb_rx_kind k,
			  uint16_t dport)
{
	(void)dport;
	if (k == KB_RX_MALFORMED)
		lc->st.acks_malformed++;
	else
		lc->st.rx_other++;
	rte_pktmbuf_free(m);
}

void kb_ack_rx(struct kb_lcore *lc, struct rte_mbuf **pkts, uint16_t n)
{
	struct kb_dp *dp = lc->dp;
	struct kb_ack_req req[KB_RX_BURST];
	const struct kb_sa_record *sa[KB_RX_BURST];
	uint32_t csb[KB_RX_BURST], ctr[KB_RX_BURST];
	uint8_t ok[KB_RX_BURST];
	struct rte_mbuf *held[KB_RX_BURST];
	unsigned k = 0;

	lc->st.rx_pkts += n;
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct kb_rx_udp u;
		/* multi-segment frames are not acks (38 bytes): never linearise */
		if (m->nb_segs != 1) {
			consume_other(lc, m, KB_RX_OTHER, 0);
			continue;
		}
		enum kb_rx_kind kind =
			kb_pkt_classify(rte_pktmbuf_mtod(m, const uint8_t *), m->data_len, &u);
		if (kind == KB_RX_ARP) {
			lc->st.arp_in++;
			if (kb_pkt_arp_input(&dp->tmpl[0], &dp->nh, m) == 1 && lc->txb != NULL) {
				lc->st.arp_replies++;
				rte_eth_tx_buffer(dp->port.port_id, (uint16_t)lc->idx, lc->txb, m);
			} else {
				rte_pktmbuf_free(m);
			}
			continue;
		}
		if (kind != KB_RX_UDP) {
			consume_other(lc, m, kind, 0);
			continue;
		}
		bool ours = false;
		for (unsigned s = 0; s < dp->cfg.n_services; s++)
			if (dp->cfg.svc[s].udp_port == u.dport)
				ours = true;
		if (!ours) {
			lc->st.rx_other++;
			rte_pktmbuf_free(m);
			continue;
		}
		struct kb_mikey_msg msg;
		struct kb_mikey_error err;
		if (u.len < KB_MIKEY_HDR_LEN || u.payload[0] != 1) {
			lc->st.rx_non_mikey++;
			rte_pktmbuf_free(m);
			continue;
		}
		/* a verification message of our profile: exactly HDR, T(counter), V */
		if (u.len != KB_ACK_LEN || kb_mikey_decode(u.payload, u.len, &msg, &err) != 0 ||
		    msg.data_type != KB_MIKEY_DT_PSK_RESP || !msg.has_t || msg.t_type != 2 ||
		    !msg.has_v || msg.v_alg != 1 || msg.has_kemac || msg.n_ids != 0 ||
		    msg.v_mac_off + KB_MIKEY_MAC_LEN != u.len) {
			lc->st.acks_malformed++;
			rte_pktmbuf_free(m);
			continue;
		}
		csb[k] = msg.csb_id;
		ctr[k] = (uint32_t)msg.t_value;
		req[k].ack = u.payload;
		held[k] = m;
		k++;
	}
	if (k == 0)
		return;

	unsigned found = kb_keytable_lookup_bulk(dp->kt, csb, k, sa);
	unsigned v = 0;
	struct rte_mbuf *vm[KB_RX_BURST];
	uint32_t vcsb[KB_RX_BURST], vctr[KB_RX_BURST];
	for (unsigned i = 0; i < k; i++) {
		if (found == 0 || sa[i] == NULL) {
			lc->st.acks_unknown_csb++;
			rte_pktmbuf_free(held[i]);
			continue;
		}
		req[v].ack = req[i].ack;
		req[v].sa = sa[i];
		vm[v] = held[i];
		vcsb[v] = csb[i];
		vctr[v] = ctr[i];
		v++;
	}
	if (v > 0)
		kb_verify_ack_burst(lc->sealer, req, v, dp->idi, dp->idi_len, ok);
	for (unsigned i = 0; i < v; i++) {
		unsigned shard;
		uint32_t slot;
		if (!ok[i]) {
			lc->st.acks_bad_mac++;
		} else if (kb_dp_locate(dp, vcsb[i], &shard, &slot) != 0) {
			lc->st.acks_unknown_csb++;
		} else if (shard == lc->idx) {
			kb_ack_apply(lc, slot, vctr[i]);
		} else {
			struct kb_handover h = {.slot = slot, .counter = vctr[i]};
			if (rte_ring_enqueue_elem(dp->ho[lc->idx][shard], &h, sizeof(h)) == 0)
				lc->st.handover_out++;
			else
				lc->st.handover_dropped++; /* the UE's timer retransmits */
		}
		rte_pktmbuf_free(vm[i]);
	}
}
