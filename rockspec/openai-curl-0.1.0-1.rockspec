-- The rock is "openai-curl"; the module it installs is `openai` (openai.lua,
-- openai/*.lua, openai/core.so, openai/wire.so). LuaRocks' "openai" belongs
-- to others, and leafo's "lua-openai" installs a module `openai` too.
rockspec_format = "3.0"
package = "openai-curl"
version = "0.1.0-1"
source = {
   -- the tag v0.1.0 of the project's repository, under the rock's name: the
   -- address `luarocks install` / `luarocks pack` fetch once it is published.
   -- `luarocks make` builds the checkout it runs in and never fetches it.
   url = "git+https://github.com/openai-curl/openai-curl.git",
   tag = "v0.1.0",
}
description = {
   summary = "OpenAI client for Lua with a C core on libcurl",
   homepage = "https://github.com/openai-curl/openai-curl",
   detailed = [[
Chat completions, images, the Responses API, models and raw requests, with
retries, timeouts, streaming (SSE parsed in C) and many requests at once on
one thread (coroutines over curl multi).
]],
   license = "MIT",
}
dependencies = {
   "lua >= 5.1",
   "lua-cjson",
}
external_dependencies = {
   -- Debian keeps curl/curl.h under /usr/include/<multiarch>, where LuaRocks
   -- does not look; gcc finds it on its default path, so only the library is
   -- declared (pass CURL_INCDIR=... if your headers are elsewhere)
   CURL = { library = "curl" },
}
build = {
   type = "builtin",
   modules = {
      ["openai"] = "lua/openai.lua",
      ["openai.batch_job"] = "lua/openai/batch_job.lua",
      ["openai.chat_chunks"] = "lua/openai/chat_chunks.lua",
      ["openai.check"] = "lua/openai/check.lua",
      ["openai.client"] = "lua/openai/client.lua",
      ["openai.endpoints"] = "lua/openai/endpoints.lua",
      ["openai.errors"] = "lua/openai/errors.lua",
      ["openai.json"] = "lua/openai/json.lua",
      ["openai.luv"] = "lua/openai/luv.lua",
      ["openai.keys"] = "lua/openai/keys.lua",
      ["openai.names"] = "lua/openai/names.lua",
      ["openai.options"] = "lua/openai/options.lua",
      ["openai.outcome"] = "lua/openai/outcome.lua",
      ["openai.parallel"] = "lua/openai/parallel.lua",
      ["openai.request"] = "lua/openai/request.lua",
      ["openai.scheduler"] = "lua/openai/scheduler.lua",
      ["openai.secret"] = "lua/openai/secret.lua",
      ["openai.stream"] = "lua/openai/stream.lua",
      ["openai.tools"] = "lua/openai/tools.lua",
      ["openai.tls"] = "lua/openai/tls.lua",
      ["openai.transport"] = "lua/openai/transport.lua",
      ["openai.nginx"] = "lua/openai/nginx.lua",
      ["openai.schema"] = "lua/openai/schema.lua",
      ["openai.parse"] = "lua/openai/parse.lua",
      ["openai.pictures"] = "lua/openai/pictures.lua",
      -- every pure function, not linked with libcurl (all nginx's cosockets need)
      ["openai.wire"] = {
         sources = { "src/openai_wire.c", "src/lhttp1.c", "src/ljson.c", "src/ltext.c", "src/lb64.c",
                     "src/lpartial.c", "src/pjson.c", "src/platform.c", "src/buf.c", "src/sse.c",
                     "src/retry.c", "src/check.c", "src/http1.c", "src/b64.c",
                     "src/upfile.c" },
         defines = { "_POSIX_C_SOURCE=200809L" },
         libraries = { "m", "pthread" },
      },
      -- the engine on libcurl, loaded on first use
      ["openai.core"] = {
         sources = { "src/openai_core.c", "src/engine.c", "src/platform.c", "src/buf.c", "src/sse.c",
                     "src/retry.c", "src/check.c", "src/http1.c", "src/b64.c",
                     "src/upfile.c" },
         defines = { "_POSIX_C_SOURCE=200809L" },
         libraries = { "curl", "pthread" },
         incdirs = { "$(CURL_INCDIR)" },
         libdirs = { "$(CURL_LIBDIR)" },
      },
   },
}
-- `luarocks test` after `luarocks make`: loads the installed module and
-- calls through libcurl; needs nothing but the rock and its dependencies
-- (and calls the bundled stand-in when python3 is there)
test = {
   type = "command",
   script = "rockspec/test.lua",
}
