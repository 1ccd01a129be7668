/* SPDX-License-Identifier: MIT */
/*
 * csrcall - connect to csrd and issue one CSR API call by hand.
 *
 *   csrcall [options] API [ITEM...] [-- API [ITEM...]]...
 *
 * API is a number (0x00010002) or a name of the profile's tables
 * (BasepGetTempFile).  The ITEMs build the per-API data in order:
 *
 *   u8:N u16:N u32:N u64:N   a little-endian integer (C syntax: 0x.., -1)
 *   hex:AABB..               raw bytes
 *   pad:N                    N zero bytes
 *   align:N                  zero bytes up to a multiple of N
 *   wstr:TEXT / str:TEXT     a pointer field: TEXT (UTF-16 / bytes, with a
 *                            NUL) captured in the capture buffer
 *   wbuf:N / buf:N           a pointer field: N captured bytes (zeros), for
 *                            output buffers
 *   ustr:TEXT                a UNICODE_STRING (Length, MaximumLength,
 *                            padding, Buffer captured)
 *   rawptr:N                 a pointer field holding N, not captured
 *
 * The reply's status is printed with its name, then the per-API data and
 * every captured buffer as the server left them.  Exit status: 0 when
 * the server answered STATUS_SUCCESS, 1 for another status, 2 for usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lpc/csr.h>

#include "profile.h"
#include "status_names.h"

#define MAX_PTRS 16

struct item_ptr {
	ULONG offset;		/* of the pointer field in Data */
	const void *src;	/* bytes to capture, NULL: zeros */
	ULONG len;
	void *mem;		/* allocated to build src */
};

static CSR_API_MESSAGE msg;
static ULONG data_len;
static struct item_ptr ptrs[MAX_PTRS];
static unsigned nptrs;

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "csrcall: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(2);
}

static void put(const void *p, ULONG n, const char *item)
{
	if (data_len + n > sizeof(msg.Data))
		die("%s: the per-API data is at most 312 bytes", item);
	memcpy((char *)&msg.Data + data_len, p, n);
	data_len += n;
}

static unsigned long long number(const char *s, const char *item)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = *s == '-' ? (unsigned long long)strtoll(s, &end, 0) :
			strtoull(s, &end, 0);
	if (errno || end == s || *end)
		die("%s: not a number", item);
	return v;
}

static void add_ptr(const void *src, ULONG len, void *mem, const char *item)
{
	uint64_t zero = 0;

	if (nptrs == MAX_PTRS)
		die("%s: too many pointer fields", item);
	/* Pointer fields are 8-byte aligned in every per-API structure. */
	while (data_len % 8)
		put(&zero, 1, item);
	ptrs[nptrs++] = (struct item_ptr){ data_len, src, len, mem };
	put(&zero, 8, item);
}

static WCHAR *widen(const char *s, ULONG *bytes)
{
	size_t n = strlen(s);
	WCHAR *w = calloc(n + 1, sizeof(WCHAR));

	if (!w)
		die("%s: out of memory", s);
	for (size_t i = 0; i < n; i++)
		w[i] = (WCHAR)(unsigned char)s[i];
	*bytes = (ULONG)((n + 1) * sizeof(WCHAR));
	return w;
}

