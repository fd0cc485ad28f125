/*
 * clua_sandbox.c — the limits of one lua_State: the counting allocator, the instruction/deadline/depth hook, and
 * faults that pcall cannot swallow.
 *
 * Why faults are sticky: a plugin that hits its CPU or memory budget could otherwise wrap the offending code in pcall
 * and keep going. Once a fault is recorded, the count hook of the running coroutine is re-armed to fire on the very
 * next instruction and raise again (the technique Redis uses for its script timeout), and every other coroutine of
 * the state raises at its next check. Only the host clears a fault, between invocations.
 */
#define _POSIX_C_SOURCE 200809L
#include "clua.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Memory a faulted state may still use beyond its cap, so raising and reporting the fault cannot itself fail. */
#define CLUA_FAULT_RESERVE (256 * 1024)

uint64_t clua_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* "file:line: " of the function at call-stack `level`, without allocating (lua_getinfo "Sl" fills lua_Debug's own
 * buffer), so it also works when the state is out of memory. Empty when the level is a C function. */
static void clua_where(lua_State *L, int level, char *out, size_t size) {
    lua_Debug ar;
    out[0] = '\0';
    if (lua_getstack(L, level, &ar) && lua_getinfo(L, "Sl", &ar) && ar.currentline > 0)
        snprintf(out, size, "%s:%d: ", ar.short_src, ar.currentline);
}

uint64_t clua_thread_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int clua_time_exceeded(clua_sandbox *sb, char *message, size_t size) {
    const clua_limits *lim = &sb->limits;
    if (lim->cpu_ns > 0 && sb->slice_start_ns != 0) { /* slice_start_ns is 0 outside a timed slice */
        /* A thread cannot run for longer than the wall-clock time that passed. While that bound is within the budget
         * the budget cannot be spent, and the thread's CPU clock, a system call (the monotonic clock is not), need not
         * be read: it was three system calls per http.request, 2.5% of the HTTP benchmark's client CPU. */
        int64_t bound = sb->cpu_used_ns + (int64_t)(clua_now_ns() - sb->slice_start_wall_ns);
        int64_t ran = bound > lim->cpu_ns ? sb->cpu_used_ns + (int64_t)(clua_thread_cpu_ns() - sb->slice_start_ns) : 0;
        if (ran > lim->cpu_ns) {
            snprintf(message, size, "running-time budget of %lld ms exceeded", (long long)(lim->cpu_ns / 1000000));
            return 1;
        }
    }
    if (sb->wall_deadline_ns != 0 && clua_now_ns() > sb->wall_deadline_ns) {
        snprintf(message, size, "wall-clock deadline of the invocation passed");
        return 1;
    }
    return 0;
}

static void clua_record_fault(clua_sandbox *sb, int kind, const char *message) {
    if (sb->fault != CLUA_FAULT_NONE) return; /* the first cause is the one worth reporting */
    sb->fault = kind;
    snprintf(sb->fault_message, sizeof sb->fault_message, "%s", message);
}

/*
 * The allocator. Lua retries a failed allocation once after an emergency full collection, so a single refusal is not
 * yet a fault: only a second refusal of the same request (the collection did not help) records one. A refusal Lua
 * does not retry surfaces as an ordinary "not enough memory" error, which the sandbox's pcall wrappers turn into a
 * fault.
 */
