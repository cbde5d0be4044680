#!/usr/bin/env bash
# HTTP Digest interop: real curl (7.88) against tests/integration/digest_server,
# which uses our proto/digest server code. Expected answers (rspauth, the
# auth-int responses we send by hand) are computed here with `openssl dgst`,
# independently of our C code.
#   test_digest_curl.sh DIGEST_SERVER [KEYBURST_CLI]
set -u

SERVER=${1:?usage: test_digest_curl.sh DIGEST_SERVER [KEYBURST_CLI]}
KEYBURST=${2:-}
REALM="3GPP-bootstrapping@bmsc.test"
USER_="1234567890@bsf.mnc001.mcc001.pub.3gppnetwork.org"
PASS="edCOMq6r1fP2gGHs93FbQk/FEwJt1S9GyZszcFJ0xCk="

tmp=$(mktemp -d)
pid=""
failures=0
. "$(dirname "$0")/ctl_lib.sh" # free_port

# stop_server: SIGTERM; a clean exit is part of the test (sanitizer builds
# report leaks and errors through the exit status)
stop_server() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		local rc=$?
		pid=""
		[ "$rc" -eq 0 ] || fail "digest_server exited with status $rc"
	fi
}
cleanup() {
	stop_server
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}
ok() { echo "ok   $*"; }

# start_server ARGS...: pick a free port, start, wait for "ready".
start_server() {
	local attempt
	for attempt in $(seq 1 20); do
		free_port port
		: >"$tmp/ready"
		"$SERVER" --port "$port" --user "$USER_" --password "$PASS" "$@" \
			>"$tmp/ready" 2>>"$tmp/server.log" &
		pid=$!
		local i
		for i in $(seq 1 50); do
			if grep -q ready "$tmp/ready"; then
				URL="http://127.0.0.1:$port/msk"
				return 0
			fi
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill "$pid" 2>/dev/null # lost the port race: try another
		wait "$pid" 2>/dev/null
		pid=""
	done
	echo "cannot start $SERVER" >&2
	cat "$tmp/server.log" >&2
	exit 1
}

# h ALG STRING: lower-case hex digest of STRING
h() {
	printf '%s' "$2" | openssl dgst "-$1" -r | cut -d' ' -f1
}
hfile() {
	openssl dgst "-$1" -r <"$2" | cut -d' ' -f1
}

# param NAME HEADER-VALUE: a parameter's value, quoted or not
param() {
	printf '%s\n' "$2" | sed -n -e "s/.*[ ,]$1=\"\([^\"]*\)\".*/\1/p" \
		-e "t" -e "s/.*[ ,]$1=\([^ ,]*\).*/\1/p" | head -n1
}

# header NAME FILE: value of a response header in a curl -D dump
header() {
	grep -i "^$1:" "$2" | head -n1 | sed -e "s/^[^:]*: *//" -e 's/\r$//'
}

# ha1 OSSL ALG NONCE CNONCE: HA1, with the -sess step when ALG ends in -sess
ha1() {
	local v
	v=$(h "$1" "$USER_:$REALM:$PASS")
	case $2 in
	*-sess) v=$(h "$1" "$v:$3:$4") ;;
	esac
	printf '%s' "$v"
}

# expect_rsp OSSL ALG NONCE NC CNONCE QOP RESPONSE_BODY_FILE GOT: check rspauth
expect_rsp() {
	local md=$1 alg=$2 nonce=$3 nc=$4 cnonce=$5 qop=$6 bodyf=$7 got=$8 ha1 ha2
	ha1=$(ha1 "$md" "$alg" "$nonce" "$cnonce")
	if [ "$qop" = auth-int ]; then
		ha2=$(h "$md" ":/msk:$(hfile "$md" "$bodyf")")
	else
		ha2=$(h "$md" ":/msk")
	fi
	[ "$got" = "$(h "$md" "$ha1:$nonce:$nc:$cnonce:$qop:$ha2")" ]
}

