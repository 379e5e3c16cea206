-- Stream a Responses API answer: events with a `type`.
local openai = require "openai"

local stream, err = openai.response_stream{ input = "Name three moons of Jupiter." }
if not stream then error(tostring(err)) end
for event in stream:each() do
  if event.type == "response.output_text.delta" then
    io.write(event.delta)
    io.flush()
  end
end
print()
print(("(status %s)"):format(stream:result().status))
