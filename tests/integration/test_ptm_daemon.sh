#!/bin/bash
# PTM push inside keyburstd (issue 7): the daemon with its control plane,
# its PAP endpoint ([pap]) and its dataplane on net_pcap. Nothing here is a
# harness: the PAP submission (real curl, multipart/related, --digest) goes
# to keyburstd, the MTK messages and SRTP packets come out of a dataplane
# lcore into the pcap.
#  1. A UE (GBA_U bootstrap record) registers for the service and asks for
#     its MSK over HTTP Digest; the MIKEY MSK message lands in the same pcap.
#     The test learns the MSKs the way a UE does: by opening those messages
#     with the UE's MUK (keyburst mikey open). No key is ever logged.
#  2. A push, delivered (status query, metrics).
#  3. A 3 MB push paced at 8 Mbit/s; a second push queued behind it is
#     cancelled while it waits on the lcore; an MSK rollover (admin API) in
#     the middle of the big push (the UE gets the new MSK in the pcap too).
#  4. After SIGTERM: ptm_check_libsrtp (libsrtp2, the independent oracle)
#     and keyburst-uesim's PTM receiver (--ptm-pcap: the simulated UE takes
#     its MSK messages from the capture with its MUK, then opens the MTK
#     messages with the MSKs it holds) unprotect every SRTP packet; both
#     objects byte-identical; MTKs under both MSKs, MTK before content, MTK
#     counters strictly increasing per MSK; tshark decodes every MTK
#     message as MIKEY.
#  5. PTM moved to the new MSK only once the rollover completed (the UE
#     never acks: its last retransmission timed out): MTK messages before
#     open only with the old MSK (repeats during the rollover included),
#     after only with the new one, starting with MTK ID 1.
# usage: test_ptm_daemon.sh KEYBURSTD KEYBURST UESIM PTM_CHECK_LIBSRTP
set -euo pipefail
KBD=$1 KB=$2 UESIM=$3 CHECK=$4
. "$(dirname "$0")/ctl_lib.sh"
command -v tshark >/dev/null || { echo "SKIP: tshark missing"; exit 77; }

W=$(mktemp -d)
KPID=
trap kbd_cleanup EXIT

free_port ADMIN
free_port UEP
free_port PAPP
TOK=ptm-daemon-admin-token-0123
FQDN=bmsc.example.org
GROUP=239.192.0.7
mkdir "$W/db"
cat >"$W/kb.conf" <<EOF
[port]
ip = 10.0.0.1
next_hop_mac = 02:00:00:00:00:02
[dataplane]
lcores = 1
ack_timeout_ms = 100
retries = 2
[identity]
idi = $FQDN
key_domain = 62f210
[service news]
key_group = 7
ptm_group = $GROUP
ptm_data_port = 5004
ptm_rate_bps = 8000000
ptm_rotate_ms = 0
ptm_repeat_ms = 300
ptm_lead_ms = 20
[control]
ue_addr = 127.0.0.1
ue_port = $UEP
admin_port = $ADMIN
admin_token = $TOK
store = $W/db
max_ues = 1024
[pap]
port = $PAPP
rate = 5
burst = 30
max_body = 8388608
default_lifetime = 600
[pap initiator pi-ok]
password = pi-ok-secret
[pap initiator pi-blocked]
password = pi-blocked-secret
allowed = false
EOF
"$KBD" --no-huge --no-pci -m 512 --file-prefix "ptmd$$" -l 0-1 --log-level=lib.eal:error \
	--vdev "net_pcap0,tx_pcap=$W/tx.pcap" -- --config "$W/kb.conf" >"$W/kbd.json" 2>"$W/kbd.log" &
KPID=$!
ADM=http://127.0.0.1:$ADMIN
wait_healthz "$ADM" 400 dfail
pass "keyburstd up: control plane, PAP on :$PAPP, dataplane on net_pcap"

adm() { curl -s -H "Authorization: Bearer $TOK" -H 'Content-Type: application/json' "$@"; }
metric() { curl -s "$ADM/metrics" | sed -n "s/^kb_dataplane_$1 //p"; }
adm -X POST --data '{"id":"news-7","key_domain":"62f210","key_group":7}' "$ADM/v1/services" >/dev/null

# ---- 1. a UE gets the MSK (a MIKEY message in the capture) ----
KSE=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
KSI=1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100
BTID='AAECAwQFBgcICQoLDA0ODw==@bsf.example.org'
adm -X POST --data "{\"btid\":\"$BTID\",\"impi\":\"ue1@ims.example.org\",\"mode\":\"GBA_U\",\"ks_ext_naf\":\"$KSE\",\"ks_int_naf\":\"$KSI\",\"lifetime\":600}" \
	"$ADM/v1/bootstraps" >/dev/null
