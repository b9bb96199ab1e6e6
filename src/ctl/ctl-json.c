/* SPDX-License-Identifier: GPL-2.0-or-later */
/* procwatchctl's --json output of List and Tree straight from the reply's text (ctl-json.h).
 *
 * Two passes. The first checks the whole message (the JSON grammar, UTF-8, escapes, nesting depth)
 * and notes where each record starts and ends and where its "id", "parent_id", "euid" and
 * "children" values are; nothing is written until the message is known good, so a fallback to the
 * object path never follows half an output. The second writes each record's text re-indented as
 * jansson's JSON_INDENT(2) does, with "children" replaced by the nested records (tree) and "user"
 * added last. It trusts what the first pass checked: a byte loop that copies strings and scalars and
 * breaks lines at brackets and commas, into a buffer written out a megabyte at a time (per-token
 * stdio and a second full scan cost procwatchctl more than the daemon spent on the reply). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-format.h"
#include "ctl-json.h"
#include "json-util.h"
#include "json-writer.h"

/* Deeper than any record; jansson's own limit for the object path is 2048. */
#define CTL_JSON_DEPTH_MAX 64
/* The output is written in pieces of this size. */
#define CTL_JSON_OUT_CHUNK (1024U * 1024U)

/* A token while it is scanned. */
typedef struct Token {
        const char *p;
        size_t n;
} Token;

/* A record's part, kept: as an offset from the message's start, since the buffer the message is read
 * into may move while it grows (ctl_json_reply_feed()). */
typedef struct Span {
        size_t off, n;
} Span;

typedef struct Record {
        Span text;              /* the whole object */
        Span id, parent_id;     /* string tokens with their quotes; n 0 when absent or not a string */
        Span children;          /* the value of "children"; n 0 when absent */
        bool has_euid;
        int64_t euid;
        bool id_bad;            /* "id" is missing or not a string */
        bool empty;             /* {} */
        bool parent_id_string;
        size_t first_child, last_child, next_sibling; /* tree: indices + 1, 0 for none */
} Record;

typedef struct Scanner {
        const char *base;       /* the message's start */
        const char *p, *end;
        bool noncanonical;      /* valid JSON, but not in the form jansson writes */
} Scanner;

static void skip_ws(Scanner *s) {
        while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
                s->p++;
}

static int hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

/* \uXXXX at p (after the backslash and 'u'); its value, or -1. Lower-case hex is valid but not
 * jansson's form. */
static long read_u4(Scanner *s) {
        long v = 0;

        if (s->end - s->p < 4)
                return -1;
        for (int i = 0; i < 4; i++) {
                int h = hexval(s->p[i]);

                if (h < 0)
                        return -1;
                if (s->p[i] >= 'a')
                        s->noncanonical = true;
                v = v * 16 + h;
        }
        s->p += 4;
        return v;
}

/* Bytes a string holds as they are: printable ASCII but the quote and the backslash. */
static const bool string_plain[256] = {
        [0x20 ... 0x21] = true, [0x23 ... 0x5B] = true, [0x5D ... 0x7F] = true,
};

