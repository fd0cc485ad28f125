-- expect: ok
-- why: print of a 1 MiB string goes to the host log: must not crash; the host should cap the logged size
-- result: "logged"

print(("x"):rep(1024 * 1024))
return "logged"
