/*
 * clua_json.c — RFC 8259 JSON <-> Lua values (our own codec; see clua.h for the entry points).
 *
 * Decisions the rest of Conflux relies on:
 *  Decode
 *   - objects -> plain tables with string keys (no metatable); arrays -> sequences 1..n carrying the array marker
 *     metatable (so `[]` re-encodes as `[]`); null -> json.null, a unique light userdata, so keys and positions survive.
 *   - numbers without fraction/exponent that fit int64 -> exact Lua integers (INT64_MIN included); all others -> floats
 *     with strtod semantics (too-large integers become floats, 1e400 becomes inf). "-0" is the integer 0.
 *   - strings fully validated: RFC 8259 escapes, \u surrogate pairs joined into UTF-8, lone surrogates, raw control
 *     characters and invalid UTF-8 (overlongs, encoded surrogates, > U+10FFFF) rejected. \u0000 is allowed, so a
 *     decoded string may contain NUL bytes.
 *   - duplicate keys (compared after unescaping) are an error: two parsers must never disagree on what a message says.
 *   - trailing garbage, a BOM, NaN/Infinity, comments, trailing commas, leading zeros are errors.
 *   - errors read "json.decode: <what> at byte <1-based offset>".
 *  Encode
 *   - output is deterministic: object keys sorted by bytes (memcmp order, a prefix sorts first).
 *   - array marker -> array (must be exactly the keys 1..n; json.null fills holes); object marker -> object (string keys
 *     only); unmarked: empty -> {}, keys exactly 1..n -> array, all strings -> object, anything else is an error naming
 *     the path ($.a.b[3], $["x y"]; indices are Lua's, 1-based). nil at top level encodes as null.
 *   - integers exact; floats shortest of %.15g/%.16g/%.17g that round-trips, integral floats keep ".0" so they decode as
 *     floats again; NaN/inf, invalid UTF-8, functions, userdata (except json.null), threads are errors.
 *   - raw access only (lua_next / lua_rawget*): no metamethod ever runs, so encode cannot re-enter Lua.
 *  Limits: limits.json_bytes bounds input and output size, limits.json_depth the nesting (cycles end there). A hard cap
 *  of JSON_HARD_DEPTH protects the C stack even with limits off. Exceeding any of them raises a CLUA_FAULT_LIMIT fault.
 *  Markers: the array/object metatables live in the registry of each state and carry __metatable, so plugins can neither
 *  fetch nor edit them (getmetatable returns "json.array"; setmetatable on a marked table fails). json.array/json.object
 *  refuse a table with a foreign metatable: lua_setmetatable ignores __metatable, so allowing it would let a plugin
 *  strip the protection from a host-provided read-only proxy.
 */
#include "clua.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <locale.h>

#define JSON_HARD_DEPTH 1000   /* ~0.2 KB of C stack per level in decode and encode */
#define BATCH 256              /* members of one container collected on the Lua stack before it is built */
#define KEEP_MAX 4096          /* values kept on the Lua stack per object while its keys are sorted */
#define CACHE_MAX 16384        /* encode buffers up to this size are kept for the next encode of the state */
#define NORETURN __attribute__((noreturn))   /* lua_error never returns; tell the compiler */

/* Distinct addresses: &null_tag is the json.null sentinel; the others are registry keys (markers, encode buffers). */
static char null_tag, array_mt_key, object_mt_key, buf_key, rec_key;

/* Bytes that are copied verbatim in both directions: printable ASCII except '"' and '\\'. */
static const unsigned char plain[256] = {
    [0x20 ... 0x21] = 1, [0x23 ... 0x5B] = 1, [0x5D ... 0x7F] = 1,
};

static const double pow10tab[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static void get_limits(lua_State *L, size_t *bytes, int *depth) {
    clua_sandbox *sb = clua_sandbox_of(L);
    *bytes = 0;
    *depth = JSON_HARD_DEPTH;
    if (sb && sb->enabled) {
        *bytes = sb->limits.json_bytes;
        if (sb->limits.json_depth > 0 && sb->limits.json_depth < JSON_HARD_DEPTH) *depth = sb->limits.json_depth;
    }
}

/* Pushes the marker metatable stored in the registry under key, creating it on first use. */
static void push_marker(lua_State *L, void *key, const char *name) {
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, key) == LUA_TTABLE) return;
    lua_pop(L, 1);
    lua_createtable(L, 0, 1);
    lua_pushstring(L, name);
    lua_setfield(L, -2, "__metatable");
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, key);
}

/* Index of marker `up` (2 = array, 3 = object): the upvalue when this closure has it, else pushed from the registry. */
static int marker_index(lua_State *L, int up) {
    if (lua_type(L, lua_upvalueindex(up)) == LUA_TTABLE) return lua_upvalueindex(up);
    push_marker(L, up == 2 ? &array_mt_key : &object_mt_key, up == 2 ? "json.array" : "json.object");
    return lua_gettop(L);
}

static void *upvalue_null(lua_State *L) {
    void *p = lua_touserdata(L, lua_upvalueindex(1));
    return p ? p : &null_tag;
}

/* Length of the valid UTF-8 sequence starting at p (lead byte >= 0x80), or 0 if it is not well-formed. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *e) {
    unsigned c = p[0], lo = 0x80, hi = 0xBF;
    size_t n, i;
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c >= 0xE0 && c <= 0xEF) { n = 3; if (c == 0xE0) lo = 0xA0; else if (c == 0xED) hi = 0x9F; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 4; if (c == 0xF0) lo = 0x90; else if (c == 0xF4) hi = 0x8F; }
    else return 0;   /* continuation byte, overlong lead C0/C1, or beyond U+10FFFF */
    if ((size_t)(e - p) < n || p[1] < lo || p[1] > hi) return 0;
    for (i = 2; i < n; i++)
        if ((p[i] & 0xC0) != 0x80) return 0;
    return n;
}

