#!/bin/bash
# keyburstd end to end, both planes in one daemon, across two network
# namespaces joined by a veth pair (issues 4 and 5):
#   kbA: keyburstd, its dataplane on net_af_packet (the veth, source 10.77.0.3,
#        ARP answered by the dataplane) and its control plane's UE listener on
#        the veth's kernel address 10.77.0.1:8080 (admin API on kbA's loopback)
#   kbB: the UEs: curl, a one-UE responder (mikey_responder.py), keyburst-uesim
#        on kernel sockets, tshark on the veth
#  1. A UE registers and requests its MSK with curl --digest (user = B-TID,
#     password = base64(MRK) of a provisioned GBA_U bootstrap record). The
#     dataplane sends the MIKEY MSK message to the UE's address; tshark
#     decodes it (no malformed packet); it opens with the UE's MUK (the
#     OpenSSL reference path, keyburst mikey open) and carries the current
#     MSK ID; the UE's first ack is withheld, so the delivery is retransmitted
#     with a fresh counter and acknowledged.
#  2. netem drops 20% of the frames both ways; a roster of UEs imported over
#     the admin API is rolled over to a new MSK; keyburst-uesim (sock mode)
#     answers: every UE ends up holding the new MSK through retransmission,
#     and the control plane records the rollover complete.
#  3. SIGTERM: keyburstd drains and exits 0 with the control plane running.
# Only addresses inside the two namespaces are used. Needs root.
# usage: test_e2e_netns.sh KEYBURSTD KEYBURST UESIM
set -euo pipefail
KBD=$1 KB=$2 UESIM=$3
HERE=$(cd "$(dirname "$0")" && pwd)
N_UES=${E2E_UES:-64}

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (network namespaces)"; exit 77; }
for t in ip tc ethtool tshark curl python3; do
	command -v $t >/dev/null || { echo "SKIP: $t missing"; exit 77; }
done
[ -x "$UESIM" ] || { echo "SKIP: $UESIM not built"; exit 77; }

ID=$$
NA=kbA$ID NB=kbB$ID VA=kbva$ID VB=kbvb$ID
W=$(mktemp -d)
KPID= TPID= RPID= UPID=
fail() { echo "FAIL: $*" >&2; tail -n 30 "$W/kbd.log" >&2 2>/dev/null || true; exit 1; }
pass() { echo "ok   $*"; }
cleanup() {
	for p in $UPID $RPID $TPID; do kill "$p" 2>/dev/null || true; done
	if [ -n "$KPID" ] && kill -0 "$KPID" 2>/dev/null; then
		kill -TERM "$KPID" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$KPID" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$KPID" 2>/dev/null || true
	fi
	wait 2>/dev/null || true
	[ -n "${E2E_KEEP_LOG:-}" ] && cp "$W/kbd.log" "$E2E_KEEP_LOG" 2>/dev/null
	ip netns del "$NA" 2>/dev/null || true
	ip netns del "$NB" 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT
inA() { ip netns exec "$NA" "$@"; }
inB() { ip netns exec "$NB" "$@"; }

# --- the two namespaces and the veth ---
ip netns add "$NA"
ip netns add "$NB"
ip link add "$VA" type veth peer name "$VB"
ip link set "$VA" netns "$NA"
ip link set "$VB" netns "$NB"
ip -n "$NA" addr add 10.77.0.1/24 dev "$VA"
ip -n "$NB" addr add 10.77.0.2/24 dev "$VB"
for ns in "$NA" "$NB"; do ip -n "$ns" link set lo up; done
ip -n "$NA" link set "$VA" up
ip -n "$NB" link set "$VB" up
# the kernel must not leave checksums to an offload the packet socket never
# sees: af_packet on one end, kernel sockets on the other
inA ethtool -K "$VA" tx off >/dev/null
inB ethtool -K "$VB" tx off >/dev/null
# the simulated UEs' addresses are local to kbB
ip -n "$NB" route add local 10.77.1.0/24 dev lo

TOK=e2e-admin-token-0123456789
cat >"$W/kb.conf" <<EOF
; one config, both planes
[port]
ip = 10.77.0.3
next_hop_ip = 10.77.0.2
[dataplane]
ack_timeout_ms = 150
retries = 14
backoff = 1
[identity]
idi = bmsc.example.org
key_domain = 62f210
[control]
ue_addr = 10.77.0.1
ue_port = 8080
admin_addr = 127.0.0.1
admin_port = 8081
admin_token = $TOK
store = $W/db
max_ues = 4096
EOF
mkdir "$W/db"
# qdisc_bypass=0: the dataplane's frames go through the veth's qdisc (netem)
# (ip netns exec execs: $! is keyburstd itself)
ip netns exec "$NA" "$KBD" --no-huge --no-pci -m 512 --file-prefix "kbe2e$ID" -l 0-1 --log-level=lib.eal:error \
	--vdev "net_af_packet0,iface=$VA,qdisc_bypass=0" -- --config "$W/kb.conf" \
	>"$W/kbd.json" 2>"$W/kbd.log" &
KPID=$!
ADM=http://127.0.0.1:8081
for _ in $(seq 150); do
	inA curl -sf "$ADM/healthz" >/dev/null 2>&1 && break
	kill -0 $KPID 2>/dev/null || fail "keyburstd died"
	sleep 0.1
done
inA curl -sf "$ADM/healthz" >/dev/null || fail "control plane not up"
pass "keyburstd up: dataplane on af_packet $VA, control plane on 10.77.0.1:8080"

# control threads stay on the main lcore's core (cpu 0), never on lcore 1's
for t in /proc/$KPID/task/*; do
	name=$(cat "$t/comm")
	cpus=$(sed -n 's/^Cpus_allowed_list:\s*//p' "$t/status")
	case $name in
	lcore-worker-*) [ "$cpus" = 1 ] || fail "dataplane thread $name on cpus $cpus" ;;
	eal-intr-thread | rte_mp_handle | telemetry-v2 | rte-worker-*) ;;
	*) [ "$cpus" = 0 ] || fail "control thread $name ($t) allowed on cpus $cpus" ;;
	esac
