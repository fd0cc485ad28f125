/*
 * clua_pattern.c — string.find / match / gmatch / gsub for sandboxed plugins.
 *
 * Why we have our own matcher: Lua's pattern functions run entirely inside one C call, so the instruction-count hook
 * that bounds a plugin's CPU time never fires while they run, and their backtracking can take exponential or high
 * polynomial time (string.find(("a"):rep(30000), ".-.-.-.-b") would hang the host). This matcher implements the
 * pattern language of the Lua 5.4 reference manual (§6.4.1) with the same backtracking order — so every result,
 * capture and error message is what stock Lua produces — but charges every elementary step to a budget
 * (limits.pattern_steps) and raises a CLUA_FAULT_LIMIT fault when the budget runs out.
 *
 * Written from the manual's specification. The backtracking order (and the points where it recurses) is dictated by
 * the results stock Lua must be matched on, but the code is our own, not derived from lstrlib.c.
 */
#include "clua.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#define PM_ESC '%'
#define PM_MAX_CAPTURES 32   /* same as stock Lua (LUA_MAXCAPTURES), so "too many captures" fires at the same place */
#define PM_MAX_DEPTH 200     /* same nesting allowance as stock Lua, so "pattern too complex" fires at the same place */
#define PM_OPEN (-1)         /* capture length while the capture is still open */
#define PM_POSITION (-2)     /* capture length of a position capture "()" */
#define PM_LONG_SET 32       /* sets longer than this cost extra steps per test: their scan is not O(1) */

#define uch(c) ((unsigned char)(c))

typedef struct pm_capture { const char *at; ptrdiff_t len; /* bytes, or PM_OPEN / PM_POSITION */ } pm_capture;

typedef struct pm_state {
    lua_State *L;
    const char *subj, *subj_end;
    const char *pat_end;
    const char *fname;       /* "find", "match", … for the budget fault */
    int64_t left;            /* steps remaining in this call; below zero means the budget is spent */
    int64_t limit;           /* the configured budget (0: unlimited), for the fault message */
    int64_t start;           /* `left` at the start of the call, to charge the steps taken to the invocation */
    int depth;               /* recursion allowance remaining */
    int ncap;
    pm_capture cap[PM_MAX_CAPTURES];
} pm_state;

/* ---- Budget ---- */

static void pm_budget_spent(pm_state *ms) {
    clua_raise_fault(ms->L, CLUA_FAULT_LIMIT, "string.%s: pattern matching exceeded %lld steps (subject %zu bytes)",
                     ms->fname, (long long)ms->limit, (size_t)(ms->subj_end - ms->subj));
}

/* Charging is a subtraction and a sign test so that the unlimited case costs the same as the limited one. */
#define PM_CHARGE(ms, n) do { if (((ms)->left -= (int64_t)(n)) < 0) pm_budget_spent(ms); } while (0)

static void pm_init(pm_state *ms, lua_State *L, const char *s, size_t sl, const char *p, size_t pl, const char *fn) {
    clua_sandbox *sb = clua_sandbox_of(L);
    ms->L = L;
    ms->subj = s;
    ms->subj_end = s + sl;
    ms->pat_end = p + pl;
    ms->fname = fn;
    ms->limit = (sb && sb->enabled && sb->limits.pattern_steps > 0) ? sb->limits.pattern_steps : 0;
    ms->left = ms->limit ? ms->limit : INT64_MAX;
    ms->start = ms->left;
    ms->depth = PM_MAX_DEPTH;
    ms->ncap = 0;
}

/* The steps a call took also count against the invocation's instruction budget (two steps cost about one VM
 * instruction), so many calls that each stay under pattern_steps still run out of budget and time. */
static void pm_settle(pm_state *ms) {
    if (ms->L != NULL) clua_charge(ms->L, (ms->start - ms->left) / 2, "string pattern matching");
}

/* Each start position begins with no captures and a fresh recursion allowance; the step budget carries over. */
static inline void pm_restart(pm_state *ms) {
    ms->ncap = 0;
    ms->depth = PM_MAX_DEPTH;
    PM_CHARGE(ms, 1);
}

/* ---- Single-character items ---- */

/* %a, %d, … use <ctype.h> at match time, like stock Lua, so the C locale decides membership. An upper-case class
 * letter is the complement; any other character after '%' stands for itself. */
