/* Roster CSV -> SA records in the key table + shard delivery state.
 *
 * The derivation (MIKEY PRF, AES key expansion, HMAC pads: ~2 us per UE)
 * dominates, so it runs in parallel: the calling (main) thread streams the
 * file into batches of rows, the idle EAL worker lcores (before they start
 * polling) and the main thread itself parse and build the batches' records,
 * and the main thread alone publishes finished batches in file order
 * through the key table's single-writer API. Memory is bounded by the
 * batches in flight, whatever the roster's size; every batch is wiped
 * (MUKs in its text, keys in its records) once it is published. */
#include "roster_load.h"

#include "keytable.h"
#include "lcore.h"
#include "log.h"
#include "rollover.h"
#include "sa.h"
#include "util/roster.h"
#include "util/secret.h"

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_cycles.h>
#include <rte_pause.h>

#include <openssl/rand.h>

#define BATCH_ROWS 128
#define BATCH_TEXT (BATCH_ROWS * 256) /* rows are ~200 bytes */
#define LINE_MAX_LEN 4096 /* far beyond a valid row (5 fields of <= 128) */
#define READ_CHUNK (1u << 20)
#define BATCHES_PER_THREAD 16

enum { B_FREE, B_FILLED, B_DONE };

struct batch {
	_Atomic int state;
	uint32_t first; /* directory index of the first row */
	uint32_t n;
	uint32_t n_built; /* rows [0, n_built) have records; a parse error stops there */
	uint32_t text_len;
	char err[128];
	uint32_t off[BATCH_ROWS];
	uint16_t len[BATCH_ROWS];
	long lineno[BATCH_ROWS];
	char text[BATCH_TEXT];
	struct kb_sa_record rec[BATCH_ROWS];
};

struct loader {
	struct kb_dp *dp;
	uint16_t key_group;
	struct batch *b;
	unsigned nb;
	_Atomic uint64_t filled; /* batches [0, filled) are ready to build */
	_Atomic uint64_t claimed; /* batches [0, claimed) are taken by a builder */
	_Atomic bool stop;
};

/* A line reader over big fread chunks (getline per row costs more than the
 * parse). Lines come without their '\n'. */
struct reader {
	FILE *f;
	char *buf;
	size_t start, end;
	bool eof;
	long lineno;
};

/* 1 with a line, 0 at the end, -1 for a line over LINE_MAX_LEN. */
static int next_line(struct reader *r, const char **line, size_t *len)
{
	for (;;) {
		char *nl = memchr(r->buf + r->start, '\n', r->end - r->start);
		if (nl != NULL || (r->eof && r->end > r->start)) {
			size_t n =
				nl != NULL ? (size_t)(nl - (r->buf + r->start)) : r->end - r->start;
			*line = r->buf + r->start;
			*len = n;
			r->start += n + (nl != NULL);
			r->lineno++;
			return n > LINE_MAX_LEN ? -1 : 1;
		}
		if (r->eof)
			return 0;
		if (r->end - r->start > LINE_MAX_LEN) {
			r->lineno++;
			return -1;
		}
		/* move the partial line to the front and read more */
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
		size_t got = fread(r->buf + r->end, 1, READ_CHUNK, r->f);
		r->end += got;
		if (got < READ_CHUNK)
			r->eof = true;
	}
}

static int reader_open(struct reader *r, const char *path)
{
	memset(r, 0, sizeof(*r));
	r->f = fopen(path, "r");
	if (r->f == NULL)
		return -1;
	r->buf = malloc(READ_CHUNK + LINE_MAX_LEN + 1);
	if (r->buf == NULL) {
		fclose(r->f);
		return -1;
	}
	return 0;
}

static void reader_close(struct reader *r)
{
	/* the buffer held MUKs in hex */
	kb_memzero(r->buf, READ_CHUNK + LINE_MAX_LEN + 1);
	free(r->buf);
	fclose(r->f);
}

/* A data row: non-empty once its '\r' is cut, and not the header. */
static bool data_row(const char *line, size_t *len)
{
	while (*len > 0 && line[*len - 1] == '\r')
		(*len)--;
	return *len > 0 && !kb_roster_is_header(line, *len);
}

long kb_roster_count(const char *path)
{
	struct reader r;
	const char *line;
	size_t len;
	long n = 0;
	int rc;

	if (reader_open(&r, path) != 0)
		return -1;
	while ((rc = next_line(&r, &line, &len)) != 0)
		n += rc < 0 || data_row(line, &len); /* a long line is a row the load refuses */
	reader_close(&r);
	return n;
}

