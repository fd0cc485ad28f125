/*
 * clua_watchdog.c — the last line of defence: stopping a state stuck inside one C operation.
 *
 * The count hook runs between VM instructions, and every C library function a plugin can call is bounded or charged
 * (clua_guards.c, clua_pattern.c, clua_json.c). One thing is not: a single table store that triggers a rehash. Lua
 * 5.4's integer-key hash is unseeded (key mod (2^k - 1)), so a plugin can build a table whose keys all collide and
 * whose next resize re-inserts them in O(n^2) inside one instruction — tens of seconds for a 6 MB table, far inside the
 * memory cap. No budget check can run during it.
 *
 * So every resume runs under a watchdog. A monitor thread watches the running slices; when one has used more CPU time
 * than the profile's running-time budget plus a grace period — long after the hook would have stopped any Lua code —
 * it signals the stuck thread, whose handler siglongjmps back to the resume. The state is then abandoned
 * without another Lua call (its structures may be half-updated): the host leaks it on purpose, up to its memory cap,
 * and builds a fresh one.
 *
 * The jump only happens while the thread is inside Lua's own C code. While it is inside the allocator (malloc's locks)
 * or inside a Swift host function, the handler only records the request, and the jump happens at the exit of that
 * region.
 */
#define _GNU_SOURCE
#include "clua.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CLUA_WATCHDOG_SIGNAL SIGUSR2
#define CLUA_WATCHDOG_PERIOD_NS 20000000ll /* 20 ms */
#define CLUA_MAX_GUARDED_THREADS 512

typedef struct clua_guard {
    sigjmp_buf env;
    pthread_t thread;
    clockid_t cpu_clock;                /* this thread's CPU-time clock, readable by the monitor thread */
    _Atomic int active;                 /* a watched resume is running on this thread */
    _Atomic uint64_t deadline_ns;       /* thread CPU time after which the slice counts as stuck */
    _Atomic uint64_t generation;        /* bumped per watched resume */
    _Atomic uint64_t signaled_generation;
    volatile sig_atomic_t in_critical;  /* inside the allocator or a Swift host function: do not jump now */
    volatile sig_atomic_t kill_requested;
    _Atomic int retired;                /* its thread exited; the guard waits for a new thread to adopt it */
} clua_guard;

static clua_guard *g_guards[CLUA_MAX_GUARDED_THREADS];
static _Atomic int g_guard_count = 0;
static pthread_once_t g_watchdog_once = PTHREAD_ONCE_INIT;
static pthread_key_t g_guard_key;
static pthread_mutex_t g_guard_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread clua_guard *tls_guard = NULL;

static uint64_t clua_clock_ns(clockid_t clock) {
    struct timespec ts;
    if (clock_gettime(clock, &ts) != 0) return 0;
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void clua_watchdog_handler(int sig, siginfo_t *info, void *context) {
    (void)sig;
    (void)info;
    (void)context;
    clua_guard *g = tls_guard;
    if (g == NULL || !atomic_load(&g->active)) return;
    if (atomic_load(&g->signaled_generation) != atomic_load(&g->generation)) return; /* a late signal for an old slice */
    /* Re-check against this slice's own deadline (clock_gettime is async-signal-safe): the monitor may have paired a
     * new generation with the previous slice's deadline. */
    uint64_t deadline = atomic_load(&g->deadline_ns);
    if (deadline == 0 || clua_clock_ns(g->cpu_clock) <= deadline) return;
    if (g->in_critical) {
        g->kill_requested = 1;
        return;
    }
    siglongjmp(g->env, 1);
}

static void *clua_watchdog_main(void *unused) {
    (void)unused;
    struct timespec period = {0, CLUA_WATCHDOG_PERIOD_NS};
    for (;;) {
        nanosleep(&period, NULL);
        int count = atomic_load(&g_guard_count);
        for (int i = 0; i < count; i++) {
            clua_guard *g = g_guards[i];
            if (g == NULL || atomic_load(&g->retired) || !atomic_load(&g->active)) continue;
            /* CPU time, not wall time: a loaded machine slows a slice down but does not make it look stuck. */
            uint64_t now = clua_clock_ns(g->cpu_clock);
            if (now == 0) continue;
            uint64_t deadline = atomic_load(&g->deadline_ns);
            uint64_t generation = atomic_load(&g->generation);
            if (deadline != 0 && now > deadline && atomic_load(&g->signaled_generation) != generation) {
                atomic_store(&g->signaled_generation, generation);
                pthread_kill(g->thread, CLUA_WATCHDOG_SIGNAL);
            }
        }
    }
    return NULL;
}

/* A guard outlives its thread (the monitor may still be reading it): when the thread exits, the guard is retired and
 * the next new thread adopts it, so the fixed table of slots is not used up by the executor's thread churn. */
static void clua_guard_retire(void *guard) {
    clua_guard *g = (clua_guard *)guard;
    atomic_store(&g->active, 0);
    atomic_store(&g->retired, 1);
}

static void clua_watchdog_start(void) {
    pthread_key_create(&g_guard_key, clua_guard_retire);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = clua_watchdog_handler;
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&action.sa_mask);
    sigaction(CLUA_WATCHDOG_SIGNAL, &action, NULL);
    pthread_t monitor;
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    pthread_create(&monitor, &attributes, clua_watchdog_main, NULL);
    pthread_attr_destroy(&attributes);
}

