/* Bulk imports (control/import.h). Per roster batch: csb_ids are one
 * sequential range (so the SA table is appended to), the RANDs one
 * RAND_bytes call; each parsed row is handed to the worker pool for
 * kb_sa_record_build at once. When the batch is full this thread writes
 * it in one transaction (SA by ascending csb_id, UE and registration by
 * IMPI with the ordered put, the bootstrap record), commits (fsync), helps
 * the workers finish, then publishes the records. Persist, then publish:
 * a crash in between is repaired by the rebuild at start. */
#include "import.h"

#include "admin_json.h"
#include "ctl_internal.h"
#include "keysource.h"
#include "par.h"
#include "util/be.h"
#include "util/roster.h"
#include "util/secret.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMPORT_ERRORS_KEPT 20

struct imp_row {
	struct kb_sa_record rec; /* built by the pool */
	uint64_t line; /* row number, for error reports */
	uint32_t csb;
	int rc; /* of sa_build */
	bool dead; /* replaced by a later row of the same batch */
	bool boot_ok; /* the B-TID parsed: a bootstrap record goes with it */
	struct kb_ue_addr addr;
	uint8_t muk[KB_GBA_KEY_LEN];
	uint8_t rand[KB_MIKEY_RAND_LEN];
	uint8_t boot_rand[KB_GBA_RAND_LEN];
	char impi[KB_IMPI_MAX];
	char btid[KB_SA_ID_MAX + 1];
};

struct imp_boot {
	uint16_t klen, vlen;
	char btid[KB_GBA_BTID_MAX];
	uint8_t val[KB_REC_ENC_MAX];
};

struct kb_import {
	struct kb_ctl *c;
	enum kb_import_kind kind;
	struct kb_par *par;
	struct imp_row *rows;
	struct imp_boot *boots;
	size_t n;
	uint32_t csb_base; /* of the batch being parsed, 0: none yet */
	uint8_t *rands; /* KB_IMPORT_BATCH RANDs */
	uint32_t *order; /* rows by B-TID */
	uint32_t *deleted; /* older SAs the batch replaced */
	size_t n_deleted, cap_deleted;
	char *line;
	size_t line_len;
	bool line_too_long, header_seen, failed, finished;
	uint64_t nrows, imported, errors;
	json_t *first_errors;
	struct kb_rec_service svc;
	bool have_svc;
	uint32_t lifetime;
	int64_t now;
};

static void import_error(struct kb_import *im, uint64_t row, const char *msg)
{
	im->errors++;
	if (json_array_size(im->first_errors) < IMPORT_ERRORS_KEPT)
		json_array_append_new(im->first_errors,
				      json_pack("{s:I,s:s}", "row", (json_int_t)row, "error", msg));
}

static void derive_row(void *arg, size_t i)
{
	struct kb_import *im = arg;
	struct kb_ctl *c = im->c;
	struct imp_row *r = &im->rows[i];
	r->rc = c->hooks.sa_build(&r->rec, r->muk, sizeof(r->muk), r->csb, r->rand, r->btid,
				  im->have_svc ? im->svc.key_group : 0, &r->addr, c->cfg.n_shards);
}

static bool note_deleted(struct kb_import *im, uint32_t csb)
{
	if (im->n_deleted == im->cap_deleted) {
		size_t cap = im->cap_deleted != 0 ? im->cap_deleted * 2 : 256;
		uint32_t *d = realloc(im->deleted, cap * sizeof(*d));
		if (d == NULL)
			return false;
		im->deleted = d;
		im->cap_deleted = cap;
	}
	im->deleted[im->n_deleted++] = csb;
	return true;
}