static int pm_class_has(int c, int cls) {
    int yes;
    switch (tolower(cls)) {
    case 'a': yes = isalpha(c); break;
    case 'c': yes = iscntrl(c); break;
    case 'd': yes = isdigit(c); break;
    case 'g': yes = isgraph(c); break;
    case 'l': yes = islower(c); break;
    case 'p': yes = ispunct(c); break;
    case 's': yes = isspace(c); break;
    case 'u': yes = isupper(c); break;
    case 'w': yes = isalnum(c); break;
    case 'x': yes = isxdigit(c); break;
    case 'z': yes = (c == 0); break;   /* not in the 5.4 manual, but stock 5.4 still accepts it (deprecated) */
    default: return cls == c;
    }
    return isupper(cls) ? !yes : yes != 0;
}

/* open points at '[', close at its ']'. */
static int pm_set_has(pm_state *ms, int c, const char *open, const char *close) {
    const char *q = open + 1;
    int hit = 1;
    if (close - open > PM_LONG_SET) PM_CHARGE(ms, (close - open) / PM_LONG_SET);
    if (*q == '^') { hit = 0; q++; }
    for (; q < close; q++) {
        if (*q == PM_ESC) {
            q++;
            if (pm_class_has(c, uch(*q))) return hit;
        } else if (q[1] == '-' && q + 2 < close) {     /* a '-' first or last in the set is a literal */
            if (uch(q[0]) <= c && c <= uch(q[2])) return hit;
            q += 2;
        } else if (uch(*q) == c) {
            return hit;
        }
    }
    return !hit;
}

/* Does the single-character item [p, ep) accept c? */
static inline int pm_item_has(pm_state *ms, int c, const char *p, const char *ep) {
    switch (*p) {
    case '.': return 1;
    case PM_ESC: return pm_class_has(c, uch(p[1]));
    case '[': return pm_set_has(ms, c, p, ep - 1);
    default: return uch(*p) == c;
    }
}

/* End of the single-character item starting at p. Malformed items are reported only when the matcher reaches them,
 * as in stock Lua (string.find("abc", "x%") is simply nil). */
static const char *pm_item_end(pm_state *ms, const char *p) {
    const char *q = p + 1;
    if (*p == PM_ESC) {
        if (q >= ms->pat_end) luaL_error(ms->L, "malformed pattern (ends with '%%')");
        return q + 1;
    }
    if (*p != '[') return q;
    if (*q == '^') q++;
    do {   /* the first member is taken literally, so "[]]" and "[^]]" are sets containing ']' */
        if (q >= ms->pat_end) luaL_error(ms->L, "malformed pattern (missing ']')");
        if (*q++ == PM_ESC && q < ms->pat_end) q++;
    } while (*q != ']');
    if (q - p > 2 * PM_LONG_SET) PM_CHARGE(ms, (q - p) / PM_LONG_SET);
    return q + 1;
}

/* ---- The backtracking matcher ----
 * It recurses only where an alternative must be remembered (a quantified item, a capture), never per subject
 * character, so C stack use is bounded by PM_MAX_DEPTH whatever the subject length. */
static const char *pm_run(pm_state *ms, const char *s, const char *p);

/* x* and x+: take as many as possible, then give back one at a time. */
static const char *pm_greedy(pm_state *ms, const char *s, const char *p, const char *ep) {
    const char *t = s;
    const char *r;
    if (*p == '.') t = ms->subj_end;    /* '.' takes everything; no need to test each byte */
    else while (t < ms->subj_end && pm_item_has(ms, uch(*t), p, ep)) t++;
    PM_CHARGE(ms, t - s);
    for (;;) {
        PM_CHARGE(ms, 1);
        if ((r = pm_run(ms, t, ep + 1)) != NULL) return r;
        if (t == s) return NULL;
        t--;
    }
}

/* x-: try the rest first, then take one more. */
static const char *pm_lazy(pm_state *ms, const char *s, const char *p, const char *ep) {
    const char *r;
    for (;;) {
        if ((r = pm_run(ms, s, ep + 1)) != NULL) return r;
        PM_CHARGE(ms, 1);
        if (s >= ms->subj_end || !pm_item_has(ms, uch(*s), p, ep)) return NULL;
        s++;
    }
}

