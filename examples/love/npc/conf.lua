-- examples/love/npc/conf.lua: a small window; no audio, joystick or physics.
function love.conf(t)
  t.identity = "openai-npc-example"
  t.window.title = "openai: a character who speaks as the answer streams"
  t.window.width, t.window.height = 800, 500
  t.modules.audio, t.modules.sound = false, false
  t.modules.joystick, t.modules.physics = false, false
end