/* Parse and build the records of one batch (any thread). */
static void build_batch(const struct loader *L, struct batch *b)
{
	struct kb_roster_row row;
	uint8_t rand[BATCH_ROWS][KB_MIKEY_RAND_LEN];
	const struct kb_dp *dp = L->dp;

	b->n_built = 0;
	b->err[0] = '\0';
	/* one DRBG call per batch, not per row */
	if (RAND_bytes(&rand[0][0], (int)(b->n * KB_MIKEY_RAND_LEN)) != 1) {
		snprintf(b->err, sizeof(b->err), "RAND_bytes failed");
		goto out;
	}
	for (uint32_t i = 0; i < b->n; i++) {
		if (kb_roster_parse_line(b->text + b->off[i], b->len[i], &row, b->err,
					 sizeof(b->err)) != 0)
			break;
		struct kb_ue_addr addr = {.af = (uint8_t)row.af, .port = row.port};
		memcpy(addr.ip, row.ip, 16);
		uint32_t csb = kb_csb_from_index(b->first + i + 1);
		int brc = kb_sa_record_build(&b->rec[i], row.muk, KB_MUK_LEN, csb, rand[i],
					     row.b_tid, L->key_group, &addr, dp->n_lcores);
		kb_memzero(row.muk, sizeof(row.muk));
		if (brc != 0) {
			snprintf(b->err, sizeof(b->err), "cannot build the SA (B-TID too long?)");
			break;
		}
		b->n_built = i + 1;
	}
out:
	kb_memzero(rand, sizeof(rand));
	kb_memzero(&row, sizeof(row));
	kb_memzero(b->text, b->text_len);
	atomic_store_explicit(&b->state, B_DONE, memory_order_release);
}

/* Take the next filled batch, if any. */
static struct batch *claim(struct loader *L)
{
	uint64_t c = atomic_load_explicit(&L->claimed, memory_order_relaxed);

	while (c < atomic_load_explicit(&L->filled, memory_order_acquire)) {
		if (atomic_compare_exchange_weak_explicit(
			    &L->claimed, &c, c + 1, memory_order_acq_rel, memory_order_relaxed))
			return &L->b[c % L->nb];
	}
	return NULL;
}

/* EAL worker lcores, before the dataplane loop is launched on them */
static int builder_main(void *arg)
{
	struct loader *L = arg;

	for (;;) {
		struct batch *b = claim(L);
		if (b != NULL) {
			build_batch(L, b);
			continue;
		}
		if (atomic_load_explicit(&L->stop, memory_order_acquire))
			break;
		rte_pause();
	}
	kb_sa_thread_release(); /* its IPsec-MB manager: the lcore has its own */
	return 0;
}

/* Fill batch b with the next rows. 1 if it has rows, 0 at the end of the
 * file, -1 on a line too long (logged). */
static int fill_batch(struct reader *r, struct batch *b, uint32_t first, const char *path)
{
	const char *line;
	size_t len;
	int rc;

	b->first = first;
	b->n = 0;
	b->text_len = 0;
	while (b->n < BATCH_ROWS && b->text_len + LINE_MAX_LEN <= BATCH_TEXT) {
		rc = next_line(r, &line, &len);
		if (rc == 0)
			break;
		if (rc < 0) {
			KB_LOG(ERR, "roster %s:%ld: line longer than %d bytes", path, r->lineno,
			       LINE_MAX_LEN);
			return -1;
		}
		if (!data_row(line, &len))
			continue;
		memcpy(b->text + b->text_len, line, len);
		b->off[b->n] = b->text_len;
		b->len[b->n] = (uint16_t)len;
		b->lineno[b->n] = r->lineno;
		b->text_len += (uint32_t)len;
		b->n++;
	}
	return b->n > 0;
}

/* Publish one built batch in row order (main thread only). Returns the
 * rows published, or -1 (logged). */
static long publish_batch(struct loader *L, struct batch *b, int svc, uint32_t ctr_floor,
			  const char *path)
{
	struct kb_dp *dp = L->dp;

	for (uint32_t i = 0; i < b->n_built; i++) {
		const struct kb_sa_record *rec = &b->rec[i];
		if (dp->n_dir == dp->cap_dir) {
			KB_LOG(ERR, "roster %s: more rows than the %u the tables were sized for",
			       path, dp->cap_dir);
			return -1;
		}
		uint32_t csb = rec->csb_id;
		struct kb_shard *sh = &dp->lc[rec->shard]->sh;
		if (sh->n_ue == sh->cap || sh->n_ue >= (1u << KB_DIR_SLOT_BITS)) {
			KB_LOG(ERR, "roster: shard %u is full (%u UEs)", rec->shard, sh->cap);
			return -1;
		}
		/* the shard state first, then the record: an ack can only find a
		 * UE whose state exists */
		uint32_t slot = sh->n_ue;
		sh->ue[slot] = (struct kb_ue){
			.csb_id = csb,
			.next_ctr = ctr_floor < 1 ? 1 : ctr_floor,
			.svc = (uint16_t)svc,
			.state = KB_UE_IDLE,
		};
		sh->n_ue++;
		dp->dir[dp->n_dir++] = (uint32_t)rec->shard << KB_DIR_SLOT_BITS | slot;
		int prc = kb_keytable_publish(dp->kt, rec);
		if (prc != 0) {
			KB_LOG(ERR, "roster: key table publish failed (%d)", prc);
			return -1;
		}
		dp->svc->s[svc].n_ues++;
		if ((dp->n_dir & 0xffff) == 0)
			kb_keytable_reclaim(dp->kt);
	}
	if (b->n_built < b->n) {
		KB_LOG(ERR, "roster %s:%ld: %s", path, b->lineno[b->n_built], b->err);
		return -1;
	}
	return b->n_built;
}

