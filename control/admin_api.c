/* The admin API: JSON over HTTP on its own listener, bearer-token auth
 * (constant-time compare). /healthz and /metrics need no token so that a
 * scraper works out of the box; bind the listener to a management address.
 * Imports are streamed (import.c): rows are parsed as they arrive and
 * committed in batches, so a million-row roster never sits in memory. */
#include "http_util.h"

#include "admin_json.h"
#include "ctl_internal.h"
#include "import.h"
#include "util/be.h"
#include "util/hex.h"
#include "util/roster.h"
#include "util/secret.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ADMIN_JSON_MAX (1u << 20)

enum adm_kind { ADM_JSON, ADM_IMPORT_ROSTER, ADM_IMPORT_BOOTSTRAPS };

struct adm_req {
	enum adm_kind kind;
	bool too_large;
	char *body;
	size_t len, cap;
	struct kb_import *im; /* imports */
};

static enum MHD_Result reply_json(struct MHD_Connection *con, unsigned code, json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (s == NULL)
		return kb_http_error(con, MHD_HTTP_INTERNAL_SERVER_ERROR, "json");
	size_t n = strlen(s);
	s[n] = '\0';
	enum MHD_Result r = kb_http_reply(con, code, "application/json", s, n, NULL);
	free(s);
	return r;
}

static enum MHD_Result json_error(struct MHD_Connection *con, unsigned code, const char *msg)
{
	return reply_json(con, code, json_pack("{s:s}", "error", msg));
}

static bool authorized(struct kb_ctl *c, struct MHD_Connection *con)
{
	const char *h =
		MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	size_t tl = strlen(c->admin_token);
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return false;
	h += 7;
	return strlen(h) == tl && kb_ct_equal(h, c->admin_token, tl);
}

/* ---- services ---- */

static json_t *service_json(struct kb_ctl *c, const struct kb_rec_service *s)
{
	char dom[8];
	kb_hex_encode(s->key_domain, 3, dom);
	json_t *j = json_pack("{s:s,s:s,s:i,s:i,s:I,s:b,s:i,s:i,s:i,s:I}", "id", s->id,
			      "key_domain", dom, "key_group", (int)s->key_group, "udp_port",
			      (int)s->udp_port, "rollover_period", (json_int_t)s->rollover_period,
			      "ack_wanted", s->ack_wanted != 0, "retries", (int)s->retries,
			      "current_key_number", (int)s->current_kn, "rollover_key_number",
			      (int)s->next_kn, "next_rollover", (json_int_t)s->next_rollover);
	struct kb_rollover_progress p;
	if (j != NULL && kb_ctl_rollover_progress(c, s->id, &p))
		json_object_set_new(j, "rollover",
				    json_pack("{s:I,s:I,s:I,s:I,s:b}", "msk_id",
					      (json_int_t)p.msk_id, "targets",
					      (json_int_t)p.targets, "delivered",
					      (json_int_t)atomic_load(&p.delivered), "failed",
					      (json_int_t)atomic_load(&p.failed), "in_progress",
					      s->next_kn != 0));
	return j;
}

static enum MHD_Result service_create(struct kb_ctl *c, struct MHD_Connection *con, json_t *o)
{
	struct kb_rec_service s;
	char err[128];
	if (kb_admin_service_from_json(o, c->cfg.ue_udp_port, &s, err, sizeof(err)) != 0)
		return json_error(con, 400, err);
	int rc = kb_ctl_service_create(c, &s);
	if (rc == 1)
		return json_error(con, 409, "a service with this id or key group exists");
	if (rc != 0)
		return json_error(con, 500, "store write failed");
	struct kb_rec_service back;
	if (kb_ctl_service_get(c, s.id, &back) != 0)
		return json_error(con, 500, "store read failed");
	return reply_json(con, 201, service_json(c, &back));
}

static int list_services_cb(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
	void **a = arg;
	(void)k;
	(void)kl;
	struct kb_rec_service s;
	if (vl == sizeof(s)) {
		memcpy(&s, v, sizeof(s)); /* LMDB values are not aligned */
		json_array_append_new(a[0], service_json(a[1], &s));
	}
	return 0;
}

/* ---- bootstraps and the BSF simulator ---- */