PW=$(printf %s $KSE | xxd -r -p | base64)
cat >"$W/reg.xml" <<X
<?xml version="1.0"?>
<mbmsUserServiceRegistration xmlns="urn:3GPP:metadata:2005:MBMS:userServiceRegistration">
  <serviceId>news-7</serviceId>
</mbmsUserServiceRegistration>
X
cat >"$W/msk.xml" <<X
<mskRequest xmlns="urn:3GPP:metadata:2005:MBMS:mskRequest">
  <keyDomainId>62F210</keyDomainId>
  <mskId>00070000</mskId>
</mskRequest>
X
UE=http://127.0.0.1:$UEP
code=$(curl -s -o "$W/reg.out" -w '%{http_code}' --digest -u "$BTID:$PW" --data-binary @"$W/reg.xml" \
	-H 'Content-Type: application/mbms-register+xml' "$UE/mbms/v1/register")
[ "$code" = 200 ] || dfail "registration: $code $(cat "$W/reg.out")"
code=$(curl -s -o "$W/msk.out" -w '%{http_code}' --digest -u "$BTID:$PW" --data-binary @"$W/msk.xml" \
	-H 'Content-Type: application/mbms-msk+xml' "$UE/mbms/v1/msk")
[ "$code" = 200 ] && grep -q 'statusCode="200"' "$W/msk.out" || dfail "MSK request: $code $(cat "$W/msk.out")"
pass "UE registered and asked for its MSK (curl --digest)"

