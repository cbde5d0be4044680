#!/bin/bash
# keyburst-uesim --mode http against the control plane (ctl_harness, real
# kb_sa_record_build): 2,000 imported UEs register and request MSKs over
# HTTP Digest with 32 connections and a rate limit. Checks uesim's counts
# against the server's own /metrics (and job counter), the achieved rate
# against --rate, and a run where some UEs have a wrong password: exactly
# those fail, the server counts exactly that many bad Digest responses, and
# their right password (computed here with openssl, not by our code) works.
set -eu
HARNESS=$1
UESIM=$2
KEYBURST=$3
. "$(dirname "$0")/ctl_lib.sh"

ctl_setup
N=2000
SVC=urn:svc:load
start_harness h --store db --record rec.log --token $TOK --ue-port $UP --admin-port $AP \
	--real-sa --quiet
admin() { curl -sf -H "Authorization: Bearer $TOK" "$@"; }
# jv FILE KEY[.KEY...]: a field of a JSON file
jv() {
	python3 -c 'import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v[k]
print(v)' "$1" "$2"
}
# metric NAME{LABELS}: its value on /metrics (0 when absent)
metric() { curl -s $ADM/metrics | awk -v k="$1" '$1 == k { v = $2 } END { print v + 0 }'; }
# le A B: A <= B, for decimals
le() { python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) <= float(sys.argv[2]) else 1)' "$1" "$2"; }

admin -d "{\"id\":\"$SVC\",\"key_domain\":\"62f210\",\"key_group\":1,\"ack_wanted\":false}" \
	$ADM/v1/services >/dev/null || fail "create service"
"$KEYBURST" roster gen --count $N --seed 7 >r.csv
admin -H 'Content-Type: text/csv' --data-binary @r.csv "$ADM/v1/import/roster?service=$SVC" \
	>import.json || fail "roster import"
expect_grep "roster imported" "\"imported\":$N" import.json

U=("$UESIM" --mode http --roster r.csv --url "$UE" --service "$SVC" --progress 0)

# --- run A: every UE registers and asks for the MSK once, 32 connections ---
RATE_A=1500
"${U[@]}" --concurrency 32 --rate $RATE_A --json a.json --failures fa.txt ||
	{ cat a.json >&2; fail "uesim run A exit status"; }
expect_eq "A: UEs" "$(jv a.json ues)" $N
expect_eq "A: every UE registered" "$(jv a.json registered)" $N
expect_eq "A: registrations ok" "$(jv a.json registrations.ok)" $N
expect_eq "A: registrations failed" "$(jv a.json registrations.failed)" 0
expect_eq "A: every MSK request answered 200" "$(jv a.json msk_requests.ok)" $N
expect_eq "A: MSK requests failed" "$(jv a.json msk_requests.failed)" 0
expect_eq "A: no failure lines" "$(wc -l <fa.txt)" 0
le "$(jv a.json req_per_s)" "$(echo "$RATE_A * 1.1" | bc)" ||
	fail "A: $(jv a.json req_per_s) req/s above --rate $RATE_A + 10%"
pass "A: $(jv a.json req_per_s) req/s, not above --rate $RATE_A + 10%"
# the server's side of the same run
expect_eq "A: server register 200 = uesim's" \
	"$(metric 'kb_http_requests_total{endpoint="register",code="200"}')" $N
expect_eq "A: server msk 200 = uesim's" \
	"$(metric 'kb_http_requests_total{endpoint="msk",code="200"}')" $N
expect_eq "A: server deliver jobs = uesim's MSK answers" "$(metric kb_jobs_posted_total)" $N
S401=$(($(metric 'kb_http_requests_total{endpoint="register",code="401"}') + \
	$(metric 'kb_http_requests_total{endpoint="msk",code="401"}')))
expect_eq "A: server 401s = uesim's 401 rounds" "$S401" "$(jv a.json unauthorized_roundtrips)"
expect_eq "A: one Digest challenge per UE" "$(metric 'kb_auth_failures_total{reason="missing"}')" $N
expect_eq "A: no bad Digest response" "$(metric 'kb_auth_failures_total{reason="bad_response"}')" 0

# --- run B: the rate limit, MSK requests only (registered above), 3 s ---
RATE_B=400
"${U[@]}" --no-register --msk-per-ue 0 --concurrency 32 --rate $RATE_B --duration 3 \
	--warmup 0.5 --json b.json || { cat b.json >&2; fail "uesim run B exit status"; }
