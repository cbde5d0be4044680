#!/bin/bash
# PTM push end to end (issue 7): PAP submissions with real curl (multipart/
# related, --digest) to pap_harness (control plane + PAP + the dataplane's
# PTM code writing a pcap); the capture is checked by keyburst-uesim's PTM
# receiver (--ptm-pcap: the UE is given the MSKs the harness handed to the
# dataplane) and ptm_check_libsrtp (libsrtp2, no code shared with uesim's
# receiver): every MTK message opens with the MSK, every SRTP packet
# unprotects, and the objects are byte-identical to what was submitted. Then the PAP error codes, cancel, status query,
# result notifications, and an MSK rollover in the middle of a push.
set -euo pipefail
HARNESS=$1
UESIM=$2
CHECK=$3
KB=$4
. "$(dirname "$0")/ctl_lib.sh"

W=$(mktemp -d)
NPID=
cleanup() {
	stop_harness
	[ -n "$NPID" ] && kill "$NPID" 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap "stop_harness; kill \$NPID; echo kept $W" EXIT

free_port ADMIN
free_port PAP
free_port NOTIFY
TOKEN=pap-harness-admin-token
FQDN=bmsc.example.org
URL=http://127.0.0.1:$PAP/pap
BOUND=asdlfkjiurwghasf
CT="multipart/related; boundary=$BOUND; type=\"application/xml\""

# a result-notification sink: appends every POSTed body to notify.log
python3 - "$NOTIFY" "$W/notify.log" <<'EOF' &
import http.server, sys
port, out = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get('Content-Length', 0))
        with open(out, 'ab') as f:
            f.write(self.rfile.read(n) + b'\n')
        self.send_response(200); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(('127.0.0.1', port), H).serve_forever()
EOF
NPID=$!
for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$NOTIFY) 2>/dev/null && break; sleep 0.05; done

start_harness "$W/h" --store "$W/store" --admin-port "$ADMIN" --pap-port "$PAP" \
	--pcap "$W/ptm.pcap" --msk-log "$W/msk.log" --rate-bps 8000000 --rotate-ms 0 \
	--repeat-ms 300 --lead-ms 20

