-- expect: permission
-- why: os.getenv would leak host secrets from the environment (API keys, DB passwords)
-- message: os.getenv

return os.getenv("HOME")
