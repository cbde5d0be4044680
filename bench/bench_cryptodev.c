/* The DPDK cryptodev baseline: the same MSK sealing, in the same pipeline
 * (next UE, next counter, write the message), through DPDK's crypto_aesni_mb
 * PMD: one symmetric session per SA (cipher-then-auth chain: AES-128-CTR over
 * the key data, then HMAC-SHA-1 over the message before the MAC), one op per
 * message, enqueue/dequeue bursts of 32 or 64. This is what a DPDK engineer
 * would write first.
 *
 * Sessions: one per SA, created before timing, as a server would hold them
 * (at 1M UEs that is 1M sessions in a mempool; their size is reported as the
 * sess_bytes counter). The messages are written into a fixed set of mbufs and
 * the ops are reused, as the burst path reuses its buffers: the timing covers
 * op preparation, the PMD and the pipeline, not mbuf allocation (the daemon
 * benchmark to net_null covers that for keyburst). Before timing, a sample's
 * bytes are checked against kb_ref_seal_msk. */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "bench_common.h"

#ifdef KB_BENCH_DPDK
#include <rte_crypto.h>
#include <rte_cryptodev.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "mikey/mikey_ref.h"
#include "util/secret.h"

#define BURST_MAX 64
#define QP_DESC 2048
#define IV_OFFSET (sizeof(struct rte_crypto_op) + sizeof(struct rte_crypto_sym_op))
#define MAX_POPS 4

struct cdev_pop {
	uint32_t n;
	void **sess; /* one session per SA */
};

static struct {
	int state; /* 0 not tried, 1 up, -1 failed */
	uint8_t dev;
	struct rte_mempool *sess_pool, *op_pool, *mbuf_pool;
	struct rte_crypto_op *ops[BURST_MAX];
	struct rte_mbuf *mbufs[BURST_MAX];
	struct cdev_pop pops[MAX_POPS];
	unsigned sess_size;
} cd;

