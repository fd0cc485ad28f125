/*
 * clua.h — the C side of Conflux's Lua runtime.
 *
 * Two jobs live here, and only here:
 *   1. Lua 5.4's API macros (lua_pop, lua_pcall, lua_newtable, …) as static inline functions, because C macros do not
 *      import into Swift.
 *   2. Everything that may raise a Lua error (longjmp). A Lua error must never unwind through a Swift frame, so any
 *      operation that can raise — allocation, metamethods, the JSON codec, the guarded string functions — is written
 *      in C and entered from Swift only through lua_pcall / lua_resume of a C function (see clua_pcall_* below).
 *
 * Our own symbols are prefixed clua_. The sandbox state of a lua_State lives in a clua_sandbox reached through
 * lua_getextraspace, which every coroutine inherits from its main thread.
 */
#ifndef CLUA_H
#define CLUA_H

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------------------------------------------------------
 * Lua macros as functions
 * ---------------------------------------------------------------------------------------------------------------- */
/* Only the macros the Swift side needs, and only ones that cannot raise (see the rule at the top of LuaState.swift):
 * a wrapper for lua_pcall or lua_tostring here would invite exactly the calls Swift must not make. */
static inline void clua_pop(lua_State *L, int n) { lua_pop(L, n); }
static inline void clua_replace(lua_State *L, int idx) { lua_replace(L, idx); }
static inline int clua_registryindex(void) { return LUA_REGISTRYINDEX; }

/* ------------------------------------------------------------------------------------------------------------------
 * Sandbox state
 * ---------------------------------------------------------------------------------------------------------------- */

/* Why an invocation was stopped. Mirrors LuaError.Kind on the Swift side. */
typedef enum clua_fault {
    CLUA_FAULT_NONE = 0,
    CLUA_FAULT_CPU = 1,        /* instruction budget or running-time deadline */
    CLUA_FAULT_MEMORY = 2,     /* the state's allocator cap */
    CLUA_FAULT_STACK = 3,      /* Lua call depth */
    CLUA_FAULT_LIMIT = 4,      /* a bounded C function (patterns, string.rep, format, concat, json) refused the work */
    CLUA_FAULT_PERMISSION = 5  /* a forbidden operation (binary chunk, __gc, global write, …) */
} clua_fault;

/* Limits of one state. Zero means "no limit" for every field (used by the "limits off" benchmark baseline). */
typedef struct clua_limits {
    size_t memory_bytes;      /* hard cap on the bytes the state's allocator may hold */
    int64_t instructions;     /* VM instructions per invocation, summed across coroutines and yields */
    int64_t cpu_ns;           /* running (not waiting) wall-clock time per invocation, monotonic */
    int call_depth;           /* Lua call depth of any one coroutine */
    size_t string_bytes;      /* largest string string.rep / string.format / table.concat / gsub may build */
    int64_t pattern_steps;    /* matcher steps one find/match/gmatch-iteration/gsub call may take */
    size_t json_bytes;        /* largest JSON text decoded or encoded */
    int json_depth;           /* deepest JSON nesting decoded or encoded */
    int hook_interval;        /* instructions between budget checks (count hook); must be > 0 when limits are on */
} clua_limits;

typedef struct clua_sandbox {
    clua_limits limits;
    int enabled;              /* 0: no hook, no caps (benchmark baseline only) */

    /* allocator accounting (whole state) */
    size_t mem_used;
    size_t mem_peak;
    size_t alloc_refused_size; /* size of the last refused request; a second refusal of it is a memory fault */

    /* current invocation accounting, swapped in and out by the host around every resume */
    int64_t instr_used;
    int64_t cpu_used_ns;       /* running time (thread CPU time) of the invocation before the current slice */
    uint64_t slice_start_ns;   /* thread CPU time when the current slice started; 0 outside invocations */
    uint64_t slice_start_wall_ns; /* monotonic time read just before slice_start_ns: bounds the CPU time since */
    uint64_t wall_deadline_ns; /* monotonic time the invocation must end by (wall_ms); 0 = none */

    /* fault: once set, the count hook re-raises on every instruction so pcall cannot swallow it */
    int fault;                 /* clua_fault */
    char fault_message[320];

    /* host context pointer for Swift callbacks (opaque to C) */
    void *host;
} clua_sandbox;

