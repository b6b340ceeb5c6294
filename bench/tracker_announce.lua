-- wrk script: BitTorrent HTTP announces from a fixed population of peers
-- (bench/tracker_http.sh, bench/tracker_memory.sh).
--   wrk -t1 ... -s bench/tracker_announce.lua http://127.0.0.1:PORT \
--       -- <hashes_file> <peers> <numwant> <order: shuffle|seq> <start> [seed]
--
-- Population: peer k (0 <= k < peers) belongs to torrent t = k % T (T = number of 40-hex
-- info-hashes in hashes_file, one a line) and announces from port 1025 + floor(k / T), so
-- (torrent, port) and peer_id are unique per peer; all peers share 127.0.0.1.  peer_id is
-- "-WR0001-" + k as 12 digits; a quarter of each swarm are seeders (left=0: floor(k / T) % 4 == 3).
-- Every request is
--   GET /announce?info_hash=<20 bytes, all %XX>&peer_id=..&port=..&uploaded=0&downloaded=0
--       &left=<0|1048576>&compact=1&numwant=<numwant>&event=started
-- All requests are built in init().  order=shuffle walks one fixed random permutation of the
-- population (seeded), order=seq walks k = 0, 1, 2, ...; both wrap around and start at
-- position <start>, so a run of >= peers requests announces every peer at least once.
--
-- Env CHECK=1 (default) defines response(), which checks every answer: status 200, no
-- "failure reason", a bencoded dict, and records the number of peers (compact "5:peers" +
-- "6:peers6" lengths) and complete+incomplete.  CHECK=0 leaves response() undefined, so wrk
-- does not copy headers and bodies into Lua (cheaper for wrk).
-- Env CLOSE=1 adds "Connection: close" to every request.
-- done() prints one "RESULT ..." line (parsed by the shell scripts).

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

local function pct(s)
   return (string.gsub(s, ".", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local reqs, order, n, pos

function init(args)
   local file = args[1] or error("hashes_file argument missing")
   local peers = tonumber(args[2]) or 10000
   local numwant = tonumber(args[3]) or 50
   local mode = args[4] or "shuffle"
   local start = tonumber(args[5]) or 0
   local seed = tonumber(args[6]) or 12345
   local hashes = {}
   for line in io.lines(file) do
      local h = string.match(line, "^(%x+)%s*$")
      if h and #h == 40 then
         hashes[#hashes + 1] = pct((string.gsub(h, "%x%x", function(x) return string.char(tonumber(x, 16)) end)))
      end
   end
   local T = #hashes
   if T == 0 then error("no info-hashes in " .. file) end
   local headers = {}
   if os.getenv("CLOSE") == "1" then headers["Connection"] = "close" end
   reqs = {}
   for k = 0, peers - 1 do
      local t = k % T
      local path = "/announce?info_hash=" .. hashes[t + 1] ..
         "&peer_id=-WR0001-" .. string.format("%012d", k) ..
         "&port=" .. (1025 + math.floor(k / T)) ..
         "&uploaded=0&downloaded=0&left=" .. ((math.floor(k / T) % 4 == 3) and "0" or "1048576") ..
         "&compact=1&numwant=" .. numwant .. "&event=started"
      reqs[k + 1] = wrk.format("GET", path, headers)
   end
   n = peers
   order = {}
   for i = 1, n do order[i] = i end
   if mode == "shuffle" then
      math.randomseed(seed)
      for i = n, 2, -1 do
         local j = math.random(i)
         order[i], order[j] = order[j], order[i]
      end
   end
   pos = start % n
   checked, bad_status, failures, not_dict, peers_sum, peers_min, swarm_sum, swarm_n = 0, 0, 0, 0, 0, 1e9, 0, 0
   first_bad = ""
   if os.getenv("CHECK") == "0" then response = nil end
end

function request()
   pos = pos + 1
   if pos > n then pos = 1 end
   return reqs[order[pos]]
end

function response(status, headers, body)
   checked = checked + 1
   if status ~= 200 then
      bad_status = bad_status + 1
      if first_bad == "" then first_bad = "status " .. status .. ": " .. string.sub(body, 1, 120) end
      return
   end
   if string.find(body, "failure reason", 1, true) then
      failures = failures + 1
      if first_bad == "" then first_bad = string.sub(body, 1, 120) end
      return
   end
   if string.sub(body, 1, 1) ~= "d" then
      not_dict = not_dict + 1
      if first_bad == "" then first_bad = "not a dict: " .. string.sub(body, 1, 120) end
      return
   end
   local p4 = tonumber(string.match(body, "5:peers(%d+):")) or 0
   local p6 = tonumber(string.match(body, "6:peers6(%d+):")) or 0
   local np = p4 / 6 + p6 / 18
   peers_sum = peers_sum + np
   if np < peers_min then peers_min = np end
   local c = tonumber(string.match(body, "8:completei(%d+)e"))
   local i = tonumber(string.match(body, "10:incompletei(%d+)e"))
   if c and i then
      swarm_sum = swarm_sum + c + i
      swarm_n = swarm_n + 1
   end
end

function done(summary, latency, requests)
   local s = { checked = 0, bad_status = 0, failures = 0, not_dict = 0, peers_sum = 0, swarm_sum = 0, swarm_n = 0 }
   local pmin, first, last_pos = 1e9, "", 0
   for _, t in ipairs(threads) do
      for k in pairs(s) do s[k] = s[k] + (t:get(k) or 0) end
      local m = t:get("peers_min") or 1e9
      if m < pmin then pmin = m end
      local fb = t:get("first_bad")
      if first == "" and fb and fb ~= "" then first = fb end
   end
   local e = summary.errors
   io.write(string.format(
      "RESULT requests=%d duration_us=%d bytes=%d lat_mean_us=%.1f lat_p99_us=%d " ..
      "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d " ..
      "checked=%d bad_status=%d failures=%d not_dict=%d avg_peers=%.2f min_peers=%d avg_swarm=%.2f first_bad=%q\n",
      summary.requests, summary.duration, summary.bytes, latency.mean, latency:percentile(99),
      e.connect, e.read, e.write, e.status, e.timeout,
      s.checked, s.bad_status, s.failures, s.not_dict,
      s.checked > 0 and s.peers_sum / s.checked or 0, pmin < 1e9 and pmin or -1,
      s.swarm_n > 0 and s.swarm_sum / s.swarm_n or 0, first))
end
