/* Records kept in the store (control/store.h). Every stored value starts
 * with a version byte so layouts can coexist:
 * - version 1: the fixed-layout host-order structs below (services, MSKs,
 *   subscribers; and SA/UE/registration/bootstrap records of older stores);
 * - version 2: compact big-endian encodings of the per-UE records (SA, UE,
 *   registration, bootstrap), written through kb_rec_*_encode: a million
 *   UEs are ~4x smaller than with the fixed structs, which is what bulk
 *   imports pay for in LMDB pages. The structs stay the in-memory form. */
#ifndef KB_RECORDS_H
#define KB_RECORDS_H

#include <stdbool.h>
#include <stdint.h>

#include "dataplane/sa.h"
#include "gba/gba.h"

#define KB_REC_VERSION 1
#define KB_REC_COMPACT 2
#define KB_REC_ENC_MAX 512 /* longest compact encoding */
#define KB_SERVICE_ID_MAX 128 /* user service id (a URI), NUL included */
#define KB_IMPI_MAX 128 /* NUL included */
#define KB_MSK_LEN 16
#define KB_KEY_DOMAIN_LEN 3

struct kb_rec_service {
	uint8_t version;
	char id[KB_SERVICE_ID_MAX];
	uint8_t key_domain[KB_KEY_DOMAIN_LEN];
	uint16_t key_group;
	uint16_t udp_port; /* UE port the MSK messages go to */
	uint32_t rollover_period; /* seconds; 0: manual only */
	uint8_t ack_wanted;
	uint8_t retries;
	uint16_t current_kn; /* key number of the current MSK (never 0) */
	uint16_t next_kn; /* key number being rolled out, 0 if none */
	int64_t next_rollover; /* unix seconds; 0 if none scheduled */
	int64_t rollover_started; /* unix seconds of the running rollover */
};

struct kb_rec_msk {
	uint8_t version;
	uint8_t msk[KB_MSK_LEN];
	int64_t created;
};

/* Admin-provisioned bootstrap (keysource "records"). Either Ks (then the
 * NAF keys are derived with the BM-SC's NAF_Id) or the NAF keys. */
struct kb_rec_bootstrap {
	uint8_t version;
	uint8_t mode; /* enum kb_gba_mode */
	uint8_t has_ks; /* 1: ks holds Ks; 0: ks_ext/ks_int hold the NAF keys */
	char impi[KB_IMPI_MAX];
	uint8_t rand[KB_GBA_RAND_LEN];
	uint8_t ks[KB_GBA_KEY_LEN];
	uint8_t ks_ext_naf[KB_GBA_KEY_LEN];
	uint8_t ks_int_naf[KB_GBA_KEY_LEN];
	int64_t expires; /* unix seconds */
};

/* BSF simulator subscriber (MILENAGE). */
struct kb_rec_subscriber {
	uint8_t version;
	uint8_t k[16];
	uint8_t opc[16];
};

struct kb_rec_ue {
	uint8_t version;
	char btid[KB_GBA_BTID_MAX];
	uint32_t csb_id;
	struct kb_ue_addr addr;
	int64_t updated;
};

struct kb_rec_sa {
	uint8_t version;
	uint8_t muk[KB_GBA_KEY_LEN];
	uint8_t rand[KB_MIKEY_RAND_LEN];
	char idr[KB_SA_ID_MAX + 1]; /* the B-TID */
	char impi[KB_IMPI_MAX];
	uint16_t key_group;
	struct kb_ue_addr addr;
	int64_t created;
	int64_t muk_expires; /* the Ks_NAF lifetime the MUK came with */
};

struct kb_rec_reg {
	uint8_t version;
	char btid[KB_GBA_BTID_MAX];
	int64_t registered;
};

/* Compact encodings (version 2). encode returns the length written, 0 if a
 * field is out of range or cap is too small. decode accepts version 2 and
 * the version-1 fixed layout; 0, or -1 for anything else (truncated,
 * trailing bytes, overlong strings). */
size_t kb_rec_sa_encode(const struct kb_rec_sa *r, uint8_t *out, size_t cap);
int kb_rec_sa_decode(const void *val, size_t len, struct kb_rec_sa *r);
size_t kb_rec_ue_encode(const struct kb_rec_ue *r, uint8_t *out, size_t cap);
int kb_rec_ue_decode(const void *val, size_t len, struct kb_rec_ue *r);
size_t kb_rec_reg_encode(const struct kb_rec_reg *r, uint8_t *out, size_t cap);
int kb_rec_reg_decode(const void *val, size_t len, struct kb_rec_reg *r);
size_t kb_rec_bootstrap_encode(const struct kb_rec_bootstrap *r, uint8_t *out, size_t cap);
int kb_rec_bootstrap_decode(const void *val, size_t len, struct kb_rec_bootstrap *r);

/* Key of KB_ST_MSK. */
static inline void kb_msk_key(uint8_t key[7], const uint8_t domain[KB_KEY_DOMAIN_LEN],
			      uint16_t group, uint16_t kn)
{
	key[0] = domain[0];
	key[1] = domain[1];
	key[2] = domain[2];
	key[3] = (uint8_t)(group >> 8);
	key[4] = (uint8_t)group;
	key[5] = (uint8_t)(kn >> 8);
	key[6] = (uint8_t)kn;
}

#endif
