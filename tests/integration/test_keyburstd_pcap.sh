#!/bin/bash
# keyburstd one-shot rollover of 10,000 UEs (keyburst roster gen --seed 7)
# into net_pcap, then checked by tools that do not share the sealer:
# keyburst pcap verify (OpenSSL reference: structure, MAC, decryption, one
# MSK for all, counters strictly increasing) and tshark (no malformed frame).
set -euo pipefail
KEYBURSTD=$1
KEYBURST=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
prefix=kbt_pcap_$$

"$KEYBURST" roster gen --count 10000 --seed 7 --output "$dir/r.csv"
"$KEYBURSTD" --no-huge --no-pci -m 1024 --file-prefix "$prefix" -l 0-1 --log-level=lib.eal:error \
	--vdev "net_pcap0,tx_pcap=$dir/roll.pcap" -- \
	--config "$(dirname "$0")/../../dataplane/keyburstd.conf.example" \
	--roster "$dir/r.csv" --oneshot-rollover 1 --no-ack >"$dir/summary.json"
cat "$dir/summary.json"
python3 - "$dir/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["ues"] == 10000 and s["sent"] == 10000, s
assert s["stats"]["tx_dropped"] == 0 and s["stats"]["seal_errors"] == 0, s
assert s["msk_id"] == "00010001", s
PY

"$KEYBURST" pcap verify --roster "$dir/r.csv" --idi bmsc.example.org --expect 10000 \
	"$dir/roll.pcap" >"$dir/verify.json"
python3 - "$dir/verify.json" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
assert v["ok"] and v["opened"] == 10000 and v["ues_seen"] == 10000, v
assert len(v["msk_ids"]) == 1 and v["msk_ids"][0]["messages"] == 10000, v
PY

if command -v tshark >/dev/null; then
	rows=$(tshark -d udp.port==4359,mikey -r "$dir/roll.pcap" -Y mikey 2>/dev/null | wc -l)
	bad=$(tshark -d udp.port==4359,mikey -r "$dir/roll.pcap" -Y _ws.malformed 2>/dev/null | wc -l)
	csum=$(tshark -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE -r "$dir/roll.pcap" \
		-Y 'ip.checksum.status==0 || udp.checksum.status==0' 2>/dev/null | wc -l)
	echo "tshark: $rows MIKEY rows, $bad malformed, $csum bad checksums"
	[ "$rows" -eq 10000 ] && [ "$bad" -eq 0 ] && [ "$csum" -eq 0 ]
else
	echo "tshark not installed: skipped the dissector check"
fi
echo PASS
