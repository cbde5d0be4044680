/* MILENAGE per TS 35.206 §4.1 with the default constants:
 *   r1..r5 = 64, 0, 32, 64, 96 bits; c1..c5 = 0, 1, 2, 4, 8 (in the last bit
 *   positions). Every rotation is a whole number of bytes, so rot() moves bytes.
 *   TEMP = E_K(RAND ^ OPc)
 *   OUT1 = E_K(TEMP ^ rot(IN1 ^ OPc, r1) ^ c1) ^ OPc, IN1 = SQN||AMF||SQN||AMF
 *   OUTi = E_K(rot(TEMP ^ OPc, ri) ^ ci) ^ OPc, i = 2..5 */
#include "gba/milenage.h"

#include "util/secret.h"

#include <string.h>

enum { BLK = 16 };

static int aes_block(struct kb_milenage *m, const uint8_t in[BLK], uint8_t out[BLK])
{
	int len = 0;
	if (m == NULL || m->aes == NULL)
		return KB_MILENAGE_ERR;
	if (EVP_EncryptUpdate(m->aes, out, &len, in, BLK) != 1 || len != BLK)
		return KB_MILENAGE_ERR;
	return 0;
}

/* OUT = E_K(b ^ rot(a ^ OPc, rot_bytes) ^ c) ^ OPc; b may be NULL (zero). */
static int out_block(struct kb_milenage *m, const uint8_t a[BLK], const uint8_t *b,
		     unsigned rot_bytes, uint8_t c, uint8_t out[BLK])
{
	uint8_t x[BLK], y[BLK];
	for (unsigned i = 0; i < BLK; i++)
		x[i] = a[i] ^ m->opc[i];
	for (unsigned i = 0; i < BLK; i++)
		y[i] = x[(i + rot_bytes) % BLK] ^ (b != NULL ? b[i] : 0);
	y[BLK - 1] ^= c;
	int rc = aes_block(m, y, out);
	for (unsigned i = 0; i < BLK; i++)
		out[i] ^= m->opc[i];
	kb_memzero(x, sizeof(x));
	kb_memzero(y, sizeof(y));
	return rc;
}

static int temp_block(struct kb_milenage *m, const uint8_t rand[BLK], uint8_t temp[BLK])
{
	uint8_t x[BLK];
	for (unsigned i = 0; i < BLK; i++)
		x[i] = rand[i] ^ m->opc[i];
	int rc = aes_block(m, x, temp);
	kb_memzero(x, sizeof(x));
	return rc;
}

static EVP_CIPHER_CTX *aes_new(const uint8_t k[KB_MILENAGE_K_LEN])
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL)
		return NULL;
	if (EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), NULL, k, NULL) != 1)
		goto fail;
	/* single blocks, never padded */
	if (EVP_CIPHER_CTX_set_padding(ctx, 0) != 1)
		goto fail;
	return ctx;
fail:
	EVP_CIPHER_CTX_free(ctx);
	return NULL;
}

int kb_milenage_init(struct kb_milenage *m, const uint8_t k[KB_MILENAGE_K_LEN],
		     const uint8_t opc[KB_MILENAGE_OP_LEN])
{
	if (m == NULL || k == NULL || opc == NULL)
		return KB_MILENAGE_ERR;
	m->aes = aes_new(k);
	if (m->aes == NULL)
		return KB_MILENAGE_ERR;
	memcpy(m->opc, opc, KB_MILENAGE_OP_LEN);
	return 0;
}

int kb_milenage_init_op(struct kb_milenage *m, const uint8_t k[KB_MILENAGE_K_LEN],
			const uint8_t op[KB_MILENAGE_OP_LEN])
{
	if (m == NULL || k == NULL || op == NULL)
		return KB_MILENAGE_ERR;
	m->aes = aes_new(k);
	if (m->aes == NULL)
		return KB_MILENAGE_ERR;
	uint8_t e[BLK];
	if (aes_block(m, op, e) != 0) {
		kb_milenage_clear(m);
		return KB_MILENAGE_ERR;
	}
	for (unsigned i = 0; i < BLK; i++)
		m->opc[i] = op[i] ^ e[i];
	kb_memzero(e, sizeof(e));
	return 0;
}

void kb_milenage_clear(struct kb_milenage *m)
{
	if (m == NULL)
		return;
	EVP_CIPHER_CTX_free(m->aes); /* OpenSSL cleanses the key schedule */
	m->aes = NULL;
	kb_memzero(m->opc, sizeof(m->opc));
}

