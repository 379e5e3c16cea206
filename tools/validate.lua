-- tools/validate.lua BASE_URL: every action's request shape, sent to a mock
-- server that validates requests against the official OpenAPI description
-- (tools/validate.sh starts one); a request the description refuses comes
-- back as an api error (HTTP 400 from the mock). Exits 1 if any is refused.
local openai = require "openai"
local c = openai.new{ api_key = "sk-validate-0123456789012345678901234567890123456789",
                      base_url = assert(arg[1], "usage: validate.lua BASE_URL"), max_retries = 0 }
local failed = 0
local png = "\137PNG\r\n\26\n" .. string.rep("\0", 32)
local function show(name, r, err)
  if r == nil then failed = failed + 1 end
  print(name, r ~= nil and "ok" or ("REFUSED " .. tostring(err)))
end
show("translation", c:translation{ file = { data = "ID3abc", name = "a.mp3" } })
show("transcription", c:transcription{ file = { data = "ID3abc", name = "a.mp3" }, language = "fr",
                                        temperature = 0.2, response_format = "json" })
show("image_variation", c:image_variation{ image = { data = png, name = "a.png" }, n = 2, size = "256x256" })
show("image_edit", c:image_edit{ image = { data = png, name = "a.png" }, mask = { data = png, name = "m.png" },
                                  prompt = "hat" })
show("speech", c:speech{ input = "hi", voice = "alloy", response_format = "mp3" })
show("file", c:file("file-abc"))
show("files", c:files{ purpose = "batch", limit = 2 })
show("batch", c:batch("batch_abc"))
show("batches", c:batches{ limit = 2 })
show("cancel_batch", c:cancel_batch("batch_abc"))
show("create_batch", c:create_batch{ input_file_id = "file-abc", endpoint = "/v1/chat/completions",
                                      metadata = { a = "b" } })
show("cancel_response", c:cancel_response("resp_abc"))
show("get_response", c:get_response("resp_abc"))
show("embeddings float", c:embeddings{ input = { "a", "b" }, encoding_format = "float", dimensions = 8 })
show("moderation", c:moderation{ input = { "a" } })
show("upload", c:upload_file{ file = { data = "{}\n", name = "x.jsonl" }, purpose = "batch" })
show("chat", c:chat{ messages = { { role = "user", content = "hi" } }, max_tokens = 5 })
show("image", c:image{ prompt = "fox" })
show("response", c:response{ input = "hi", instructions = "be brief" })
show("model", c:model("gpt-4.1"))
show("models", c:models())
show("delete_file", c:delete_file("file-abc"))
show("delete_response", c:delete_response("resp_abc"))
show("file_content", c:file_content("file-abc"))
local s = c:chat_stream{ messages = { { role = "user", content = "hi" } } }
show("chat_stream", s ~= nil or nil)
if s then s:close() end
print(failed == 0 and "every request shape was accepted" or (failed .. " request shape(s) refused"))
os.exit(failed == 0 and 0 or 1)
