/*
 * clua_env.c — building a sandboxed state.
 *
 * The state never sees Lua's full standard library through its globals. We open the libraries we allow, copy the
 * allowlisted functions into fresh tables (wrapping those whose C work must be bounded), make a new empty table the
 * state's global table, and hand the pieces to the prelude (Lua source owned by the host, see LuaPrelude.swift),
 * which assembles the plugin environment: read-only library proxies, require, the load/setmetatable/pcall wrappers
 * and the coroutine functions that let host yields pass through plugin coroutines.
 *
 * Everything here allocates and may raise, so it runs as one C function under lua_pcall (clua_setup).
 */
#include "clua.h"

#include <string.h>

static const char CLUA_HOST_TOKEN = 'H';         /* address is the identity of a host yield */
static const char CLUA_HOST_THREADS_KEY = 'T';   /* registry key: weak set of invocation threads */

void *clua_host_yield_token(void) { return (void *)&CLUA_HOST_TOKEN; }

/* Copies the allowlisted fields of the table at src_idx into a new table left at the top of the stack. */
static void clua_copy_fields(lua_State *L, int src_idx, const char *const *names) {
    src_idx = lua_absindex(L, src_idx);
    lua_newtable(L);
    for (; *names != NULL; names++) {
        lua_getfield(L, src_idx, *names);
        lua_setfield(L, -2, *names);
    }
}

/* Replaces field name of the table at the top by a C closure over the original function (guards that call it). */
static void clua_wrap_with_original(lua_State *L, const char *name, lua_CFunction guard) {
    lua_getfield(L, -1, name);
    lua_pushcclosure(L, guard, 1);
    lua_setfield(L, -2, name);
}

/* fault(kind, message [, level]) for the prelude: raises a sticky fault located at `level` (default 2). */
static int clua_lua_fault(lua_State *L) {
    static const char *const kinds[] = {"none", "cpu", "memory", "stack", "limit", "permission", NULL};
    int kind = luaL_checkoption(L, 1, NULL, kinds);
    const char *message = luaL_checkstring(L, 2);
    int level = (int)luaL_optinteger(L, 3, 2);
    return clua_raise_fault_at(L, level, kind, "%s", message);
}

/* pending() raises the recorded fault, if any; is_pending() only tells (for code already handling an error). */
static int clua_lua_pending(lua_State *L) {
    clua_reraise_pending(L);
    return 0;
}

static int clua_lua_is_pending(lua_State *L) {
    lua_pushboolean(L, clua_fault_pending(L));
    return 1;
}

/*
 * coroutine.close(co) for the sandbox. A coroutine that died from an error is not reset: its pending __close handlers
 * do not run. If the error was a fault raised from inside the count hook, Lua left that coroutine with hooks switched
 * off, and its handlers would run unbounded. (A plugin cannot tell the two cases apart, and holds no resources that
 * need closing, so the rule is the same for every error.) Otherwise: Lua's own coroutine.close (upvalue 1).
 */