/* The sandbox of L (any coroutine of the state). */
static inline clua_sandbox *clua_sandbox_of(lua_State *L) { return *(clua_sandbox **)lua_getextraspace(L); }

/* Monotonic clock in nanoseconds. */
uint64_t clua_now_ns(void);
/* CPU time of the calling thread in nanoseconds: the running-time budget is measured with it, so a loaded machine
 * (time slices lost to other processes) does not eat a plugin's budget. */
uint64_t clua_thread_cpu_ns(void);
/* Whether the invocation has run out of running time or passed its wall-clock deadline; writes the reason. */
int clua_time_exceeded(clua_sandbox *sb, char *message, size_t size);

/* Create a state whose allocator counts into a new clua_sandbox with these limits. Returns NULL on failure.
 * The sandbox is freed by clua_close. Standard libraries are NOT opened; see clua_sandbox_install. */
lua_State *clua_newstate(const clua_limits *limits, int enabled);
/* Close the state, then free its sandbox. Returns the bytes still counted just before lua_close (for leak checks). */
void clua_close(lua_State *L);

/* Records a fault, arms the hook to re-raise on the next instruction of every running coroutine, and raises a Lua
 * error whose message is the formatted text. Never returns. Use from C functions only (never from Swift). */
int clua_raise_fault(lua_State *L, int kind, const char *fmt, ...);

/* The same, locating the message at call-stack level `level` (as luaL_where) instead of 1. */
int clua_raise_fault_at(lua_State *L, int level, int kind, const char *fmt, ...);

/* Whether a fault is recorded; and raising it again (from C functions the prelude calls after a pcall or a coroutine
 * resume caught it). */
int clua_fault_pending(lua_State *L);
void clua_reraise_pending(lua_State *L);

/* Clears the fault of the state (between invocations). */
void clua_clear_fault(lua_State *L);

/* (Re)arms the count hook of one coroutine with the state's interval; call on each coroutine before resuming it. */
void clua_arm_hook(lua_State *co);

/* Begins / ends a running slice of the current invocation: loads the invocation's counters into the sandbox before a
 * resume, and reads them back after it. */
void clua_slice_begin(lua_State *L, int64_t instr_used, int64_t cpu_used_ns, uint64_t wall_deadline_ns);
void clua_slice_end(lua_State *L, int64_t *instr_used, int64_t *cpu_used_ns);

/* ------------------------------------------------------------------------------------------------------------------
 * Sandbox environment
 * ---------------------------------------------------------------------------------------------------------------- */

/* Builds the sandbox of a fresh state (protected; returns the lua_pcall status, message on the stack on failure):
 * opens the allowed libraries into private tables, installs the guarded C functions, locks the string metatable,
 * replaces the global table with a new empty one and runs the host's prelude with
 * (env, raw libraries, host functions by name, host yield token, fault function, json module, invocation threads). */
int clua_setup(lua_State *L, const char *prelude, size_t prelude_len, const char *const *host_names, int host_count);

/* Adds the thread at the top of the stack to the set of host-owned invocation threads (plugin code may not resume or
 * close them). Allocates: call protected. */
void clua_mark_invocation_thread(lua_State *L);

/* The unique light userdata a host function yields with, so coroutine wrappers can tell a host yield from a plugin's. */
void *clua_host_yield_token(void);

/* ------------------------------------------------------------------------------------------------------------------
 * Guarded C functions (lua_CFunctions; each reads its bounds from clua_sandbox_of(L)->limits)
 * ---------------------------------------------------------------------------------------------------------------- */
int clua_str_find(lua_State *L);    /* string.find: own matcher with a step budget */
int clua_str_match(lua_State *L);   /* string.match */
int clua_str_gmatch(lua_State *L);  /* string.gmatch */
int clua_str_gsub(lua_State *L);    /* string.gsub, result bounded by string_bytes */
int clua_str_rep(lua_State *L);     /* string.rep, result bounded by string_bytes */
int clua_str_format(lua_State *L);  /* string.format, result bounded by string_bytes */
int clua_tab_concat(lua_State *L);  /* table.concat, result bounded by string_bytes */
/* rep and format call their original (upvalue 1) after their checks. */