static int cdev_up(void)
{
	struct rte_cryptodev_config conf = {0};
	struct rte_cryptodev_qp_conf qp = {0};
	int socket, dev;
	uint32_t total;

	if (cd.state != 0)
		return cd.state > 0 ? 0 : -1;
	cd.state = -1;
	if (kb_bench_eal() != 0)
		return -1;
	dev = rte_cryptodev_get_dev_id("crypto_aesni_mb");
	if (dev < 0) {
		fprintf(stderr, "kb_bench: no crypto_aesni_mb (add --vdev crypto_aesni_mb)\n");
		return -1;
	}
	cd.dev = (uint8_t)dev;
	socket = (int)rte_socket_id();
	/* sessions for both populations at once: hot and cold */
	total = kb_bench_cfg.hot_ues + kb_bench_cfg.cold_ues + 16;
	cd.sess_size = rte_cryptodev_sym_get_private_session_size(cd.dev);
	cd.sess_pool = rte_cryptodev_sym_session_pool_create("kbb_sess", total, cd.sess_size, 0, 0,
							     socket);
	cd.op_pool = rte_crypto_op_pool_create("kbb_ops", RTE_CRYPTO_OP_TYPE_SYMMETRIC, 1023, 0, 16,
					       socket);
	cd.mbuf_pool =
		rte_pktmbuf_pool_create("kbb_mb", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, socket);
	if (cd.sess_pool == NULL || cd.op_pool == NULL || cd.mbuf_pool == NULL) {
		fprintf(stderr, "kb_bench: cryptodev pools: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	conf.socket_id = socket;
	conf.nb_queue_pairs = 1;
	qp.nb_descriptors = QP_DESC;
	qp.mp_session = cd.sess_pool;
	if (rte_cryptodev_configure(cd.dev, &conf) != 0 ||
	    rte_cryptodev_queue_pair_setup(cd.dev, 0, &qp, socket) != 0 ||
	    rte_cryptodev_start(cd.dev) != 0) {
		fprintf(stderr, "kb_bench: cryptodev setup failed\n");
		return -1;
	}
	if (rte_crypto_op_bulk_alloc(cd.op_pool, RTE_CRYPTO_OP_TYPE_SYMMETRIC, cd.ops, BURST_MAX) !=
		    BURST_MAX ||
	    rte_pktmbuf_alloc_bulk(cd.mbuf_pool, cd.mbufs, BURST_MAX) != 0)
		return -1;
	cd.state = 1;
	return 0;
}

static void *session(const struct kb_mikey_tkeys *tk)
{
	struct rte_crypto_sym_xform auth = {
		.type = RTE_CRYPTO_SYM_XFORM_AUTH,
		.auth = {.op = RTE_CRYPTO_AUTH_OP_GENERATE,
			 .algo = RTE_CRYPTO_AUTH_SHA1_HMAC,
			 .key = {.data = tk->auth, .length = KB_MIKEY_AUTH_KEY_LEN},
			 .digest_length = KB_MIKEY_MAC_LEN},
	};
	struct rte_crypto_sym_xform cipher = {
		.type = RTE_CRYPTO_SYM_XFORM_CIPHER,
		.next = &auth,
		.cipher = {.op = RTE_CRYPTO_CIPHER_OP_ENCRYPT,
			   .algo = RTE_CRYPTO_CIPHER_AES_CTR,
			   .key = {.data = tk->encr, .length = KB_MIKEY_ENCR_KEY_LEN},
			   .iv = {.offset = IV_OFFSET, .length = 16}},
	};

	return rte_cryptodev_sym_session_create(cd.dev, &cipher, cd.sess_pool);
}

static struct cdev_pop *cdev_pop(const struct kb_bench_pop *pop)
{
	unsigned slot = MAX_POPS;

	for (unsigned i = 0; i < MAX_POPS; i++) {
		if (cd.pops[i].n == pop->n)
			return &cd.pops[i];
		if (cd.pops[i].n == 0 && slot == MAX_POPS)
			slot = i;
	}
	if (slot == MAX_POPS)
		return NULL;
	cd.pops[slot].sess = calloc(pop->n, sizeof(void *));
	if (cd.pops[slot].sess == NULL)
		return NULL;
	for (uint32_t i = 0; i < pop->n; i++) {
		cd.pops[slot].sess[i] = session(&pop->ue[i].tk);
		if (cd.pops[slot].sess[i] == NULL) {
			fprintf(stderr, "kb_bench: session %u of %u: %s\n", i, pop->n,
				rte_strerror(rte_errno));
			return NULL;
		}
	}
	cd.pops[slot].n = pop->n;
	return &cd.pops[slot];
}

/* Build the op of message j for UE idx with counter c. */
static int prepare(unsigned j, const struct kb_bench_pop *pop, void *sess, uint32_t idx, uint32_t c)
{
	const struct kb_bench_ue *ue = &pop->ue[idx];
	struct rte_crypto_op *op = cd.ops[j];
	struct rte_mbuf *m = cd.mbufs[j];
	struct rte_crypto_sym_op *sym = op->sym;
	struct kb_msk_msg_params p;
	struct kb_mikey_layout lay;
	uint8_t *buf = rte_pktmbuf_mtod(m, uint8_t *);

	kb_bench_msk_params(ue, c, &p);
	if (kb_msk_msg_write(buf, rte_pktmbuf_tailroom(m) + m->data_len, &p, &lay) != 0)
		return -1;
	m->data_len = (uint16_t)lay.len;
	m->pkt_len = (uint32_t)lay.len;
	op->status = RTE_CRYPTO_OP_STATUS_NOT_PROCESSED;
	rte_crypto_op_attach_sym_session(op, sess);
	sym->m_src = m;
	sym->m_dst = NULL;
	sym->cipher.data.offset = (uint32_t)lay.encr_off;
	sym->cipher.data.length = (uint32_t)lay.encr_len;
	sym->auth.data.offset = 0;
	sym->auth.data.length = (uint32_t)lay.mac_off;
	sym->auth.digest.data = buf + lay.mac_off;
	sym->auth.digest.phys_addr = rte_pktmbuf_iova_offset(m, lay.mac_off);
	kb_mikey_iv(ue->tk.salt, ue->csb_id, c,
		    rte_crypto_op_ctod_offset(op, uint8_t *, IV_OFFSET));
	return 0;
}

/* Enqueue n prepared ops and wait for all of them. 0 if all succeeded. */
static int process(unsigned n)
{
	struct rte_crypto_op *done[BURST_MAX];
	unsigned sent = 0, got = 0, bad = 0;

	while (sent < n)
		sent += rte_cryptodev_enqueue_burst(cd.dev, 0, cd.ops + sent, (uint16_t)(n - sent));
	while (got < n) {
		uint16_t k = rte_cryptodev_dequeue_burst(cd.dev, 0, done, (uint16_t)(n - got));

		for (uint16_t i = 0; i < k; i++)
			bad += done[i]->status != RTE_CRYPTO_OP_STATUS_SUCCESS;
		got += k;
	}
	return bad == 0 ? 0 : -1;
}

static int check(const struct kb_bench_pop *pop, struct cdev_pop *cp)
{
	uint8_t want[KB_MIKEY_MSG_MAX];
	struct kb_msk_msg_params p;
	uint32_t idx = pop->order[0];
	size_t len = 0;

	kb_bench_msk_params(&pop->ue[idx], 0x7ffffff0u, &p);
	if (kb_ref_seal_msk(want, sizeof(want), &p, &pop->ue[idx].tk, &len) != 0)
		return -1;
	if (prepare(0, pop, cp->sess[idx], idx, 0x7ffffff0u) != 0 || process(1) != 0)
		return -1;
	return cd.mbufs[0]->data_len == len &&
			       memcmp(rte_pktmbuf_mtod(cd.mbufs[0], uint8_t *), want, len) == 0
		       ? 0
		       : -1;
}

static void bm_cryptodev(struct kb_bench_state *st)
{
	struct kb_bench_pop *pop = kb_bench_pop_get((uint32_t)kb_bench_state_range(st, 0));
	unsigned burst = (unsigned)kb_bench_state_range(st, 1);
	struct cdev_pop *cp;
	uint32_t pos = 0;
	uint64_t fails = 0;

	if (pop == NULL || cdev_up() != 0) {
		kb_bench_state_skip_with_error(st, "cryptodev or population setup failed");
		return;
	}
	cp = cdev_pop(pop);
	if (cp == NULL) {
		kb_bench_state_skip_with_error(st, "session creation failed");
		return;
	}
	if (check(pop, cp) != 0) {
		kb_bench_state_skip_with_error(st, "cryptodev bytes differ from kb_ref_seal_msk");
		return;
	}
	while (kb_bench_keep_running_batch(st, burst)) {
		for (unsigned j = 0; j < burst; j++) {
			uint32_t idx = pop->order[pos];

			pos = pos + 1 == pop->n ? 0 : pos + 1;
			fails += prepare(j, pop, cp->sess[idx], idx, pop->ctr[idx]++) != 0;
		}
		fails += process(burst) != 0;
	}
	if (fails != 0) {
		kb_bench_state_skip_with_error(st, "a cryptodev op failed");
		return;
	}
	kb_bench_state_set_items_processed(st, kb_bench_state_iterations(st));
	kb_bench_state_counter(st, "msg_bytes", (double)cd.mbufs[0]->data_len, 0);
	kb_bench_state_counter(st, "sess_bytes", (double)cd.sess_size, 0);
	kb_bench_state_set_label(st, "crypto_aesni_mb, session per SA");
}

void kb_bench_register_cryptodev(void)
{
	static const char *const names[] = {"ues", "burst"};
	struct kb_bench *b;

	if (kb_bench_cfg.no_eal)
		return;
	b = kb_bench_register("seal/cryptodev", bm_cryptodev);
	for (unsigned s = 0; s < 2; s++) {
		for (unsigned k = 0; k < 2; k++) {
			int64_t a[2] = {s == 0 ? kb_bench_cfg.hot_ues : kb_bench_cfg.cold_ues,
					k == 0 ? 32 : 64};

			kb_bench_args(b, 2, a);
		}
	}
	kb_bench_arg_names(b, 2, names);
}
#else
void kb_bench_register_cryptodev(void)
{
}
#endif
