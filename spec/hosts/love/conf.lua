-- spec/hosts/love/conf.lua: headless. No window, no graphics, no audio or
-- input modules, so LÖVE 11 runs without an X display (checked: DISPLAY
-- unset is fine) and its frames are only love.update calls.
function love.conf(t)
  t.identity = "openai-host-proof"
  t.window = false
  for _, m in ipairs({ "window", "graphics", "audio", "sound", "joystick", "keyboard", "mouse",
                       "touch", "video", "image", "font", "physics" }) do
    t.modules[m] = false
  end
end