static void *clua_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    clua_sandbox *sb = (clua_sandbox *)ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        clua_guard_enter_critical();
        free(ptr);
        sb->mem_used -= old;
        clua_guard_leave_critical();
        return NULL;
    }
    if (sb->enabled && sb->limits.memory_bytes > 0 && nsize > old) {
        size_t cap = sb->limits.memory_bytes + (sb->fault ? CLUA_FAULT_RESERVE : 0);
        if (sb->mem_used - old + nsize > cap) {
            if (sb->alloc_refused_size == nsize) {
                char message[160];
                snprintf(message, sizeof message, "memory limit of %zu bytes exceeded (the state holds %zu bytes)",
                         sb->limits.memory_bytes, sb->mem_used);
                clua_record_fault(sb, CLUA_FAULT_MEMORY, message);
            }
            sb->alloc_refused_size = nsize;
            return NULL;
        }
    }
    clua_guard_enter_critical(); /* never let the watchdog jump out of malloc's locks */
    void *block = realloc(ptr, nsize);
    if (block != NULL) {
        sb->alloc_refused_size = 0;
        sb->mem_used = sb->mem_used - old + nsize;
        if (sb->mem_used > sb->mem_peak) sb->mem_peak = sb->mem_used;
    }
    clua_guard_leave_critical();
    return block;
}

static void clua_hook(lua_State *L, lua_Debug *ar);
static void clua_raise_recorded(lua_State *L, clua_sandbox *sb);

int clua_fault_pending(lua_State *L) {
    clua_sandbox *sb = clua_sandbox_of(L);
    return sb != NULL && sb->fault != CLUA_FAULT_NONE;
}

void clua_reraise_pending(lua_State *L) {
    clua_sandbox *sb = clua_sandbox_of(L);
    if (sb != NULL && sb->fault != CLUA_FAULT_NONE) clua_raise_recorded(L, sb);
}

static void clua_raise_recorded(lua_State *L, clua_sandbox *sb) {
    lua_sethook(L, clua_hook, LUA_MASKCOUNT, 1); /* fire again on the next instruction: pcall cannot end this */
    lua_pushstring(L, sb->fault_message);
    lua_error(L);
}

/*
 * Stopping from inside the hook. Lua runs hooks with L->allowhook = 0 and an error raised from a hook unwinds without
 * restoring it until the next protected call, so an xpcall message handler, or the __close handlers closed when the
 * coroutine dies, would run with hooks off: unbounded. So where the coroutine can yield, the hook yields instead
 * (Lua restores allowhook before a hook's yield takes effect) and the host, seeing the recorded fault, ends the
 * invocation without resuming it. Where it cannot yield (a metamethod or callback called from C), it raises; the
 * prelude's xpcall wrapper then skips the plugin's handler, and the host does not run __close handlers of a faulted
 * coroutine.
 */
static void clua_stop_from_hook(lua_State *L, clua_sandbox *sb) {
    if (lua_isyieldable(L)) {
        lua_sethook(L, clua_hook, LUA_MASKCOUNT, 1);
        lua_yield(L, 0);
        return;
    }
    clua_raise_recorded(L, sb);
}

static void clua_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    clua_sandbox *sb = clua_sandbox_of(L);
    if (sb->fault != CLUA_FAULT_NONE) {
        clua_stop_from_hook(L, sb);
        return;
    }
    const clua_limits *lim = &sb->limits;
    sb->instr_used += lim->hook_interval;
    char message[sizeof sb->fault_message];
    char where[200];
    clua_where(L, 0, where, sizeof where);
    if (lim->instructions > 0 && sb->instr_used > lim->instructions) {
        snprintf(message, sizeof message, "%sinstruction budget of %lld exceeded", where, (long long)lim->instructions);
        clua_record_fault(sb, CLUA_FAULT_CPU, message);
        clua_stop_from_hook(L, sb);
        return;
    }
    char reason[120];
    if (clua_time_exceeded(sb, reason, sizeof reason)) {
        snprintf(message, sizeof message, "%s%s", where, reason);
        clua_record_fault(sb, CLUA_FAULT_CPU, message);
        clua_stop_from_hook(L, sb);
        return;
    }
    if (lim->call_depth > 0) {
        /* lua_getstack walks at most min(depth, call_depth) frames: cheap for the shallow stacks of normal code. */
        lua_Debug probe;
        if (lua_getstack(L, lim->call_depth, &probe)) {
            snprintf(message, sizeof message, "%scall depth limit of %d exceeded", where, lim->call_depth);
            clua_record_fault(sb, CLUA_FAULT_STACK, message);
            clua_stop_from_hook(L, sb);
            return;
        }
    }
}