static enum MHD_Result bootstraps_post(struct kb_ctl *c, struct MHD_Connection *con, json_t *o)
{
	json_t *arr = json_is_array(o) ? o : NULL;
	size_t n = arr != NULL ? json_array_size(arr) : 1, ok = 0;
	struct kb_store_batch *b = c->st->ops->batch_begin(c->st);
	char err[128], btid[KB_GBA_BTID_MAX];
	struct kb_rec_bootstrap rec;
	uint8_t val[KB_REC_ENC_MAX];
	size_t vl = 0;
	if (b == NULL)
		return json_error(con, 500, "store unavailable");
	for (size_t i = 0; i < n; i++) {
		json_t *e = arr != NULL ? json_array_get(arr, i) : o;
		snprintf(err, sizeof(err), "store write failed");
		if (!json_is_object(e) ||
		    kb_admin_bootstrap_from_json(e, kb_ctl_now(), btid, &rec, err, sizeof(err)) !=
			    0 ||
		    (vl = kb_rec_bootstrap_encode(&rec, val, sizeof(val))) == 0 ||
		    c->st->ops->batch_put(b, KB_ST_BOOTSTRAP, btid, strlen(btid), val, vl) != 0) {
			kb_memzero(&rec, sizeof(rec));
			kb_memzero(val, sizeof(val));
			c->st->ops->batch_abort(b);
			char msg[192];
			snprintf(msg, sizeof(msg), "record %zu: %s", i,
				 json_is_object(e) ? err : "not an object");
			return json_error(con, 400, msg);
		}
		kb_memzero(&rec, sizeof(rec));
		kb_memzero(val, sizeof(val));
		ok++;
	}
	if (c->st->ops->batch_commit(b) != 0)
		return json_error(con, 500, "store commit failed");
	return reply_json(con, 201, json_pack("{s:I}", "stored", (json_int_t)ok));
}

static enum MHD_Result subscriber_post(struct kb_ctl *c, struct MHD_Connection *con, json_t *o)
{
	struct kb_rec_subscriber s = {.version = KB_REC_VERSION};
	const char *impi = kb_admin_str_field(o, "impi", KB_IMPI_MAX);
	if (impi == NULL || kb_admin_hex_field(o, "k", s.k, 16, true) != 0 ||
	    kb_admin_hex_field(o, "opc", s.opc, 16, true) != 0)
		return json_error(con, 400, "impi, k (32 hex), opc (32 hex) required");
	int rc = c->st->ops->put(c->st, KB_ST_SUBSCRIBER, impi, strlen(impi), &s, sizeof(s));
	kb_memzero(&s, sizeof(s));
	if (rc != 0)
		return json_error(con, 500, "store write failed");
	return reply_json(con, 201, json_pack("{s:s}", "impi", impi));
}

static enum MHD_Result bsf_bootstrap(struct kb_ctl *c, struct MHD_Connection *con, json_t *o)
{
	const char *impi = kb_admin_str_field(o, "impi", KB_IMPI_MAX);
	uint8_t rand_in[16], rand_out[16];
	char btid[KB_GBA_BTID_MAX], hex[40];
	if (c->bsfsim == NULL)
		return json_error(con, 404, "the BSF simulator is not enabled");
	if (impi == NULL)
		return json_error(con, 400, "impi required");
	int r = kb_admin_hex_field(o, "rand", rand_in, 16, false);
	if (r < 0)
		return json_error(con, 400, "rand: 32 hex digits");
	int rc = kb_bsfsim_bootstrap(c->bsfsim, impi, r == 0 ? rand_in : NULL, btid, rand_out);
	if (rc == KB_KS_UNKNOWN)
		return json_error(con, 404, "unknown subscriber");
	if (rc != 0)
		return json_error(con, 500, "bootstrap failed");
	kb_hex_encode(rand_out, 16, hex);
	return reply_json(con, 201, json_pack("{s:s,s:s}", "btid", btid, "rand", hex));
}

/* ---- status ---- */

static json_t *addr_json(const struct kb_ue_addr *a)
{
	char ip[64] = "";
	if (a->af == AF_INET || a->af == AF_INET6)
		inet_ntop(a->af, a->ip, ip, sizeof(ip));
	return json_pack("{s:s,s:i}", "ip", ip, "port", (int)a->port);
}

static int reg_list_cb(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
	const char *key = k;
	size_t il = strnlen(key, kl);
	(void)v;
	(void)vl;
	if (il < kl)
		json_array_append_new(arg, json_stringn(key + il + 1, kl - il - 1));
	return 0;
}

