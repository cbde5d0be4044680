#!/bin/bash
# The control plane's UE and admin listeners against real curl (issue 4):
# registration and MSK request with curl --digest (200, per-item status
# codes, the deliver-MSK job for that UE), and every refusal. Passwords are
# computed here independently (openssl dgst HMAC, base64), never by our code.
set -eu
HARNESS=$1
VECTORS=$2
KEYBURST=$3
. "$(dirname "$0")/ctl_lib.sh"

ctl_setup
start_harness h --store db --record rec.log --token $TOK --ue-port $UP --admin-port $AP \
	--max-body 4096 --bsf-sim --auto-ack --fqdn bmsc.example.org

admin() { curl -s -H "Authorization: Bearer $TOK" "$@"; }
code() { curl -s -o body.out -w '%{http_code}' "$@"; }

# --- admin API: token required ---
expect_eq "admin without token" "$(code $ADM/v1/services)" 401
expect_eq "admin wrong token" "$(code -H 'Authorization: Bearer nope' $ADM/v1/services)" 401
expect_eq "healthz" "$(code $ADM/healthz)" 200

expect_eq "create service 1" "$(code -H "Authorization: Bearer $TOK" \
	-d '{"id":"urn:svc:tv1","key_domain":"62f210","key_group":1,"retries":2}' $ADM/v1/services)" 201
expect_eq "create service 2" "$(code -H "Authorization: Bearer $TOK" \
	-d '{"id":"urn:svc:tv2","key_domain":"62f210","key_group":2,"ack_wanted":false}' $ADM/v1/services)" 201
expect_eq "duplicate key group" "$(code -H "Authorization: Bearer $TOK" \
	-d '{"id":"urn:svc:tv3","key_domain":"62f210","key_group":2}' $ADM/v1/services)" 409
expect_eq "bad service JSON" "$(code -H "Authorization: Bearer $TOK" -d '{"id":' $ADM/v1/services)" 400

