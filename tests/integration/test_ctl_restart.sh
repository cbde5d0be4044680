#!/bin/bash
# kill -9 the control plane in the middle of a streamed roster import, with
# a running rollover and a counter grant loop, then restart it on the same
# LMDB store: registrations and MSKs are all there, every stored SA is
# published again, the interrupted rollover is posted again, each import
# batch is all-or-nothing, and the counter floor is above every value the
# previous run granted.
set -eu
HARNESS=$1
KEYBURST=$2
. "$(dirname "$0")/ctl_lib.sh"

CPID=
ctl_setup '[ -n "$CPID" ] && kill $CPID 2>/dev/null'
ARGS="--store db --record rec.log --token $TOK --ue-port $UP --admin-port $AP"
code() { curl -s -o body.out -w '%{http_code}' "$@"; }
admin() { curl -s -H "Authorization: Bearer $TOK" "$@"; }

start_harness h1 $ARGS --grant-loop
expect_eq "service" "$(code -H "Authorization: Bearer $TOK" \
	-d '{"id":"urn:svc:tv1","key_domain":"62f210","key_group":1}' $ADM/v1/services)" 201
KSE=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
BTID='AAECAwQFBgcICQoLDA0ODw==@bsf.example.org'
admin -d "{\"btid\":\"$BTID\",\"impi\":\"ue1@ims.example.org\",\"mode\":\"GBA_U\",\"ks_ext_naf\":\"$KSE\",\"ks_int_naf\":\"$KSE\",\"lifetime\":600}" $ADM/v1/bootstraps >/dev/null
PW=$(printf %s $KSE | xxd -r -p | base64)
cat >reg.xml <<X
<mbmsUserServiceRegistration xmlns="urn:3GPP:metadata:2005:MBMS:userServiceRegistration"><serviceId>urn:svc:tv1</serviceId></mbmsUserServiceRegistration>
X
expect_eq "register" "$(code --digest -u "$BTID:$PW" --data-binary @reg.xml -H 'Content-Type: application/mbms-register+xml' $UE/mbms/v1/register)" 200
CSB=$(grep -m1 "idr=$BTID" rec.log | sed 's/.*csb=\([0-9a-f]*\).*/\1/')
[ -n "$CSB" ] || fail "no SA for the registered UE"
# a rollover whose acks never come: still running at the kill
expect_eq "rollover" "$(code -H "Authorization: Bearer $TOK" -X POST $ADM/v1/services/urn:svc:tv1/rollover)" 202
expect_grep "rollover job" 'job rollover group=1 msk_id=00010002' rec.log

"$KEYBURST" roster gen --count 400000 --seed 7 >roster.csv
curl -s -H "Authorization: Bearer $TOK" -H 'Content-Type: text/csv' --data-binary @roster.csv \
	"$ADM/v1/import/roster?service=urn:svc:tv1" >import.out 2>&1 &
CPID=$!
# wait until at least one import batch is committed, then kill -9 mid-import
for _ in $(seq 1 200); do
	[ "$(grep -c '^publish' rec.log)" -gt 70000 ] && break
	sleep 0.05
done
kill -9 $HPID
wait $HPID 2>/dev/null || true
HPID=
wait $CPID 2>/dev/null || true
CPID=
MAXG=$(grep '^granted' rec.log | awk '{print $2}' | sort -n | tail -1)
[ -n "$MAXG" ] || fail "the grant loop granted nothing"
pass "killed with the counter granted up to $MAXG"
echo "--- restart ---" >>rec.log
L=$(wc -l <rec.log)

