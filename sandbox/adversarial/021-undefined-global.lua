-- expect: runtime
-- why: reading an unknown (non-standard) name is a plain runtime error naming it
-- message: undefined global

return definitely_not_a_global + 1
