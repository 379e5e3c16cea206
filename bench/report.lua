-- bench/report.lua RESULTS: print the one table of bench/run.sh from its
-- key=value results file (a figure whose step failed shows as n/a).
local path = arg[1]
local R = {}
for line in io.lines(path) do
  local k, v = line:match("^([%w_]+)=(.*)$")
  if k then R[k] = v end
end

local function num(k) return tonumber(R[k]) end

local function fmt(v, unit, f)
  if v == nil then return "n/a" end
  return string.format(f or "%.1f", v) .. (unit and (" " .. unit) or "")
end

local function ratio(a, b)
  if a == nil or b == nil or b == 0 then return nil end
  return a / b
end

local rows = {}
-- aim: { "<=", x } / { ">=", x }: judged on the ratio unless `on` is given
local function row(figure, lib, floor, r, aim, on)
  local met = ""
  if aim then
    local v = on ~= nil and on or r
    if v == nil then met = "n/a"
    elseif aim[1] == "<=" then met = v <= aim[2] and "yes" or "NO"
    else met = v >= aim[2] and "yes" or "NO" end
  end
  rows[#rows + 1] = { figure, lib, floor, r and string.format("%.2f", r) or "-",
                      aim and aim.text or "-", met }
end

local MIB = 1024
local function mib(k) local v = num(k); return v and v / MIB end

-- 1. sequential
-- against the libcurl + cjson floor (same process, interleaved blocks), and
-- against the raw C loop (no JSON) for scale
local lc, fc = num("lib_seq_cpu_us"), num("floor_seq_cpu_us")
local lw, fw = num("lib_seq_wall_us"), num("floor_seq_wall_us")
local jc, jw = num("jfloor_seq_cpu_us"), num("jfloor_seq_wall_us")
-- the ratio: the median of each library block's against the floor block
-- right after it (the machine's speed drifts more between blocks than
-- within a pair); the medians' ratio when the pairs are missing
row("sequential chat, CPU per call", fmt(lc, "us"), fmt(jc, "us") .. " +cjson",
    num("seq_cpu_ratio") or ratio(lc, jc), { "<=", 1.25, text = "<= 1.25" })
row("  same, raw libcurl C as the floor", fmt(lc, "us"), fmt(fc, "us") .. " C", ratio(lc, fc))
row("  libcurl + cjson floor vs raw C", fmt(jc, "us"), fmt(fc, "us") .. " C", ratio(jc, fc))
local li, fi = num("instr_lib"), num("instr_floor")
local function kinstr(v) return v and string.format("%.1fk instr", v / 1e3) or "n/a" end
row("sequential chat, instructions per call", kinstr(li), kinstr(fi) .. " +cjson", ratio(li, fi),
    { "<=", 1.25, text = "<= 1.25" })
row("sequential chat, wall per call", fmt(lw, "us"), fmt(jw, "us") .. " +cjson", ratio(lw, jw))
row("  same, raw libcurl C as the floor", fmt(lw, "us"), fmt(fw, "us") .. " C", ratio(lw, fw))

-- 2. parallel
local n, conc, delay = num("par_n"), num("par_conc"), num("par_delay_ms")
local ideal
if n and conc and delay and fw then
  ideal = math.ceil(n / conc) * delay + fw / 1e3 * n / conc
end
local lp, fp = num("lib_par_wall_ms"), num("floor_par_wall_ms")
local par = string.format("parallel %s x %s ms, c=%s, wall", R.par_n or "?", R.par_delay_ms or "?",
                          R.par_conc or "?")
row(par, fmt(lp, "ms"), fmt(ideal, "ms") .. " ideal", ratio(lp, ideal),
    { "<=", 1.15, text = "<= 1.15" })
row("  same, raw curl-multi C as the floor", fmt(lp, "ms"), fmt(fp, "ms") .. " C", ratio(lp, fp))
row("  raw curl-multi C vs ideal", fmt(fp, "ms"), fmt(ideal, "ms") .. " ideal", ratio(fp, ideal))

