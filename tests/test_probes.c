/* SPDX-License-Identifier: MIT */
/*
 * The USDT probes of docs/probes.md are in the binaries, each with a
 * semaphore, on a 1-byte nop, with register or constant arguments only.
 * (That they fire and what they carry is checked by the tracer's suites.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(probes, .timeout = 60);

struct note {
	char provider[32], name[32], args[256];
	unsigned long long loc, sem;
};

static int read_notes(const char *path, struct note *n, int cap)
{
	char cmd[600], line[512], self[400];
	int count = -1;
	FILE *f;

	/* readelf's own /proc/self would be readelf. */
	if (!strcmp(path, "/proc/self/exe")) {
		ssize_t k = readlink(path, self, sizeof(self) - 1);

		cr_assert_gt(k, 0);
		self[k] = 0;
		path = self;
	}
	snprintf(cmd, sizeof(cmd), "readelf -n --wide '%s' 2>/dev/null", path);
	f = popen(cmd, "r");
	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f)) {
		char *p;

		line[strcspn(line, "\n")] = 0;
		if ((p = strstr(line, "Provider: ")) && count + 1 < cap) {
			count++;
			memset(&n[count], 0, sizeof(n[count]));
			snprintf(n[count].provider, 32, "%s", p + 10);
		} else if (count >= 0 && (p = strstr(line, "Name: "))) {
			snprintf(n[count].name, 32, "%s", p + 6);
		} else if (count >= 0 && (p = strstr(line, "Location: "))) {
			char *sem = strstr(p, "Semaphore: ");

			n[count].loc = strtoull(p + 10, NULL, 16);
			if (sem)
				n[count].sem = strtoull(sem + 11, NULL, 16);
		} else if (count >= 0 && (p = strstr(line, "Arguments: "))) {
			snprintf(n[count].args, 256, "%s", p + 11);
		}
	}
	pclose(f);
	return count + 1;
}

static const char *const lpc_probes[] = {
	"port_create", "port_close", "connect_request", "connect_done",
	"listen", "accept", "complete", "send", "receive", "reply",
	"wait_begin", "wait_end", "request_data", "impersonate", "revert",
	"exception", "view",
};

static const char *const csrd_probes[] = { "connect", "api" };

static void check(const char *path, const char *provider,
		  const char *const *names, size_t count)
{
	static struct note n[256];
	int k = read_notes(path, n, 256);

	cr_assert_gt(k, 0, "%s has no USDT notes (readelf missing?)", path);
	for (size_t i = 0; i < count; i++) {
		int found = 0;

		for (int j = 0; j < k; j++) {
			if (strcmp(n[j].provider, provider) ||
			    strcmp(n[j].name, names[i]))
				continue;
			found++;
			cr_assert_neq(n[j].sem, 0, "%s:%s has no semaphore",
				      provider, names[i]);
			/* Registers (%reg) and constants ($n) only. */
			cr_assert_null(strchr(n[j].args, '('),
				       "%s:%s has a memory operand: %s",
				       provider, names[i], n[j].args);
		}
		cr_assert_gt(found, 0, "%s:%s missing from %s", provider,
			     names[i], path);
	}
}

/* sdt.h's 1-byte nop at one site, read from this very process: not the
 * 5-byte nop, whose optimised uprobes kill forked children on 6.18. */
static void check_nop(const char *provider, const char *name)
{
	static struct note n[256];
	int k = read_notes("/proc/self/exe", n, 256);
	char line[600], exe[400];
	unsigned long long base = 0;
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	FILE *f = fopen("/proc/self/maps", "r");

	cr_assert(len > 0 && f);
	exe[len] = 0;
	/* The executable's mapping at file offset 0 is its load base. */
	while (fgets(line, sizeof(line), f)) {
		unsigned long long lo, off;
		char path[400] = "";

		if (sscanf(line, "%llx-%*x %*s %llx %*s %*s %399s", &lo, &off,
			   path) == 3 &&
		    off == 0 && !strcmp(path, exe)) {
			base = lo;
			break;
		}
	}
	fclose(f);
	cr_assert_neq(base, 0, "no mapping of %s", exe);
	for (int j = 0; j < k; j++) {
		const unsigned char *site;

		if (strcmp(n[j].provider, provider) || strcmp(n[j].name, name))
			continue;
		site = (const unsigned char *)(uintptr_t)(base + n[j].loc);
		cr_assert(site[0] == 0x90, "%s:%s: not a 1-byte nop (0x%02x)",
			  provider, name, site[0]);
		return;
	}
	cr_assert_fail("%s:%s not found", provider, name);
}

/* A static link keeps the objects it uses: the message path at least. */
Test(probes, engine_probes_come_with_a_static_link)
{
	static const char *const core[] = {
		"port_create", "port_close", "send", "receive", "reply",
		"wait_begin", "wait_end",
	};

	check("/proc/self/exe", "lpc", core, sizeof(core) / sizeof(core[0]));
}

Test(probes, engine_probes_are_in_the_shared_library)
{
	char path[512];
	const char *b = getenv("LPC_BUILD");

	snprintf(path, sizeof(path), "%s/liblpc.so", b && *b ? b : "build");
	check(path, "lpc", lpc_probes,
	      sizeof(lpc_probes) / sizeof(lpc_probes[0]));
}

Test(probes, csrd_probes_are_in_csrd)
{
	char path[512];
	const char *b = getenv("LPC_BUILD");

	snprintf(path, sizeof(path), "%s/csrd", b && *b ? b : "build");
	check(path, "csrd", csrd_probes,
	      sizeof(csrd_probes) / sizeof(csrd_probes[0]));
}

Test(probes, sites_are_one_byte_nops)
{
	check_nop("lpc", "send");
	check_nop("lpc", "receive");
	check_nop("lpc", "wait_begin");
}
