-- expect: cpu
-- why: an empty numeric for over 1..maxinteger (one FORLOOP instruction per iteration)
-- message: budget

for i = 1, math.maxinteger do end
return "finished"
