/*
 * clua_source_check.c — refusing source text that would reach a known Lua 5.4.4 defect.
 *
 * Lua 5.4.4 names the culprit of a runtime error ("attempt to call a nil value (field 'x')") by walking back through
 * the instructions that produced each register; for an indexing chain a.x.x.x… that walk recurses once per index and
 * rescans the function each time. A chain of ten thousand indices takes seconds of C time the hook cannot interrupt
 * and overflows the C stack (lua.org bug "Recursion in getobjname can stack overflow", fixed in 5.4.7). Real code never
 * indexes more than a few levels deep in one expression, so every chunk — plugin files and load() alike — is scanned
 * before it is compiled, and chains longer than CLUA_MAX_INDEX_CHAIN are refused.
 *
 * The scanner is a small tokenizer of its own: it only needs to skip comments, strings and numbers and to see '.',
 * '[', ']' and names; it does not parse.
 */
#include "clua.h"

#include <ctype.h>
#include <string.h>

#define CLUA_MAX_INDEX_CHAIN CLUA_INDEX_CHAIN_LIMIT
#define CLUA_MAX_BRACKET_NESTING 256

/* Length of a long bracket opener "[==[" at s (returns its level, or -1 if s is not one). */
static int clua_long_bracket_level(const char *s, const char *end) {
    if (s >= end || *s != '[') return -1;
    const char *p = s + 1;
    int level = 0;
    while (p < end && *p == '=') { level++; p++; }
    return (p < end && *p == '[') ? level : -1;
}

/* Skips a long bracket body starting at its opener; returns the position after the closer (or end). */
static const char *clua_skip_long(const char *s, const char *end, int level) {
    const char *p = s + level + 2;
    while (p < end) {
        if (*p == ']') {
            const char *q = p + 1;
            int n = 0;
            while (q < end && *q == '=') { n++; q++; }
            if (n == level && q < end && *q == ']') return q + 1;
        }
        p++;
    }
    return end;
}

long clua_max_index_chain(const char *src, size_t len) {
    const char *p = src, *end = src + len;
    long run = 0, longest = 0;
    long saved[CLUA_MAX_BRACKET_NESTING];
    char kind[CLUA_MAX_BRACKET_NESTING]; /* '[' index, 'c' call, 'g' grouping parenthesis */
    int depth = 0;
    int after_value = 0; /* the previous token ends an expression: a '[' here indexes it */
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (isspace(c)) { p++; continue; }
        if (c == '-' && p + 1 < end && p[1] == '-') { /* comment */
            p += 2;
            int level = clua_long_bracket_level(p, end);
            if (level >= 0) p = clua_skip_long(p, end, level);
            else while (p < end && *p != '\n') p++;
            continue;
        }
        if (c == '"' || c == '\'') { /* short string */
            p++;
            while (p < end && (unsigned char)*p != c) {
                if (*p == '\\' && p + 1 < end) p++;
                else if (*p == '\n') break;
                p++;
            }
            p++;
            run = 0;
            after_value = 1;
            continue;
        }
        if (c == '[') {
            int level = clua_long_bracket_level(p, end);
            if (level >= 0) { /* long string */
                p = clua_skip_long(p, end, level);
                run = 0;
                after_value = 1;
                continue;
            }
            if (depth < CLUA_MAX_BRACKET_NESTING) {
                saved[depth] = after_value ? run + 1 : 0;
                kind[depth] = '[';
            }
            depth++;
            run = 0;
            after_value = 0;
            p++;
            continue;
        }
        if (c == ']' || c == ')') {
            if (depth > 0) depth--;
            if (depth < CLUA_MAX_BRACKET_NESTING) {
                /* After an index the chain goes on one longer; after a call it starts again (a call's result is not
                 * traced back); a grouping parenthesis is transparent: (t.a.a).a is one chain. */
                if (kind[depth] == '[') run = saved[depth];
                else if (kind[depth] == 'c') run = 0;
            } else {
                run = 0;
            }
            if (run > longest) longest = run;
            after_value = 1;
            p++;
            continue;
        }
        if (c == '(') {
            if (depth < CLUA_MAX_BRACKET_NESTING) {
                saved[depth] = 0;
                kind[depth] = after_value ? 'c' : 'g';
            }
            depth++;
            run = 0;
            after_value = 0;
            p++;
            continue;
        }
        if (isdigit(c) || (c == '.' && p + 1 < end && isdigit((unsigned char)p[1]))) { /* number */
            p++;
            while (p < end && (isalnum((unsigned char)*p) || *p == '.' ||
                               ((*p == '+' || *p == '-') && strchr("eEpP", p[-1]) != NULL)))
                p++;
            run = 0;
            after_value = 1;
            continue;
        }
        if (c == '.') {
            if (p + 1 < end && p[1] == '.') { /* '..' or '...' */
                p += 2;
                if (p < end && *p == '.') p++;
                run = 0;
                after_value = 0;
                continue;
            }
            /* '.' Name continues the chain */
            const char *q = p + 1;
            while (q < end && isspace((unsigned char)*q)) q++;
            if (q < end && (isalpha((unsigned char)*q) || *q == '_')) {
                while (q < end && (isalnum((unsigned char)*q) || *q == '_')) q++;
                run++;
                if (run > longest) longest = run;
                p = q;
                after_value = 1;
                continue;
            }
            p++;
            run = 0;
            after_value = 0;
            continue;
        }
        if (isalpha(c) || c == '_') {
            const char *q = p;
            while (q < end && (isalnum((unsigned char)*q) || *q == '_')) q++;
            p = q;
            run = 0;
            after_value = 1;
            continue;
        }
        after_value = (c == '}');
        run = 0;
        p++;
    }
    return longest;
}

/* check_source(text [, chunkname]) for the prelude's load(): raises a `limit` fault for refused text. */
int clua_lua_check_source(lua_State *L) {
    size_t len;
    const char *src = luaL_checklstring(L, 1, &len);
    long chain = clua_max_index_chain(src, len);
    if (chain > CLUA_MAX_INDEX_CHAIN)
        return clua_raise_fault_at(L, 2, CLUA_FAULT_LIMIT,
                                   "load: an expression indexes %ld levels deep in one chain (at most %d: longer chains "
                                   "reach a Lua 5.4.4 defect)", chain, CLUA_MAX_INDEX_CHAIN);
    return 0;
}
