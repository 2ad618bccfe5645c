-- wrk script for bench/serve_load.py: POST one text per request, the text varying per request
-- (so no cache can help), as JSON.
--   wrk -t1 -c32 -d30s --latency -s bench/post.lua http://127.0.0.1:PORT/v1/tasks/embeddings
--   wrk ... -s bench/post.lua http://127.0.0.1:PORT/embeddings -- openai MODEL   (Infinity's body shape)
local sentences = {
  "my card was charged twice for the same order", "the parcel arrived two days late and the box was crushed",
  "thanks, the support agent fixed my login problem quickly", "how do I change the delivery address?",
  "the app keeps crashing when I open my invoices", "great service, I will order again",
  "I want a refund for the broken headphones", "can you tell me when my subscription renews?",
}
local shape, model = "modelbay", nil
local n = 0

function init(args)
  if args[1] == "openai" then shape, model = "openai", args[2] end
end

function request()
  n = n + 1
  local text = sentences[(n % #sentences) + 1] .. " #" .. n
  local body
  if shape == "openai" then
    body = '{"input": ["' .. text .. '"], "model": "' .. model .. '"}'
  else
    body = '{"inputs": ["' .. text .. '"]}'
  end
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