-- 2b. HTTPS + HTTP/2 (bench/https.sh): fresh processes, connections opened
-- inside the timing
local hn = num("https_n") or 1000
local hc = num("https_conc") or 64
local hideal = math.ceil(hn / hc) * 50
local hl, hnode, hcurl = num("https_par_lib_ms"), num("https_par_node_ms"), num("https_par_curl_ms")
row(string.format("HTTPS+h2 %d x 50 ms, c=%d, wall, cold", hn, hc), fmt(hl, "ms"),
    fmt(hideal, "ms") .. " ideal", ratio(hl, hideal), { "<=", 1.15, text = "<= 1.15" })
row("  same, the official Node SDK", fmt(hl, "ms"), fmt(hnode, "ms") .. " Node", ratio(hl, hnode),
    { "<=", 0.999, text = "< 1 (faster)" })
row("  same, curl's command line (--parallel)", fmt(hl, "ms"), fmt(hcurl, "ms") .. " curl", ratio(hl, hcurl))
row("  connections opened: library, Node, curl", R.https_par_lib_conns or "n/a",
    (R.https_par_node_conns or "n/a") .. " Node, " .. (R.https_par_curl_conns or "n/a") .. " curl", nil)
local hp, hs, hcc = num("https_cpu_par_ms"), num("https_cpu_seq_ms"), num("https_cpu_curl_ms")
row(string.format("HTTPS+h2 %d fast calls, CPU, c=%d", hn, hc), fmt(hp, "ms"), fmt(hs, "ms") .. " c=1",
    ratio(hp, hs), { "<=", 2, text = "<= 2" })
row("  same, curl's command line, whole process", fmt(hp, "ms"), fmt(hcc, "ms") .. " curl", ratio(hp, hcc))
local cl, cb, cc, co = num("https_cold_lib_ms"), num("https_cold_base_ms"), num("https_cold_curl_ms"),
                       num("https_cold_lib_own_ca_ms")
row("HTTPS cold first call, process CPU", fmt(cl, "ms"), fmt(cc, "ms") .. " curl", ratio(cl, cc))
row("  added by the call (minus require + new)", fmt(cl and cb and cl - cb, "ms", "%+.1f"),
    fmt(cb, "ms") .. " no call", nil)
row("  trusting the bench CA alone (no bundle)", fmt(co, "ms"), fmt(cl, "ms") .. " bundle", ratio(co, cl))
local nk, nfull, nres = num("ngx_tls_keep_conns"), num("ngx_tls_close_full"), num("ngx_tls_close_resumed")
row("nginx transport TLS, connections/100 calls", fmt(nk, nil, "%d"), "-", nil, { "<=", 1, text = "1" }, nk)
row("  server closing each: full handshakes/100", fmt(nfull, nil, "%d"),
    fmt(nres, nil, "%d") .. " resumed", nil, { "<=", 1, text = "<= 1" }, nfull)

-- 3. memory, sequential
local lr1, lr2 = mib("lib_rss_warm_kib"), mib("lib_rss_end_kib")
local fr1, fr2 = mib("floor_rss_warm_kib"), mib("floor_rss_end_kib")
local function commas(k)
  local v = num(k)
  if v == nil then return "?" end
  local s = string.format("%d", v):reverse():gsub("(%d%d%d)", "%1,"):reverse()
  return (s:gsub("^,", ""))
end
local c1, c2 = commas("seq_warm"), commas("lib_calls")
row("peak RSS after " .. c1 .. " calls", fmt(lr1, "MiB", "%.2f"), fmt(fr1, "MiB", "%.2f") .. " C", nil)
row("peak RSS after " .. c2 .. " calls", fmt(lr2, "MiB", "%.2f"), fmt(fr2, "MiB", "%.2f") .. " C", nil)
local lg = lr1 and lr2 and lr2 - lr1
local fg = fr1 and fr2 and fr2 - fr1
row("  growth", fmt(lg, "MiB", "%+.2f"), fmt(fg, "MiB", "%+.2f"), nil,
    { "<=", 2, text = "<= 2 MiB" }, lg)

-- 4. require
local rb, rl, ro = num("req_bare_ms"), num("req_libcurl_ms"), num("req_openai_ms")
row('require "openai", fresh process', fmt(ro, "ms", "%.2f"), fmt(rb, "ms", "%.2f") .. " bare",
    ratio(ro, rb))
