/* SPDX-License-Identifier: MIT */
/*
 * ndjson.h - the few fields of lpctrace's NDJSON records
 * (docs/lpctrace-formats.md) that the seed generators' --from-ndjson
 * modes need, read without a JSON library.
 *
 * Each line is one flat object; a value is a string, a number, true,
 * false, null, or (the summary line's "drops") a nested object, which is
 * skipped.  Only the keys below are kept; anything malformed (a truncated
 * line, an unterminated string, a payload of odd length or with a
 * non-hex digit) is an error with the line number, never a crash.
 *
 * Header-only (static functions): every C file of fuzz/tools is a program of
 * its own, and this is shared by two of them.
 */
#ifndef SEEDS_NDJSON_H
#define SEEDS_NDJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ND_PAYLOAD_MAX 4096

struct nd_rec {
	char provider[16];
	char probe[32];
	char comm[32];
	char type_name[48];
	int64_t pid, tid;
	int64_t msgid, client_pid, client_tid, type, api_number;
	int64_t data_len, total_len, view_size, info_len, which, length;
	int64_t max_msg;
	uint64_t context, base, port;
	char status[16];
	bool accepted, mapped, summary;
	bool has_payload;
	size_t npayload;
	uint8_t payload[ND_PAYLOAD_MAX];
};

struct nd_reader {
	FILE *f;
	const char *path;
	unsigned long line;
	char *buf;
	size_t cap;
	char err[256];
};

static int nd_fail(struct nd_reader *r, const char *what)
{
	snprintf(r->err, sizeof(r->err), "%s:%lu: %s", r->path, r->line, what);
	return -1;
}

static const char *nd_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\r')
		p++;
	return p;
}

/* A JSON string at p (at its opening quote): decoded into out (cap
 * bytes, truncated quietly), *end past its closing quote.  \uXXXX
 * becomes its low byte (only names are read this way). */
static int nd_string(struct nd_reader *r, const char *p, char *out,
		     size_t cap, const char **end)
{
	size_t n = 0;

	if (*p != '"')
		return nd_fail(r, "a string was expected");
	for (p++;; p++) {
		char c = *p;

		if (!c)
			return nd_fail(r, "unterminated string (truncated line?)");
		if (c == '"')
			break;
		if (c == '\\') {
			p++;
			switch (*p) {
			case '"': case '\\': case '/': c = *p; break;
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'u': {
				unsigned v = 0;

				for (int i = 1; i <= 4; i++) {
					char h = p[i];

					if (!((h >= '0' && h <= '9') ||
					      (h >= 'a' && h <= 'f') ||
					      (h >= 'A' && h <= 'F')))
						return nd_fail(r, "bad \\u escape");
					v = v * 16 + (unsigned)(h <= '9' ? h - '0'
							       : (h | 32) - 'a' + 10);
				}
				p += 4;
				c = (char)(v & 0xff);
				break;
			}
			default:
				return nd_fail(r, "bad escape in a string");
			}
		}
		if (out && n + 1 < cap)
			out[n++] = c;
	}
	if (out && cap)
		out[n] = 0;
	*end = p + 1;
	return 0;
}

/* Skips a value that is not kept (nested objects and arrays too). */
static int nd_skip(struct nd_reader *r, const char *p, const char **end)
{
	int depth = 0;

	do {
		p = nd_ws(p);
		if (*p == '"') {
			if (nd_string(r, p, NULL, 0, &p))
				return -1;
		} else if (*p == '{' || *p == '[') {
			depth++;
			p++;
		} else if (*p == '}' || *p == ']') {
			if (!depth)
				return nd_fail(r, "unexpected end of object");
			depth--;
			p++;
		} else if (*p == ',' || *p == ':') {
			if (!depth)
				return nd_fail(r, "a value was expected");
			p++;
		} else if (*p) {
			const char *s = p;

			while (*p && !strchr(",:{}[]\" \t\r", *p))
				p++;
			if (p == s)
				return nd_fail(r, "bad character");
		} else {
			return nd_fail(r, "truncated line");
		}
	} while (depth);
	*end = p;
	return 0;
}

