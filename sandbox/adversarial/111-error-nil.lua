-- expect: runtime
-- why: error(nil): the error object is nil

error(nil)
