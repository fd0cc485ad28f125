-- expect: ok
-- why: control: string methods through the (locked) string metatable
-- result: ["HELLO","003.1","a;b;c",2]

return { ("Hello"):upper(), string.format("%05.1f", 3.14159), ("a,b,c"):gsub(",", ";") }
