#!/bin/bash
# Byte identity: every burst-sealed (IPsec-MB) message keyburstd wrote, a
# solicited pull included, must equal kb_ref_seal_msk (OpenSSL) over the
# decrypted fields byte for byte (keyburst pcap verify --reseal). A capture
# with one flipped bit must fail, or the check proves nothing.
set -euo pipefail
KEYBURSTD=$1
KEYBURST=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
prefix=kbt_reseal_$$

"$KEYBURST" roster gen --count 300 --seed 11 --output "$dir/r.csv"
# csb_id of roster row 0 (dataplane/roster_load.h: mix of index 1)
csb=$(python3 -c '
x = 1
x ^= x >> 16; x = (x * 0x7feb352d) & 0xffffffff
x ^= x >> 15; x = (x * 0x846ca68b) & 0xffffffff
x ^= x >> 16; print(hex(x))')
"$KEYBURSTD" --no-huge --no-pci -m 512 --file-prefix "$prefix" -l 0-1 --log-level=lib.eal:error \
	--vdev "net_pcap0,tx_pcap=$dir/roll.pcap" -- \
	--config "$(dirname "$0")/../../dataplane/keyburstd.conf.example" \
	--roster "$dir/r.csv" --group 2 --pull "$csb" --oneshot-rollover 2 --no-ack --burst 7 \
	>"$dir/summary.json" || { echo "keyburstd failed"; cat "$dir/summary.json"; exit 1; }
"$KEYBURST" pcap verify --roster "$dir/r.csv" --reseal --expect 301 "$dir/roll.pcap" \
	>"$dir/verify.json" || { cat "$dir/verify.json"; exit 1; }
python3 - "$dir/verify.json" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
assert v["ok"] and v["resealed_identical"] == 301 and v["pulls"] == 1, v
assert v["msk_ids"][0]["msk_id"] == "00020001", v
PY

# negative control: flip one bit of the 5th MIKEY payload's key data
python3 - "$dir/roll.pcap" "$dir/bad.pcap" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
off, n = 24, 0
while off < len(b):
    incl = int.from_bytes(b[off + 8:off + 12], "little")
    n += 1
    if n == 5:
        b[off + 16 + incl - 30] ^= 0x01  # inside the encrypted key data
        break
    off += 16 + incl
open(sys.argv[2], "wb").write(b)
PY
if "$KEYBURST" pcap verify --roster "$dir/r.csv" --reseal "$dir/bad.pcap" >"$dir/bad.json"; then
	echo "a corrupted capture verified"; cat "$dir/bad.json"; exit 1
fi
grep -q '"failures": 1' "$dir/bad.json"
echo PASS
