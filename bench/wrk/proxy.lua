-- wrk script for bench/run: sends BENCH_TARGET (absolute-form through a proxy, origin-form
-- when talking to the origin directly) with Host BENCH_HOST; BENCH_CLOSE=1 adds
-- "Connection: close"; BENCH_PIPELINE=N sends N requests back to back (wrk's pipeline.lua).
-- done() prints one machine-readable RESULT line; it does not judge the numbers.
local target = assert(os.getenv("BENCH_TARGET"), "BENCH_TARGET unset")
local depth = tonumber(os.getenv("BENCH_PIPELINE") or "1")

wrk.path = target
wrk.headers["Host"] = assert(os.getenv("BENCH_HOST"), "BENCH_HOST unset")
if os.getenv("BENCH_CLOSE") == "1" then
  wrk.headers["Connection"] = "close"
end

if depth > 1 then
  -- Without a request() function wrk sends one static request per response; with it,
  -- each call returns the next batch, written in one go.
  local batch
  init = function(args)
    local r = {}
    for i = 1, depth do
      r[i] = wrk.format(nil, target)
    end
    batch = table.concat(r)
  end
  request = function()
    return batch
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d bytes=%d connect=%d read=%d write=%d status=%d " ..
    "timeout=%d p50_us=%d p99_us=%d max_us=%d\n",
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(99), latency.max))
end