/* A string token; s->p at its opening quote. */
static int scan_string(Scanner *s) {
        s->p++;
        for (;;) {
                unsigned char c;

                while (s->p < s->end && string_plain[(unsigned char) *s->p])
                        s->p++;
                if (s->p >= s->end)
                        return -EBADMSG;
                c = (unsigned char) *s->p;
                if (c == '"') {
                        s->p++;
                        return 0;
                }
                if (c < 0x20)
                        return -EBADMSG;
                if (c == '\\') {
                        long v;

                        if (s->end - s->p < 2)
                                return -EBADMSG;
                        c = (unsigned char) s->p[1];
                        s->p += 2;
                        switch (c) {
                        case '"': case '\\': case 'b': case 'f': case 'n': case 'r': case 't':
                                break;
                        case '/':
                                s->noncanonical = true;
                                break;
                        case 'u':
                                v = read_u4(s);
                                if (v < 0)
                                        return -EBADMSG;
                                if (v == 0)
                                        return -EBADMSG; /* jansson refuses NUL in strings */
                                if (v >= 0xD800 && v <= 0xDBFF) {
                                        long lo;

                                        if (s->end - s->p < 2 || s->p[0] != '\\' || s->p[1] != 'u')
                                                return -EBADMSG;
                                        s->p += 2;
                                        lo = read_u4(s);
                                        if (lo < 0xDC00 || lo > 0xDFFF)
                                                return -EBADMSG;
                                        s->noncanonical = true;
                                } else if (v >= 0xDC00 && v <= 0xDFFF)
                                        return -EBADMSG;
                                /* jansson writes \u only for control characters without a short form. */
                                else if (v >= 0x20 || v == '\b' || v == '\f' || v == '\n' || v == '\r' || v == '\t')
                                        s->noncanonical = true;
                                break;
                        default:
                                return -EBADMSG;
                        }
                        continue;
                }
                if (c >= 0x80) {
                        bool valid;
                        size_t k = utf8_next(s->p, (size_t) (s->end - s->p), &valid);

                        if (!valid)
                                return -EBADMSG;
                        s->p += k;
                        continue;
                }
                s->p++;
        }
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

/* A number token. Only integers that fit 64 bits are in jansson's form; anything else is valid but
 * would be rewritten by it. *ret: the integer, when ret and it is one. */
static int scan_number(Scanner *s, int64_t *ret, bool *is_int) {
        const char *start = s->p;
        bool neg = false, integer = true;
        uint64_t mag = 0;
        bool overflow = false;

        if (*s->p == '-') {
                neg = true;
                s->p++;
        }
        if (s->p >= s->end || !is_digit(*s->p))
                return -EBADMSG;
        if (*s->p == '0')
                s->p++;
        else
                while (s->p < s->end && is_digit(*s->p)) {
                        unsigned d = (unsigned) (*s->p - '0');

                        if (mag > (UINT64_MAX - d) / 10)
                                overflow = true;
                        else
                                mag = mag * 10 + d;
                        s->p++;
                }
        if (s->p < s->end && *s->p == '.') {
                integer = false;
                s->p++;
                if (s->p >= s->end || !is_digit(*s->p))
                        return -EBADMSG;
                while (s->p < s->end && is_digit(*s->p))
                        s->p++;
        }
        if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
                integer = false;
                s->p++;
                if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
                        s->p++;
                if (s->p >= s->end || !is_digit(*s->p))
                        return -EBADMSG;
                while (s->p < s->end && is_digit(*s->p))
                        s->p++;
        }
        if (!integer || overflow || (neg && mag > (uint64_t) INT64_MAX + 1) || (!neg && mag > INT64_MAX) ||
            (neg && mag == 0 && s->p - start == 2)) {
                s->noncanonical = true; /* a real, beyond 64 bits, or "-0" */
                integer = false;
        }
        if (is_int)
                *is_int = integer;
        if (ret && integer)
                *ret = neg ? (int64_t) (0 - mag) : (int64_t) mag;
        return 0;
}

static int scan_literal(Scanner *s, const char *word) {
        size_t n = strlen(word);

        if ((size_t) (s->end - s->p) < n || memcmp(s->p, word, n) != 0)
                return -EBADMSG;
        s->p += n;
        return 0;
}

static int scan_value(Scanner *s, unsigned depth);

/* At an opening bracket: consumes it. Returns 1 when a first member or element follows (s->p at
 * it), 0 when the container is empty (its closing bracket consumed too), or -EBADMSG. */
static int container_open(Scanner *s, char close) {
        s->p++;
        skip_ws(s);
        if (s->p >= s->end)
                return -EBADMSG;
        if (*s->p != close)
                return 1;
        s->p++;
        return 0;
}

/* After a member or element: the comma or the closing bracket. Returns 1 when another follows (s->p
 * at it), 0 when the container closed (the bracket consumed), or -EBADMSG (a trailing comma too). */
static int container_next(Scanner *s, char close) {
        skip_ws(s);
        if (s->p >= s->end)
                return -EBADMSG;
        if (*s->p == ',') {
                s->p++;
                skip_ws(s);
                return s->p < s->end && *s->p != close ? 1 : -EBADMSG;
        }
        if (*s->p != close)
                return -EBADMSG;
        s->p++;
        return 0;
}

/* An object's key (the string token, quotes included) and its colon; s->p then at the value. */
static int scan_key(Scanner *s, Token *ret) {
        int r;

        if (*s->p != '"')
                return -EBADMSG;
        ret->p = s->p;
        r = scan_string(s);
        if (r < 0)
                return r;
        ret->n = (size_t) (s->p - ret->p);
        skip_ws(s);
        if (s->p >= s->end || *s->p != ':')
                return -EBADMSG;
        s->p++;
        skip_ws(s);
        return s->p < s->end ? 0 : -EBADMSG;
}

