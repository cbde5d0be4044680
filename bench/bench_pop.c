/* The UE population shared by the seal, ack and cryptodev benchmarks. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"
#include "util/roster.h"
#include "util/secret.h"

/* The daemon keeps SA records in hugepage memory; give the cold population
 * transparent huge pages too, so the benchmark pays the same page walks. */
static void *huge_alloc(size_t len)
{
	const size_t huge = 2u << 20;
	void *p = aligned_alloc(huge, (len + huge - 1) / huge * huge);
	if (p != NULL)
		(void)madvise(p, (len + huge - 1) / huge * huge, MADV_HUGEPAGE);
	return p;
}

const uint8_t kb_bench_msk[KB_MSK_LEN] = {0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5,
					  0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5};
static const uint8_t domain[3] = {0x62, 0xf2, 0x10};

#define MAX_POPS 4
#define BUILD_THREADS 16
static struct kb_bench_pop *pops[MAX_POPS];

double kb_bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void fill_params(uint32_t csb_id, const uint8_t *rand, const uint8_t *idr, uint16_t idr_len,
			uint32_t counter, struct kb_msk_msg_params *p)
{
	memset(p, 0, sizeof(*p));
	p->csb_id = csb_id;
	p->counter = counter;
	p->rand = rand;
	p->idi = (const uint8_t *)KB_BENCH_IDI;
	p->idi_len = sizeof(KB_BENCH_IDI) - 1;
	p->idr = idr;
	p->idr_len = idr_len;
	memcpy(p->domain, domain, sizeof(domain));
	p->msk_id = KB_BENCH_MSK_ID;
	p->msk = kb_bench_msk;
	p->v = true;
}

void kb_bench_msk_params(const struct kb_bench_ue *ue, uint32_t counter,
			 struct kb_msk_msg_params *p)
{
	fill_params(ue->csb_id, ue->rand, ue->idr, ue->idr_len, counter, p);
}

void kb_bench_msk_params_rec(const struct kb_sa_record *rec, uint32_t counter,
			     struct kb_msk_msg_params *p)
{
	fill_params(rec->csb_id, rec->rand, rec->idr, rec->idr_len, counter, p);
}

/* xorshift64*: a fixed seed, so every run visits UEs in the same order */
static uint64_t rng(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static void pop_free(struct kb_bench_pop *p)
{
	if (p == NULL)
		return;
	if (p->ue != NULL)
		kb_memzero(p->ue, sizeof(*p->ue) * p->n);
	free(p->rec);
	free(p->ue);
	free(p->ctr);
	free(p->order);
	free(p);
}

/* Build UEs [from, to): a real derivation per UE, as the control plane does
 * (about 25 us each), so the population is built by every core at once. */
struct build_job {
	struct kb_bench_pop *p;
	uint32_t from, to;
	int ret;
};

static void *build_range(void *arg)
{
	struct build_job *j = arg;
	struct kb_bench_pop *p = j->p;
	struct kb_roster_row row;
	char idr[KB_BENCH_IDR_LEN + 1];

	j->ret = -1;
	for (uint32_t i = j->from; i < j->to; i++) {
		struct kb_bench_ue *ue = &p->ue[i];
		struct kb_ue_addr addr = {.af = AF_INET, .port = 4359};
		uint64_t seed = 0x6b657962757273ULL ^ ((uint64_t)i * 0x9E3779B97F4A7C15ULL);

		kb_roster_gen_row(1, i, &row);
		/* idr: the row's base64(RAND) and a BSF FQDN, 60 bytes in all */
		snprintf(idr, sizeof(idr), "%.24s@bsf01.mnc001.mcc001.3gppnetwork.org", row.b_tid);
		if (strlen(idr) != KB_BENCH_IDR_LEN)
			return NULL;
		memset(ue, 0, sizeof(*ue));
		ue->csb_id = i + 1;
		for (unsigned k = 0; k < KB_MIKEY_RAND_LEN; k++)
			ue->rand[k] = (uint8_t)rng(&seed);
		ue->idr_len = KB_BENCH_IDR_LEN;
		memcpy(ue->idr, idr, KB_BENCH_IDR_LEN);
		memcpy(addr.ip, row.ip, 4);
		if (kb_mikey_derive_tkeys(row.muk, KB_MUK_LEN, ue->csb_id, ue->rand,
					  KB_MIKEY_RAND_LEN, &ue->tk) != 0 ||
		    kb_sa_record_build(&p->rec[i], row.muk, KB_MUK_LEN, ue->csb_id, ue->rand, idr,
				       1, &addr, 1) != 0)
			return NULL;
		p->ctr[i] = 1;
		p->order[i] = i;
	}
	kb_memzero(&row, sizeof(row));
	j->ret = 0;
	return NULL;
}

static struct kb_bench_pop *pop_build(uint32_t n)
{
	struct kb_bench_pop *p = calloc(1, sizeof(*p));
	struct build_job jobs[BUILD_THREADS];
	pthread_t tids[BUILD_THREADS];
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned nt = ncpu < 1 ? 1 : ncpu > BUILD_THREADS ? BUILD_THREADS : (unsigned)ncpu;
	uint64_t seed = 0x6b657962757273ULL;
	double t0 = kb_bench_now();
	int ret = 0;

	if (p == NULL)
		return NULL;
	if (n < 4096)
		nt = 1;
	p->n = n;
	p->rec = huge_alloc(sizeof(*p->rec) * (size_t)n);
	p->ue = huge_alloc(sizeof(*p->ue) * (size_t)n);
	p->ctr = calloc(n, sizeof(*p->ctr));
	p->order = calloc(n, sizeof(*p->order));
	if (p->rec == NULL || p->ue == NULL || p->ctr == NULL || p->order == NULL)
		goto fail;
	for (unsigned t = 0; t < nt; t++) {
		jobs[t] = (struct build_job){.p = p,
					     .from = (uint32_t)((uint64_t)n * t / nt),
					     .to = (uint32_t)((uint64_t)n * (t + 1) / nt)};
		if (t > 0 && pthread_create(&tids[t], NULL, build_range, &jobs[t]) != 0)
			jobs[t].ret = -2; /* not started: built below instead */
	}
	build_range(&jobs[0]);
	for (unsigned t = 1; t < nt; t++) {
		if (jobs[t].ret == -2)
			build_range(&jobs[t]);
		else
			pthread_join(tids[t], NULL);
	}
	for (unsigned t = 0; t < nt; t++)
		ret |= jobs[t].ret;
	if (ret != 0)
		goto fail;
	for (uint32_t i = n - 1; i > 0; i--) {
		uint32_t j = (uint32_t)(rng(&seed) % (i + 1));
		uint32_t t = p->order[i];

		p->order[i] = p->order[j];
		p->order[j] = t;
	}
	p->build_s = kb_bench_now() - t0;
	fprintf(stderr, "kb_bench: built %u UEs in %.1f s (%u threads)\n", n, p->build_s, nt);
	return p;
fail:
	fprintf(stderr, "kb_bench: building %u UEs failed\n", n);
	pop_free(p);
	return NULL;
}

struct kb_bench_pop *kb_bench_pop_get(uint32_t n)
{
	unsigned free_slot = MAX_POPS;

	for (unsigned i = 0; i < MAX_POPS; i++) {
		if (pops[i] != NULL && pops[i]->n == n)
			return pops[i];
		if (pops[i] == NULL && free_slot == MAX_POPS)
			free_slot = i;
	}
	if (free_slot == MAX_POPS)
		return NULL;
	pops[free_slot] = pop_build(n);
	return pops[free_slot];
}
