#!/bin/bash
# keyburst-uesim in kernel-socket mode (no EAL) against uesim_peer, a tiny
# BM-SC built from proto/ only, over loopback.
#  1. clean path: every UE accepts its message once; the replays, bad MACs and
#     garbage the peer injects are each counted exactly, none accepted.
#  2. lossy path: messages dropped, acks dropped, forged, duplicated, delayed:
#     the peer's retransmissions still get every UE the MSK, and every forged
#     ack is refused by the peer.
# usage: test_uesim_sock.sh KEYBURST UESIM PEER
set -euo pipefail
KB=$1 UESIM=$2 PEER=$3
N=${UESIM_TEST_UES:-3000}
T=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$T"' EXIT
PORT=$((20000 + $$ % 20000))

"$KB" roster gen --count "$N" --seed 11 --output "$T/roster.csv"

check() { # JSON-FILE PYTHON-EXPR...
	python3 - "$@" <<'PY'
import json, sys
u = json.load(open(sys.argv[1]))
p = json.loads(open(sys.argv[2]).read())
ok = True
for expr in sys.argv[3:]:
    if not eval(expr, {}, {"u": u, "p": p}):
        print("FAILED:", expr, file=sys.stderr)
        ok = False
if not ok:
    print(json.dumps(u, indent=1), json.dumps(p), file=sys.stderr)
sys.exit(0 if ok else 1)
PY
}

# --- 1. clean path, exact counts
"$UESIM" --mode sock --bind 127.0.0.1 --udp-port $PORT --roster "$T/roster.csv" \
	--expect-msk-id 00070003 --progress 0 --json "$T/u1.json" &
UPID=$!
sleep 0.5
"$PEER" "$T/roster.csv" 127.0.0.1 $PORT 00070003 25 17 9 > "$T/p1.json"
# no --until-all: it runs until told, so it sees the junk sent after the round
sleep 0.3
kill -TERM $UPID
wait $UPID
check "$T/u1.json" "$T/p1.json" \
	"u['all_hold'] and u['holding_msk'] == $N and u['ues'] == $N" \
	"u['accepted'] == $N and u['replays_rejected'] == 25" \
	"u['bad_mac'] == 17 and u['malformed'] == 9 and u['msk_mismatch'] == 0" \
	"u['unknown_ue'] == 0 and u['key_derivations'] == $N" \
	"p['acked'] == $N and p['rounds'] == 1 and p['forged_refused'] == 0" \
	"p['good_acks'] == u['acks_sent'] == $N"
echo "clean path ok"

# --- 2. lossy path
PORT=$((PORT + 1))
"$UESIM" --mode sock --bind 127.0.0.1 --udp-port $PORT --roster "$T/roster.csv" \
	--until-all --duration 60 --progress 0 --seed 5 \
	--drop-msg 0.1 --drop-ack 0.2 --forge-ack 0.05 --dup-ack 0.05 --delay-us 300 \
	--json "$T/u2.json" &
UPID=$!
sleep 0.5
"$PEER" "$T/roster.csv" 127.0.0.1 $PORT 00070004 0 0 0 > "$T/p2.json"
wait $UPID
check "$T/u2.json" "$T/p2.json" \
	"u['all_hold'] and u['holding_msk'] == $N and u['msk_id'] == '00070004'" \
	"u['msk_mismatch'] == 0 and u['replays_rejected'] == 0 and u['bad_mac'] == 0" \
	"u['dropped_msgs'] > 0 and u['acks_dropped'] > 0 and u['acks_duplicated'] > 0" \
	"u['acks_forged'] > 0 and p['forged_refused'] == u['acks_forged']" \
	"p['acked'] == $N and p['rounds'] > 1 and p['bad_acks'] == 0" \
	"p['good_acks'] == u['acks_sent']"
echo "lossy path ok"
