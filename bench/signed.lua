-- wrk script: POST pre-signed webhooks of every feed, each thread its own slice of the request file,
-- optional per-request delay (offered-rate runs), status counts reported as JSON in done().
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  local file, nthreads = args[1], tonumber(args[2])
  delay_ms = tonumber(args[3] or "0")
  lines, idx, statuses, outcomes = {}, 0, {}, {}
  local i = 0
  for line in io.lines(file) do
    if i % nthreads == id - 1 then table.insert(lines, line) end
    i = i + 1
  end
end

-- A line: target, content type, header name and value pairs, body; tab-separated (bench/payloads.py).
function request()
  idx = idx + 1
  local line = lines[((idx - 1) % #lines) + 1]
  local fields, start = {}, 1
  while true do
    local tab = line:find("\t", start, true)
    if not tab then break end
    table.insert(fields, line:sub(start, tab - 1))
    start = tab + 1
  end
  local headers = {["Content-Type"] = fields[2]}
  for i = 3, #fields - 1, 2 do headers[fields[i]] = fields[i + 1] end
  return wrk.format("POST", fields[1], headers, line:sub(start))
end

function delay()
  return delay_ms
end

-- Counted by status and by the answer's "status" (queued or duplicate: Kazoo's queued is a 200, as a duplicate is).
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  local outcome = body:match('"status":"(%a+)"') or "other"
  outcomes[outcome] = (outcomes[outcome] or 0) + 1
end

local function summed(name)
  local counts = {}
  for _, t in ipairs(threads) do
    for key, n in pairs(t:get(name)) do counts[key] = (counts[key] or 0) + n end
  end
  local parts = {}
  for key, n in pairs(counts) do table.insert(parts, string.format('"%s": %d', key, n)) end
  return table.concat(parts, ", ")
end

function done(summary, latency, requests)
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "errors": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, "statuses": {%s}, "outcomes": {%s}}\n',
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, summed("statuses"), summed("outcomes")))
end