static const char *pm_open(pm_state *ms, const char *s, const char *p, ptrdiff_t kind) {
    const char *r;
    if (ms->ncap >= PM_MAX_CAPTURES) luaL_error(ms->L, "too many captures");
    ms->cap[ms->ncap].at = s;
    ms->cap[ms->ncap].len = kind;
    ms->ncap++;
    if ((r = pm_run(ms, s, p)) == NULL) ms->ncap--;   /* undo on failure so a retry sees the same state */
    return r;
}

static const char *pm_close(pm_state *ms, const char *s, const char *p) {
    const char *r;
    int i = ms->ncap - 1;
    while (i >= 0 && ms->cap[i].len != PM_OPEN) i--;   /* ')' closes the innermost open capture */
    if (i < 0) luaL_error(ms->L, "invalid pattern capture");
    ms->cap[i].len = s - ms->cap[i].at;
    if ((r = pm_run(ms, s, p)) == NULL) ms->cap[i].len = PM_OPEN;
    return r;
}

/* %bxy at s; p points at x. */
static const char *pm_balance(pm_state *ms, const char *s, const char *p) {
    int open, close, nest = 1;
    const char *t;
    if (p + 1 >= ms->pat_end) luaL_error(ms->L, "malformed pattern (missing arguments to '%%b')");
    if (s >= ms->subj_end || *s != *p) return NULL;
    open = uch(p[0]);
    close = uch(p[1]);
    for (t = s + 1; t < ms->subj_end; t++) {
        if (uch(*t) == close) { if (--nest == 0) break; }
        else if (uch(*t) == open) nest++;
    }
    PM_CHARGE(ms, t - s);
    return t < ms->subj_end ? t + 1 : NULL;
}

/* %1-%9 at s; digit is the character after '%'. */
static const char *pm_backref(pm_state *ms, const char *s, int digit) {
    int i = digit - '1';
    size_t len;
    if (i < 0 || i >= ms->ncap || ms->cap[i].len == PM_OPEN)
        luaL_error(ms->L, "invalid capture index %%%d", i + 1);
    if (ms->cap[i].len < 0) return NULL;   /* a position capture has no text; it never matches */
    len = (size_t)ms->cap[i].len;
    PM_CHARGE(ms, len);
    if ((size_t)(ms->subj_end - s) < len || memcmp(ms->cap[i].at, s, len) != 0) return NULL;
    return s + len;
}

/* Match pattern p at subject position s; returns the end of the match or NULL. */
static const char *pm_run(pm_state *ms, const char *s, const char *p) {
    const char *ep;
    int ok;
    if (ms->depth-- == 0) luaL_error(ms->L, "pattern too complex");
    while (p < ms->pat_end) {
        PM_CHARGE(ms, 1);
        if (*p == '(') {
            s = (p[1] == ')') ? pm_open(ms, s, p + 2, PM_POSITION) : pm_open(ms, s, p + 1, PM_OPEN);
            goto out;
        }
        if (*p == ')') { s = pm_close(ms, s, p + 1); goto out; }
        if (*p == '$' && p + 1 == ms->pat_end) {   /* '$' anchors only as the last pattern character */
            if (s != ms->subj_end) s = NULL;
            goto out;
        }
        if (*p == PM_ESC) {
            int k = uch(p[1]);
            if (k == 'b') {
                if ((s = pm_balance(ms, s, p + 2)) == NULL) goto out;
                p += 4;
                continue;
            }
            if (k == 'f') {
                int before, here;
                p += 2;
                if (*p != '[') luaL_error(ms->L, "missing '[' after '%%f' in pattern");
                ep = pm_item_end(ms, p);
                before = (s == ms->subj) ? 0 : uch(s[-1]);
                here = (s < ms->subj_end) ? uch(*s) : 0;   /* both string ends count as '\0' */
                if (pm_set_has(ms, before, p, ep - 1) || !pm_set_has(ms, here, p, ep - 1)) { s = NULL; goto out; }
                p = ep;
                continue;
            }
            if (k >= '0' && k <= '9') {
                if ((s = pm_backref(ms, s, k)) == NULL) goto out;
                p += 2;
                continue;
            }
        }
        /* a single-character item, possibly followed by a quantifier */
        ep = pm_item_end(ms, p);
        ok = s < ms->subj_end && pm_item_has(ms, uch(*s), p, ep);
        switch (*ep) {
        case '?': {
            const char *r = ok ? pm_run(ms, s + 1, ep + 1) : NULL;
            if (r) { s = r; goto out; }
            p = ep + 1;
            continue;
        }
        case '+':
            s = ok ? pm_greedy(ms, s + 1, p, ep) : NULL;
            goto out;
        case '*':
            if (!ok) { p = ep + 1; continue; }
            s = pm_greedy(ms, s, p, ep);
            goto out;
        case '-':
            if (!ok) { p = ep + 1; continue; }
            s = pm_lazy(ms, s, p, ep);
            goto out;
        default:
            if (!ok) { s = NULL; goto out; }
            s++;
            p = ep;
            continue;
        }
    }
out:
    ms->depth++;
    return s;
}

