/* The UE index on rte_hash (DPDK mode): lives in EAL memory, sized for the
 * roster with extendable buckets so that every row fits. */
#ifndef KB_UE_INDEX_RTE_H
#define KB_UE_INDEX_RTE_H

#include "ue_index.h"

int kb_ue_index_rte(struct kb_ue_index *idx, uint32_t n_rows);

#endif
