-- wrk script for bench/serving: POSTs one fixed body, or GETs when no body file is given.
--   wrk ... -s wrk_predict.lua URL -- BODY_FILE [CONTENT_TYPE]     (default application/json)
--   wrk ... -s wrk_predict.lua URL                                 (plain GET, e.g. /ping)
-- The request is built once per thread (no per-request Lua). At the end one machine-readable line:
--   BENCH_RESULT requests=N seconds=S rps=R mean_us=.. p50_us=.. p75_us=.. p90_us=.. p99_us=..
--                p999_us=.. max_us=.. err_connect=.. err_read=.. err_write=.. err_status=.. err_timeout=..
-- (wrk's latency histogram has 1 us resolution; status >= 400 counts as err_status).
init = function(args)
  if args[1] then
    local f = assert(io.open(args[1], "rb"))
    wrk.body = f:read("*a")
    f:close()
    wrk.method = "POST"
    wrk.headers["Content-Type"] = args[2] or "application/json"
  end
end

done = function(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "BENCH_RESULT requests=%d seconds=%.3f rps=%.1f mean_us=%.1f p50_us=%d p75_us=%d p90_us=%d p99_us=%d " ..
    "p999_us=%d max_us=%d err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d\n",
    summary.requests, secs, summary.requests / secs, latency.mean,
    latency:percentile(50), latency:percentile(75), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