/* ---- Start-position scanning shared by find, match, gmatch and gsub ---- */

/* A start-position filter: when every match must begin with one character accepted by a single item, start
 * positions where that item fails can be skipped without entering the matcher. */
typedef struct pm_first { const char *p, *ep; } pm_first;   /* the item [p, ep); p == NULL: no filter */

/* Leading captures consume nothing, so the filter looks through a few of them (few enough that stock Lua could not
 * have raised "too many captures" or "pattern too complex" before reaching the item). Only called when at least one
 * start position will be tried, because it may raise the same malformed-pattern error the first attempt would. */
static pm_first pm_first_item(pm_state *ms, const char *p) {
    pm_first f = { NULL, NULL };
    int opens = 0;
    while (p < ms->pat_end && *p == '(' && opens++ < 8) p += (p[1] == ')') ? 2 : 1;
    if (p >= ms->pat_end || *p == '(' || *p == ')') return f;
    if (*p == '$' && p + 1 == ms->pat_end) return f;
    if (*p == PM_ESC && (p[1] == 'b' || p[1] == 'f' || (p[1] >= '0' && p[1] <= '9'))) return f;
    f.ep = pm_item_end(ms, p);
    if (*f.ep != '*' && *f.ep != '?' && *f.ep != '-') f.p = p;   /* those may match empty: no filter */
    return f;
}

/* Next start position at or after s (up to and including subj_end) where a match may begin. Skipped positions are
 * charged as if tried: a start and a failed item each. */
static const char *pm_next_start(pm_state *ms, const char *s, pm_first f) {
    const char *t = s;
    if (!f.p) return s;
    if (f.ep == f.p + 1 && *f.p != '.') {   /* a literal: let memchr find it */
        t = memchr(s, *f.p, (size_t)(ms->subj_end - s));
        if (!t) t = ms->subj_end;
    } else {
        while (t < ms->subj_end && !pm_item_has(ms, uch(*t), f.p, f.ep)) t++;
    }
    PM_CHARGE(ms, 2 * (t - s));
    return t;
}

static void pm_push_capture(pm_state *ms, int i, const char *s, const char *e) {
    if (i >= ms->ncap) {
        if (i != 0) luaL_error(ms->L, "invalid capture index %%%d", i + 1);
        lua_pushlstring(ms->L, s, (size_t)(e - s));   /* no captures: the whole match */
    } else if (ms->cap[i].len == PM_OPEN) {
        luaL_error(ms->L, "unfinished capture");
    } else if (ms->cap[i].len == PM_POSITION) {
        lua_pushinteger(ms->L, (lua_Integer)(ms->cap[i].at - ms->subj) + 1);
    } else {
        lua_pushlstring(ms->L, ms->cap[i].at, (size_t)ms->cap[i].len);
    }
}

/* Pushes all captures; with s == NULL (find) the whole match is not pushed when there are no captures. */
static int pm_push_captures(pm_state *ms, const char *s, const char *e) {
    int i, n = (ms->ncap == 0 && s) ? 1 : ms->ncap;
    luaL_checkstack(ms->L, n, "too many captures");
    for (i = 0; i < n; i++) pm_push_capture(ms, i, s, e);
    return n;
}

/* The manual's rule for init: negative counts from the end, anything before the start clamps to 1. Returns a
 * 0-based offset that may exceed the subject length. */
