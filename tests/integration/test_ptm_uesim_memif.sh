#!/bin/bash
# PTM push, live, into keyburst-uesim's PTM receiver (issue 7): keyburstd
# (control plane, PAP, dataplane as memif client) and uesim in DPDK mode
# (memif server) with --ptm-group. Nothing hands uesim a key:
#  1. the roster is imported over the admin API and an MSK rollover of the
#     service's key group runs: every UE gets the new MSK in a MIKEY message
#     over memif and acks it (uesim's UE model);
#  2. a PAP push (real curl, --digest) goes out as MTK messages to the
#     group's MIKEY port and SRTP packets to its data port, to the group's
#     multicast MAC; uesim's receiver opens the MTK messages with the MSK
#     its UE (--ptm-ue, row 3 here) holds, unprotects the SRTP packets and
#     rebuilds the object;
#  3. the object is byte-identical to what was submitted (cmp, sha256), the
#     MTK message counters strictly increased, no SRTP packet failed, and
#     the unicast side saw no replay and no bad MAC.
# usage: test_ptm_uesim_memif.sh KEYBURSTD KEYBURST UESIM
set -euo pipefail
KBD=$1 KB=$2 UESIM=$3
N=200
W=$(mktemp -d)
S=$W/memif.sock
KPID= UPID=
. "$(dirname "$0")/ctl_lib.sh"
fail() {
	echo "FAIL: $*" >&2
	tail_logs kbd.log uesim.log
	exit 1
}
trap kill_cleanup EXIT

free_port UP
free_port AP
free_port PAPP
TOK=ptm-memif-admin-token-0123456
ADM=http://127.0.0.1:$AP
GROUP=239.192.0.9
admin() { "$KB" admin --url "$ADM" --token "$TOK" "$@"; }
mkdir "$W/db" "$W/out"
cat >"$W/kb.conf" <<EOF
[port]
ip = 192.0.2.1
; learned by ARP: uesim answers for any address
next_hop_ip = 192.0.2.254
[dataplane]
lcores = 1
ack_timeout_ms = 300
retries = 8
mbufs = 16383
[identity]
idi = bmsc.example.org
key_domain = 62f210
[service news]
key_group = 9
ptm_group = $GROUP
ptm_data_port = 5004
ptm_rate_bps = 20000000
ptm_rotate_ms = 0
ptm_repeat_ms = 200
ptm_lead_ms = 20
[control]
ue_addr = 127.0.0.1
ue_port = $UP
admin_port = $AP
admin_token = $TOK
store = $W/db
max_ues = $((N + 64))
[pap]
port = $PAPP
max_body = 4194304
default_lifetime = 600
[pap initiator pi-ok]
password = pi-ok-secret
EOF
"$KB" roster gen --count "$N" --seed 29 --output "$W/r.csv"

EAL=(--no-huge --no-pci --log-level=lib.eal:error)
MEMIF="socket=$S,socket-abstract=no,rsize=12"
# uesim is the memif server: it is up before keyburstd connects
"$UESIM" "${EAL[@]}" -m 512 --file-prefix "ptmu_u$$" -l 0 --vdev "net_memif0,role=server,$MEMIF" \
	-- --roster "$W/r.csv" --ptm-group "$GROUP:5004" --ptm-ue 3 --ptm-out "$W/out" \
	--duration 150 --progress 5 --json "$W/uesim.json" 2>"$W/uesim.log" &
UPID=$!
for _ in $(seq 300); do
	[ -S "$S" ] && break
	kill -0 $UPID 2>/dev/null || fail "uesim died before its port came up"
	sleep 0.1
done
[ -S "$S" ] || fail "uesim: no memif socket after 30 s"

"$KBD" "${EAL[@]}" -m 768 --file-prefix "ptmu_d$$" -l 0-1 \
	--vdev "net_memif0,role=client,$MEMIF" -- --config "$W/kb.conf" >"$W/kbd.json" \
	2>"$W/kbd.log" &
KPID=$!
wait_healthz "$ADM" 600
pass "uesim (memif server, PTM receiver on $GROUP) and keyburstd (memif client, PAP) up"

# ---- 1. the UEs get the MSK by a rollover ----
admin service-create '{"id":"news-9","key_domain":"62f210","key_group":9}' >/dev/null
imp=$(admin import-roster "$W/r.csv" --service news-9)
echo "$imp" | grep -q "\"imported\":$N" || fail "import: $imp"
admin rollover news-9 >/dev/null
done_=
for _ in $(seq 600); do
	if admin service news-9 | grep -q '"in_progress":false'; then
		done_=1
		break
	fi
	kill -0 $KPID 2>/dev/null || fail "keyburstd exited"
	sleep 0.1
