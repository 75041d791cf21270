-- wrk script: POST pre-signed Callr webhooks, each thread its own slice of the request file,
-- optional per-request delay (offered-rate runs), status counts reported as JSON in done().
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  local file, nthreads = args[1], tonumber(args[2])
  delay_ms = tonumber(args[3] or "0")
  lines, idx, statuses = {}, 0, {}
  local i = 0
  for line in io.lines(file) do
    if i % nthreads == id - 1 then table.insert(lines, line) end
    i = i + 1
  end
end

function request()
  idx = idx + 1
  local line = lines[((idx - 1) % #lines) + 1]
  local tab = line:find("\t", 1, true)
  return wrk.format("POST", "/webhooks/callr",
    {["Content-Type"] = "application/json", ["X-CALLR-HmacSignature"] = line:sub(1, tab - 1)},
    line:sub(tab + 1))
end

function delay()
  return delay_ms
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("statuses")) do
      counts[status] = (counts[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(counts) do table.insert(parts, string.format('"%d": %d', status, n)) end
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "errors": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, "statuses": {%s}}\n',
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, table.concat(parts, ", ")))
end
