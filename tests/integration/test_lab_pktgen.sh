#!/bin/bash
# The pktgen-dpdk Lua profiles of lab/pktgen (docs/nic-lab.md), without
# pktgen or a NIC: every file must pass `luac -p` (Debian lua5.4), then run
# under lua5.4 against test_lab_pktgen_stub.lua, a stand-in for pktgen's Lua
# module that enforces the real functions' argument counts: the pacing
# percentage acks-replay.lua computes is checked against the sum done here
# by hand, and the stub itself must refuse a wrong call.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$here/../..
stub=$here/test_lab_pktgen_stub.lua
LUA=$(command -v lua5.4 || command -v lua5.3 || true)
LUAC=$(command -v luac5.4 || command -v luac5.3 || true)
if [ -z "$LUA" ] || [ -z "$LUAC" ]; then
	echo "SKIP: lua5.4 (or lua5.3) is not installed (apt-get install lua5.4)"
	exit 77
fi
fail() { echo "FAIL: $*" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

n=0
for f in "$top"/lab/pktgen/*.lua "$stub"; do
	# one file per call: Debian's luac 5.4.4 aborts on several
	"$LUAC" -p "$f" || fail "luac -p $f"
	n=$((n + 1))
done
[ "$n" -ge 3 ] || fail "expected the lab's Lua profiles, found $n files"
echo "ok   luac -p: $n files"

# a syntax error must be caught (the check can fail)
printf 'pktgen.start("0"\n' >"$dir/bad.lua"
if "$LUAC" -p "$dir/bad.lua" 2>/dev/null; then fail "luac -p accepted a syntax error"; fi
# the stub refuses what pktgen refuses
printf 'pktgen.set("0", "rate")\n' >"$dir/arity.lua"
if "$LUA" "$stub" "$dir/arity.lua" >/dev/null 2>&1; then fail "stub accepted set() with 2 args"; fi
printf 'pktgen.set("0", "speed", 5)\n' >"$dir/key.lua"
if "$LUA" "$stub" "$dir/key.lua" >/dev/null 2>&1; then fail "stub accepted an unknown set key"; fi
echo "ok   the stub refuses wrong calls"

# acks-replay: 1M acks/s of 80-byte frames on 10G (the stub's link):
# (80 + 24) * 8 bits * 1e6 / 1e10 = 8.32 % of line rate
(cd "$top" && KB_ACK_SECONDS=3 "$LUA" "$stub" lab/pktgen/acks-replay.lua) >"$dir/a.out"
cat "$dir/a.out"
grep -q '^DONE$' "$dir/a.out" || fail "acks-replay did not finish"
rate=$(awk '$1 == "CALL" && $2 == "set" && $4 == "rate" {print $5}' "$dir/a.out")
awk -v r="$rate" 'BEGIN { exit !(r > 8.3199 && r < 8.3201) }' || fail "rate $rate, want 8.32"
# pcap mode first (enabling it resets pktgen's pacing), then the rate, then start
order=$(awk '$1 == "CALL" {print $2 ($4 == "rate" ? "-rate" : "")}' "$dir/a.out" | tr '\n' ' ')
case $order in
*"pcap set set-rate clr start delay delay delay stop"*) ;;
*) fail "call order: $order" ;;
esac
grep -q '^CALL pcap 0 on$' "$dir/a.out" || fail "pcap mode not enabled"
# a given link speed and rate, older portStats layout, line-rate cap
(cd "$top" && KB_LINK_MBPS=1000 KB_ACK_PPS=5000000 KB_ACK_SECONDS=1 \
	"$LUA" "$stub" lab/pktgen/acks-replay.lua flat) >"$dir/b.out"
grep -q '^CALL set 0 rate 100' "$dir/b.out" || fail "5M acks/s on 1G must cap at 100%"
echo "ok   acks-replay.lua"

# http-background: needs the MAC, then single-packet UDP at the rate
if (cd "$top" && "$LUA" "$stub" lab/pktgen/http-background.lua) >/dev/null 2>&1; then
	fail "http-background ran without KB_BG_DST_MAC"
fi
(cd "$top" && KB_BG_DST_MAC=3c:fd:fe:00:00:01 KB_BG_RATE=25 KB_BG_SECONDS=2 KB_BG_DPORT=4359 \
	"$LUA" "$stub" lab/pktgen/http-background.lua) >"$dir/c.out"
cat "$dir/c.out"
for want in 'CALL pcap 0 off' 'CALL set_proto 0 udp' 'CALL set_mac 0 dst 3c:fd:fe:00:00:01' \
	'CALL set_ipaddr 0 dst 192.0.2.1' 'CALL set 0 dport 4359' 'CALL set 0 rate 25' \
	'CALL start 0' 'CALL delay 2000' 'CALL stop 0' DONE; do
	grep -qx "$want" "$dir/c.out" || fail "http-background: no '$want'"
done
echo "ok   http-background.lua"
echo PASS
