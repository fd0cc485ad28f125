-- expect: cpu
-- why: CVE-2025-46817 analogue: table.unpack over mininteger..maxinteger must not overflow; 5.4.4 refuses ('too many results'), the host's charge wrapper charges the range first (cpu). Either way no crash

return select("#", table.unpack({}, math.mininteger, math.maxinteger))
