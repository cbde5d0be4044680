#!/bin/bash
# The NIC-lab ack replay path end to end, with a veth pair in a network
# namespace in place of the cable and a raw-socket sender in place of
# pktgen-dpdk (docs/nic-lab.md, "Replaying acks"):
#   keyburstd (lab/keyburstd-lab.conf, net_af_packet on veth A) rolls 500 UEs
#   over with a 60 s ack window; the UE side (veth B) captures the messages;
#   keyburst pcap acks builds the ack pcap from that capture; the frames are
#   sent back on veth B as they are in the file. keyburstd must count every
#   UE delivered with no retransmission (exit 0) and no ack refused.
# Needs root (ip netns); skips otherwise.
set -euo pipefail
KEYBURSTD=$1
KEYBURST=$2
here=$(cd "$(dirname "$0")" && pwd)
top=$here/../..
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (network namespaces)"; exit 77; }
command -v ip >/dev/null || { echo "SKIP: iproute2 missing"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
N=500
NS=kblab$$
VA=kbla$$
VB=kblb$$
dir=$(mktemp -d)
kpid=
cleanup() {
	[ -n "$kpid" ] && kill "$kpid" 2>/dev/null && wait "$kpid" 2>/dev/null
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT
ip netns add "$NS" || { echo "SKIP: cannot create a network namespace"; exit 77; }
ip -n "$NS" link add "$VA" type veth peer name "$VB" ||
	{ echo "SKIP: no veth support"; exit 77; }
for v in "$VA" "$VB"; do
	ip netns exec "$NS" sysctl -qw "net.ipv6.conf.$v.disable_ipv6=1" || true
	ip -n "$NS" link set "$v" up
done
mac_b=$(ip -n "$NS" -br link show "$VB" | awk '{print $3}')

"$KEYBURST" roster gen --count $N --seed 20261122 --output "$dir/r.csv"
# the lab config, aimed at veth B's MAC (what an engineer sets for pktgen)
sed "s/^next_hop_mac = .*/next_hop_mac = $mac_b/" "$top/lab/keyburstd-lab.conf" >"$dir/kb.conf"

# the UE side: capture keyburstd's messages, later send the acks
cat >"$dir/raw.py" <<'PY'
import socket, struct, sys, time
mode, iface, path = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.setsockopt(socket.SOL_SOCKET, 33, 32 << 20)  # SO_RCVBUFFORCE: keep every frame
s.bind((iface, 0))
if mode == "capture":
    want, deadline = int(sys.argv[4]), time.time() + 60
    open(sys.argv[5], "w").close()  # ready
    s.settimeout(0.5)
    out, n = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)], 0
    while n < want and time.time() < deadline:
        try:
            f = s.recv(65535)
        except socket.timeout:
            continue
        # IPv4 UDP from port 4359: one MSK message
        if len(f) > 42 and f[12:14] == b"\x08\x00" and f[23] == 17 and f[34:36] == b"\x11\x07":
            t = time.time()
            out.append(struct.pack("<IIII", int(t), int(t % 1 * 1e6), len(f), len(f)) + f)
            n += 1
    open(path, "wb").write(b"".join(out))
    print("captured", n)
else:
    d = open(path, "rb").read()
    off, n = 24, 0
    while off < len(d):
        incl = struct.unpack("<I", d[off + 8:off + 12])[0]
        s.send(d[off + 16:off + 16 + incl])
        off += 16 + incl
        n += 1
        if n % 64 == 0:
            time.sleep(0.001)  # af_packet on the other side polls: no burst overflow
    print("sent", n)
PY
ip netns exec "$NS" python3 "$dir/raw.py" capture "$VB" "$dir/roll.pcap" $N "$dir/ready" \
	>"$dir/cap.out" &
cpid=$!
for _ in $(seq 1 50); do [ -e "$dir/ready" ] && break; sleep 0.1; done

ip netns exec "$NS" "$KEYBURSTD" --no-huge --no-pci -m 768 --file-prefix "kbt_labrp_$$" -l 0-1 \
	--log-level=lib.eal:error --vdev "net_af_packet0,iface=$VA,qdisc_bypass=0" -- \
	--config "$dir/kb.conf" --roster "$dir/r.csv" --oneshot-rollover 1 \
	--ack-timeout-ms 60000 --retries 0 --max-time-s 90 >"$dir/kbd.json" 2>"$dir/kbd.err" &
kpid=$!
wait $cpid || fail "capture"
cat "$dir/cap.out"
"$KEYBURST" pcap verify --roster "$dir/r.csv" --expect $N "$dir/roll.pcap" >/dev/null ||
	fail "the captured rollover does not verify"
"$KEYBURST" pcap acks --roster "$dir/r.csv" --capture "$dir/roll.pcap" --output "$dir/acks.pcap" \
	>"$dir/acks.json"
ip netns exec "$NS" python3 "$dir/raw.py" send "$VB" "$dir/acks.pcap"
wait "$kpid" || { cat "$dir/kbd.err" "$dir/kbd.json"; fail "keyburstd did not count every UE"; }
kpid=
python3 - "$dir/kbd.json" $N <<'PY'
import json, sys
s, n = json.load(open(sys.argv[1])), int(sys.argv[2])
assert s["ues"] == n and s["acked"] == n and s["failed"] == 0 and s["retried"] == 0, s
st = s["stats"]
assert st["acks_bad_mac"] == 0 and st["acks_malformed"] == 0 and st["acks_unknown_csb"] == 0, st
print("ok   keyburstd counted %d replayed acks delivered, 0 retried" % s["acked"])
PY
echo PASS
