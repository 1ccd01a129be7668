/* SPDX-License-Identifier: MIT */
/*
 * JSON text shared by the NDJSON and Perfetto writers (out_json.c): string
 * escaping, and one record's arguments under their stable field names
 * (docs/lpctrace-formats.md lists them).
 */
#ifndef LPCTRACE_OUT_JSON_H
#define LPCTRACE_OUT_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "output.h"

/*
 * s[0..n) (or up to a NUL, whichever is first) as a quoted JSON string.
 * Valid UTF-8 passes through; control characters and bytes that are not
 * UTF-8 become \u00XX, so any byte string comes out as valid JSON.
 */
void json__str(FILE *f, const char *s, size_t n);
/* A NUL-terminated string, or null for NULL. */
void json__strz(FILE *f, const char *s);
/* p[0..n) as a quoted string of lower-case hex digit pairs. */
void json__hex(FILE *f, const uint8_t *p, size_t n);
/* CLOCK_REALTIME ns as a quoted "2024-05-01T12:34:56.123456Z" (UTC). */
void json__time(FILE *f, int64_t realtime_ns);

/*
 * The record's probe arguments, their decoded companions, and port_name,
 * latency_ns, failed and payload, each written as `,"key":value`: the
 * caller has opened an object and written at least one member.
 */
void json__event_fields(FILE *f, const struct output *o,
			const struct lpct_event *e);


#endif