/* All of one row's records into the open batch. 0 or -1 (store error). */
static int write_row(struct kb_import *im, struct kb_store_batch *b, struct imp_row *r)
{
	const struct kb_store_ops *ops = im->c->st->ops;
	uint8_t key[4], val[KB_REC_ENC_MAX];
	size_t il = strlen(r->impi), vl, ol = 0;
	struct kb_rec_ue ue;
	int rc = -1;

	if (ops->batch_get(b, KB_ST_UE, r->impi, il, val, sizeof(val), &ol) == 0 &&
	    ol <= sizeof(val) && kb_rec_ue_decode(val, ol, &ue) == 0) {
		/* the UE had an SA: it goes, atomically with the new one */
		kb_put32(key, ue.csb_id);
		if (ops->batch_del(b, KB_ST_SA, key, 4) < 0)
			return -1;
		if (ue.csb_id >= im->csb_base && ue.csb_id - im->csb_base < im->n)
			im->rows[ue.csb_id - im->csb_base].dead = true;
		else if (!note_deleted(im, ue.csb_id))
			return -1;
	}
	struct kb_rec_sa sa = {
		.key_group = im->have_svc ? im->svc.key_group : 0,
		.addr = r->addr,
		.created = im->now,
		.muk_expires = im->now + im->lifetime,
	};
	memcpy(sa.muk, r->muk, sizeof(sa.muk));
	memcpy(sa.rand, r->rand, sizeof(sa.rand));
	memcpy(sa.idr, r->btid, sizeof(r->btid));
	memcpy(sa.impi, r->impi, sizeof(sa.impi));
	kb_put32(key, r->csb);
	vl = kb_rec_sa_encode(&sa, val, sizeof(val));
	if (vl == 0 || ops->batch_put_ordered(b, KB_ST_SA, key, 4, val, vl) != 0)
		goto out;

	memset(&ue, 0, sizeof(ue));
	memcpy(ue.btid, r->btid, sizeof(r->btid));
	ue.csb_id = r->csb;
	ue.addr = r->addr;
	ue.updated = im->now;
	vl = kb_rec_ue_encode(&ue, val, sizeof(val));
	if (vl == 0 || ops->batch_put_ordered(b, KB_ST_UE, r->impi, il, val, vl) != 0)
		goto out;

	if (im->have_svc) {
		char rk[KB_IMPI_MAX + KB_SERVICE_ID_MAX];
		size_t sl = strlen(im->svc.id);
		struct kb_rec_reg reg = {.registered = im->now};
		memcpy(rk, r->impi, il);
		rk[il] = '\0';
		memcpy(rk + il + 1, im->svc.id, sl);
		memcpy(reg.btid, r->btid, sizeof(r->btid));
		vl = kb_rec_reg_encode(&reg, val, sizeof(val));
		if (vl == 0 || ops->batch_put_ordered(b, KB_ST_REG, rk, il + 1 + sl, val, vl) != 0)
			goto out;
	}
	rc = 0;
out:
	kb_memzero(&sa, sizeof(sa));
	kb_memzero(val, sizeof(val));
	return rc;
}

/* GBA_ME: MUK = Ks_NAF, so the same row also lets the UE authenticate
 * (MRK derives from Ks_NAF) when its B-TID is well formed. */
static int write_bootstrap(struct kb_import *im, struct kb_store_batch *b, const struct imp_row *r)
{
	uint8_t val[KB_REC_ENC_MAX];
	struct kb_rec_bootstrap boot = {
		.mode = KB_GBA_ME,
		.expires = im->now + im->lifetime,
	};
	memcpy(boot.rand, r->boot_rand, sizeof(boot.rand));
	memcpy(boot.impi, r->impi, sizeof(boot.impi));
	memcpy(boot.ks_ext_naf, r->muk, sizeof(boot.ks_ext_naf));
	size_t vl = kb_rec_bootstrap_encode(&boot, val, sizeof(val));
	int rc = vl != 0 && im->c->st->ops->batch_put(b, KB_ST_BOOTSTRAP, r->btid, strlen(r->btid),
						      val, vl) == 0
			 ? 0
			 : -1;
	kb_memzero(&boot, sizeof(boot));
	kb_memzero(val, sizeof(val));
	return rc;
}

static int cmp_btid(const void *a, const void *b, void *rows)
{
	const struct imp_row *r = rows;
	return strcmp(r[*(const uint32_t *)a].btid, r[*(const uint32_t *)b].btid);
}

