-- keyburst NIC lab: replay MIKEY verification messages (acks) from a pcap
-- against keyburstd's port at a set rate, with pktgen-dpdk (docs/nic-lab.md).
--
-- The pcap comes from lab/make-ack-pcap (keyburst pcap acks): Ethernet/IP/UDP
-- frames addressed to keyburstd's port (--dst-mac, --dst-ip), one ack per UE.
-- pktgen loads it at start and sends it in a loop:
--
--   pktgen -l 0,1-2 -a 0000:3b:00.1 --file-prefix pktgen -- -P -m "[1:2].0" \
--       -s 0:lab/acks-1k.pcap -f lab/pktgen/acks-replay.lua
--
-- Knobs come from the environment (pktgen's Lua has os.getenv):
--   KB_PKTGEN_PORT   pktgen port that faces keyburstd           [0]
--   KB_ACK_PPS       acks per second to send                    [1000000]
--   KB_ACK_SECONDS   how long to send                           [10]
--   KB_LINK_MBPS     link speed; 0 = read it from linkState     [0]
--   KB_ACK_FRAME     average frame size of the pcap without FCS [80]
--                    (pktgen prints it at start: "PCAP: Avg Packet Size")
--
-- pktgen paces in percent of line rate from the pcap's average frame size:
-- percent = pps * (frame + 24 bytes of FCS, preamble and gap) * 8 / link.
--
-- What keyburstd counts (dpdk-telemetry.py: /keyburst/stats): acks_ok
-- only for acks of the rollover that is running, built from a
-- capture of that run; replayed again they are acks_dup; acks of an earlier
-- run (another RAND) are acks_bad_mac, which still costs a full MAC check.
-- Forged and garbage variants (make-ack-pcap --forged/--garbage) land in
-- acks_bad_mac, acks_malformed and rx_non_mikey.

local function env(name, default)
	local v = os.getenv(name)
	if v == nil or v == "" then
		return default
	end
	return v
end

local port = env("KB_PKTGEN_PORT", "0")
local pid = tonumber(port)
local pps = tonumber(env("KB_ACK_PPS", "1000000"))
local seconds = tonumber(env("KB_ACK_SECONDS", "10"))
local link_mbps = tonumber(env("KB_LINK_MBPS", "0"))
local frame = tonumber(env("KB_ACK_FRAME", "80"))
local overhead = 24 -- FCS 4, preamble 7, start delimiter 1, inter-frame gap 12

-- linkState gives "<UP-10000-FD>" per port: the middle number is Mbit/s
local function link_speed()
	if link_mbps > 0 then
		return link_mbps
	end
	local st = pktgen.linkState(port)
	local s = st and st[pid]
	local mbps = s and tonumber(string.match(tostring(s), "UP%-(%d+)"))
	if mbps == nil or mbps == 0 then
		error("link " .. port .. " is not up (" .. tostring(s) .. "); set KB_LINK_MBPS")
	end
	return mbps
end

-- portStats layout: newer pktgen nests the counters in .curr
local function counters(p)
	local t = pktgen.portStats(p)[tonumber(p)]
	return t.curr or t
end

local function percent_for(rate, mbps)
	local pct = rate * (frame + overhead) * 8 * 100 / (mbps * 1e6)
	if pct > 100 then
		print(string.format("%.0f acks/s is above line rate: sending at 100%%", rate))
		pct = 100
	end
	return pct
end

local mbps = link_speed()
local pct = percent_for(pps, mbps)
print(string.format("acks-replay: port %s, %d Mbit/s, %.0f acks/s = %.4f%% for %d s",
	port, mbps, pps, pct, seconds))

pktgen.stop(port)
pktgen.pcap(port, "on") -- resets the pacing: set the rate after it
pktgen.set(port, "count", 0) -- loop over the pcap until stopped
pktgen.set(port, "rate", pct)
pktgen.clr()

local before = counters(port)
pktgen.start(port)
for s = 1, seconds do
	pktgen.delay(1000)
	local c = counters(port)
	print(string.format("  %3d s: %d sent, %d received", s, c.opackets - before.opackets,
		c.ipackets - before.ipackets))
end
pktgen.stop(port)
pktgen.delay(500)

local after = counters(port)
local sent = after.opackets - before.opackets
print(string.format("acks-replay: %d acks in %d s = %.0f acks/s (asked %.0f)", sent, seconds,
	sent / seconds, pps))
pktgen.pcap(port, "off")
