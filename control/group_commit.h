/* Leader/follower batching of durable writes (group commit): a writer
 * queues its operation; if no batch is running it becomes the leader,
 * takes the whole queue and runs it (one transaction, one fsync) on its
 * own thread; writers arriving meanwhile queue for the next leader. Each
 * caller returns once the batch holding its operation has run, so a
 * commit's cost is shared by every write in flight. Used by the store
 * (store_lmdb.c: put, del) and by registrations (sa_mgr.c), which must
 * commit and publish under the control plane's writer lock. */
#ifndef KB_GROUP_COMMIT_H
#define KB_GROUP_COMMIT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

/* Embedded in the caller's operation (on its stack until done). */
struct kb_gc_op {
	struct kb_gc_op *next;
	bool done;
};

struct kb_gc {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct kb_gc_op *head, **tail; /* tail NULL: empty */
	bool leading;
};

#define KB_GC_INIT                                                                     \
	{                                                                              \
		PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, false \
	}

/* Runs a batch (a list in queue order) on the leader's thread: sets each
 * operation's result in the caller's structure; must not keep pointers to
 * them once it returns. */
typedef void (*kb_gc_run_fn)(void *ctx, struct kb_gc_op *batch);

static inline void kb_gc_submit(struct kb_gc *g, struct kb_gc_op *op, kb_gc_run_fn run, void *ctx)
{
	op->next = NULL;
	op->done = false;
	pthread_mutex_lock(&g->lock);
	if (g->tail == NULL)
		g->tail = &g->head;
	*g->tail = op;
	g->tail = &op->next;
	while (!op->done) {
		if (g->leading) {
			pthread_cond_wait(&g->cond, &g->lock);
			continue;
		}
		/* lead: op is in the queue taken here (queued before us) */
		struct kb_gc_op *batch = g->head;
		g->head = NULL;
		g->tail = &g->head;
		g->leading = true;
		pthread_mutex_unlock(&g->lock);
		run(ctx, batch);
		pthread_mutex_lock(&g->lock);
		for (struct kb_gc_op *o = batch, *next; o != NULL; o = next) {
			next = o->next; /* o belongs to its caller once done */
			o->done = true;
		}
		g->leading = false;
		/* the batch's callers, and a waiter to lead the next batch */
		pthread_cond_broadcast(&g->cond);
	}
	pthread_mutex_unlock(&g->lock);
}

#endif