static void roster_flush(struct kb_import *im)
{
	struct kb_ctl *c = im->c;
	const struct kb_store_ops *ops = c->st->ops;
	size_t n = im->n;
	bool ok;
	if (n == 0)
		return;
	if (im->par != NULL)
		kb_par_avail(im->par, n);
	pthread_mutex_lock(&c->writer);
	im->n_deleted = 0;
	struct kb_store_batch *b = ops->batch_begin(c->st);
	ok = b != NULL;
	for (size_t i = 0; ok && i < n; i++)
		ok = write_row(im, b, &im->rows[i]) == 0;
	/* B-TIDs are random: inserted in key order, neighbouring inserts
	 * land on the same B-tree pages */
	size_t nb = 0;
	for (size_t i = 0; i < n; i++)
		if (im->rows[i].boot_ok)
			im->order[nb++] = (uint32_t)i;
	qsort_r(im->order, nb, sizeof(*im->order), cmp_btid, im->rows);
	for (size_t i = 0; ok && i < nb; i++)
		ok = write_bootstrap(im, b, &im->rows[im->order[i]]) == 0;
	if (ok) {
		ok = ops->batch_commit(b) == 0;
	} else if (b != NULL) {
		ops->batch_abort(b);
	}
	/* re-imported B-TIDs: no thread may keep serving their old keys */
	if (ok)
		kb_ks_cache_invalidate();
	if (im->par != NULL)
		kb_par_finish(im->par, n);
	else if (c->hooks.sa_build != NULL)
		for (size_t i = 0; i < n; i++)
			derive_row(im, i);
	if (!ok) {
		char msg[96];
		snprintf(msg, sizeof(msg),
			 "store write failed: the batch of %zu rows is not stored", n);
		import_error(im, im->rows[0].line, msg);
		im->errors += n - 1;
		im->failed = true;
	} else {
		for (size_t i = 0; i < n; i++) {
			struct imp_row *r = &im->rows[i];
			if (!r->dead && c->hooks.sa_build != NULL && c->hooks.publish_sa != NULL &&
			    (r->rc != 0 || c->hooks.publish_sa(c->hooks.ctx, &r->rec) != 0)) {
				import_error(im, r->line, "publish (key table full?)");
				continue;
			}
			im->imported++;
		}
		for (size_t i = 0; c->hooks.delete_sa != NULL && i < im->n_deleted; i++)
			c->hooks.delete_sa(c->hooks.ctx, im->deleted[i]);
		atomic_fetch_add(&c->sas_created, n);
	}
	pthread_mutex_unlock(&c->writer);
	kb_memzero(im->rows, n * sizeof(*im->rows));
	im->n = 0;
	im->csb_base = 0;
}

static void roster_row(struct kb_import *im, const char *line, size_t len)
{
	struct kb_roster_row row;
	char err[128], perr[64];
	if (!im->header_seen && kb_roster_is_header(line, len)) {
		im->header_seen = true;
		return;
	}
	im->header_seen = true;
	im->nrows++;
	if (kb_roster_parse_line(line, len, &row, err, sizeof(err)) != 0) {
		import_error(im, im->nrows, err);
		goto out;
	}
	if (strlen(row.b_tid) > KB_SA_ID_MAX || strlen(row.impi) >= KB_IMPI_MAX) {
		import_error(im, im->nrows, "b_tid or impi too long");
		goto out;
	}
	if (im->csb_base == 0) {
		/* a fresh batch: its csb_id range and RANDs in one go */
		if (kb_ctl_csb_reserve(im->c, KB_IMPORT_BATCH, &im->csb_base) != 0 ||
		    RAND_bytes(im->rands, KB_IMPORT_BATCH * KB_MIKEY_RAND_LEN) != 1) {
			im->csb_base = 0;
			import_error(im, im->nrows, "no csb_id or RAND");
			im->failed = true;
			goto out;
		}
		if (im->par != NULL)
			kb_par_begin(im->par, derive_row, im);
	}
	struct imp_row *r = &im->rows[im->n];
	r->line = im->nrows;
	r->csb = im->csb_base + (uint32_t)im->n;
	r->dead = false;
	r->addr.af = (uint8_t)row.af;
	memcpy(r->addr.ip, row.ip, sizeof(r->addr.ip));
	r->addr.port = row.port;
	memcpy(r->muk, row.muk, sizeof(r->muk));
	memcpy(r->rand, im->rands + im->n * KB_MIKEY_RAND_LEN, KB_MIKEY_RAND_LEN);
	/* lengths checked above */
	memcpy(r->impi, row.impi, strlen(row.impi) + 1);
	memcpy(r->btid, row.b_tid, strlen(row.b_tid) + 1);
	r->boot_ok = kb_gba_btid_parse(row.b_tid, r->boot_rand, NULL, 0, perr, sizeof(perr)) == 0;
	im->n++;
	/* wake the workers every few rows, not every row */
	if (im->par != NULL && im->n % 128 == 0)
		kb_par_avail(im->par, im->n);
	if (im->n == KB_IMPORT_BATCH)
		roster_flush(im);
out:
	kb_memzero(&row, sizeof(row));
}