local radd = ro and rb and ro - rb
local ladd = rl and rb and rl - rb
row("  added by the require", fmt(radd, "ms", "%+.2f"), fmt(ladd, "ms", "%+.2f") .. " curl",
    ratio(radd, ladd))

-- 5. stream speed
local le, fe = num("lib_stream_eps"), num("floor_stream_eps")
local function eps(v) return v and string.format("%.0fk/s", v / 1e3) or "n/a" end
row(string.format("stream, %sk chunks, events/s", R.stream_events and
                  string.format("%g", num("stream_events") / 1e3) or "?"),
    eps(le), eps(fe), num("stream_ratio") or ratio(le, fe), { ">=", 0.8, text = ">= 0.8" })
local lf = num("lib_stream_flat_eps")
row("  same, accumulate=false (no result())", eps(lf), eps(fe), num("stream_flat_ratio") or ratio(lf, fe),
    { ">=", 0.9, text = ">= 0.9" })
-- in instructions per event: the ratio is the floor's over the library's
-- (a speed, as events/s are)
local sil, sif, sfl = num("instr_stream_lib"), num("instr_stream_floor"), num("instr_stream_flat")
row("  with result(), instructions per event", kinstr(sil), kinstr(sif), ratio(sif, sil))
row("  accumulate=false, instructions per event", kinstr(sfl), kinstr(sif), ratio(sif, sfl))

-- 6. stream memory
local f1, f2 = mib("sflat_1mb"), mib("sflat_100mb")
row("stream peak RSS, 1 MB (accumulate=false)", fmt(f1, "MiB", "%.2f"), "-", nil)
row("stream peak RSS, 100 MB (accumulate=false)", fmt(f2, "MiB", "%.2f"), "-", nil)
local flat_growth = f1 and f2 and f2 - f1
row("  growth", fmt(flat_growth, "MiB", "%+.2f"), "-", nil, { "<=", 4, text = "few MiB (<=4)" }, flat_growth)
local s1, s2 = mib("smem_1mb"), mib("smem_100mb")
row("stream peak RSS, 1 MB + result()", fmt(s1, "MiB", "%.2f"), "-", nil)
row("stream peak RSS, 100 MB + result()", fmt(s2, "MiB", "%.2f"), "-", nil)
local sg = s1 and s2 and s2 - s1
row(string.format("  growth (keeps %s of text)", R.smem_100mb_content_bytes and
                  string.format("%.1f MB", num("smem_100mb_content_bytes") / 1e6) or "the"),
    fmt(sg, "MiB", "%+.2f"), "-", nil)

-- 6b. file memory (upload from a path, download to a path)
if R.file_skipped then
  row("file upload/download 100 MB", "n/a (needs parts[i].path, to_path)", "-", nil)
else
  local fb, fu, fd = mib("file_base_kib"), mib("file_up_kib"), mib("file_down_kib")
  local up_growth, down_growth = fb and fu and fu - fb, fu and fd and fd - fu
  row("peak RSS growth, 100 MB upload from a path", fmt(up_growth, "MiB", "%+.2f"), "-", nil,
      { "<=", 4, text = "few MiB (<=4)" }, up_growth)
  row("peak RSS growth, 100 MB download to a path", fmt(down_growth, "MiB", "%+.2f"), "-", nil,
      { "<=", 4, text = "few MiB (<=4)" }, down_growth)
end
local eb, ej = num("emb_b64_us"), num("emb_json_us")
row("embedding 3072 floats: core.f32_base64", fmt(eb, "us"), fmt(ej, "us") .. " cjson", ratio(eb, ej))
local pp, pc = num("partial_us"), num("partial_cjson_us")
row("parse_stream partial() per 3-byte piece, 1.5 KB object", fmt(pp, "us"),
    fmt(pc, "us") .. " cjson, whole text once", ratio(pp, pc))
row("data_url of a 1 MiB picture / b64_decode back", fmt(num("data_url_ms"), "ms"),
    fmt(num("b64_decode_ms"), "ms"), nil)