int kb_milenage_opc(const uint8_t k[KB_MILENAGE_K_LEN], const uint8_t op[KB_MILENAGE_OP_LEN],
		    uint8_t opc[KB_MILENAGE_OP_LEN])
{
	struct kb_milenage m = {0};
	if (opc == NULL || kb_milenage_init_op(&m, k, op) != 0)
		return KB_MILENAGE_ERR;
	memcpy(opc, m.opc, KB_MILENAGE_OP_LEN);
	kb_milenage_clear(&m);
	return 0;
}

int kb_milenage_f1(struct kb_milenage *m, const uint8_t rand[KB_MILENAGE_RAND_LEN],
		   const uint8_t sqn[KB_MILENAGE_SQN_LEN], const uint8_t amf[KB_MILENAGE_AMF_LEN],
		   uint8_t mac_a[KB_MILENAGE_MAC_LEN], uint8_t mac_s[KB_MILENAGE_MAC_LEN])
{
	if (m == NULL || rand == NULL || sqn == NULL || amf == NULL)
		return KB_MILENAGE_ERR;
	uint8_t temp[BLK], in1[BLK], out1[BLK];
	int rc = temp_block(m, rand, temp);
	if (rc != 0)
		goto out;
	memcpy(in1, sqn, 6);
	memcpy(in1 + 6, amf, 2);
	memcpy(in1 + 8, in1, 8);
	rc = out_block(m, in1, temp, 8, 0x00, out1);
	if (rc != 0)
		goto out;
	if (mac_a != NULL)
		memcpy(mac_a, out1, KB_MILENAGE_MAC_LEN);
	if (mac_s != NULL)
		memcpy(mac_s, out1 + 8, KB_MILENAGE_MAC_LEN);
out:
	kb_memzero(temp, sizeof(temp));
	kb_memzero(in1, sizeof(in1));
	kb_memzero(out1, sizeof(out1));
	return rc;
}

int kb_milenage_f2345(struct kb_milenage *m, const uint8_t rand[KB_MILENAGE_RAND_LEN],
		      uint8_t res[KB_MILENAGE_RES_LEN], uint8_t ck[KB_MILENAGE_CK_LEN],
		      uint8_t ik[KB_MILENAGE_IK_LEN], uint8_t ak[KB_MILENAGE_AK_LEN])
{
	if (m == NULL || rand == NULL)
		return KB_MILENAGE_ERR;
	uint8_t temp[BLK], out[BLK];
	int rc = temp_block(m, rand, temp);
	if (rc != 0)
		goto done;
	if (res != NULL || ak != NULL) {
		rc = out_block(m, temp, NULL, 0, 0x01, out);
		if (rc != 0)
			goto done;
		if (ak != NULL)
			memcpy(ak, out, KB_MILENAGE_AK_LEN);
		if (res != NULL)
			memcpy(res, out + 8, KB_MILENAGE_RES_LEN);
	}
	if (ck != NULL) {
		rc = out_block(m, temp, NULL, 4, 0x02, out);
		if (rc != 0)
			goto done;
		memcpy(ck, out, KB_MILENAGE_CK_LEN);
	}
	if (ik != NULL) {
		rc = out_block(m, temp, NULL, 8, 0x04, out);
		if (rc != 0)
			goto done;
		memcpy(ik, out, KB_MILENAGE_IK_LEN);
	}
done:
	kb_memzero(temp, sizeof(temp));
	kb_memzero(out, sizeof(out));
	return rc;
}

int kb_milenage_f5star(struct kb_milenage *m, const uint8_t rand[KB_MILENAGE_RAND_LEN],
		       uint8_t ak_star[KB_MILENAGE_AK_LEN])
{
	if (m == NULL || rand == NULL || ak_star == NULL)
		return KB_MILENAGE_ERR;
	uint8_t temp[BLK], out[BLK];
	int rc = temp_block(m, rand, temp);
	if (rc == 0)
		rc = out_block(m, temp, NULL, 12, 0x08, out);
	if (rc == 0)
		memcpy(ak_star, out, KB_MILENAGE_AK_LEN);
	kb_memzero(temp, sizeof(temp));
	kb_memzero(out, sizeof(out));
	return rc;
}

int kb_milenage_autn(struct kb_milenage *m, const uint8_t rand[KB_MILENAGE_RAND_LEN],
		     const uint8_t sqn[KB_MILENAGE_SQN_LEN], const uint8_t amf[KB_MILENAGE_AMF_LEN],
		     uint8_t autn[KB_MILENAGE_AUTN_LEN])
{
	if (autn == NULL)
		return KB_MILENAGE_ERR;
	uint8_t ak[KB_MILENAGE_AK_LEN];
	int rc = kb_milenage_f2345(m, rand, NULL, NULL, NULL, ak);
	if (rc == 0)
		rc = kb_milenage_f1(m, rand, sqn, amf, autn + 8, NULL);
	if (rc == 0) {
		for (unsigned i = 0; i < KB_MILENAGE_SQN_LEN; i++)
			autn[i] = sqn[i] ^ ak[i];
		memcpy(autn + 6, amf, KB_MILENAGE_AMF_LEN);
	}
	kb_memzero(ak, sizeof(ak));
	return rc;
}

