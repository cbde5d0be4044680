/* Roster CSV -> SA records in the key table + shard delivery state. */
#include "roster_load.h"

#include "keytable.h"
#include "lcore.h"
#include "log.h"
#include "rollover.h"
#include "sa.h"
#include "util/roster.h"
#include "util/secret.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/rand.h>

long kb_roster_count(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long n = 0;
	while ((len = getline(&line, &cap, f)) > 0) {
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		if (len > 0 && !kb_roster_is_header(line, (size_t)len))
			n++;
	}
	free(line);
	fclose(f);
	return n;
}

long kb_roster_load(struct kb_dp *dp, const char *path, uint16_t key_group, uint32_t ctr_floor)
{
	int svc = kb_service_find(dp->svc, key_group);
	if (svc < 0) {
		KB_LOG(ERR, "roster: no service with key group %u", key_group);
		return -1;
	}
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		KB_LOG(ERR, "roster: cannot open %s", path);
		return -1;
	}
	struct kb_sa_record *rec = calloc(1, sizeof(*rec));
	struct kb_roster_row *row = calloc(1, sizeof(*row));
	char *line = NULL, err[128];
	size_t cap = 0;
	ssize_t len;
	long n = 0, lineno = 0, rc = -1;
	if (rec == NULL || row == NULL)
		goto out;

	while ((len = getline(&line, &cap, f)) > 0) {
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		if (len == 0 || kb_roster_is_header(line, (size_t)len))
			continue;
		if (kb_roster_parse_line(line, (size_t)len, row, err, sizeof(err)) != 0) {
			KB_LOG(ERR, "roster %s:%ld: %s", path, lineno, err);
			goto out;
		}
		if (dp->n_dir == dp->cap_dir) {
			KB_LOG(ERR, "roster %s: more rows than the %u the tables were sized for",
			       path, dp->cap_dir);
			goto out;
		}
		uint32_t csb = kb_csb_from_index(dp->n_dir + 1);
		unsigned shard = kb_sa_shard(csb, dp->n_lcores);
		struct kb_shard *sh = &dp->lc[shard]->sh;
		if (sh->n_ue == sh->cap || sh->n_ue >= (1u << KB_DIR_SLOT_BITS)) {
			KB_LOG(ERR, "roster: shard %u is full (%u UEs)", shard, sh->cap);
			goto out;
		}
		uint8_t rand[KB_MIKEY_RAND_LEN];
		if (RAND_bytes(rand, sizeof(rand)) != 1) {
			KB_LOG(ERR, "roster: RAND_bytes failed");
			goto out;
		}
		struct kb_ue_addr addr = {.af = (uint8_t)row->af, .port = row->port};
		memcpy(addr.ip, row->ip, 16);
		int brc = kb_sa_record_build(rec, row->muk, KB_MUK_LEN, csb, rand, row->b_tid,
					     key_group, &addr, dp->n_lcores);
		kb_memzero(row->muk, sizeof(row->muk));
		if (brc != 0) {
			KB_LOG(ERR, "roster %s:%ld: cannot build the SA (B-TID too long?)", path,
			       lineno);
			goto out;
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
		dp->dir[dp->n_dir++] = (uint32_t)shard << KB_DIR_SLOT_BITS | slot;
		int prc = kb_keytable_publish(dp->kt, rec);
		if (prc != 0) {
			KB_LOG(ERR, "roster: key table publish failed (%d)", prc);
			goto out;
		}
		dp->svc->s[svc].n_ues++;
		n++;
		if ((n & 0xffff) == 0)
			kb_keytable_reclaim(dp->kt);
	}
	rc = n;
out:
	if (rec != NULL)
		kb_memzero(rec, sizeof(*rec));
	if (row != NULL)
		kb_memzero(row, sizeof(*row));
	free(rec);
	free(row);
	free(line);
	fclose(f);
	return rc;
}