static size_t pm_start_offset(lua_Integer pos, size_t len) {
    if (pos > 0) return (size_t)pos - 1;
    if (pos == 0 || pos < -(lua_Integer)len) return 0;
    return len - (size_t)(-pos);
}

/* find treats the pattern as plain text when it contains none of these. */
static int pm_has_specials(const char *p, size_t pl) {
    size_t i;
    for (i = 0; i < pl; i++)
        if (p[i] != '\0' && strchr("^$*+?.([%-", p[i])) return 1;
    return 0;
}

/* Plain substring search. Each candidate position is charged the needle length, since that bounds its memcmp. */
static const char *pm_plain(pm_state *ms, const char *s, const char *needle, size_t nl) {
    const char *last;
    size_t room = (size_t)(ms->subj_end - s);
    if (nl == 0) return s;
    if (nl > room) return NULL;
    last = ms->subj_end - nl;
    while (s <= last) {
        const char *hit = memchr(s, *needle, (size_t)(last - s) + 1);
        if (!hit) { PM_CHARGE(ms, last - s + 1); return NULL; }
        PM_CHARGE(ms, (hit - s) + nl);
        if (memcmp(hit + 1, needle + 1, nl - 1) == 0) return hit;
        s = hit + 1;
    }
    return NULL;
}

static int pm_find_or_match_inner(lua_State *L, int is_find, pm_state *msp) {
    size_t sl, pl;
    const char *s = luaL_checklstring(L, 1, &sl);
    const char *p = luaL_checklstring(L, 2, &pl);
    size_t init = pm_start_offset(luaL_optinteger(L, 3, 1), sl);
    const char *at, *e;
    pm_first first = { NULL, NULL };
    int anchored;
#define ms (*msp)
    if (init > sl) { luaL_pushfail(L); return 1; }
    pm_init(&ms, L, s, sl, p, pl, is_find ? "find" : "match");
    if (is_find && (lua_toboolean(L, 4) || !pm_has_specials(p, pl))) {
        if ((at = pm_plain(&ms, s + init, p, pl)) == NULL) { luaL_pushfail(L); return 1; }
        lua_pushinteger(L, (lua_Integer)(at - s) + 1);
        lua_pushinteger(L, (lua_Integer)(at - s) + (lua_Integer)pl);
        return 2;
    }
    anchored = (pl > 0 && *p == '^');
    if (anchored) p++;
    if (!anchored) first = pm_first_item(&ms, p);
    for (at = s + init;; at++) {
        at = pm_next_start(&ms, at, first);
        pm_restart(&ms);
        if ((e = pm_run(&ms, at, p)) != NULL) {
            if (!is_find) return pm_push_captures(&ms, at, e);
            lua_pushinteger(L, (lua_Integer)(at - s) + 1);
            lua_pushinteger(L, (lua_Integer)(e - s));
            return pm_push_captures(&ms, NULL, NULL) + 2;
        }
        if (anchored || at >= ms.subj_end) break;
    }
    luaL_pushfail(L);
    return 1;
}
#undef ms

static int pm_find_or_match(lua_State *L, int is_find) {
    pm_state ms;
    ms.L = NULL;
    int n = pm_find_or_match_inner(L, is_find, &ms);
    pm_settle(&ms);
    return n;
}

int clua_str_find(lua_State *L) { return pm_find_or_match(L, 1); }
int clua_str_match(lua_State *L) { return pm_find_or_match(L, 0); }

/* ---- gmatch ----
 * The iterator keeps offsets (not pointers) in a userdata upvalue; subject and pattern are upvalues too, which keeps
 * them alive for as long as the iterator exists. */
typedef struct pm_iter {
    size_t next;   /* offset to resume scanning from; may be len + 1 (exhausted) */
    size_t last;   /* end offset of the previous match, SIZE_MAX before the first; an empty match may not end there */
} pm_iter;

