-- expect: permission
-- why: os.execute would run a shell command on the host; os only exposes time/clock/date
-- message: os.execute

return os.execute("id > /tmp/conflux-pwned")
