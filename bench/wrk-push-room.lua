-- wrk script for the push API throughput figures in docs/BENCHMARKS.md:
--   wrk -t1 -c128 -d8s -s bench/wrk-push-room.lua http://127.0.0.1:3111            (one room, "load")
--   ROOMS=100 wrk -t1 -c128 -d8s -s bench/wrk-push-room.lua http://127.0.0.1:3111  (spread over 100 rooms)
-- It counts replies whose body is not {"code":0,"message":""} (a push Kafka did not accept).
local rooms = tonumber(os.getenv("ROOMS") or "1")
local body = '{"seq":1,"ts":0}'
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) bad = 0; good = 0; n = 0 end
function request()
  n = n + 1
  local room = "load"
  if rooms > 1 then room = "load-" .. (n % rooms) end
  return wrk.format("POST", "/goim/push/room?operation=1000&type=live&room=" .. room,
    {["Content-Type"] = "application/json"}, body)
end
function response(status, headers, b)
  if b == '{"code":0,"message":""}' then good = good + 1 else bad = bad + 1 end
end
function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    io.write(string.format("ok bodies: %d, non-ok bodies: %d\n", t:get("good"), t:get("bad")))
  end
end
