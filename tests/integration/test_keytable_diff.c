/* Differential test of the lock-free key table (STYLE.md, after WireGuard's
 * allowedips selftest): one writer does random adds, replacements and
 * deletes over a small key space, mirrored into a trivial mutex-protected
 * map; readers do bulk lookups concurrently. Every record a reader sees must
 * be intact (a pattern derived from (csb_id, version) fills it, so a torn,
 * wiped or reused record shows) and its version must be one the map held for
 * that key during the lookup window. At the end the table equals the map and
 * freeing it returns every allocation. */
#include "check.h"

#include "keytable.h"
#include "sa.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#define KEYSPACE 64 /* csb_ids 1..KEYSPACE */
#define CAPACITY 48 /* below the key space: -ENOSPC happens too */
#define N_READERS 2
#define MAX_OPS 400000
#define TIME_BUDGET_S 8.0

static struct kb_keytable *table;

/* the trivial reference: per key, the live version (0 = absent) and how
 * many deletes it has seen */
static struct {
	pthread_mutex_t mu;
	uint64_t ver[KEYSPACE + 1];
	uint64_t ndel[KEYSPACE + 1];
	uint64_t global; /* last version handed out */
	uint32_t count;
} map = {.mu = PTHREAD_MUTEX_INITIALIZER};

static atomic_bool stop;
static atomic_ulong reader_errors, reader_lookups, reader_hits;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Every byte the record carries, derived from (csb_id, version). */
static void pattern(uint32_t csb_id, uint64_t version, struct kb_sa_record *r)
{
	uint64_t s = (uint64_t)csb_id << 40 ^ version;
	uint8_t *regions[] = {r->aes_enc_keys, r->hmac_ipad, r->hmac_opad,
			      r->salt,         r->rand,      r->idr + 8};
	size_t sizes[] = {sizeof(r->aes_enc_keys), sizeof(r->hmac_ipad), sizeof(r->hmac_opad),
			  sizeof(r->salt),         sizeof(r->rand),      sizeof(r->idr) - 8};

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
		for (size_t i = 0; i < sizes[k]; i++)
			regions[k][i] = (uint8_t)splitmix(&s);
}

static void make_record(struct kb_sa_record *r, uint32_t csb_id, uint64_t version)
{
	memset(r, 0, sizeof(*r));
	r->csb_id = csb_id;
	r->idr_len = KB_SA_ID_MAX;
	memcpy(r->idr, &version, sizeof(version));
	r->key_group = (uint16_t)version;
	pattern(csb_id, version, r);
}

/* 0 if the record is intact and belongs to csb_id; its version in *ver. */
static int check_record(const struct kb_sa_record *r, uint32_t csb_id, uint64_t *ver)
{
	struct kb_sa_record want;
	uint64_t v;

	memcpy(&v, r->idr, sizeof(v));
	if (r->csb_id != csb_id || v == 0)
		return -1;
	make_record(&want, csb_id, v);
	*ver = v;
	return memcmp(&want, r, sizeof(want)) == 0 ? 0 : -1;
}

struct snap {
	uint64_t ver, ndel;
};

static void snapshot(const uint32_t *keys, unsigned n, struct snap *s, uint64_t *global)
{
	pthread_mutex_lock(&map.mu);
	for (unsigned i = 0; i < n; i++)
		s[i] = (struct snap){map.ver[keys[i]], map.ndel[keys[i]]};
	*global = map.global;
	pthread_mutex_unlock(&map.mu);
}

static void report(unsigned id, const char *what, uint32_t key, uint64_t v, const struct snap *b,
		   const struct snap *a)
{
	if (atomic_fetch_add(&reader_errors, 1) < 10)
		fprintf(stderr,
			"reader %u: key %u: %s (seen v%llu; before v%llu del %llu; after v%llu del "
			"%llu)\n",
			id, key, what, (unsigned long long)v, (unsigned long long)b->ver,
			(unsigned long long)b->ndel, (unsigned long long)a->ver,
			(unsigned long long)a->ndel);
}