done
pass "control-plane threads pinned to the main lcore's core"

admin() { inA "$KB" admin --url "$ADM" --token "$TOK" "$@"; }
admin service-create '{"id":"urn:svc:e2e","key_domain":"62f210","key_group":1}' >/dev/null
KSE=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
KSI=1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100
BTID='AAECAwQFBgcICQoLDA0ODw==@bsf.example.org'
admin bootstraps "{\"btid\":\"$BTID\",\"impi\":\"ue1@ims.example.org\",\"mode\":\"GBA_U\",\"ks_ext_naf\":\"$KSE\",\"ks_int_naf\":\"$KSI\",\"lifetime\":600}" >/dev/null
# GBA_U: MRK = Ks_ext_NAF, MUK = Ks_int_NAF; the password is base64(MRK)
PW=$(printf %s $KSE | xxd -r -p | base64)

# --- 1. curl --digest, the MIKEY message over the veth ---
ip netns exec "$NB" tshark -q -i "$VB" -f "udp port 4359" -w "$W/cap.pcapng" 2>"$W/tshark.log" &
TPID=$!
for _ in $(seq 100); do grep -q "Capturing on" "$W/tshark.log" 2>/dev/null && break; sleep 0.1; done
ip netns exec "$NB" python3 "$HERE/mikey_responder.py" "$KB" 10.77.0.2 4359 $KSI "$W/ue1.log" --drop-first 1 &
RPID=$!
for _ in $(seq 100); do inB ss -lun | grep -q '10.77.0.2:4359' && break; sleep 0.1; done
cat >"$W/reg.xml" <<X
<?xml version="1.0"?>
<mbmsUserServiceRegistration xmlns="urn:3GPP:metadata:2005:MBMS:userServiceRegistration">
  <serviceId>urn:svc:e2e</serviceId>
</mbmsUserServiceRegistration>
X
cat >"$W/msk.xml" <<X
<mskRequest xmlns="urn:3GPP:metadata:2005:MBMS:mskRequest">
  <keyDomainId>62F210</keyDomainId>
  <mskId>00010000</mskId>
</mskRequest>
X
UE=http://10.77.0.1:8080
code=$(inB curl -s -o "$W/reg.out" -w '%{http_code}' --digest -u "$BTID:$PW" --data-binary @"$W/reg.xml" \
	-H 'Content-Type: application/mbms-register+xml' $UE/mbms/v1/register) || fail "curl: exit $?"
[ "$code" = 200 ] && grep -q 'statusCode="200"' "$W/reg.out" || fail "registration: $code $(cat "$W/reg.out")"
pass "registration with curl --digest from kbB: 200"
code=$(inB curl -s -o "$W/msk.out" -w '%{http_code}' --digest -u "$BTID:$PW" --data-binary @"$W/msk.xml" \
	-H 'Content-Type: application/mbms-msk+xml' $UE/mbms/v1/msk) || fail "curl: exit $?"
