-- wrk script: POST /v1/templates/invoice/render with the JSON body in $CK_BODY and the API key
-- in $CK_KEY; reports the first few answers that are not 202/200 on stderr.
local body_file = assert(io.open(os.getenv("CK_BODY"), "rb"))
wrk.method = "POST"
wrk.path = "/v1/templates/invoice/render"
wrk.body = body_file:read("*a")
body_file:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("CK_KEY")

local bad = 0
response = function(status, headers, body)
  if status ~= 202 and status ~= 200 then
    bad = bad + 1
    if bad <= 3 then
      io.stderr:write("unexpected status " .. status .. ": " .. body .. "\n")
    end
  end
end

-- With $CK_IDEMPOTENCY=1 every request carries a new Idempotency-Key, which takes the
-- transactional insert path (see src/api/renders.c).
local keyed = os.getenv("CK_IDEMPOTENCY") == "1"
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local n = 0
local run = tostring(os.time()) .. "-" .. tostring(math.random(1000000))
request = function()
  if keyed then
    n = n + 1
    wrk.headers["Idempotency-Key"] = "bench-" .. run .. "-" .. tostring(tid) .. "-" .. n
  end
  return wrk.format()
end
