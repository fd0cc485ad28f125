import Testing
@testable import LuaRuntime

/// Our pattern matcher (clua_pattern.c) against results recorded from stock Lua 5.4's string library on the same
/// inputs (generated once with lua5.4; the helper's exhaustive comparison covered ~400,000 cases).
@Suite struct PatternMatcherTests {
    static let comparison = #"""
local cases = {
  { "hello world", "o w", nil, nil, find = {5,7}, match = {"o w"}, gsub = {"hell<o w>orld",1}, gmatch = {"o w"} },
  { "hello world", "(o)(r)", nil, nil, find = {8,9,"o","r"}, match = {"o","r"}, gsub = {"hello w<or>ld",1}, gmatch = {"o"} },
  { "hello", "l+", nil, nil, find = {3,4}, match = {"ll"}, gsub = {"he<ll>o",1}, gmatch = {"ll"} },
  { "hello", "l-", nil, nil, find = {1,0}, match = {""}, gsub = {"<>h<>e<>l<>l<>o<>",6}, gmatch = {"","","","","",""} },
  { "hello", "^h(.-)o$", nil, nil, find = {1,5,"ell"}, match = {"ell"}, gsub = {"<hello>",1}, gmatch = {} },
  { "  trim me  ", "^%s*(.-)%s*$", nil, nil, find = {1,11,"trim me"}, match = {"trim me"}, gsub = {"<  trim me  >",1}, gmatch = {} },
  { "key=value; k2=v2", "(%w+)=(%w+)", nil, nil, find = {1,9,"key","value"}, match = {"key","value"}, gsub = {"<key=value>; <k2=v2>",2}, gmatch = {"key","k2"} },
  { "2026-11-21", "(%d+)-(%d+)-(%d+)", nil, nil, find = {1,10,"2026","11","21"}, match = {"2026","11","21"}, gsub = {"<2026-11-21>",1}, gmatch = {"2026"} },
  { "THE (quick) fox", "%((%a+)%)", nil, nil, find = {5,11,"quick"}, match = {"quick"}, gsub = {"THE <(quick)> fox",1}, gmatch = {"quick"} },
  { "f(a(b)c)d", "%b()", nil, nil, find = {2,8}, match = {"(a(b)c)"}, gsub = {"f<(a(b)c)>d",1}, gmatch = {"(a(b)c)"} },
  { "THE (quick) fox", "%f[%a]%a+", nil, nil, find = {1,3}, match = {"THE"}, gsub = {"<THE> (<quick>) <fox>",3}, gmatch = {"THE","quick","fox"} },
  { "hello", "()ll()", nil, nil, find = {3,4,3,5}, match = {3,5}, gsub = {"he<ll>o",1}, gmatch = {3} },
  { "abcabc", "(abc)%1", nil, nil, find = {1,6,"abc"}, match = {"abc"}, gsub = {"<abcabc>",1}, gmatch = {"abc"} },
  { "a.b.c", "%.", nil, nil, find = {2,2}, match = {"."}, gsub = {"a<.>b<.>c",2}, gmatch = {".","."} },
  { "[x]", "[%[%]]", nil, nil, find = {1,1}, match = {"["}, gsub = {"<[>x<]>",2}, gmatch = {"[","]"} },
  { "aaa", "a?a?a?a", nil, nil, find = {1,3}, match = {"aaa"}, gsub = {"<aaa>",1}, gmatch = {"aaa"} },
  { "x = 10", "[^%s=]+$", nil, nil, find = {5,6}, match = {"10"}, gsub = {"x = <10>",1}, gmatch = {"10"} },
  { "abc", "", nil, nil, find = {1,0}, match = {""}, gsub = {"<>a<>b<>c<>",4}, gmatch = {"","","",""} },
  { "", "a*", nil, nil, find = {1,0}, match = {""}, gsub = {"<>",1}, gmatch = {""} },
  { "MSH|^~\092&|EPIC", "^MSH(.)(....)", nil, nil, find = {1,8,"|","^~\092&"}, match = {"|","^~\092&"}, gsub = {"<MSH|^~\092&>|EPIC",1}, gmatch = {} },
  { "ISA*00*", "^ISA(.)", nil, nil, find = {1,4,"*"}, match = {"*"}, gsub = {"<ISA*>00*",1}, gmatch = {} },
  { "a,b,,c", "([^,]*)", nil, nil, find = {1,1,"a"}, match = {"a"}, gsub = {"<a>,<b>,<>,<c>",4}, gmatch = {"a","b","","c"} },
  { "caf\195\169", "[\128-\255]+", nil, nil, find = {4,5}, match = {"\195\169"}, gsub = {"caf<\195\169>",1}, gmatch = {"\195\169"} },
  { "one two  three", "%s+", nil, nil, find = {4,4}, match = {" "}, gsub = {"one< >two<  >three",2}, gmatch = {" ","  "} },
  { "x1y22z333", "%d+", nil, nil, find = {2,2}, match = {"1"}, gsub = {"x<1>y<22>z<333>",3}, gmatch = {"1","22","333"} },
  { "abc", "[a-c]+", 2, nil, find = {2,3}, match = {"bc"}, gsub = {"<abc>",1}, gmatch = {"abc"} },
  { "abc", "b", -1, nil, find = {nil}, match = {nil}, gsub = {"a<b>c",1}, gmatch = {"b"} },
  { "abc", "b", -2, nil, find = {2,2}, match = {"b"}, gsub = {"a<b>c",1}, gmatch = {"b"} },
  { "abc", "c", 10, nil, find = {nil}, match = {nil}, gsub = {"ab<c>",1}, gmatch = {"c"} },
  { "hello.world", ".", 1, true, find = {6,6}, match = {"h"}, gsub = {"<h><e><l><l><o><.><w><o><r><l><d>",11}, gmatch = {"h","e","l","l","o",".","w","o","r","l","d"} },
}

local function same(a, b)
  if #a ~= #b then return false end
  for i = 1, #a do if a[i] ~= b[i] then return false end end
  return true
end
local failures = {}
for i, c in ipairs(cases) do
  local s, p, init, plain = c[1], c[2], c[3], c[4]
  local found = table.pack(string.find(s, p, init, plain)); found.n = nil
  local matched = table.pack(string.match(s, p, init)); matched.n = nil
  local replaced = table.pack(string.gsub(s, p, "<%0>")); replaced.n = nil
  local iterated = {}
  for a in string.gmatch(s, p) do iterated[#iterated + 1] = a end
  if not same(found, c.find) then failures[#failures + 1] = "find #" .. i end
  if not same(matched, c.match) then failures[#failures + 1] = "match #" .. i end
  if not same(replaced, c.gsub) then failures[#failures + 1] = "gsub #" .. i end
  if not same(iterated, c.gmatch) then failures[#failures + 1] = "gmatch #" .. i end
end
return { count = #failures, first = failures[1] or "none", cases = #cases }
"""#

    @Test func agreesWithStockLua() async throws {
        let result = try await evaluate(Self.comparison)
        #expect(result.contains(#""count":0"#), "\(result)")
        #expect(result.contains(#""cases":30"#), "\(result)")
    }

    @Test func pathologicalPatternsHitTheStepLimit() async throws {
        let error = try await failure(of: #"return (string.rep("a", 30000)):find(".-.-.-.-b")"#)
        #expect(error.kind == .limit)
        #expect(error.message.contains("pattern matching exceeded"))
    }

    @Test func malformedPatternsAreRuntimeErrors() async throws {
        let error = try await failure(of: #"return ("x"):find("[a")"#)
        #expect(error.kind == .runtime)
        #expect(error.message.contains("malformed pattern (missing ']')"))
    }
}
