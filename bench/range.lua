-- wrk script: random aligned byte ranges of one file.
--   wrk ... -s bench/range.lua <url> -- <range_size> <file_size> [seed]
-- Each request picks a random range-size-aligned offset a inside the file and sends
-- "Range: bytes=a-(a+size-1)".  The same seed gives the same offset sequence, so two servers
-- measured one after the other see the same requests.
--
-- CHECK=1 (env, default) also defines response(), which checks every answer: status 206,
-- Content-Range "bytes a-b/<file_size>" with b-a+1 == size and a aligned, and a body of
-- exactly size bytes.  Note: defining response() makes wrk copy every body into a Lua string,
-- which costs the (single) wrk thread CPU; CHECK=0 measures without it.
-- done() prints one machine-readable "RESULT ..." line (parsed by webseed_ranges.sh).

local range_size, file_size, nranges
local threads = {}
local next_id = 0

function setup(thread)
   thread:set("tid", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

function init(args)
   range_size = tonumber(args[1]) or 16384
   file_size  = tonumber(args[2]) or error("file_size argument missing")
   local seed = tonumber(args[3]) or 12345
   nranges = math.floor(file_size / range_size)
   math.randomseed(seed + (tid or 0) * 7919)
   checked, bad, first_bad = 0, 0, ""
end

function request()
   local a = (math.random(nranges) - 1) * range_size
   return wrk.format("GET", nil, { ["Range"] = "bytes=" .. a .. "-" .. (a + range_size - 1) })
end

if os.getenv("CHECK") ~= "0" then
   function response(status, headers, body)
      checked = checked + 1
      local why
      if status ~= 206 then
         why = "status " .. status
      else
         local cr
         for k, v in pairs(headers) do
            if string.lower(k) == "content-range" then cr = v end
         end
         local a, b, total = string.match(cr or "", "^bytes (%d+)%-(%d+)/(%d+)$")
         a, b, total = tonumber(a), tonumber(b), tonumber(total)
         if not a then
            why = "bad Content-Range '" .. tostring(cr) .. "'"
         elseif b - a + 1 ~= range_size or a % range_size ~= 0 or total ~= file_size then
            why = "wrong Content-Range '" .. cr .. "'"
         elseif #body ~= range_size then
            why = "body " .. #body .. " bytes"
         end
      end
      if why then
         bad = bad + 1
         if first_bad == "" then first_bad = why end
      end
   end
end

function done(summary, latency, requests)
   local checked_sum, bad_sum, first = 0, 0, ""
   for _, t in ipairs(threads) do
      checked_sum = checked_sum + (t:get("checked") or 0)
      bad_sum = bad_sum + (t:get("bad") or 0)
      local fb = t:get("first_bad")
      if first == "" and fb and fb ~= "" then first = fb end
   end
   local e = summary.errors
   io.write(string.format(
      "RESULT requests=%d duration_us=%d bytes=%d lat_mean_us=%.1f lat_p50_us=%d lat_p99_us=%d lat_max_us=%d " ..
      "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d checked=%d bad=%d first_bad=%q\n",
      summary.requests, summary.duration, summary.bytes, latency.mean,
      latency:percentile(50), latency:percentile(99), latency.max,
      e.connect, e.read, e.write, e.status, e.timeout, checked_sum, bad_sum, first))
end
