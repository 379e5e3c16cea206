-- examples/love/conf.lua: a plain window; no audio, joystick or physics.
function love.conf(t)
  t.identity = "openai-chat-example"
  t.window.title = "openai: a streamed chat"
  t.window.width, t.window.height = 800, 500
  t.window.resizable = true
  t.modules.audio, t.modules.sound = false, false
  t.modules.joystick, t.modules.physics = false, false
end
