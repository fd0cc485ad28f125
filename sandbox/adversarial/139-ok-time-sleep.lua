-- expect: ok
-- why: control: time.sleep(1) yields to the host and resumes
-- result: true

return require("time").sleep(1)
