-- expect: runtime
-- why: a 4 MiB error message must be reported (truncated), not copied unbounded into logs

error(("x"):rep(4 * 1024 * 1024 - 64), 0)
