/*
 * clua_json.c — RFC 8259 JSON <-> Lua values (our own codec; entry points in clua.h).
 *
 * Decisions the rest of Conflux relies on:
 *  Decode
 *   - objects -> plain tables with string keys (no metatable); arrays -> sequences 1..n carrying the array marker
 *     metatable (so `[]` re-encodes as `[]`); null -> json.null, a unique light userdata, so keys and positions survive.
 *   - numbers without fraction/exponent that fit int64 -> exact Lua integers (INT64_MIN included); all others -> floats
 *     with strtod semantics (too-large integers become floats, 1e400 becomes inf). "-0" is the integer 0.
 *   - strings fully validated: RFC 8259 escapes, \u surrogate pairs joined into UTF-8; lone surrogates, raw control
 *     characters and invalid UTF-8 (overlongs, encoded surrogates, > U+10FFFF) rejected. \u0000 is allowed, so a
 *     decoded string may contain NUL bytes.
 *   - duplicate keys (compared after unescaping) are an error: two parsers must never disagree on what a message says.
 *   - trailing garbage, a BOM, NaN/Infinity, comments, trailing commas, leading zeros are errors.
 *   - errors read "json.decode: <what> at byte <1-based offset>".
 *  Encode
 *   - deterministic: object keys sorted by bytes (memcmp order, a prefix first).
 *   - array marker -> array (keys exactly 1..n; json.null fills holes); object marker -> object (string keys only);
 *     unmarked: empty -> {}, keys exactly 1..n -> array, all strings -> object, anything else is an error naming the
 *     path ($.a.b[3], $["x y"]; indices are Lua's, 1-based). nil at top level encodes as null.
 *   - integers exact; floats as the shortest of %.15g/%.16g/%.17g that round-trips, integral floats keep ".0" so they
 *     decode as floats again; NaN/inf, invalid UTF-8, functions, userdata (except json.null), threads are errors.
 *   - raw access only (lua_next / lua_rawget*): no metamethod runs, so encode never re-enters Lua code.
 *  Limits: limits.json_bytes bounds input and output size, limits.json_depth the nesting (cycles end there); a hard cap
 *  of HARD_DEPTH protects the C stack even with limits off. Exceeding any of them raises a CLUA_FAULT_LIMIT fault.
 *  Markers: the array/object metatables live in each state's registry and carry __metatable, so plugins can neither
 *  fetch nor edit them (getmetatable returns "json.array"; setmetatable on a marked table fails). json.array/json.object
 *  refuse a table with a foreign metatable: lua_setmetatable ignores __metatable, so allowing it would let a plugin strip
 *  the protection of a host-provided read-only proxy.
 */
#include "clua.h"
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HARD_DEPTH 1000   /* nesting cap even with limits off: the codec recurses, <= 0.25 KB of C stack a level */
#define BATCH 256         /* members of one container gathered on the Lua stack before its table is built */
#define KEEP_MAX 4096     /* values of one object kept on the Lua stack while its keys are sorted */
#define CACHE_MAX 16384   /* encode buffers up to this size are kept for the state's next encode */
#define NORETURN __attribute__((noreturn))

/* Distinct addresses. &null_tag is json.null, the same light userdata in every state (upvalue 1 of the module's
 * functions holds it too); the others are registry keys (markers, cached encode buffers). */
static char null_tag, array_key, object_key, buf_key, rec_key;

/* Bytes copied verbatim in both directions: printable ASCII and DEL, except '"' and '\\'. */
static const unsigned char plain[256] = {[0x20 ... 0x21] = 1, [0x23 ... 0x5B] = 1, [0x5D ... 0x7F] = 1};

static const double pow10tab[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static void get_limits(lua_State *L, size_t *bytes, int *depth) {
    clua_sandbox *sb = clua_sandbox_of(L);
    int on = sb && sb->enabled;
    *bytes = on ? sb->limits.json_bytes : 0;
    *depth = on && sb->limits.json_depth > 0 && sb->limits.json_depth < HARD_DEPTH ? sb->limits.json_depth : HARD_DEPTH;
}

/* The message is formatted here, so clua_raise_fault only ever sees "%s". */
static NORETURN void limit_fault(lua_State *L, const char *fmt, long long a, long long b) {
    char msg[128];
    snprintf(msg, sizeof msg, fmt, a, b);
    clua_raise_fault(L, CLUA_FAULT_LIMIT, "%s", msg);
    __builtin_unreachable();
}

/* Pushes the marker metatable registered under key, creating it on first use. */
static void push_marker(lua_State *L, void *key) {
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, key) == LUA_TTABLE) return;
    lua_pop(L, 1);
    lua_createtable(L, 0, 1);
    lua_pushstring(L, key == &array_key ? "json.array" : "json.object");
    lua_setfield(L, -2, "__metatable");
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, key);
}

