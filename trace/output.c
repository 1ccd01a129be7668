/* SPDX-License-Identifier: MIT */
/* Output formats: pick one by name, open its file, feed it records. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

static const struct output_ops *const formats[] = {
	[OUT_TEXT] = &out_text_ops,
	[OUT_NDJSON] = &out_ndjson_ops,
	[OUT_PERFETTO] = &out_perfetto_ops,
	[OUT_PCAPNG] = &out_pcapng_ops,
};

#define NFORMATS (sizeof(formats) / sizeof(formats[0]))

int output__fmt_by_name(const char *name)
{
	if (!name)
		return -1;
	for (unsigned i = 0; i < NFORMATS; i++)
		if (formats[i] && !strcmp(formats[i]->name, name))
			return (int)i;
	return -1;
}

/*
 * A stream in error: the errno of the failed write when there is one
 * (EPIPE, ENOSPC), else EIO.  errno is cleared before each call so that
 * a stale value is not reported.
 */
static int stream_error(FILE *f, int err)
{
	bool bad = ferror(f);

	if (bad && errno > 0 && (!err || err == -EIO))
		return -errno;
	if (err)
		return err;
	return bad ? -EIO : 0;
}

struct output *output__open(enum output_fmt fmt, const char *path,
			    const struct portnames *pn,
			    const struct output_opts *opts)
{
	struct output *o;
	int r;

	if ((unsigned)fmt >= NFORMATS || !formats[fmt]) {
		errno = EINVAL;
		return NULL;
	}
	o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->ops = formats[fmt];
	o->pn = pn;
	if (opts)
		o->opts = *opts;
	if (!path || !strcmp(path, "-")) {
		o->f = stdout;
	} else {
		/* "b" is a no-op on Linux; pcapng is binary all the same. */
		o->f = fopen(path, "wbe");
		if (!o->f) {
			r = -errno;
			goto err_free;
		}
	}
	errno = 0;
	r = stream_error(o->f, o->ops->begin(o));
	if (r)
		goto err_close;
	return o;

err_close:
	/* begin() frees what it allocated when it fails. */
	if (o->f != stdout)
		fclose(o->f);
err_free:
	free(o);
	errno = -r;
	return NULL;
}

int output__event(struct output *o, const struct lpct_event *e)
{
	errno = 0;
	return stream_error(o->f, o->ops->event(o, e));
}

int output__close(struct output *o, const struct output_summary *s)
{
	int r, fr = 0;

	if (!o)
		return 0;
	errno = 0;
	r = o->ops->end(o, s);
	/* The trailer is still buffered: the flush says why it failed. */
	if (fflush(o->f) || ferror(o->f))
		fr = errno > 0 ? -errno : -EIO;
	if (o->f != stdout && fclose(o->f) && !fr)
		fr = errno > 0 ? -errno : -EIO;
	if (fr && (!r || r == -EIO))
		r = fr;
	free(o);
	return r;
}