/* =================================================================================================================
 * Decode
 * =============================================================================================================== */
typedef struct dec {
    lua_State *L;
    const unsigned char *s, *p, *end;
    void *null;
    int depth, maxdepth;
    int amt;              /* stack index of the array marker */
    int scratch;          /* stack index of the scratch userdata (unescaped strings, long numbers) */
    unsigned char *sbuf;
    size_t scap;
} dec;

static NORETURN void dec_fail(dec *d, const unsigned char *at, const char *what) {
    lua_pushfstring(d->L, "json.decode: %s at byte %I", what, (lua_Integer)(at - d->s + 1));
    lua_error(d->L);
    __builtin_unreachable();
}

/* The error for a byte that cannot start/continue what we expected. */
static NORETURN void dec_unexpected(dec *d, const unsigned char *at) {
    char what[40];
    if (at >= d->end) dec_fail(d, at, "unexpected end of input");
    if (*at > 0x20 && *at < 0x7F) snprintf(what, sizeof what, "unexpected character '%c'", *at);
    else snprintf(what, sizeof what, "unexpected byte 0x%02X", *at);
    dec_fail(d, at, what);
}

/* First byte at or after p that is not plain (or e), testing 8 bytes at a time: most strings have nothing to do. */
static inline const unsigned char *scan_plain(const unsigned char *p, const unsigned char *e) {
    const uint64_t ones = 0x0101010101010101ull;
    uint64_t x, q, b;
    while (e - p >= 8) {
        memcpy(&x, p, 8);
        q = x ^ (ones * '"');
        b = x ^ (ones * '\\');
        /* a byte < 0x20, == '"', == '\\' or >= 0x80 sets its high bit (classic "has zero/less" bit tricks) */
        if ((((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b) | x) & (ones * 0x80)) break;
        p += 8;
    }
    while (p < e && plain[*p]) p++;
    return p;
}

static inline const unsigned char *skip_ws(const unsigned char *p, const unsigned char *e) {
    while (p < e && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
    return p;
}

/* Makes the scratch buffer hold at least `need` bytes, keeping the first `used`. Lua memory: counted and collected. */
static void scratch_reserve(dec *d, size_t used, size_t need) {
    size_t cap = d->scap ? d->scap : 256;
    unsigned char *nb;
    if (need <= d->scap) return;
    while (cap < need) cap *= 2;
    nb = lua_newuserdatauv(d->L, cap, 0);
    if (used) memcpy(nb, d->sbuf, used);
    lua_replace(d->L, d->scratch);
    d->sbuf = nb;
    d->scap = cap;
}

static int hex4(const unsigned char *p) {
    int v = 0, i;
    for (i = 0; i < 4; i++) {
        int c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= c - '0';
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') v |= (c | 0x20) - 'a' + 10;
        else return -1;
    }
    return v;
}

/* Decodes the escape at q (a backslash) into scratch at *w (room for 4 bytes is reserved); returns the next byte. */
static const unsigned char *dec_escape(dec *d, const unsigned char *q, size_t *w) {
    unsigned char *o = d->sbuf + *w;
    long cp, lo;
    if (d->end - q < 2) dec_fail(d, d->p, "unterminated string");
    switch (q[1]) {
    case '"': *o = '"'; break;
    case '\\': *o = '\\'; break;
    case '/': *o = '/'; break;
    case 'b': *o = '\b'; break;
    case 'f': *o = '\f'; break;
    case 'n': *o = '\n'; break;
    case 'r': *o = '\r'; break;
    case 't': *o = '\t'; break;
    case 'u':
        if (d->end - q < 6 || (cp = hex4(q + 2)) < 0) dec_fail(d, q, "invalid \\u escape");
        q += 6;
        if (cp >= 0xDC00 && cp <= 0xDFFF) dec_fail(d, q - 6, "lone surrogate in \\u escape");
        if (cp >= 0xD800 && cp <= 0xDBFF) {   /* must be followed by a low surrogate escape */
            if (d->end - q < 6 || q[0] != '\\' || q[1] != 'u' || (lo = hex4(q + 2)) < 0xDC00 || lo > 0xDFFF)
                dec_fail(d, q - 6, "lone surrogate in \\u escape");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            q += 6;
        }
        if (cp < 0x80) { o[0] = (unsigned char)cp; *w += 1; }
        else if (cp < 0x800) { o[0] = 0xC0 | cp >> 6; o[1] = 0x80 | (cp & 0x3F); *w += 2; }
        else if (cp < 0x10000) {
            o[0] = 0xE0 | cp >> 12; o[1] = 0x80 | ((cp >> 6) & 0x3F); o[2] = 0x80 | (cp & 0x3F); *w += 3;
        } else {
            o[0] = 0xF0 | cp >> 18; o[1] = 0x80 | ((cp >> 12) & 0x3F);
            o[2] = 0x80 | ((cp >> 6) & 0x3F); o[3] = 0x80 | (cp & 0x3F); *w += 4;
        }
        return q;
    default: dec_fail(d, q, "invalid escape");
    }
    *w += 1;
    return q + 2;
}

/* d->p is at the opening quote. Strings without escapes are pushed straight from the input (no copy). */
static void dec_string(dec *d) {
    const unsigned char *q = d->p + 1, *e = d->end, *run = q;
    size_t w = 0, n;
    int escaped = 0;
    for (;;) {
        q = scan_plain(q, e);
        if (q >= e) dec_fail(d, d->p, "unterminated string");
        if (*q == '"') break;
        if (*q >= 0x80) {
            if (!(n = utf8_seq(q, e))) dec_fail(d, q, "invalid UTF-8 in string");
            q += n;
            continue;
        }
        if (*q < 0x20) dec_fail(d, q, "control character in string");
        /* backslash: move the plain run behind us into scratch, then the decoded escape */
        n = (size_t)(q - run);
        scratch_reserve(d, w, w + n + 4);
        memcpy(d->sbuf + w, run, n);
        w += n;
        q = run = dec_escape(d, q, &w);
        escaped = 1;
    }
    if (!escaped) lua_pushlstring(d->L, (const char *)run, (size_t)(q - run));
    else {
        n = (size_t)(q - run);
        scratch_reserve(d, w, w + n);
        memcpy(d->sbuf + w, run, n);
        lua_pushlstring(d->L, (const char *)d->sbuf, w + n);
    }
    d->p = q + 1;
}

static void dec_number(dec *d) {
    const unsigned char *start = d->p, *p = start, *e = d->end;
    uint64_t m = 0;
    int neg = 0, nd = 0, lossy = 0, isfloat = 0;
    long scale = 0, ex = 0;
    double v;
    if (*p == '-') { neg = 1; p++; }
    if (p >= e || *p < '0' || *p > '9') dec_fail(d, start, "invalid number");
    if (*p == '0') {
        if (++p < e && *p >= '0' && *p <= '9') dec_fail(d, start, "invalid number (leading zero)");
    } else {
        for (; p < e && *p >= '0' && *p <= '9'; p++) {
            if (nd < 19) { m = m * 10 + (*p - '0'); nd++; } else { lossy = 1; scale++; }
        }
    }
    if (p < e && *p == '.') {
        isfloat = 1;
        if (++p >= e || *p < '0' || *p > '9') dec_fail(d, start, "invalid number");
        for (; p < e && *p >= '0' && *p <= '9'; p++) {
            if (m == 0 && *p == '0') scale--;   /* leading zeros of the fraction are not significant */
            else if (nd < 19) { m = m * 10 + (*p - '0'); nd++; scale--; }
            else lossy = 1;
        }
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        int eneg = 0;
        isfloat = 1;
        if (++p < e && (*p == '+' || *p == '-')) eneg = *p++ == '-';
        if (p >= e || *p < '0' || *p > '9') dec_fail(d, start, "invalid number");
        for (; p < e && *p >= '0' && *p <= '9'; p++)
            if (ex < 100000) ex = ex * 10 + (*p - '0');
        scale += eneg ? -ex : ex;
    }
    d->p = p;
    if (!isfloat && !lossy && m <= (uint64_t)INT64_MAX + neg) {
        lua_pushinteger(d->L, neg ? (lua_Integer)(0 - m) : (lua_Integer)m);
        return;
    }
    if (!lossy && m <= (1ull << 53) && scale >= -22 && scale <= 22) {
        /* m and 10^|scale| are exact doubles, so one IEEE operation rounds correctly (Clinger's fast path) */
        v = scale < 0 ? (double)m / pow10tab[-scale] : (double)m * pow10tab[scale];
    } else {
        /* strtod on a NUL-terminated copy, with the locale's decimal point as Lua itself does */
        size_t len = (size_t)(p - start), i;
        char tmp[64], *c = tmp, point = lua_getlocaledecpoint();
        if (len >= sizeof tmp) { scratch_reserve(d, 0, len + 1); c = (char *)d->sbuf; }
        memcpy(c, start, len);
        c[len] = 0;
        if (point != '.')
            for (i = 0; i < len; i++) if (c[i] == '.') c[i] = point;
        lua_pushnumber(d->L, strtod(c, NULL));
        return;
    }
    lua_pushnumber(d->L, neg ? -v : v);
}

static void dec_value(dec *d);

static void dec_enter(dec *d) {
    if (++d->depth > d->maxdepth) {
        char msg[96];
        snprintf(msg, sizeof msg, "json.decode: nesting deeper than %d at byte %lld", d->maxdepth,
                 (long long)(d->p - d->s + 1));
        clua_raise_fault(d->L, CLUA_FAULT_LIMIT, "%s", msg);
    }
    if (!lua_checkstack(d->L, 4)) dec_fail(d, d->p, "Lua stack exhausted");
}

/* Raises the duplicate-key error for the key at stack index key, at its second occurrence in the object opened at
 * `open`: the members are parsed again (they parsed before, so nothing else can fail) to find that offset. */
static NORETURN void dec_duplicate(dec *d, const unsigned char *open, int key) {
    lua_State *L = d->L;
    const unsigned char *at;
    size_t kl, i;
    const unsigned char *k = (const unsigned char *)lua_tolstring(L, key, &kl);
    int seen = 0, show = kl <= 64;   /* name the key only when it is short printable ASCII */
    for (i = 0; i < kl && show; i++) show = plain[k[i]] && k[i] != 0x7F;
    key = lua_absindex(L, key);
    luaL_checkstack(L, 4, "json.decode");
    for (d->p = open + 1;; d->p = skip_ws(d->p, d->end) + 1) {   /* at the key, then past ':' or ',' */
        d->p = at = skip_ws(d->p, d->end);
        dec_string(d);
        if (lua_rawequal(L, -1, key) && seen++) break;
        d->p = skip_ws(d->p, d->end) + 1;
        dec_value(d);
        lua_pop(L, 2);
    }
    lua_pushfstring(L, show ? "duplicate key \"%s\"" : "duplicate key", (const char *)k);
    dec_fail(d, at, lua_tostring(L, -1));
}

/* Containers are first collected on the Lua stack above a placeholder at `base` (up to BATCH members, while the stack
 * can grow), then built in one go with exact sizes: no rehash while the table fills. Longer ones continue in place. */
static void dec_build(dec *d, int base, int n, int object, const unsigned char *open) {
    lua_State *L = d->L;
    if (object) {
        lua_createtable(L, 0, n);
        lua_replace(L, base);
        for (; n > 0; n--) {   /* pairs are popped from the top: last member first */
            lua_pushvalue(L, -2);
            if (lua_rawget(L, base) != LUA_TNIL) dec_duplicate(d, open, -3);
            lua_pop(L, 1);
            lua_rawset(L, base);
        }
    } else {
        lua_createtable(L, n, 0);
        lua_replace(L, base);
        for (; n > 0; n--) lua_rawseti(L, base, n);
    }
}

static void dec_object(dec *d) {
    lua_State *L = d->L;
    const unsigned char *open = d->p, *p, *e = d->end;
    int base, n = 0, built = 0;
    dec_enter(d);
    lua_pushnil(L);
    base = lua_gettop(L);
    p = skip_ws(open + 1, e);
    if (p < e && *p == '}') p++;
    else for (;;) {
        if (p >= e || *p != '"') {
            if (p >= e) dec_unexpected(d, p);
            dec_fail(d, p, "expected string key");
        }
        if (!built && (n == BATCH || !lua_checkstack(L, 4))) { dec_build(d, base, n, 1, open); built = 1; }
        d->p = p;
        dec_string(d);
        if (built) {   /* one lookup per key buys parser-differential safety */
            lua_pushvalue(L, -1);
            if (lua_rawget(L, base) != LUA_TNIL) dec_duplicate(d, open, -2);
            lua_pop(L, 1);
        }
        p = skip_ws(d->p, e);
        if (p >= e || *p != ':') { if (p >= e) dec_unexpected(d, p); dec_fail(d, p, "expected ':'"); }
        d->p = p + 1;
        dec_value(d);
        if (built) lua_rawset(L, base); else n++;
        p = skip_ws(d->p, e);
        if (p < e && *p == ',') { p = skip_ws(p + 1, e); continue; }
        if (p < e && *p == '}') { p++; break; }
        if (p >= e) dec_unexpected(d, p);
        dec_fail(d, p, "expected ',' or '}'");
    }
    if (!built) dec_build(d, base, n, 1, open);
    d->p = p;
    d->depth--;
}

static void dec_array(dec *d) {
    lua_State *L = d->L;
    const unsigned char *p, *e = d->end;
    int base, n = 0, built = 0;
    dec_enter(d);
    lua_pushnil(L);
    base = lua_gettop(L);
    p = skip_ws(d->p + 1, e);
    if (p < e && *p == ']') p++;
    else for (;;) {
        if (!built && (n == BATCH || !lua_checkstack(L, 3))) { dec_build(d, base, n, 0, NULL); built = 1; }
        d->p = p;
        dec_value(d);
        if (built) lua_rawseti(L, base, ++n); else n++;
        p = skip_ws(d->p, e);
        if (p < e && *p == ',') { p++; continue; }
        if (p < e && *p == ']') { p++; break; }
        if (p >= e) dec_unexpected(d, p);
        dec_fail(d, p, "expected ',' or ']'");
    }
    if (!built) dec_build(d, base, n, 0, NULL);
    lua_pushvalue(L, d->amt);
    lua_setmetatable(L, base);
    d->p = p;
    d->depth--;
}

static void dec_literal(dec *d, const char *lit, size_t n) {
    if ((size_t)(d->end - d->p) < n || memcmp(d->p, lit, n) != 0) dec_unexpected(d, d->p);
    d->p += n;
}

static void dec_value(dec *d) {
    const unsigned char *p = skip_ws(d->p, d->end);
    d->p = p;
    if (p >= d->end) dec_unexpected(d, p);
    switch (*p) {
    case '{': dec_object(d); break;
    case '[': dec_array(d); break;
    case '"': dec_string(d); break;
    case 't': dec_literal(d, "true", 4); lua_pushboolean(d->L, 1); break;
    case 'f': dec_literal(d, "false", 5); lua_pushboolean(d->L, 0); break;
    case 'n': dec_literal(d, "null", 4); lua_pushlightuserdata(d->L, d->null); break;
    case '-': case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': case '8': case '9':
        dec_number(d);
        break;
    default: dec_unexpected(d, p);
    }
}

/* Decodes s[0..len) and pushes the value (plus one scratch slot below it, which callers may ignore: they return 1). */
static void decode_core(lua_State *L, const char *s, size_t len, void *null, int amt) {
    dec d;
    size_t maxbytes;
    get_limits(L, &maxbytes, &d.maxdepth);
    if (maxbytes && len > maxbytes) {
        char msg[96];
        snprintf(msg, sizeof msg, "json.decode: input larger than %zu bytes", maxbytes);
        clua_raise_fault(L, CLUA_FAULT_LIMIT, "%s", msg);
    }
    d.L = L;
    d.s = d.p = (const unsigned char *)s;
    d.end = d.s + len;
    d.null = null;
    d.depth = 0;
    d.amt = amt;
    d.sbuf = NULL;
    d.scap = 0;
    lua_pushnil(L);
    d.scratch = lua_gettop(L);
    if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) dec_fail(&d, d.s, "byte order mark not allowed");
    dec_value(&d);
    d.p = skip_ws(d.p, d.end);
    if (d.p < d.end) dec_fail(&d, d.p, "trailing garbage");
}

int clua_json_decode(lua_State *L) {
    size_t len;
    const char *s;
    int amt;
    luaL_checktype(L, 1, LUA_TSTRING);
    lua_settop(L, 1);
    s = lua_tolstring(L, 1, &len);
    amt = marker_index(L, 2);
    decode_core(L, s, len, upvalue_null(L), amt);
    return 1;
}

typedef struct { const char *s; size_t n; } bytes_arg;

static int decode_bytes_k(lua_State *L) {
    const bytes_arg *a = lua_touserdata(L, 1);
    push_marker(L, &array_mt_key, "json.array");
    decode_core(L, a->s, a->n, &null_tag, lua_gettop(L));
    return 1;
}

int clua_json_decode_bytes(lua_State *L, const char *bytes, size_t len) {
    bytes_arg a;
    a.s = bytes;
    a.n = len;
    if (!lua_checkstack(L, 3)) return LUA_ERRMEM;   /* nothing pushed: the stack cannot grow */
    lua_pushcfunction(L, decode_bytes_k);
    lua_pushlightuserdata(L, &a);
    return lua_pcall(L, 1, 1, 0);
}

/* =================================================================================================================
 * Encode
 * =============================================================================================================== */
typedef struct keyrec {
    uint64_t pre;       /* first 8 key bytes, big-endian, zero padded: most comparisons end here */
    const char *s;      /* the key string (kept alive by the table being encoded) */
    size_t len;
    int slot;           /* stack index of the value, or 0: look it up again with rawget */
} keyrec;

typedef struct path {   /* one step of the path to the current value, linked towards the root ($) */
    const struct path *up;
    const char *key;    /* NULL: array index */
    size_t klen;
    lua_Integer idx;
} path;

typedef struct enc {
    lua_State *L;
    char *b;            /* output buffer: userdata at stack index bidx */
    size_t n, cap;
    int bidx;
    keyrec *r;          /* key records of all objects being encoded (a stack): userdata at ridx */
    size_t rn, rcap;
    int ridx;
    size_t maxbytes;
    int depth, maxdepth;
    void *null;
    const void *amt, *omt;
} enc;

static void path_add(luaL_Buffer *B, const path *pe) {
    const unsigned char *k;
    size_t i, m;
    int ident;
    if (!pe->up) { luaL_addchar(B, '$'); return; }
    path_add(B, pe->up);
    if (!pe->key) {
        lua_pushfstring(B->L, "[%I]", pe->idx);
        luaL_addvalue(B);
        return;
    }
    k = (const unsigned char *)pe->key;
    ident = pe->klen > 0 && !(k[0] >= '0' && k[0] <= '9');
    for (i = 0; i < pe->klen && ident; i++)
        ident = (unsigned)((k[i] | 0x20) - 'a') < 26u || (k[i] >= '0' && k[i] <= '9') || k[i] == '_';
    if (ident) { luaL_addchar(B, '.'); luaL_addlstring(B, pe->key, pe->klen); return; }
    luaL_addstring(B, "[\"");
    for (i = 0; i < pe->klen; i += m) {   /* readable and valid UTF-8: bad bytes become \xHH */
        m = 1;
        if (k[i] == '"' || k[i] == '\\') { luaL_addchar(B, '\\'); luaL_addchar(B, (char)k[i]); }
        else if (plain[k[i]] && k[i] != 0x7F) luaL_addchar(B, (char)k[i]);
        else if (k[i] >= 0x80 && (m = utf8_seq(k + i, k + pe->klen)) != 0) luaL_addlstring(B, (const char *)k + i, m);
        else { char hx[8]; m = 1; snprintf(hx, sizeof hx, "\\x%02X", k[i]); luaL_addstring(B, hx); }
    }
    luaL_addstring(B, "\"]");
}

/* Raises "json.encode: <pre> at <path><post>"; a CLUA_FAULT_LIMIT fault when fault is set. */
static NORETURN void enc_fail(enc *e, const path *pe, int fault, const char *pre, const char *post) {
    lua_State *L = e->L;
    luaL_Buffer B;
    const char *ps, *msg;
    size_t pl;
    luaL_checkstack(L, 8, "json.encode");
    luaL_buffinit(L, &B);
    path_add(&B, pe);
    luaL_pushresult(&B);
    ps = lua_tolstring(L, -1, &pl);
    if (pl > 240) {   /* cycles make huge paths: keep both ends, cut on UTF-8 boundaries */
        size_t a = 100, z = pl - 100;
        while (a > 0 && (ps[a] & 0xC0) == 0x80) a--;
        while (z < pl && (ps[z] & 0xC0) == 0x80) z++;
        lua_pushlstring(L, ps, a);
        lua_pushliteral(L, "...");
        lua_pushlstring(L, ps + z, pl - z);
        lua_concat(L, 3);
        ps = lua_tostring(L, -1);
    }
    msg = lua_pushfstring(L, "json.encode: %s at %s%s", pre, ps, post);
    if (fault) clua_raise_fault(L, CLUA_FAULT_LIMIT, "%s", msg);
    lua_error(L);
    __builtin_unreachable();
}

static void enc_grow(enc *e, size_t k) {
    size_t want = e->n + k, cap = e->cap * 2;
    char *nb;
    if (e->maxbytes && want > e->maxbytes) {
        char msg[96];
        snprintf(msg, sizeof msg, "json.encode: output larger than %zu bytes", e->maxbytes);
        clua_raise_fault(e->L, CLUA_FAULT_LIMIT, "%s", msg);
    }
    if (cap < want) cap = want;
    if (e->maxbytes && cap > e->maxbytes) cap = e->maxbytes;
    nb = lua_newuserdatauv(e->L, cap, 0);
    memcpy(nb, e->b, e->n);
    lua_replace(e->L, e->bidx);
    e->b = nb;
    e->cap = cap;
}

static inline void enc_put(enc *e, const char *s, size_t k) {
    if (e->cap - e->n < k) enc_grow(e, k);
    memcpy(e->b + e->n, s, k);
    e->n += k;
}

static inline void enc_char(enc *e, char c) {
    if (e->cap == e->n) enc_grow(e, 1);
    e->b[e->n++] = c;
}

static void enc_string(enc *e, const char *str, size_t len, const path *pe, int key) {
    const unsigned char *p = (const unsigned char *)str, *end = p + len, *run = p;
    size_t m;
    if ((p = scan_plain(p, end)) == end) {   /* nothing to escape or validate: one copy */
        if (e->cap - e->n < len + 2) enc_grow(e, len + 2);
        e->b[e->n] = '"';
        memcpy(e->b + e->n + 1, str, len);
        e->b[e->n + len + 1] = '"';
        e->n += len + 2;
        return;
    }
    enc_char(e, '"');
    for (; p < end; p = scan_plain(p, end)) {
        if (*p >= 0x80) {
            if (!(m = utf8_seq(p, end))) enc_fail(e, pe, 0, key ? "invalid UTF-8 in object key" : "invalid UTF-8 in string", "");
            p += m;
            continue;
        }
        enc_put(e, (const char *)run, (size_t)(p - run));
        switch (*p) {
        case '"': enc_put(e, "\\\"", 2); break;
        case '\\': enc_put(e, "\\\\", 2); break;
        case '\n': enc_put(e, "\\n", 2); break;
        case '\r': enc_put(e, "\\r", 2); break;
        case '\t': enc_put(e, "\\t", 2); break;
        case '\b': enc_put(e, "\\b", 2); break;
        case '\f': enc_put(e, "\\f", 2); break;
        default: {
            char u[7] = {'\\', 'u', '0', '0', "0123456789abcdef"[*p >> 4], "0123456789abcdef"[*p & 15], 0};
            enc_put(e, u, 6);
        }
        }
        run = ++p;
    }
    enc_put(e, (const char *)run, (size_t)(p - run));
    enc_char(e, '"');
}

static void enc_int(enc *e, lua_Integer v, const char *suffix) {
    char tmp[32], *q = tmp + 24;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    size_t sl = strlen(suffix);
    memcpy(tmp + 24, suffix, sl);
    do { *--q = (char)('0' + u % 10); u /= 10; } while (u);
    if (v < 0) *--q = '-';
    enc_put(e, q, (size_t)(tmp + 24 + sl - q));
}

/* Fixed notation with the fewest decimals k that reads back as v, when that needs at most 15 significant digits and
 * 1e-4 <= |v| < 1e15: then it is exactly what %.15g prints, found without printf/strtod. Returns 0 otherwise. */
static int float_fast(char *out, double v) {
    double a = fabs(v), r = 0;
    char dig[24];
    int k, nd = 0, len = 0;
    uint64_t u;
    if (!(a >= 1e-4 && a < 1e15)) return 0;
    for (k = 1; k <= 15; k++) {
        r = nearbyint(a * pow10tab[k]);
        if (r >= 1e15) return 0;
        if (r / pow10tab[k] == a) break;   /* r and 10^k are exact, so this division is the strtod of "r e-k" */
    }
    if (k > 15) return 0;
    for (u = (uint64_t)r; u; u /= 10) dig[nd++] = (char)('0' + u % 10);
    if (v < 0) out[len++] = '-';
    if (nd <= k) {
        out[len++] = '0';
        out[len++] = '.';
        while (nd < k--) out[len++] = '0';
        while (nd) out[len++] = dig[--nd];
    } else {
        while (nd > k) out[len++] = dig[--nd];
        out[len++] = '.';
        while (nd) out[len++] = dig[--nd];
    }
    return len;
}

static void enc_float(enc *e, double v, const path *pe) {
    char tmp[48], point;
    int len = 0, prec, i, plainint = 1;
    if (isnan(v)) enc_fail(e, pe, 0, "cannot encode NaN", "");
    if (isinf(v)) enc_fail(e, pe, 0, "cannot encode infinity", "");
    if (v == floor(v) && fabs(v) < 1e15) {   /* integral: exact as int64, ".0" keeps it a float */
        if (v == 0 && signbit(v)) enc_put(e, "-0.0", 4);
        else enc_int(e, (lua_Integer)v, ".0");
        return;
    }
    if ((len = float_fast(tmp, v)) != 0) { enc_put(e, tmp, (size_t)len); return; }
    for (prec = 15; prec <= 17; prec++) {
        len = snprintf(tmp, sizeof tmp - 2, "%.*g", prec, v);
        if (strtod(tmp, NULL) == v) break;
    }
    point = lua_getlocaledecpoint();
    for (i = 0; i < len; i++) {
        if (tmp[i] == point) tmp[i] = '.';
        if (tmp[i] == '.' || tmp[i] == 'e') plainint = 0;
    }
    if (plainint) { tmp[len++] = '.'; tmp[len++] = '0'; }
    enc_put(e, tmp, (size_t)len);
}

static inline int key_less(const keyrec *a, const keyrec *b) {
    int c;
    if (a->pre != b->pre) return a->pre < b->pre;
    c = memcmp(a->s, b->s, a->len < b->len ? a->len : b->len);
    return c < 0 || (c == 0 && a->len < b->len);
}

static int key_cmp(const void *a, const void *b) {
    return key_less(a, b) ? -1 : key_less(b, a);
}

static void sort_keys(keyrec *r, size_t n) {
    size_t i, lo, hi, mid;
    if (n > 64) { qsort(r, n, sizeof *r, key_cmp); return; }
    for (i = 1; i < n; i++) {   /* binary insertion: few comparisons, one memmove, no allocation */
        keyrec t = r[i];
        for (lo = 0, hi = i; lo < hi;) {
            mid = (lo + hi) / 2;
            if (key_less(&t, &r[mid])) hi = mid; else lo = mid + 1;
        }
        if (lo < i) { memmove(r + lo + 1, r + lo, (i - lo) * sizeof *r); r[lo] = t; }
    }
}

static void add_keyrec(enc *e, const char *s, size_t len, int slot) {
    keyrec *k;
    uint64_t pre = 0;
    size_t i;
    if (e->rn == e->rcap) {   /* grow the record stack (Lua memory; the old block is left to the collector) */
        size_t cap = e->rcap ? e->rcap * 2 : 64;
        keyrec *nr = lua_newuserdatauv(e->L, cap * sizeof *nr, 0);
        if (e->rn) memcpy(nr, e->r, e->rn * sizeof *nr);
        lua_replace(e->L, e->ridx);
        e->r = nr;
        e->rcap = cap;
    }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (len >= 8) { memcpy(&pre, s, 8); pre = __builtin_bswap64(pre); } else
#endif
    for (i = 0; i < 8 && i < len; i++) pre |= (uint64_t)(unsigned char)s[i] << (56 - 8 * i);
    k = &e->r[e->rn++];
    k->pre = pre;
    k->s = s;
    k->len = len;
    k->slot = slot;
}

static void enc_value(enc *e, int idx, const path *pe);

/* Encodes the table at absolute index t. */
static void enc_table(enc *e, int t, const path *pe) {
    lua_State *L = e->L;
    int kind = 0, top = lua_gettop(L);   /* kind: 0 unmarked, 1 array marker, 2 object marker */
    size_t base = e->rn, cnt, i;
    lua_Integer count = 0, max = 0;
    int ints = 0, slot = top + 1, room = 0;
    path child;
    if (++e->depth > e->maxdepth) {
        char pre[64];
        snprintf(pre, sizeof pre, "nesting deeper than %d", e->maxdepth);
        enc_fail(e, pe, 1, pre, "");
    }
    if (!lua_checkstack(L, 6)) enc_fail(e, pe, 0, "Lua stack exhausted", "");
    if (lua_getmetatable(L, t)) {
        const void *mt = lua_topointer(L, -1);
        kind = mt == e->amt ? 1 : mt == e->omt ? 2 : 0;
        lua_pop(L, 1);
    }
    /* One raw traversal classifies the keys; string keys are recorded with their values kept on the stack. */
    lua_pushnil(L);
    while (lua_next(L, t)) {   /* the key is at slot, its value at slot + 1 */
        int kt = lua_type(L, -2);
        if (kt == LUA_TSTRING) {
            size_t kl;
            const char *ks;
            if (kind == 1) enc_fail(e, pe, 0, "cannot encode array", ": string key in a json.array table");
            if (ints) enc_fail(e, pe, 0, "cannot encode table", ": mixed integer and string keys");
            ks = lua_tolstring(L, -2, &kl);
            if (room < 2 && e->rn - base < KEEP_MAX && lua_checkstack(L, 66)) room = 64;   /* checked in bulk */
            if (room >= 2) {
                add_keyrec(e, ks, kl, ++slot);
                lua_pushvalue(L, -2);   /* [k v k]: v stays, the copy of k drives lua_next */
                slot++;
                room -= 2;
            } else {
                add_keyrec(e, ks, kl, 0);
                lua_pop(L, 1);
            }
        } else if (kt == LUA_TNUMBER && lua_isinteger(L, -2)) {
            lua_Integer k = lua_tointeger(L, -2);
            if (kind == 2) enc_fail(e, pe, 0, "cannot encode object", ": integer key in a json.object table");
            if (e->rn > base) enc_fail(e, pe, 0, "cannot encode table", ": mixed integer and string keys");
            if (k < 1) enc_fail(e, pe, 0, "cannot encode table", ": integer keys are not a sequence 1..n");
            ints = 1;
            count++;
            if (k > max) max = k;
            lua_pop(L, 1);
        } else {
            const char *what = kt == LUA_TNUMBER ? ": non-integer number key" : lua_pushfstring(L, ": %s key", luaL_typename(L, -2));
            enc_fail(e, pe, 0, "cannot encode table", what);
        }
    }
    child.up = pe;
    if (ints || kind == 1) {
        /* distinct keys, all >= 1, as many as the largest: exactly 1..n */
        if (count != max) enc_fail(e, pe, 0, "cannot encode table", ": integer keys are not a sequence 1..n");
        child.key = NULL;
        child.klen = 0;
        enc_char(e, '[');
        for (child.idx = 1; child.idx <= max; child.idx++) {
            if (child.idx > 1) enc_char(e, ',');
            lua_rawgeti(L, t, child.idx);
            enc_value(e, lua_gettop(L), &child);
            lua_pop(L, 1);
        }
        enc_char(e, ']');
    } else if ((cnt = e->rn - base) == 0) {
        enc_put(e, "{}", 2);
    } else {
        sort_keys(e->r + base, cnt);
        enc_char(e, '{');
        for (i = 0; i < cnt; i++) {
            const keyrec *k = &e->r[base + i];   /* re-read: nested objects may move the record stack */
            int slot = k->slot;
            child.key = k->s;
            child.klen = k->len;
            if (i) enc_char(e, ',');
            enc_string(e, child.key, child.klen, pe, 1);
            enc_char(e, ':');
            if (slot) enc_value(e, slot, &child);
            else {
                if (!lua_checkstack(L, 2)) enc_fail(e, pe, 0, "Lua stack exhausted", "");
                lua_pushlstring(L, child.key, child.klen);
                lua_rawget(L, t);
                enc_value(e, lua_gettop(L), &child);
                lua_pop(L, 1);
            }
        }
        enc_char(e, '}');
        e->rn = base;
    }
    lua_settop(L, top);
    e->depth--;
}

static void enc_value(enc *e, int idx, const path *pe) {
    lua_State *L = e->L;
    size_t len;
    const char *s;
    switch (lua_type(L, idx)) {
    case LUA_TNIL: enc_put(e, "null", 4); return;
    case LUA_TBOOLEAN:
        if (lua_toboolean(L, idx)) enc_put(e, "true", 4); else enc_put(e, "false", 5);
        return;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) enc_int(e, lua_tointeger(L, idx), "");
        else enc_float(e, lua_tonumber(L, idx), pe);
        return;
    case LUA_TSTRING:
        s = lua_tolstring(L, idx, &len);
        enc_string(e, s, len, pe, 0);
        return;
    case LUA_TTABLE: enc_table(e, idx, pe); return;
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == e->null) { enc_put(e, "null", 4); return; }
        /* fall through */
    default:
        s = lua_pushfstring(L, "cannot encode %s", luaL_typename(L, idx));
        enc_fail(e, pe, 0, s, "");
    }
}

