/* SPDX-License-Identifier: MIT */
/*
 * Finding the programs and libraries that carry liblpc's and csrd's USDT
 * probes, and attaching lpctrace's programs to them.  Attachments are per
 * file: a file attached once is traced in every process that maps it,
 * now or later (pid -1), or in one process.
 */
#ifndef LPCTRACE_ATTACH_H
#define LPCTRACE_ATTACH_H

#include <stdbool.h>
#include <sys/types.h>

struct bpf_object;
struct attacher;

/* pid: the process to trace (0: all).  NULL and errno on failure. */
struct attacher *attacher__new(struct bpf_object *obj, pid_t pid,
			       int verbose);
/* Detaches everything.  NULL-safe. */
void attacher__free(struct attacher *a);

/*
 * Attaches to every lpc:* and csrd:* probe in path, once per file.
 * Returns the number of probes attached (0: the file has none, or was
 * attached before), or -errno with a message on stderr.
 */
int attacher__add_file(struct attacher *a, const char *path);

/*
 * Attaches to the files with probes mapped by process pid (0: every
 * process).  Returns how many files were newly attached, or -errno.
 */
int attacher__scan(struct attacher *a, pid_t pid);

/* The programs and liblpc of this build, next to lpctrace itself, so a
 * process started from them after lpctrace is traced from its start. */
int attacher__add_siblings(struct attacher *a);

/* For lpctrace -- cmd: the command's file (found on $PATH) and the
 * liblpc/libcsr it links to.  Returns the number of files attached. */
int attacher__add_command(struct attacher *a, const char *cmd);

/* Files attached so far. */
int attacher__nfiles(const struct attacher *a);

/* Whether path carries lpc or csrd probes (1), not (0), or -errno. */
int elf_has_lpc_probes(const char *path);

#endif
