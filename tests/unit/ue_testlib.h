/* Helpers shared by the tests of keyburst-uesim's UE model
 * (tests/unit/test_ue_state.c, bench/uesim/test_ue_burst.c). */
#ifndef KB_UE_TESTLIB_H
#define KB_UE_TESTLIB_H

#include "ue_state.h"

#include <stdbool.h>
#include <stdint.h>

/* n synthetic UEs, row i = what keyburst roster gen makes for (seed 7, i),
 * on glib's index; 0 or -1 */
int kb_test_uesim_new(struct kb_uesim *s, uint32_t n, const struct kb_uesim_knobs *k);

/* whether UE row holds MSK msk_id of domain; with msk != NULL, also that
 * the stored key is msk */
bool kb_test_ue_holds(const struct kb_uesim *s, uint32_t row, const uint8_t domain[3],
		      uint32_t msk_id, const uint8_t *msk);

#endif