static int nd_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* One value for key k into rec. */
static int nd_value(struct nd_reader *r, const char *k, const char *p,
		    const char **end, struct nd_rec *rec)
{
	static const struct {
		const char *key;
		size_t off;
	} nums[] = {
#define N(f) { #f, offsetof(struct nd_rec, f) }
		N(pid), N(tid), N(msgid), N(client_pid), N(client_tid),
		N(type), N(api_number), N(data_len), N(total_len),
		N(view_size), N(info_len), N(which), N(length), N(max_msg),
#undef N
	};
	static const struct {
		const char *key;
		size_t off, cap;
	} strs[] = {
#define S(f) { #f, offsetof(struct nd_rec, f), sizeof(((struct nd_rec *)0)->f) }
		S(provider), S(probe), S(comm), S(type_name), S(status),
#undef S
	};
	static const struct {
		const char *key;
		size_t off;
	} hexes[] = {
		{ "context", offsetof(struct nd_rec, context) },
		{ "base", offsetof(struct nd_rec, base) },
		{ "port", offsetof(struct nd_rec, port) },
	};

	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
		if (!strcmp(k, nums[i].key)) {
			char *e;
			long long v;

			if (!strncmp(p, "null", 4)) {
				*end = p + 4;
				return 0;
			}
			v = strtoll(p, &e, 10);
			if (e == p)
				return nd_fail(r, "a number was expected");
			memcpy((char *)rec + nums[i].off, &(int64_t){ v }, 8);
			*end = e;
			return 0;
		}
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		if (!strcmp(k, strs[i].key)) {
			if (!strncmp(p, "null", 4)) {
				*end = p + 4;
				return 0;
			}
			return nd_string(r, p, (char *)rec + strs[i].off,
					 strs[i].cap, end);
		}
	for (size_t i = 0; i < sizeof(hexes) / sizeof(hexes[0]); i++)
		if (!strcmp(k, hexes[i].key)) {
			char s[40], *e;
			uint64_t v;

			if (nd_string(r, p, s, sizeof(s), end))
				return -1;
			v = strtoull(s, &e, 16);
			if (e == s || *e)
				return nd_fail(r, "a hex string was expected");
			memcpy((char *)rec + hexes[i].off, &v, 8);
			return 0;
		}
	if (!strcmp(k, "accepted") || !strcmp(k, "mapped") ||
	    !strcmp(k, "summary")) {
		bool v;

		if (!strncmp(p, "true", 4))
			v = true;
		else if (!strncmp(p, "false", 5))
			v = false;
		else
			return nd_fail(r, "true or false was expected");
		*end = p + (v ? 4 : 5);
		if (k[0] == 'a')
			rec->accepted = v;
		else if (k[0] == 'm')
			rec->mapped = v;
		else
			rec->summary = v;
		return 0;
	}
	if (!strcmp(k, "payload")) {
		const char *s = p + 1;
		size_t n = 0;

		if (*p != '"')
			return nd_fail(r, "payload: a string was expected");
		while (s[n] && s[n] != '"')
			n++;
		if (!s[n])
			return nd_fail(r, "payload: unterminated (truncated line?)");
		if (n % 2)
			return nd_fail(r, "payload: odd number of hex digits");
		if (n / 2 > ND_PAYLOAD_MAX)
			return nd_fail(r, "payload: longer than expected");
		for (size_t i = 0; i < n; i += 2) {
			int hi = nd_hexval(s[i]), lo = nd_hexval(s[i + 1]);

			if (hi < 0 || lo < 0)
				return nd_fail(r, "payload: not a hex digit");
			rec->payload[i / 2] = (uint8_t)(hi << 4 | lo);
		}
		rec->npayload = n / 2;
		rec->has_payload = true;
		*end = s + n + 1;
		return 0;
	}
	return nd_skip(r, p, end);
}

/* The next record: 1, 0 at the end, -1 on an error (r->err says it).
 * Empty lines are skipped. */
static int nd_next(struct nd_reader *r, struct nd_rec *rec)
{
	const char *p;
	ssize_t len;

	for (;;) {
		len = getline(&r->buf, &r->cap, r->f);
		if (len < 0)
			return 0;
		r->line++;
		if (memchr(r->buf, 0, (size_t)len))
			return nd_fail(r, "a NUL byte in the line");
		while (len && (r->buf[len - 1] == '\n' ||
			       r->buf[len - 1] == '\r'))
			r->buf[--len] = 0;
		p = nd_ws(r->buf);
		if (*p)
			break;
	}
	memset(rec, 0, offsetof(struct nd_rec, payload));
	rec->pid = rec->tid = rec->msgid = rec->client_pid = -1;
	rec->client_tid = rec->type = rec->api_number = -1;
	rec->which = -1;
	if (*p != '{')
		return nd_fail(r, "not a JSON object");
	p = nd_ws(p + 1);
	if (*p == '}')
		goto done;
	for (;;) {
		char key[48];

		if (nd_string(r, p, key, sizeof(key), &p))
			return -1;
		p = nd_ws(p);
		if (*p != ':')
			return nd_fail(r, "':' was expected");
		p = nd_ws(p + 1);
		if (nd_value(r, key, p, &p, rec))
			return -1;
		p = nd_ws(p);
		if (*p == ',') {
			p = nd_ws(p + 1);
			continue;
		}
		if (*p == '}')
			break;
		return nd_fail(r, *p ? "',' or '}' was expected"
				     : "truncated line (no closing '}')");
	}
done:
	if (*nd_ws(p + 1))
		return nd_fail(r, "text after the object");
	return 1;
}

/* Reads every record of path into a growing array. */
static struct nd_rec *nd_load(const char *path, size_t *count, const char *tool)
{
	struct nd_reader r = { .path = path };
	struct nd_rec *recs = NULL, rec;
	size_t n = 0, cap = 0;
	int got;

	r.f = fopen(path, "r");
	if (!r.f) {
		fprintf(stderr, "%s: %s: cannot open\n", tool, path);
		exit(1);
	}
	while ((got = nd_next(&r, &rec)) > 0) {
		if (rec.summary)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 256;
			recs = realloc(recs, cap * sizeof(*recs));
			if (!recs) {
				fprintf(stderr, "%s: out of memory\n", tool);
				exit(1);
			}
		}
		recs[n++] = rec;
	}
	if (got < 0) {
		fprintf(stderr, "%s: %s\n", tool, r.err);
		exit(1);
	}
	free(r.buf);
	fclose(r.f);
	*count = n;
	return recs;
}

static uint64_t nd_get(const uint8_t *p, size_t n, size_t off, size_t size)
{
	uint64_t v = 0;

	if (off + size <= n)
		memcpy(&v, p + off, size);
	return v;
}

#endif