int kb_milenage_check(struct kb_milenage *m, const uint8_t rand[KB_MILENAGE_RAND_LEN],
		      const uint8_t autn[KB_MILENAGE_AUTN_LEN], uint8_t sqn[KB_MILENAGE_SQN_LEN],
		      uint8_t res[KB_MILENAGE_RES_LEN], uint8_t ck[KB_MILENAGE_CK_LEN],
		      uint8_t ik[KB_MILENAGE_IK_LEN])
{
	if (autn == NULL)
		return KB_MILENAGE_ERR;
	uint8_t ak[KB_MILENAGE_AK_LEN], got_sqn[KB_MILENAGE_SQN_LEN], xmac[KB_MILENAGE_MAC_LEN];
	int rc = kb_milenage_f2345(m, rand, NULL, NULL, NULL, ak);
	if (rc != 0)
		goto out;
	for (unsigned i = 0; i < KB_MILENAGE_SQN_LEN; i++)
		got_sqn[i] = autn[i] ^ ak[i];
	rc = kb_milenage_f1(m, rand, got_sqn, autn + 6, xmac, NULL);
	if (rc != 0)
		goto out;
	if (sqn != NULL)
		memcpy(sqn, got_sqn, KB_MILENAGE_SQN_LEN);
	if (!kb_ct_equal(xmac, autn + 8, KB_MILENAGE_MAC_LEN)) {
		rc = KB_MILENAGE_EMAC;
		goto out;
	}
	rc = kb_milenage_f2345(m, rand, res, ck, ik, NULL);
out:
	kb_memzero(ak, sizeof(ak));
	kb_memzero(got_sqn, sizeof(got_sqn));
	kb_memzero(xmac, sizeof(xmac));
	return rc;
}

static const uint8_t resync_amf[KB_MILENAGE_AMF_LEN] = {0x00, 0x00};

int kb_milenage_auts(struct kb_milenage *m, const uint8_t rand[KB_MILENAGE_RAND_LEN],
		     const uint8_t sqn_ms[KB_MILENAGE_SQN_LEN], uint8_t auts[KB_MILENAGE_AUTS_LEN])
{
	if (sqn_ms == NULL || auts == NULL)
		return KB_MILENAGE_ERR;
	uint8_t ak_star[KB_MILENAGE_AK_LEN];
	int rc = kb_milenage_f5star(m, rand, ak_star);
	if (rc == 0)
		rc = kb_milenage_f1(m, rand, sqn_ms, resync_amf, NULL, auts + 6);
	if (rc == 0)
		for (unsigned i = 0; i < KB_MILENAGE_SQN_LEN; i++)
			auts[i] = sqn_ms[i] ^ ak_star[i];
	kb_memzero(ak_star, sizeof(ak_star));
	return rc;
}

int kb_milenage_auts_check(struct kb_milenage *m, const uint8_t rand[KB_MILENAGE_RAND_LEN],
			   const uint8_t auts[KB_MILENAGE_AUTS_LEN],
			   uint8_t sqn_ms[KB_MILENAGE_SQN_LEN])
{
	if (auts == NULL)
		return KB_MILENAGE_ERR;
	uint8_t ak_star[KB_MILENAGE_AK_LEN], got[KB_MILENAGE_SQN_LEN], xmac[KB_MILENAGE_MAC_LEN];
	int rc = kb_milenage_f5star(m, rand, ak_star);
	if (rc != 0)
		goto out;
	for (unsigned i = 0; i < KB_MILENAGE_SQN_LEN; i++)
		got[i] = auts[i] ^ ak_star[i];
	rc = kb_milenage_f1(m, rand, got, resync_amf, NULL, xmac);
	if (rc != 0)
		goto out;
	if (!kb_ct_equal(xmac, auts + 6, KB_MILENAGE_MAC_LEN)) {
		rc = KB_MILENAGE_EMAC;
		goto out;
	}
	if (sqn_ms != NULL)
		memcpy(sqn_ms, got, KB_MILENAGE_SQN_LEN);
out:
	kb_memzero(ak_star, sizeof(ak_star));
	kb_memzero(got, sizeof(got));
	kb_memzero(xmac, sizeof(xmac));
	return rc;
}
