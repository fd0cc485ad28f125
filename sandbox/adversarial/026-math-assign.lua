-- expect: permission
-- why: library tables are read-only: replacing math.random (shared with other code of the state) must fail
-- message: read-only

math.random = function() return 4 end
return math.random(1, 6)