static void item(const char *it)
{
	const char *colon = strchr(it, ':'), *v = colon ? colon + 1 : "";
	size_t klen = colon ? (size_t)(colon - it) : strlen(it);
	unsigned long long n;
	ULONG bytes;

#define IS(k) (klen == strlen(k) && !strncmp(it, k, klen))
	if (IS("u8") || IS("u16") || IS("u32") || IS("u64")) {
		ULONG w = IS("u8") ? 1 : IS("u16") ? 2 : IS("u32") ? 4 : 8;

		n = number(v, it);
		put(&n, w, it);
	} else if (IS("hex")) {
		size_t len = strlen(v);

		if (len % 2)
			die("%s: odd number of hex digits", it);
		for (size_t i = 0; i < len; i += 2) {
			char two[3] = { v[i], v[i + 1], 0 }, *end;
			unsigned char b = (unsigned char)strtoul(two, &end, 16);

			if (*end)
				die("%s: not hex", it);
			put(&b, 1, it);
		}
	} else if (IS("pad") || IS("align")) {
		uint8_t z = 0;

		n = number(v, it);
		if (n > sizeof(msg.Data))
			die("%s: too large", it);
		if (IS("pad"))
			for (unsigned long long i = 0; i < n; i++)
				put(&z, 1, it);
		else
			while (n && data_len % n)
				put(&z, 1, it);
	} else if (IS("wstr")) {
		WCHAR *w = widen(v, &bytes);

		add_ptr(w, bytes, w, it);
	} else if (IS("str")) {
		add_ptr(v, (ULONG)strlen(v) + 1, NULL, it);
	} else if (IS("wbuf") || IS("buf")) {
		n = number(v, it);
		if (n > CSR_PORT_VIEW_SIZE)
			die("%s: larger than the view", it);
		add_ptr(NULL, (ULONG)n, NULL, it);
	} else if (IS("ustr")) {
		WCHAR *w = widen(v, &bytes);
		USHORT len[2] = { (USHORT)(bytes - 2), (USHORT)bytes };
		uint32_t pad = 0;

		while (data_len % 8)
			put(&pad, 1, it);
		put(len, 4, it);
		put(&pad, 4, it);
		add_ptr(w, bytes, w, it);
	} else if (IS("rawptr")) {
		uint8_t z = 0;

		n = number(v, it);
		while (data_len % 8)
			put(&z, 1, it);
		put(&n, 8, it);
	} else {
		die("unknown item '%s' (see csrcall --help)", it);
	}
#undef IS
}

static void hexdump(const char *title, const void *p, size_t n)
{
	const unsigned char *b = p;

	printf("%s (%zu bytes):\n", title, n);
	for (size_t i = 0; i < n; i += 16) {
		printf("  %04zx ", i);
		for (size_t k = i; k < i + 16; k++)
			if (k < n)
				printf(" %02x", b[k]);
			else
				printf("   ");
		printf("  ");
		for (size_t k = i; k < i + 16 && k < n; k++)
			putchar(b[k] >= 32 && b[k] < 127 ? b[k] : '.');
		putchar('\n');
	}
}