/* Charges `units` instruction-equivalents of C work to the invocation (cpu fault when over budget). */
void clua_charge(lua_State *L, int64_t units, const char *what);
/* Wraps the functions of library table `lib` (at the top of the stack) that do work proportional to their arguments
 * so they charge it first. lib is "string", "table", "utf8", "coroutine" or "_G". */
void clua_install_charges(lua_State *L, const char *lib);

/* ------------------------------------------------------------------------------------------------------------------
 * Watchdog (clua_watchdog.c)
 * ---------------------------------------------------------------------------------------------------------------- */
/* lua_resume under the watchdog: returns lua_resume's status, or CLUA_STATUS_KILLED when the slice used more than
 * `stuck_after_ns` of thread CPU time (stuck inside one C operation the hook cannot interrupt). After a kill the state
 * must not be used again, not even closed. stuck_after_ns <= 0 resumes unwatched. `slice_start_cpu_ns` is this
 * thread's CPU time read just before (clua_slice_begin's reading), or 0 to read it here: the thread's CPU clock is a
 * system call, not a vDSO read, and there were three per resume. */
#define CLUA_STATUS_KILLED (-100)
int clua_resume_watched(lua_State *co, lua_State *from, int nargs, int *nresults, int64_t stuck_after_ns,
                        uint64_t slice_start_cpu_ns);
/* Regions where the watchdog must not jump (malloc's locks, Swift frames); a kill requested meanwhile happens on exit. */
void clua_guard_enter_critical(void);
void clua_guard_leave_critical(void);

/* ------------------------------------------------------------------------------------------------------------------
 * Source checks (clua_source_check.c)
 * ---------------------------------------------------------------------------------------------------------------- */
/* Longest chain of index operations (a.b[c].d…) in one expression of the source text; pure C, no Lua calls. */
#define CLUA_INDEX_CHAIN_LIMIT 256
long clua_max_index_chain(const char *src, size_t len);
/* Lua-callable check_source(text): a `limit` fault when the text exceeds CLUA_INDEX_CHAIN_LIMIT. */
int clua_lua_check_source(lua_State *L);

/* ------------------------------------------------------------------------------------------------------------------
 * JSON (RFC 8259) <-> Lua values
 * ---------------------------------------------------------------------------------------------------------------- */
/* Lua-callable: json.decode(string) -> value ; json.encode(value) -> string. Upvalue 1: the json.null sentinel,
 * upvalue 2: the array marker metatable. Errors name the byte offset (decode) or the path (encode). */
int clua_json_decode(lua_State *L);
int clua_json_encode(lua_State *L);
/* Pushes the `json` module table (decode, encode, null, array, object, is_array). */
int clua_json_open(lua_State *L);

/* Host-side entry points, protected: decode the bytes into a value left on the stack, or encode the value at the top
 * of the stack into a string left on the stack (replacing it). Return LUA_OK or an error status with the message on
 * the stack. */
int clua_json_decode_bytes(lua_State *L, const char *bytes, size_t len);
int clua_json_encode_top(lua_State *L);

/* ------------------------------------------------------------------------------------------------------------------
 * Host functions written in Swift
 *
 * A Swift host function never touches the Lua stack in a way that can raise. It reads its arguments with
 * non-raising calls, then fills a clua_results (plain C memory, no Lua calls), and returns one of the codes below.
 * The C trampoline pushes the results, raises the error, or yields — all in C.
 * ---------------------------------------------------------------------------------------------------------------- */
enum {
    CLUA_HOST_RETURN = 0,   /* push results and return them */
    CLUA_HOST_ERROR = 1,    /* raise results.error as a runtime error (at the caller's location) */
    CLUA_HOST_FAULT = 2,    /* raise results.error as a fault of kind results.fault_kind */
    CLUA_HOST_YIELD = 3     /* yield to the host scheduler; results arrive later through the continuation */
};

typedef enum clua_value_type {
    CLUA_V_NIL = 0, CLUA_V_BOOL, CLUA_V_INT, CLUA_V_NUMBER, CLUA_V_STRING, CLUA_V_JSON, CLUA_V_FIELDS
} clua_value_type;

typedef struct clua_value {
    int type;              /* clua_value_type */
    int64_t i;             /* CLUA_V_BOOL, CLUA_V_INT */
    double n;              /* CLUA_V_NUMBER */
    char *s;               /* CLUA_V_STRING, CLUA_V_JSON (JSON text to decode into a value), CLUA_V_FIELDS (see
                              clua_results_add_fields): malloc'd, freed by C */
    size_t len;
} clua_value;