# fresh_nonce: one 401 challenge's nonce
fresh_nonce() {
	curl -s -o /dev/null -D "$tmp/ch.hdr" -X POST --data-binary @"$tmp/body.xml" "$URL"
	param nonce "$(header WWW-Authenticate "$tmp/ch.hdr")"
}

# by_hand OSSL ALG QOP NONCE NC: an Authorization value computed with openssl
by_hand() {
	local md=$1 alg=$2 qop=$3 nonce=$4 nc=$5 cnonce="deadbeef" ha1 ha2 resp
	ha1=$(ha1 "$md" "$alg" "$nonce" "$cnonce")
	if [ "$qop" = auth-int ]; then
		ha2=$(h "$md" "POST:/msk:$(hfile "$md" "$tmp/body.xml")")
	else
		ha2=$(h "$md" "POST:/msk")
	fi
	resp=$(h "$md" "$ha1:$nonce:$nc:$cnonce:$qop:$ha2")
	printf 'Digest username="%s", realm="%s", nonce="%s", uri="/msk", algorithm=%s, qop=%s, nc=%s, cnonce="%s", response="%s"' \
		"$USER_" "$REALM" "$nonce" "$alg" "$qop" "$nc" "$cnonce" "$resp"
}

# send AUTH: POST the body with a given Authorization; prints the status
send() {
	curl -s -o "$tmp/resp.body" -D "$tmp/resp.hdr" -w '%{http_code}' \
		-H "Authorization: $1" -H 'Content-Type: application/mbms-msk+xml' \
		--data-binary @"$tmp/body.xml" "$URL"
}

printf '<?xml version="1.0"?>\n<mskRequest><msk id="00010000"/></mskRequest>\n' >"$tmp/body.xml"