static enum MHD_Result ue_status(struct kb_ctl *c, struct MHD_Connection *con, const char *impi)
{
	struct kb_rec_ue ue;
	uint8_t val[KB_REC_ENC_MAX];
	size_t len = 0;
	char pfx[KB_IMPI_MAX + 1];
	if (strlen(impi) >= KB_IMPI_MAX ||
	    c->st->ops->get(c->st, KB_ST_UE, impi, strlen(impi), val, sizeof(val), &len) != 0 ||
	    len > sizeof(val) || kb_rec_ue_decode(val, len, &ue) != 0)
		return json_error(con, 404, "unknown UE");
	json_t *regs = json_array();
	size_t pl = strlen(impi) + 1;
	memcpy(pfx, impi, pl);
	c->st->ops->iterate(c->st, KB_ST_REG, pfx, pl, reg_list_cb, regs);
	char csb[12];
	snprintf(csb, sizeof(csb), "%08x", ue.csb_id);
	return reply_json(con, 200,
			  json_pack("{s:s,s:s,s:s,s:o,s:I,s:o}", "impi", impi, "btid", ue.btid,
				    "csb_id", csb, "addr", addr_json(&ue.addr), "updated",
				    (json_int_t)ue.updated, "services", regs));
}

static enum MHD_Result sa_status(struct kb_ctl *c, struct MHD_Connection *con, const char *id)
{
	struct kb_rec_sa sa;
	uint8_t key[4], val[KB_REC_ENC_MAX];
	size_t len = 0;
	char rnd[40];
	if (strlen(id) != 8 || kb_hex_decode(id, 8, key, 4) != 4)
		return json_error(con, 400, "csb_id: 8 hex digits");
	int rc = c->st->ops->get(c->st, KB_ST_SA, key, 4, val, sizeof(val), &len);
	if (rc == 0 && (len > sizeof(val) || kb_rec_sa_decode(val, len, &sa) != 0))
		rc = -1;
	kb_memzero(val, sizeof(val));
	if (rc != 0)
		return json_error(con, 404, "unknown SA");
	kb_hex_encode(sa.rand, 16, rnd);
	json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:i,s:o,s:I,s:I}", "csb_id", id, "impi", sa.impi,
			      "idr", sa.idr, "rand", rnd, "key_group", (int)sa.key_group, "addr",
			      addr_json(&sa.addr), "created", (json_int_t)sa.created, "muk_expires",
			      (json_int_t)sa.muk_expires);
	kb_memzero(&sa, sizeof(sa));
	return reply_json(con, 200, j);
}

static enum MHD_Result stats(struct kb_ctl *c, struct MHD_Connection *con)
{
	json_t *tables = json_object();
	for (int t = 0; t < KB_ST_COUNT; t++)
		json_object_set_new(tables, kb_store_table_name(t),
				    json_integer((json_int_t)c->st->ops->count(c->st, t)));
	json_t *dp = json_object();
	struct kb_ctl_stat st[64];
	size_t n = c->hooks.read_stats != NULL ? c->hooks.read_stats(c->hooks.ctx, st, 64) : 0;
	for (size_t i = 0; i < n && i < 64; i++)
		json_object_set_new(dp, st[i].name, json_integer((json_int_t)st[i].value));
	json_t *auth = json_object();
	for (int r = 0; r < KB_AUTH_REASONS; r++) {
		uint64_t v = atomic_load(&c->auth_fail[r]);
		if (v != 0)
			json_object_set_new(
				auth, r == KB_AUTH_EXPIRED ? "expired" : kb_digest_result_name(r),
				json_integer((json_int_t)v));
	}
	return reply_json(con, 200,
			  json_pack("{s:o,s:o,s:o,s:I,s:I,s:I,s:I}", "store", tables, "dataplane",
				    dp, "auth_failures", auth, "jobs_posted",
				    (json_int_t)atomic_load(&c->jobs_posted), "jobs_refused",
				    (json_int_t)atomic_load(&c->jobs_refused), "sas_created",
				    (json_int_t)atomic_load(&c->sas_created), "counter_floor",
				    (json_int_t)c->st->ops->counter_floor(c->st)));
}

/* ---- routing ---- */