# --- bootstraps: GBA_U with NAF keys (MRK = Ks_ext_NAF), an expired one ---
KSE=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
KSI=1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100
BTID='AAECAwQFBgcICQoLDA0ODw==@bsf.example.org'
BTID_OLD='DwAAAAAAAAAAAAAAAAAAAA==@bsf.example.org'
expect_eq "provision bootstraps" "$(code -H "Authorization: Bearer $TOK" -d "[
 {\"btid\":\"$BTID\",\"impi\":\"ue1@ims.example.org\",\"mode\":\"GBA_U\",\"ks_ext_naf\":\"$KSE\",\"ks_int_naf\":\"$KSI\",\"lifetime\":600},
 {\"btid\":\"$BTID_OLD\",\"impi\":\"ue2@ims.example.org\",\"mode\":\"GBA_U\",\"ks_ext_naf\":\"$KSE\",\"ks_int_naf\":\"$KSI\",\"expires\":1000}]" \
	$ADM/v1/bootstraps)" 201
PW=$(printf %s $KSE | xxd -r -p | base64)

cat >reg.xml <<X
<?xml version="1.0"?>
<mbmsUserServiceRegistration xmlns="urn:3GPP:metadata:2005:MBMS:userServiceRegistration">
  <serviceId>urn:svc:tv1</serviceId>
  <serviceId>urn:svc:unknown</serviceId>
</mbmsUserServiceRegistration>
X
cat >msk.xml <<X
<mskRequest xmlns="urn:3GPP:metadata:2005:MBMS:mskRequest">
  <keyDomainId>62F210</keyDomainId>
  <mskId>00010000</mskId>
  <mskId>00020000</mskId>
  <mskId>00090000</mskId>
</mskRequest>
X
REGCT='Content-Type: application/mbms-register+xml'
MSKCT='Content-Type: application/mbms-msk+xml'

# --- registration ---
expect_eq "register (curl --digest)" "$(code --digest -u "$BTID:$PW" --data-binary @reg.xml -H "$REGCT" $UE/mbms/v1/register)" 200
expect_grep "register: known service 200" 'serviceId="urn:svc:tv1" statusCode="200"' body.out
expect_grep "register: unknown service 404" 'serviceId="urn:svc:unknown" statusCode="404"' body.out
expect_grep "SA published for the UE" "publish csb=.* idr=$BTID group=1 addr=127.0.0.1:4359" rec.log
CSB=$(grep -m1 "idr=$BTID" rec.log | sed 's/.*csb=\([0-9a-f]*\).*/\1/')

# --- MSK request, with rspauth checked by curl's -v trace ---
expect_eq "MSK request (curl --digest)" "$(curl -s -v -o body.out -w '%{http_code}' --digest -u "$BTID:$PW" \
	--data-binary @msk.xml -H "$MSKCT" $UE/mbms/v1/msk 2>trace.txt)" 200
expect_grep "Authentication-Info with rspauth" '< Authentication-Info: .*rspauth=' trace.txt
expect_grep "MSK response media type" '< Content-Type: application/mbms-msk-response+xml' trace.txt
expect_grep "msk 00010000 registered: 200" 'mskId="00010000" statusCode="200"' body.out
expect_grep "msk 00020000 not registered: 403" 'mskId="00020000" statusCode="403"' body.out
expect_grep "msk 00090000 unknown group: 404" 'mskId="00090000" statusCode="404"' body.out
expect_grep "deliver-MSK job for that UE, current key number" \
	"job deliver csb=$CSB msk_id=00010001 domain=62f210 ack=1 retries=2" rec.log
expect_eq "only one deliver job" "$(grep -c 'job deliver' rec.log)" 1

# --- replayed nc: the Authorization header curl just sent, again ---
AUTHZ=$(grep -m2 '^> Authorization: Digest' trace.txt | tail -1 | sed 's/^> //; s/\r$//')
[ -n "$AUTHZ" ] || fail "no Authorization header in the trace"
expect_eq "replayed nc → 401" "$(code -H "$AUTHZ" --data-binary @msk.xml -H "$MSKCT" $UE/mbms/v1/msk)" 401
expect_eq "replayed nc again → 401" "$(code -H "$AUTHZ" --data-binary @msk.xml -H "$MSKCT" $UE/mbms/v1/msk)" 401
expect_eq "still one deliver job" "$(grep -c 'job deliver' rec.log)" 1

# --- refusals ---
expect_eq "wrong password → 401" "$(code --digest -u "$BTID:AAAA$PW" --data-binary @msk.xml -H "$MSKCT" $UE/mbms/v1/msk)" 401
expect_grep "401 carries a fresh challenge" 'authentication required' body.out
expect_eq "unknown B-TID → 401" "$(code --digest -u "AAAAAAAAAAAAAAAAAAAAAA==@bsf.example.org:$PW" --data-binary @msk.xml -H "$MSKCT" $UE/mbms/v1/msk)" 401
expect_eq "expired B-TID → 401" "$(code --digest -u "$BTID_OLD:$PW" --data-binary @msk.xml -H "$MSKCT" $UE/mbms/v1/msk)" 401
printf '<mskRequest xmlns="urn:3GPP:metadata:2005:MBMS:mskRequest"><keyDomainId>62f210</keyDomainId><mskId>0001' >bad.xml
expect_eq "malformed XML → 400" "$(code --digest -u "$BTID:$PW" --data-binary @bad.xml -H "$MSKCT" $UE/mbms/v1/msk)" 400
expect_grep "malformed XML: clear error" 'error: malformed XML' body.out
printf '<mskRequest xmlns="urn:example:wrong"><keyDomainId>62f210</keyDomainId><mskId>00010000</mskId></mskRequest>' >ns.xml
expect_eq "wrong namespace → 400" "$(code --digest -u "$BTID:$PW" --data-binary @ns.xml -H "$MSKCT" $UE/mbms/v1/msk)" 400
expect_grep "wrong namespace: clear error" 'must be in namespace' body.out
printf '<!DOCTYPE x [<!ENTITY a "aaaa">]><mskRequest xmlns="urn:3GPP:metadata:2005:MBMS:mskRequest"><keyDomainId>62f210</keyDomainId><mskId>&a;</mskId></mskRequest>' >dtd.xml
expect_eq "DTD → 400" "$(code --digest -u "$BTID:$PW" --data-binary @dtd.xml -H "$MSKCT" $UE/mbms/v1/msk)" 400
expect_eq "wrong media type → 400" "$(code --digest -u "$BTID:$PW" --data-binary @msk.xml -H 'Content-Type: application/xml' $UE/mbms/v1/msk)" 400
expect_grep "wrong media type: clear error" 'Content-Type must be application/mbms-msk+xml' body.out
head -c 5000 /dev/zero | tr '\0' 'x' >big.xml
expect_eq "body over the limit → 413" "$(code --digest -u "$BTID:$PW" --data-binary @big.xml -H "$MSKCT" $UE/mbms/v1/msk)" 413
expect_eq "GET → 405" "$(code $UE/mbms/v1/msk)" 405
expect_eq "unknown path → 404" "$(code -X POST $UE/nope)" 404
expect_eq "no deliver job from refusals" "$(grep -c 'job deliver' rec.log)" 1

# --- BSF simulator on the TS 35.208 set 1 / gba-1.json vector ---
J=$VECTORS/gba-1.json
jv() { sed -n "s/.*\"$1\": \"\([^\"]*\)\".*/\1/p" "$J" | head -1; }
IMPI=$(jv impi)
expect_eq "subscriber" "$(code -H "Authorization: Bearer $TOK" -d "{\"impi\":\"$IMPI\",\"k\":\"$(jv k)\",\"opc\":\"$(jv opc)\"}" $ADM/v1/subscribers)" 201
expect_eq "BSF bootstrap" "$(code -H "Authorization: Bearer $TOK" -d "{\"impi\":\"$IMPI\",\"rand\":\"$(jv rand)\"}" $ADM/v1/bsf/bootstrap)" 201
SBTID=$(sed -n 's/.*"btid":"\([^"]*\)".*/\1/p' body.out)
# GBA_ME: MRK = KDF(Ks_NAF, FC 01, "MBMS-MRK") = HMAC-SHA-256(Ks_NAF, 01 "MBMS-MRK" 00 08)
SPW=$(printf '\001MBMS-MRK\000\010' | openssl dgst -sha256 -mac HMAC -macopt hexkey:$(jv ks_naf) -binary | base64)
expect_eq "BSF-sim UE registers with the vector's keys" "$(code --digest -u "$SBTID:$SPW" --data-binary @reg.xml -H "$REGCT" $UE/mbms/v1/register)" 200
expect_eq "BSF-sim UE, wrong key → 401" "$(code --digest -u "$SBTID:$PW" --data-binary @reg.xml -H "$REGCT" $UE/mbms/v1/register)" 401

# --- deregistration, then the MSK request is refused per key (403) ---
cat >dereg.xml <<X
<mbmsUserServiceDeregistration xmlns="urn:3GPP:metadata:2005:MBMS:userServiceDeregistration">
  <serviceId>urn:svc:tv1</serviceId>
</mbmsUserServiceDeregistration>
X
expect_eq "deregister" "$(code --digest -u "$BTID:$PW" --data-binary @dereg.xml -H 'Content-Type: application/mbms-deregister+xml' $UE/mbms/v1/deregister)" 200
expect_grep "deregister: 200" 'serviceId="urn:svc:tv1" statusCode="200"' body.out
expect_eq "MSK after deregistration" "$(code --digest -u "$BTID:$PW" --data-binary @msk.xml -H "$MSKCT" $UE/mbms/v1/msk)" 200
expect_grep "msk 00010000 after deregistration: 403" 'mskId="00010000" statusCode="403"' body.out
expect_eq "re-register" "$(code --digest -u "$BTID:$PW" --data-binary @reg.xml -H "$REGCT" $UE/mbms/v1/register)" 200

# --- rollover (auto-acks complete it) and solicited pull ---
expect_eq "rollover now" "$(code -H "Authorization: Bearer $TOK" -X POST $ADM/v1/services/urn:svc:tv1/rollover)" 202
expect_grep "rollover job, key number 2" 'job rollover group=1 msk_id=00010002 domain=62f210' rec.log
for _ in $(seq 1 50); do
	admin $ADM/v1/services/urn:svc:tv1/rollover >roll.json
	grep -q '"current_key_number":2' roll.json && break
	sleep 0.1
done
expect_grep "rollover complete: current key number 2" '"current_key_number":2' roll.json
expect_grep "rollover progress counted" '"delivered":2' roll.json
expect_eq "MSK after rollover" "$(code --digest -u "$BTID:$PW" --data-binary @msk.xml -H "$MSKCT" $UE/mbms/v1/msk)" 200
expect_grep "key number 0 now means the new MSK" "job deliver csb=$CSB msk_id=00010002" rec.log
expect_eq "solicited pull" "$(code -H "Authorization: Bearer $TOK" -d '{"impi":"ue1@ims.example.org"}' $ADM/v1/services/urn:svc:tv1/solicit)" 202
expect_grep "solicit job, key number 0" "job solicit csb=$CSB msk_id=00010000" rec.log

# --- status, stats, metrics ---
expect_eq "UE status" "$(code -H "Authorization: Bearer $TOK" $ADM/v1/ues/ue1@ims.example.org)" 200
expect_grep "UE status lists the SA" "\"csb_id\":\"$CSB\"" body.out
expect_eq "SA status" "$(code -H "Authorization: Bearer $TOK" $ADM/v1/sas/$CSB)" 200
expect_eq "stats" "$(code -H "Authorization: Bearer $TOK" $ADM/v1/stats)" 200
expect_grep "stats: dataplane counters via the hook" '"harness_jobs_total"' body.out
curl -s $ADM/metrics >metrics.txt
expect_grep "metrics: msk 200" 'kb_http_requests_total{endpoint="msk",code="200"} ' metrics.txt
expect_grep "metrics: 413 counted" 'kb_http_requests_total{endpoint="msk",code="413"} 1' metrics.txt
expect_grep "metrics: replay counted" 'kb_auth_failures_total{reason="replay"} 2' metrics.txt
expect_grep "metrics: expired counted" 'kb_auth_failures_total{reason="expired"} 1' metrics.txt
expect_grep "metrics: rollover progress" 'kb_rollover_delivered{service="urn:svc:tv1",msk_id="00010002"} 2' metrics.txt
expect_grep "metrics: dataplane counter" 'kb_dataplane_harness_jobs_total ' metrics.txt

# --- the keyburst admin CLI (libcurl): a rollover watched to completion ---
KA="$KEYBURST admin --url $ADM --token $TOK"
$KA rollover urn:svc:tv1 --watch --timeout 20 >cli.out 2>cli.err || { cat cli.err >&2; fail "CLI rollover --watch"; }
expect_grep "CLI progress bar reached 100%" '100%  2/2 delivered, 0 failed' cli.err
expect_grep "CLI rollover job, key number 3" 'job rollover group=1 msk_id=00010003' rec.log
$KA stats >cli.out || fail "CLI stats"
expect_grep "CLI stats" '"sa":' cli.out
if KEYBURST_ADMIN_TOKEN= $KEYBURST admin --url $ADM stats 2>/dev/null; then fail "CLI without a token"; fi
pass "CLI refuses to run without a token"
if $KEYBURST admin --url $ADM --token wrong-token stats 2>/dev/null; then fail "CLI with a wrong token"; fi
pass "CLI reports a refused token"
# --- a cached bootstrap still expires: the UE listener caches credentials
# per thread for a few seconds, so a UE keeps one connection (one server
# thread) and asks every 0.5 s across its bootstrap's 2 s lifetime: once
# refused it must stay refused, and the refusals count as "expired" ---
BTID_SHORT='AQEBAQEBAQEBAQEBAQEBAQ==@bsf.example.org'
expect_eq "provision a 2 s bootstrap" "$(code -H "Authorization: Bearer $TOK" -d "[
 {\"btid\":\"$BTID_SHORT\",\"impi\":\"ue1@ims.example.org\",\"mode\":\"GBA_U\",\"ks_ext_naf\":\"$KSE\",\"ks_int_naf\":\"$KSI\",\"lifetime\":2}]" \
	$ADM/v1/bootstraps)" 201
U=$UE/mbms/v1/msk
curl -s --rate 120/m --digest -u "$BTID_SHORT:$PW" --data-binary @msk.xml -H "$MSKCT" \
	-w '%{http_code} %{num_connects}\n' -o /dev/null -o /dev/null -o /dev/null -o /dev/null \
	-o /dev/null -o /dev/null -o /dev/null -o /dev/null $U $U $U $U $U $U $U $U >short.txt
tr '\n' ' ' <short.txt | grep -Eq '^(200 [01] )+(401 [01] )+$' ||
	fail "short-lived B-TID: want 200s then only 401s, got: $(tr '\n' ' ' <short.txt)"
pass "short-lived B-TID: accepted, then refused once expired ($(tr '\n' ' ' <short.txt | tr -s ' '))"
curl -s $ADM/metrics >metrics.txt
N401=$(grep -c '^401' short.txt)
expect_grep "metrics: the expired refusals counted" \
	"kb_auth_failures_total{reason=\"expired\"} $((1 + N401))" metrics.txt
echo "all control-plane HTTP checks passed"
