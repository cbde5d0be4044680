#!/bin/bash
# PAP Push Initiators authenticated by TLS client certificate (issue 7):
# keyburstd with [pap] tls_cert/tls_key, client_ca and require_client_cert,
# on net_null. Certificates are made here with openssl req/x509 (two CAs);
# the PI is real curl with --cert/--key:
#  - a certificate of the trusted CA whose CN is an allowlisted initiator
#    → push accepted (1001), status query answered (1000);
#  - the same CN from another CA → refused (TLS or 2001);
#  - a trusted certificate whose CN is no initiator → 2001; one whose CN is a
#    known but not allowed initiator → 2001; a SAN dNSName names one → 1001;
#  - no certificate → 403 (required); Digest cannot stand in for it;
#  - the per-initiator rate limit still applies (429).
# usage: test_pap_tls.sh KEYBURSTD
set -euo pipefail
KBD=$1
. "$(dirname "$0")/ctl_lib.sh"
command -v openssl >/dev/null || { echo "SKIP: openssl missing"; exit 77; }

W=$(mktemp -d)
KPID=
trap kbd_cleanup EXIT

# ---- certificates ----
cd "$W"
ca() { # NAME
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.crt" -days 2 \
		-subj "/CN=$1" -addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}
leaf() { # NAME CN CA [SAN]
	local ext="basicConstraints=CA:FALSE"
	openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
	printf '%s\n' "$ext" >"$1.ext"
	[ -n "${4:-}" ] && printf 'subjectAltName=%s\n' "$4" >>"$1.ext"
	openssl x509 -req -in "$1.csr" -CA "$3.crt" -CAkey "$3.key" -CAcreateserial -days 1 \
		-extfile "$1.ext" -out "$1.crt" 2>/dev/null
}
ca ca1
ca ca2
leaf server 127.0.0.1 ca1 "IP:127.0.0.1,DNS:localhost"
leaf good pi-cert ca1
leaf foreign pi-cert ca2
leaf stranger pi-unknown ca1
leaf blocked pi-blocked ca1
leaf bysan "Some PI Ltd" ca1 "DNS:pi-san.example.com"
openssl verify -CAfile ca1.crt good.crt >/dev/null || fail "openssl: good.crt does not verify"
if openssl verify -CAfile ca1.crt foreign.crt >/dev/null 2>&1; then fail "foreign.crt verifies"; fi
pass "certificates made with openssl (two CAs)"
cd - >/dev/null

free_port ADMIN
free_port UEP
free_port PAPP
TOK=pap-tls-admin-token-0123
FQDN=bmsc.example.org
mkdir "$W/db"
cat >"$W/kb.conf" <<EOF
[port]
ip = 10.0.0.1
next_hop_mac = 02:00:00:00:00:02
[dataplane]
lcores = 1
[identity]
idi = $FQDN
key_domain = 62f210
[service news]
key_group = 7
[control]
ue_addr = 127.0.0.1
ue_port = $UEP
admin_port = $ADMIN
admin_token = $TOK
store = $W/db
max_ues = 64
[pap]
port = $PAPP
tls_cert = $W/server.crt
tls_key = $W/server.key
client_ca = $W/ca1.crt
require_client_cert = true
rate = 0.5
burst = 6
[pap initiator pi-cert]
allowed = true
[pap initiator pi-san.example.com]
allowed = true
[pap initiator pi-blocked]
allowed = false
[pap initiator pi-digest]
password = pi-digest-secret
EOF
"$KBD" --no-huge --no-pci -m 512 --file-prefix "paptls$$" -l 0-1 --log-level=lib.eal:error \
	--vdev net_null0 -- --config "$W/kb.conf" >"$W/kbd.json" 2>"$W/kbd.log" &
KPID=$!
ADM=http://127.0.0.1:$ADMIN
wait_healthz "$ADM" 300 dfail
curl -s -H "Authorization: Bearer $TOK" -H 'Content-Type: application/json' -X POST \
	--data '{"id":"news-7","key_domain":"62f210","key_group":7}' "$ADM/v1/services" >/dev/null
pass "keyburstd up: PAP over HTTPS with client certificates on :$PAPP"

URL=https://127.0.0.1:$PAPP/pap
BOUND=asdlfkjiurwghasf
CT="multipart/related; boundary=$BOUND; type=\"application/xml\""
push_file() { # OUT PUSH_ID
	{
		printf -- '--%s\r\nContent-Type: application/xml\r\n\r\n' "$BOUND"
		printf '<?xml version="1.0"?>\r\n<pap><push-message push-id="%s">' "$2"
		printf '<address address-value="WAPPUSH=news-7/TYPE=USER@%s"/>' "$FQDN"
		printf '</push-message></pap>\r\n'
		printf -- '--%s\r\nContent-Type: text/plain\r\n\r\nHello multicast\r\n--%s--\r\n' \
			"$BOUND" "$BOUND"
	} >"$1"
}
# tls_pap CERTNAME BODY [CTYPE] → "HTTPCODE PAPCODE" ("000 -" when TLS failed)
tls_pap() {
	local certopt=() out
	[ "$1" != none ] && certopt=(--cert "$W/$1.crt" --key "$W/$1.key")
	out=$(curl -s -o "$W/resp.xml" -w '%{http_code}' --cacert "$W/ca1.crt" "${certopt[@]}" \
		-H "Content-Type: ${3:-$CT}" --data-binary @"$2" "$URL" || true)
	printf '%s %s\n' "$out" "$(sed -n 's/.*code="\([0-9]*\)".*/\1/p' "$W/resp.xml" 2>/dev/null | head -1)"
}

push_file "$W/p1.txt" p1@pi.example.com
R=$(tls_pap good "$W/p1.txt")
expect_eq "trusted certificate, CN pi-cert (allowlisted) → push accepted" "$R" "202 1001"
printf '<?xml version="1.0"?>\n<pap><statusquery-message push-id="p1@pi.example.com"/></pap>\n' >"$W/q.xml"
R=$(tls_pap good "$W/q.xml" application/xml)
expect_eq "status query with the certificate → 1000" "$R" "200 1000"

push_file "$W/p2.txt" p2@pi.example.com
R=$(tls_pap foreign "$W/p2.txt")
case "$R" in "000 "* | *" 2001") pass "certificate of another CA refused ($R)" ;;
*) dfail "certificate of another CA: $R" ;; esac
R=$(tls_pap stranger "$W/p2.txt")
expect_eq "trusted certificate, CN not an initiator → 2001" "$R" "200 2001"
R=$(tls_pap blocked "$W/p2.txt")
expect_eq "trusted certificate, initiator not allowed → 2001" "$R" "200 2001"
R=$(tls_pap bysan "$W/p2.txt")
expect_eq "trusted certificate naming the initiator in its SAN dNSName → 1001" "$R" "202 1001"

push_file "$W/p3.txt" p3@pi.example.com
R=$(tls_pap none "$W/p3.txt")
expect_eq "no certificate (required) → 403" "${R%% *}" 403
HC=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$W/ca1.crt" --digest -u pi-digest:pi-digest-secret \
	-H "Content-Type: $CT" --data-binary @"$W/p3.txt" "$URL" || true)
expect_eq "HTTP Digest instead of the required certificate → 403" "$HC" 403
grep -q "2001: certificate of 'pi-unknown' names no initiator" "$W/kbd.log" ||
	dfail "no log line for the unknown CN"

# rate limit per initiator (burst 6, 0.5/s): pi-cert used 2 so far
for i in 1 2 3 4 5 6; do R=$(tls_pap good "$W/q.xml" application/xml); done
expect_eq "rate limit per certificate initiator → 429" "${R%% *}" 429
R=$(tls_pap bysan "$W/q.xml" application/xml)
expect_eq "another initiator has its own bucket (push-id not its own → 2004)" "$R" "200 2004"

kill -TERM $KPID
krc=0
wait $KPID || krc=$?
KPID=
[ $krc = 0 ] || dfail "keyburstd exit status $krc"
pass "SIGTERM: exit 0"
echo "all PAP TLS client certificate checks passed"