static int pm_gmatch_step_inner(lua_State *L, pm_state *msp) {
    size_t sl, pl;
    const char *s = lua_tolstring(L, lua_upvalueindex(1), &sl);
    const char *p = lua_tolstring(L, lua_upvalueindex(2), &pl);
    pm_iter *it = (pm_iter *)lua_touserdata(L, lua_upvalueindex(3));
    const char *at, *e;
    pm_first first;
#define ms (*msp)
    if (it->next > sl) return 0;
    pm_init(&ms, L, s, sl, p, pl, "gmatch");
    /* no '^' anchor here: the manual says it would prevent iteration, and 5.4 treats it as a literal */
    first = pm_first_item(&ms, p);
    for (at = s + it->next;; at++) {
        at = pm_next_start(&ms, at, first);
        pm_restart(&ms);
        if ((e = pm_run(&ms, at, p)) != NULL && (size_t)(e - s) != it->last) {
            it->next = it->last = (size_t)(e - s);
            return pm_push_captures(&ms, at, e);
        }
        if (at >= ms.subj_end) break;
    }
    it->next = sl + 1;
    return 0;
}
#undef ms

static int pm_gmatch_step(lua_State *L) {
    pm_state ms;
    ms.L = NULL;
    int n = pm_gmatch_step_inner(L, &ms);
    pm_settle(&ms);
    return n;
}

int clua_str_gmatch(lua_State *L) {
    size_t sl, init;
    pm_iter *it;
    luaL_checklstring(L, 1, &sl);
    luaL_checkstring(L, 2);
    init = pm_start_offset(luaL_optinteger(L, 3, 1), sl);
    lua_settop(L, 2);   /* subject and pattern (numbers now converted to strings) become upvalues 1 and 2 */
    it = (pm_iter *)lua_newuserdatauv(L, sizeof(pm_iter), 0);
    it->next = init > sl ? sl + 1 : init;
    it->last = SIZE_MAX;
    lua_pushcclosure(L, pm_gmatch_step, 3);
    return 1;
}

/* ---- gsub ----
 * The result accumulates in a plain byte buffer backed by a userdata at a fixed stack slot (grown by replacing the
 * slot), not a luaL_Buffer: the replacement function or __index may run in between, and luaL_Buffer requires a
 * balanced stack. The userdata comes from Lua's allocator, so it is counted and reclaimed if anything raises. */
#define PM_LOCAL_BUF 256

typedef struct pm_out {
    lua_State *L;
    char *data;
    size_t len, cap;
    size_t limit;            /* 0: unlimited; otherwise cap never exceeds it, so every overflow goes through grow */
    int slot;
    char local[PM_LOCAL_BUF];
} pm_out;

static void pm_out_grow(pm_out *b, size_t n) {
    size_t need = b->len + n, cap;
    char *fresh;
    if (need < b->len) luaL_error(b->L, "resulting string too large");
    if (b->limit && need > b->limit)
        clua_raise_fault(b->L, CLUA_FAULT_LIMIT, "string.gsub: result would exceed %zu bytes", b->limit);
    cap = (b->cap > SIZE_MAX / 2) ? need : b->cap * 2;
    if (cap < need) cap = need;
    if (b->limit && cap > b->limit) cap = b->limit;
    fresh = (char *)lua_newuserdatauv(b->L, cap, 0);
    memcpy(fresh, b->data, b->len);
    lua_replace(b->L, b->slot);   /* the old block becomes garbage */
    b->data = fresh;
    b->cap = cap;
}

static inline void pm_out_add(pm_out *b, const char *src, size_t n) {
    if (n > b->cap - b->len) pm_out_grow(b, n);
    memcpy(b->data + b->len, src, n);
    b->len += n;
}

/* Expands a replacement string: %0 whole match, %1-%9 captures, %% a percent sign. */
static void pm_expand(pm_state *ms, pm_out *b, const char *r, size_t rl, const char *s, const char *e) {
    const char *rend = r + rl, *pct;
    while ((pct = memchr(r, PM_ESC, (size_t)(rend - r))) != NULL) {
        int c = uch(pct[1]);   /* at rend this reads the string's terminating '\0': an error, as in stock Lua */
        PM_CHARGE(ms, 1);      /* escapes can expand to nothing, so the result size alone does not bound this loop */
        pm_out_add(b, r, (size_t)(pct - r));
        if (c == PM_ESC) {
            pm_out_add(b, pct, 1);
        } else if (c == '0') {
            pm_out_add(b, s, (size_t)(e - s));
        } else if (isdigit(c)) {
            int i = c - '1';
            if (i >= ms->ncap && i == 0) {
                pm_out_add(b, s, (size_t)(e - s));
            } else if (i >= ms->ncap) {
                luaL_error(ms->L, "invalid capture index %%%d", i + 1);
            } else if (ms->cap[i].len == PM_OPEN) {
                luaL_error(ms->L, "unfinished capture");
            } else if (ms->cap[i].len == PM_POSITION) {
                char num[32];
                int n = snprintf(num, sizeof num, LUA_INTEGER_FMT, (LUAI_UACINT)((ms->cap[i].at - ms->subj) + 1));
                pm_out_add(b, num, (size_t)n);
            } else {
                pm_out_add(b, ms->cap[i].at, (size_t)ms->cap[i].len);
            }
        } else {
            luaL_error(ms->L, "invalid use of '%c' in replacement string", PM_ESC);
        }
        r = pct + 2;
    }
    pm_out_add(b, r, (size_t)(rend - r));
}