#define SPAN_IS(span, quoted) ((span).n == sizeof(quoted) - 1 && memcmp((span).p, quoted, (span).n) == 0)

/* A record's member key with its value v: the fields looked at, noted. A key given twice: jansson
 * keeps the last value at the first place; not worth following, the object path does it. */
static int note_member(const Scanner *s, Record *rec, Token key, Token v, unsigned *seen) {
        enum { SEEN_ID = 1, SEEN_PARENT = 2, SEEN_CHILDREN = 4, SEEN_EUID = 8 };
        Span kept = { (size_t) (v.p - s->base), v.n };
        bool is_str = *v.p == '"';
        unsigned bit;

        if (SPAN_IS(key, "\"id\"")) {
                bit = SEEN_ID;
                rec->id = is_str ? kept : (Span){};
        } else if (SPAN_IS(key, "\"parent_id\"")) {
                bit = SEEN_PARENT;
                rec->parent_id_string = is_str;
                rec->parent_id = is_str ? kept : (Span){};
        } else if (SPAN_IS(key, "\"children\"")) {
                bit = SEEN_CHILDREN;
                rec->children = kept;
        } else if (SPAN_IS(key, "\"euid\""))
                bit = SEEN_EUID;
        else if (SPAN_IS(key, "\"user\""))
                return -EDOM; /* would be replaced in place, not added */
        else
                return 0;
        if (*seen & bit)
                return -EDOM;
        *seen |= bit;
        return 0;
}

/* An object or array; with rec, the top-level fields a record needs are noted. */
static int scan_container(Scanner *s, unsigned depth, Record *rec) {
        bool object = *s->p == '{';
        char close = object ? '}' : ']';
        unsigned seen = 0;
        int r;

        if (depth >= CTL_JSON_DEPTH_MAX)
                return -EDOM; /* valid, perhaps, but deeper than any record: the object path decides */
        r = container_open(s, close);
        if (rec)
                rec->empty = r == 0;
        for (; r > 0; r = container_next(s, close)) {
                Token key = {};
                const char *vstart;

                if (object && (r = scan_key(s, &key)) < 0)
                        return r;
                vstart = s->p;
                if (rec && SPAN_IS(key, "\"euid\"") && (*s->p == '-' || is_digit(*s->p)))
                        r = scan_number(s, &rec->euid, &rec->has_euid);
                else
                        r = scan_value(s, depth + 1);
                if (r < 0)
                        return r;
                if (rec && (r = note_member(s, rec, key, (Token){ vstart, (size_t) (s->p - vstart) }, &seen)) < 0)
                        return r;
        }
        if (r < 0)
                return r;
        if (rec)
                rec->id_bad = rec->id.n == 0;
        return 0;
}

static int scan_value(Scanner *s, unsigned depth) {
        skip_ws(s);
        if (s->p >= s->end)
                return -EBADMSG;
        switch (*s->p) {
        case '{':
        case '[':
                return scan_container(s, depth, NULL);
        case '"':
                return scan_string(s);
        case 't':
                return scan_literal(s, "true");
        case 'f':
                return scan_literal(s, "false");
        case 'n':
                return scan_literal(s, "null");
        default:
                if (*s->p == '-' || is_digit(*s->p))
                        return scan_number(s, NULL, NULL);
                return -EBADMSG;
        }
}

/* --- the reply ------------------------------------------------------------------------------------ */

typedef struct Records {
        Record *v;
        size_t n, alloc;
        bool found;             /* "processes" was there */
} Records;

/* The next record of the array: s->p at its '[' while there is none yet, else after the last one.
 * Returns 1 with the record added, 0 at the end of the array (its ']' consumed), or an error. */
static int scan_next_record(Scanner *s, Records *recs) {
        Record *rec;
        int r;

        r = recs->n > 0 ? container_next(s, ']') : container_open(s, ']');
        if (r <= 0)
                return r;
        if (*s->p != '{')
                return -ENOMSG; /* not a record */
        if (recs->n == recs->alloc) {
                size_t na = recs->alloc ? recs->alloc * 2 : 256;
                Record *nr = reallocarray(recs->v, na, sizeof(*nr));

                if (!nr)
                        return -ENOMEM;
                recs->v = nr;
                recs->alloc = na;
        }
        rec = &recs->v[recs->n];
        *rec = (Record){ .text.off = (size_t) (s->p - s->base) };
        r = scan_container(s, 2, rec);
        if (r < 0)
                return r;
        rec->text.n = (size_t) (s->p - s->base) - rec->text.off;
        recs->n++;
        return 1;
}

