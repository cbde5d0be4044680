#!/bin/bash
# The UE listener over TLS (libmicrohttpd + GnuTLS): a self-signed P-256
# certificate made here with openssl, then registration and an MSK request
# with curl --cacert --digest over https (200 each, the deliver-MSK job).
# A plain http request to the TLS port must not be served. This harness
# also runs with metrics_auth: /metrics and /healthz want the admin token. If
# libmicrohttpd was built without TLS the control plane refuses to start
# with a clear error; this test then says so and is skipped (exit 77).
set -eu
HARNESS=$1
. "$(dirname "$0")/ctl_lib.sh"

ctl_setup
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
	-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
	-keyout key.pem -out cert.pem 2>/dev/null || fail "openssl req"
ARGS="--store db --record rec.log --token $TOK --ue-port $UP --admin-port $AP
	--tls-cert cert.pem --tls-key key.pem --metrics-auth"

# the harness fails fast (no "ready") when TLS is unavailable
"$HARNESS" $ARGS >h.out 2>h.err &
HPID=$!
for _ in $(seq 1 100); do
	grep -q ready h.out 2>/dev/null && break
	if ! kill -0 $HPID 2>/dev/null; then
		HPID=
		if grep -q 'built without TLS' h.err; then
			echo "SKIP: libmicrohttpd was built without TLS support:" >&2
			cat h.err >&2
			exit 77
		fi
		cat h.err >&2
		fail "harness died"
	fi
	sleep 0.05
done
grep -q ready h.out || fail "harness not ready"
pass "UE listener started with TLS"

UE=https://127.0.0.1:$UP
ADM=http://127.0.0.1:$AP
code() { curl -s -o body.out -w '%{http_code}' "$@"; }
expect_eq "service" "$(code -H "Authorization: Bearer $TOK" \
	-d '{"id":"urn:svc:tv1","key_domain":"62f210","key_group":1}' $ADM/v1/services)" 201
KSE=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
BTID='AAECAwQFBgcICQoLDA0ODw==@bsf.example.org'
expect_eq "bootstrap" "$(code -H "Authorization: Bearer $TOK" -d "{\"btid\":\"$BTID\",\"impi\":\"ue1@ims.example.org\",\"mode\":\"GBA_U\",\"ks_ext_naf\":\"$KSE\",\"ks_int_naf\":\"$KSE\",\"lifetime\":600}" $ADM/v1/bootstraps)" 201
PW=$(printf %s $KSE | xxd -r -p | base64)
cat >reg.xml <<X
<mbmsUserServiceRegistration xmlns="urn:3GPP:metadata:2005:MBMS:userServiceRegistration"><serviceId>urn:svc:tv1</serviceId></mbmsUserServiceRegistration>
X
cat >msk.xml <<X
<mskRequest xmlns="urn:3GPP:metadata:2005:MBMS:mskRequest"><keyDomainId>62f210</keyDomainId><mskId>00010000</mskId></mskRequest>
X

expect_eq "register over https (curl --cacert --digest)" "$(code --cacert cert.pem --digest -u "$BTID:$PW" \
	--data-binary @reg.xml -H 'Content-Type: application/mbms-register+xml' $UE/mbms/v1/register)" 200
expect_grep "register: 200 per item" 'serviceId="urn:svc:tv1" statusCode="200"' body.out
expect_eq "MSK request over https" "$(curl -s -v -o body.out -w '%{http_code}' --cacert cert.pem \
	--digest -u "$BTID:$PW" --data-binary @msk.xml -H 'Content-Type: application/mbms-msk+xml' \
	$UE/mbms/v1/msk 2>trace.txt)" 200
expect_grep "TLS was negotiated" 'SSL connection using TLS' trace.txt
expect_grep "server certificate verified against our CA file" 'SSL certificate verify ok' trace.txt
expect_grep "msk 00010000: 200" 'mskId="00010000" statusCode="200"' body.out
expect_grep "deliver-MSK job" 'job deliver csb=.* msk_id=00010001' rec.log
expect_eq "wrong password over https → 401" "$(code --cacert cert.pem --digest -u "$BTID:x$PW" \
	--data-binary @msk.xml -H 'Content-Type: application/mbms-msk+xml' $UE/mbms/v1/msk)" 401
# without the CA file curl must refuse the self-signed certificate
expect_eq "untrusted certificate refused by curl" "$(code --digest -u "$BTID:$PW" \
	--data-binary @msk.xml -H 'Content-Type: application/mbms-msk+xml' $UE/mbms/v1/msk || true)" 000
expect_eq "plain http to the TLS port is not served" "$(code -m 5 --data-binary @msk.xml \
	http://127.0.0.1:$UP/mbms/v1/msk || true)" 000
expect_eq "metrics_auth: /metrics without the token" "$(code $ADM/metrics)" 401
expect_eq "metrics_auth: /healthz without the token" "$(code $ADM/healthz)" 401
expect_eq "metrics_auth: /metrics with the token" "$(code -H "Authorization: Bearer $TOK" $ADM/metrics)" 200
expect_grep "metrics body" 'kb_http_requests_total' body.out
echo "all https checks passed"
