-- expect: runtime
-- why: os.date validates conversion specifiers (older Luas passed them to strftime)
-- message: invalid conversion specifier

return os.date("%Ez%")
