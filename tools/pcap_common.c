#include "pcap_common.h"

#include "util/secret.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ETH_HLEN 14
#define IP4_HLEN 20
#define IP6_HLEN 40
#define UDP_HLEN 8

static int cmp_ue(const void *a, const void *b)
{
	return strcmp(((const struct kb_pcap_ue *)a)->b_tid, ((const struct kb_pcap_ue *)b)->b_tid);
}

int kb_pcap_roster_load(struct kb_pcap_roster *r, const char *path, const char *who)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "%s: cannot open %s: %s\n", who, path, strerror(errno));
		return -1;
	}
	char *line = NULL, err[128];
	size_t cap = 0, n_cap = 0;
	ssize_t len;
	long lineno = 0;
	struct kb_roster_row row;
	int rc = -1;
	while ((len = getline(&line, &cap, f)) > 0) {
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		if (len == 0 || kb_roster_is_header(line, (size_t)len))
			continue;
		if (kb_roster_parse_line(line, (size_t)len, &row, err, sizeof(err)) != 0) {
			fprintf(stderr, "%s: %s:%ld: %s\n", who, path, lineno, err);
			goto out;
		}
		if (r->n == n_cap) {
			n_cap = n_cap ? n_cap * 2 : 1024;
			struct kb_pcap_ue *nu = realloc(r->ues, n_cap * sizeof(*nu));
			if (nu == NULL)
				goto out;
			r->ues = nu;
		}
		struct kb_pcap_ue *u = &r->ues[r->n++];
		snprintf(u->b_tid, sizeof(u->b_tid), "%s", row.b_tid);
		memcpy(u->muk, row.muk, KB_MUK_LEN);
	}
	qsort(r->ues, r->n, sizeof(*r->ues), cmp_ue);
	rc = 0;
out:
	kb_memzero(&row, sizeof(row));
	free(line);
	fclose(f);
	return rc;
}

long kb_pcap_roster_find(const struct kb_pcap_roster *r, const uint8_t *idr, uint16_t len)
{
	struct kb_pcap_ue key;
	if (len >= sizeof(key.b_tid))
		return -1;
	memcpy(key.b_tid, idr, len);
	key.b_tid[len] = '\0';
	const struct kb_pcap_ue *u = bsearch(&key, r->ues, r->n, sizeof(*r->ues), cmp_ue);
	return u == NULL ? -1 : u - r->ues;
}

void kb_pcap_roster_free(struct kb_pcap_roster *r)
{
	for (size_t i = 0; i < r->n; i++)
		kb_memzero(r->ues[i].muk, KB_MUK_LEN);
	free(r->ues);
	r->ues = NULL;
	r->n = 0;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

int kb_pcap_parse_frame(const uint8_t *f, size_t len, struct kb_pcap_frame *fr)
{
	if (len < ETH_HLEN)
		return -1;
	size_t off = ETH_HLEN;
	uint16_t et = be16(f + 12);
	if (et == 0x8100 && len >= 18) {
		et = be16(f + 16);
		off = 18;
	}
	const uint8_t *l4;
	size_t l4len;
	fr->eth = f;
	if (et == 0x0800) {
		if (len < off + IP4_HLEN || (f[off] >> 4) != 4)
			return -1;
		size_t ihl = (size_t)(f[off] & 0xf) * 4, tot = be16(f + off + 2);
		if (ihl < IP4_HLEN || tot < ihl || off + tot > len || f[off + 9] != 17)
			return -1;
		fr->af = 4;
		fr->ip_src = f + off + 12;
		fr->ip_dst = f + off + 16;
		l4 = f + off + ihl;
		l4len = tot - ihl;
	} else if (et == 0x86dd) {
		if (len < off + IP6_HLEN || f[off + 6] != 17)
			return -1;
		size_t pl = be16(f + off + 4);
		if (off + IP6_HLEN + pl > len)
			return -1;
		fr->af = 6;
		fr->ip_src = f + off + 8;
		fr->ip_dst = f + off + 24;
		l4 = f + off + IP6_HLEN;
		l4len = pl;
	} else {
		return -1;
	}
	if (l4len < UDP_HLEN)
		return -1;
	size_t ulen = be16(l4 + 4);
	if (ulen < UDP_HLEN || ulen > l4len)
		return -1;
	fr->sport = be16(l4);
	fr->dport = be16(l4 + 2);
	fr->payload = l4 + UDP_HLEN;
	fr->len = ulen - UDP_HLEN;
	return 0;
}

pcap_t *kb_pcap_open_eth(const char *path, const char *who)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *pc = pcap_open_offline(path, errbuf);
	if (pc == NULL) {
		fprintf(stderr, "%s: %s\n", who, errbuf);
		return NULL;
	}
	if (pcap_datalink(pc) != DLT_EN10MB) {
		fprintf(stderr, "%s: %s: not an Ethernet capture\n", who, path);
		pcap_close(pc);
		return NULL;
	}
	return pc;
}