# ---- 2. a PAP push, delivered ----
PAPURL=http://127.0.0.1:$PAPP/pap
BOUND=asdlfkjiurwghasf
CT="multipart/related; boundary=$BOUND; type=\"application/xml\""
push_file() { # OUT PUSH_ID SERVICE CONTENT [extra attributes]
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
pap() { curl -s --digest -u "$1:$2" -H "Content-Type: ${4:-$CT}" --data-binary @"$3" "$PAPURL"; }
code_of() { sed -n 's/.*code="\([0-9]*\)".*/\1/p' | head -1; }
state_of() { sed -n 's/.*message-state="\([a-z]*\)".*/\1/p' | head -1; }
query() { # KIND PUSH_ID
	printf '<?xml version="1.0"?>\n<pap><%s-message push-id="%s"/></pap>\n' "$1" "$2" >"$W/q.xml"
	pap pi-ok pi-ok-secret "$W/q.xml" application/xml
}
wait_state() { # PUSH_ID STATE
	for _ in $(seq 1 300); do
		[ "$(query statusquery "$1" | state_of)" = "$2" ] && return 0
		sleep 0.05
	done
	dfail "push $1 never reached $2 (now: $(query statusquery "$1"))"
}

head -c 100000 /dev/urandom >"$W/obj1.bin"
push_file "$W/p1.txt" "p1@pi.example.com" news-7 "$W/obj1.bin"
expect_eq "push accepted" "$(pap pi-ok pi-ok-secret "$W/p1.txt" | code_of)" 1001
wait_state "p1@pi.example.com" delivered
pass "status query: delivered (the lcore reported every frame sent)"
expect_eq "duplicate push-id → 2007" "$(pap pi-ok pi-ok-secret "$W/p1.txt" | code_of)" 2007
push_file "$W/p2.txt" "p2@pi.example.com" no-such-service "$W/obj1.bin"
expect_eq "unknown service → 2002" "$(pap pi-ok pi-ok-secret "$W/p2.txt" | code_of)" 2002
expect_eq "initiator off the allowlist → 2001" "$(pap pi-blocked pi-blocked-secret "$W/p2.txt" | code_of)" 2001

# ---- 3. a big paced push, a cancel on the lcore's queue, a rollover ----
head -c 3000000 /dev/urandom >"$W/obj5.bin"
head -c 5000 /dev/urandom >"$W/obj6.bin"
push_file "$W/p5.txt" "p5@pi.example.com" news-7 "$W/obj5.bin"
push_file "$W/p6.txt" "p6@pi.example.com" news-7 "$W/obj6.bin"
expect_eq "3 MB push accepted" "$(pap pi-ok pi-ok-secret "$W/p5.txt" | code_of)" 1001
expect_eq "small push accepted" "$(pap pi-ok pi-ok-secret "$W/p6.txt" | code_of)" 1001
sleep 0.5 # both posted (PAP tick: 100 ms); p6 waits behind p5 on the lcore
expect_eq "cancel of the queued push → 1000" "$(query cancel p6@pi.example.com | code_of)" 1000
expect_eq "status query: cancelled" "$(query statusquery p6@pi.example.com | state_of)" cancelled
R=$(query cancel p5@pi.example.com)
[ "$(echo "$R" | code_of)" != 1000 ] || dfail "cancelling a push being sent succeeded"
pass "cancel of the push being sent refused"
sleep 0.5
adm -X POST --data '{}' "$ADM/v1/services/news-7/rollover" >"$W/roll.json"
grep -q "\"rollover_key_number\":2" "$W/roll.json" || dfail "rollover: $(cat "$W/roll.json")"
expect_eq "still sending at the rollover" "$(query statusquery p5@pi.example.com | state_of)" pending
wait_state "p5@pi.example.com" delivered
pass "3 MB push delivered across the rollover"
# the UE never acks: the rollover completes when it is given up (retries)
adm "$ADM/v1/services/news-7" >"$W/svc.json"
grep -q '"current_key_number":2' "$W/svc.json" && grep -q '"rollover_key_number":0' "$W/svc.json" ||
	dfail "rollover not complete: $(cat "$W/svc.json")"
pass "rollover complete (delivered + failed == targets) before the push finished"
expect_eq "metrics: objects sent" "$(metric ptm_objects)" 2
expect_eq "metrics: cancelled on the lcore" "$(metric ptm_cancelled)" 1
expect_eq "metrics: nothing dropped" "$(metric ptm_tx_dropped)" 0
sleep 0.7 # one more MTK repeat under the new MSK
kill -TERM $KPID
krc=0
wait $KPID || krc=$?
KPID=
[ $krc = 0 ] || dfail "keyburstd exit status $krc"
pass "SIGTERM: exit 0"
if grep -Eiq '[0-9a-f]{32}' "$W/kbd.log"; then dfail "something key-sized in the log"; fi

# ---- 4. the capture ----
# the UE's MSK messages (to its HTTP address) → the MSKs, opened with its MUK
tshark -r "$W/tx.pcap" -Y 'ip.dst == 127.0.0.1 && udp.dstport == 4359' -T fields -e udp.payload \
	2>/dev/null | tr -d ':' >"$W/msk_msgs.hex"
MSKS=()
declare -A SEEN=()
while read -r hex; do
	[ -n "$hex" ] || continue
	"$KB" mikey open --muk $KSI "$hex" >"$W/open.json" || dfail "an MSK message does not open"
	line=$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["msk_id"], j["keys"][0]["key"])' "$W/open.json")
	[ -n "${SEEN[$line]:-}" ] && continue
	SEEN[$line]=1
	set -- $line
	MSKS+=(--msk "0x$1:$2")
done <"$W/msk_msgs.hex"
expect_eq "the UE got two MSKs (00070001, then 00070002 by the rollover)" "${#MSKS[@]}" 4
echo "${MSKS[*]}" | grep -q '0x00070001:' && echo "${MSKS[*]}" | grep -q '0x00070002:' ||
	dfail "MSK IDs: ${MSKS[*]//:*/}"
# the PTM frames: everything to the group
tshark -r "$W/tx.pcap" -Y "ip.dst == $GROUP" -F pcap -w "$W/ptm.pcap" 2>/dev/null
N=$(tshark -r "$W/ptm.pcap" 2>/dev/null | wc -l)
[ "$N" -gt 2000 ] || dfail "only $N PTM frames"
mkdir "$W/ref" "$W/lib"
"$CHECK" --pcap "$W/ptm.pcap" "${MSKS[@]}" --data-port 5004 --out "$W/lib" >"$W/lib.json" ||
	{ cat "$W/lib.json"; dfail "ptm_check_libsrtp"; }
cat "$W/lib.json"
# uesim: the UE of the bootstrap record (MUK = Ks_int_NAF, GBA_U) as its
# only roster row; the whole capture: its MSK messages, then the group
printf '%s\n' "impi,b_tid,muk,ip,port" "ue1@ims.example.org,$BTID,$KSI,127.0.0.1,4359" \
	>"$W/roster.csv"
"$UESIM" --roster "$W/roster.csv" --ptm-pcap "$W/tx.pcap" --ptm-group "$GROUP:5004" \
	--ptm-out "$W/ref" --progress 0 --json "$W/ref.json" ||
	{ cat "$W/ref.json"; dfail "keyburst-uesim --ptm-pcap"; }