static int reader(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	struct rte_rcu_qsbr *v = kb_keytable_qsbr(table);
	uint64_t rng = 0x1234567ull + id;
	uint32_t keys[64];
	const struct kb_sa_record *out[64];
	struct snap before[64], after[64];
	uint64_t seen[64], g0, g1;
	int bad[64];

	if (rte_rcu_qsbr_thread_register(v, id) != 0) {
		atomic_fetch_add(&reader_errors, 1);
		return -1;
	}
	while (!atomic_load(&stop)) {
		unsigned n = 1 + (unsigned)(splitmix(&rng) % 64);
		for (unsigned i = 0; i < n; i++)
			keys[i] = 1 + (uint32_t)(splitmix(&rng) % KEYSPACE);

		/* offline while blocked on the mutex: the writer may wait for
		 * a grace period while it holds it */
		snapshot(keys, n, before, &g0);
		rte_rcu_qsbr_thread_online(v, id);
		unsigned found = kb_keytable_lookup_bulk(table, keys, n, out);
		unsigned nonnull = 0;
		for (unsigned i = 0; i < n; i++) {
			bad[i] = 0;
			seen[i] = 0;
			if (out[i] == NULL)
				continue;
			nonnull++;
			bad[i] = check_record(out[i], keys[i], &seen[i]) != 0;
		}
		/* done with every record: they may be reclaimed from here on */
		rte_rcu_qsbr_quiescent(v, id);
		rte_rcu_qsbr_thread_offline(v, id);
		snapshot(keys, n, after, &g1);

		if (found != nonnull)
			report(id, "lookup count differs from non-NULL results", 0, found, before,
			       after);
		for (unsigned i = 0; i < n; i++) {
			const struct snap *b = &before[i], *a = &after[i];
			if (out[i] == NULL) {
				if (!(b->ver == 0 || a->ver == 0 || a->ndel > b->ndel))
					report(id, "missing while present throughout", keys[i], 0,
					       b, a);
				continue;
			}
			uint64_t lo = b->ver != 0 ? b->ver : g0 + 1;
			if (bad[i])
				report(id, "torn or foreign record", keys[i], seen[i], b, a);
			else if (seen[i] < lo || seen[i] > g1)
				report(id, "version outside the lookup window", keys[i], seen[i], b,
				       a);
		}
		atomic_fetch_add(&reader_lookups, n);
		atomic_fetch_add(&reader_hits, nonnull);
	}
	rte_rcu_qsbr_thread_unregister(v, id);
	return 0;
}

static void *reader_thread(void *arg)
{
	reader(arg);
	return NULL;
}

static uint64_t wrng = 0xfeedfacecafef00dull;

static void writer(void)
{
	struct kb_sa_record rec;
	unsigned long n_add = 0, n_rep = 0, n_del = 0, n_nospc = 0, n_noent = 0, ops = 0;
	double t0 = now_s();

	for (ops = 0; ops < MAX_OPS; ops++) {
		if ((ops & 1023) == 0 && now_s() - t0 > TIME_BUDGET_S)
			break;
		uint32_t key = 1 + (uint32_t)(splitmix(&wrng) % KEYSPACE);
		unsigned op = (unsigned)(splitmix(&wrng) % 100);

		pthread_mutex_lock(&map.mu);
		if (op < 55) {
			uint64_t ver = map.global + 1;
			bool present = map.ver[key] != 0;
			make_record(&rec, key, ver);
			int rc = kb_keytable_publish(table, &rec);
			if (!present && map.count >= CAPACITY) {
				CHECK(rc == -ENOSPC);
				n_nospc++;
			} else {
				CHECK(rc == 0);
				if (rc == 0) {
					map.global = ver;
					map.ver[key] = ver;
					map.count += !present;
					present ? n_rep++ : n_add++;
				}
			}
		} else if (op < 97) {
			int rc = kb_keytable_delete(table, key);
			if (map.ver[key] != 0) {
				CHECK(rc == 0);
				map.ver[key] = 0;
				map.ndel[key]++;
				map.count--;
				n_del++;
			} else {
				CHECK(rc == -ENOENT);
				n_noent++;
			}
		} else {
			kb_keytable_reclaim(table);
		}
		CHECK(kb_keytable_count(table) == map.count);
		pthread_mutex_unlock(&map.mu);
	}
	printf("writer: %lu ops in %.2f s: %lu adds, %lu replacements, %lu deletes, "
	       "%lu full, %lu absent\n",
	       ops, now_s() - t0, n_add, n_rep, n_del, n_nospc, n_noent);
	/* a meaningful run even on a loaded 2-core machine */
	CHECK(ops >= 20000);
	CHECK(n_add > ops / 10 && n_rep > ops / 10 && n_del > ops / 10 && n_nospc > 0);
}

