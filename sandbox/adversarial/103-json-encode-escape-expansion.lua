-- expect: limit
-- why: CVE-2022-24834 analogue: 3 MiB of control bytes escape to 18 MiB of \u0001 sequences; the 8 MiB output limit must hold without size overflow
-- message: json.encode

return #require("json").encode(("\1"):rep(3 * 1024 * 1024))
