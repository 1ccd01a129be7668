/* SPDX-License-Identifier: MIT */
/* JSON text for out_ndjson.c and out_perfetto.c (see out_json.h). */
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "out_json.h"

/*
 * The length of the valid UTF-8 sequence at s (at most n bytes), or 0.
 * RFC 3629 section 4: no overlong forms, no surrogates, nothing past
 * U+10FFFF.
 */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	unsigned char lo = 0x80, hi = 0xbf;	/* the second byte's range */

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
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

void json__str(FILE *f, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strnlen(s, n);

	fputc('"', f);
	for (size_t i = 0; i < len;) {
		unsigned char c = p[i];
		size_t l = utf8_len(p + i, len - i);

		if (l > 1) {
			fwrite(p + i, 1, l, f);
			i += l;
			continue;
		}
		i++;
		switch (c) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			/* Control characters, DEL, and bytes that are not
			 * UTF-8 (l == 0: shown as the Latin-1 code point). */
			if (l == 0 || c < 0x20 || c == 0x7f)
				fprintf(f, "\\u%04x", c);
			else
				fputc(c, f);
		}
	}
	fputc('"', f);
}

void json__strz(FILE *f, const char *s)
{
	if (s)
		json__str(f, s, strlen(s));
	else
		fputs("null", f);
}

void json__hex(FILE *f, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	fputc('"', f);
	for (size_t i = 0; i < n; i++) {
		fputc(digits[p[i] >> 4], f);
		fputc(digits[p[i] & 15], f);
	}
	fputc('"', f);
}

void json__time(FILE *f, int64_t ns)
{
	/* Floor division: a (theoretical) time before 1970 still gets a
	 * non-negative fraction. */
	int64_t sec = ns / 1000000000, frac = ns % 1000000000;
	time_t t;
	struct tm tm;
	char buf[64];

	if (frac < 0) {
		frac += 1000000000;
		sec--;
	}
	t = (time_t)sec;
	if (!gmtime_r(&t, &tm) ||
	    !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm)) {
		fputs("null", f);
		return;
	}
	fprintf(f, "\"%s.%06uZ\"", buf, (unsigned)(frac / 1000));
}

static void key(FILE *f, const char *name, const char *suffix)
{
	/* Names come from decode.c's table: plain identifiers. */
	fprintf(f, ",\"%s%s\":", name, suffix);
}

/* The NTSTATUS in the low 32 bits, as NT writes it: "0xc0000253". */
static void status_hex(FILE *f, int64_t v)
{
	fprintf(f, "\"0x%08" PRIx32 "\"", (uint32_t)v);
}

static void name_or_null(FILE *f, const char *s)
{
	json__strz(f, s && strcmp(s, "?") ? s : NULL);
}

static void arg_field(FILE *f, const struct lpct_event *e,
		      const struct probe_desc *d, unsigned i)
{
	const char *k = d->arg[i], *s;
	int64_t v = e->arg[i];
	char buf[128];

	key(f, k, "");
	switch (d->fmt[i]) {
	case ARG_DEC:
		fprintf(f, "%" PRId64, v);
		break;
	case ARG_HEX:
		fprintf(f, "\"0x%" PRIx64 "\"", (uint64_t)v);
		break;
	case ARG_STR:
		/* The argument is the string's address; the string itself
		 * is in e->name, shown as its NT path. */
		json__strz(f, e->name[0] ? decode__arg(e, i, buf, sizeof(buf))
					 : NULL);
		break;
	case ARG_STATUS:
		status_hex(f, v);
		key(f, k, "_name");
		json__strz(f, decode__status_name(v));
		break;
	case ARG_CAPTURE:
		status_hex(f, v);
		key(f, k, "_name");
		json__strz(f, v == 0   ? "none"
			      : v == 1 ? "ok"
				       : decode__status_name(v));
		break;
	case ARG_TYPE:
		fprintf(f, "%" PRId64, v);
		key(f, k, "_name");
		json__strz(f, v >= 0 && v <= 0xffff
				      ? decode__type_name((unsigned)v)
				      : NULL);
		break;
	case ARG_PORT_KIND:
		fprintf(f, "%" PRId64, v);
		key(f, k, "_name");
		name_or_null(f, v >= 0 && v < 256
					? decode__port_kind_name((unsigned)v)
					: NULL);
		break;
	case ARG_WAIT_KIND:
		fprintf(f, "%" PRId64, v);
		key(f, k, "_name");
		name_or_null(f, v >= 0 && v < 256
					? decode__wait_kind_name((unsigned)v)
					: NULL);
		break;
	case ARG_REPLY_CODE:
		fprintf(f, "%" PRId64, v);
		key(f, k, "_name");
		name_or_null(f, v >= 0 && v < 256
					? decode__reply_code_name((unsigned)v)
					: NULL);
		break;
	case ARG_ERR:
		fprintf(f, "%" PRId64, v);
		key(f, k, "_name");
		/* decode__err_name answers "0" for none and formats
		 * unknown codes into buf: neither is a name. */
		s = v ? decode__err_name(v, buf, sizeof(buf)) : NULL;
		json__strz(f, s == buf ? NULL : s);
		break;
	case ARG_BOOL:
		fputs(v ? "true" : "false", f);
		break;
	case ARG_API:
		fprintf(f, "%" PRIu32, (uint32_t)v);
		/* "api_name", not "api_number_name". */
		fputs(",\"api_name\":", f);
		json__strz(f, decode__api_name((uint32_t)v));
		break;
	case ARG_SIGNO:
		fprintf(f, "%" PRId64, v);
		key(f, k, "_name");
		s = v > 0 && v < 128 ? sigabbrev_np((int)v) : NULL;
		if (s) {
			snprintf(buf, sizeof(buf), "SIG%s", s);
			s = buf;
		}
		json__strz(f, s);
		break;
	}
}

void json__event_fields(FILE *f, const struct output *o,
			const struct lpct_event *e)
{
	const struct probe_desc *d = decode__probe(e->probe);
	const char *port = o->pn ? portnames__of_event(o->pn, e) : NULL;

	if (d) {
		for (unsigned i = 0; i < d->nargs && i < LPCT_NARGS; i++)
			arg_field(f, e, d, i);
	} else {
		/* A probe this build does not know: raw arguments. */
		fputs(",\"args\":[", f);
		for (unsigned i = 0; i < LPCT_NARGS; i++)
			fprintf(f, "%s%" PRId64, i ? "," : "", (int64_t)e->arg[i]);
		fputc(']', f);
	}
	if (port) {
		fputs(",\"port_name\":", f);
		json__strz(f, port);
	}
	if (e->latency)
		fprintf(f, ",\"latency_ns\":%" PRIu64, (uint64_t)e->latency);
	fprintf(f, ",\"failed\":%s", decode__failed(e) ? "true" : "false");
	if (e->snap_len) {
		fputs(",\"payload\":", f);
		json__hex(f, e->snap,
			  e->snap_len < LPCT_SNAP_MAX ? e->snap_len
						      : LPCT_SNAP_MAX);
	}
}
