-- Stream a chat answer token by token; `break` would close the connection.
local openai = require "openai"

local stream, err = openai.chat_stream{
  messages = { { role = "user", content = "Count from one to ten in words." } },
}
if not stream then error(tostring(err)) end
for chunk in stream:each() do
  local choice = chunk.choices[1]
  io.write(choice and choice.delta.content or "")
  io.flush()
end
print()
local done = stream:result()
print(("(finish_reason %s)"):format(tostring(done.choices[1].finish_reason)))
