#!/bin/bash
# keyburst mikey against tests/vectors/msk-message-1.json: seal and ack byte
# for byte, open round trips (MSK, pull, MTK, ack), exit codes of bad input,
# and tshark's MIKEY dissector on every message the tool seals.
# usage: test_cli_mikey.sh /path/to/keyburst
set -u
KB=${1:?usage: $0 /path/to/keyburst}
VEC="$(cd "$(dirname "$0")/../vectors" && pwd)/msk-message-1.json"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0
checks=0

# expect NAME GOT WANT
expect() {
	checks=$((checks + 1))
	if [ "$2" != "$3" ] || [ -z "$3" ]; then
		echo "FAIL $1: got '$2' want '$3'" >&2
		fails=$((fails + 1))
	else
		echo "ok   $1"
	fi
}
# expect_rc NAME WANT_RC cmd...
expect_rc() {
	local name=$1 want=$2
	shift 2
	"$@" >"$TMP/out" 2>"$TMP/err"
	expect "$name (exit $want)" "$?" "$want"
}

jq -e .input "$VEC" >"$TMP/in.json" || { echo "FAIL cannot read $VEC" >&2; exit 1; }
MUK=$(jq -r .input.muk "$VEC")
RAND=$(jq -r .input.rand "$VEC")
IDI=$(jq -r .input.idi "$VEC")
IDR=$(jq -r .input.idr "$VEC")
MSK=$(jq -r .input.msk "$VEC")

echo "== known answers"
msg=$("$KB" mikey seal --json "$TMP/in.json")
expect "seal: MSK message = vector" "$msg" "$(jq -r .msk_message "$VEC")"
ack=$("$KB" mikey ack --json "$TMP/in.json")
expect "ack: verification message = vector" "$ack" "$(jq -r .ack_message "$VEC")"
expect "seal: the whole vector file (its input object)" "$("$KB" mikey seal --json "$VEC")" \
	"$(jq -r .msk_message "$VEC")"

echo "== open round trips"
out=$("$KB" mikey open --muk "$MUK" "$msg")
expect "open MSK: exit" "$?" 0
expect "open MSK: key" "$(jq -r '.keys[0].key' <<<"$out")" "$MSK"
expect "open MSK: spi = msk_id" "$(jq -r '.keys[0].spi' <<<"$out")" "$(jq -r .input.msk_id "$VEC")"
expect "open MSK: mac_ok" "$(jq -r .mac_ok <<<"$out")" true
expect "open MSK: csb_id" "$(jq -r .csb_id <<<"$out")" "$(jq -r .input.csb_id "$VEC")"
expect "open MSK: counter" "$(jq -r .counter <<<"$out")" "$(jq -r .input.counter "$VEC")"
expect "open MSK: domain" "$(jq -r .domain <<<"$out")" "$(jq -r .input.domain "$VEC")"
expect "open MSK: idi" "$(jq -r '.ids[0].value' <<<"$out")" "$IDI"
expect "open MSK: idr" "$(jq -r '.ids[1].value' <<<"$out")" "$IDR"
expect "open MSK from stdin" "$(echo "$msg" | "$KB" mikey open --muk "$MUK" - | jq -r '.keys[0].key')" "$MSK"

out=$("$KB" mikey open --muk "$MUK" --rand "$RAND" --idi "$IDI" --idr "$IDR" "$ack")
expect "open ack: exit" "$?" 0
expect "open ack: mac_ok" "$(jq -r .mac_ok <<<"$out")" true
expect "open ack: counter" "$(jq -r .counter <<<"$out")" "$(jq -r .input.counter "$VEC")"

jq '.msk = null' "$TMP/in.json" >"$TMP/pull.json"
pull=$("$KB" mikey seal --json "$TMP/pull.json")
out=$("$KB" mikey open --muk "$MUK" "$pull")
expect "pull: exit" "$?" 0
expect "pull: encr len 0" "$(jq -r .kemac.encr_len <<<"$out")" 0
expect "pull: key number 0" "$(jq -r .key_number <<<"$out")" 0
expect "pull: key group kept" "$(jq -r .key_group <<<"$out")" 1
expect "pull: V = 0" "$(jq -r .v <<<"$out")" false
expect "pull: no keys" "$(jq -r '.keys | length' <<<"$out")" 0

jq '.send_rand = false | .counter = 8' "$TMP/in.json" >"$TMP/upd.json"
upd=$("$KB" mikey seal --json "$TMP/upd.json")
expect_rc "update without RAND: open without --rand fails" 1 "$KB" mikey open --muk "$MUK" "$upd"
out=$("$KB" mikey open --muk "$MUK" --rand "$RAND" "$upd")
expect "update without RAND: open with --rand" "$(jq -r '.keys[0].key' <<<"$out")" "$MSK"

MTKK=303132333435363738393a3b3c3d3e3f
SALT=707172737475767778797a7b7c7d
cat >"$TMP/mtk.json" <<EOF
{"msk": "$MSK", "csb_id": 167905037, "counter": 16909060,
 "rand": "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf", "domain": "62f210",
 "msk_id": "00010002", "mtk_id": 258, "mtk": "$MTKK", "salt": "$SALT"}
