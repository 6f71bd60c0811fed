-- wrk script: counts the responses of every wall-clock second, answered
-- (2xx/3xx) and failed (any other status) apart, and prints them after the
-- run, one line per second: "second EPOCH_SECOND ANSWERED FAILED".
-- Socket errors (connect, read, write, timeout) have no status and are not
-- in these lines; wrk's own summary counts them. Used by bench/router_kill.sh.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  answered = {}
  failed = {}
end

function response(status, headers, body)
  local second = os.time()
  if status >= 200 and status < 400 then
    answered[second] = (answered[second] or 0) + 1
  else
    failed[second] = (failed[second] or 0) + 1
  end
end

function done(summary, latency, requests)
  local totals = {}
  for _, thread in ipairs(threads) do
    for key, counts in pairs({answered = thread:get("answered"), failed = thread:get("failed")}) do
      for second, count in pairs(counts) do
        totals[second] = totals[second] or {answered = 0, failed = 0}
        totals[second][key] = totals[second][key] + count
      end
    end
  end
  local seconds = {}
  for second in pairs(totals) do table.insert(seconds, second) end
  table.sort(seconds)
  for _, second in ipairs(seconds) do
    print(string.format("second %d %d %d", second, totals[second].answered, totals[second].failed))
  end
end
