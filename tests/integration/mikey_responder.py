#!/usr/bin/env python3
"""A one-UE MIKEY responder on a kernel UDP socket, built on the keyburst CLI
(the OpenSSL reference path): every MSK message that arrives is opened with
the UE's MUK (`keyburst mikey open`), logged as one JSON line, and answered
with the UE's verification message (`keyburst mikey ack`) when it asks for
one. Used by test_e2e_netns.sh for the UE that requested its MSK with curl.

usage: mikey_responder.py KEYBURST BIND_ADDR PORT MUK_HEX LOG [--drop-first N]
(--drop-first N: leave the first N messages unanswered, as if the acks were
lost, so that the daemon's retransmission is exercised)
"""
import json
import os
import socket
import subprocess
import sys
import tempfile


def main():
    kb, addr, port, muk, log = sys.argv[1:6]
    drop_first = int(sys.argv[7]) if len(sys.argv) > 7 and sys.argv[6] == "--drop-first" else 0
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, int(port)))
    out = open(log, "a", buffering=1)
    seen = 0
    while True:
        data, peer = s.recvfrom(2048)
        seen += 1
        hexmsg = data.hex()
        r = subprocess.run([kb, "mikey", "open", "--muk", muk, hexmsg], capture_output=True, text=True)
        rec = {"from": peer[0], "sport": peer[1], "hex": hexmsg, "open_rc": r.returncode}
        if r.returncode != 0:
            rec["error"] = r.stderr.strip()
            out.write(json.dumps(rec) + "\n")
            continue
        m = json.loads(r.stdout)
        rec.update({"csb_id": m["csb_id"], "counter": m["counter"], "msk_id": m["msk_id"],
                    "v": m["v"], "mac_ok": m.get("mac_ok"),
                    "msk": m["keys"][0]["key"] if m.get("keys") else None})
        if m["v"] and seen > drop_first:
            inp = {"muk": muk, "csb_id": m["csb_id"], "counter": m["counter"], "rand": m["rand"],
                   "idi": m["ids"][0]["value"], "idr": m["ids"][1]["value"],
                   "domain": m["domain"], "msk_id": m["msk_id"], "v": True}
            with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
                json.dump(inp, f)
                name = f.name
            try:
                a = subprocess.run([kb, "mikey", "ack", "--json", name], capture_output=True,
                                   text=True, check=True)
            finally:
                os.unlink(name)
            s.sendto(bytes.fromhex(a.stdout.strip()), peer)
            rec["acked"] = True
        out.write(json.dumps(rec) + "\n")


if __name__ == "__main__":
    main()