static NTSTATUS one_call(const struct csr_profile *prof, char **args,
			 int nargs, long long length, long long repeat)
{
	PCSR_CAPTURE_BUFFER cb;
	const char *name;
	ULONG api, total = 0;
	NTSTATUS st = STATUS_SUCCESS;

	if (nargs < 1)
		die("%s", "an API is missing (before or after '--')");
	memset(&msg, 0, sizeof(msg));
	data_len = 0;
	nptrs = 0;
	if (args[0][0] >= '0' && args[0][0] <= '9') {
		api = (ULONG)number(args[0], "API");
	} else {
		long v = csr_profile_api_number(prof, args[0]);

		if (v < 0)
			die("no API '%s' in this profile (csrcall -L lists "
			    "them)", args[0]);
		api = (ULONG)v;
	}
	for (int i = 1; i < nargs; i++)
		item(args[i]);
	name = csr_profile_api_name(prof, api);
	for (unsigned i = 0; i < nptrs; i++)
		total += (ptrs[i].len + 3) & ~3u;
	for (long long r = 0; r < repeat; r++) {
		CSR_API_MESSAGE m = msg;

		cb = NULL;
		if (nptrs) {
			cb = CsrAllocateCaptureBuffer(nptrs, total);
			if (!cb)
				die("%s", "capture buffers do not fit the view");
			for (unsigned i = 0; i < nptrs; i++)
				CsrCaptureMessageBuffer(
					cb, (PVOID)ptrs[i].src, ptrs[i].len,
					(PVOID *)((char *)&m.Data +
						  ptrs[i].offset));
		}
		st = CsrClientCallServer(&m, cb,
					 api, length >= 0 ? (ULONG)length :
							    data_len);
		if (r + 1 == repeat) {
			const char *sn = csr_status_name(st);

			printf("%s (0x%08x) -> 0x%08x %s\n",
			       name ? name : "?", (unsigned)api, (unsigned)st,
			       sn ? sn : "");
			hexdump("data", &m.Data, data_len);
			for (unsigned i = 0; i < nptrs; i++) {
				void *p;
				char t[64];

				memcpy(&p, (char *)&m.Data + ptrs[i].offset,
				       sizeof(p));
				snprintf(t, sizeof(t), "buffer %u at +%u", i,
					 (unsigned)ptrs[i].offset);
				if (p)
					hexdump(t, p, ptrs[i].len);
			}
		}
		if (cb)
			CsrFreeCaptureBuffer(cb);
	}
	for (unsigned i = 0; i < nptrs; i++)
		free(ptrs[i].mem);
	return st;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: csrcall [options] API [ITEM...] [-- API [ITEM...]]...\n"
"  API            a number (0x00010002) or an API name of the profile\n"
"  -d DIR         csrd's object directory (default \\Windows)\n"
"  -p PROFILE     profile for names (default: the first, ws03)\n"
"  -l, --length N send N as the per-API data length (default: the items')\n"
"  -n, --repeat N make the call N times (default 1)\n"
"  -L             list the profile's APIs and exit\n"
"ITEMs: u8:N u16:N u32:N u64:N hex:AABB pad:N align:N wstr:TEXT str:TEXT\n"
"       wbuf:N buf:N ustr:TEXT rawptr:N  (see the top of csr/csrcall.c)\n"
"Calls separated by -- run in one process, in order.\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "length", required_argument, NULL, 'l' },
		{ "repeat", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct csr_profile *prof = csr_profiles[0];
	const char *dir = NULL;
	WCHAR *wdir = NULL;
	long long length = -1, repeat = 1;
	ULONG bytes;
	bool list = false;
	NTSTATUS st = STATUS_SUCCESS;
	int c;

	while ((c = getopt_long(argc, argv, "+d:p:l:n:Lh", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'p':
			prof = csr_profile_find(optarg);
			if (!prof)
				die("unknown profile '%s'", optarg);
			break;
		case 'l':
			length = (long long)number(optarg, "--length");
			break;
		case 'n':
			repeat = (long long)number(optarg, "--repeat");
			break;
		case 'L':
			list = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (list) {
		for (unsigned i = 0; i < CSR_SERVER_DLL_MAX; i++) {
			const struct csr_dll_def *d = &prof->dlls[i];

			for (unsigned k = 0; d->name && k < d->count; k++)
				printf("0x%08x  %-8s %s\n",
				       CSR_MAKE_API_NUMBER(i, d->api_base + k),
				       d->name, d->apis[k].name);
		}
		return 0;
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (dir)
		wdir = widen(dir, &bytes);
	st = CsrClientConnectToServer(wdir, 0, NULL, NULL, NULL);
	free(wdir);
	if (st != STATUS_SUCCESS) {
		const char *sn = csr_status_name(st);

		fprintf(stderr, "csrcall: cannot connect to csrd: 0x%08x %s\n",
			(unsigned)st, sn ? sn : "");
		return 1;
	}
	/* Calls separated by "--" run in this one process, so that state
	 * (a console, its handles) carries from one to the next. */
	for (int i = optind; i < argc;) {
		int end = i;

		while (end < argc && strcmp(argv[end], "--"))
			end++;
		st = one_call(prof, argv + i, end - i, length, repeat);
		i = end + 1;
	}
	return st == STATUS_SUCCESS ? 0 : 1;
}
