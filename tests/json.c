/* SPDX-License-Identifier: MIT */
/* A strict JSON reader for the tests (json.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* Nesting deeper than this is refused: a bound on the recursion. */
#define MAX_DEPTH 256

struct parser {
	const unsigned char *p, *end, *start;
	char *err;
	size_t errlen;
	bool failed;
};

static void fail(struct parser *ps, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fail(struct parser *ps, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	if (ps->failed)
		return;
	ps->failed = true;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (ps->err && ps->errlen)
		snprintf(ps->err, ps->errlen, "offset %zu: %s",
			 (size_t)(ps->p - ps->start), what);
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' ||
				   *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static struct json *node(struct parser *ps, enum json_type t)
{
	struct json *j = calloc(1, sizeof(*j));

	if (!j)
		fail(ps, "out of memory");
	else
		j->type = t;
	return j;
}

static bool literal(struct parser *ps, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n))
		return false;
	ps->p += n;
	return true;
}

/* A growable byte buffer for strings. */
struct buf {
	char *b;
	size_t n, cap;
};

static bool buf_put(struct buf *b, const void *p, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 32;
		char *nb;

		while (b->n + n + 1 > cap)
			cap *= 2;
		nb = realloc(b->b, cap);
		if (!nb)
			return false;
		b->b = nb;
		b->cap = cap;
	}
	memcpy(b->b + b->n, p, n);
	b->n += n;
	b->b[b->n] = 0;
	return true;
}

static bool put_utf8(struct buf *b, uint32_t cp)
{
	unsigned char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | cp >> 6);
		u[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 | cp >> 12);
		u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (unsigned char)(0xf0 | cp >> 18);
		u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return buf_put(b, u, n);
}

/* The length of the valid UTF-8 sequence at s (RFC 3629: no overlong
 * forms, no surrogates, nothing past U+10FFFF), or 0. */
static size_t utf8_seq(const unsigned char *s, const unsigned char *end)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t len;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if ((size_t)(end - s) < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

static int hex4(struct parser *ps, uint32_t *out)
{
	uint32_t v = 0;

	if (ps->end - ps->p < 4) {
		fail(ps, "short \\u escape");
		return -1;
	}
	for (int i = 0; i < 4; i++) {
		unsigned char c = ps->p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else {
			fail(ps, "bad hex digit in \\u escape");
			return -1;
		}
	}
	ps->p += 4;
	*out = v;
	return 0;
}

/* A string; ps->p is on the opening quote.  Returns its bytes (caller
 * frees) and their count in *len. */
static char *string(struct parser *ps, size_t *len)
{
	struct buf b = { 0 };

	ps->p++;
	if (!buf_put(&b, "", 0))
		goto oom;
	while (ps->p < ps->end && *ps->p != '"') {
		unsigned char c = *ps->p;

		if (c < 0x20) {
			fail(ps, "control character 0x%02x in a string", c);
			goto bad;
		}
		if (c == '\\') {
			uint32_t cp;

			if (ps->end - ps->p < 2) {
				fail(ps, "unterminated escape");
				goto bad;
			}
			c = ps->p[1];
			ps->p += 2;
			switch (c) {
			case '"':
			case '\\':
			case '/':
				if (!buf_put(&b, &c, 1))
					goto oom;
				continue;
			case 'b':
				cp = '\b';
				break;
			case 'f':
				cp = '\f';
				break;
			case 'n':
				cp = '\n';
				break;
			case 'r':
				cp = '\r';
				break;
			case 't':
				cp = '\t';
				break;
			case 'u':
				if (hex4(ps, &cp))
					goto bad;
				if (cp >= 0xdc00 && cp <= 0xdfff) {
					fail(ps, "lone low surrogate");
					goto bad;
				}
				if (cp >= 0xd800 && cp <= 0xdbff) {
					uint32_t lo;

					if (ps->end - ps->p < 2 ||
					    ps->p[0] != '\\' ||
					    ps->p[1] != 'u') {
						fail(ps, "lone high surrogate");
						goto bad;
					}
					ps->p += 2;
					if (hex4(ps, &lo))
						goto bad;
					if (lo < 0xdc00 || lo > 0xdfff) {
						fail(ps, "bad surrogate pair");
						goto bad;
					}
					cp = 0x10000 + ((cp - 0xd800) << 10) +
					     (lo - 0xdc00);
				}
				break;
			default:
				fail(ps, "bad escape \\%c", c);
				goto bad;
			}
			if (!put_utf8(&b, cp))
				goto oom;
			continue;
		}
		{
			size_t n = utf8_seq(ps->p, ps->end);

			if (!n) {
				fail(ps, "invalid UTF-8 in a string");
				goto bad;
			}
			if (!buf_put(&b, ps->p, n))
				goto oom;
			ps->p += n;
		}
	}
	if (ps->p >= ps->end) {
		fail(ps, "unterminated string");
		goto bad;
	}
	ps->p++;
	*len = b.n;
	return b.b;
oom:
	fail(ps, "out of memory");
bad:
	free(b.b);
	return NULL;
}

static struct json *number(struct parser *ps)
{
	const unsigned char *s = ps->p;
	bool integral = true;
	char tmp[64];
	struct json *j;
	size_t n;

	if (ps->p < ps->end && *ps->p == '-')
		ps->p++;
	if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9') {
		fail(ps, "bad number");
		return NULL;
	}
	if (*ps->p == '0') {
		ps->p++;
		if (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
			fail(ps, "leading zero");
			return NULL;
		}
	} else {
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	}
	if (ps->p < ps->end && *ps->p == '.') {
		integral = false;
		ps->p++;
		if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9') {
			fail(ps, "no digit after the decimal point");
			return NULL;
		}
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	}
	if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
		integral = false;
		ps->p++;
		if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
			ps->p++;
		if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9') {
			fail(ps, "no digit in the exponent");
			return NULL;
		}
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	}
	n = (size_t)(ps->p - s);
	if (n >= sizeof(tmp)) {
		fail(ps, "number too long for this reader");
		return NULL;
	}
	memcpy(tmp, s, n);
	tmp[n] = 0;
	j = node(ps, JSON_NUMBER);
	if (!j)
		return NULL;
	j->num = strtod(tmp, NULL);
	if (integral) {
		long long v;

		errno = 0;
		v = strtoll(tmp, NULL, 10);
		if (!errno) {
			j->is_int = true;
			j->i = v;
		}
	}
	return j;
}

