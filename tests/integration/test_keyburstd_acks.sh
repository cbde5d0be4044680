#!/bin/bash
# Acks over memif: keyburstd (memif server) rolls an MSK over to 2000 UEs;
# ack_peer (memif client, a second DPDK process) opens every message with
# the reference path, acks through kb_ref_build_ack, drops 30% of acks (at
# most 3 per UE) and sends forgeries. keyburstd must deliver every UE through
# retransmission, refuse every forgery (its counters must equal what the
# peer forged), and never repeat a counter (the peer checks).
set -euo pipefail
KEYBURSTD=$1
PEER=$2
KEYBURST=$3
dir=$(mktemp -d)
sock=$dir/kb.sock
peer_pid=
cleanup() { [ -n "$peer_pid" ] && kill "$peer_pid" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT

"$KEYBURST" roster gen --count 2000 --seed 5 --output "$dir/r.csv"
"$KEYBURSTD" --no-huge --no-pci -m 1024 --file-prefix "kbt_acks_d$$" -l 0-1 \
	--log-level=lib.eal:error --vdev "net_memif0,role=server,socket=$sock" -- \
	--config "$(dirname "$0")/../../dataplane/keyburstd.conf.example" \
	--roster "$dir/r.csv" --oneshot-rollover 1 --ack-timeout-ms 200 --retries 10 --backoff 1 \
	--pps 10000 --max-time-s 200 >"$dir/kbd.json" 2>"$dir/kbd.log" &
kbd_pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
"$PEER" --no-huge --no-pci -m 512 --file-prefix "kbt_acks_p$$" -l 0 --log-level=lib.eal:error \
	--vdev "net_memif0,role=client,socket=$sock" -- \
	--roster "$dir/r.csv" --drop 0.3 --max-drops 3 --forge 40 --idle-s 10 --timeout-s 220 \
	>"$dir/peer.json" 2>"$dir/peer.log" &
peer_pid=$!
kbd_rc=0
wait $kbd_pid || kbd_rc=$?
peer_rc=0
wait $peer_pid || peer_rc=$?
peer_pid=
cat "$dir/kbd.json" "$dir/peer.json"
if [ $kbd_rc -ne 0 ] || [ $peer_rc -ne 0 ]; then
	echo "keyburstd rc=$kbd_rc peer rc=$peer_rc"; tail -n 20 "$dir/kbd.log" "$dir/peer.log"; exit 1
fi
python3 - "$dir/kbd.json" "$dir/peer.json" <<'PY'
import json, sys
k = json.load(open(sys.argv[1])); p = json.load(open(sys.argv[2])); s = k["stats"]
assert k["ues"] == 2000 and k["acked"] == 2000 and k["failed"] == 0, k
assert k["retried"] > 0 and p["acks_dropped"] > 0, (k, p)    # retransmission happened
assert s["acks_ok"] == 2000, s                                  # one accepted ack per UE
assert p["counter_violations"] == 0 and p["msk_mismatch"] == 0 and p["ues_seen"] == 2000, p
assert p["forged_mac"] > 0 and s["acks_bad_mac"] == p["forged_mac"], (s, p)
assert s["acks_unknown_csb"] == p["forged_unknown_csb"] > 0, (s, p)
assert s["acks_stale_counter"] == p["forged_stale"] + p["forged_future"] > 0, (s, p)
assert s["acks_malformed"] + s["rx_non_mikey"] >= p["forged_truncated"] > 0, (s, p)
assert s["acks_malformed"] + s["rx_non_mikey"] + s["rx_other"] >= \
    p["forged_truncated"] + p["garbage_udp"] + p["garbage_l2"], (s, p)
# sent = first sends + retransmissions, and each took a fresh counter
assert k["sent"] == 2000 + k["retried"], k
assert p["messages"] == k["sent"] - s["tx_dropped"], (k, p)  # what left arrived
print("acks: ok, %d retransmissions, forgeries refused" % k["retried"])
PY
echo PASS
