-- expect: cpu
-- why: the simplest runaway: the instruction budget (10M, checked every 1000) must end it
-- message: budget

while true do end