[ "$code" = 200 ] && grep -q 'mskId="00010000" statusCode="200"' "$W/msk.out" || fail "MSK request: $code $(cat "$W/msk.out")"
pass "MSK request with curl --digest: 200, item 200"
for _ in $(seq 100); do grep -q '"acked": true' "$W/ue1.log" 2>/dev/null && break; sleep 0.1; done
grep -q '"acked": true' "$W/ue1.log" || fail "no MSK message reached the UE: $(cat "$W/ue1.log" 2>/dev/null)"
metric() { inA curl -s "$ADM/metrics" | sed -n "s/^kb_dataplane_$1 //p"; }
for _ in $(seq 50); do [ "$(metric acks_ok)" = 1 ] && break; sleep 0.1; done
[ "$(metric acks_ok)" = 1 ] || fail "the UE's ack was not accepted: acks_ok=$(metric acks_ok)"
sleep 0.5
kill -INT $TPID
wait $TPID 2>/dev/null || true
TPID=
kill $RPID 2>/dev/null || true
wait $RPID 2>/dev/null || true
RPID=
python3 - "$W/ue1.log" <<'PY' || fail "UE-side checks"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert len(recs) >= 2, recs                        # first unanswered -> retransmitted
assert all(r["open_rc"] == 0 and r["mac_ok"] for r in recs), recs
assert all(r["from"] == "10.77.0.3" and r["sport"] == 4359 for r in recs), recs
assert all(r["msk_id"] == "00010001" for r in recs), recs   # the current MSK (key number 1)
assert len({r["msk"] for r in recs}) == 1, recs             # the same key every time
ctr = [r["counter"] for r in recs]
assert ctr == sorted(set(ctr)), ctr                         # a fresh counter per send
assert recs[-1].get("acked"), recs
print("UE: %d messages, counters %s" % (len(recs), ctr))
PY
pass "the MSK message opens with the UE's MUK, MSK ID 00010001, retransmitted with fresh counters, acked"
mal=$(tshark -r "$W/cap.pcapng" -d udp.port==4359,mikey -Y '_ws.malformed || _ws.expert.severity >= error' 2>/dev/null | wc -l)
[ "$mal" = 0 ] || fail "tshark: malformed packets: $(tshark -r "$W/cap.pcapng" -d udp.port==4359,mikey -Y _ws.malformed)"
tshark -r "$W/cap.pcapng" -d udp.port==4359,mikey -V >"$W/tshark.txt" 2>/dev/null
grep -q "Multimedia Internet KEYing" "$W/tshark.txt" || fail "tshark did not decode MIKEY"
nmsg=$(tshark -r "$W/cap.pcapng" -d udp.port==4359,mikey -Y 'ip.src == 10.77.0.3 && mikey' 2>/dev/null | wc -l)
[ "$nmsg" -ge 2 ] || fail "capture: $nmsg MIKEY messages from the dataplane"
# the captured bytes (not the responder's view) open with the MUK too
HEX=$(tshark -r "$W/cap.pcapng" -Y 'ip.src == 10.77.0.3' -T fields -e udp.payload 2>/dev/null | head -1 | tr -d ':')
"$KB" mikey open --muk $KSI "$HEX" >"$W/open.json" || fail "captured message does not open"
grep -q '"msk_id": "00010001"' "$W/open.json" || fail "captured message: $(cat "$W/open.json")"
grep -q '"mac_ok": true' "$W/open.json" || fail "captured message: MAC"
pass "tshark: $nmsg MIKEY messages captured on $VB, decoded, none malformed; the capture opens"

# --- 2. 20% loss both ways, a rollover to UEs on kernel sockets ---
admin service-create '{"id":"urn:svc:loss","key_domain":"62f210","key_group":2}' >/dev/null
"$KB" roster gen --count "$N_UES" --seed 7 --output "$W/r0.csv"
sed -E 's/,100\.64\.0\.([0-9]+),/,10.77.1.\1,/' "$W/r0.csv" >"$W/r.csv"
[ "$(grep -c ',10.77.1.' "$W/r.csv")" = "$N_UES" ] || fail "roster addresses"
imp=$(inA "$KB" admin --url "$ADM" --token "$TOK" import-roster "$W/r.csv" --service urn:svc:loss)
echo "$imp" | grep -q "\"imported\":$N_UES" || fail "import: $imp"
pass "$N_UES UEs imported over the admin API into urn:svc:loss"
# 20% loss each way: tc netem where the kernel has it (kbB's egress: acks;
# kbA's egress: the dataplane's frames, which pass the qdisc with
# qdisc_bypass=0), otherwise nftables on kbB's veth (netdev ingress: MSK
# messages, egress: acks) with a random 1-in-5 drop
LOSS=
if inB tc qdisc add dev "$VB" root netem loss 20% 2>/dev/null &&
	inA tc qdisc add dev "$VA" root netem loss 20% 2>/dev/null; then
	LOSS=netem