-- 7. soak
local function first_last(key)
  local list = {}
  for v in (R[key] or ""):gmatch("[^,]+") do list[#list + 1] = tonumber(v) end
  return list[1], list[#list], #list
end
local r1, r2, nr = first_last("soak_rss_kib")
local d1, d2 = first_last("soak_fds")
row(string.format("soak %s mixed calls, RSS first/last", R.soak_calls or "?"),
    r2 and string.format("%.2f MiB", r2 / 1024) or "n/a",
    r1 and string.format("%.2f MiB first", r1 / 1024) or "-", nil)
local rg = r1 and r2 and (r2 - r1) / 1024
row(string.format("  RSS growth over %d samples", nr), fmt(rg, "MiB", "%+.2f"), "-", nil,
    { "<=", 2, text = "flat (<= 2 MiB)" }, rg)
row("  open file descriptors first/last", d2 and tostring(d2) or "n/a", d1 and (d1 .. " first") or "-", nil,
    { "<=", 0, text = "flat" }, d1 and d2 and d2 - d1)

-- 8. host loops: the longest gap between LÖVE frames / 50 ms Neovim timer
-- ticks while a call was in flight, beside the same call made blocking
local function gap(host, scenario, label, aim)
  local p, b = num(host .. "_pump_" .. scenario .. "_gap_ms"), num(host .. "_block_" .. scenario .. "_gap_ms")
  local ok = R[host .. "_pump_" .. scenario .. "_ok"]
  row(label, fmt(p, "ms") .. (ok and ok ~= "true" and " (wrong answer)" or ""), fmt(b, "ms") .. " blocking",
      ratio(p, b), { "<=", aim, text = "<= " .. aim .. " ms" }, p and ok == "true" and p or (p and math.huge))
end
gap("love", "call", "LÖVE frame gap, 2 s call", 20)
gap("love", "stream", "LÖVE frame gap, 200-event stream", 20)
gap("nvim", "call", "Neovim 50 ms timer gap, 2 s call", 70)
gap("nvim", "stream", "Neovim 50 ms timer gap, 200-event stream", 70)

-- 9. inside nginx
local nc, ncc = num("nginx_calls_s"), num("nginx_curl_calls_s")
row("nginx, 10 x 1 s calls on one worker", fmt(nc and nc * 1000, "ms"), fmt(ncc and ncc * 1000, "ms") .. " curl",
    ratio(nc, ncc), { "<=", 1500, text = "~1 s, not 10" }, nc and nc * 1000)
local nf, nfc = num("nginx_fast_ms"), num("nginx_curl_fast_ms")
row("  a fast location meanwhile", fmt(nf, "ms"), fmt(nfc, "ms") .. " curl", ratio(nf, nfc), nil)

-- the table
local W = { 44, 15, 18, 7, 15 }
local function line(c)
  local out = {}
  for i = 1, 5 do
    local s = c[i]
    local width = #s:gsub("[\128-\191]", "")     -- characters, not bytes (LÖVE)
    out[i] = s .. string.rep(" ", math.max(1, W[i] - width))
  end
  return ((table.concat(out) .. c[6]):gsub("%s+$", ""))
end
print(string.format("openai-lua bench (make bench), %s, %s, libcurl %s, %s cores",
                    R.date or "?", R.lua or "?", R.curl or "?", R.cores or "?"))
print(line({ "figure", "library", "floor", "ratio", "aim", "met" }))
for _, c in ipairs(rows) do print(line(c)) end

-- notes
print()
local function list(k) return R[k] and R[k]:gsub(",", " ") or "n/a" end
print(string.format("sequential: %s calls in one process (%s warm-up, then %s blocks of %s), median block;" ..
                    " request %s B JSON, response %s B", R.lib_calls or "?", R.seq_warm or "?",
                    R.seq_blocks or "?", R.seq_block_n or "?", R.request_body_bytes or "?",
                    R.floor_response_bytes or "?"))
print("  CPU us/call per block: library " .. list("lib_seq_cpu_us_blocks") ..
      " | libcurl + cjson (same process, interleaved) " .. list("jfloor_seq_cpu_us_blocks") ..
      " | raw C " .. list("floor_seq_cpu_us_blocks"))
print("  CPU ratio per block pair (the table's ratio is their median): " .. list("seq_cpu_ratio_blocks"))
print("  instructions per call (callgrind, 200 and 2200 calls subtracted; medians of the runs): library " ..
      list("instr_lib_reps") .. " | libcurl + cjson " .. list("instr_floor_reps"))
if ideal then
  print(string.format("parallel: ideal = ceil(%d/%d) * %d ms + floor wall per call %.1f us * %d/%d = %.1f ms;" ..
                      " %s timed batches after a warm-up of %d, median",
                      n, conc, delay, fw, n, conc, ideal, R.par_reps or "?", conc))
end
print("  wall ms per batch: library " .. list("lib_par_wall_ms_reps") .. " | curl-multi " ..
      list("floor_par_wall_ms_reps") .. "; CPU ms per batch: library " .. (R.lib_par_cpu_ms or "n/a") ..
      " | curl-multi " .. (R.floor_par_cpu_ms or "n/a"))
if R.cap_n and num("cap_ms") then
  print(string.format("  slow_server.py alone (no delay, curl-multi c=%s): %s requests in %.0f ms = %.0f req/s" ..
                      " (the parallel figure needs ~%.0f req/s)", R.par_conc, R.cap_n, num("cap_ms"),
                      num("cap_n") / num("cap_ms") * 1e3, conc and delay and conc / delay * 1e3 or 0))
end
print("https: nginx `ssl http2` (EC P-256 certificate made with openssl), clients trusting the system CA" ..
      " bundle plus it; each tool in a fresh process, nothing warmed up; wall ms per run: library " ..
      list("https_par_lib_reps") .. " | Node " .. list("https_par_node_reps") .. " | curl " ..
      list("https_par_curl_reps") .. "; CPU ms of 1000 fast calls per run: c=64 " ..
      list("https_cpu_par_reps") .. " | c=1 " .. list("https_cpu_seq_reps"))
print(string.format("require: %s; 'curl' = lua -e 'package.loadlib(libcurl.so.4, \"*\")'",
                    R.req_method or "n/a"))
print(string.format("stream: %s events, %s bytes (%.0f B/event) served by nginx from a file;" ..
                    " events/s on wall time, median of %s alternating runs; the ratios are the" ..
                    " medians of each run's against the floor run next to it",
                    R.stream_events or "?", R.stream_bytes or "?",
                    (num("stream_bytes") or 0) / (num("stream_events") or 1), R.stream_reps or "?"))
print("  events/s per run: library " .. list("lib_stream_eps_reps") .. " | floor " ..
      list("floor_stream_eps_reps") .. "; on CPU time: library " .. (R.lib_stream_cpu_eps or "n/a") ..
      " | floor " .. (R.floor_stream_cpu_eps or "n/a"))
print("  ratio per run: with result() " .. list("stream_ratio_reps") .. " | accumulate=false " ..
      list("stream_flat_ratio_reps"))
print(string.format("stream memory: 1 MB = %s events, Lua heap after the loop %s KiB; 100 MB = %s events," ..
                    " Lua heap %s KiB", R.smem_1mb_events or "?", R.smem_1mb_lua_heap_kib or "?",
                    R.smem_100mb_events or "?", R.smem_100mb_lua_heap_kib or "?"))
print(string.format("soak: %s calls in %s s, RSS (KiB) every 10%%: %s; open fds: %s; outcomes: %s; live after: %s",
                    R.soak_calls or "?", R.soak_seconds or "?", R.soak_rss_kib or "?", R.soak_fds or "?",
                    R.soak_outcomes or "?", R.soak_live or "?"))
print(string.format("host loops: LÖVE %s and Neovim %s on %s, headless; calls driven by %s (LÖVE: once per" ..
                    " frame) and %s (Neovim); the median of each run's worst gap; aims: a frame" ..
                    " gap <= 20 ms, a 50 ms timer late by <= 20 ms", R.love_version or "?", R.nvim_version or "?",
                    R.love_lua or "?", R.love_pump_driver or "?", R.nvim_pump_driver or "?"))
print("  worst gap per run, ms: LÖVE call " .. list("love_pump_call_gap_ms_runs") .. ", stream " ..
      list("love_pump_stream_gap_ms_runs") .. " | Neovim call " .. list("nvim_pump_call_gap_ms_runs") ..
      ", stream " .. list("nvim_pump_stream_gap_ms_runs"))
print("pinning: " .. (R.pinning or "n/a"))
if R.failed and R.failed ~= "" then print("FAILED steps: " .. R.failed) end
print("results: bench/out/results.txt; command: make bench")
