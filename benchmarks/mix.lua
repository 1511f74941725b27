-- pixelmock benchmarks: one request mix for wrk (definitions and placeholders: benchmarks/mixes.py).
--
-- wrk -t1 -c10 -d6s -s benchmarks/mix.lua http://127.0.0.1:PORT -- BASE METHOD PATH BODY HEADERS
--     FOLLOW_METHOD FOLLOW_PATH JOB_PATTERN KEY_EVERY RUN UNIQUE
--
-- Without a follow-up every request is the first step. With one (Apiframe), every answer that carries a
-- job id queues a follow-up request for it, which the next request sent takes before a new first step.
-- done() prints one line, "WRKJSON {...}", with counts, statuses and latency percentiles (microseconds).

local cfg = {}
local queue, head, tail = {}, 1, 0
local count = 0
local last_key = nil
statuses = {} -- global, so that done() can read it from the thread with thread:get()

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   cfg.base, cfg.method, cfg.path, cfg.body = args[1], args[2], args[3], args[4]
   cfg.headers, cfg.fmethod, cfg.fpath, cfg.pattern = args[5], args[6], args[7], args[8]
   cfg.key_every, cfg.run, cfg.unique = tonumber(args[9]), tonumber(args[10]), args[11] == "1"
end

local function key_for(n)
   if cfg.key_every == 0 then
      return string.format("%x", cfg.run)
   end
   return string.format("%x-%d", cfg.run, math.floor(n / cfg.key_every))
end

local function fill(template, n, key, job)
   local prompt_n = cfg.unique and tostring(n) or "0"
   local uuid = string.format("%08x-0000-4000-8000-%012x", cfg.run, n)
   local out = template:gsub("%%N%%", prompt_n)
   out = out:gsub("%%UUID%%", uuid)
   out = out:gsub("%%KEY%%", key)
   out = out:gsub("%%JOB%%", job or "")
   return out
end

local function headers_for(n, key)
   local h = {}
   for line in cfg.headers:gmatch("[^\n]+") do
      local name, value = line:match("^([^:]+):%s*(.*)$")
      h[name] = fill(value, n, key, nil)
   end
   return h
end

function request()
   if tail >= head then
      local item = queue[head]
      queue[head] = nil
      head = head + 1
      local path = cfg.base .. fill(cfg.fpath, item.n, item.key, item.job)
      return wrk.format(cfg.fmethod, path, headers_for(item.n, item.key), nil)
   end
   local n = count
   count = count + 1
   local key = key_for(n)
   last_key = key
   local body = nil
   if cfg.body ~= "" then
      body = fill(cfg.body, n, key, nil)
   end
   return wrk.format(cfg.method, cfg.base .. fill(cfg.path, n, key, nil), headers_for(n, key), body)
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   if cfg.pattern ~= "" and body then
      local job = body:match(cfg.pattern)
      if job then
         tail = tail + 1
         queue[tail] = { n = count, key = last_key, job = job }
      end
   end
end

function done(summary, latency, requests)
   local merged = {}
   for _, thread in ipairs(threads) do
      local got = thread:get("statuses")
      for code, n in pairs(got) do
         merged[code] = (merged[code] or 0) + n
      end
   end
   local parts = {}
   for code, n in pairs(merged) do
      table.insert(parts, string.format('"%d":%d', code, n))
   end
   local e = summary.errors
   io.write(string.format(
      'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f},"statuses":{%s}}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
      table.concat(parts, ",")))
end
