/* The UE model of keyburst-uesim, in pure C (no DPDK, no sockets): what a
 * real UE does with a MIKEY MSK message (PROFILE.md), for N UEs from the
 * roster at once, in compact per-UE arrays indexed by roster row.
 *
 * A UE knows only its MUK and B-TID. The first message of an SA names the UE
 * (IDr = B-TID) and carries the csb_id and RAND; the UE derives the transport
 * keys from MUK + csb_id + RAND once and caches them. It accepts a message
 * only if the KEMAC MAC verifies and the counter exceeds the last one it
 * accepted for that MUK (the replay rule), stores up to two MSKs per
 * (domain, key group), and answers with a verification message when V = 1.
 * It never sees the server's key tables. Knobs make it a bad network or a bad
 * UE: drop messages, drop, duplicate or forge acks. */
#ifndef KB_UE_STATE_H
#define KB_UE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mikey/mikey_codec.h"
#include "mikey/mikey_prf.h"
#include "mikey/mikey_profile.h"
#include "util/roster.h"

#include "ue_index.h"

#define KB_UE_MSK_SLOTS 2 /* a UE holds at most two MSKs per (domain, key group) */
#define KB_UESIM_MAX_MSK_IDS 16 /* distinct MSK IDs the census tracks */

struct kb_ue_msk {
	uint32_t msk_id; /* key group (16) ‖ key number (16) */
	uint8_t domain[3];
	uint8_t used;
	uint8_t msk[KB_MSK_LEN];
};

/* One UE: ~112 bytes. The transport keys of its SA live next to it in the
 * array of the path that checks messages: raw keys for the OpenSSL
 * reference (kb_uesim.tk), expanded keys for the IPsec-MB burst path
 * (ue_burst.h), so a 10M-UE run pays for one of the two only. */
struct kb_ue {
	uint8_t muk[KB_MUK_LEN];
	uint8_t rand[KB_MIKEY_RAND_LEN]; /* the SA's RAND, valid with KB_UE_KEYS */
	uint32_t csb_id;
	uint32_t last_counter; /* last accepted; counters start at 1 */
	uint32_t btid_tag; /* kb_ue_btid_tag of its B-TID: "is IDr me?" without SHA-256 */
	uint8_t flags;
	struct kb_ue_msk slot[KB_UE_MSK_SLOTS]; /* oldest first */
};

#define KB_UE_KEYS 0x01u /* the SA (csb_id, RAND) is known */
#define KB_UE_REF_KEYS 0x02u /* kb_uesim.tk[row] holds its keys */
#define KB_UE_BURST_KEYS 0x04u /* the burst path's expanded keys hold them */

struct kb_uesim_knobs {
	double drop_msg; /* fraction of messages ignored on arrival (downlink loss) */
	double drop_ack; /* fraction of acks not sent (uplink loss) */
	double forge_ack; /* fraction of acks sent with a wrong MAC instead of the right one */
	double dup_ack; /* fraction of acks sent twice */
	uint64_t seed; /* the knobs' random stream; same seed, same choices */
};

struct kb_uesim_stats {
	uint64_t rx; /* messages handed to kb_uesim_handle */
	uint64_t dropped_msg; /* dropped by the drop_msg knob */
	uint64_t malformed; /* not a MIKEY MSK message of the profile */
	uint64_t unknown_ue; /* no roster row for the B-TID or csb_id */
	uint64_t bad_mac; /* KEMAC MAC wrong */
	uint64_t replays; /* counter not above the last accepted: rejected */
	uint64_t bad_keydata; /* MAC right, key data not per profile */
	uint64_t accepted; /* MSK messages accepted */
	uint64_t pulls; /* solicited pulls accepted */
	uint64_t msk_mismatch; /* an MSK ID whose key differs from the one other UEs got */
	uint64_t key_derivations; /* transport keys derived (new SA seen) */
	uint64_t acks_wanted; /* accepted messages with V = 1 */
	uint64_t acks_sent; /* real acks put on the wire (duplicates included) */
	uint64_t acks_dropped;
	uint64_t acks_forged;
	uint64_t acks_dup;
};

/* Which UEs hold which MSK: kept up to date on every store and eviction, so
 * "does every UE hold the MSK?" costs nothing at 10M UEs. */
struct kb_uesim_census {
	uint8_t domain[3];
	uint32_t msk_id;
	uint64_t holders;
	uint8_t msk[KB_MSK_LEN]; /* the first value seen: every UE must get the same */
};

struct kb_ue_crypto; /* OpenSSL contexts, reused for every message */

struct kb_uesim {
	struct kb_ue *ue;
	uint32_t n_ue;
	struct kb_ue_index idx;
	struct kb_uesim_knobs knobs;
	struct kb_uesim_stats st;
	struct kb_uesim_census census[KB_UESIM_MAX_MSK_IDS];
	unsigned n_census; /* census[n_census - 1] is the newest MSK ID seen */
	unsigned short rng[3];
	struct kb_ue_crypto *crypto;
	struct kb_mikey_tkeys *tk; /* reference path: per row, allocated on first use */
	uint64_t csb_epoch; /* moves whenever the csb_id index changes */
};

enum kb_ue_verdict {
	KB_UE_ACCEPTED = 0, /* MSK stored (ack in reply if V = 1) */
	KB_UE_PULL, /* solicited pull accepted: the UE would now make an MSK request */
	KB_UE_DROPPED, /* drop_msg knob */
	KB_UE_MALFORMED,
	KB_UE_UNKNOWN,
	KB_UE_BAD_MAC,
	KB_UE_REPLAY,
	KB_UE_BAD_KEYDATA,
};

