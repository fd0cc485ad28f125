-- expect: permission
-- why: load with env _G: _G is the sandbox env, so the chunk still cannot see io
-- message: 'io' is not available

local fn = assert(load("return io.open", "=g-env", "t", _G))
return fn() ~= nil
