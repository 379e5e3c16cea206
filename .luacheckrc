std = "max"
max_line_length = 120
codes = true
files["spec"] = { std = "+busted", max_line_length = 140 }
files["examples"] = { globals = {} }
exclude_files = { "build" }
