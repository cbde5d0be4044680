#!/bin/bash
# A registration answered 200 is on disk: 8 clients (curl --digest, one
# process per request) register imported UEs to a second service from
# 127.0.0.1 (the UE moves: registration record, new SA and UE record in one
# group-committed transaction) and note every 200 whose item says 200; the
# control plane is killed -9 in the middle of that load; restarted on the
# same store, every noted UE has the registration, a UE record at
# 127.0.0.1, and that record's SA exists and was published again.
# Passwords are computed here with Python's hmac (GBA_ME MRK), not by our code.
set -eu
HARNESS=$1
KEYBURST=$2
. "$(dirname "$0")/ctl_lib.sh"

LOOPS=
ctl_setup 'for p in $LOOPS; do kill $p 2>/dev/null || true; done'
ARGS="--store db --token $TOK --ue-port $UP --admin-port $AP --real-sa"
admin() { curl -sf -H "Authorization: Bearer $TOK" "$@"; }
N=600
SVC1=urn:svc:imported
SVC2=urn:svc:crash

start_harness h1 $ARGS --record rec1.log
admin -d "{\"id\":\"$SVC1\",\"key_domain\":\"62f210\",\"key_group\":1}" $ADM/v1/services \
	>/dev/null || fail "service 1"
admin -d "{\"id\":\"$SVC2\",\"key_domain\":\"62f210\",\"key_group\":2}" $ADM/v1/services \
	>/dev/null || fail "service 2"
"$KEYBURST" roster gen --count $N --seed 11 >r.csv
admin -H 'Content-Type: text/csv' --data-binary @r.csv "$ADM/v1/import/roster?service=$SVC1" \
	>import.json || fail "roster import"
expect_grep "roster imported" "\"imported\":$N" import.json
# impi b_tid password, the password base64(HMAC-SHA-256(Ks_NAF, 01 "MBMS-MRK" 00 08))
python3 - r.csv >ues.txt <<'PY'
import base64, csv, hashlib, hmac, sys
for row in csv.DictReader(open(sys.argv[1])):
    mrk = hmac.new(bytes.fromhex(row["muk"]), b"\x01MBMS-MRK\x00\x08", hashlib.sha256).digest()
    print(row["impi"], row["b_tid"], base64.b64encode(mrk).decode())
PY
cat >reg.xml <<X
<mbmsUserServiceRegistration xmlns="urn:3GPP:metadata:2005:MBMS:userServiceRegistration"><serviceId>$SVC2</serviceId></mbmsUserServiceRegistration>
X
for w in 0 1 2 3 4 5 6 7; do
	(
		awk -v w=$w 'NR % 8 == w' ues.txt | while read -r IMPI BT PW; do
			C=$(curl -s -o body.$w -w '%{http_code}' --digest -u "$BT:$PW" \
				--data-binary @reg.xml -H 'Content-Type: application/mbms-register+xml' \
				$UE/mbms/v1/register) || true
			if [ "$C" = 200 ] && grep -q "serviceId=\"$SVC2\" statusCode=\"200\"" body.$w; then
				echo "$IMPI" >>ok.$w
			fi
		done
	) &
	LOOPS="$LOOPS $!"
done
# kill -9 once some registrations were answered, while the others are in flight
for _ in $(seq 1 200); do
	[ "$(cat ok.* 2>/dev/null | wc -l)" -ge 60 ] && break
	sleep 0.05
done
kill -9 "$HPID"
wait "$HPID" 2>/dev/null || true
HPID=
for p in $LOOPS; do wait $p || true; done
LOOPS=
cat ok.* >answered.txt
NA=$(wc -l <answered.txt)
[ "$NA" -ge 60 ] || fail "only $NA registrations answered before the kill"
[ "$NA" -lt $N ] || fail "every registration was answered before the kill: nothing was in flight"
pass "$NA of $N registrations answered 200 before kill -9"

start_harness h2 $ARGS --record rec2.log
python3 - "$ADM" "$TOK" "$SVC2" answered.txt rec2.log <<'PY'
import json, re, sys, urllib.parse, urllib.request
adm, tok, svc, answered, rec = sys.argv[1:6]
published = set(re.findall(r"csb=([0-9a-f]+)", open(rec).read()))
def get(path):
    req = urllib.request.Request(adm + path, headers={"Authorization": "Bearer " + tok})
    with urllib.request.urlopen(req) as r:
        return json.load(r)
bad = 0
impis = open(answered).read().split()
for impi in impis:
    ue = get("/v1/ues/" + urllib.parse.quote(impi))
    why = []
    if svc not in ue["services"]:
        why.append("registration lost")
    if ue["addr"]["ip"] != "127.0.0.1":
        why.append("UE record not at 127.0.0.1 (SA not moved): %s" % ue["addr"])
    try:
        get("/v1/sas/" + ue["csb_id"])
    except Exception as e:
        why.append("SA %s missing: %s" % (ue["csb_id"], e))
    if ue["csb_id"].lstrip("0") not in {p.lstrip("0") for p in published}:
        why.append("SA %s not published at restart" % ue["csb_id"])
    if why:
        bad += 1
        if bad <= 5:
            print("FAIL %s: %s" % (impi, "; ".join(why)), file=sys.stderr)
print("%d answered registrations checked after the restart, %d lost" % (len(impis), bad))
sys.exit(1 if bad else 0)
PY
pass "every answered registration survived kill -9"
echo "all registration crash checks passed"
