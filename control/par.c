/* kb_par: one mutex and two condition variables; work is claimed in
 * chunks so that the lock is taken once per chunk, not per item. */
#include "par.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#define PAR_CHUNK 32
#define PAR_MAX_THREADS 64

struct kb_par {
	pthread_mutex_t lock;
	pthread_cond_t work, done_cv;
	kb_par_fn fn;
	void *arg;
	size_t avail, next, done;
	bool stop;
	unsigned n_threads;
	pthread_t threads[PAR_MAX_THREADS];
};

/* Claim up to PAR_CHUNK available items; lock held. */
static bool claim(struct kb_par *p, size_t *from, size_t *to)
{
	if (p->next >= p->avail)
		return false;
	*from = p->next;
	*to = p->avail - p->next > PAR_CHUNK ? p->next + PAR_CHUNK : p->avail;
	p->next = *to;
	return true;
}

/* Run a claimed chunk with the lock released; lock held again on return. */
static void run(struct kb_par *p, size_t from, size_t to)
{
	kb_par_fn fn = p->fn;
	void *arg = p->arg;
	pthread_mutex_unlock(&p->lock);
	for (size_t i = from; i < to; i++)
		fn(arg, i);
	pthread_mutex_lock(&p->lock);
	p->done += to - from;
	if (p->done == p->avail)
		pthread_cond_broadcast(&p->done_cv);
}

static void *worker(void *arg)
{
	struct kb_par *p = arg;
	size_t from, to;
	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		if (claim(p, &from, &to))
			run(p, from, to);
		else
			pthread_cond_wait(&p->work, &p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct kb_par *kb_par_new(unsigned threads)
{
	struct kb_par *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	if (threads == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		threads = n > 0 ? (unsigned)n : 1;
	}
	if (threads > PAR_MAX_THREADS)
		threads = PAR_MAX_THREADS;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done_cv, NULL);
	for (unsigned i = 0; i < threads; i++) {
		if (pthread_create(&p->threads[p->n_threads], NULL, worker, p) != 0)
			break;
		p->n_threads++;
	}
	if (p->n_threads == 0) {
		kb_par_free(p);
		return NULL;
	}
	return p;
}

void kb_par_begin(struct kb_par *p, kb_par_fn fn, void *arg)
{
	pthread_mutex_lock(&p->lock);
	p->fn = fn;
	p->arg = arg;
	p->avail = p->next = p->done = 0;
	pthread_mutex_unlock(&p->lock);
}

void kb_par_avail(struct kb_par *p, size_t n)
{
	pthread_mutex_lock(&p->lock);
	if (n > p->avail) {
		p->avail = n;
		pthread_cond_broadcast(&p->work);
	}
	pthread_mutex_unlock(&p->lock);
}

void kb_par_finish(struct kb_par *p, size_t n)
{
	size_t from, to;
	pthread_mutex_lock(&p->lock);
	if (n > p->avail) {
		p->avail = n;
		pthread_cond_broadcast(&p->work);
	}
	while (claim(p, &from, &to))
		run(p, from, to);
	while (p->done < p->avail)
		pthread_cond_wait(&p->done_cv, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

void kb_par_free(struct kb_par *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->n_threads; i++)
		pthread_join(p->threads[i], NULL);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done_cv);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
