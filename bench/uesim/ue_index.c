#include "ue_index.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <string.h>

void kb_ue_btid_key(const uint8_t *btid, size_t len, uint8_t key[KB_UE_BTID_KEY_LEN])
{
	uint8_t h[SHA256_DIGEST_LENGTH];
	SHA256(btid, len, h);
	memcpy(key, h, KB_UE_BTID_KEY_LEN);
}