void clua_arm_hook(lua_State *co) {
    clua_sandbox *sb = clua_sandbox_of(co);
    if (!sb->enabled || sb->limits.hook_interval <= 0) {
        lua_sethook(co, NULL, 0, 0);
        return;
    }
    lua_sethook(co, clua_hook, LUA_MASKCOUNT, sb->fault ? 1 : sb->limits.hook_interval);
}

static int clua_raise_fault_v(lua_State *L, int level, int kind, const char *fmt, va_list ap) {
    clua_sandbox *sb = clua_sandbox_of(L);
    char message[sizeof sb->fault_message];
    vsnprintf(message, sizeof message, fmt, ap);
    if (sb == NULL || !sb->enabled) return luaL_error(L, "%s", message);
    /* Prefix the plugin's location, as luaL_error would, so the report names the line that caused it. */
    char where[200];
    clua_where(L, level, where, sizeof where);
    char located[sizeof sb->fault_message];
    snprintf(located, sizeof located, "%s%s", where, message);
    clua_record_fault(sb, kind, located);
    clua_raise_recorded(L, sb);
    return 0; /* not reached */
}

int clua_raise_fault(lua_State *L, int kind, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    clua_raise_fault_v(L, 1, kind, fmt, ap);
    va_end(ap);
    return 0; /* not reached */
}

int clua_raise_fault_at(lua_State *L, int level, int kind, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    clua_raise_fault_v(L, level, kind, fmt, ap);
    va_end(ap);
    return 0; /* not reached */
}

void clua_clear_fault(lua_State *L) {
    clua_sandbox *sb = clua_sandbox_of(L);
    sb->fault = CLUA_FAULT_NONE;
    sb->fault_message[0] = '\0';
    sb->alloc_refused_size = 0;
}

void clua_slice_begin(lua_State *L, int64_t instr_used, int64_t cpu_used_ns, uint64_t wall_deadline_ns) {
    clua_sandbox *sb = clua_sandbox_of(L);
    sb->instr_used = instr_used;
    sb->cpu_used_ns = cpu_used_ns;
    sb->wall_deadline_ns = wall_deadline_ns;
    /* The wall clock first, so the wall interval from here always contains the CPU interval (see time_exceeded).
     * Reading a thread's CPU clock is a system call: only pay it when there is a budget to measure against. */
    sb->slice_start_wall_ns = clua_now_ns();
    sb->slice_start_ns = (sb->enabled && sb->limits.cpu_ns > 0) ? clua_thread_cpu_ns() : 0;
}

void clua_slice_end(lua_State *L, int64_t *instr_used, int64_t *cpu_used_ns) {
    clua_sandbox *sb = clua_sandbox_of(L);
    *instr_used = sb->instr_used;
    *cpu_used_ns = sb->cpu_used_ns + (sb->slice_start_ns ? (int64_t)(clua_thread_cpu_ns() - sb->slice_start_ns) : 0);
}

static int clua_panic(lua_State *L) {
    /* Every entry from the host is protected; reaching here is a host bug. Say what happened before abort(). */
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "conflux: unprotected Lua error (host bug): %s\n", msg ? msg : "(not a string)");
    return 0;
}

lua_State *clua_newstate(const clua_limits *limits, int enabled) {
    clua_sandbox *sb = calloc(1, sizeof *sb);
    if (sb == NULL) return NULL;
    sb->limits = *limits;
    sb->enabled = enabled;
    lua_State *L = lua_newstate(clua_alloc, sb);
    if (L == NULL) {
        free(sb);
        return NULL;
    }
    *(clua_sandbox **)lua_getextraspace(L) = sb; /* copied into every thread created from L */
    lua_atpanic(L, clua_panic);
    clua_arm_hook(L);
    return L;
}

void clua_close(lua_State *L) {
    clua_sandbox *sb = clua_sandbox_of(L);
    lua_close(L);
    free(sb);
}
