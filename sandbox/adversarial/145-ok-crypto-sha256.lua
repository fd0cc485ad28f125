-- expect: ok
-- why: control: a host module function (crypto.sha256 of 'abc')
-- result: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

return require("crypto").sha256("abc")
