-- expect: limit
-- why: string.rep of 1 TiB must be refused up front (size known before any work)
-- message: string.rep

return #string.rep("x", 2^40)