static enum MHD_Result route_json(struct kb_ctl *c, struct MHD_Connection *con, const char *url,
				  const char *method, struct adm_req *r)
{
	bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
	json_t *body = NULL;
	enum MHD_Result ret;
	char err[160];
	if (post) {
		json_error_t je;
		if (r->too_large)
			return json_error(con, 413, "body too large");
		body = json_loadb(r->body != NULL ? r->body : "", r->len, JSON_REJECT_DUPLICATES,
				  &je);
		if (body == NULL && r->len > 0) {
			snprintf(err, sizeof(err), "malformed JSON: %.120s", je.text);
			return json_error(con, 400, err);
		}
		if (body == NULL)
			body = json_object();
	}
	if (strcmp(url, "/v1/stats") == 0 && get) {
		ret = stats(c, con);
	} else if (strcmp(url, "/v1/services") == 0 && get) {
		json_t *arr = json_array();
		void *a[2] = {arr, c};
		c->st->ops->iterate(c->st, KB_ST_SERVICE, NULL, 0, list_services_cb, a);
		ret = reply_json(con, 200, arr);
	} else if (strcmp(url, "/v1/services") == 0 && post) {
		ret = json_is_object(body) ? service_create(c, con, body)
					   : json_error(con, 400, "a JSON object is required");
	} else if (strncmp(url, "/v1/services/", 13) == 0) {
		char id[KB_SERVICE_ID_MAX];
		const char *rest = url + 13, *action = NULL;
		const char *slash = strrchr(rest, '/');
		if (slash != NULL &&
		    (strcmp(slash, "/rollover") == 0 || strcmp(slash, "/solicit") == 0)) {
			action = slash + 1;
		} else {
			slash = rest + strlen(rest);
		}
		size_t il = (size_t)(slash - rest);
		struct kb_rec_service svc;
		if (il == 0 || il >= sizeof(id)) {
			ret = json_error(con, 404, "no such service");
			goto out;
		}
		memcpy(id, rest, il);
		id[il] = '\0';
		if (kb_ctl_service_get(c, id, &svc) != 0) {
			ret = json_error(con, 404, "no such service");
		} else if (action == NULL && get) {
			ret = reply_json(con, 200, service_json(c, &svc));
		} else if (action != NULL && strcmp(action, "rollover") == 0 && get) {
			ret = reply_json(con, 200, service_json(c, &svc));
		} else if (action != NULL && strcmp(action, "rollover") == 0 && post) {
			json_t *at = json_object_get(body, "at");
			if (at != NULL && json_is_integer(at) &&
			    json_integer_value(at) > kb_ctl_now()) {
				/* scheduled: the timer thread starts it */
				pthread_mutex_lock(&c->writer);
				if (kb_ctl_service_get(c, id, &svc) == 0) {
					svc.next_rollover = json_integer_value(at);
					c->st->ops->put(c->st, KB_ST_SERVICE, id, strlen(id), &svc,
							sizeof(svc));
				}
				pthread_mutex_unlock(&c->writer);
				ret = reply_json(con, 202,
						 json_pack("{s:s,s:I}", "scheduled", id, "at",
							   (json_int_t)json_integer_value(at)));
			} else if (at != NULL && !json_is_integer(at)) {
				ret = json_error(con, 400, "at: unix seconds");
			} else if (kb_ctl_rollover_start(c, id, err, sizeof(err)) != 0) {
				ret = json_error(con, 503, err);
			} else {
				kb_ctl_service_get(c, id, &svc);
				ret = reply_json(con, 202, service_json(c, &svc));
			}
		} else if (action != NULL && strcmp(action, "solicit") == 0 && post) {
			const char *impi = kb_admin_str_field(body, "impi", KB_IMPI_MAX);
			uint64_t posted = 0;
			if (kb_ctl_solicit(c, id, impi, &posted, err, sizeof(err)) != 0)
				ret = json_error(con, strstr(err, "unknown") != NULL ? 404 : 503,
						 err);
			else
				ret = reply_json(con, 202,
						 json_pack("{s:I}", "posted", (json_int_t)posted));
		} else {
			ret = json_error(con, 405, "method not allowed");
		}
	} else if (strcmp(url, "/v1/bootstraps") == 0 && post) {
		ret = bootstraps_post(c, con, body);
	} else if (strcmp(url, "/v1/subscribers") == 0 && post) {
		ret = json_is_object(body) ? subscriber_post(c, con, body)
					   : json_error(con, 400, "a JSON object is required");
	} else if (strcmp(url, "/v1/bsf/bootstrap") == 0 && post) {
		ret = json_is_object(body) ? bsf_bootstrap(c, con, body)
					   : json_error(con, 400, "a JSON object is required");
	} else if (strncmp(url, "/v1/ues/", 8) == 0 && get) {
		ret = ue_status(c, con, url + 8);
	} else if (strncmp(url, "/v1/sas/", 8) == 0 && get) {
		ret = sa_status(c, con, url + 8);
	} else {
		ret = json_error(con, 404, "no such resource");
	}
out:
	json_decref(body);
	return ret;
}