B_RPS=$(jv b.json req_per_s)
le "$B_RPS" "$(echo "$RATE_B * 1.1" | bc)" || fail "B: $B_RPS req/s above --rate $RATE_B + 10%"
le "$(echo "$RATE_B * 0.7" | bc)" "$B_RPS" || fail "B: $B_RPS req/s far below --rate $RATE_B"
pass "B: $B_RPS req/s for --rate $RATE_B (within -30%..+10%)"
expect_eq "B: no failed MSK request" "$(jv b.json msk_requests.failed)" 0
expect_eq "B: server msk 200 = A's + B's" \
	"$(metric 'kb_http_requests_total{endpoint="msk",code="200"}')" \
	$((N + $(jv b.json msk_requests.ok)))
le 0.01 "$(jv b.json latency_us.p50)" || fail "B: no latency"
le "$(jv b.json latency_us.p50)" "$(jv b.json latency_us.p99)" || fail "B: p50 > p99"
pass "B: latency p50 $(jv b.json latency_us.p50) us <= p99 $(jv b.json latency_us.p99) us"

# --- run C: 5% of the UEs with a wrong password ---
BAD0=$(metric 'kb_auth_failures_total{reason="bad_response"}')
REG0=$(metric 'kb_http_requests_total{endpoint="register",code="200"}')
# exit 0: the only failures are the expected ones
"${U[@]}" --concurrency 32 --rate 2000 --bad-password 0.05 --seed 3 --json c.json \
	--failures fc.txt || { cat c.json >&2; fail "C: uesim exit status"; }
NBAD=$(jv c.json bad_password_ues)
expect_eq "C: 5% of the UEs given a wrong password" "$NBAD" $((N / 20))
expect_eq "C: exactly those refused" "$(jv c.json bad_password_refused)" "$NBAD"
expect_eq "C: registrations failed" "$(jv c.json registrations.failed)" "$NBAD"
expect_eq "C: final 401s" "$(jv c.json http_errors.401)" "$NBAD"
expect_eq "C: the others registered" "$(jv c.json registrations.ok)" $((N - NBAD))
expect_eq "C: and got their MSK" "$(jv c.json msk_requests.ok)" $((N - NBAD))
expect_eq "C: no wrong password accepted" "$(jv c.json bad_password_accepted)" 0
expect_eq "C: no unexpected failure" "$(jv c.json unexpected_failures)" 0
expect_eq "C: one failure line per bad UE" "$(awk '$2 == "register" && $3 == "401"' fc.txt | wc -l)" "$NBAD"
expect_eq "C: server counted the bad Digest responses" \
	"$(($(metric 'kb_auth_failures_total{reason="bad_response"}') - BAD0))" "$NBAD"
expect_eq "C: server registered the others" \
	"$(($(metric 'kb_http_requests_total{endpoint="register",code="200"}') - REG0))" $((N - NBAD))
# the refused UEs are real UEs: their right password (GBA_ME MRK =
# HMAC-SHA-256(Ks_NAF, 01 "MBMS-MRK" 00 08), base64) is accepted
cat >reg.xml <<X
<mbmsUserServiceRegistration xmlns="urn:3GPP:metadata:2005:MBMS:userServiceRegistration"><serviceId>$SVC</serviceId></mbmsUserServiceRegistration>
X
for BT in $(awk '{print $1}' fc.txt | head -3); do
	KS=$(awk -F, -v b="$BT" '$2 == b {print $3}' r.csv)
	[ -n "$KS" ] || fail "C: $BT not in the roster"
	PW=$(printf '\001MBMS-MRK\000\010' | openssl dgst -sha256 -mac HMAC -macopt hexkey:$KS -binary | base64)
	expect_eq "C: refused UE $BT registers with its right password" \
		"$(curl -s -o body.out -w '%{http_code}' --digest -u "$BT:$PW" --data-binary @reg.xml \
			-H 'Content-Type: application/mbms-register+xml' $UE/mbms/v1/register)" 200
	expect_grep "C: ... and statusCode 200" "serviceId=\"$SVC\" statusCode=\"200\"" body.out
done

# --- run D: an MSK ID the service does not have: every answer is checked ---
if "${U[@]}" --no-register --msk-id 00090000 --concurrency 4 --requests 40 --json d.json \
	--failures fd.txt; then
	fail "D: uesim exited 0 although every item was 404"
fi
pass "D: uesim exits non-zero on per-item 404s"
expect_eq "D: no MSK answer taken as ok" "$(jv d.json msk_requests.ok)" 0
expect_eq "D: answers are HTTP 200 with a bad item" "$(jv d.json http_errors.bad_answer)" \
	"$(jv d.json msk_requests.failed)"
le 4 "$(jv d.json msk_requests.failed)" || fail "D: too few requests"
expect_grep "D: failure lines name the reason" ' msk bad-answer' fd.txt
echo "all uesim http checks passed"
