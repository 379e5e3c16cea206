std = "max"
max_line_length = 120
codes = true
files["spec"] = { std = "+busted" }
files["examples"] = { globals = {} }
exclude_files = { "build" }
