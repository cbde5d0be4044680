#!/bin/bash
# keyburstd with IPv6 UEs: a one-shot rollover of 2,000 UEs whose roster
# addresses are IPv6 (next hop: the static MAC of the example config) into
# net_pcap; keyburst pcap verify opens every message with the OpenSSL
# reference and tshark finds every frame IPv6 with a correct UDP checksum.
set -euo pipefail
KEYBURSTD=$1
KEYBURST=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

"$KEYBURST" roster gen --count 2000 --seed 3 --output "$dir/r4.csv"
# 100.64.x.y -> 2001:db8:x:y::1
awk -F, 'NR == 1 { print; next }
	{ split($4, a, "."); printf "%s,%s,%s,2001:db8:%x:%x::1,%s\n", $1, $2, $3, a[2], a[3] * 256 + a[4], $5 }' \
	"$dir/r4.csv" >"$dir/r6.csv"
grep -q ',2001:db8:40:1::1,' "$dir/r6.csv"

"$KEYBURSTD" --no-huge --no-pci -m 1024 --file-prefix "kbt_v6_$$" -l 0-1 --log-level=lib.eal:error \
	--vdev "net_pcap0,tx_pcap=$dir/roll.pcap" -- \
	--config "$(dirname "$0")/../../dataplane/keyburstd.conf.example" \
	--roster "$dir/r6.csv" --oneshot-rollover 1 --no-ack >"$dir/summary.json"
python3 - "$dir/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["ues"] == 2000 and s["sent"] == 2000 and s["stats"]["tx_dropped"] == 0, s
PY

"$KEYBURST" pcap verify --roster "$dir/r6.csv" --idi bmsc.example.org --expect 2000 \
	"$dir/roll.pcap" >"$dir/verify.json"
python3 - "$dir/verify.json" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
assert v["ok"] and v["opened"] == 2000 and v["ues_seen"] == 2000, v
PY

v6=$(tshark -d udp.port==4359,mikey -r "$dir/roll.pcap" -Y 'mikey && ipv6.dst == 2001:db8:40:1::1' 2>/dev/null | wc -l)
all6=$(tshark -r "$dir/roll.pcap" -Y 'ipv6 && udp.dstport == 4359' 2>/dev/null | wc -l)
bad=$(tshark -o udp.check_checksum:TRUE -d udp.port==4359,mikey -r "$dir/roll.pcap" \
	-Y 'udp.checksum.status==0 || _ws.malformed || ip' 2>/dev/null | wc -l)
echo "tshark: $all6 IPv6 frames, $v6 to 2001:db8:40:1::1, $bad bad (checksum, malformed or IPv4)"
[ "$all6" -eq 2000 ] && [ "$v6" -eq 1 ] && [ "$bad" -eq 0 ]
echo PASS