/* The rest of the array of records. */
static int scan_records(Scanner *s, Records *recs) {
        int r;

        while ((r = scan_next_record(s, recs)) > 0)
                ;
        return r;
}

/* An object's members (s->p at its '{'; resume: after the member named want), at depth: the value of
 * the member named want (a quoted key), when it starts with open, by scan_inner (*found then); any
 * other by scan_value(). A second member named want gives -EDOM: jansson would take the last.
 * *error: a member "error" was there. */
static int scan_object_for(Scanner *s, const char *want, char open, unsigned depth,
                           int (*scan_inner)(Scanner *s, Records *recs), Records *recs, bool *found,
                           bool *error, bool resume) {
        size_t want_n = strlen(want);
        bool seen = resume;
        int r;

        for (r = resume ? container_next(s, '}') : container_open(s, '}'); r > 0; r = container_next(s, '}')) {
                Token k;

                r = scan_key(s, &k);
                if (r < 0)
                        return r;
                if (error && SPAN_IS(k, "\"error\""))
                        *error = true;
                if (k.n == want_n && memcmp(k.p, want, want_n) == 0) {
                        if (seen)
                                return -EDOM;
                        seen = true;
                        *found = *s->p == open;
                        r = *found ? scan_inner(s, recs) : scan_value(s, depth);
                } else
                        r = scan_value(s, depth);
                if (r < 0)
                        return r;
        }
        return r;
}

static int scan_parameters(Scanner *s, Records *recs) {
        return scan_object_for(s, "\"processes\"", '[', 2, scan_records, recs, &recs->found, NULL, false);
}

/* In {"parameters":{"processes":[...]}} (any other members allowed, in any order, but no "error"),
 * the array's records. resume: s->p is within the records' array of a message that began
 * {"parameters":{"processes":[ (recs holds the records before). */
static int find_processes(Scanner *s, Records *recs, bool resume) {
        bool found = resume, error = false;
        int r;

        if (resume) {
                r = scan_records(s, recs);
                if (r >= 0)
                        r = scan_object_for(s, "\"processes\"", '[', 2, scan_records, recs, &recs->found, NULL, true);
                if (r >= 0)
                        r = scan_object_for(s, "\"parameters\"", '{', 1, scan_parameters, recs, &found, &error, true);
        } else {
                skip_ws(s);
                if (s->p >= s->end || *s->p != '{')
                        return -EBADMSG;
                r = scan_object_for(s, "\"parameters\"", '{', 1, scan_parameters, recs, &found, &error, false);
        }
        if (r < 0)
                return r;
        skip_ws(s);
        if (s->p != s->end)
                return -EBADMSG;
        if (error || !recs->found)
                return -ENOMSG;
        return 0;
}

/* The slot of id in the open-addressing table of nest(): the one holding the latest record with that
 * id (index + 1), or the empty one where it would go. */
static size_t *id_slot(size_t *slots, size_t cap, const Record *recs, const char *base, Span id) {
        uint64_t h = 14695981039346656037ULL;
        size_t j;

        for (size_t k = 0; k < id.n; k++)
                h = (h ^ (unsigned char) base[id.off + k]) * 1099511628211ULL;
        for (j = h & (cap - 1); slots[j]; j = (j + 1) & (cap - 1)) {
                const Span *q = &recs[slots[j] - 1].id;

                if (q->n == id.n && memcmp(base + q->off, base + id.off, id.n) == 0)
                        break;
        }
        return &slots[j];
}

/* ctl_nest_tree()'s rule: a record whose parent_id names a record before it (the latest with that
 * id) is that record's child, in list order; any other is a root. Returns the first root (index + 1). */
