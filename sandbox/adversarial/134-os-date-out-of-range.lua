-- expect: runtime
-- why: os.date of a time that cannot be represented fails cleanly

return os.date("!%c", math.maxinteger)