#define CLUA_MAX_RESULTS 8
typedef struct clua_results {
    int count;
    clua_value values[CLUA_MAX_RESULTS];
    char *error;           /* malloc'd message for CLUA_HOST_ERROR / CLUA_HOST_FAULT */
    int fault_kind;
} clua_results;

/* Filling results from Swift (copies the bytes; no Lua calls). Return 0 when full or out of memory. */
int clua_results_add_nil(clua_results *r);
int clua_results_add_bool(clua_results *r, int b);
int clua_results_add_int(clua_results *r, int64_t i);
int clua_results_add_number(clua_results *r, double n);
int clua_results_add_string(clua_results *r, const char *s, size_t len);
int clua_results_add_json(clua_results *r, const char *s, size_t len);
/* A table of string keys and string values, pushed without a JSON round trip: `s` holds `count` pairs, each key then
 * value as a 4-byte little-endian length followed by that many bytes. Keys repeated later overwrite earlier ones. */
int clua_results_add_fields(clua_results *r, const char *s, size_t len, int64_t count);
void clua_results_set_error(clua_results *r, const char *message, int fault_kind);

/* The Swift side of a host function: (L, function id, results) -> CLUA_HOST_* code. */
typedef int (*clua_host_callback)(lua_State *L, int function_id, clua_results *results);
/* The Swift side of an async continuation: fills the results of the operation the coroutine L was waiting for. */
typedef int (*clua_resume_callback)(lua_State *L, clua_results *results);

/* Installs the two callbacks (process-wide; set once at start-up). */
void clua_set_host_callbacks(clua_host_callback call, clua_resume_callback resume);
/* Pushes a Lua function that calls host function `function_id` through the trampoline. Does not raise if the stack has
 * room (a C closure with one integer upvalue allocates: call under pcall). */
void clua_push_host_function(lua_State *L, int function_id);

/* ------------------------------------------------------------------------------------------------------------------
 * Protected helpers for the Swift host
 * ---------------------------------------------------------------------------------------------------------------- */
/* Load source text (mode "t" only) as a chunk named chunkname with the state's sandbox globals as _ENV.
 * Leaves the function (or an error message) on the stack; returns the lua_load status. */
int clua_load_text(lua_State *L, const char *source, size_t len, const char *chunkname);
/* Protected: creates a thread for one invocation, marks it host-owned, refs it in the registry (*ref). Nothing is left
 * on the stack. Returns NULL when out of memory. */
lua_State *clua_invocation_thread_new(lua_State *L, int *ref);
/* Unrefs a registry ref (never raises). */
void clua_unref(lua_State *L, int ref);
/* Protected: pops the value at the top and refs it in the registry. Returns LUA_NOREF on failure. */
int clua_ref_top(lua_State *L);
/* Protected: rawget of field `name` of the table at tidx; refs it if it is a function. Returns the ref, LUA_REFNIL if
 * absent, -3 if present but not a function, LUA_NOREF on failure. */
int clua_ref_function_field(lua_State *L, int tidx, const char *name);
/* Protected: converts any value at idx to a string copy for error reporting (honours __tostring under protection, with
 * a size cap). Returns a malloc'd NUL-terminated string the caller frees with clua_free, or NULL. */
char *clua_describe_value(lua_State *L, int idx, size_t max_len);
/* For an error object that is a table: its boolean field `retryable` (1 or 0), or -1 when it has none. Raw access. */
int clua_error_retryable(lua_State *L, int idx);
/* Its numeric field `retry_after_ms` (0 to one day), or -1 when it has none. Raw access. */
long long clua_error_retry_after_ms(lua_State *L, int idx);
/* Its boolean field `name` (1 or 0), or -1 when it has none. Raw access. */
int clua_error_flag(lua_State *L, int idx, const char *name);
/* Pushes a string under protection. Returns 0 on failure (nothing pushed). */
int clua_pushlstring_protected(lua_State *L, const char *s, size_t len);
void clua_free(void *p);

/* Traceback of the coroutine co (for errors raised in a resumed coroutine). Returns a malloc'd string or NULL. */
char *clua_traceback(lua_State *L, lua_State *co, const char *msg);

#endif