static struct json *value(struct parser *ps, int depth);

static bool add_member(struct parser *ps, struct json *j, struct json *v,
		       char *key)
{
	struct json **nv = realloc(j->v, (j->n + 1) * sizeof(*nv));

	if (!nv) {
		fail(ps, "out of memory");
		return false;
	}
	j->v = nv;
	if (j->type == JSON_OBJECT) {
		char **nk = realloc(j->k, (j->n + 1) * sizeof(*nk));

		if (!nk) {
			fail(ps, "out of memory");
			return false;
		}
		j->k = nk;
		j->k[j->n] = key;
	}
	j->v[j->n++] = v;
	return true;
}

static struct json *container(struct parser *ps, int depth, bool object)
{
	unsigned char close = object ? '}' : ']';
	struct json *j = node(ps, object ? JSON_OBJECT : JSON_ARRAY);

	if (!j)
		return NULL;
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return j;
	}
	for (;;) {
		char *key = NULL;
		struct json *v;

		skip_ws(ps);
		if (object) {
			size_t klen;

			if (ps->p >= ps->end || *ps->p != '"') {
				fail(ps, "a member name expected");
				goto bad;
			}
			key = string(ps, &klen);
			if (!key)
				goto bad;
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':') {
				free(key);
				fail(ps, "':' expected");
				goto bad;
			}
			ps->p++;
		}
		v = value(ps, depth + 1);
		if (!v || !add_member(ps, j, v, key)) {
			free(key);
			json__free(v);
			goto bad;
		}
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
			return j;
		}
		fail(ps, "',' or '%c' expected", close);
		goto bad;
	}
bad:
	json__free(j);
	return NULL;
}

static struct json *value(struct parser *ps, int depth)
{
	struct json *j;

	if (depth > MAX_DEPTH) {
		fail(ps, "nested too deep");
		return NULL;
	}
	skip_ws(ps);
	if (ps->p >= ps->end) {
		fail(ps, "a value expected, end of input found");
		return NULL;
	}
	switch (*ps->p) {
	case '{':
		return container(ps, depth, true);
	case '[':
		return container(ps, depth, false);
	case '"':
		j = node(ps, JSON_STRING);
		if (j && !(j->s = string(ps, &j->slen))) {
			free(j);
			return NULL;
		}
		return j;
	case 't':
	case 'f': {
		bool t = literal(ps, "true");

		if (t || literal(ps, "false")) {
			j = node(ps, JSON_BOOL);
			if (j)
				j->b = t;
			return j;
		}
		break;
	}
	case 'n':
		if (literal(ps, "null"))
			return node(ps, JSON_NULL);
		break;
	default:
		if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
			return number(ps);
	}
	fail(ps, "unexpected character '%c'", *ps->p);
	return NULL;
}

struct json *json__parse(const char *text, size_t len, char *err,
			 size_t errlen)
{
	struct parser ps = {
		.p = (const unsigned char *)text,
		.end = (const unsigned char *)text + len,
		.start = (const unsigned char *)text,
		.err = err,
		.errlen = errlen,
	};
	struct json *j;

	if (err && errlen)
		err[0] = 0;
	j = value(&ps, 0);
	if (!j)
		return NULL;
	skip_ws(&ps);
	if (ps.p != ps.end) {
		fail(&ps, "trailing bytes after the value");
		json__free(j);
		return NULL;
	}
	return j;
}

void json__free(struct json *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->n; i++) {
		json__free(j->v[i]);
		if (j->k)
			free(j->k[i]);
	}
	free(j->v);
	free(j->k);
	free(j->s);
	free(j);
}

const struct json *json__get(const struct json *j, const char *key)
{
	if (!j || j->type != JSON_OBJECT)
		return NULL;
	for (size_t i = 0; i < j->n; i++)
		if (!strcmp(j->k[i], key))
			return j->v[i];
	return NULL;
}

const struct json *json__at(const struct json *j, size_t i)
{
	if (!j || j->type != JSON_ARRAY || i >= j->n)
		return NULL;
	return j->v[i];
}

size_t json__len(const struct json *j)
{
	return j && (j->type == JSON_ARRAY || j->type == JSON_OBJECT) ? j->n
								       : 0;
}

const char *json__str(const struct json *j)
{
	return j && j->type == JSON_STRING ? j->s : NULL;
}

bool json__int(const struct json *j, int64_t *out)
{
	if (!j || j->type != JSON_NUMBER || !j->is_int)
		return false;
	*out = j->i;
	return true;
}

bool json__bool(const struct json *j, bool *out)
{
	if (!j || j->type != JSON_BOOL)
		return false;
	*out = j->b;
	return true;
}

bool json__is_null(const struct json *j)
{
	return j && j->type == JSON_NULL;
}

const char *json__get_str(const struct json *j, const char *key)
{
	return json__str(json__get(j, key));
}

int64_t json__get_int(const struct json *j, const char *key, int64_t dflt)
{
	int64_t v;

	return json__int(json__get(j, key), &v) ? v : dflt;
}
