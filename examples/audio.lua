-- Create Speech, then Create Transcription of it: speech returns the audio
-- bytes (or, with path =, streams them to a file); transcription uploads a
-- file as multipart (a path is streamed from disk; here the bytes).
local openai = require "openai"

local audio, err = openai.speech{ input = "The quick brown fox jumped over the lazy dog.", voice = "alloy" }
if not audio then error(tostring(err)) end
print(("speech: %d bytes of mp3"):format(#audio))

local text
text, err = openai.transcription{ file = { data = audio, name = "speech.mp3" }, response_format = "text" }
if not text then error(tostring(err)) end
io.write("transcription: ", text)
