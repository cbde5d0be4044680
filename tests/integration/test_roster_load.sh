#!/bin/bash
# keyburstd --roster, the parallel loader (dataplane/roster_load.c): a roster
# with CRLF rows, blank lines, a repeated header and no final newline, loaded
# by the main thread and two helper lcores into two shards, then every
# message checked by keyburst pcap verify (OpenSSL reference: each UE's keys
# from its own row); and bad rows refused with their line number.
set -euo pipefail
KEYBURSTD=$1
KEYBURST=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
conf="$(dirname "$0")/../../dataplane/keyburstd.conf.example"
N=3000

run() { # run PREFIX ROSTER [extra keyburstd options]
	local prefix=$1 roster=$2
	shift 2
	# three lcores on two CPUs: the main one and two dataplane (helper) lcores
	"$KEYBURSTD" --no-huge --no-pci -m 1024 --file-prefix "$prefix" --lcores '0@0,1@1,2@1' \
		--log-level=lib.eal:error --log-level='keyburst.*:debug' \
		--vdev "net_pcap0,rx_pcap=$dir/empty.pcap,rx_pcap=$dir/empty.pcap,tx_pcap=$dir/q0.pcap,tx_pcap=$dir/q1.pcap" \
		-- --config "$conf" --roster "$roster" \
		--oneshot-rollover 1 --no-ack "$@"
}

"$KEYBURST" roster gen --count $N --seed 11 --output "$dir/clean.csv"
# an empty capture (the global header only) to feed the two RX queues
python3 -c 'import struct,sys; sys.stdout.buffer.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))' >"$dir/empty.pcap"
python3 - "$dir/clean.csv" "$dir/r.csv" <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines()
out = []
for i, l in enumerate(lines):
    out.append(l + ("\r" if i % 3 == 0 else ""))
    if i == 700:
        out.append("")
    if i == 1500:
        out.append(lines[0] + "\r")  # the header again
open(sys.argv[2], "w").write("\n".join(out))  # no final newline
PY
run kbt_rl_ok_$$ "$dir/r.csv" >"$dir/summary.json" 2>"$dir/err.txt" || {
	cat "$dir/err.txt"
	exit 1
}
grep 'roster:' "$dir/err.txt"
grep -q 'roster: .* 2 helper lcores' "$dir/err.txt"
python3 - "$dir/summary.json" $N <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
assert s["ues"] == n and s["sent"] == n, s
assert len(s["lcores"]) == 2, s
PY
mergecap -w "$dir/roll.pcap" "$dir/q0.pcap" "$dir/q1.pcap"
"$KEYBURST" pcap verify --roster "$dir/clean.csv" --idi bmsc.example.org --expect $N \
	"$dir/roll.pcap" >"$dir/verify.json"
python3 - "$dir/verify.json" $N <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
assert v["ok"] and v["opened"] == n and v["ues_seen"] == n, v
PY

# a bad MUK on file line 2001 (row 2000): refused with its line number
python3 - "$dir/clean.csv" "$dir/bad.csv" <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines()
f = lines[2000].split(",")
f[2] = "zz" + f[2][2:]
lines[2000] = ",".join(f)
open(sys.argv[2], "w").write("\n".join(lines) + "\n")
PY
if run kbt_rl_bad_$$ "$dir/bad.csv" >/dev/null 2>"$dir/err.txt"; then
	echo "a bad row was accepted"
	exit 1
fi
grep -q "roster $dir/bad.csv:2001: " "$dir/err.txt" || {
	cat "$dir/err.txt"
	exit 1
}

# a line far too long
{
	head -5 "$dir/clean.csv"
	python3 -c 'print("x" * 10000)'
	tail -5 "$dir/clean.csv"
} >"$dir/long.csv"
if run kbt_rl_long_$$ "$dir/long.csv" >/dev/null 2>"$dir/err.txt"; then
	echo "an overlong line was accepted"
	exit 1
fi
grep -q "roster $dir/long.csv:6: line longer" "$dir/err.txt" || {
	cat "$dir/err.txt"
	exit 1
}
echo PASS