adm() { curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' "$@"; }
adm -X POST --data '{"id":"news-7","key_domain":"62f210","key_group":7}' \
	"http://127.0.0.1:$ADMIN/v1/services" >/dev/null

# push_file OUT PUSH_ID SERVICE CONTENT_FILE [extra push-message attributes]
push_file() {
	local out=$1 id=$2 svc=$3 content=$4 extra=${5:-}
	{
		printf -- '--%s\r\nContent-Type: application/xml\r\n\r\n' "$BOUND"
		printf '<?xml version="1.0"?>\r\n<!DOCTYPE pap PUBLIC "-//WAPFORUM//DTD PAP 2.1//EN" "http://www.openmobilealliance.org/tech/DTD/pap_2.1.dtd">\r\n'
		printf '<pap><push-message push-id="%s" %s>' "$id" "$extra"
		printf '<address address-value="WAPPUSH=%s/TYPE=USER@%s"/>' "$svc" "$FQDN"
		printf '<quality-of-service priority="high" delivery-method="unconfirmed"/>'
		printf '</push-message></pap>\r\n'
		printf -- '--%s\r\nContent-Type: application/octet-stream\r\n\r\n' "$BOUND"
		cat "$content"
		printf -- '\r\n--%s--\r\n' "$BOUND"
	} >"$out"
}

# pap USER PASS BODYFILE [CTYPE] → response body on stdout
pap() {
	curl -s --digest -u "$1:$2" -H "Content-Type: ${4:-$CT}" --data-binary @"$3" "$URL"
}
code_of() { sed -n 's/.*code="\([0-9]*\)".*/\1/p' | head -1; }
state_of() { sed -n 's/.*message-state="\([a-z]*\)".*/\1/p' | head -1; }

query() { # query KIND PUSH_ID → response
	printf '<?xml version="1.0"?>\n<pap><%s-message push-id="%s"/></pap>\n' "$1" "$2" >"$W/q.xml"
	pap pi-ok pi-ok-secret "$W/q.xml" application/xml
}

wait_state() { # wait_state PUSH_ID STATE
	for _ in $(seq 1 200); do
		[ "$(query statusquery "$1" | state_of)" = "$2" ] && return 0
		sleep 0.05
	done
	fail "push $1 never reached state $2 (now: $(query statusquery "$1"))"
}

# ---- 1. a push, delivered, checked by two receivers ----
head -c 100000 /dev/urandom >"$W/obj1.bin"
push_file "$W/p1.txt" "p1@pi.example.com" news-7 "$W/obj1.bin" \
	"ppg-notify-requested-to=\"http://127.0.0.1:$NOTIFY/notify\""
R=$(pap pi-ok pi-ok-secret "$W/p1.txt")
expect_eq "push accepted" "$(echo "$R" | code_of)" 1001
wait_state "p1@pi.example.com" delivered
pass "status query: delivered"
for _ in $(seq 1 40); do grep -q 'p1@pi.example.com' "$W/notify.log" 2>/dev/null && break; sleep 0.05; done
expect_grep "result notification posted" 'message-state="delivered"' "$W/notify.log"

# the unauthenticated and the wrong password get 401, no PAP processing
HC=$(curl -s -o /dev/null -w '%{http_code}' -H "Content-Type: $CT" --data-binary @"$W/p1.txt" "$URL")
expect_eq "no credentials: 401" "$HC" 401
HC=$(curl -s -o /dev/null -w '%{http_code}' --digest -u pi-ok:wrong -H "Content-Type: $CT" \
	--data-binary @"$W/p1.txt" "$URL")
expect_eq "wrong password: 401" "$HC" 401

# ---- 2. PAP errors ----
R=$(pap pi-ok pi-ok-secret "$W/p1.txt")
expect_eq "duplicate push-id → 2007" "$(echo "$R" | code_of)" 2007
printf -- '--%s\r\nContent-Type: application/xml\r\n\r\n<pap><push-message push-id="x"><address\r\n--%s\r\nContent-Type: text/plain\r\n\r\nhi\r\n--%s--\r\n' \
	"$BOUND" "$BOUND" "$BOUND" >"$W/bad.txt"
R=$(pap pi-ok pi-ok-secret "$W/bad.txt")
expect_eq "bad XML → 2000" "$(echo "$R" | code_of)" 2000
echo "$R" | grep -q badmessage-response || fail "bad XML: no badmessage-response: $R"
push_file "$W/p2.txt" "p2@pi.example.com" no-such-service "$W/obj1.bin"
R=$(pap pi-ok pi-ok-secret "$W/p2.txt")
expect_eq "unknown service → 2002" "$(echo "$R" | code_of)" 2002
push_file "$W/p3.txt" "p3@pi.example.com" news-7 "$W/obj1.bin"
R=$(pap pi-blocked pi-blocked-secret "$W/p3.txt")
expect_eq "initiator not on the allowlist → 2001" "$(echo "$R" | code_of)" 2001
R=$(query statusquery "never-sent@pi.example.com")
expect_eq "status of an unknown push-id → 2004" "$(echo "$R" | code_of)" 2004

# ---- 3. cancel before delivery ----
AFTER=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
push_file "$W/p4.txt" "p4@pi.example.com" news-7 "$W/obj1.bin" \
	"deliver-after-timestamp=\"$AFTER\" ppg-notify-requested-to=\"http://127.0.0.1:$NOTIFY/n\""
R=$(pap pi-ok pi-ok-secret "$W/p4.txt")
expect_eq "deferred push accepted" "$(echo "$R" | code_of)" 1001
expect_eq "status query: pending" "$(query statusquery p4@pi.example.com | state_of)" pending
R=$(query cancel p4@pi.example.com)
expect_eq "cancel → 1000" "$(echo "$R" | code_of)" 1000
expect_eq "status query: cancelled" "$(query statusquery p4@pi.example.com | state_of)" cancelled
for _ in $(seq 1 40); do grep -q 'p4@pi.example.com' "$W/notify.log" 2>/dev/null && break; sleep 0.05; done
expect_grep "cancel notification posted" 'message-state="cancelled"' "$W/notify.log"
R=$(query cancel p1@pi.example.com)
[ "$(echo "$R" | code_of)" != 1000 ] || fail "cancelling a delivered push succeeded"
pass "cancel after delivery refused"

# ---- 4. an MSK rollover during a push (3 MB at 8 Mbit/s: ~3 s) ----
head -c 3000000 /dev/urandom >"$W/obj2.bin"
push_file "$W/p5.txt" "p5@pi.example.com" news-7 "$W/obj2.bin"
R=$(pap pi-ok pi-ok-secret "$W/p5.txt")
expect_eq "large push accepted" "$(echo "$R" | code_of)" 1001
sleep 1
adm -X POST --data '{}' "http://127.0.0.1:$ADMIN/v1/services/news-7/rollover" >/dev/null
expect_eq "still sending at the rollover" "$(query statusquery p5@pi.example.com | state_of)" pending
wait_state "p5@pi.example.com" delivered
pass "large push delivered across the rollover"
sleep 0.4 # one more MTK repeat in the capture
stop_harness
cat "$W/h.out"

# ---- 5. the capture, through both receivers ----
MSKS=() UE_MSKS=()
while read -r id key; do
	MSKS+=(--msk "0x$id:$key")
	UE_MSKS+=(--ptm-msk "62f210:$id:$key")
done <"$W/msk.log"
expect_eq "two MSKs handed to the dataplane" "${#MSKS[@]}" 4
mkdir "$W/ref" "$W/lib"
# uesim: one UE (roster row 0) holding those MSKs, every group of the capture
"$KB" roster gen --count 1 --seed 7 --output "$W/roster.csv" >/dev/null
"$UESIM" --roster "$W/roster.csv" --ptm-pcap "$W/ptm.pcap" "${UE_MSKS[@]}" --ptm-out "$W/ref" \
	--progress 0 --json "$W/ref.json" || { cat "$W/ref.json"; fail "keyburst-uesim --ptm-pcap"; }
cat "$W/ref.json"
"$CHECK" --pcap "$W/ptm.pcap" "${MSKS[@]}" --data-port 5004 --out "$W/lib" >"$W/lib.json" ||
	{ cat "$W/lib.json"; fail "ptm_check_libsrtp"; }
cat "$W/lib.json"
expect_eq "objects in the capture" "$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["complete"])' "$W/lib.json")" 2
cmp "$W/obj1.bin" "$W/lib/push-1.bin" || fail "libsrtp2: object 1 differs"
cmp "$W/obj2.bin" "$W/lib/push-3.bin" || fail "libsrtp2: object 2 differs"
pass "libsrtp2 reassembles both objects byte for byte"
cmp "$W/obj1.bin" "$W/ref/push-1.bin" || fail "uesim: object 1 differs"
cmp "$W/obj2.bin" "$W/ref/push-3.bin" || fail "uesim: object 2 differs"
pass "keyburst-uesim's PTM receiver agrees byte for byte"
# the rollover: MTKs under both MSK IDs, content after it under the new one;
# uesim's summary agrees with libsrtp2's count and with sha256sum
python3 - "$W/lib.json" "$W/ref.json" "$W/obj1.bin" "$W/obj2.bin" <<'EOF' || fail "rollover / uesim summary checks"
import hashlib, json, sys
lib, ue = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
msks = {m.split(':')[0] for m in lib["mtk_ids"]}
assert len(msks) == 2, lib["mtk_ids"]
assert lib["mtk_before_content"] and lib["mtk_counter_bad"] == 0
p = ue["ptm"]
assert p["ok"] and p["mtk_before_content"], p
assert p["mtk_replays"] == 0 and p["mtk_bad"] == 0 and p["mtk_no_msk"] == 0, p
assert p["srtp_bad"] == 0 and p["srtp_no_key"] == 0 and p["mac_bad"] == 0, p
assert p["srtp_ok"] == lib["srtp_ok"], (p["srtp_ok"], lib["srtp_ok"])
assert p["mtk_msgs"] == lib["mtk_ok"], (p["mtk_msgs"], lib["mtk_ok"])
assert sorted(p["mtk_ids"]) == sorted(lib["mtk_ids"]), (p["mtk_ids"], lib["mtk_ids"])
want = {1: sys.argv[3], 3: sys.argv[4]}
assert p["objects_complete"] == 2 and len(p["objects"]) == 2, p["objects"]
for o in p["objects"]:
    data = open(want[o["push_id"]], "rb").read()
    assert o["complete"] and o["length"] == len(data), o
    assert o["sha256"] == hashlib.sha256(data).hexdigest(), o
assert p["bytes"] == sum(len(open(f, "rb").read()) for f in want.values())
EOF
pass "MSK rollover: a new MTK under the new MSK, counters strictly increasing per MSK"
# tshark: the MTK messages decode as MIKEY, nothing malformed
if command -v tshark >/dev/null; then
	N=$(tshark -r "$W/ptm.pcap" -d udp.port==4359,mikey -Y mikey 2>/dev/null | wc -l)
	[ "$N" -ge 3 ] || fail "tshark sees $N MIKEY messages"
	M=$(tshark -r "$W/ptm.pcap" -d udp.port==4359,mikey -Y "udp.dstport==4359 && _ws.malformed" 2>/dev/null | wc -l)
	expect_eq "tshark: no malformed MTK message" "$M" 0
fi

# ---- 5b. content that arrives before its MTK message ----
# The first MTK message moved behind the next 5 SRTP packets: the receiver
# holds those packets until their MTK opens, then rebuilds the same objects
# (on two sockets, a packet can be read before the MTK sent ahead of it).
python3 - "$W/ptm.pcap" "$W/late.pcap" <<'EOF' || fail "reorder the capture"
import struct, sys
raw = open(sys.argv[1], 'rb').read()
hdr, recs, off = raw[:24], [], 24
while off < len(raw):
    n = struct.unpack('<I', raw[off + 8:off + 12])[0]
    recs.append(raw[off:off + 16 + n]); off += 16 + n
def dport(r):
    f = r[16:]
    if len(f) < 34 or f[12:14] != b'\x08\x00' or f[30] < 224:
        return None
    ihl = (f[14] & 15) * 4
    return struct.unpack('>H', f[14 + ihl + 2:14 + ihl + 4])[0]
i = next(k for k, r in enumerate(recs) if dport(r) == 4359)
data = [k for k in range(i + 1, len(recs)) if dport(recs[k]) == 5004][:5]
assert len(data) == 5
mtk = recs.pop(i)
recs.insert(data[-1], mtk)  # after the 5th packet (indices shifted by the pop)
open(sys.argv[2], 'wb').write(hdr + b''.join(recs))
EOF
mkdir "$W/late"
"$UESIM" --roster "$W/roster.csv" --ptm-pcap "$W/late.pcap" "${UE_MSKS[@]}" --ptm-out "$W/late" \
	--progress 0 --json "$W/late.json" || { cat "$W/late.json"; fail "uesim: content before its MTK"; }
cmp "$W/obj1.bin" "$W/late/push-1.bin" || fail "uesim (late MTK): object 1 differs"
cmp "$W/obj2.bin" "$W/late/push-3.bin" || fail "uesim (late MTK): object 2 differs"
python3 - "$W/late.json" "$W/ref.json" <<'EOF' || fail "uesim (late MTK) summary"
import json, sys
p, r = json.load(open(sys.argv[1]))["ptm"], json.load(open(sys.argv[2]))["ptm"]
assert p["ok"] and not p["mtk_before_content"], p
assert p["srtp_held"] >= 5 and p["srtp_no_key"] == 0, p
assert p["srtp_ok"] == r["srtp_ok"] and p["objects_complete"] == 2, (p, r)
EOF
pass "SRTP before its MTK message: held, then unprotected; same objects"

# ---- 6. uesim in sock mode: the same datagrams sent to a joined group ----
# The capture's UDP payloads are sent again to a group on loopback (MTK
# messages to the MIKEY port, which is also the port of the UE model's own
# socket: that socket must not get them). uesim joins the group on
# --bind's interface and must rebuild the same objects.
if command -v tshark >/dev/null; then
	free_port MIKEY
	G=239.200.$((RANDOM % 250)).$((RANDOM % 250 + 1))
	tshark -r "$W/ptm.pcap" -T fields -e udp.dstport -e udp.payload 2>/dev/null |
		tr -d ':' >"$W/replay.txt"
	mkdir "$W/sock"
	"$UESIM" --mode sock --bind 127.0.0.1 --udp-port "$MIKEY" --roster "$W/roster.csv" \
		--ptm-group "$G:5004" --ptm-mtk-port "$MIKEY" "${UE_MSKS[@]}" --ptm-out "$W/sock" \
		--duration 30 --progress 0 --json "$W/sock.json" 2>"$W/sock.err" &
	UPID=$!
	for _ in $(seq 1 100); do grep -q 'PTM: joined' "$W/sock.err" && break; sleep 0.05; done
	grep -q 'PTM: joined' "$W/sock.err" || { cat "$W/sock.err"; fail "uesim did not join $G"; }
	python3 - "$W/replay.txt" "$G" "$MIKEY" <<'EOF' || fail "replay"
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton('127.0.0.1'))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
for n, line in enumerate(open(sys.argv[1])):
    port, payload = line.split()
    port = int(sys.argv[3]) if port == '4359' else int(port)
    s.sendto(bytes.fromhex(payload), (sys.argv[2], port))
    if n % 100 == 99:
        time.sleep(0.005)  # a loopback burst must not overflow the receive buffer
EOF
	sleep 0.5
	kill -INT $UPID
	urc=0
	wait $UPID || urc=$?
	[ $urc = 0 ] || { cat "$W/sock.err" "$W/sock.json"; fail "uesim sock mode: exit $urc"; }
	cmp "$W/obj1.bin" "$W/sock/push-1.bin" || fail "uesim sock: object 1 differs"
	cmp "$W/obj2.bin" "$W/sock/push-3.bin" || fail "uesim sock: object 2 differs"
	python3 - "$W/sock.json" "$W/ref.json" <<'EOF' || fail "uesim sock mode summary"
import json, sys
s, r = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert s["rx"] == 0, "the UE model's socket got group traffic: %d" % s["rx"]
for k in ("mtk_msgs", "srtp_ok", "objects_complete", "bytes", "mtk_ids"):
    assert s["ptm"][k] == r["ptm"][k], (k, s["ptm"][k], r["ptm"][k])
assert s["ptm"]["ok"] and s["ptm"]["input"] == "sock" and r["ptm"]["input"] == "pcap"
EOF
	pass "uesim --mode sock joined $G and rebuilt both objects; its UE socket got none of it"
fi
echo "all PTM/PAP checks passed"
