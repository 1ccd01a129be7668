/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "err.h"
#include "name.h"

static int put_utf8(uint32_t c, char *out, size_t outsz, size_t *at)
{
	char b[4];
	size_t n;

	if (c < 0x80) {
		b[0] = (char)c;
		n = 1;
	} else if (c < 0x800) {
		b[0] = (char)(0xC0 | (c >> 6));
		b[1] = (char)(0x80 | (c & 0x3F));
		n = 2;
	} else if (c < 0x10000) {
		b[0] = (char)(0xE0 | (c >> 12));
		b[1] = (char)(0x80 | ((c >> 6) & 0x3F));
		b[2] = (char)(0x80 | (c & 0x3F));
		n = 3;
	} else {
		b[0] = (char)(0xF0 | (c >> 18));
		b[1] = (char)(0x80 | ((c >> 12) & 0x3F));
		b[2] = (char)(0x80 | ((c >> 6) & 0x3F));
		b[3] = (char)(0x80 | (c & 0x3F));
		n = 4;
	}
	if (*at + n >= outsz)
		return -ENAMETOOLONG;
	memcpy(out + *at, b, n);
	*at += n;
	return 0;
}

/* Check the component that ends at out[at] and started at out[start]. */
static int end_component(const char *out, size_t start, size_t at)
{
	size_t len = at - start;

	if (len == 0)
		return -LPC_ENAMEINVALID;
	if ((len == 1 && out[start] == '.') ||
	    (len == 2 && out[start] == '.' && out[start + 1] == '.'))
		return -LPC_ENAMEINVALID;
	if (len > 255)
		return -ENAMETOOLONG;
	return 0;
}

int lpc_name_to_path(const uint16_t *w, size_t n, char *out, size_t outsz)
{
	size_t i, at = 0, start = 0;
	int r;

	if (outsz == 0)
		return -ENAMETOOLONG;
	if (n == 0)
		return -LPC_ENAMEINVALID;
	if (w[0] != '\\')
		return -LPC_EPATHSYNTAX;
	for (i = 1; i < n; i++) {
		uint32_t c = w[i];

		if (c == '\\') {
			r = end_component(out, start, at);
			if (r)
				return r;
			if (at + 1 >= outsz)
				return -ENAMETOOLONG;
			out[at++] = '/';
			start = at;
			continue;
		}
		if (c == 0 || c == '/')
			return -LPC_ENAMEINVALID;
		if (c >= 0xD800 && c <= 0xDBFF) {
			if (i + 1 >= n || w[i + 1] < 0xDC00 || w[i + 1] > 0xDFFF)
				return -LPC_ENAMEINVALID;
			c = 0x10000 + ((c - 0xD800) << 10) + (w[i + 1] - 0xDC00);
			i++;
		} else if (c >= 0xDC00 && c <= 0xDFFF) {
			return -LPC_ENAMEINVALID;
		}
		r = put_utf8(c, out, outsz, &at);
		if (r)
			return r;
	}
	r = end_component(out, start, at);
	if (r)
		return r;
	out[at] = 0;
	return 0;
}

int lpc_name_equal_ci(const char *a, const char *b)
{
	for (;; a++, b++) {
		unsigned char x = (unsigned char)*a, y = (unsigned char)*b;

		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x + 32);
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y + 32);
		if (x != y)
			return 0;
		if (!x)
			return 1;
	}
}
