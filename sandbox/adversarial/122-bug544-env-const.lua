-- expect: runtime
-- why: CVE-2022-28805 (wrong code when _ENV is <const>, heap over-read): Debian's 5.4.4-2 carries the fix, so this is an ordinary 'attempt to index a number value'
-- message: index a number value

local _ENV <const> = 12
return anything
