-- expect: ok
-- why: control: os.date('*t') and os.time work
-- result: true

local t = os.date("*t")
return type(t) == "table" and t.year >= 2024 and os.time(t) > 0