elif command -v nft >/dev/null; then
	inB nft -f - <<EOF
table netdev kbloss {
	chain down { type filter hook ingress device "$VB" priority 0; udp dport 4359 numgen random mod 5 == 0 counter drop; }
	chain up { type filter hook egress device "$VB" priority 0; udp dport 4359 numgen random mod 5 == 0 counter drop; }
}
EOF
	LOSS=nft
else
	echo "SKIP: neither tc netem (sch_netem) nor nft for the loss part"; exit 77
fi
ip netns exec "$NB" "$UESIM" --mode sock --bind 0.0.0.0 --udp-port 4359 --roster "$W/r.csv" \
	--expect-msk-id 00020002 --until-all --linger 3 --duration 120 --progress 0 \
	--json "$W/uesim.json" >"$W/uesim.out" 2>"$W/uesim.log" &
UPID=$!
sleep 0.5
retried0=$(metric retried)
admin rollover urn:svc:loss >/dev/null
done_=
for _ in $(seq 600); do
	if admin service urn:svc:loss | grep -q '"in_progress":false'; then done_=1; break; fi
	sleep 0.2
done
urc=0
wait $UPID || urc=$?
UPID=
svc=$(admin service urn:svc:loss)
[ -n "$done_" ] || fail "rollover not complete: $svc"
echo "$svc" | grep -q "\"targets\":$N_UES,\"delivered\":$N_UES,\"failed\":0" || fail "progress: $svc"
echo "$svc" | grep -q '"current_key_number":2' || fail "store: $svc"
[ $urc = 0 ] || fail "uesim rc=$urc: $(cat "$W/uesim.json" "$W/uesim.log")"
retried=$(metric retried)
if [ $LOSS = netem ]; then
	lostA=$(inA tc -s qdisc show dev "$VA" | sed -n 's/.*dropped \([0-9]*\).*/\1/p' | head -1)
	lostB=$(inB tc -s qdisc show dev "$VB" | sed -n 's/.*dropped \([0-9]*\).*/\1/p' | head -1)
else
	lostA=$(inB nft list chain netdev kbloss down | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
	lostB=$(inB nft list chain netdev kbloss up | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
fi
python3 - "$W/uesim.json" "$N_UES" <<'PY' || fail "uesim summary"
import json, sys
u = json.load(open(sys.argv[1])); n = int(sys.argv[2])
assert u["ues"] == n and u["holding_msk"] == n and u["all_hold"], u
assert u["msk_ids"] == [{"msk_id": "00020002", "holders": n}], u
assert u["replays_rejected"] == 0 and u["bad_mac"] == 0 and u["malformed"] == 0, u
assert u["msk_mismatch"] == 0 and u["unknown_ue"] == 0, u
print("uesim: %d UEs hold 00020002, %d messages accepted, %d acks" % (n, u["accepted"], u["acks_sent"]))
PY
[ "$((retried - retried0))" -gt 0 ] && [ "${lostA:-0}" -gt 0 ] && [ "${lostB:-0}" -gt 0 ] ||
	fail "no loss or no retransmission: retried $retried0->$retried, netem dropped $lostA/$lostB"
pass "20% loss both ways ($LOSS dropped $lostA downlink, $lostB uplink): all $N_UES UEs hold 00020002, $((retried - retried0)) retransmissions"
if [ $LOSS = netem ]; then
	inA tc qdisc del dev "$VA" root
	inB tc qdisc del dev "$VB" root
else
	inB nft delete table netdev kbloss
fi

# --- 3. SIGTERM with the control plane running: drain, summary, exit 0 ---
kill -TERM $KPID
krc=0
wait $KPID || krc=$?
KPID=
[ $krc = 0 ] || fail "keyburstd exit status $krc after SIGTERM"
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["stats"]["tx_msgs"] > 0, j' "$W/kbd.json" ||
	fail "no summary on stdout"
pass "SIGTERM: drained, summary printed, exit 0"
echo PASS
