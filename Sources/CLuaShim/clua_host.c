/*
 * clua_host.c — the boundary between Lua and Swift.
 *
 * Swift host functions are reached through one C trampoline. Swift fills a clua_results in plain C memory and returns
 * a code; only this C code pushes values, raises errors or yields, so no Lua error ever unwinds through a Swift frame.
 * Async host functions yield with lua_yieldk; when the host resumes the coroutine, the continuation asks Swift for the
 * operation's results (the OpenResty cosocket model).
 *
 * Also here: the small protected helpers the Swift side uses for anything that may allocate.
 */
#include "clua.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static clua_host_callback g_call = NULL;
static clua_resume_callback g_resume = NULL;

void clua_set_host_callbacks(clua_host_callback call, clua_resume_callback resume) {
    g_call = call;
    g_resume = resume;
}

void clua_free(void *p) { free(p); }

/* ---- results (plain C memory, filled from Swift) ---------------------------------------------------------------- */

static clua_value *clua_results_next(clua_results *r, int type) {
    if (r->count >= CLUA_MAX_RESULTS) return NULL;
    clua_value *v = &r->values[r->count++];
    memset(v, 0, sizeof *v);
    v->type = type;
    return v;
}

int clua_results_add_nil(clua_results *r) { return clua_results_next(r, CLUA_V_NIL) != NULL; }

int clua_results_add_bool(clua_results *r, int b) {
    clua_value *v = clua_results_next(r, CLUA_V_BOOL);
    if (v) v->i = b != 0;
    return v != NULL;
}

int clua_results_add_int(clua_results *r, int64_t i) {
    clua_value *v = clua_results_next(r, CLUA_V_INT);
    if (v) v->i = i;
    return v != NULL;
}

int clua_results_add_number(clua_results *r, double n) {
    clua_value *v = clua_results_next(r, CLUA_V_NUMBER);
    if (v) v->n = n;
    return v != NULL;
}

static int clua_results_add_bytes(clua_results *r, int type, const char *s, size_t len) {
    char *copy = malloc(len + 1);
    if (copy == NULL) return 0;
    clua_value *v = clua_results_next(r, type);
    if (v == NULL) {
        free(copy);
        return 0;
    }
    if (len) memcpy(copy, s, len);
    copy[len] = '\0';
    v->s = copy;
    v->len = len;
    return 1;
}

int clua_results_add_string(clua_results *r, const char *s, size_t len) {
    return clua_results_add_bytes(r, CLUA_V_STRING, s, len);
}

int clua_results_add_json(clua_results *r, const char *s, size_t len) {
    return clua_results_add_bytes(r, CLUA_V_JSON, s, len);
}

int clua_results_add_fields(clua_results *r, const char *s, size_t len, int64_t count) {
    if (!clua_results_add_bytes(r, CLUA_V_FIELDS, s, len)) return 0;
    r->values[r->count - 1].i = count;
    return 1;
}

void clua_results_set_error(clua_results *r, const char *message, int fault_kind) {
    free(r->error);
    size_t len = strlen(message);
    r->error = malloc(len + 1);
    if (r->error) memcpy(r->error, message, len + 1);
    r->fault_kind = fault_kind;
}

static void clua_results_free(clua_results *r) {
    clua_guard_enter_critical(); /* free() takes malloc's locks: the watchdog must not jump out of it */
    for (int i = 0; i < r->count; i++) free(r->values[i].s);
    free(r->error);
    memset(r, 0, sizeof *r);
    clua_guard_leave_critical();
}

/* ---- trampoline ------------------------------------------------------------------------------------------------- */

