-- expect: cpu
-- why: an endless gsub replacement function (called from the host's own matcher)
-- message: budget

return (("abc"):gsub(".", function() while true do end end))