static int nest(Record *recs, size_t n, const char *base, size_t *ret_first_root) {
        _cleanup_(freep) size_t *slots = NULL;
        size_t cap = 16, first_root = 0, last_root = 0;

        while (cap < n * 2)
                cap *= 2;
        slots = calloc(cap, sizeof(*slots)); /* index + 1 of the latest record per id */
        if (!slots)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                Record *r = &recs[i];
                size_t parent = r->parent_id.n > 0 ? *id_slot(slots, cap, recs, base, r->parent_id) : 0;

                if (r->id_bad)
                        return -ENOMSG; /* the object path reports it */
                if (parent) {
                        Record *q = &recs[parent - 1];

                        if (q->last_child)
                                recs[q->last_child - 1].next_sibling = i + 1;
                        else
                                q->first_child = i + 1;
                        q->last_child = i + 1;
                } else {
                        if (last_root)
                                recs[last_root - 1].next_sibling = i + 1;
                        else
                                first_root = i + 1;
                        last_root = i + 1;
                }
                *id_slot(slots, cap, recs, base, r->id) = i + 1; /* now the latest with this id */
        }
        *ret_first_root = first_root;
        return 0;
}

/* --- output --------------------------------------------------------------------------------------- */

typedef struct Out {
        const char *base;       /* the message */
        FILE *f;
        char *buf;              /* CTL_JSON_OUT_CHUNK bytes */
        size_t len;
        bool failed;
        bool resolve;
        bool have_user;         /* user: the "user" value's text for user_euid */
        int64_t user_euid;
        JsonWriter user;
} Out;

static void out_flush(Out *o) {
        if (o->len > 0 && !o->failed && fwrite_unlocked(o->buf, 1, o->len, o->f) != o->len)
                o->failed = true;
        o->len = 0;
}

static inline void out_put(Out *o, const char *p, size_t n) {
        if (_unlikely_(CTL_JSON_OUT_CHUNK - o->len < n)) {
                out_flush(o);
                if (n >= CTL_JSON_OUT_CHUNK) {
                        if (!o->failed && fwrite_unlocked(p, 1, n, o->f) != n)
                                o->failed = true;
                        return;
                }
        }
        memcpy(o->buf + o->len, p, n);
        o->len += n;
}

static void out_indent(Out *o, unsigned level) {
        static const char spaces[] = "\n                                                                "
                                     "                                                                ";
        size_t n = (size_t) level * 2, k = MIN(n, sizeof(spaces) - 2);

        /* JSON_INDENT(2): a newline, then two spaces per level. Most lines of a tree are indented
         * deeply: the common case copies the whole run of spaces, a length known when compiling, and
         * keeps the part it needs. */
        if (_likely_(n == k && CTL_JSON_OUT_CHUNK - o->len >= sizeof(spaces))) {
                memcpy(o->buf + o->len, spaces, sizeof(spaces));
                o->len += k + 1;
                return;
        }
        out_put(o, spaces, k + 1);
        for (n -= k; n > 0; n -= k) {
                k = MIN(n, sizeof(spaces) - 2);
                out_put(o, spaces + 1, k);
        }
}