/* Reads one length-prefixed string of a CLUA_V_FIELDS buffer at *at; returns NULL if the buffer is malformed. */
static const char *clua_fields_next(const clua_value *v, size_t *at, size_t *len) {
    if (v->len - *at < 4) return NULL;
    const unsigned char *p = (const unsigned char *)v->s + *at;
    size_t n = (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 | (size_t)p[3] << 24;
    if (v->len - *at - 4 < n) return NULL;
    *at += 4 + n;
    *len = n;
    return (const char *)p + 4;
}

/* Pushes a CLUA_V_FIELDS value as a table (may raise on memory: runs under the pcall below). The count is checked
 * against the buffer before it sizes the table (each pair takes at least 8 bytes), and the pairs must use the buffer
 * exactly. */
static void clua_push_fields(lua_State *L, const clua_value *v) {
    if (v->i < 0 || v->i > INT32_MAX || (uint64_t)v->i > v->len / 8) luaL_error(L, "host bug: malformed fields buffer");
    lua_createtable(L, 0, (int)v->i);
    size_t at = 0;
    for (int64_t i = 0; i < v->i; i++) {
        size_t key_len = 0, value_len = 0;
        const char *key = clua_fields_next(v, &at, &key_len);
        const char *value = key ? clua_fields_next(v, &at, &value_len) : NULL;
        if (value == NULL) luaL_error(L, "host bug: malformed fields buffer");
        lua_pushlstring(L, key, key_len);
        lua_pushlstring(L, value, value_len);
        lua_rawset(L, -3);
    }
    if (at != v->len) luaL_error(L, "host bug: malformed fields buffer");
}

/* Pushes the values of the results (userdata at index 1). Runs under a nested lua_pcall so an allocation failure
 * while pushing cannot leak the malloc'd strings: the caller frees them either way. */
static int clua_push_results_body(lua_State *L) {
    clua_results *r = (clua_results *)lua_touserdata(L, 1);
    lua_settop(L, 0);
    luaL_checkstack(L, r->count, "host function results");
    for (int i = 0; i < r->count; i++) {
        clua_value *v = &r->values[i];
        switch (v->type) {
        case CLUA_V_BOOL: lua_pushboolean(L, (int)v->i); break;
        case CLUA_V_INT: lua_pushinteger(L, (lua_Integer)v->i); break;
        case CLUA_V_NUMBER: lua_pushnumber(L, v->n); break;
        case CLUA_V_STRING: lua_pushlstring(L, v->s, v->len); break;
        case CLUA_V_JSON:
            if (clua_json_decode_bytes(L, v->s, v->len) != LUA_OK) return lua_error(L);
            break;
        case CLUA_V_FIELDS: clua_push_fields(L, v); break;
        default: lua_pushnil(L); break;
        }
    }
    return r->count;
}

/* Turns a Swift outcome into Lua results, an error or a fault. `r` is always freed. */
static int clua_finish(lua_State *L, int code, clua_results *r) {
    if (code == CLUA_HOST_ERROR || code == CLUA_HOST_FAULT) {
        char message[300];
        snprintf(message, sizeof message, "%s", r->error ? r->error : "host function failed");
        int kind = r->fault_kind;
        clua_results_free(r);
        if (code == CLUA_HOST_FAULT) return clua_raise_fault(L, kind, "%s", message);
        return luaL_error(L, "%s", message);
    }
    int base = lua_gettop(L);
    lua_pushcfunction(L, clua_push_results_body);
    lua_pushlightuserdata(L, r);
    int status = lua_pcall(L, 1, LUA_MULTRET, 0);
    clua_results_free(r);
    if (status != LUA_OK) return lua_error(L);
    return lua_gettop(L) - base;
}

static int clua_host_continue(lua_State *L, int status, lua_KContext ctx) {
    (void)status;
    (void)ctx;
    clua_results r;
    memset(&r, 0, sizeof r);
    clua_guard_enter_critical(); /* Swift frames: the watchdog waits until they return */
    int code = g_resume ? g_resume(L, &r) : CLUA_HOST_ERROR;
    clua_guard_leave_critical();
    if (code == CLUA_HOST_YIELD) code = CLUA_HOST_ERROR; /* a continuation cannot wait again */
    lua_settop(L, 0); /* whatever the resumer passed is not the result: Swift delivers the results */
    return clua_finish(L, code, &r);
}

/* Each host call costs as much budget as this many VM instructions: crossing into Swift is not free, and a loop of
 * cheap host calls (time.sleep(0) forever) must still run out of budget. */
#define CLUA_HOST_CALL_UNITS 1000

static int clua_host_trampoline(lua_State *L) {
    int function_id = (int)lua_tointeger(L, lua_upvalueindex(1));
    clua_charge(L, CLUA_HOST_CALL_UNITS, "host call");
    clua_results r;
    memset(&r, 0, sizeof r);
    clua_guard_enter_critical(); /* Swift frames: the watchdog waits until they return */
    int code = g_call ? g_call(L, function_id, &r) : CLUA_HOST_ERROR;
    clua_guard_leave_critical();
    if (code == CLUA_HOST_YIELD) {
        clua_results_free(&r);
        if (!lua_isyieldable(L))
            return luaL_error(L, "this host function waits for I/O and cannot be called here "
                                 "(inside a metamethod, an iterator or a table.sort comparator)");
        lua_pushlightuserdata(L, clua_host_yield_token());
        return lua_yieldk(L, 1, 0, clua_host_continue);
    }
    return clua_finish(L, code, &r);
}

void clua_push_host_function(lua_State *L, int function_id) {
    lua_pushinteger(L, function_id);
    lua_pushcclosure(L, clua_host_trampoline, 1);
}

/* ---- protected helpers for Swift -------------------------------------------------------------------------------- */

int clua_load_text(lua_State *L, const char *source, size_t len, const char *chunkname) {
    /* lua_load runs the parser protected; mode "t" refuses binary chunks. */
    return luaL_loadbufferx(L, source, len, chunkname, "t");
}

typedef struct clua_thread_args {
    lua_State *thread;
    int ref;
} clua_thread_args;

static int clua_newthread_body(lua_State *L) {
    clua_thread_args *args = (clua_thread_args *)lua_touserdata(L, 1);
    args->thread = lua_newthread(L);
    clua_mark_invocation_thread(L);
    args->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

lua_State *clua_invocation_thread_new(lua_State *L, int *ref) {
    clua_thread_args args = {NULL, LUA_NOREF};
    lua_pushcfunction(L, clua_newthread_body);
    lua_pushlightuserdata(L, &args);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
        lua_pop(L, 1);
        return NULL;
    }
    *ref = args.ref;
    return args.thread;
}

void clua_unref(lua_State *L, int ref) { luaL_unref(L, LUA_REGISTRYINDEX, ref); }

static int clua_ref_body(lua_State *L) {
    int *ref = (int *)lua_touserdata(L, 2);
    lua_settop(L, 1);
    *ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

int clua_ref_top(lua_State *L) {
    int ref = LUA_NOREF;
    lua_pushcfunction(L, clua_ref_body);
    lua_insert(L, -2); /* stack: body, value */
    lua_pushlightuserdata(L, &ref);
    if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
        lua_pop(L, 1);
        return LUA_NOREF;
    }
    return ref;
}

/* A description of any value for error reports, read without metamethods and without allocating in Lua: plugin code
 * (a looping or raising __tostring) must not run on the host's error path, where no budget applies. A table error
 * object contributes its string field `message`, if it has one. */
char *clua_describe_value(lua_State *L, int idx, size_t max_len) {
    char buffer[96];
    const char *text = NULL;
    size_t len = 0;
    idx = lua_absindex(L, idx);
    switch (lua_type(L, idx)) {
    case LUA_TSTRING: text = lua_tolstring(L, idx, &len); break;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) snprintf(buffer, sizeof buffer, "%lld", (long long)lua_tointeger(L, idx));
        else snprintf(buffer, sizeof buffer, "%.14g", (double)lua_tonumber(L, idx));
        text = buffer;
        break;
    case LUA_TBOOLEAN: text = lua_toboolean(L, idx) ? "true" : "false"; break;
    case LUA_TNIL: text = "nil"; break;
    case LUA_TTABLE:
        if (lua_checkstack(L, 3)) {
            lua_pushnil(L);
            while (lua_next(L, idx) != 0) { /* raw traversal: no metamethods, no allocation */
                size_t klen;
                if (lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TSTRING) {
                    const char *key = lua_tolstring(L, -2, &klen);
                    if (klen == 7 && memcmp(key, "message", 7) == 0) {
                        text = lua_tolstring(L, -1, &len);
                        char *copy = malloc((len < max_len ? len : max_len) + 1);
                        if (copy) {
                            if (len > max_len) len = max_len;
                            memcpy(copy, text, len);
                            copy[len] = '\0';
                        }
                        lua_pop(L, 2);
                        return copy;
                    }
                }
                lua_pop(L, 1);
            }
        }
        text = "(error object is a table value)";
        break;
    default:
        snprintf(buffer, sizeof buffer, "(error object is a %s value)", lua_typename(L, lua_type(L, idx)));
        text = buffer;
        break;
    }
    if (len == 0) len = strlen(text);
    if (len > max_len) len = max_len;
    char *copy = malloc(len + 1);
    if (copy == NULL) return NULL;
    memcpy(copy, text, len);
    copy[len] = '\0';
    return copy;
}

