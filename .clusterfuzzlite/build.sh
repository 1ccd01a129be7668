#!/bin/bash -eu
# ClusterFuzzLite / OSS-Fuzz build: every fuzz/<target>.c as a libFuzzer
# target with the engine's sanitizer flags, its seed corpus and dictionary.
cd "$SRC/lpc"
# The seed tools run here, at build time: a plain build of them.
make -j"$(nproc)" BUILD=build/oss-tools CC=cc CFLAGS="-O1 -g" fuzz-tools
make -j"$(nproc)" BUILD=build/oss CC="$CC" CFLAGS="$CFLAGS" \
	LDFLAGS="$CFLAGS" FUZZ_ENGINE=libfuzzer \
	FUZZ_LIBFUZZER="$LIB_FUZZING_ENGINE" fuzz-bins
for src in fuzz/*.c; do
	t=$(basename "$src" .c)
	case $t in driver|util) continue ;; esac
	cp "build/oss/fuzz/$t" "$OUT/"
	seeds=$(mktemp -d)
	for f in corpus/"$t"/*; do
		[ -f "$f" ] || continue
		case $f in
		*.txt) [ -x "build/oss-tools/fuzz/tools/$t-asm" ] &&
			"build/oss-tools/fuzz/tools/$t-asm" "$f" \
				> "$seeds/$(basename "$f" .txt)" ;;
		*) cp "$f" "$seeds/" ;;
		esac
	done
	(cd "$seeds" && zip -q "$OUT/${t}_seed_corpus.zip" ./*) || true
	[ -f "corpus/$t.dict" ] && cp "corpus/$t.dict" "$OUT/$t.dict"
	rm -rf "$seeds"
done