static void boot_flush(struct kb_import *im)
{
	struct kb_ctl *c = im->c;
	const struct kb_store_ops *ops = c->st->ops;
	bool ok;
	if (im->n == 0)
		return;
	pthread_mutex_lock(&c->writer);
	struct kb_store_batch *b = ops->batch_begin(c->st);
	ok = b != NULL;
	for (size_t i = 0; ok && i < im->n; i++)
		ok = ops->batch_put(b, KB_ST_BOOTSTRAP, im->boots[i].btid, im->boots[i].klen,
				    im->boots[i].val, im->boots[i].vlen) == 0;
	if (ok)
		ok = ops->batch_commit(b) == 0;
	else if (b != NULL)
		ops->batch_abort(b);
	if (ok)
		kb_ks_cache_invalidate(); /* replaced bootstraps: no stale cached keys */
	pthread_mutex_unlock(&c->writer);
	if (ok) {
		im->imported += im->n;
	} else {
		import_error(im, im->nrows, "store write failed: the batch is not stored");
		im->errors += im->n - 1;
		im->failed = true;
	}
	kb_memzero(im->boots, im->n * sizeof(*im->boots));
	im->n = 0;
}

static void boot_row(struct kb_import *im, const char *line, size_t len)
{
	json_error_t je;
	char err[128];
	struct kb_rec_bootstrap rec;
	struct imp_boot *e = &im->boots[im->n];
	if (len == 0)
		return;
	im->nrows++;
	json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(o)) {
		import_error(im, im->nrows, o == NULL ? je.text : "not an object");
		json_decref(o);
		return;
	}
	if (kb_admin_bootstrap_from_json(o, im->now, e->btid, &rec, err, sizeof(err)) != 0) {
		import_error(im, im->nrows, err);
	} else {
		size_t vl = kb_rec_bootstrap_encode(&rec, e->val, sizeof(e->val));
		if (vl == 0) {
			import_error(im, im->nrows, "record too large");
		} else {
			e->vlen = (uint16_t)vl;
			e->klen = (uint16_t)strlen(e->btid);
			if (++im->n == KB_IMPORT_BATCH)
				boot_flush(im);
		}
	}
	kb_memzero(&rec, sizeof(rec));
	json_decref(o);
}

static void import_line(struct kb_import *im, const char *line, size_t len)
{
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (im->kind == KB_IMPORT_ROSTER) {
		if (len != 0)
			roster_row(im, line, len);
	} else {
		boot_row(im, line, len);
	}
}

