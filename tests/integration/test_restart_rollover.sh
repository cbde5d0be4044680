#!/bin/bash
# Crash recovery of keyburstd with both planes (issues 4 and 5): the LMDB
# store behind the control plane, a roster imported over the admin API, a
# rollover to a memif peer, kill -9 in the middle, a restart on the same
# store that resumes the rollover by itself, and then:
#  - every UE ends with the final MSK: the control plane records the rollover
#    complete (delivered = targets, none failed, the new key number current),
#    and the peer saw every UE receive the one MSK of that MSK ID;
#  - no counter value was ever used twice per SA: ack_peer (memif server, a
#    separate process that lives through the restart, so its per-csb_id
#    "last counter" state spans both runs) requires counters to strictly
#    increase per csb_id across everything it received, before and after
#    the kill;
#  - the counter floor of the second run is the limit the first run had
#    persisted (greater than 1: every counter of run 1 lies below it).
# usage: test_restart_rollover.sh KEYBURSTD KEYBURST ACK_PEER
set -euo pipefail
KBD=$1 KB=$2 PEER=$3
N=${RESTART_UES:-20000}
W=$(mktemp -d)
S=$W/memif.sock
KPID= PPID_=
. "$(dirname "$0")/ctl_lib.sh"
fail() {
	echo "FAIL: $*" >&2
	for f in kbd1.log kbd2.log peer.log; do [ -f "$W/$f" ] && tail -n 15 "$W/$f" >&2; done
	exit 1
}
cleanup() {
	for p in $KPID $PPID_; do kill -9 "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT

free_port UP
free_port AP
TOK=restart-admin-token-0123456789
ADM=http://127.0.0.1:$AP
admin() { "$KB" admin --url "$ADM" --token "$TOK" "$@"; }
cat >"$W/kb.conf" <<EOF
[port]
ip = 192.0.2.1
next_hop_mac = 02:00:00:00:00:02
[dataplane]
; paced, so that the kill lands in the middle of the rollover
pps = 5000
ack_timeout_ms = 300
retries = 10
backoff = 1
[identity]
idi = bmsc.example.org
key_domain = 62f210
[control]
ue_addr = 127.0.0.1
ue_port = $UP
admin_port = $AP
admin_token = $TOK
store = $W/db
max_ues = $((N + 1024))
EOF
mkdir "$W/db"
"$KB" roster gen --count "$N" --seed 17 --output "$W/r.csv"

# the peer is the memif server: it stays up while keyburstd (client) dies
# and comes back
"$PEER" --no-huge --no-pci -m 512 --file-prefix "kbrr_p$$" -l 0 --log-level=lib.eal:error \
	--vdev "net_memif0,role=server,socket=$S" -- --roster "$W/r.csv" --drop 0.1 --max-drops 2 \
	--forge 0 --idle-s 120 --timeout-s 280 >"$W/peer.json" 2>"$W/peer.log" &
PPID_=$!

start_kbd() { # RUN
	local try
	for try in 1 2 3 4 5; do
		"$KBD" --no-huge --no-pci -m 1024 --file-prefix "kbrr_d$1_${try}_$$" -l 0-1 \
			--log-level=lib.eal:error --vdev "net_memif0,role=client,socket=$S" -- \
			--config "$W/kb.conf" >"$W/kbd$1.json" 2>"$W/kbd$1.log" &
		KPID=$!
		for _ in $(seq 300); do
			curl -sf "$ADM/healthz" >/dev/null 2>&1 && return 0
			kill -0 $KPID 2>/dev/null || break
			sleep 0.1
		done
		wait $KPID 2>/dev/null || true
		# the memif server may still be tearing down the killed client's
		# connection: the port start fails; try again
		grep -q "memif_connect_client(): Failed to connect" "$W/kbd$1.log" || break
		sleep 1
	done
	fail "keyburstd run $1: control plane not up"
}
progress() { admin service urn:svc:roll; }
field() { sed -n "s/.*\"$1\":\([0-9a-z]*\).*/\1/p"; }

# --- run 1: import, roll over, kill -9 in the middle ---
start_kbd 1
admin service-create '{"id":"urn:svc:roll","key_domain":"62f210","key_group":3}' >/dev/null
imp=$(admin import-roster "$W/r.csv" --service urn:svc:roll)
echo "$imp" | grep -q "\"imported\":$N" || fail "import: $imp"
pass "$N UEs imported over the admin API (SAs in LMDB, published to the key table)"
admin rollover urn:svc:roll >/dev/null
for _ in $(seq 300); do
	d=$(progress | field delivered)
	[ "${d:-0}" -ge $((N / 4)) ] && break
	sleep 0.1
done
p1=$(progress)
d1=$(echo "$p1" | field delivered)
[ "${d1:-0}" -ge $((N / 4)) ] && [ "$d1" -lt "$N" ] || fail "not in the middle: $p1"
granted1=$(curl -s "$ADM/metrics" | sed -n 's/^kb_dataplane_tx_msgs //p')
kill -9 $KPID
wait $KPID 2>/dev/null || true
KPID=
pass "kill -9 in the middle of the rollover ($d1 of $N delivered, $granted1 messages sent)"

# --- run 2: same store; the rollover resumes by itself ---
start_kbd 2
grep -q "resuming rollover of urn:svc:roll to key number 2" "$W/kbd2.log" || fail "no resume"
grep -q "$N SAs restored from the store" "$W/kbd2.log" || fail "SAs not restored"
floor2=$(sed -n 's/.*counter floor \([0-9]*\).*/\1/p' "$W/kbd2.log")
[ "${floor2:-0}" -gt 1 ] || fail "counter floor of run 2: '$floor2'"
pass "restart: $N SAs rebuilt from the store, rollover resumed, counter floor $floor2"
done_=
for _ in $(seq 1200); do
	if progress | grep -q '"in_progress":false'; then done_=1; break; fi
	sleep 0.1
done
p2=$(progress)
[ -n "$done_" ] || fail "resumed rollover not complete: $p2"
echo "$p2" | grep -q "\"msk_id\":$((3 << 16 | 2)),\"targets\":$N,\"delivered\":$N,\"failed\":0" ||
	fail "progress after the restart: $p2"
echo "$p2" | grep -q '"current_key_number":2,"rollover_key_number":0' || fail "store: $p2"
pass "the resumed rollover completed: $N of $N delivered, key number 2 current"

kill -TERM $KPID
krc=0
wait $KPID || krc=$?
KPID=
[ $krc = 0 ] || fail "keyburstd exit status $krc after SIGTERM"
pass "SIGTERM with the control plane running: exit 0"
sleep 0.5
kill -TERM $PPID_
prc=0
wait $PPID_ || prc=$?
PPID_=
python3 - "$W/peer.json" "$N" "$floor2" <<'PY' || fail "peer checks (rc=$prc)"
import json, sys
p = json.load(open(sys.argv[1])); n = int(sys.argv[2]); floor2 = int(sys.argv[3])
print(json.dumps(p))
assert p["ok"], p
assert p["counter_violations"] == 0, p      # strictly increasing per csb_id, across both runs
assert p["msk_mismatch"] == 0, p            # one MSK for MSK ID 00030002, before and after
assert p["ues_seen"] == n and p["open_failed"] == 0, p
assert p["messages"] > n, p                 # the restart sent the rollover again
PY
[ $prc = 0 ] || fail "ack_peer exit status $prc"
pass "peer: every UE got the MSK, no counter reuse across the kill -9"
echo PASS
