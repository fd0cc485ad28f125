-- expect: permission
-- why: library tables are read-only: assigning string.format must fail
-- message: read-only

string.format = function() return "hijacked" end
return string.format("%d", 1)
