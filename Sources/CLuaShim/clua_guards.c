/*
 * clua_guards.c — bounds on the work of C library functions.
 *
 * The count hook only sees VM instructions: one call to table.insert(t, 1, v) on a million-element table, a
 * table.move over a billion indices or a string.rep that builds megabytes is a single instruction to the hook. Each
 * such function is wrapped so that, before it runs, it charges the work it is about to do (in instruction
 * equivalents) to the invocation's budget, and refuses results larger than the profile's string_bytes with a `limit`
 * fault. The exact cost models are deliberately coarse: they only have to keep one call's work proportional to what it
 * is charged.
 */
#include "clua.h"

#include <string.h>

/* One unit of budget buys about as much C work as one VM instruction: roughly 32 bytes copied or one element moved. */
#define CLUA_BYTES_PER_UNIT 32

void clua_charge(lua_State *L, int64_t units, const char *what) {
    clua_sandbox *sb = clua_sandbox_of(L);
    if (sb == NULL || !sb->enabled || units <= 0) return;
    sb->instr_used += units;
    const clua_limits *lim = &sb->limits;
    if (lim->instructions > 0 && sb->instr_used > lim->instructions)
        clua_raise_fault(L, CLUA_FAULT_CPU, "instruction budget of %lld exceeded (in %s)", (long long)lim->instructions,
                         what);
    /* Only worth a look at the clocks when the work charged is large (see clua_time_exceeded for their cost). */
    if (units >= 256) {
        char reason[120];
        if (clua_time_exceeded(sb, reason, sizeof reason))
            clua_raise_fault(L, CLUA_FAULT_CPU, "%s (in %s)", reason, what);
    }
}

static void clua_check_string_size(lua_State *L, double size, const char *what) {
    clua_sandbox *sb = clua_sandbox_of(L);
    if (sb == NULL || !sb->enabled || sb->limits.string_bytes == 0) return;
    if (size > (double)sb->limits.string_bytes)
        clua_raise_fault(L, CLUA_FAULT_LIMIT, "%s: result of %.0f bytes exceeds the limit of %zu bytes", what, size,
                         sb->limits.string_bytes);
}

/* The cost models of clua_charged, chosen per wrapped function when the environment is built. */
enum {
    CLUA_COST_ARG1_BYTES = 1,  /* linear in the length of argument 1 (upper, lower, reverse, sub, byte, utf8.*) */
    CLUA_COST_ARG_COUNT,       /* linear in the number of arguments (string.char, utf8.char, table.pack, select) */
    CLUA_COST_TABLE_LEN,       /* linear in #t of argument 1 (table.insert / remove shift elements) */
    CLUA_COST_TABLE_SORT,      /* n log n in #t */
    CLUA_COST_TABLE_MOVE,      /* linear in the range e - f + 1 */
    CLUA_COST_TABLE_UNPACK,    /* linear in the range j - i + 1 */
    CLUA_COST_ARG2_BYTES,      /* linear in the length of argument 2 (tonumber with base, load of a source) */
    CLUA_COST_COROUTINE        /* flat: a new coroutine starts a fresh hook countdown, so creating one is charged */
};

/* What creating a coroutine costs: enough that a swarm of coroutines, none of which runs long enough to fire its own
 * hook, still exhausts the instruction budget (and is charged often enough for the clock to be read). */
#define CLUA_COROUTINE_UNITS 200

static int64_t clua_len_units(lua_State *L, int idx) {
    size_t len = 0;
    if (lua_type(L, idx) == LUA_TSTRING) lua_tolstring(L, idx, &len); /* already a string: no conversion */
    return (int64_t)(len / CLUA_BYTES_PER_UNIT);
}

/* #t as the wrapped function will see it: __len may lie (return 2^50 for a small table) to make table.insert, remove,
 * sort or unpack loop in C, so charge what it says. (__len runs as Lua code, under the hook.) */