static int clua_lua_safe_close(lua_State *L) {
    lua_State *co = lua_tothread(L, 1);
    luaL_argexpected(L, co != NULL, 1, "coroutine");
    int status = lua_status(co);
    if (status != LUA_OK && status != LUA_YIELD) {
        lua_pushboolean(L, 0);
        if (lua_gettop(co) > 0 && lua_checkstack(co, 1)) {
            lua_pushvalue(co, -1);
            lua_xmove(co, L, 1);
        } else {
            lua_pushnil(L);
        }
        return 2;
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

/* os.time / os.date / os.clock take libc's timezone lock: the watchdog must never jump out of them. They may raise
 * (a bad format), so the original runs under lua_pcall inside the critical region and its error is re-raised after
 * leaving it. The format's length is charged like other C work. */
static int clua_lua_os_guarded(lua_State *L) {
    size_t len = 0;
    if (lua_type(L, 1) == LUA_TSTRING) lua_tolstring(L, 1, &len);
    clua_charge(L, 1 + (int64_t)(len / 32), "os");
    int nargs = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    clua_guard_enter_critical();
    int status = lua_pcall(L, nargs, LUA_MULTRET, 0);
    clua_guard_leave_critical();
    if (status != LUA_OK) return lua_error(L);
    return lua_gettop(L);
}

typedef struct clua_setup_args {
    const char *prelude;
    size_t prelude_len;
    const char *const *host_names;
    int host_count;
} clua_setup_args;

static int clua_setup_body(lua_State *L) {
    const clua_setup_args *args = (const clua_setup_args *)lua_touserdata(L, 1);
    lua_settop(L, 0);

    static const char *const base_names[] = {
        "assert", "error", "ipairs", "next", "pairs", "pcall", "xpcall", "rawequal", "rawget", "rawlen", "rawset",
        "select", "setmetatable", "getmetatable", "tonumber", "tostring", "type", "load", "collectgarbage", "_VERSION",
        NULL};
    static const char *const string_names[] = {"byte", "char", "find", "format", "gmatch", "gsub", "len", "lower",
                                               "match", "rep", "reverse", "sub", "upper", NULL};
    static const char *const table_names[] = {"concat", "insert", "move", "pack", "remove", "sort", "unpack", NULL};
    static const char *const math_names[] = {"abs", "ceil", "cos", "deg", "exp", "floor", "fmod", "huge", "log",
                                             "max", "maxinteger", "min", "mininteger", "modf", "pi", "rad", "random",
                                             "randomseed", "sin", "sqrt", "tan", "tointeger", "type", "ult", "atan",
                                             "asin", "acos", NULL};
    static const char *const utf8_names[] = {"char", "charpattern", "codes", "codepoint", "len", "offset", NULL};
    static const char *const coroutine_names[] = {"close", "create", "isyieldable", "resume", "running", "status",
                                                  "wrap", "yield", NULL};
    static const char *const os_names[] = {"time", "clock", "date", NULL};

    lua_newtable(L); /* stack: raw */
    int raw = lua_gettop(L);

    luaL_requiref(L, "_G", luaopen_base, 0); /* stack: raw, G */
    clua_install_charges(L, "_G");
    clua_copy_fields(L, -1, base_names); /* stack: raw, G, base */
    lua_setfield(L, raw, "base");
    lua_pop(L, 1);

    luaL_requiref(L, "string", luaopen_string, 0); /* stack: raw, stringlib */
    clua_copy_fields(L, -1, string_names);         /* stack: raw, stringlib, string */
    lua_pushcfunction(L, clua_str_find);
    lua_setfield(L, -2, "find");
    lua_pushcfunction(L, clua_str_match);
    lua_setfield(L, -2, "match");
    lua_pushcfunction(L, clua_str_gmatch);
    lua_setfield(L, -2, "gmatch");
    lua_pushcfunction(L, clua_str_gsub);
    lua_setfield(L, -2, "gsub");
    clua_wrap_with_original(L, "rep", clua_str_rep);
    clua_wrap_with_original(L, "format", clua_str_format);
    clua_install_charges(L, "string");
    /* The shared string metatable: methods resolve to the guarded table, and getmetatable("") cannot reach it. */
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);     /* stack: raw, stringlib, string, "", mt */
    lua_pushvalue(L, -3);
    lua_setfield(L, -2, "__index");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 2);
    lua_setfield(L, raw, "string");
    lua_pop(L, 1);

    luaL_requiref(L, "table", luaopen_table, 0);
    clua_copy_fields(L, -1, table_names);
    lua_pushcfunction(L, clua_tab_concat);
    lua_setfield(L, -2, "concat");
    clua_install_charges(L, "table");
    lua_setfield(L, raw, "table");
    lua_pop(L, 1);

    luaL_requiref(L, "math", luaopen_math, 0);
    clua_copy_fields(L, -1, math_names);
    lua_setfield(L, raw, "math");
    lua_pop(L, 1);

    luaL_requiref(L, "utf8", luaopen_utf8, 0);
    clua_copy_fields(L, -1, utf8_names);
    clua_install_charges(L, "utf8");
    lua_setfield(L, raw, "utf8");
    lua_pop(L, 1);

    luaL_requiref(L, "coroutine", luaopen_coroutine, 0);
    clua_copy_fields(L, -1, coroutine_names);
    clua_install_charges(L, "coroutine");
    lua_getfield(L, -1, "close");
    lua_pushcclosure(L, clua_lua_safe_close, 1);
    lua_setfield(L, -2, "close");
    lua_setfield(L, raw, "coroutine");
    lua_pop(L, 1);

    luaL_requiref(L, "os", luaopen_os, 0);
    clua_copy_fields(L, -1, os_names);
    for (const char *const *name = os_names; *name != NULL; name++) clua_wrap_with_original(L, *name, clua_lua_os_guarded);
    lua_setfield(L, raw, "os");
    lua_pop(L, 1);

    /* A new, empty table becomes the global table: load() without an env, and every chunk, sees only what the
     * prelude puts there. The original globals stay reachable from the registry only. */
    lua_newtable(L); /* stack: raw, env */
    int env = lua_gettop(L);
    lua_pushvalue(L, env);
    lua_rawseti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);

    lua_newtable(L); /* stack: raw, env, hostfns */
    for (int i = 0; i < args->host_count; i++) {
        clua_push_host_function(L, i);
        lua_setfield(L, -2, args->host_names[i]);
    }

    lua_pushlightuserdata(L, clua_host_yield_token()); /* stack: raw, env, hostfns, token */
    lua_newtable(L);                                    /* stack: …, fault */
    lua_pushcfunction(L, clua_lua_fault);
    lua_setfield(L, -2, "raise");
    lua_pushcfunction(L, clua_lua_pending);
    lua_setfield(L, -2, "pending");
    lua_pushcfunction(L, clua_lua_is_pending);
    lua_setfield(L, -2, "is_pending");
    lua_pushcfunction(L, clua_lua_check_source);
    lua_setfield(L, -2, "check_source");
    clua_json_open(L);                                  /* stack: …, json */

    lua_newtable(L); /* the weak set of invocation threads, which plugin code may not resume or close */
    lua_newtable(L);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_pushthread(L); /* the main thread belongs to the host too */
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &CLUA_HOST_THREADS_KEY); /* stack: raw, env, hostfns, token, fault, json, threads */

    if (luaL_loadbufferx(L, args->prelude, args->prelude_len, "=conflux/sandbox.lua", "t") != LUA_OK)
        return lua_error(L);
    /* prelude(env, raw, hostfns, token, fault, json, threads) */
    lua_pushvalue(L, env);
    lua_pushvalue(L, raw);
    for (int i = env + 1; i <= env + 5; i++) lua_pushvalue(L, i);
    lua_call(L, 7, 0);
    lua_settop(L, 0);
    return 0;
}

int clua_setup(lua_State *L, const char *prelude, size_t prelude_len, const char *const *host_names, int host_count) {
    clua_setup_args args = {prelude, prelude_len, host_names, host_count};
    lua_pushcfunction(L, clua_setup_body);
    lua_pushlightuserdata(L, &args);
    return lua_pcall(L, 1, 0, 0);
}

/* Registers a host-owned invocation thread (at the top of the stack) in the weak set. Runs protected. */
void clua_mark_invocation_thread(lua_State *L) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &CLUA_HOST_THREADS_KEY);
    lua_pushvalue(L, -2);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}
