-- expect: cpu
-- why: an endless table.sort comparator
-- message: budget

table.sort({ 3, 1, 2 }, function(a, b) while true do end end)
return "sorted"