done
p=$(admin service news-9)
[ -n "$done_" ] || fail "rollover not complete after 60 s: $p"
echo "$p" | grep -q "\"targets\":$N,\"delivered\":$N,\"failed\":0" || fail "rollover: $p"
pass "rollover: $N of $N UEs acked the MSK over memif"

# ---- 2. a PAP push ----
BOUND=asdlfkjiurwghasf
head -c 300000 /dev/urandom >"$W/obj.bin"
{
	printf -- '--%s\r\nContent-Type: application/xml\r\n\r\n' "$BOUND"
	printf '<?xml version="1.0"?>\r\n<pap><push-message push-id="live1@pi.example.com">'
	printf '<address address-value="WAPPUSH=news-9/TYPE=USER@bmsc.example.org"/>'
	printf '</push-message></pap>\r\n'
	printf -- '--%s\r\nContent-Type: application/octet-stream\r\n\r\n' "$BOUND"
	cat "$W/obj.bin"
	printf -- '\r\n--%s--\r\n' "$BOUND"
} >"$W/push.txt"
pap() {
	curl -s --digest -u pi-ok:pi-ok-secret -H "Content-Type: $1" --data-binary @"$2" \
		"http://127.0.0.1:$PAPP/pap"
}
R=$(pap "multipart/related; boundary=$BOUND; type=\"application/xml\"" "$W/push.txt")
echo "$R" | grep -q 'code="1001"' || fail "push not accepted: $R"
printf '<?xml version="1.0"?>\n<pap><statusquery-message push-id="live1@pi.example.com"/></pap>\n' \
	>"$W/q.xml"
st=
for _ in $(seq 300); do
	st=$(pap application/xml "$W/q.xml" | sed -n 's/.*message-state="\([a-z]*\)".*/\1/p' | head -1)
	[ "$st" = delivered ] && break
	sleep 0.1
done
[ "$st" = delivered ] || fail "push not delivered: $st"
pass "PAP push of 300 kB delivered by keyburstd"
# the last frames drain through the memif ring; uesim writes its summary
for _ in $(seq 50); do
	[ -s "$W/out/push-1.bin" ] && break
	sleep 0.1
done
sleep 0.3
kill -INT $UPID
urc=0
wait $UPID || urc=$?
UPID=
kill -TERM $KPID
wait $KPID || true
KPID=

# ---- 3. what uesim's receiver made of it ----
[ $urc = 0 ] || { cat "$W/uesim.json" >&2; fail "uesim exit status $urc"; }
ls "$W/out"
[ "$(ls "$W/out" | wc -l)" = 1 ] || fail "objects written: $(ls "$W/out")"
cmp "$W/obj.bin" "$W/out/"push-*.bin || fail "the object differs from what was submitted"
pass "uesim rebuilt the pushed object byte for byte"
python3 - "$W/uesim.json" "$W/obj.bin" "$N" <<'PY' || fail "uesim summary"
import hashlib, json, sys
u = json.load(open(sys.argv[1])); data = open(sys.argv[2], "rb").read(); n = int(sys.argv[3])
p = u["ptm"]
checks = [
    ("every UE holds the rolled-over MSK", u["all_hold"] and u["holding_msk"] == n),
    ("no replay, no bad MAC on the unicast side", u["replays_rejected"] == 0
        and u["bad_mac"] == 0 and u["malformed"] == 0 and u["unknown_ue"] == 0),
    ("the receiver used roster row 3, frames from the port", p["ue_row"] == 3
        and p["input"] == "dpdk"),
    ("MTK messages opened with that MSK", p["mtk_msgs"] > 0 and p["mtk_bad"] == 0
        and p["mtk_no_msk"] == 0),
    ("MTK counters strictly increasing", p["mtk_replays"] == 0),
    ("MTKs under the MSK the UE holds", all(m.split(':')[0] == u["msk_id"] for m in p["mtk_ids"])),
    ("every SRTP packet unprotected", p["srtp_ok"] >= len(data) // 1200 and p["srtp_bad"] == 0
        and p["srtp_no_key"] == 0),
    ("every frame to the group's multicast MAC", p["mac_bad"] == 0),
    ("one object, its SHA-256", p["objects_complete"] == 1 and len(p["objects"]) == 1
        and p["objects"][0]["sha256"] == hashlib.sha256(data).hexdigest()
        and p["bytes"] == len(data)),
    ("receiver ok", p["ok"]),
]
bad = [name for name, ok in checks if not ok]
for name in bad:
    print("FAILED:", name, file=sys.stderr)
if bad:
    print(json.dumps(u, indent=1), file=sys.stderr)
    sys.exit(1)
print("ok   uesim PTM: %d MTK messages, %d SRTP packets, MSK %s" % (p["mtk_msgs"], p["srtp_ok"], u["msk_id"]))
PY
echo "all PTM memif checks passed"
