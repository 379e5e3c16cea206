std = "max"
max_line_length = 120
codes = true
files["spec"] = { std = "+busted", max_line_length = 140 }
files["examples"] = { globals = {} }
exclude_files = { "build" }
-- host programs: LÖVE's `love` (its callbacks are set on it), Neovim's `vim`
files["spec/hosts/love"] = { globals = { "love" } }
files["examples/love"] = { globals = { "love" } }
files["spec/hosts/nvim.lua"] = { read_globals = { "vim" } }
files["examples/nvim"] = { read_globals = { "vim" } }
