-- expect: ok
-- why: callable objects with a function __call remain an ordinary idiom and must keep working
-- result: 3

local Counter = setmetatable({ n = 0 }, { __call = function(self, step) self.n = self.n + (step or 1); return self.n end })
Counter(2)
Counter()
assert(Counter.n == 3)
return Counter.n
