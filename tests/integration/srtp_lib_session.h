/* A libsrtp2 session (the independent oracle) for one SSRC under the
 * keyburst SRTP profile: AES-CM-128 + HMAC-SHA1-80, one master key with its
 * MKI, replay window 1024. Shared by test_srtp_libsrtp and ptm_check_libsrtp;
 * only libsrtp2 calls, nothing of our SRTP code. */
#ifndef KB_SRTP_LIB_SESSION_H
#define KB_SRTP_LIB_SESSION_H

#include "srtp/srtp.h"

#include <srtp2/srtp.h>
#include <stdint.h>
#include <string.h>

/* The master key in the form libsrtp2 takes; must outlive the session
 * (wipe key with kb_memzero after srtp_dealloc). */
struct kb_srtp_lib_key {
	uint8_t key[30]; /* master key (16) then master salt (14) */
	uint8_t mki[KB_SRTP_MKI_LEN];
	srtp_master_key_t mk;
	srtp_master_key_t *mkp[1];
};

/* Create *s for ssrc, starting at rollover counter roc. Returns 0 or -1. */
static inline int kb_srtp_lib_create(srtp_t *s, struct kb_srtp_lib_key *k, const uint8_t *key,
				     const uint8_t *salt, const uint8_t *mki, uint32_t ssrc,
				     uint32_t roc)
{
	srtp_policy_t pol;

	memset(&pol, 0, sizeof(pol));
	memcpy(k->key, key, 16);
	memcpy(k->key + 16, salt, 14);
	memcpy(k->mki, mki, KB_SRTP_MKI_LEN);
	k->mk.key = k->key;
	k->mk.mki_id = k->mki;
	k->mk.mki_size = KB_SRTP_MKI_LEN;
	k->mkp[0] = &k->mk;
	srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtp);
	srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtcp);
	pol.ssrc.type = ssrc_specific;
	pol.ssrc.value = ssrc;
	pol.keys = k->mkp;
	pol.num_master_keys = 1;
	pol.window_size = 1024;
	if (srtp_create(s, &pol) != srtp_err_status_ok)
		return -1;
	if (roc != 0 && srtp_set_stream_roc(*s, ssrc, roc) != srtp_err_status_ok)
		return -1;
	return 0;
}

#endif
