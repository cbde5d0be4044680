/* A UE's registration as one durable write (sa_mgr.c): its registration
 * records and its SA committed together, the commit shared with the other
 * registrations in flight (group commit under the writer lock). */
#ifndef KB_SA_MGR_H
#define KB_SA_MGR_H

#include "ctl_internal.h"

#include <stdbool.h>
#include <stddef.h>

/* One KB_ST_REG put (key IMPI NUL service id, an encoded kb_rec_reg). */
struct kb_ctl_reg_put {
	const void *key, *val;
	size_t klen, vlen;
};

/* Stores the n registration records and, with_sa, the UE's SA in one
 * transaction: the live SA is kept when its B-TID, address and key group
 * (key_group 0: any) still match, otherwise a new SA, the UE record
 * pointing to it and the old SA's deletion. Returns once that is durable
 * and the new SA published (the old one deleted) through the hooks.
 * 0 with *csb_id (left alone without with_sa), or -1: nothing stored. */
int kb_ctl_register(struct kb_ctl *c, const struct kb_bootstrap *b, const struct kb_ue_addr *addr,
		    uint16_t key_group, bool with_sa, const struct kb_ctl_reg_put *regs, size_t n,
		    uint32_t *csb_id);

#endif