start_harness h2 $ARGS
FLOOR=$(tail -n +$L rec.log | grep -m1 '^floor' | awk '{print $2}')
[ "$FLOOR" -ge "$MAXG" ] || fail "floor $FLOOR below granted $MAXG"
pass "counter floor $FLOOR >= every granted value ($MAXG)"
tail -n +$L rec.log >rec2.log
expect_grep "registered UE's SA republished from the store" "publish csb=$CSB idr=$BTID group=1" rec2.log
expect_grep "interrupted rollover resumed" 'job rollover group=1 msk_id=00010002' rec2.log
admin $ADM/v1/stats >stats.json
SA=$(sed 's/.*"sa":\([0-9]*\).*/\1/' stats.json)
UEN=$(sed 's/.*"ue":\([0-9]*\).*/\1/' stats.json)
REG=$(sed 's/.*"registration":\([0-9]*\).*/\1/' stats.json)
MSK=$(sed 's/.*"msk":\([0-9]*\).*/\1/' stats.json)
expect_eq "both MSKs survived" "$MSK" 2
expect_eq "UE and SA tables agree" "$UEN" "$SA"
expect_eq "registrations agree" "$REG" "$SA"
IMPORTED=$((SA - 1))
[ "$IMPORTED" -gt 0 ] || fail "no import batch was committed before the kill"
[ $((IMPORTED % 65536)) -eq 0 ] || [ "$IMPORTED" -eq 400000 ] ||
	fail "a partial import batch is visible ($IMPORTED rows)"
pass "import committed in whole batches ($IMPORTED rows)"
expect_eq "every stored SA published at start" "$(grep -c '^publish' rec2.log)" "$SA"
expect_eq "UE status after restart" "$(code -H "Authorization: Bearer $TOK" $ADM/v1/ues/ue1@ims.example.org)" 200
expect_grep "same SA after restart" "\"csb_id\":\"$CSB\"" body.out
# an imported UE (row 0 of the roster) is there too
IMPI0=$(sed -n 2p roster.csv | cut -d, -f1)
expect_eq "imported UE present" "$(code -H "Authorization: Bearer $TOK" $ADM/v1/ues/$IMPI0)" 200
cat >msk.xml <<X
<mskRequest xmlns="urn:3GPP:metadata:2005:MBMS:mskRequest"><keyDomainId>62f210</keyDomainId><mskId>00010000</mskId></mskRequest>
X
expect_eq "MSK request after restart" "$(code --digest -u "$BTID:$PW" --data-binary @msk.xml -H 'Content-Type: application/mbms-msk+xml' $UE/mbms/v1/msk)" 200
tail -n +$L rec.log >rec3.log
expect_grep "current MSK is the rollover's" "job deliver csb=$CSB msk_id=00010002" rec3.log
# a re-imported UE: the roster import replaces its bootstrap (new MUK) and
# invalidates every HTTP thread's credential cache, so the old password
# stops working at once (not KB_KS_CACHE_TTL later) and the new one works
RB='BAUGBwgJCgsMDQ4PEBESEw==@bsf.example.org'
MUK1=$(openssl rand -hex 32)
MUK2=$(openssl rand -hex 32)
printf 'impi,b_tid,muk,ip,port\nreimp@ims.example.org,%s,%s,100.64.9.9,4359\n' "$RB" "$MUK1" >r1.csv
printf 'impi,b_tid,muk,ip,port\nreimp@ims.example.org,%s,%s,100.64.9.9,4359\n' "$RB" "$MUK2" >r2.csv
# GBA_ME (the import's Ks_NAF = MUK): MRK = HMAC-SHA-256(Ks_NAF, 01 "MBMS-MRK" 00 08)
mrk() { printf '\001MBMS-MRK\000\010' | openssl dgst -sha256 -mac HMAC -macopt hexkey:$1 -binary | base64; }
PW1=$(mrk "$MUK1")
PW2=$(mrk "$MUK2")
reg() { code --digest -u "$RB:$1" --data-binary @reg.xml -H 'Content-Type: application/mbms-register+xml' $UE/mbms/v1/register; }
admin -H 'Content-Type: text/csv' --data-binary @r1.csv "$ADM/v1/import/roster?service=urn:svc:tv1" >imp1.out
for i in 1 2 3 4 5 6 7 8; do
	expect_eq "imported UE authenticates ($i, caches filled)" "$(reg "$PW1")" 200
done
admin -H 'Content-Type: text/csv' --data-binary @r2.csv "$ADM/v1/import/roster?service=urn:svc:tv1" >imp2.out
for i in 1 2 3 4 5 6 7 8; do
	expect_eq "re-imported UE: the old MUK's password refused ($i)" "$(reg "$PW1")" 401
done
expect_eq "re-imported UE: the new MUK's password accepted" "$(reg "$PW2")" 200
echo "all restart checks passed"