/* Encodes the value at absolute index idx and pushes the JSON string (two work slots are left below it). */
static void encode_core(lua_State *L, int idx, void *null, const void *amt, const void *omt) {
    enc e;
    path root;
    e.L = L;
    get_limits(L, &e.maxbytes, &e.maxdepth);
    e.depth = 0;
    e.null = null;
    e.amt = amt;
    e.omt = omt;
    e.r = NULL;
    e.rn = e.rcap = e.n = 0;
    /* Reuse the buffers of this state's previous encode (allocation and the GC work it drives are a large part of a
     * small encode). They leave the registry while in use, in case a finalizer run by an allocation encodes too. */
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &rec_key) == LUA_TUSERDATA) {
        e.r = lua_touserdata(L, -1);
        e.rcap = lua_rawlen(L, -1) / sizeof(keyrec);
    }
    e.ridx = lua_gettop(L);
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &buf_key) == LUA_TUSERDATA) {
        e.b = lua_touserdata(L, -1);
        e.cap = lua_rawlen(L, -1);
    } else {
        lua_pop(L, 1);
        e.cap = 2048;
        e.b = lua_newuserdatauv(L, e.cap, 0);
    }
    e.bidx = lua_gettop(L);
    lua_pushnil(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &rec_key);
    lua_pushnil(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &buf_key);
    root.up = NULL;
    enc_value(&e, idx, &root);
    if (e.maxbytes && e.n > e.maxbytes) enc_grow(&e, e.n);   /* a reused buffer may exceed the limit: raises */
    lua_pushlstring(L, e.b, e.n);
    if (e.cap <= CACHE_MAX) { lua_pushvalue(L, e.bidx); lua_rawsetp(L, LUA_REGISTRYINDEX, &buf_key); }
    if (e.r && e.rcap * sizeof(keyrec) <= CACHE_MAX) { lua_pushvalue(L, e.ridx); lua_rawsetp(L, LUA_REGISTRYINDEX, &rec_key); }
}