static void final_compare(void)
{
	uint32_t keys[KEYSPACE];
	const struct kb_sa_record *out[KEYSPACE];
	uint64_t v = 0;

	for (unsigned i = 0; i < KEYSPACE; i++)
		keys[i] = i + 1;
	unsigned found = kb_keytable_lookup_bulk(table, keys, KEYSPACE, out);
	CHECK(found == map.count);
	CHECK(kb_keytable_count(table) == map.count);
	for (unsigned i = 0; i < KEYSPACE; i++) {
		if (map.ver[i + 1] == 0) {
			CHECK(out[i] == NULL);
			continue;
		}
		CHECK(out[i] != NULL);
		if (out[i] == NULL)
			continue;
		CHECK(check_record(out[i], i + 1, &v) == 0);
		CHECK(v == map.ver[i + 1]);
	}
	/* bad arguments */
	struct kb_sa_record zero = {0};
	CHECK(kb_keytable_publish(table, &zero) == -EINVAL);
	CHECK(kb_keytable_delete(table, KEYSPACE + 1) == -ENOENT);
}

int main(void)
{
	char prefix[32];
	struct rte_malloc_socket_stats st0, st1;
	pthread_t th;
	int socket;

	snprintf(prefix, sizeof(prefix), "kbkt%d", (int)getpid());
	char *eal_argv[] = {"test_keytable_diff", "--no-huge", "--no-pci", "-m",  "512",
			    "--file-prefix",      prefix,      "-l",       "0-1", "--log-level",
			    "lib.*:warning"};
	int eal_argc = sizeof(eal_argv) / sizeof(eal_argv[0]);
	if (rte_eal_init(eal_argc, eal_argv) < 0) {
		fprintf(stderr, "rte_eal_init failed\n");
		return 1;
	}
	socket = (int)rte_socket_id();
	rte_malloc_get_socket_stats(socket, &st0);

	table = kb_keytable_create("diff", CAPACITY, N_READERS, socket);
	CHECK(table != NULL);
	if (table == NULL)
		goto out;

	/* reader 0 on the second lcore, reader 1 on a plain pthread */
	unsigned lcore = rte_get_next_lcore(-1, 1, 0);
	CHECK(lcore < RTE_MAX_LCORE);
	CHECK(rte_eal_remote_launch(reader, (void *)(uintptr_t)0, lcore) == 0);
	CHECK(pthread_create(&th, NULL, reader_thread, (void *)(uintptr_t)1) == 0);

	writer();
	atomic_store(&stop, true);
	rte_eal_wait_lcore(lcore);
	pthread_join(th, NULL);
	printf("readers: %lu lookups, %lu hits, %lu errors\n", atomic_load(&reader_lookups),
	       atomic_load(&reader_hits), atomic_load(&reader_errors));
	CHECK(atomic_load(&reader_errors) == 0);
	CHECK(atomic_load(&reader_lookups) > 10000);
	CHECK(atomic_load(&reader_hits) > 1000);

	kb_keytable_reclaim(table);
	final_compare();
	kb_keytable_free(table);

	/* every record, retired or live, went back to the heap */
	rte_malloc_get_socket_stats(socket, &st1);
	CHECK(st1.alloc_count == st0.alloc_count);
	CHECK(st1.heap_allocsz_bytes == st0.heap_allocsz_bytes);
out:
	rte_eal_cleanup();
	return kb_check_done();
}
