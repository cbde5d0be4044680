/* The parts of a uesim run that do not depend on the transport. */
#include "uesim.h"
#include "uesim_json.h"

#include <jansson.h>
#include <string.h>
#include <time.h>

volatile sig_atomic_t kb_uesim_stop;

double kb_uesim_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void kb_uesim_run_start(struct kb_uesim_run *r, struct kb_uesim *sim, const struct kb_uesim_opts *o)
{
	memset(r, 0, sizeof(*r));
	r->sim = sim;
	r->o = o;
	r->t0 = kb_uesim_now();
	r->last_t = r->t0;
	r->t_active = r->t0;
	r->t_end = o->duration > 0 ? r->t0 + o->duration : 0;
	r->next_progress = o->progress_s > 0 ? r->t0 + o->progress_s : 0;
}

bool kb_uesim_target(const struct kb_uesim_run *r, uint32_t *msk_id, uint64_t *holders)
{
	const struct kb_uesim_census *c =
		r->o->has_expect ? kb_uesim_census_find(r->sim, r->o->expect_msk_id)
				 : kb_uesim_newest(r->sim);
	*msk_id = r->o->has_expect ? r->o->expect_msk_id : 0;
	*holders = 0;
	if (c == NULL)
		return r->o->has_expect;
	*msk_id = c->msk_id;
	*holders = c->holders;
	return true;
}

static void progress(struct kb_uesim_run *r, double now)
{
	const struct kb_uesim_stats *st = &r->sim->st;
	uint32_t id = 0;
	uint64_t holders = 0;
	bool has = kb_uesim_target(r, &id, &holders);
	double dt = now - r->last_t;
	fprintf(stderr,
		"uesim: %.1fs rx %llu (%.0f/s) accepted %llu holding %08x %llu/%u acks %llu "
		"(dropped %llu forged %llu) replays %llu bad_mac %llu\n",
		now - r->t0, (unsigned long long)st->rx,
		dt > 0 ? (double)(st->rx - r->last_rx) / dt : 0.0, (unsigned long long)st->accepted,
		has ? id : 0, (unsigned long long)holders, r->sim->n_ue,
		(unsigned long long)st->acks_sent, (unsigned long long)st->acks_dropped,
		(unsigned long long)st->acks_forged, (unsigned long long)st->replays,
		(unsigned long long)st->bad_mac);
	r->last_rx = st->rx;
	r->last_t = now;
}

bool kb_uesim_run_tick(struct kb_uesim_run *r)
{
	double now = kb_uesim_now();
	if (r->next_progress > 0 && now >= r->next_progress) {
		progress(r, now);
		r->next_progress = now + r->o->progress_s;
	}
	if (kb_uesim_stop)
		return true;
	if (r->sim->st.rx != r->seen_rx) {
		r->seen_rx = r->sim->st.rx;
		r->t_active = now;
	}
	if (r->o->until_all) {
		uint32_t id;
		uint64_t holders;
		if (!r->all_hold && kb_uesim_target(r, &id, &holders) && r->sim->n_ue > 0 &&
		    holders == r->sim->n_ue) {
			r->all_hold = true;
			r->t_done = now;
		}
		/* the server may still be retransmitting to UEs whose ack was
		 * lost: answer until the link has been quiet for --linger */
		if (r->all_hold && now - r->t_active >= r->o->linger_s)
			return true;
	}
	return r->t_end > 0 && now >= r->t_end;
}

static void put_u64(json_t *o, const char *k, uint64_t v)
{
	json_object_set_new(o, k, json_integer((json_int_t)v));
}

int kb_uesim_run_finish(struct kb_uesim_run *r)
{
	const struct kb_uesim_stats *st = &r->sim->st;
	double now = kb_uesim_now();
	uint32_t id = 0;
	uint64_t holders = 0;
	bool has = kb_uesim_target(r, &id, &holders);
	char idhex[9];
	snprintf(idhex, sizeof(idhex), "%08x", id);
	if (r->o->progress_s > 0)
		progress(r, now);

	json_t *o = json_object();
	json_object_set_new(o, "mode",
			    json_string(r->o->mode == KB_UESIM_MODE_DPDK ? "dpdk" : "sock"));
	put_u64(o, "ues", r->sim->n_ue);
	json_object_set_new(o, "roster_load_seconds", json_real(r->o->load_s));
	json_object_set_new(o, "msk_id", has ? json_string(idhex) : json_null());
	put_u64(o, "holding_msk", holders);
	json_object_set_new(o, "all_hold", json_boolean(has && holders == r->sim->n_ue));
	json_object_set_new(o, "seconds", json_real(now - r->t0));
	json_object_set_new(o, "seconds_to_all",
			    r->all_hold ? json_real(r->t_done - r->t0) : json_null());
	put_u64(o, "rx", st->rx);
	put_u64(o, "accepted", st->accepted);
	put_u64(o, "pulls", st->pulls);
	put_u64(o, "replays_rejected", st->replays);
	put_u64(o, "bad_mac", st->bad_mac);
	put_u64(o, "malformed", st->malformed);
	put_u64(o, "unknown_ue", st->unknown_ue);
	put_u64(o, "bad_keydata", st->bad_keydata);
	put_u64(o, "msk_mismatch", st->msk_mismatch);
	put_u64(o, "key_derivations", st->key_derivations);
	put_u64(o, "dropped_msgs", st->dropped_msg);
	put_u64(o, "acks_wanted", st->acks_wanted);
	put_u64(o, "acks_sent", st->acks_sent);
	put_u64(o, "acks_dropped", st->acks_dropped);
	put_u64(o, "acks_forged", st->acks_forged);
	put_u64(o, "acks_duplicated", st->acks_dup);
	put_u64(o, "acks_tx_failed", r->tx_fail);
	put_u64(o, "delay_overflow", r->delay_overflow);
	put_u64(o, "rx_other", r->rx_other);
	json_t *ids = json_array();
	for (unsigned i = 0; i < r->sim->n_census; i++) {
		const struct kb_uesim_census *c = &r->sim->census[i];
		char h[9];
		snprintf(h, sizeof(h), "%08x", c->msk_id);
		json_t *e = json_object();
		json_object_set_new(e, "msk_id", json_string(h));
		put_u64(e, "holders", c->holders);
		json_array_append_new(ids, e);
	}
	json_object_set_new(o, "msk_ids", ids);
	if (r->ptm != NULL)
		kb_ptm_rx_json(r->ptm, o);

	/* an unwritable --json-out still leaves the summary on stdout */
	if (kb_uesim_json_write(o, r->o->json_out) != 0)
		kb_uesim_json_write(o, NULL);
	json_decref(o);

	/* failure: the goal missed, or any UE got a different key for an ID */
	if (st->msk_mismatch > 0)
		return 1;
	if (r->o->until_all && !r->all_hold)
		return 1;
	if (r->ptm != NULL && !kb_ptm_rx_ok(r->ptm))
		return 1;
	return 0;
}