for alg in MD5 SHA-256 MD5-sess SHA-256-sess; do
	case $alg in
	MD5*) md=md5 ;;
	SHA-256*) md=sha256 ;;
	esac
	start_server --algorithms "$alg" --qop auth-int,auth

	# 1. curl --digest: 200, and rspauth is right for what curl sent
	code=$(curl -s -v --digest -u "$USER_:$PASS" -o "$tmp/out" -D "$tmp/hdr" -w '%{http_code}' \
		-H 'Content-Type: application/mbms-msk+xml' --data-binary @"$tmp/body.xml" "$URL" \
		2>"$tmp/verbose")
	sent=$(grep -i '^> Authorization: Digest' "$tmp/verbose" | tail -n1 | sed -e 's/^> [^:]*: //' -e 's/\r$//')
	info=$(header Authentication-Info "$tmp/hdr")
	if [ "$code" != 200 ]; then
		fail "$alg: curl --digest got $code"
	elif [ -z "$info" ]; then
		fail "$alg: no Authentication-Info"
	elif [ "$(param qop "$sent")" != auth ]; then
		fail "$alg: curl chose qop $(param qop "$sent"), expected auth"
	elif ! expect_rsp "$md" "$alg" "$(param nonce "$sent")" "$(param nc "$sent")" \
		"$(param cnonce "$sent")" auth "$tmp/out" "$(param rspauth "$info")"; then
		fail "$alg: rspauth $(param rspauth "$info") is wrong"
	elif [ "$(param nc "$info")" != "$(param nc "$sent")" ] ||
		[ "$(param cnonce "$info")" != "$(param cnonce "$sent")" ]; then
		fail "$alg: Authentication-Info does not echo nc/cnonce"
	else
		ok "$alg: curl --digest 200, rspauth verified"
	fi

	# 2. wrong password: 401
	code=$(curl -s --digest -u "$USER_:wrong" -o /dev/null -w '%{http_code}' \
		--data-binary @"$tmp/body.xml" "$URL")
	[ "$code" = 401 ] && ok "$alg: wrong password 401" || fail "$alg: wrong password got $code"

	# 3. curl's own header sent again (same nonce, same nc): replay → 401
	code=$(send "$sent")
	[ "$code" = 401 ] && ok "$alg: curl's header replayed 401" || fail "$alg: replay got $code"

	# 4. by hand with auth-int: 200 with rspauth over the response body,
	#    the same header twice → 401, then nc 2 → 200
	nonce=$(fresh_nonce)
	auth=$(by_hand "$md" "$alg" auth-int "$nonce" 00000001)
	code=$(send "$auth")
	info=$(header Authentication-Info "$tmp/resp.hdr")
	if [ "$code" = 200 ] && expect_rsp "$md" "$alg" "$nonce" 00000001 deadbeef auth-int \
		"$tmp/resp.body" "$(param rspauth "$info")"; then
		ok "$alg: auth-int 200, rspauth over the response body verified"
	else
		fail "$alg: auth-int got $code, Authentication-Info '$info'"
	fi
	code=$(send "$auth")
	[ "$code" = 401 ] && ok "$alg: same nc twice 401" || fail "$alg: same nc twice got $code"
	if grep -qi 'stale=true' "$tmp/resp.hdr"; then
		fail "$alg: a replay is not stale"
	fi
	code=$(send "$(by_hand "$md" "$alg" auth "$nonce" 00000002)")
	[ "$code" = 200 ] && ok "$alg: nc 2 on the same nonce 200" || fail "$alg: nc 2 got $code"
	# a tampered body under auth-int
	auth=$(by_hand "$md" "$alg" auth-int "$nonce" 00000003)
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: $auth" \
		--data-binary 'tampered' "$URL")
	[ "$code" = 401 ] && ok "$alg: tampered auth-int body 401" || fail "$alg: tampered got $code"

	# 5. the keyburst CLI's header is accepted
	if [ -n "$KEYBURST" ]; then
		nonce=$(fresh_nonce)
		auth=$("$KEYBURST" digest response --header --user "$USER_" --realm "$REALM" \
			--password "$PASS" --method POST --uri /msk --nonce "$nonce" --algorithm "$alg" \
			--qop auth-int --body-file "$tmp/body.xml" --nc 00000001)
		code=$(send "$auth")
		[ "$code" = 200 ] && ok "$alg: keyburst digest response --header 200" ||
			fail "$alg: keyburst CLI header got $code"
	fi
	stop_server
done

# 6. an expired nonce with the right response: 401 with stale=true, and curl
#    then still gets in on a fresh challenge
start_server --algorithms SHA-256 --qop auth --lifetime 1
nonce=$(fresh_nonce)
sleep 2.2
code=$(send "$(by_hand sha256 SHA-256 auth "$nonce" 00000001)")
if [ "$code" = 401 ] && grep -qi 'stale=true' "$tmp/resp.hdr"; then
	ok "stale nonce: 401 stale=true"
else
	fail "stale nonce: got $code without stale=true"
fi
code=$(curl -s --digest -u "$USER_:$PASS" -o /dev/null -w '%{http_code}' \
	--data-binary @"$tmp/body.xml" "$URL")
[ "$code" = 200 ] && ok "curl after stale 200" || fail "curl after stale got $code"
# a forged nonce (one character changed) is refused, not stale
nonce=$(fresh_nonce)
forged="${nonce:0:5}$([ "${nonce:5:1}" = A ] && echo B || echo A)${nonce:6}"
code=$(send "$(by_hand sha256 SHA-256 auth "$forged" 00000001)")
if [ "$code" = 401 ] && ! grep -qi 'stale=true' "$tmp/resp.hdr"; then
	ok "forged nonce: 401"
else
	fail "forged nonce: got $code"
fi
stop_server

if [ "$failures" -ne 0 ]; then
	echo "--- server log" >&2
	cat "$tmp/server.log" >&2
	echo "$failures failure(s)" >&2
	exit 1
fi
echo "all digest interop checks passed"