int clua_str_gsub(lua_State *L) {
    size_t sl, pl, rl = 0;
    const char *src = luaL_checklstring(L, 1, &sl);
    const char *p = luaL_checklstring(L, 2, &pl);
    int rt = lua_type(L, 3);
    lua_Integer max_n = luaL_optinteger(L, 4, (lua_Integer)sl + 1);
    const char *repl = NULL, *at, *e, *kept, *prev_end = NULL;
    pm_first first = { NULL, NULL };
    lua_Integer n = 0;
    int anchored, changed = 0;
    clua_sandbox *sb = clua_sandbox_of(L);
    pm_state ms;
    pm_out b;
    luaL_argexpected(L, rt == LUA_TNUMBER || rt == LUA_TSTRING || rt == LUA_TFUNCTION || rt == LUA_TTABLE, 3,
                     "string/function/table");
    lua_settop(L, 4);
    lua_pushnil(L);   /* slot 5: the buffer's userdata once it outgrows b.local */
    if (rt == LUA_TNUMBER || rt == LUA_TSTRING) repl = lua_tolstring(L, 3, &rl);
    b.L = L, b.slot = 5, b.data = b.local, b.len = 0;
    b.limit = (sb && sb->enabled) ? sb->limits.string_bytes : 0;
    b.cap = (b.limit && b.limit < PM_LOCAL_BUF) ? b.limit : PM_LOCAL_BUF;
    pm_init(&ms, L, src, sl, p, pl, "gsub");
    anchored = (pl > 0 && *p == '^');
    if (anchored) p++;
    /* Output = buffer + subject[kept, at): unmatched text, and matches whose replacement is false/nil, are copied in
     * bulk only when a real replacement follows, and not at all when nothing changes. */
    kept = at = src;
    if (!anchored && max_n > 0) first = pm_first_item(&ms, p);
    while (n < max_n) {
        at = pm_next_start(&ms, at, first);
        pm_restart(&ms);
        if ((e = pm_run(&ms, at, p)) != NULL && e != prev_end) {
            int replaced = 1;
            n++;
            if (repl) {
                pm_out_add(&b, kept, (size_t)(at - kept));
                pm_expand(&ms, &b, repl, rl, at, e);
            } else {
                size_t vl;
                const char *v;
                PM_CHARGE(&ms, 1);
                if (rt == LUA_TFUNCTION) {
                    lua_pushvalue(L, 3);
                    lua_call(L, pm_push_captures(&ms, at, e), 1);
                } else {
                    pm_push_capture(&ms, 0, at, e);
                    lua_gettable(L, 3);
                }
                if (!lua_toboolean(L, -1)) {
                    replaced = 0;   /* keep the original text: it stays inside [kept, …) */
                } else if (!lua_isstring(L, -1)) {
                    return luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
                } else {
                    v = lua_tolstring(L, -1, &vl);
                    pm_out_add(&b, kept, (size_t)(at - kept));
                    pm_out_add(&b, v, vl);
                }
                lua_pop(L, 1);
            }
            if (replaced) { changed = 1; kept = e; }
            at = prev_end = e;
        } else if (at < ms.subj_end) {
            at++;
        } else break;
        if (anchored) break;
    }
    if (!changed) {
        lua_pushvalue(L, 1);   /* nothing replaced: the original string, whatever its size */
    } else {
        pm_out_add(&b, kept, (size_t)(ms.subj_end - kept));
        lua_pushlstring(L, b.data, b.len);
    }
    pm_settle(&ms);
    lua_pushinteger(L, n);
    return 2;
}
