-- expect: runtime
-- why: error with a plain table object (no metatable)

error({ code = 42, reason = "structured" })
