#!/bin/bash
# keyburstd one-shot --rounds and --sealer openssl: two rollovers in a row
# over the same SAs, each a new MSK, once with the IPsec-MB bursts and once
# with the OpenSSL reference path inside the pipeline. Every message must
# open (keyburst pcap verify: MAC, decryption, one MSK per MSK ID, counters
# strictly increasing per SA across both rounds), reseal byte for byte, and
# carry correct IPv4 and UDP checksums (tshark); the summary must list both
# rounds with their own MSK IDs. A burst of 7 with 3001 UEs leaves partial
# chunks and a partial last build.
set -euo pipefail
KEYBURSTD=$1
KEYBURST=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
n=3001

"$KEYBURST" roster gen --count $n --seed 5 --output "$dir/r.csv"
for sealer in ipsec-mb openssl; do
	"$KEYBURSTD" --no-huge --no-pci -m 512 --file-prefix "kbt_rounds_$$" -l 0-1 \
		--log-level=lib.eal:error --vdev "net_pcap0,tx_pcap=$dir/$sealer.pcap" -- \
		--config "$(dirname "$0")/../../dataplane/keyburstd.conf.example" \
		--roster "$dir/r.csv" --oneshot-rollover 1 --no-ack --rounds 2 --burst 7 \
		--sealer "$sealer" >"$dir/$sealer.json" ||
		{ echo "keyburstd ($sealer) failed"; cat "$dir/$sealer.json"; exit 1; }
	"$KEYBURST" pcap verify --roster "$dir/r.csv" --reseal --expect $((2 * n)) \
		"$dir/$sealer.pcap" >"$dir/$sealer.verify.json" ||
		{ echo "pcap verify ($sealer) failed"; cat "$dir/$sealer.verify.json"; exit 1; }
	python3 - "$dir/$sealer.json" "$dir/$sealer.verify.json" $n "$sealer" <<'PY'
import json, sys
s, v, n, sealer = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), int(sys.argv[3]), sys.argv[4]
assert s["sealer"] == sealer, s["sealer"]
r = s["rounds"]
assert len(r) == 2 and s["rounds_requested"] == 2, r
assert [x["msk_id"] for x in r] == ["00010001", "00010002"], r
assert all(x["complete"] and x["sent"] == n and x["ues"] == n for x in r), r
assert s["msk_id"] == "00010002" and s["sent"] == n, s
assert s["stats"]["tx_msgs"] == 2 * n and s["stats"]["tx_dropped"] == 0, s["stats"]
assert v["ok"] and v["resealed_identical"] == 2 * n, v
assert sorted(m["msk_id"] for m in v["msk_ids"]) == ["00010001", "00010002"], v["msk_ids"]
PY
	good=$(tshark -r "$dir/$sealer.pcap" -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE \
		-Y 'ip.checksum.status == "Good" && udp.checksum.status == "Good"' 2>/dev/null | wc -l)
	[ "$good" = $((2 * n)) ] || { echo "$sealer: $good of $((2 * n)) frames with good checksums"; exit 1; }
	echo "ok   $sealer: 2 rounds of $n, all verified, resealed identical, checksums good"
done
