-- expect: permission
-- why: rawset on a read-only library proxy must not shadow string.upper (brief: library tables are read-only)

rawset(string, "upper", function() return "hijacked" end)
return string.upper("abc")