long kb_roster_load(struct kb_dp *dp, const char *path, uint16_t key_group, uint32_t ctr_floor)
{
	unsigned helpers[RTE_MAX_LCORE], n_helpers = 0, lcore_id;
	struct loader L = {.dp = dp, .key_group = key_group};
	struct reader r;
	uint64_t next_fill = 0, next_pub = 0;
	/* where the main thread's time goes (DEBUG log): read, publish, build */
	uint64_t t_fill = 0, t_pub = 0, t_build = 0, t_start = rte_rdtsc(), t0;
	uint64_t built_here = 0;
	long n = 0, rc = -1;
	bool eof = false;

	int svc = kb_service_find(dp->svc, key_group);
	if (svc < 0) {
		KB_LOG(ERR, "roster: no service with key group %u", key_group);
		return -1;
	}
	if (reader_open(&r, path) != 0) {
		KB_LOG(ERR, "roster: cannot open %s", path);
		return -1;
	}
	/* every idle worker lcore helps; the dataplane is not running yet */
	RTE_LCORE_FOREACH_WORKER(lcore_id)
	{
		if (rte_eal_get_lcore_state(lcore_id) == WAIT)
			helpers[n_helpers++] = lcore_id;
	}
	L.nb = BATCHES_PER_THREAD * (n_helpers + 1);
	L.b = calloc(L.nb, sizeof(*L.b));
	if (L.b == NULL) {
		KB_LOG(ERR, "roster: out of memory");
		reader_close(&r);
		return -1;
	}
	unsigned launched = 0;
	for (unsigned i = 0; i < n_helpers; i++) {
		if (rte_eal_remote_launch(builder_main, &L, helpers[i]) != 0)
			break;
		launched++;
	}

	uint32_t first = dp->n_dir;
	while (!eof || next_pub < next_fill) {
		bool progress = false;
		if (!eof && next_fill - next_pub < L.nb) {
			struct batch *b = &L.b[next_fill % L.nb];
			t0 = rte_rdtsc();
			int frc = fill_batch(&r, b, first, path);
			t_fill += rte_rdtsc() - t0;
			if (frc < 0)
				goto out;
			if (frc == 0) {
				eof = true;
			} else {
				first += b->n;
				atomic_store_explicit(&b->state, B_FILLED, memory_order_relaxed);
				next_fill++;
				atomic_store_explicit(&L.filled, next_fill, memory_order_release);
			}
			progress = true;
		}
		struct batch *head = &L.b[next_pub % L.nb];
		if (next_pub < next_fill &&
		    atomic_load_explicit(&head->state, memory_order_acquire) == B_DONE) {
			t0 = rte_rdtsc();
			long p = publish_batch(&L, head, svc, ctr_floor, path);
			kb_memzero(head->rec, sizeof(head->rec[0]) * head->n_built);
			t_pub += rte_rdtsc() - t0;
			atomic_store_explicit(&head->state, B_FREE, memory_order_relaxed);
			if (p < 0)
				goto out;
			n += p;
			next_pub++;
			continue;
		}
		/* nothing to publish yet: build a batch here too */
		struct batch *mine = claim(&L);
		if (mine != NULL) {
			t0 = rte_rdtsc();
			build_batch(&L, mine);
			t_build += rte_rdtsc() - t0;
			built_here++;
			progress = true;
		}
		if (!progress)
			rte_pause();
	}
	rc = n;
	double hz = (double)rte_get_tsc_hz();
	KB_LOG(DEBUG,
	       "roster: %ld rows, %u helper lcores; main thread: read %.2f s, publish %.2f s, "
	       "built %" PRIu64 " of %" PRIu64 " batches in %.2f s, idle %.2f s",
	       n, launched, (double)t_fill / hz, (double)t_pub / hz, built_here, next_pub,
	       (double)t_build / hz,
	       (double)(rte_rdtsc() - t_start - t_fill - t_pub - t_build) / hz);
out:
	atomic_store_explicit(&L.stop, true, memory_order_release);
	/* on an error, the helpers finish what is filled: drop it unbuilt */
	if (rc < 0)
		atomic_store_explicit(&L.claimed, UINT64_MAX / 2, memory_order_release);
	for (unsigned i = 0; i < launched; i++)
		rte_eal_wait_lcore(helpers[i]);
	for (unsigned i = 0; i < L.nb; i++)
		kb_memzero(&L.b[i], sizeof(L.b[i]));
	free(L.b);
	reader_close(&r);
	return rc;
}
