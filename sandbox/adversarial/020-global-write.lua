-- expect: permission
-- why: plugins may not create globals
-- message: assignment to global

counter = 1
return counter