static bool is_ws(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Past the string token at p (its opening quote), known good: the first quote that an even number of
 * backslashes precedes. memchr() looks for quotes many bytes at a time. */
static const char *string_end(const char *p, const char *end) {
        for (const char *from = p + 1;;) {
                const char *q = memchr(from, '"', (size_t) (end - from)), *b;

                if (!q)
                        return end;
                for (b = q; b > from && b[-1] == '\\'; b--)
                        ;
                if ((q - b) % 2 == 0)
                        return q + 1;
                from = q + 1;
        }
}

/* Text the first pass checked, re-indented: members or elements of a container whose members stand
 * at level, each on a line of its own, nested containers opened and closed on the way. lead: p is
 * at the first member (a line break comes first); else at the comma after one. */
static void out_members(Out *o, const char *p, const char *end, unsigned level, bool lead) {
        unsigned d = level;

        if (lead)
                out_indent(o, d);
        while (p < end) {
                const char *q;

                switch (*p) {
                case ' ': case '\t': case '\n': case '\r':
                        p++;
                        break;
                case '"':
                        q = string_end(p, end);
                        out_put(o, p, (size_t) (q - p));
                        p = q;
                        break;
                case ':':
                        out_put(o, ": ", 2);
                        p++;
                        break;
                case ',':
                        out_put(o, ",", 1);
                        out_indent(o, d);
                        p++;
                        break;
                case '{': case '[':
                        for (q = p + 1; q < end && is_ws(*q); q++)
                                ;
                        if (q < end && *q == (*p == '{' ? '}' : ']')) {
                                out_put(o, *p == '{' ? "{}" : "[]", 2);
                                p = q + 1;
                                break;
                        }
                        out_put(o, p++, 1);
                        out_indent(o, ++d);
                        break;
                case '}': case ']':
                        out_indent(o, --d);
                        out_put(o, p++, 1);
                        break;
                default:
                        /* A number or a literal, up to what ends it. */
                        for (q = p + 1; q < end && !is_ws(*q) && *q != ',' && *q != '}' && *q != ']'; q++)
                                ;
                        out_put(o, p, (size_t) (q - p));
                        p = q;
                        break;
                }
        }
}

/* The "user" member, on a line of its own at level: the user name of the record's euid, null
 * without one. The text is kept for the last euid seen: records come in runs of one user. */
static void out_user(Out *o, const Record *r, unsigned level) {
        int64_t euid = r->has_euid && r->euid >= 0 && r->euid <= UINT32_MAX ? r->euid : -1;

        out_indent(o, level);
        out_put(o, "\"user\": ", 8);
        if (!o->have_user || o->user_euid != euid) {
                json_writer_reset(&o->user);
                if (euid >= 0) {
                        const char *name = ctl_user_name((uint32_t) euid, o->resolve);

                        json_writer_string(&o->user, name, strlen(name));
                } else
                        json_writer_null(&o->user);
                if (json_writer_error(&o->user) < 0) {
                        o->failed = true;
                        return;
                }
                o->have_user = true;
                o->user_euid = euid;
        }
        out_put(o, o->user.buf, o->user.len);
}

/* A record at level: its members re-indented and "user" added last. With nest, the array of its
 * children goes where its "children" value was (after "user" when it had none): out_record_head()
 * writes what comes before that, out_record_tail() what comes after. */
static void out_record_head(Out *o, const Record *r, unsigned level, bool nest) {
        const char *body = o->base + r->text.off + 1, *end = o->base + r->text.off + r->text.n - 1;

        out_put(o, "{", 1);
        if (nest && r->children.n > 0) {
                out_members(o, body, o->base + r->children.off, level + 1, true);
                return;
        }
        if (!r->empty) {
                out_members(o, body, end, level + 1, true);
                out_put(o, ",", 1);
        }
        out_user(o, r, level + 1);
        if (nest) {
                out_put(o, ",", 1);
                out_indent(o, level + 1);
                out_put(o, "\"children\": ", 12);
        }
}

static void out_record_tail(Out *o, const Record *r, unsigned level, bool nest) {
        if (nest && r->children.n > 0) {
                out_members(o, o->base + r->children.off + r->children.n, o->base + r->text.off + r->text.n - 1,
                            level + 1, false);
                out_put(o, ",", 1);
                out_user(o, r, level + 1);
        }
        out_indent(o, level);
        out_put(o, "}", 1);
}

/* An array being written: the record whose "children" it is (index + 1; 0 for the outermost) and
 * the next record in it (index + 1; 0 when it is done). */
typedef struct Frame {
        size_t parent, next;
        bool first;
} Frame;

/* Opens the array whose first record is first (index + 1) as a frame on the stack; for none, writes
 * "[]" and returns false. */
static bool out_open_array(Out *o, Frame *stack, size_t *n, size_t parent, size_t first) {
        if (first == 0) {
                out_put(o, "[]", 2);
                return false;
        }
        out_put(o, "[", 1);
        stack[(*n)++] = (Frame){ .parent = parent, .next = first, .first = true };
        return true;
}

/* The array of records from first along next_sibling, each with its children nested when nest.
 * Iterative, a frame per open array, as a chain of 30,000 processes nests that deep: stack has room
 * for a frame per record and one more. An array stands at level 2 * its frame's index, its records
 * one deeper. */
static void out_records(Out *o, const Record *recs, size_t first, bool nest, Frame *stack) {
        size_t n = 0;

        if (!out_open_array(o, stack, &n, 0, first))
                return;
        while (n > 0 && !o->failed) {
                Frame *f = &stack[n - 1];
                unsigned level = (unsigned) (n - 1) * 2;
                const Record *r;

                if (f->next == 0) {
                        size_t parent = f->parent;

                        out_indent(o, level);
                        out_put(o, "]", 1);
                        n--;
                        if (parent > 0)
                                out_record_tail(o, &recs[parent - 1], level - 1, nest);
                        continue;
                }
                r = &recs[f->next - 1];
                if (!f->first)
                        out_put(o, ",", 1);
                f->first = false;
                f->next = r->next_sibling;
                out_indent(o, level + 1);
                out_record_head(o, r, level + 1, nest);
                if (!nest || !out_open_array(o, stack, &n, (size_t) (r - recs) + 1, r->first_child))
                        out_record_tail(o, r, level + 1, nest);
        }
}

static void out_done(Out *o) {
        free(o->buf);
        json_writer_done(&o->user);
}

/* --- the reply as it comes -------------------------------------------------------------------------- */

/* How the daemon begins the reply: after it, records are scanned while the rest is on its way. */
#define REPLY_HEAD "{\"parameters\":{\"processes\":["

struct CtlJsonReply {
        Records recs;
        size_t pos;             /* where scanning goes on: the array's '[', then after each record */
        size_t retry_at;        /* what did not scan is tried again once the message is this long */
        bool started;           /* the message begins with REPLY_HEAD */
        bool gave_up;           /* it does not: all of it is scanned at the end */
        bool noncanonical;      /* in the records scanned */
};

int ctl_json_reply_new(CtlJsonReply **ret) {
        CtlJsonReply *x = calloc(1, sizeof(*x));

        if (!x)
                return -ENOMEM;
        *ret = x;
        return 0;
}

CtlJsonReply *ctl_json_reply_free(CtlJsonReply *x) {
        if (x) {
                free(x->recs.v);
                free(x);
        }
        return NULL;
}

int ctl_json_reply_feed(CtlJsonReply *x, const char *msg, size_t len) {
        static const char head[] = REPLY_HEAD;

        if (x->gave_up || len < x->retry_at)
                return 0;
        if (!x->started) {
                if (memcmp(msg, head, MIN(len, sizeof(head) - 1)) != 0) {
                        x->gave_up = true;
                        return 0;
                }
                if (len < sizeof(head) - 1)
                        return 0;
                x->started = x->recs.found = true;
                x->pos = sizeof(head) - 2;
        }
        for (;;) {
                Scanner s = { .base = msg, .p = msg + x->pos, .end = msg + len };
                int r = scan_next_record(&s, &x->recs);

                if (r == -ENOMEM)
                        return r;
                if (r == 0) {
                        x->retry_at = SIZE_MAX; /* the array ended: the rest is scanned at the end */
                        return 0;
                }
                if (r < 0) {
                        /* Most likely the record goes on beyond what came so far; perhaps it is bad,
                         * which the scan at the end reports. Tried again with twice the text, so that
                         * a record that does not scan costs no more than linear time. */
                        x->retry_at = x->pos + 2 * (len - x->pos);
                        return 0;
                }
                x->noncanonical |= s.noncanonical;
                x->pos = (size_t) (s.p - msg);
        }
}

int ctl_json_reply_print(CtlJsonReply *x, FILE *f, const char *msg, size_t len, bool nest_tree, bool resolve_names) {
        bool resume = x->started && !x->gave_up;
        Scanner s = { .base = msg, .p = msg + (resume ? x->pos : 0), .end = msg + len, .noncanonical = x->noncanonical };
        _cleanup_(out_done) Out o = { .base = msg, .f = f, .resolve = resolve_names };
        _cleanup_(freep) Frame *stack = NULL;
        Records *recs = &x->recs;
        size_t first = 0;
        int r;

        if (!resume)
                recs->n = 0;
        r = find_processes(&s, recs, resume);
        if (r < 0)
                return r;
        if (s.noncanonical)
                return -EDOM;
        if (nest_tree) {
                r = nest(recs->v, recs->n, msg, &first);
                if (r < 0)
                        return r;
        } else if (recs->n > 0) {
                for (size_t i = 0; i + 1 < recs->n; i++)
                        recs->v[i].next_sibling = i + 2;
                first = 1;
        }
        stack = calloc(recs->n + 1, sizeof(*stack));
        o.buf = malloc(CTL_JSON_OUT_CHUNK);
        if (!stack || !o.buf)
                return -ENOMEM;
        out_records(&o, recs->v, first, nest_tree, stack);
        out_put(&o, "\n", 1);
        out_flush(&o);
        if (o.failed || fflush(f) == EOF)
                return -EIO;
        return 0;
}

int ctl_json_print_processes(FILE *f, const char *msg, size_t len, bool nest_tree, bool resolve_names) {
        _cleanup_(ctl_json_reply_freep) CtlJsonReply *x = NULL;
        int r;

        r = ctl_json_reply_new(&x);
        if (r < 0)
                return r;
        return ctl_json_reply_print(x, f, msg, len, nest_tree, resolve_names);
}
