-- Files: upload, list (every page, fetched as the loop needs it), read, delete.
local openai = require "openai"

local f, err = openai.upload_file{ file = { data = "hello, file\n", name = "hello.txt" }, purpose = "user_data" }
if not f then error(tostring(err)) end
print(("uploaded %s, %d bytes"):format(f.id, f.bytes))

local list
list, err = openai.files{ limit = 100 }
if not list then error(tostring(err)) end
for file, ferr in list:each() do
  if not file then error(tostring(ferr)) end
  print("", file.id, file.filename, file.purpose)
end

local bytes = assert(openai.file_content(f.id))
io.write("content: ", bytes)
print("deleted", assert(openai.delete_file(f.id)).deleted)
