-- wrk script: POST realistic sensor messages to /send, 1,000 edge nodes (varied hostnames),
-- a few emoji, one job per node so the supersede filter forwards them all.
-- Usage: wrk -s bench/proxy/send.lua http://127.0.0.1:PORT
local icons = { "😀", "🚀", "🌡️", "🛰️", "⚡", "🌊" }
local colors = { "#FF5733", "#33FF57", "#3357FF", "#F1C40F" }
local requests = {}
local counter = 0

function init(args)
  local thread_salt = math.random(1, 1000000)
  for i = 1, 1000 do
    local body = string.format(
      '{"job_id":"j-%d","execution_id":"e-%d","hostname":"edge-node-%d","job_submission_time":1711449600,'
        .. '"icon_name":"%s","timestamp":"2025-03-26T12:34:56Z","color":"%s","sequence":%d,"region":"us"}',
      i % 7, thread_salt, i, icons[(i % #icons) + 1], colors[(i % #colors) + 1], i)
    requests[i] = wrk.format("POST", "/send", { ["Content-Type"] = "application/json" }, body)
  end
end

function request()
  counter = counter + 1
  return requests[(counter % #requests) + 1]
end

function done(summary, latency, requests)
  io.write(string.format(
    "RESULT requests=%d non2xx_or_errors=%d duration_s=%.2f rps=%.0f p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout,
    summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
