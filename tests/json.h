/* SPDX-License-Identifier: MIT */
/*
 * json.h - a small, strict JSON reader (RFC 8259) for the tests that check
 * lpctrace's NDJSON lines, its Perfetto document and lpc-traffic's log.
 *
 * It builds a DOM of objects, arrays, strings, numbers, booleans and null.
 * It is strict on purpose, since it stands in for every consumer of these
 * formats: no trailing commas, no leading zeros, no control characters or
 * invalid UTF-8 inside strings, lone surrogates rejected, nothing after the
 * value but whitespace.
 */
#ifndef LPC_TEST_JSON_H
#define LPC_TEST_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum json_type {
	JSON_NULL,
	JSON_BOOL,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

struct json {
	enum json_type type;
	bool b;			/* JSON_BOOL */
	double num;		/* JSON_NUMBER */
	bool is_int;		/* written as an integer that fits */
	int64_t i;		/*   int64_t: then i holds it exactly */
	char *s;		/* JSON_STRING: UTF-8, NUL-terminated */
	size_t slen;		/*   its length (it may hold NUL bytes) */
	size_t n;		/* JSON_ARRAY, JSON_OBJECT: members */
	struct json **v;	/* the members' values */
	char **k;		/* JSON_OBJECT: the members' names */
};

/*
 * Parses text[0..len) as one JSON value.  Returns the tree (free it with
 * json__free), or NULL with a message naming the byte offset in err.
 */
struct json *json__parse(const char *text, size_t len, char *err,
			 size_t errlen);
/* Accepts NULL. */
void json__free(struct json *j);

/* The value of member key of an object (the first, if repeated), or NULL
 * when j is not an object or has no such member. */
const struct json *json__get(const struct json *j, const char *key);
/* Element i of an array, or NULL. */
const struct json *json__at(const struct json *j, size_t i);
/* Members of an array or object; 0 for anything else. */
size_t json__len(const struct json *j);

/* Typed views: NULL / false when the value is absent or of another type. */
const char *json__str(const struct json *j);
bool json__int(const struct json *j, int64_t *out);
bool json__bool(const struct json *j, bool *out);
bool json__is_null(const struct json *j);

/* Member key of object j as a string / integer, or NULL / dflt. */
const char *json__get_str(const struct json *j, const char *key);
int64_t json__get_int(const struct json *j, const char *key, int64_t dflt);

#endif