void kb_import_feed(struct kb_import *im, const char *data, size_t n)
{
	size_t maxl = im->c->cfg.max_import_line;
	while (n > 0) {
		const char *nl = memchr(data, '\n', n);
		size_t take = nl != NULL ? (size_t)(nl - data) : n;
		if (im->line_len == 0 && nl != NULL && !im->line_too_long) {
			/* the common case: a whole line in the buffer */
			if (take > maxl) {
				im->nrows++;
				import_error(im, im->nrows, "line too long");
			} else {
				import_line(im, data, take);
			}
		} else if (!im->line_too_long) {
			if (im->line_len + take > maxl) {
				im->line_too_long = true;
			} else {
				memcpy(im->line + im->line_len, data, take);
				im->line_len += take;
			}
			if (nl != NULL) {
				import_line(im, im->line, im->line_len);
				im->line_len = 0;
			}
		}
		if (nl != NULL) {
			if (im->line_too_long) {
				im->nrows++;
				import_error(im, im->nrows, "line too long");
			}
			im->line_too_long = false;
			im->line_len = 0;
			take++;
		}
		data += take;
		n -= take;
	}
}

static void import_flush(struct kb_import *im)
{
	if (im->kind == KB_IMPORT_ROSTER)
		roster_flush(im);
	else
		boot_flush(im);
}

struct kb_import *kb_import_new(struct kb_ctl *c, enum kb_import_kind kind,
				const struct kb_rec_service *svc, uint32_t lifetime)
{
	struct kb_import *im = calloc(1, sizeof(*im));
	if (im == NULL)
		return NULL;
	im->c = c;
	im->kind = kind;
	im->lifetime = lifetime;
	im->now = kb_ctl_now();
	if (svc != NULL) {
		im->svc = *svc;
		im->have_svc = true;
	}
	im->line = malloc(c->cfg.max_import_line);
	im->first_errors = json_array();
	if (im->line == NULL || im->first_errors == NULL)
		goto fail;
	if (kind == KB_IMPORT_ROSTER) {
		/* the records are 16-byte aligned (IPsec-MB key schedules) */
		im->rows = aligned_alloc(64, KB_IMPORT_BATCH * sizeof(*im->rows));
		im->rands = malloc(KB_IMPORT_BATCH * KB_MIKEY_RAND_LEN);
		im->order = malloc(KB_IMPORT_BATCH * sizeof(*im->order));
		if (im->rows == NULL || im->rands == NULL || im->order == NULL)
			goto fail;
		memset(im->rows, 0, KB_IMPORT_BATCH * sizeof(*im->rows));
		if (c->hooks.sa_build != NULL)
			im->par = kb_par_new(c->cfg.import_threads); /* NULL: derive inline */
	} else {
		im->boots = calloc(KB_IMPORT_BATCH, sizeof(*im->boots));
		if (im->boots == NULL)
			goto fail;
	}
	return im;
fail:
	kb_import_free(im);
	return NULL;
}

json_t *kb_import_finish(struct kb_import *im, bool *failed)
{
	if (im->line_len > 0) {
		import_line(im, im->line, im->line_len);
		im->line_len = 0;
	}
	import_flush(im);
	im->finished = true;
	*failed = im->failed;
	return json_pack("{s:I,s:I,s:I,s:O}", "rows", (json_int_t)im->nrows, "imported",
			 (json_int_t)im->imported, "errors", (json_int_t)im->errors, "first_errors",
			 im->first_errors);
}

void kb_import_free(struct kb_import *im)
{
	if (im == NULL)
		return;
	/* a client that went away mid-import: keep the rows already parsed */
	if (!im->finished && (im->rows != NULL || im->boots != NULL))
		import_flush(im);
	kb_par_free(im->par);
	if (im->rows != NULL) {
		kb_memzero(im->rows, KB_IMPORT_BATCH * sizeof(*im->rows));
		free(im->rows);
	}
	if (im->boots != NULL) {
		kb_memzero(im->boots, KB_IMPORT_BATCH * sizeof(*im->boots));
		free(im->boots);
	}
	if (im->rands != NULL) {
		kb_memzero(im->rands, KB_IMPORT_BATCH * KB_MIKEY_RAND_LEN);
		free(im->rands);
	}
	free(im->deleted);
	free(im->order);
	free(im->line);
	json_decref(im->first_errors);
	free(im);
}
