-- Rotates over the paths listed in the file named by WRK_PATHS and prints the
-- latency percentiles as one JSON line that portal.py reads.
local paths = {}
local file = os.getenv("WRK_PATHS")
for line in io.lines(file) do
  if #line > 0 then paths[#paths + 1] = line end
end
local cookie = os.getenv("WRK_COOKIE") or ""
local counter = 0

request = function()
  counter = counter + 1
  local path = paths[(counter % #paths) + 1]
  if #cookie > 0 then
    return wrk.format("GET", path, { ["Cookie"] = cookie, ["Accept-Language"] = "zh-hans" })
  end
  return wrk.format("GET", path, { ["Accept-Language"] = "zh-hans" })
end

done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "rps": %.1f, "p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, "errors": %d, "non2xx": %d}\n',
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
