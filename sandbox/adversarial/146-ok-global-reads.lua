-- expect: ok
-- why: control: reading allowed globals and _G works; _G is the sandbox env
-- result: ["table",true,"string",true]

return { type(_G), _G.string == string, type(_VERSION), rawequal(_G, _G) }