int clua_json_encode(lua_State *L) {
    luaL_checkany(L, 1);
    lua_settop(L, 1);
    encode_core(L, 1, upvalue_null(L), lua_topointer(L, marker_index(L, 2)), lua_topointer(L, marker_index(L, 3)));
    return 1;
}

static int encode_top_k(lua_State *L) {
    const void *amt, *omt;
    push_marker(L, &array_mt_key, "json.array");
    push_marker(L, &object_mt_key, "json.object");
    amt = lua_topointer(L, -2);
    omt = lua_topointer(L, -1);
    encode_core(L, 1, &null_tag, amt, omt);   /* the markers stay on the stack (and in the registry) */
    return 1;
}

int clua_json_encode_top(lua_State *L) {
    if (!lua_checkstack(L, 2)) return LUA_ERRMEM;   /* value left in place: the stack cannot grow */
    lua_pushcfunction(L, encode_top_k);
    lua_insert(L, -2);
    return lua_pcall(L, 1, 1, 0);
}

/* =================================================================================================================
 * Module
 * =============================================================================================================== */

/* json.array(t) / json.object(t): set marker `up` (2 or 3) on t and return t. */
static int json_mark(lua_State *L, int up) {
    int amt, omt;
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    amt = marker_index(L, 2);
    omt = marker_index(L, 3);
    if (lua_getmetatable(L, 1)) {
        if (!lua_rawequal(L, -1, amt) && !lua_rawequal(L, -1, omt))
            return luaL_error(L, "json.%s: table already has a metatable", up == 2 ? "array" : "object");
        lua_pop(L, 1);
    }
    lua_pushvalue(L, up == 2 ? amt : omt);
    lua_setmetatable(L, 1);
    lua_settop(L, 1);
    return 1;
}

static int json_array(lua_State *L) { return json_mark(L, 2); }
static int json_object(lua_State *L) { return json_mark(L, 3); }

static int json_is_array(lua_State *L) {
    int amt;
    lua_settop(L, 1);
    amt = marker_index(L, 2);
    lua_pushboolean(L, lua_type(L, 1) == LUA_TTABLE && lua_getmetatable(L, 1) && lua_rawequal(L, -1, amt));
    return 1;
}

int clua_json_open(lua_State *L) {
    static const luaL_Reg fns[] = {{"decode", clua_json_decode}, {"encode", clua_json_encode},
                                   {"array", json_array},        {"object", json_object},
                                   {"is_array", json_is_array},  {NULL, NULL}};
    luaL_checkstack(L, 8, "json");
    lua_createtable(L, 0, 6);
    lua_pushlightuserdata(L, &null_tag);
    push_marker(L, &array_mt_key, "json.array");
    push_marker(L, &object_mt_key, "json.object");
    luaL_setfuncs(L, fns, 3);   /* every function gets upvalues (null, array marker, object marker) */
    lua_pushlightuserdata(L, &null_tag);
    lua_setfield(L, -2, "null");
    return 1;
}