/* Index of marker `up` (upvalue 2 = array, 3 = object) of the running closure, or pushed from the registry. */
static int marker_index(lua_State *L, int up) {
    if (lua_type(L, lua_upvalueindex(up)) == LUA_TTABLE) return lua_upvalueindex(up);
    push_marker(L, up == 2 ? &array_key : &object_key);
    return lua_gettop(L);
}

/* Length of the well-formed UTF-8 sequence at p (lead byte >= 0x80), or 0. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *e) {
    unsigned c = p[0], lo = 0x80, hi = 0xBF;
    size_t n, i;
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c >= 0xE0 && c <= 0xEF) { n = 3; if (c == 0xE0) lo = 0xA0; else if (c == 0xED) hi = 0x9F; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 4; if (c == 0xF0) lo = 0x90; else if (c == 0xF4) hi = 0x8F; }
    else return 0;   /* continuation byte, overlong lead C0/C1, or beyond U+10FFFF */
    if ((size_t)(e - p) < n || p[1] < lo || p[1] > hi) return 0;   /* lo/hi exclude overlongs and surrogates */
    for (i = 2; i < n; i++)
        if ((p[i] & 0xC0) != 0x80) return 0;
    return n;
}

/* First byte at or after p that is not plain (or e), 8 bytes at a time: most strings need no escaping at all. */
static inline const unsigned char *scan_plain(const unsigned char *p, const unsigned char *e) {
    const uint64_t ones = 0x0101010101010101ull;
    uint64_t x, q, b;
    while (e - p >= 8) {
        memcpy(&x, p, 8);
        q = x ^ (ones * '"');
        b = x ^ (ones * '\\');
        /* the high bit of a byte gets set for < 0x20, == '"', == '\\' or >= 0x80 ("has zero/less" bit tricks) */
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

/* =================================================================================================================
 * Decode
 * =============================================================================================================== */
typedef struct dec {
    lua_State *L;
    const unsigned char *s, *p, *end;
    int depth, maxdepth, amt, scratch;   /* amt, scratch: stack indices of the array marker and the scratch buffer */
    unsigned char *sbuf;                 /* scratch: unescaped strings, long numbers (a userdata: Lua memory) */
    size_t scap;
} dec;

static void dec_value(dec *d);

static NORETURN void dec_fail(dec *d, const unsigned char *at, const char *what) {
    lua_pushfstring(d->L, "json.decode: %s at byte %I", what, (lua_Integer)(at - d->s + 1));
    lua_error(d->L);
    __builtin_unreachable();
}

static NORETURN void dec_unexpected(dec *d, const unsigned char *at) {
    char what[40];
    if (at >= d->end) dec_fail(d, at, "unexpected end of input");
    if (*at > 0x20 && *at < 0x7F) snprintf(what, sizeof what, "unexpected character '%c'", *at);
    else snprintf(what, sizeof what, "unexpected byte 0x%02X", *at);
    dec_fail(d, at, what);
}

/* Makes the scratch buffer hold `need` bytes, keeping the first `used`. */
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

static long hex4(const unsigned char *p) {
    long v = 0;
    int i, c;
    for (i = 0; i < 4; i++) {
        int lc = p[i] | 0x20;   /* lower-cased letter */
        c = p[i] >= '0' && p[i] <= '9' ? p[i] - '0' : lc >= 'a' && lc <= 'f' ? lc - 'a' + 10 : -1;
        if (c < 0) return -1;
        v = v * 16 + c;
    }
    return v;
}

/* Decodes the escape at q (a backslash) into scratch at *w (4 bytes reserved); returns the byte after it. */
static const unsigned char *dec_escape(dec *d, const unsigned char *q, size_t *w) {
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    unsigned char *o = d->sbuf + *w;
    const char *f;
    long cp, lo = 0;
    int n, i;
    if (d->end - q < 2) dec_fail(d, d->p, "unterminated string");
    if (q[1] && (f = strchr(from, q[1])) != NULL) { *o = (unsigned char)to[f - from]; *w += 1; return q + 2; }
    if (q[1] != 'u') dec_fail(d, q, "invalid escape");
    if (d->end - q < 6 || (cp = hex4(q + 2)) < 0) dec_fail(d, q, "invalid \\u escape");
    if (cp >= 0xD800 && cp <= 0xDBFF && d->end - q >= 12 && q[6] == '\\' && q[7] == 'u') lo = hex4(q + 8);
    if ((cp >= 0xDC00 && cp <= 0xDFFF) || (cp >= 0xD800 && cp <= 0xDBFF && !(lo >= 0xDC00 && lo <= 0xDFFF)))
        dec_fail(d, q, "lone surrogate in \\u escape");
    if (lo) { cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00); q += 6; }
    n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;   /* UTF-8: continuation bytes from the end */
    for (i = n - 1; i > 0; i--, cp >>= 6) o[i] = (unsigned char)(0x80 | (cp & 0x3F));
    o[0] = (unsigned char)(n == 1 ? cp : (0xF00 >> n) | cp);     /* lead byte 0xC0 / 0xE0 / 0xF0 */
    *w += (size_t)n;
    return q + 6;
}

/* d->p is at the opening quote. Strings without escapes are pushed straight from the input. */
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
        n = (size_t)(q - run);   /* a backslash: the plain run behind it, then the escape, go to scratch */
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

static inline int is_digit(const unsigned char *p, const unsigned char *e) { return p < e && *p >= '0' && *p <= '9'; }

static void dec_number(dec *d) {
    const unsigned char *start = d->p, *p = start, *e = d->end;
    uint64_t m = 0;   /* the first 19 significant digits; value = m * 10^scale while !lossy */
    int neg = *p == '-', nd = 0, lossy = 0, isfloat = 0, eneg = 0;
    long scale = 0, ex = 0;
    double v;
    p += neg;
    if (!is_digit(p, e)) dec_fail(d, start, "invalid number");
    if (*p == '0' && is_digit(p + 1, e)) dec_fail(d, start, "invalid number (leading zero)");
    for (; is_digit(p, e); p++)
        if (nd < 19) { m = m * 10 + (*p - '0'); nd += m > 0; } else { lossy = 1; scale++; }
    if (p < e && *p == '.') {
        isfloat = 1;
        if (!is_digit(++p, e)) dec_fail(d, start, "invalid number");
        for (; is_digit(p, e); p++)
            if (nd < 19) { m = m * 10 + (*p - '0'); nd += m > 0; scale--; } else lossy = 1;
    }
    if (p < e && (*p | 0x20) == 'e') {
        isfloat = 1;
        if (++p < e && (*p == '+' || *p == '-')) eneg = *p++ == '-';
        if (!is_digit(p, e)) dec_fail(d, start, "invalid number");
        for (; is_digit(p, e); p++)
            if (ex < 100000) ex = ex * 10 + (*p - '0');
        scale += eneg ? -ex : ex;
    }
    d->p = p;
    if (!isfloat && !lossy && m <= (uint64_t)INT64_MAX + neg) {
        lua_pushinteger(d->L, neg ? (lua_Integer)(0 - m) : (lua_Integer)m);
    } else if (!lossy && m <= (1ull << 53) && scale >= -22 && scale <= 22) {
        /* m and 10^|scale| are exact doubles, so one IEEE operation rounds correctly (Clinger's fast path) */
        v = scale < 0 ? (double)m / pow10tab[-scale] : (double)m * pow10tab[scale];
        lua_pushnumber(d->L, neg ? -v : v);
    } else {   /* strtod on a NUL-terminated copy, with the locale's decimal point as Lua itself does */
        size_t len = (size_t)(p - start), i;
        char tmp[64], *c = tmp, point = lua_getlocaledecpoint();
        if (len >= sizeof tmp) { scratch_reserve(d, 0, len + 1); c = (char *)d->sbuf; }
        memcpy(c, start, len);
        c[len] = 0;
        for (i = 0; i < len; i++)
            if (c[i] == '.') c[i] = point;
        lua_pushnumber(d->L, strtod(c, NULL));
    }
}

/* Raises the duplicate-key error for the key at stack index key, at its second occurrence in the object opened at
 * `open`: the members are parsed again (they parsed before, nothing else can fail) to find that offset. */
static NORETURN void dec_duplicate(dec *d, const unsigned char *open, int key) {
    lua_State *L = d->L;
    const unsigned char *at, *k;
    size_t kl, i;
    int seen = 0, show;
    key = lua_absindex(L, key);
    k = (const unsigned char *)lua_tolstring(L, key, &kl);
    for (show = kl <= 64, i = 0; i < kl && show; i++) show = plain[k[i]] && k[i] != 0x7F;   /* short, printable */
    luaL_checkstack(L, 4, "json.decode");
    for (d->p = open + 1;; d->p = skip_ws(d->p, d->end) + 1) {   /* at each key, then past ':' and past ',' */
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

/* Builds the table of the n members gathered above the placeholder at base (pairs if open, the object's '{', is set). */
static void dec_build(dec *d, int base, int n, const unsigned char *open) {
    lua_State *L = d->L;
    lua_createtable(L, open ? 0 : n, open ? n : 0);
    lua_replace(L, base);
    for (; n > 0; n--) {   /* members are popped from the top: last one first */
        if (!open) { lua_rawseti(L, base, n); continue; }
        lua_pushvalue(L, -2);
        if (lua_rawget(L, base) != LUA_TNIL) dec_duplicate(d, open, -3);
        lua_pop(L, 1);
        lua_rawset(L, base);
    }
}

/* Objects and arrays. Members are gathered on the Lua stack above a placeholder (up to BATCH of them, while the stack
 * can grow), then the table is built at its exact size: no rehashing while it fills, which is most of the cost of a
 * small object. Bigger containers continue member by member into the built table. */
static void dec_container(dec *d, int object) {
    lua_State *L = d->L;
    const unsigned char *open = d->p, *p, *e = d->end;
    const unsigned char close = object ? '}' : ']';
    int base, n = 0, built = 0;
    if (++d->depth > d->maxdepth)
        limit_fault(L, "json.decode: nesting deeper than %lld at byte %lld", d->maxdepth, open - d->s + 1);
    if (!lua_checkstack(L, 4)) dec_fail(d, open, "Lua stack exhausted");
    lua_pushnil(L);
    base = lua_gettop(L);
    p = skip_ws(open + 1, e);
    if (p < e && *p == close) p++;
    else for (;;) {
        if (!built && (n == BATCH || !lua_checkstack(L, 4))) { dec_build(d, base, n, object ? open : NULL); built = 1; }
        if (object) {
            if (p >= e || *p != '"') { if (p >= e) dec_unexpected(d, p); dec_fail(d, p, "expected string key"); }
            d->p = p;
            dec_string(d);
            if (built) {   /* one lookup per key buys parser-differential safety */
                lua_pushvalue(L, -1);
                if (lua_rawget(L, base) != LUA_TNIL) dec_duplicate(d, open, -2);
                lua_pop(L, 1);
            }
            p = skip_ws(d->p, e);
            if (p >= e || *p != ':') { if (p >= e) dec_unexpected(d, p); dec_fail(d, p, "expected ':'"); }
            p++;
        }
        d->p = p;
        dec_value(d);
        n++;
        if (built && object) lua_rawset(L, base);
        else if (built) lua_rawseti(L, base, n);
        p = skip_ws(d->p, e);
        if (p < e && *p == ',') { p = skip_ws(p + 1, e); continue; }
        if (p < e && *p == close) { p++; break; }
        if (p >= e) dec_unexpected(d, p);
        dec_fail(d, p, object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
    if (!built) dec_build(d, base, n, object ? open : NULL);
    if (!object) { lua_pushvalue(L, d->amt); lua_setmetatable(L, base); }
    d->p = p;
    d->depth--;
}

static void dec_value(dec *d) {
    const unsigned char *p = d->p = skip_ws(d->p, d->end);
    const char *lit;
    size_t n;
    if (p >= d->end) dec_unexpected(d, p);
    switch (*p) {
    case '{': case '[': dec_container(d, *p == '{'); return;
    case '"': dec_string(d); return;
    case 't': case 'f': case 'n':
        lit = *p == 't' ? "true" : *p == 'f' ? "false" : "null";
        n = strlen(lit);
        if ((size_t)(d->end - p) < n || memcmp(p, lit, n) != 0) dec_unexpected(d, p);
        d->p += n;
        if (*p == 'n') lua_pushlightuserdata(d->L, &null_tag); else lua_pushboolean(d->L, *p == 't');
        return;
    default:
        if (*p != '-' && !is_digit(p, d->end)) dec_unexpected(d, p);
        dec_number(d);
    }
}

/* Decodes s[0..len) and pushes the value (above one work slot; callers return 1). */
static void decode_core(lua_State *L, const char *s, size_t len, int amt) {
    const unsigned char *u = (const unsigned char *)s;
    dec d = {L, u, u, u + len, 0, 0, amt, 0, NULL, 0};
    size_t maxbytes;
    get_limits(L, &maxbytes, &d.maxdepth);
    if (maxbytes && len > maxbytes) limit_fault(L, "json.decode: input larger than %lld bytes", (long long)maxbytes, 0);
    lua_pushnil(L);
    d.scratch = lua_gettop(L);
    if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) dec_fail(&d, u, "byte order mark not allowed");
    dec_value(&d);
    if ((d.p = skip_ws(d.p, d.end)) < d.end) dec_fail(&d, d.p, "trailing garbage");
}

int clua_json_decode(lua_State *L) {
    size_t len;
    const char *s;
    luaL_checktype(L, 1, LUA_TSTRING);
    lua_settop(L, 1);
    s = lua_tolstring(L, 1, &len);
    clua_charge(L, 1 + (int64_t)(len / 32), "json.decode"); /* a loop of decodes must run out of budget too */
    decode_core(L, s, len, marker_index(L, 2));
    return 1;
}

typedef struct { const char *s; size_t n; } bytes_arg;

static int decode_bytes_k(lua_State *L) {
    const bytes_arg *a = lua_touserdata(L, 1);
    push_marker(L, &array_key);
    decode_core(L, a->s, a->n, lua_gettop(L));
    return 1;
}

int clua_json_decode_bytes(lua_State *L, const char *bytes, size_t len) {
    bytes_arg a = {bytes, len};
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
    const char *s;      /* the key (kept alive by the table being encoded) */
    size_t len;
    int slot;           /* stack index of the value, or 0: look it up again */
} keyrec;

typedef struct path {   /* the way to the current value, linked towards the root ($) */
    const struct path *up;
    const char *key;    /* NULL: array index */
    size_t klen;
    lua_Integer idx;
} path;

typedef struct enc {
    lua_State *L;
    char *b;            /* output: userdata at stack index bidx, replaced by a bigger one to grow */
    size_t n, cap, maxbytes;
    keyrec *r;          /* key records of the objects being encoded, used as a stack: userdata at ridx */
    size_t rn, rcap;
    int bidx, ridx, depth, maxdepth;
    const void *amt, *omt;
} enc;

static void enc_value(enc *e, int idx, const path *pe);

static void path_add(luaL_Buffer *B, const path *pe) {
    const unsigned char *k = (const unsigned char *)pe->key;
    size_t i, m;
    int ident;
    if (!pe->up) { luaL_addchar(B, '$'); return; }
    path_add(B, pe->up);
    if (!k) { lua_pushfstring(B->L, "[%I]", pe->idx); luaL_addvalue(B); return; }
    ident = pe->klen > 0 && !(k[0] >= '0' && k[0] <= '9');
    for (i = 0; i < pe->klen && ident; i++)
        ident = (unsigned)((k[i] | 0x20) - 'a') < 26u || (k[i] >= '0' && k[i] <= '9') || k[i] == '_';
    if (ident) { luaL_addchar(B, '.'); luaL_addlstring(B, pe->key, pe->klen); return; }
    luaL_addstring(B, "[\"");
    for (i = 0; i < pe->klen; i += m) {   /* readable and valid UTF-8: other bytes become \xHH */
        m = 1;
        if (k[i] == '"' || k[i] == '\\') { luaL_addchar(B, '\\'); luaL_addchar(B, (char)k[i]); }
        else if (plain[k[i]] && k[i] != 0x7F) luaL_addchar(B, (char)k[i]);
        else if (k[i] >= 0x80 && (m = utf8_seq(k + i, k + pe->klen)) != 0) luaL_addlstring(B, pe->key + i, m);
        else { char hx[8]; m = 1; snprintf(hx, sizeof hx, "\\x%02X", k[i]); luaL_addstring(B, hx); }
    }
    luaL_addstring(B, "\"]");
}

/* Raises "json.encode: <what> at <path><post>", as a CLUA_FAULT_LIMIT fault when fault is set. */
static NORETURN void enc_fail(enc *e, const path *pe, int fault, const char *what, const char *post) {
    lua_State *L = e->L;
    luaL_Buffer B;
    const char *ps, *msg;
    size_t pl, a = 100, z;
    luaL_checkstack(L, 8, "json.encode");
    luaL_buffinit(L, &B);
    path_add(&B, pe);
    luaL_pushresult(&B);
    ps = lua_tolstring(L, -1, &pl);
    if (pl > 240) {   /* cycles make huge paths: keep both ends, cut on UTF-8 boundaries */
        for (z = pl - 100; z < pl && (ps[z] & 0xC0) == 0x80; z++) {}
        while (a > 0 && (ps[a] & 0xC0) == 0x80) a--;
        lua_pushlstring(L, ps, a);
        lua_pushliteral(L, "...");
        lua_pushlstring(L, ps + z, pl - z);
        lua_concat(L, 3);
        ps = lua_tostring(L, -1);
    }
    msg = lua_pushfstring(L, "json.encode: %s at %s%s", what, ps, post);
    if (fault) clua_raise_fault(L, CLUA_FAULT_LIMIT, "%s", msg);
    lua_error(L);
    __builtin_unreachable();
}

static void enc_grow(enc *e, size_t k) {
    size_t want = e->n + k, cap = e->cap * 2;
    char *nb;
    if (e->maxbytes && want > e->maxbytes)
        limit_fault(e->L, "json.encode: output larger than %lld bytes", (long long)e->maxbytes, 0);
    if (cap < want) cap = want;
    if (e->maxbytes && cap > e->maxbytes) cap = e->maxbytes;
    nb = lua_newuserdatauv(e->L, cap, 0);
    memcpy(nb, e->b, e->n);
    lua_replace(e->L, e->bidx);
    e->b = nb;
    e->cap = cap;
}

/* Appends exactly k bytes: reserving only what is written keeps the size limit exact. */
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
    static const char from[] = "\"\\\n\r\t\b\f", to[] = "\"\\nrtbf";
    const unsigned char *p = (const unsigned char *)str, *end = p + len, *run = p;
    const char *f;
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
        if (*p && (f = strchr(from, *p)) != NULL) { char two[2] = {'\\', to[f - from]}; enc_put(e, two, 2); }
        else { char u[6] = {'\\', 'u', '0', '0', "0123456789abcdef"[*p >> 4], "0123456789abcdef"[*p & 15]}; enc_put(e, u, 6); }
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

/* For 1e-4 <= |v| < 1e15: the fixed notation with the fewest decimals k that reads back as v, if it needs at most 15
 * significant digits. That is exactly what %.15g prints, found without printf/strtod. Returns its length or 0. */
static int float_fast(char *out, double v) {
    double a = fabs(v), r = 0;
    char dig[24];
    int k, nd = 0, len = 0;
    uint64_t u;
    if (!(a >= 1e-4 && a < 1e15)) return 0;
    for (k = 1; k <= 15; k++) {
        r = nearbyint(a * pow10tab[k]);
        if (r >= 1e15) return 0;
        if (r / pow10tab[k] == a) break;   /* r and 10^k are exact: this division is what strtod("r e-k") gives */
    }
    if (k > 15) return 0;
    for (u = (uint64_t)r; u; u /= 10) dig[nd++] = (char)('0' + u % 10);
    if (v < 0) out[len++] = '-';
    if (nd <= k) out[len++] = '0';
    while (nd > k) out[len++] = dig[--nd];
    out[len++] = '.';
    while (k > nd) { out[len++] = '0'; k--; }
    while (nd) out[len++] = dig[--nd];
    return len;
}

static void enc_float(enc *e, double v, const path *pe) {
    char tmp[48], point = lua_getlocaledecpoint();
    int len, prec, i, integral = 1;
    if (isnan(v)) enc_fail(e, pe, 0, "cannot encode NaN", "");
    if (isinf(v)) enc_fail(e, pe, 0, "cannot encode infinity", "");
    if (v == floor(v) && fabs(v) < 1e15) {   /* integral: exact as int64, ".0" keeps it a float */
        if (v == 0 && signbit(v)) enc_put(e, "-0.0", 4);
        else enc_int(e, (lua_Integer)v, ".0");
        return;
    }
    if ((len = float_fast(tmp, v)) == 0) {
        for (prec = 15; prec <= 17; prec++) {
            len = snprintf(tmp, sizeof tmp - 2, "%.*g", prec, v);
            if (strtod(tmp, NULL) == v) break;
        }
        for (i = 0; i < len; i++) {
            if (tmp[i] == point) tmp[i] = '.';   /* printf follows the C locale's decimal point */
            if (tmp[i] == '.' || tmp[i] == 'e') integral = 0;
        }
        if (integral) { tmp[len++] = '.'; tmp[len++] = '0'; }
    }
    enc_put(e, tmp, (size_t)len);
}

static inline int key_less(const keyrec *a, const keyrec *b) {
    int c;
    if (a->pre != b->pre) return a->pre < b->pre;
    c = memcmp(a->s, b->s, a->len < b->len ? a->len : b->len);
    return c < 0 || (c == 0 && a->len < b->len);
}

static int key_cmp(const void *a, const void *b) { return key_less(a, b) ? -1 : key_less(b, a); }

static void sort_keys(keyrec *r, size_t n) {
    size_t i, lo, hi, mid;
    keyrec t;
    if (n > 64) { qsort(r, n, sizeof *r, key_cmp); return; }
    for (i = 1; i < n; i++) {   /* binary insertion: few comparisons, one memmove, no allocation */
        for (t = r[i], lo = 0, hi = i; lo < hi;) {
            mid = (lo + hi) / 2;
            if (key_less(&t, &r[mid])) hi = mid; else lo = mid + 1;
        }
        memmove(r + lo + 1, r + lo, (i - lo) * sizeof *r);
        r[lo] = t;
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

/* Encodes the table at absolute index t. */
static void enc_table(enc *e, int t, const path *pe) {
    lua_State *L = e->L;
    int kind = 0, ints = 0, top = lua_gettop(L), slot = top + 1, room = 0;   /* kind: 1 array, 2 object marker */
    size_t base = e->rn, cnt, i;
    lua_Integer count = 0, max = 0;
    path child = {pe, NULL, 0, 0};
    if (++e->depth > e->maxdepth) {
        char what[48];
        snprintf(what, sizeof what, "nesting deeper than %d", e->maxdepth);
        enc_fail(e, pe, 1, what, "");
    }
    if (!lua_checkstack(L, 6)) enc_fail(e, pe, 0, "Lua stack exhausted", "");
    if (lua_getmetatable(L, t)) {
        const void *mt = lua_topointer(L, -1);
        kind = mt == e->amt ? 1 : mt == e->omt ? 2 : 0;
        if (kind == 0) {   /* a secret handle (see the prelude) holds no value to encode: say so, never "{}" */
            lua_pushliteral(L, "__name");
            lua_rawget(L, -2);
            int secret = lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "secret") == 0;
            lua_pop(L, 1);
            if (secret) enc_fail(e, pe, 0, "cannot encode a secret handle", " (put secrets in headers, or in a body= string built with ..)");
        }
        lua_pop(L, 1);
    }
    /* One raw traversal classifies the keys; string keys are recorded, their values kept on the stack. */
    lua_pushnil(L);
    while (lua_next(L, t)) {   /* the key is at slot, its value above it */
        int kt = lua_type(L, -2);
        if (kt == LUA_TSTRING) {
            size_t kl;
            const char *ks = lua_tolstring(L, -2, &kl);
            if (kind == 1) enc_fail(e, pe, 0, "cannot encode array", ": string key in a json.array table");
            if (ints) enc_fail(e, pe, 0, "cannot encode table", ": mixed integer and string keys");
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
    if (ints || kind == 1) {   /* distinct keys, all >= 1, as many as the largest: exactly 1..n */
        if (count != max) enc_fail(e, pe, 0, "cannot encode table", ": integer keys are not a sequence 1..n");
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
            const keyrec *k = &e->r[base + i];   /* re-read each time: nested objects may move the records */
            child.key = k->s;
            child.klen = k->len;
            slot = k->slot;
            if (i) enc_char(e, ',');
            enc_string(e, child.key, child.klen, pe, 1);
            enc_char(e, ':');
            if (slot) { enc_value(e, slot, &child); continue; }
            if (!lua_checkstack(L, 2)) enc_fail(e, pe, 0, "Lua stack exhausted", "");
            lua_pushlstring(L, child.key, child.klen);
            lua_rawget(L, t);
            enc_value(e, lua_gettop(L), &child);
            lua_pop(L, 1);
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
    case LUA_TSTRING: s = lua_tolstring(L, idx, &len); enc_string(e, s, len, pe, 0); return;
    case LUA_TTABLE: enc_table(e, idx, pe); return;
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == &null_tag) { enc_put(e, "null", 4); return; }
        break;
    default: break;
    }
    enc_fail(e, pe, 0, lua_pushfstring(L, "cannot encode %s", luaL_typename(L, idx)), "");
}

/* The previous encode's buffers are reused: allocating them (and the GC work that drives) is a large part of a small
 * encode. They leave the registry while in use, in case a finalizer run by an allocation starts another encode.
 * take_cached pushes the buffer (or nil). */
static void *take_cached(lua_State *L, void *key, size_t *size) {
    void *p = NULL;
    *size = 0;
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, key) == LUA_TUSERDATA) { p = lua_touserdata(L, -1); *size = lua_rawlen(L, -1); }
    lua_pushnil(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, key);
    return p;
}

static void put_cached(lua_State *L, void *key, int idx, size_t size) {
    if (size > 0 && size <= CACHE_MAX) { lua_pushvalue(L, idx); lua_rawsetp(L, LUA_REGISTRYINDEX, key); }
}

/* Encodes the value at absolute index idx and pushes the JSON text (above two work slots; callers return 1). */
static void encode_core(lua_State *L, int idx, const void *amt, const void *omt) {
    enc e = {L, NULL, 0, 0, 0, NULL, 0, 0, 0, 0, 0, 0, amt, omt};
    path root = {NULL, NULL, 0, 0};
    size_t rsize;
    get_limits(L, &e.maxbytes, &e.maxdepth);
    e.r = take_cached(L, &rec_key, &rsize);
    e.rcap = rsize / sizeof(keyrec);
    e.ridx = lua_gettop(L);
    if ((e.b = take_cached(L, &buf_key, &e.cap)) == NULL) {
        lua_pop(L, 1);
        e.b = lua_newuserdatauv(L, e.cap = 2048, 0);
    }
    e.bidx = lua_gettop(L);
    enc_value(&e, idx, &root);
    if (e.maxbytes && e.n > e.maxbytes) enc_grow(&e, 0);   /* a reused buffer can outsize the limit: this raises */
    lua_pushlstring(L, e.b, e.n);
    put_cached(L, &buf_key, e.bidx, e.cap);
    put_cached(L, &rec_key, e.ridx, e.rcap * sizeof(keyrec));
}

int clua_json_encode(lua_State *L) {
    luaL_checkany(L, 1);
    lua_settop(L, 1);
    encode_core(L, 1, lua_topointer(L, marker_index(L, 2)), lua_topointer(L, marker_index(L, 3)));
    size_t out;
    lua_tolstring(L, -1, &out);
    clua_charge(L, 1 + (int64_t)(out / 32), "json.encode");
    return 1;
}

static int encode_top_k(lua_State *L) {
    push_marker(L, &array_key);
    push_marker(L, &object_key);
    encode_core(L, 1, lua_topointer(L, -2), lua_topointer(L, -1));
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

/* json.array(t) / json.object(t): sets marker `up` (2 array, 3 object) on t and returns t. */
static int json_mark(lua_State *L, int up) {
    int amt, omt;
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    amt = marker_index(L, 2);
    omt = marker_index(L, 3);
    if (lua_getmetatable(L, 1) && !lua_rawequal(L, -1, amt) && !lua_rawequal(L, -1, omt))
        return luaL_error(L, "json.%s: table already has a metatable", up == 2 ? "array" : "object");
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
    static const luaL_Reg fns[] = {{"decode", clua_json_decode}, {"encode", clua_json_encode}, {"array", json_array},
                                   {"object", json_object}, {"is_array", json_is_array}, {NULL, NULL}};
    luaL_checkstack(L, 8, "json");
    lua_createtable(L, 0, 6);
    lua_pushlightuserdata(L, &null_tag);
    push_marker(L, &array_key);
    push_marker(L, &object_key);
    luaL_setfuncs(L, fns, 3);   /* every function gets the upvalues (null, array marker, object marker) */
    lua_pushlightuserdata(L, &null_tag);
    lua_setfield(L, -2, "null");
    return 1;
}