int clua_error_retryable(lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) != LUA_TTABLE || !lua_checkstack(L, 3)) return -1;
    int found = -1;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) { /* raw traversal: no metamethods, no allocation */
        size_t klen;
        if (found == -1 && lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TBOOLEAN) {
            const char *key = lua_tolstring(L, -2, &klen);
            if (klen == 9 && memcmp(key, "retryable", 9) == 0) found = lua_toboolean(L, -1);
        }
        lua_pop(L, 1);
    }
    return found;
}

int clua_error_flag(lua_State *L, int idx, const char *name) {
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) != LUA_TTABLE || !lua_checkstack(L, 3)) return -1;
    size_t nlen = strlen(name);
    int found = -1;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) { /* raw traversal: no metamethods */
        size_t klen;
        if (found == -1 && lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TBOOLEAN) {
            const char *key = lua_tolstring(L, -2, &klen);
            if (klen == nlen && memcmp(key, name, nlen) == 0) found = lua_toboolean(L, -1);
        }
        lua_pop(L, 1);
    }
    return found;
}

long long clua_error_retry_after_ms(lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) != LUA_TTABLE || !lua_checkstack(L, 3)) return -1;
    long long found = -1;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) { /* raw traversal, as above */
        size_t klen;
        if (found == -1 && lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TNUMBER) {
            const char *key = lua_tolstring(L, -2, &klen);
            if (klen == 14 && memcmp(key, "retry_after_ms", 14) == 0) {
                lua_Number n = lua_tonumber(L, -1);
                if (n >= 0 && n <= 86400000.0) found = (long long)n;
            }
        }
        lua_pop(L, 1);
    }
    return found;
}