/* What to send back for one message. */
struct kb_ue_reply {
	uint8_t ack[KB_ACK_LEN];
	uint8_t copies; /* how many times to send ack: 0, 1 or 2 */
	bool forged; /* ack carries a wrong MAC on purpose */
	uint32_t row; /* the UE, when found */
};

/* n_ue rows; the index is taken over (freed by kb_uesim_free). 0 or -1. */
int kb_uesim_init(struct kb_uesim *s, uint32_t n_ue, struct kb_ue_index idx,
		  const struct kb_uesim_knobs *knobs);
void kb_uesim_free(struct kb_uesim *s);

/* Provision roster row `row`. 0, or -1 on a duplicate B-TID or a bad row. */
int kb_uesim_add_ue(struct kb_uesim *s, uint32_t row, const struct kb_roster_row *r);

/* Count the data rows of a roster CSV, then load it into a fresh simulator
 * whose index comes from make_index. 0, or -1 with err. */
typedef int (*kb_ue_index_factory)(struct kb_ue_index *idx, uint32_t n_rows);
int kb_uesim_load_roster(struct kb_uesim *s, const char *path, kb_ue_index_factory make_index,
			 const struct kb_uesim_knobs *knobs, char *err, size_t errlen);

/* Handle one received UDP payload. */
enum kb_ue_verdict kb_uesim_handle(struct kb_uesim *s, const uint8_t *msg, size_t len,
				   struct kb_ue_reply *reply);

/* The census entry of an MSK ID (any domain), or NULL if no UE has it. */
const struct kb_uesim_census *kb_uesim_census_find(const struct kb_uesim *s, uint32_t msk_id);
/* The newest MSK ID seen, or NULL. */
const struct kb_uesim_census *kb_uesim_newest(const struct kb_uesim *s);

const char *kb_ue_verdict_name(enum kb_ue_verdict v);

/* ---- The UE rules, shared by the reference path (kb_uesim_handle) and the
 * IPsec-MB burst path (ue_burst.c): everything but the crypto itself. ---- */

/* The structure a UE accepts: PSK init, COUNTER T, KEMAC HMAC-SHA-1 with
 * AES-CM or no key data, the Key ID extension. */
bool kb_uesim_msg_ok(const struct kb_mikey_msg *m);
/* Which UE a message is for. The csb_id comes first: when it leads to a UE
 * that knows this SA (same csb_id, same RAND or none sent), that is the UE,
 * and IDr, if sent, must carry its B-TID tag (a fast hash; the MAC under
 * the SA's keys then proves IDr byte for byte). Otherwise IDr (the B-TID) names the UE, or, without IDs, the
 * csb_id. *sa_known tells whether the row already knows the SA. Returns the
 * row or KB_UE_ROW_NONE. */
uint32_t kb_uesim_find(struct kb_uesim *s, const struct kb_mikey_msg *m, bool *sa_known);
/* kb_uesim_find with the csb_id lookup already done: csb_row is what the
 * index gives for m->csb_id now (e.g. from a bulk lookup in the same
 * csb_epoch). */
uint32_t kb_uesim_find_at(struct kb_uesim *s, const struct kb_mikey_msg *m, uint32_t csb_row,
			  bool *sa_known);
/* The decrypted key data of an accepted MAC: exactly one TGK, 16-byte key,
 * SPI = MSK ID. The key goes to msk. */
bool kb_uesim_keydata_ok(const struct kb_mikey_msg *m, const uint8_t *plain,
			 uint8_t msk[KB_MSK_LEN]);
/* The message proved itself (MAC right, counter new, key data right): move
 * the counter and, if the SA is new to the UE, make it the one the UE knows
 * (csb_id index, RAND). keys_flag says whose key cache is now valid. */
void kb_uesim_commit(struct kb_uesim *s, uint32_t row, const struct kb_mikey_msg *m, bool sa_known,
		     uint8_t keys_flag);
/* Store an MSK as a UE does (two per key group; the census follows). */
void kb_uesim_store(struct kb_uesim *s, uint32_t row, const uint8_t domain[3], uint32_t msk_id,
		    const uint8_t msk[KB_MSK_LEN]);
/* The knobs' draws for one ack, in the reference order: counts acks_wanted,
 * then drop, forge (filling xor with the MAC mask), dup. Sets r->copies and
 * r->forged. false: no ack leaves (no IDs to bind the V MAC to, or dropped). */
bool kb_uesim_ack_decide(struct kb_uesim *s, const struct kb_mikey_msg *m, struct kb_ue_reply *r,
			 uint8_t xor_mask[KB_MIKEY_MAC_LEN]);
/* The ack's bytes before its MAC ‖ idi ‖ idr ‖ counter: the V MAC input,
 * written to buf (cap >= KB_UESIM_ACK_IN_MAX). Returns its length, or -1;
 * *mac_off is where the MAC goes in the ack. */
#define KB_UESIM_ACK_IN_MAX (KB_ACK_LEN + 2 * KB_MIKEY_ID_MAX + 4)
long kb_uesim_ack_input(const struct kb_mikey_msg *m, uint32_t csb_id, uint32_t counter,
			uint8_t *buf, size_t cap, size_t *mac_off);
/* Count a verdict in the stats; returns it. */
enum kb_ue_verdict kb_uesim_count(struct kb_uesim *s, enum kb_ue_verdict v);
/* The drop-message knob's draw. */
bool kb_uesim_drop_msg(struct kb_uesim *s);

#endif