/* The guard of the calling thread, created and registered on first use (threads of the pool are long-lived). */
static clua_guard *clua_thread_guard(void) {
    if (tls_guard != NULL) return tls_guard;
    pthread_once(&g_watchdog_once, clua_watchdog_start);
    clockid_t cpu_clock;
    if (pthread_getcpuclockid(pthread_self(), &cpu_clock) != 0) return NULL;
    clua_guard *g = NULL;
    pthread_mutex_lock(&g_guard_lock);
    int count = atomic_load(&g_guard_count);
    for (int i = 0; i < count && g == NULL; i++)
        if (g_guards[i] != NULL && atomic_load(&g_guards[i]->retired)) g = g_guards[i];
    if (g != NULL) {
        g->thread = pthread_self();
        g->cpu_clock = cpu_clock;
        g->in_critical = 0;
        g->kill_requested = 0;
        atomic_store(&g->deadline_ns, 0);
        atomic_store(&g->retired, 0);
    } else if (count < CLUA_MAX_GUARDED_THREADS && (g = calloc(1, sizeof *g)) != NULL) {
        g->thread = pthread_self();
        g->cpu_clock = cpu_clock;
        g_guards[count] = g;
        atomic_store(&g_guard_count, count + 1);
    }
    pthread_mutex_unlock(&g_guard_lock);
    if (g == NULL) return NULL; /* unguarded: the hook still bounds everything but the rehash case */
    /* Dispatch's worker threads (where Swift concurrency runs) block most signals; let ours through. */
    sigset_t ours;
    sigemptyset(&ours);
    sigaddset(&ours, CLUA_WATCHDOG_SIGNAL);
    pthread_sigmask(SIG_UNBLOCK, &ours, NULL);
    pthread_setspecific(g_guard_key, g);
    tls_guard = g;
    return g;
}

void clua_guard_enter_critical(void) {
    clua_guard *g = tls_guard;
    if (g != NULL) g->in_critical++;
}

void clua_guard_leave_critical(void) {
    clua_guard *g = tls_guard;
    if (g == NULL) return;
    g->in_critical--;
    if (g->in_critical == 0 && g->kill_requested && atomic_load(&g->active)) siglongjmp(g->env, 1);
}

/*
 * lua_resume itself is protected, but its error path still allocates after its protection ends (building "error in
 * error handling", resetting the coroutine's stack): at the memory cap that raises with no handler, and Lua's panic
 * handler aborts the process. So the resume runs inside a C function called with lua_pcall on the main thread: such an
 * error lands there instead, and is reported as a memory failure.
 */
typedef struct clua_resume_args {
    lua_State *co;
    int nargs;
    int *nresults;
    int status;
} clua_resume_args;

static int clua_resume_body(lua_State *L) {
    clua_resume_args *args = (clua_resume_args *)lua_touserdata(L, 1);
    args->status = lua_resume(args->co, L, args->nargs, args->nresults);
    return 0;
}

static int clua_resume_protected(lua_State *co, lua_State *from, int nargs, int *nresults) {
    clua_resume_args args = {co, nargs, nresults, LUA_ERRMEM};
    if (!lua_checkstack(from, 2)) return lua_resume(co, from, nargs, nresults);
    lua_pushcfunction(from, clua_resume_body);
    lua_pushlightuserdata(from, &args);
    if (lua_pcall(from, 1, 0, 0) != LUA_OK) {
        lua_pop(from, 1);
        *nresults = 0;
        return LUA_ERRMEM;
    }
    return args.status;
}

int clua_resume_watched(lua_State *co, lua_State *from, int nargs, int *nresults, int64_t stuck_after_ns,
                        uint64_t slice_start_cpu_ns) {
    clua_guard *g = stuck_after_ns > 0 ? clua_thread_guard() : NULL;
    if (g == NULL) return clua_resume_protected(co, from, nargs, nresults);
    /* savesigs = 0: saving the mask costs a system call on every resume. The only jump here comes from our signal
     * handler, which runs with the watchdog signal blocked, so that one signal is unblocked again by hand. */
    if (sigsetjmp(g->env, 0) != 0) {
        atomic_store(&g->active, 0);
        g->in_critical = 0;
        g->kill_requested = 0;
        sigset_t ours;
        sigemptyset(&ours);
        sigaddset(&ours, CLUA_WATCHDOG_SIGNAL);
        pthread_sigmask(SIG_UNBLOCK, &ours, NULL);
        return CLUA_STATUS_KILLED;
    }
    g->in_critical = 0;
    g->kill_requested = 0;
    /* Deadline before generation: the monitor never pairs this slice's generation with an older deadline. */
    uint64_t start = slice_start_cpu_ns != 0 ? slice_start_cpu_ns : clua_thread_cpu_ns();
    atomic_store(&g->deadline_ns, start + (uint64_t)stuck_after_ns);
    atomic_fetch_add(&g->generation, 1);
    atomic_store(&g->active, 1);
    int status = clua_resume_protected(co, from, nargs, nresults);
    atomic_store(&g->active, 0);
    atomic_store(&g->deadline_ns, 0);
    return status;
}
