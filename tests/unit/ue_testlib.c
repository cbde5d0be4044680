/* Shared UE-model test helpers: see ue_testlib.h. */
#include "ue_testlib.h"

#include <string.h>

int kb_test_uesim_new(struct kb_uesim *s, uint32_t n, const struct kb_uesim_knobs *k)
{
	struct kb_ue_index idx;
	if (kb_ue_index_glib(&idx, n) != 0 || kb_uesim_init(s, n, idx, k) != 0)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		struct kb_roster_row r;
		kb_roster_gen_row(7, i, &r);
		if (kb_uesim_add_ue(s, i, &r) != 0)
			return -1;
	}
	return 0;
}

bool kb_test_ue_holds(const struct kb_uesim *s, uint32_t row, const uint8_t domain[3],
		      uint32_t msk_id, const uint8_t *msk)
{
	for (unsigned i = 0; i < KB_UE_MSK_SLOTS; i++) {
		const struct kb_ue_msk *m = &s->ue[row].slot[i];
		if (m->used && m->msk_id == msk_id && memcmp(m->domain, domain, 3) == 0)
			return msk == NULL || memcmp(m->msk, msk, KB_MSK_LEN) == 0;
	}
	return false;
}
