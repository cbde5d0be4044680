/* MILENAGE (TS 35.205/35.206): the 3GPP AKA functions f1..f5* on AES-128,
 * plus the AUTN/AUTS helpers the BSF simulator and the UE simulator share.
 *
 * A struct kb_milenage holds one subscriber's K (inside an AES context keyed
 * once) and OPc; every function then costs a few AES blocks. Not thread-safe
 * per struct: give each thread its own. */
#ifndef KB_MILENAGE_H
#define KB_MILENAGE_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#define KB_MILENAGE_K_LEN 16
#define KB_MILENAGE_OP_LEN 16
#define KB_MILENAGE_RAND_LEN 16
#define KB_MILENAGE_SQN_LEN 6
#define KB_MILENAGE_AMF_LEN 2
#define KB_MILENAGE_MAC_LEN 8 /* MAC-A (f1) and MAC-S (f1*) */
#define KB_MILENAGE_RES_LEN 8 /* f2 */
#define KB_MILENAGE_CK_LEN 16 /* f3 */
#define KB_MILENAGE_IK_LEN 16 /* f4 */
#define KB_MILENAGE_AK_LEN 6 /* f5 and f5* */
#define KB_MILENAGE_AUTN_LEN 16 /* SQN^AK || AMF || MAC-A */
#define KB_MILENAGE_AUTS_LEN 14 /* SQN_MS^AK* || MAC-S */

/* Return codes besides 0. */
#define KB_MILENAGE_ERR (-1) /* bad argument or an OpenSSL failure */
#define KB_MILENAGE_EMAC (-2) /* MAC-A / MAC-S did not verify */

struct kb_milenage {
	EVP_CIPHER_CTX *aes; /* AES-128-ECB keyed with K */
	uint8_t opc[KB_MILENAGE_OP_LEN];
};

/* One-shot OPc = OP xor E_K(OP). Returns 0 or KB_MILENAGE_ERR. */
int kb_milenage_opc(const uint8_t k[KB_MILENAGE_K_LEN], const uint8_t op[KB_MILENAGE_OP_LEN],
		    uint8_t opc[KB_MILENAGE_OP_LEN]);

/* Key a context with K and OPc (operators usually provision OPc), or with K
 * and OP (OPc is computed). Returns 0 or KB_MILENAGE_ERR; on error nothing
 * needs freeing. Every successful init needs one kb_milenage_clear. */
int kb_milenage_init(struct kb_milenage *m, const uint8_t k[KB_MILENAGE_K_LEN],
		     const uint8_t opc[KB_MILENAGE_OP_LEN]);
int kb_milenage_init_op(struct kb_milenage *m, const uint8_t k[KB_MILENAGE_K_LEN],
			const uint8_t op[KB_MILENAGE_OP_LEN]);

/* Free the AES context and wipe OPc. Safe on a zeroed or cleared struct. */
void kb_milenage_clear(struct kb_milenage *m);

/* f1 (MAC-A) and f1* (MAC-S); either output may be NULL. */
int kb_milenage_f1(struct kb_milenage *m, const uint8_t rand[KB_MILENAGE_RAND_LEN],
		   const uint8_t sqn[KB_MILENAGE_SQN_LEN], const uint8_t amf[KB_MILENAGE_AMF_LEN],
		   uint8_t mac_a[KB_MILENAGE_MAC_LEN], uint8_t mac_s[KB_MILENAGE_MAC_LEN]);

/* f2 (RES), f3 (CK), f4 (IK), f5 (AK); any output may be NULL. */
int kb_milenage_f2345(struct kb_milenage *m, const uint8_t rand[KB_MILENAGE_RAND_LEN],
		      uint8_t res[KB_MILENAGE_RES_LEN], uint8_t ck[KB_MILENAGE_CK_LEN],
		      uint8_t ik[KB_MILENAGE_IK_LEN], uint8_t ak[KB_MILENAGE_AK_LEN]);

/* f5* (the resynchronisation anonymity key AK*). */
int kb_milenage_f5star(struct kb_milenage *m, const uint8_t rand[KB_MILENAGE_RAND_LEN],
		       uint8_t ak_star[KB_MILENAGE_AK_LEN]);

/* Network side: AUTN = (SQN xor AK) || AMF || MAC-A. */
int kb_milenage_autn(struct kb_milenage *m, const uint8_t rand[KB_MILENAGE_RAND_LEN],
		     const uint8_t sqn[KB_MILENAGE_SQN_LEN], const uint8_t amf[KB_MILENAGE_AMF_LEN],
		     uint8_t autn[KB_MILENAGE_AUTN_LEN]);

/* UE side: recover SQN from AUTN and verify MAC-A (constant time). On 0 the
 * outputs that are not NULL are filled: the recovered SQN, RES, CK, IK. On
 * KB_MILENAGE_EMAC nothing but sqn is written (sqn may help a log line; it is
 * not authenticated). The SQN freshness check (TS 33.102 §6.3.3, Annex C) is
 * the caller's: on a stale SQN it answers with kb_milenage_auts. */
int kb_milenage_check(struct kb_milenage *m, const uint8_t rand[KB_MILENAGE_RAND_LEN],
		      const uint8_t autn[KB_MILENAGE_AUTN_LEN], uint8_t sqn[KB_MILENAGE_SQN_LEN],
		      uint8_t res[KB_MILENAGE_RES_LEN], uint8_t ck[KB_MILENAGE_CK_LEN],
		      uint8_t ik[KB_MILENAGE_IK_LEN]);

/* UE side of resynchronisation: AUTS = (SQN_MS xor AK*) || MAC-S, with MAC-S
 * computed over the dummy AMF 0000 (TS 33.102 §6.3.3). */
int kb_milenage_auts(struct kb_milenage *m, const uint8_t rand[KB_MILENAGE_RAND_LEN],
		     const uint8_t sqn_ms[KB_MILENAGE_SQN_LEN], uint8_t auts[KB_MILENAGE_AUTS_LEN]);

/* Network side of resynchronisation: recover SQN_MS and verify MAC-S.
 * Returns 0, KB_MILENAGE_EMAC or KB_MILENAGE_ERR. */
int kb_milenage_auts_check(struct kb_milenage *m, const uint8_t rand[KB_MILENAGE_RAND_LEN],
			   const uint8_t auts[KB_MILENAGE_AUTS_LEN],
			   uint8_t sqn_ms[KB_MILENAGE_SQN_LEN]);

#endif
