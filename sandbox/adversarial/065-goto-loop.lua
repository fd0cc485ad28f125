-- expect: cpu
-- why: a backward goto with no calls and no for/while: plain jumps must be counted
-- message: budget

::again::
goto again