static int clua_pushlstring_body(lua_State *L) {
    const char *s = (const char *)lua_touserdata(L, 1);
    size_t len = (size_t)lua_tointeger(L, 2);
    lua_pushlstring(L, s, len);
    return 1;
}

int clua_pushlstring_protected(lua_State *L, const char *s, size_t len) {
    if (!lua_checkstack(L, 4)) return 0;
    lua_pushcfunction(L, clua_pushlstring_body);
    lua_pushlightuserdata(L, (void *)s);
    lua_pushinteger(L, (lua_Integer)len);
    if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
        lua_pop(L, 1);
        return 0;
    }
    return 1;
}

typedef struct clua_traceback_args {
    lua_State *co;
    const char *msg;
    char *out;
} clua_traceback_args;

static int clua_traceback_body(lua_State *L) {
    clua_traceback_args *args = (clua_traceback_args *)lua_touserdata(L, 1);
    luaL_traceback(L, args->co, args->msg, 0);
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    args->out = malloc(len + 1);
    if (args->out) memcpy(args->out, s, len + 1);
    return 0;
}

char *clua_traceback(lua_State *L, lua_State *co, const char *msg) {
    clua_traceback_args args = {co, msg, NULL};
    if (!lua_checkstack(L, 4)) return NULL;
    lua_pushcfunction(L, clua_traceback_body);
    lua_pushlightuserdata(L, &args);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
        lua_pop(L, 1);
        free(args.out);
        return NULL;
    }
    return args.out;
}

/* Resolves t[name] for the table at tidx without metamethods and refs the value if it is a function. Returns the ref,
 * LUA_REFNIL when absent, or -3 when present but not a function. Protected. */
typedef struct clua_field_args {
    const char *name;
    int result;
} clua_field_args;

/* Arguments: the table, the args pointer. */
static int clua_ref_function_body(lua_State *L) {
    clua_field_args *args = (clua_field_args *)lua_touserdata(L, 2);
    lua_settop(L, 1);
    lua_pushstring(L, args->name);
    int type = lua_rawget(L, 1);
    if (type == LUA_TNIL) args->result = LUA_REFNIL;
    else if (type != LUA_TFUNCTION) args->result = -3;
    else args->result = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

int clua_ref_function_field(lua_State *L, int tidx, const char *name) {
    clua_field_args args = {name, LUA_REFNIL};
    if (!lua_checkstack(L, 4)) return LUA_NOREF;
    tidx = lua_absindex(L, tidx);
    lua_pushcfunction(L, clua_ref_function_body);
    lua_pushvalue(L, tidx);
    lua_pushlightuserdata(L, &args);
    if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
        lua_pop(L, 1);
        return LUA_NOREF;
    }
    return args.result;
}