static int64_t clua_table_len(lua_State *L, int idx) {
    if (lua_type(L, idx) != LUA_TTABLE) return 0;
    /* The wrapped function asks __len again and could be told something else than what was charged: tables with a
     * __len metamethod are refused by the functions whose work follows the length. */
    if (luaL_getmetafield(L, idx, "__len") != LUA_TNIL) {
        lua_pop(L, 1);
        clua_raise_fault(L, CLUA_FAULT_LIMIT,
                         "tables with a __len metamethod are not accepted here (their length decides work done in C)");
    }
    lua_Integer n = luaL_len(L, idx);
    return n > 0 ? (int64_t)n : 0;
}

static int64_t clua_range_units(lua_State *L, int from_idx, int to_idx, int64_t default_to) {
    lua_Integer from = luaL_optinteger(L, from_idx, 1);
    lua_Integer to = lua_isnoneornil(L, to_idx) ? default_to : luaL_checkinteger(L, to_idx);
    if (to < from) return 0;
    /* Compute in double: to - from may overflow lua_Integer for hostile arguments. */
    double span = (double)to - (double)from + 1.0;
    return span > 9.0e18 ? INT64_MAX / 2 : (int64_t)span;
}

/* upvalue 1: the original C function, upvalue 2: the cost model, upvalue 3: the name for messages. The original is
 * called directly (no Lua call frame), so it must be a plain C function that uses no upvalues of its own. */
static int clua_charged(lua_State *L) {
    int model = (int)lua_tointeger(L, lua_upvalueindex(2));
    const char *what = lua_tostring(L, lua_upvalueindex(3));
    int64_t units = 0;
    switch (model) {
    case CLUA_COST_ARG1_BYTES: units = clua_len_units(L, 1); break;
    case CLUA_COST_ARG2_BYTES: units = clua_len_units(L, 2); break;
    case CLUA_COST_ARG_COUNT: units = lua_gettop(L) / 4; break;
    case CLUA_COST_TABLE_LEN: units = clua_table_len(L, 1); break;
    case CLUA_COST_TABLE_SORT:
        if (lua_type(L, 1) == LUA_TTABLE) {
            int64_t n = clua_table_len(L, 1), log2n = 1;
            while ((1ll << log2n) < n && log2n < 62) log2n++;
            units = n * log2n;
        }
        break;
    case CLUA_COST_TABLE_MOVE: units = clua_range_units(L, 2, 3, 0); break;
    case CLUA_COST_COROUTINE: units = CLUA_COROUTINE_UNITS; break;
    case CLUA_COST_TABLE_UNPACK:
        units = clua_range_units(L, 2, 3, lua_isnoneornil(L, 3) ? clua_table_len(L, 1) : 0);
        break;
    default: break;
    }
    clua_charge(L, units, what);
    lua_CFunction original = lua_tocfunction(L, lua_upvalueindex(1));
    return original(L);
}

/* Replaces t[name] (t at the top of the stack) by a charging wrapper around it. */
static void clua_wrap_charged(lua_State *L, const char *lib, const char *name, int model) {
    if (lua_getfield(L, -1, name) != LUA_TFUNCTION) {
        lua_pop(L, 1);
        return;
    }
    lua_pushinteger(L, model);
    lua_pushfstring(L, "%s.%s", lib, name);
    lua_pushcclosure(L, clua_charged, 3);
    lua_setfield(L, -2, name);
}

void clua_install_charges(lua_State *L, const char *lib) {
    static const struct { const char *lib, *name; int model; } charges[] = {
        {"string", "byte", CLUA_COST_ARG1_BYTES},     {"string", "char", CLUA_COST_ARG_COUNT},
        {"string", "lower", CLUA_COST_ARG1_BYTES},    {"string", "upper", CLUA_COST_ARG1_BYTES},
        {"string", "reverse", CLUA_COST_ARG1_BYTES},  {"string", "sub", CLUA_COST_ARG1_BYTES},
        {"table", "insert", CLUA_COST_TABLE_LEN},     {"table", "remove", CLUA_COST_TABLE_LEN},
        {"table", "sort", CLUA_COST_TABLE_SORT},      {"table", "move", CLUA_COST_TABLE_MOVE},
        {"table", "unpack", CLUA_COST_TABLE_UNPACK},  {"table", "pack", CLUA_COST_ARG_COUNT},
        {"utf8", "char", CLUA_COST_ARG_COUNT},        {"utf8", "len", CLUA_COST_ARG1_BYTES},
        {"utf8", "codepoint", CLUA_COST_ARG1_BYTES},  {"utf8", "offset", CLUA_COST_ARG1_BYTES},
        {"_G", "tonumber", CLUA_COST_ARG1_BYTES},     {"_G", "select", CLUA_COST_ARG_COUNT},
        {"_G", "load", CLUA_COST_ARG1_BYTES},
        {"coroutine", "create", CLUA_COST_COROUTINE}, {"coroutine", "wrap", CLUA_COST_COROUTINE},
    };
    for (size_t i = 0; i < sizeof charges / sizeof charges[0]; i++)
        if (strcmp(charges[i].lib, lib) == 0) clua_wrap_charged(L, lib, charges[i].name, charges[i].model);
}

