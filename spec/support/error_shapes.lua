-- spec/support/error_shapes.lua: the error bodies of OpenAI-compatible
-- servers (standin.py's error_shape), each with the status it comes with,
-- the words the server sends and the err.message a client must show.
-- Shared by spec/error_bodies_spec.lua (libcurl) and
-- spec/nginx_transport_spec.lua (cosockets).
return {
  { shape = "fastapi", status = 404, message = "The model `llama-9` does not exist.",
    want = "The model `llama-9` does not exist." },
  { shape = "fastapi_validation", status = 422, message = "Field required",
    want = "body.messages.0.content: Field required; body.temperature: Input should be a valid number" },
  { shape = "gemini", status = 400, message = "Invalid JSON payload received.",
    want = "Invalid JSON payload received.", code = 400 },
  { shape = "ollama", status = 404, message = 'model "llama9" not found, try pulling it first',
    want = 'model "llama9" not found, try pulling it first' },
  { shape = "message", status = 404, message = "Model not found", want = "Model not found", code = 404 },
  { shape = "text", status = 503, message = "upstream connect error or disconnect/reset before headers",
    want = "upstream connect error or disconnect/reset before headers" },
  { shape = "text", status = 502, message = "modèle indisponible\r\n\tréessayez",
    want = "modèle indisponible réessayez" },
  { shape = "html", status = 502, message = "The upstream server is not answering",
    want = "The upstream server is not answering proxy" },
}
