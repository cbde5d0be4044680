-- A stand-in for pktgen-dpdk's Lua module (app/lpktgenlib.c) to run the lab
-- profiles without a NIC: each function checks the argument count the real
-- one enforces (luaL_error "wrong number of arguments") and the port list,
-- and logs the call on stdout as "CALL name arg1 arg2 ...".
--   lua5.4 test_lab_pktgen_stub.lua PROFILE.lua [flat]
-- "flat" gives portStats the older layout (counters at the top level).
local flat = arg[2] == "flat"
local sent = 0
local function log(name, ...)
	local parts = { "CALL", name }
	for _, v in ipairs({ ... }) do
		parts[#parts + 1] = tostring(v)
	end
	print(table.concat(parts, " "))
end
local function fn(name, nargs, check)
	return function(...)
		local n = select("#", ...)
		if n ~= nargs then
			error(name .. ", wrong number of arguments (" .. n .. ", want " .. nargs .. ")")
		end
		if nargs > 0 and not string.match(tostring((...)), "^[%d,%-]+$") and name ~= "screen" then
			error(name .. ": invalid portlist " .. tostring((...)))
		end
		if check then
			check(...)
		end
		log(name, ...)
	end
end
local set_keys = { count = 1, size = 1, rate = 1, burst = 1, sport = 1, dport = 1, ttl = 1 }
pktgen = {
	set = fn("set", 3, function(_, what, v)
		assert(set_keys[what], "set does not support " .. what)
		assert(tonumber(v), "set " .. what .. ": not a number")
	end),
	set_mac = fn("set_mac", 3, function(_, t, mac)
		assert(t == "dst" or t == "src")
		assert(string.match(mac, "^%x%x:%x%x:%x%x:%x%x:%x%x:%x%x$"), "invalid MAC string")
	end),
	set_ipaddr = fn("set_ipaddr", 3, function(_, t, ip)
		assert(t == "dst" or t == "src")
		assert(string.match(ip, "^%d+%.%d+%.%d+%.%d+"), "invalid IP " .. ip)
	end),
	set_proto = fn("set_proto", 2, function(_, p)
		assert(p == "udp" or p == "tcp" or p == "icmp")
	end),
	set_type = fn("set_type", 2, function(_, t)
		assert(t == "ipv4" or t == "ipv6")
	end),
	pcap = fn("pcap", 2, function(_, s)
		assert(s == "on" or s == "off" or s == "enable" or s == "disable")
	end),
	start = fn("start", 1, function()
		sent = sent + 1000
	end),
	stop = fn("stop", 1),
	delay = function(...)
		assert(select("#", ...) == 1 and math.type(...) == "integer", "delay takes integer ms")
		sent = sent + 1000
		log("delay", ...)
	end,
	clr = function(...)
		assert(select("#", ...) == 0)
		log("clr")
	end,
	linkState = function(p)
		local t = { n = 1 }
		t[tonumber(p)] = "<UP-10000-FD>"
		return t
	end,
	portStats = function(p)
		local c = { opackets = sent, ipackets = 0, obytes = 0, ibytes = 0 }
		local t = { n = 1 }
		t[tonumber(p)] = flat and c or { curr = c }
		return t
	end,
}
dofile(arg[1])
print("DONE")
