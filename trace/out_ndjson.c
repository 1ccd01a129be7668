/* SPDX-License-Identifier: MIT */
/*
 * NDJSON: one JSON object per record per line, then one summary object.
 * The field names are stable (docs/lpctrace-formats.md): the record's
 * header fields, then the probe's arguments under decode.c's names.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "out_json.h"

static int ndjson_begin(struct output *o)
{
	return 0;
}

static int ndjson_event(struct output *o, const struct lpct_event *e)
{
	const struct probe_desc *d = decode__probe(e->probe);
	FILE *f = o->f;

	fprintf(f, "{\"ts\":%" PRId64 ",\"time\":", (int64_t)(e->ts - o->opts.t0));
	json__time(f, (int64_t)e->ts + o->opts.realtime_off);
	fprintf(f, ",\"cpu\":%" PRIu32 ",\"provider\":", (uint32_t)e->cpu);
	json__strz(f, d ? d->provider : NULL);
	/* An unknown probe keeps the field a string: its number. */
	if (d) {
		fputs(",\"probe\":", f);
		json__strz(f, d->name);
	} else {
		fprintf(f, ",\"probe\":\"%u\"", (unsigned)e->probe);
	}
	fprintf(f,
		",\"pid\":%" PRIu32 ",\"tid\":%" PRIu32 ",\"uid\":%" PRIu32
		",\"comm\":",
		(uint32_t)e->pid, (uint32_t)e->tid, (uint32_t)e->uid);
	json__str(f, e->comm, sizeof(e->comm));
	json__event_fields(f, o, e);
	fputs("}\n", f);
	return ferror(f) ? -EIO : 0;
}

static int ndjson_end(struct output *o, const struct output_summary *s)
{
	FILE *f = o->f;

	/* No summary without one (an aborted trace): a consumer must not
	 * read zeros as "nothing dropped". */
	if (!s)
		return 0;
	fprintf(f, "{\"summary\":true,\"events\":%" PRIu64 ",\"drops\":{",
		s->events);
	for (unsigned i = 0; i < LPCT_DROP_MAX; i++)
		fprintf(f, "%s\"%s\":%" PRIu64, i ? "," : "",
			decode__drop_name(i), s->drops[i]);
	fprintf(f, "},\"duration_ns\":%" PRIu64 "}\n", s->duration_ns);
	return ferror(f) ? -EIO : 0;
}

const struct output_ops out_ndjson_ops = {
	.name = "ndjson",
	.begin = ndjson_begin,
	.event = ndjson_event,
	.end = ndjson_end,
};