EOF
mtk=$("$KB" mikey seal-mtk --json "$TMP/mtk.json")
out=$("$KB" mikey open --muk "$MSK" "$mtk")
expect "MTK: exit" "$?" 0
expect "MTK: key" "$(jq -r '.keys[0].key' <<<"$out")" "$MTKK"
expect "MTK: salt" "$(jq -r '.keys[0].salt' <<<"$out")" "$SALT"
expect "MTK: type" "$(jq -r '.keys[0].type' <<<"$out")" "TGK+SALT"
expect "MTK: spi = mtk id" "$(jq -r '.keys[0].spi' <<<"$out")" 0102
expect "MTK: mtk_id" "$(jq -r .mtk_id <<<"$out")" 258
expect "MTK: no IDs" "$(jq -r '.ids | length' <<<"$out")" 0

out=$("$KB" mikey decode "$msg")
expect "decode: exit" "$?" 0
expect "decode: no key in output" "$(grep -c "$MSK" <<<"$out")" 0
expect "decode: msk_id" "$(jq -r .msk_id <<<"$out")" 00010002

echo "== bad input"
BADMUK=${MUK%?}0
[ "$BADMUK" = "$MUK" ] && BADMUK=${MUK%?}1
expect_rc "open with the wrong MUK" 1 "$KB" mikey open --muk "$BADMUK" "$msg"
expect "wrong MUK: error names the MAC" "$(grep -c "MAC verification failed" "$TMP/err")" 1
expect_rc "open ack with the wrong IDr" 1 "$KB" mikey open --muk "$MUK" --rand "$RAND" --idi "$IDI" --idr x "$ack"
expect_rc "open ack without --idi/--idr" 2 "$KB" mikey open --muk "$MUK" "$ack"
expect_rc "decode with a trailing byte" 1 "$KB" mikey decode "${msg}00"
expect "trailing byte: error" "$(grep -c "trailing" "$TMP/err")" 1
expect_rc "decode truncated" 1 "$KB" mikey decode "${msg:0:200}"
expect_rc "decode version 2" 1 "$KB" mikey decode "02${msg:2}"
expect_rc "open with a flipped MAC bit" 1 "$KB" mikey open --muk "$MUK" "${msg%?}d"
expect_rc "decode odd hex" 2 "$KB" mikey decode "${msg}0"
expect_rc "decode non-hex" 2 "$KB" mikey decode "zz"
expect_rc "open without --muk" 2 "$KB" mikey open "$msg"
expect_rc "open with --csb-id mismatch" 1 "$KB" mikey open --muk "$MUK" --csb-id 5 "$msg"
expect_rc "seal without --json" 2 "$KB" mikey seal
expect_rc "seal with a missing file" 2 "$KB" mikey seal --json "$TMP/nope.json"
jq 'del(.muk)' "$TMP/in.json" >"$TMP/nomuk.json"
expect_rc "seal without muk" 2 "$KB" mikey seal --json "$TMP/nomuk.json"
expect "missing key named" "$(grep -c '"muk"' "$TMP/err")" 1
expect_rc "unknown sub-command" 2 "$KB" mikey frobnicate
expect_rc "help" 0 "$KB" mikey --help

echo "== tshark"
if ! command -v tshark >/dev/null || ! command -v text2pcap >/dev/null; then
	echo "FAIL tshark/text2pcap not installed" >&2
	fails=$((fails + 1))
else
	: >"$TMP/dump.txt"
	for m in "$msg" "$pull" "$upd" "$mtk" "$ack"; do
		xxd -r -p <<<"$m" | od -Ax -tx1 -v >>"$TMP/dump.txt"
	done
	text2pcap -q -u 4359,4359 "$TMP/dump.txt" "$TMP/mikey.pcap" 2>"$TMP/err"
	expect "text2pcap wrote 5 packets" "$(tshark -r "$TMP/mikey.pcap" 2>/dev/null | wc -l)" 5
	tshark -d udp.port==4359,mikey -V -r "$TMP/mikey.pcap" >"$TMP/tshark.txt" 2>&1
	expect "tshark: 5 MIKEY messages" "$(grep -c '^Multimedia Internet KEYing' "$TMP/tshark.txt")" 5
	expect "tshark: 4 KEMAC payloads" "$(grep -c '^    Key Data Transport (KEMAC)' "$TMP/tshark.txt")" 4
	expect "tshark: 1 verification message" "$(grep -c '^Multimedia Internet KEYing: PSK ver msg' "$TMP/tshark.txt")" 1
	expect "tshark: no Malformed" "$(grep -c 'Malformed' "$TMP/tshark.txt")" 0
	expect "tshark: no expert errors" "$(grep -c 'Expert Info (Error' "$TMP/tshark.txt")" 0
	expect "tshark: sees IDr in MSK, pull, update" "$(grep -c "^        ID: $IDR" "$TMP/tshark.txt")" 3
fi

echo "$checks checks, $fails failed"
[ "$fails" -eq 0 ]