/* string.rep(s, n [, sep]): the size is known before any work, so refuse too-large results up front. */
int clua_str_rep(lua_State *L) {
    size_t len, seplen;
    luaL_checklstring(L, 1, &len);
    lua_Integer n = luaL_checkinteger(L, 2);
    luaL_optlstring(L, 3, "", &seplen);
    /* n copies of nothing is nothing; Lua 5.4.4 would still loop n times (up to 2^63) in C. */
    if (n <= 0 || len + seplen == 0) {
        lua_pushliteral(L, "");
        return 1;
    }
    double total = (double)len * (double)n + (double)seplen * (double)(n - 1);
    clua_check_string_size(L, total, "string.rep");
    clua_charge(L, (int64_t)(total / CLUA_BYTES_PER_UNIT), "string.rep");
    lua_CFunction original = lua_tocfunction(L, lua_upvalueindex(1));
    return original(L);
}

/* string.format: Lua caps widths and precisions at two digits, so the output is linear in the arguments; it is still
 * checked after the fact against string_bytes and charged. */
int clua_str_format(lua_State *L) {
    int top = lua_gettop(L);
    double bound = 0;
    for (int i = 1; i <= top; i++) {
        size_t len = 0;
        if (lua_type(L, i) == LUA_TSTRING) lua_tolstring(L, i, &len);
        bound += (double)len * 4 + 128; /* %q may quadruple a string; other items stay under 128 bytes */
    }
    clua_check_string_size(L, bound > 0 ? bound / 4 : 0, "string.format"); /* cheap pre-check on plain copies */
    clua_charge(L, (int64_t)(bound / 4 / CLUA_BYTES_PER_UNIT), "string.format");
    lua_CFunction original = lua_tocfunction(L, lua_upvalueindex(1));
    int n = original(L);
    size_t outlen = 0;
    lua_tolstring(L, -1, &outlen);
    clua_check_string_size(L, (double)outlen, "string.format");
    return n;
}

/* table.concat(list [, sep [, i [, j]]]): our own loop so the size is checked as it grows (elements may come from
 * __index metamethods, which run as Lua code under the hook). */
int clua_tab_concat(lua_State *L) {
    size_t seplen;
    luaL_checktype(L, 1, LUA_TTABLE);
    const char *sep = luaL_optlstring(L, 2, "", &seplen);
    lua_Integer i = luaL_optinteger(L, 3, 1);
    lua_Integer last = lua_isnoneornil(L, 4) ? luaL_len(L, 1) : luaL_checkinteger(L, 4);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    double total = 0;
    for (; i <= last; i++) {
        lua_geti(L, 1, i);
        if (!lua_isstring(L, -1))
            return luaL_error(L, "invalid value (at index %I) in table for 'concat'", (LUAI_UACINT)i);
        size_t len;
        lua_tolstring(L, -1, &len);
        total += (double)len + (i < last ? (double)seplen : 0);
        clua_check_string_size(L, total, "table.concat");
        clua_charge(L, 1 + (int64_t)(len / CLUA_BYTES_PER_UNIT), "table.concat");
        luaL_addvalue(&b);
        if (i < last) luaL_addlstring(&b, sep, seplen);
        if (i == LUA_MAXINTEGER) break; /* i++ would overflow */
    }
    luaL_pushresult(&b);
    return 1;
}
