/* Shared test helpers: see testlib.h. */
#include "testlib.h"

#include "util/be.h"
#include "util/hex.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 0x6b657962757273ull;

void kb_test_seed(uint64_t seed)
{
	rng_state = seed;
}

uint64_t kb_test_rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1Dull;
}

uint32_t kb_test_rnd32(void)
{
	return (uint32_t)(kb_test_rnd() >> 32);
}

void kb_test_rnd_bytes(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)kb_test_rnd32();
}

json_t *kb_test_vector_load(const char *name)
{
	const char *dir = getenv("KB_VECTORS");
	char path[4096];
	json_error_t jerr;

	if (dir == NULL)
		fprintf(stderr, "KB_VECTORS not set, trying tests/vectors\n");
	snprintf(path, sizeof(path), "%s/%s", dir != NULL ? dir : "tests/vectors", name);
	json_t *root = json_load_file(path, 0, &jerr);
	if (root == NULL)
		fprintf(stderr, "%s: %s\n", path, jerr.text);
	return root;
}

long kb_test_hexfield(const json_t *obj, const char *key, uint8_t *out, size_t cap)
{
	const char *s = json_string_value(json_object_get(obj, key));
	long n = s != NULL ? kb_hex_decode(s, strlen(s), out, cap) : -1;
	if (n < 0)
		fprintf(stderr, "vector field %s: %s\n", key, s != NULL ? "bad hex" : "missing");
	return n;
}

/* a hex field that must decode to exactly len bytes */
static int hex_exact(const json_t *obj, const char *key, uint8_t *out, size_t len)
{
	long n = kb_test_hexfield(obj, key, out, len);
	if (n != (long)len) {
		fprintf(stderr, "vector field %s: %ld bytes, want %zu\n", key, n, len);
		return -1;
	}
	return 0;
}

/* a string field copied into out (cap bytes with the NUL) */
static int str_field(const json_t *obj, const char *key, char *out, size_t cap)
{
	const char *s = json_string_value(json_object_get(obj, key));
	if (s == NULL || strlen(s) >= cap) {
		fprintf(stderr, "vector field %s: missing or too long\n", key);
		return -1;
	}
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

int kb_test_msk_vector_load(struct kb_test_msk_vector *v)
{
	uint8_t b4[4];
	int bad = 0;

	memset(v, 0, sizeof(*v));
	json_t *root = kb_test_vector_load("msk-message-1.json");
	if (root == NULL)
		return -1;
	json_t *in = json_object_get(root, "input");
	json_t *tk = json_object_get(root, "transport_keys");
	bad |= hex_exact(in, "muk", v->muk, sizeof(v->muk));
	bad |= hex_exact(in, "rand", v->rand, sizeof(v->rand));
	bad |= hex_exact(in, "domain", v->domain, sizeof(v->domain));
	bad |= hex_exact(in, "msk_id", b4, sizeof(b4));
	bad |= hex_exact(in, "msk", v->msk, sizeof(v->msk));
	bad |= hex_exact(tk, "encr", v->tk.encr, sizeof(v->tk.encr));
	bad |= hex_exact(tk, "auth", v->tk.auth, sizeof(v->tk.auth));
	bad |= hex_exact(tk, "salt", v->tk.salt, sizeof(v->tk.salt));
	bad |= str_field(in, "idi", v->idi, sizeof(v->idi));
	bad |= str_field(in, "idr", v->idr, sizeof(v->idr));
	v->csb_id = (uint32_t)json_integer_value(json_object_get(in, "csb_id"));
	v->counter = (uint32_t)json_integer_value(json_object_get(in, "counter"));
	v->msk_id = kb_be32(b4);
	v->v = json_is_true(json_object_get(in, "v"));
	long msg_len = kb_test_hexfield(root, "msk_message", v->msg, sizeof(v->msg));
	long ack_len = kb_test_hexfield(root, "ack_message", v->ack, sizeof(v->ack));
	if (msg_len <= 100 || ack_len != KB_ACK_LEN) {
		fprintf(stderr, "vector: message %ld bytes, ack %ld bytes\n", msg_len, ack_len);
		bad = -1;
	}
	v->msg_len = msg_len < 0 ? 0 : (size_t)msg_len;
	v->ack_len = ack_len < 0 ? 0 : (size_t)ack_len;
	json_decref(root);
	return bad != 0 ? -1 : 0;
}

struct kb_msk_msg_params kb_test_msk_vector_params(const struct kb_test_msk_vector *v)
{
	struct kb_msk_msg_params p = {
		.csb_id = v->csb_id,
		.counter = v->counter,
		.rand = v->rand,
		.idi = (const uint8_t *)v->idi,
		.idi_len = (uint16_t)strlen(v->idi),
		.idr = (const uint8_t *)v->idr,
		.idr_len = (uint16_t)strlen(v->idr),
		.domain = {v->domain[0], v->domain[1], v->domain[2]},
		.msk_id = v->msk_id,
		.msk = v->msk,
		.v = v->v,
	};
	return p;
}

bool kb_test_ack_mac_ok(const uint8_t *ack, const uint8_t auth[20], const char *idi,
			const char *idr, uint32_t counter)
{
	uint8_t in[KB_ACK_LEN + 256], mac[20];
	unsigned mac_len = 0;
	size_t n = KB_ACK_LEN - 20, li = strlen(idi), lr = strlen(idr);

	if (li + lr > 250)
		return false;
	memcpy(in, ack, n);
	memcpy(in + n, idi, li);
	n += li;
	memcpy(in + n, idr, lr);
	n += lr;
	kb_put32(in + n, counter);
	n += 4;
	HMAC(EVP_sha1(), auth, 20, in, n, mac, &mac_len);
	return mac_len == 20 && memcmp(mac, ack + KB_ACK_LEN - 20, 20) == 0;
}
