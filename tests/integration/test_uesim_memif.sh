#!/bin/bash
# keyburstd one-shot rollover (memif server) against keyburst-uesim (memif
# client, its own --file-prefix): 100,000 UEs (issue 5), 20% of the acks
# dropped by the UEs, no pacing: uesim checks in IPsec-MB bursts, a memif
# ring of 2^14 slots absorbs what it takes late, and keyburstd's
# retransmission (fresh counters, exponential backoff) covers the rest. Every UE must be acked (keyburstd exit 0), every UE must hold the new
# MSK with the same key (uesim exit 0), and uesim must see no counter reuse
# (replays_rejected 0) and no bad MAC.
# usage: test_uesim_memif.sh KEYBURST KEYBURSTD UESIM
set -euo pipefail
KB=$1 KBD=$2 UESIM=$3
N=${UESIM_TEST_UES:-100000}
T=$(mktemp -d)
SOCK="$T/memif.sock"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$T"' EXIT

"$KB" roster gen --count "$N" --seed 21 --output "$T/roster.csv"
cat > "$T/kb.conf" <<CONF
[port]
port = 0
ip = 192.0.2.1
; learned by ARP: uesim answers for any address
next_hop_ip = 192.0.2.254
udp_checksum_ipv4 = true
[dataplane]
burst = 32
; no pacing (0): see the top of this file
pps = ${UESIM_TEST_PPS:-0}
; a fixed 500 ms deadline: uesim's --linger (2 s) outlasts it, so a UE
; whose ack was dropped still gets its retransmission answered
ack_timeout_ms = 500
retries = 40
backoff = 1
mbufs = 32767
[identity]
idi = bmsc.example.org
key_domain = 62f210
[service news]
key_group = 1
udp_port = 4359
ack = true
CONF

EAL_COMMON=(--no-huge -m 768 --log-level=warning --no-pci)
MEMIF="socket=$SOCK,socket-abstract=no,rsize=14"
# uesim on lcore 1, keyburstd's dataplane lcore, not 0 (its main lcore).
# The uesim SIGSEGV seen in CI (about 1 run in 5) is a race in DPDK 22.11's
# memif PMD: when the peer leaves, the interrupt thread's memif_disconnect
# unmaps the shared regions without waiting for the thread polling the
# port; eth_memif_rx computes its ring pointer, tests the CONNECTED flag,
# then reads the ring. A thread descheduled between the two finds the ring
# unmapped (forced with gdb; caught in a loop of this test with an ASan
# uesim: SEGV in librte_net_memif.so under rte_eth_rx_burst, reading the
# ring head, just after keyburstd exited 0). keyburstd exits right after
# the last ack while uesim lingers; with
# both main lcores on core 0, keyburstd's exit path preempted uesim's loop,
# often inside rte_eth_rx_burst, while uesim's interrupt thread (on core 1)
# unmapped the rings. keyburstd stops its lcores before it closes the port,
# so on core 1 uesim polls alone then and is not descheduled there.
# Should the race still strike (other load on core 1), it is recognised by
# its circumstances: keyburstd already done (exit 0, every UE acked) when
# uesim died of SIGSEGV; that run is repeated once, loudly. A crash while
# keyburstd still runs, or a second one, fails the test.
for attempt in 1 2; do
	rm -f "$SOCK" "$T/uesim.json" "$T/kbd.json"
	"$KBD" "${EAL_COMMON[@]}" --file-prefix "kbd$$" -l 0,1 \
		--vdev "net_memif0,role=server,$MEMIF" -- \
		--config "$T/kb.conf" --roster "$T/roster.csv" --oneshot-rollover 1 --max-time-s 120 \
		> "$T/kbd.json" 2> "$T/kbd.err" &
	KPID=$!
	# uesim restarts its port if the first connection came too early
	for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
	[ -S "$SOCK" ] || { cat "$T/kbd.err"; echo "keyburstd did not create $SOCK"; exit 1; }

	rc=0
	"$UESIM" "${EAL_COMMON[@]}" --file-prefix "uesim$$" -l 1 \
		--vdev "net_memif0,role=client,$MEMIF" -- \
		--roster "$T/roster.csv" --until-all --duration 120 --linger 2 --drop-ack 0.2 \
		--mbufs 32767 --progress 5 --json "$T/uesim.json" 2> "$T/uesim.err" || rc=$?
	kbd_ran=0
	kill -0 "$KPID" 2>/dev/null && kbd_ran=1
	# a uesim crash mid-rollover leaves keyburstd waiting for acks
	[ "$rc" = 139 ] && [ $kbd_ran = 1 ] && kill "$KPID" 2>/dev/null
	krc=0
	wait $KPID || krc=$?
	if [ "$rc" = 139 ]; then
		echo "WARNING: keyburst-uesim crashed (SIGSEGV); its stderr:" >&2
		cat "$T/uesim.err" >&2
		if [ "$attempt" = 1 ] && [ $kbd_ran = 0 ] && [ $krc = 0 ]; then
			echo "keyburstd had finished (exit 0): the memif disconnect race; retrying once" >&2
			continue
		fi
	fi
	tail -3 "$T/uesim.err"
	break
done
python3 - "$T/uesim.json" "$T/kbd.json" "$N" "$rc" "$krc" <<'PY'
import json, sys
u = json.load(open(sys.argv[1]))
k = json.load(open(sys.argv[2]))
n, rc, krc = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
checks = [
    ("uesim exit 0", rc == 0),
    ("keyburstd exit 0", krc == 0),
    ("every UE acked", k.get("acked") == n and k.get("failed") == 0),
    ("every UE holds the new MSK", u["all_hold"] and u["holding_msk"] == n),
    ("the MSK ID is keyburstd's", u["msk_id"] == k.get("msk_id")),
    ("one key for that MSK ID", u["msk_mismatch"] == 0),
    ("no counter reuse seen", u["replays_rejected"] == 0),
    ("no bad MAC, no garbage", u["bad_mac"] == 0 and u["malformed"] == 0
         and u["unknown_ue"] == 0 and u["bad_keydata"] == 0),
    ("acks were dropped and retransmissions came", u["acks_dropped"] > 0
         and k.get("retried", 0) > 0),
    ("every ack keyburstd took was a real one", k["stats"]["acks_bad_mac"] == 0),
]
bad = [name for name, ok in checks if not ok]
for name in bad:
    print("FAILED:", name, file=sys.stderr)
if bad:
    print(json.dumps(u, indent=1), json.dumps(k, indent=1), file=sys.stderr)
    sys.exit(1)
print("memif rollover ok: %d UEs, %d retried, rollover %.2fs, uesim %.2fs"
      % (n, k["retried"], k["duration_s"], u["seconds"]))
PY
