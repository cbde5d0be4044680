-- keyburst NIC lab, HTTP load: pktgen's part is background UDP at a set
-- share of line rate towards keyburstd's DPDK port while keyburst-uesim
-- --mode http loads the control plane (docs/nic-lab.md, "HTTP load").
--
-- pktgen-dpdk cannot load the control plane: it has no TCP stack, so it can
-- neither complete a handshake nor run HTTP Digest. The HTTP load (GBA
-- Digest registrations and MSK requests) comes from keyburst-uesim --mode
-- http against the control plane's UE listener on the kernel port (NIC
-- port 1 or the management interface):
--   keyburst-uesim --mode http --roster lab/roster.csv \
--       --url http://<port 1 address>:8080 --service urn:svc:lab \
--       --concurrency 64 --threads 2 --duration 60
-- Replaying a pcap of HTTP requests with acks-replay.lua is only a parser
-- and classifier stress: TCP segments without a handshake never reach the
-- HTTP server, and on the DPDK port they are counted rx_other. This profile
-- adds what pktgen is good at, in parallel: line-rate UDP on the DPDK port,
-- so the dataplane lcores keep classifying and dropping foreign traffic
-- (rx_other, or rx_non_mikey with KB_BG_DPORT=4359) while they seal and the
-- control plane takes the HTTP load on the main lcore's core.
--
--   pktgen -l 0,1-2 -a 0000:3b:00.1 --file-prefix pktgen -- -P -m "[1:2].0" \
--       -f lab/pktgen/http-background.lua
--
-- Knobs (environment):
--   KB_PKTGEN_PORT   pktgen port                                  [0]
--   KB_BG_DST_MAC    keyburstd port's MAC                         [required]
--   KB_BG_DST_IP     keyburstd port's IP ([port] ip)              [192.0.2.1]
--   KB_BG_SRC_IP     source address/prefix                        [100.64.0.1/10]
--   KB_BG_DPORT      UDP destination port; 4359 = keyburstd's ack port
--                    (payload is pktgen's pattern, not MIKEY)     [9]
--   KB_BG_SPORT      UDP source port                              [4360]
--   KB_BG_SIZE       frame size without FCS, 64..1518             [128]
--   KB_BG_RATE       percent of line rate                         [50]
--   KB_BG_SECONDS    how long; 0 = leave it running               [60]

local function env(name, default)
	local v = os.getenv(name)
	if v == nil or v == "" then
		return default
	end
	return v
end

local port = env("KB_PKTGEN_PORT", "0")
local dst_mac = env("KB_BG_DST_MAC", nil)
local dst_ip = env("KB_BG_DST_IP", "192.0.2.1")
local src_ip = env("KB_BG_SRC_IP", "100.64.0.1/10")
local dport = tonumber(env("KB_BG_DPORT", "9"))
local sport = tonumber(env("KB_BG_SPORT", "4360"))
local size = tonumber(env("KB_BG_SIZE", "128"))
local rate = tonumber(env("KB_BG_RATE", "50"))
local seconds = tonumber(env("KB_BG_SECONDS", "60"))

if dst_mac == nil then
	error("set KB_BG_DST_MAC to keyburstd's port MAC (its start-up log, or ip link before binding)")
end
if size < 64 or size > 1518 then
	error("KB_BG_SIZE must be 64..1518")
end

local function counters(p)
	local t = pktgen.portStats(p)[tonumber(p)]
	return t.curr or t
end

pktgen.stop(port)
pktgen.pcap(port, "off") -- single-packet mode
pktgen.set_type(port, "ipv4")
pktgen.set_proto(port, "udp")
pktgen.set_mac(port, "dst", dst_mac)
pktgen.set_ipaddr(port, "dst", dst_ip)
pktgen.set_ipaddr(port, "src", src_ip)
pktgen.set(port, "sport", sport)
pktgen.set(port, "dport", dport)
pktgen.set(port, "size", size)
pktgen.set(port, "count", 0)
pktgen.set(port, "rate", rate)
pktgen.clr()

print(string.format("http-background: port %s, %d-byte UDP to %s:%d at %.1f%% of line rate",
	port, size, dst_ip, dport, rate))
local before = counters(port)
pktgen.start(port)
if seconds > 0 then
	pktgen.delay(math.floor(seconds * 1000))
	pktgen.stop(port)
	pktgen.delay(500)
	local sent = counters(port).opackets - before.opackets
	print(string.format("http-background: %d frames in %d s = %.0f pps", sent, seconds,
		sent / seconds))
else
	print("http-background: running; 'stop " .. port .. "' at the pktgen prompt ends it")
end