# exactly the two objects, byte for byte, in both receivers
for d in lib ref; do
	n=$(ls "$W/$d" | wc -l)
	expect_eq "$d: objects reassembled" "$n" 2
	f1= f5=
	for f in "$W/$d"/*; do
		cmp -s "$f" "$W/obj1.bin" && f1=$f
		cmp -s "$f" "$W/obj5.bin" && f5=$f
	done
	[ -n "$f1" ] && [ -n "$f5" ] || dfail "$d: objects differ from what was submitted"
done
pass "libsrtp2 unprotects every packet; both objects byte-identical; keyburst-uesim agrees"
python3 - "$W/lib.json" "$W/ref.json" "$(grep -c . "$W/msk_msgs.hex")" "$W/obj1.bin" "$W/obj5.bin" <<'EOF' || dfail "MTK / rollover checks"
import hashlib, json, sys
lib, ue = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
p = ue["ptm"]
for j, bad in ((lib, lib["mtk_counter_bad"]), (p, p["mtk_replays"])):
    msks = {m.split(':')[0] for m in j["mtk_ids"]}
    assert len(msks) == 2, j["mtk_ids"]           # MTKs under both MSKs
    assert j["mtk_before_content"], j
    assert bad == 0, j                             # strictly increasing per MSK
assert lib["complete"] == 2, lib
# the UE learnt both MSKs from its own MSK messages (its MUK, the MAC, the
# counter rule; retransmissions included), holds them, and nothing was refused
assert ue["accepted"] == int(sys.argv[3]) and ue["replays_rejected"] == 0, ue
assert ue["bad_mac"] == 0 and ue["unknown_ue"] == 0 and ue["malformed"] == 0, ue
assert sorted(m["msk_id"] for m in ue["msk_ids"]) == ["00070001", "00070002"], ue["msk_ids"]
assert p["ok"] and p["mtk_bad"] == 0 and p["mtk_no_msk"] == 0 and p["mac_bad"] == 0, p
assert p["srtp_bad"] == 0 and p["srtp_no_key"] == 0 and p["srtp_ok"] == lib["srtp_ok"], p
assert p["objects_complete"] == 2, p
for o, f in zip(sorted(p["objects"], key=lambda o: o["push_id"]), sys.argv[4:]):
    data = open(f, "rb").read()
    assert o["length"] == len(data) and o["sha256"] == hashlib.sha256(data).hexdigest(), o
EOF
# the SRTP packets themselves, in capture order: MKI (MSK ID ‖ MTK ID, just
# before the 10-byte tag) moves from the old MSK to the new one once and
# never back, and the RTP sequence number steps by one (no index reused)
tshark -r "$W/ptm.pcap" -Y 'udp.dstport == 5004' -T fields -e udp.payload 2>/dev/null >"$W/srtp.hex"
python3 - "$W/srtp.hex" <<'EOF' || dfail "SRTP stream checks"
import sys
mkis, seqs = [], []
for line in open(sys.argv[1]):
    b = bytes.fromhex(line.strip().replace(':', ''))
    mkis.append(b[-16:-10].hex())
    seqs.append(int.from_bytes(b[2:4], 'big'))
msks = [m[:8] for m in mkis]
switch = msks.index('00070002')
assert set(msks[:switch]) == {'00070001'} and set(msks[switch:]) == {'00070002'}, 'MKI order'
assert switch > 100 and len(msks) - switch > 100, (switch, len(msks))
assert all((b - a) % 65536 == 1 for a, b in zip(seqs, seqs[1:])), 'RTP sequence'
print("SRTP: %d packets under MSK 00070001, then %d under 00070002" % (switch, len(msks) - switch))
EOF
pass "rollover: content continued under a new MTK sealed with the new MSK, MTK counters and SRTP indices never reused"
# (the SRTP packets leave from port 4359 too: look at destinations only)
M=$(tshark -r "$W/ptm.pcap" -d udp.port==4359,mikey -Y "udp.dstport == 4359 && mikey" 2>/dev/null | wc -l)
[ "$M" -ge 3 ] || dfail "tshark sees $M MIKEY MTK messages"
B=$(tshark -r "$W/ptm.pcap" -d udp.port==4359,mikey -Y "udp.dstport == 4359 && _ws.malformed" 2>/dev/null | wc -l)
expect_eq "tshark: $M MTK messages decode as MIKEY, nothing malformed" "$B" 0
MAC=$(tshark -r "$W/ptm.pcap" -T fields -e eth.dst 2>/dev/null | sort -u)
expect_eq "every PTM frame to the group's multicast MAC" "$MAC" "01:00:5e:40:00:07"
# ---- 5. PTM moved to the new MSK only once the rollover was complete ----
# ([ptm] switch_at = 1.0 by default). The rollover's MSK messages to the UE
# (retransmitted, never acked) and every MTK message, with their times; the
# MTK messages around the switch (and the last) are opened with both MSKs
# (keyburst mikey open, the OpenSSL path): each opens with exactly one.
MSK_OLD=$(printf '%s\n' "${MSKS[@]}" | sed -n 's/^0x00070001://p')
MSK_NEW=$(printf '%s\n' "${MSKS[@]}" | sed -n 's/^0x00070002://p')
tshark -r "$W/tx.pcap" -Y 'ip.dst == 127.0.0.1 && udp.dstport == 4359' \
	-T fields -e frame.time_epoch -e udp.payload 2>/dev/null | tr -d ':' >"$W/msk_t.txt"
while read -r t hex; do
	"$KB" mikey open --muk $KSI "$hex" >"$W/o.json" || dfail "an MSK message does not open"
	python3 -c 'import json,sys; print(sys.argv[2], json.load(open(sys.argv[1]))["msk_id"])' "$W/o.json" "$t"
done <"$W/msk_t.txt" >"$W/msk_times.txt"
tshark -r "$W/ptm.pcap" -Y 'udp.dstport == 4359' -T fields -e frame.time_epoch -e udp.payload \
	2>/dev/null | tr -d ':' >"$W/mtk_t.txt"
# every MTK message's MSK ID (EXT payload, in clear: 00 03 domain 01 04 MSK ID);
# the MAC of every one is checked by both receivers above
python3 - "$W/msk_times.txt" "$W/mtk_t.txt" >"$W/sample.txt" <<'EOF' || dfail "MSK switch of the MTK messages"
import sys
msk = [l.split() for l in open(sys.argv[1])]
new_msk_sent = [float(t) for t, m in msk if m == '00070002']
mtk = []
for line in open(sys.argv[2]):
    t, h = line.split()
    at = h.find('000362f2100104')
    assert at >= 0 and at % 2 == 0, h
    mtk.append((float(t), h[at + 14:at + 22], h))
assert len(new_msk_sent) == 3, new_msk_sent  # the first send and 2 retries
start, last = new_msk_sent[0], new_msk_sent[-1]
first_new = next(i for i, m in enumerate(mtk) if m[1] == '00070002')
assert all(m[1] == '00070001' for m in mtk[:first_new]), 'old MSK before the switch'
assert all(m[1] == '00070002' for m in mtk[first_new:]), 'new MSK after the switch, never back'
# complete = the last retransmission timed out (at least ack_timeout_ms later)
assert mtk[first_new][0] >= last + 0.09, (mtk[first_new][0], last)
during = [m for m in mtk[:first_new] if m[0] > start]
assert len(during) >= 2, 'MTK repeats under the old MSK while the rollover ran'
print("MTK messages: %d under 00070001 (%d while the rollover ran), then %d under "
      "00070002, the first %.3f s after the last MSK retransmission" %
      (first_new, len(during), len(mtk) - first_new, mtk[first_new][0] - last), file=sys.stderr)
# opened below: the last two before the switch, the first two after, the last
for i in sorted({max(first_new - 2, 0), first_new - 1, first_new, first_new + 1, len(mtk) - 1}):
    if 0 <= i < len(mtk):
        print(i, '10' if i < first_new else '01', mtk[i][2])
EOF
prev=
while read -r i want hex; do
	o=0 n=0
	if "$KB" mikey open --muk "$MSK_OLD" "$hex" >"$W/o.json" 2>/dev/null; then o=1; fi
	if "$KB" mikey open --muk "$MSK_NEW" "$hex" >"$W/o.json" 2>/dev/null; then n=1; fi
	[ "$o$n" = "$want" ] || dfail "MTK message $i opens with old/new MSK: $o$n, want $want"
	[ "$n" = 1 ] && [ "$prev" != 1 ] && { grep -q '"mtk_id": *1\b' "$W/o.json" ||
		dfail "the first MTK under the new MSK is not MTK ID 1: $(cat "$W/o.json")"; }
	prev=$n
done <"$W/sample.txt"
pass "MTK messages open only with the old MSK until the rollover completed, then only with the new one"
echo "all PTM daemon checks passed"