static enum MHD_Result admin_handler(void *cls, struct MHD_Connection *con, const char *url,
				     const char *method, const char *version,
				     const char *upload_data, size_t *upload_data_size,
				     void **con_cls)
{
	struct kb_ctl *c = cls;
	struct adm_req *r = *con_cls;
	(void)version;
	if (r == NULL) {
		bool open = !c->cfg.metrics_auth || authorized(c, con);
		if (strcmp(url, "/healthz") == 0 && open)
			return kb_http_reply(con, 200, "text/plain", "ok\n", 3, NULL);
		if (strcmp(url, "/metrics") == 0 && open) {
			size_t len = 0;
			char *m = kb_ctl_metrics_text(c, &len);
			if (m == NULL)
				return kb_http_error(con, 500, "metrics");
			enum MHD_Result ret = kb_http_reply(
				con, 200, "text/plain; version=0.0.4; charset=utf-8", m, len, NULL);
			free(m);
			return ret;
		}
		if (!authorized(c, con)) {
			const char *hdrs[] = {MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					      "Bearer realm=\"keyburst-admin\"", NULL};
			static const char msg[] = "{\"error\":\"bearer token required\"}";
			return kb_http_reply(con, 401, "application/json", msg, sizeof(msg) - 1,
					     hdrs);
		}
		r = calloc(1, sizeof(*r));
		if (r == NULL)
			return MHD_NO;
		*con_cls = r;
		r->kind = ADM_JSON;
		if (strcmp(method, "POST") == 0 && strcmp(url, "/v1/import/roster") == 0)
			r->kind = ADM_IMPORT_ROSTER;
		else if (strcmp(method, "POST") == 0 && strcmp(url, "/v1/import/bootstraps") == 0)
			r->kind = ADM_IMPORT_BOOTSTRAPS;
		if (r->kind != ADM_JSON) {
			struct kb_rec_service svc;
			uint32_t lifetime = 86400;
			const char *sid =
				MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, "service");
			const char *lt =
				MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, "lifetime");
			if (lt != NULL)
				lifetime = (uint32_t)strtoul(lt, NULL, 10);
			if (sid != NULL && kb_ctl_service_get(c, sid, &svc) != 0)
				return json_error(con, 404, "no such service");
			r->im = kb_import_new(c,
					      r->kind == ADM_IMPORT_ROSTER ? KB_IMPORT_ROSTER
									   : KB_IMPORT_BOOTSTRAPS,
					      sid != NULL ? &svc : NULL, lifetime);
			if (r->im == NULL)
				return MHD_NO;
		}
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (r->im != NULL) {
			kb_import_feed(r->im, upload_data, n);
			return MHD_YES;
		}
		return kb_http_body_append(&r->body, &r->len, &r->cap, &r->too_large, upload_data,
					   n, ADMIN_JSON_MAX)
			       ? MHD_YES
			       : MHD_NO;
	}
	if (r->im != NULL) {
		bool failed = false;
		json_t *j = kb_import_finish(r->im, &failed);
		return reply_json(con, failed ? 500 : 200, j);
	}
	if (r->kind != ADM_JSON)
		return json_error(con, 404, "no such service");
	return route_json(c, con, url, method, r);
}

static void admin_done(void *cls, struct MHD_Connection *con, void **con_cls,
		       enum MHD_RequestTerminationCode toe)
{
	struct adm_req *r = *con_cls;
	(void)cls;
	(void)con;
	(void)toe;
	if (r == NULL)
		return;
	kb_import_free(r->im);
	free(r->body);
	free(r);
	*con_cls = NULL;
}

struct MHD_Daemon *kb_ctl_admin_server_start(struct kb_ctl *c, char *err, size_t errlen)
{
	return kb_http_start(c->cfg.admin_addr, c->cfg.admin_port, c->cfg.http_threads, NULL, NULL,
			     admin_handler, c, admin_done, err, errlen);
}
