#!/bin/sh
# format_check.sh: is every C source formatted by the committed .clang-format?
# Run by `make check` (and `make format-check`); with --apply, `make format`
# rewrites the files in place instead.
#
# The files: every tracked *.c and *.h (git ls-files) in a git checkout; in a
# tree without .git (a `make dist` tarball, `make distcheck`) the same from the
# source folders below. Generated C (sql/migrations.c, config.h) is never
# checked. Exit status: 0 formatted, 1 not, 77 skip (no clang-format; a failure
# under CI, whose setup installs it).
set -eu

me=format_check.sh
top=${top_srcdir:-$(dirname "$0")/..}
CLANG_FORMAT=${CLANG_FORMAT:-clang-format}
# the folders that hold C, for a tree without .git
folders="lib codegen server sql tests bench fuzz"

if ! command -v "$CLANG_FORMAT" >/dev/null 2>&1; then
	if [ -n "${CI:-}" ] && [ "${CI:-}" != false ]; then
		echo "$me: FAIL: $CLANG_FORMAT is not installed (scripts/setup-debian.sh installs it)" >&2
		exit 1
	fi
	echo "$me: SKIP: $CLANG_FORMAT is not installed (apt-get install clang-format)" >&2
	exit 77
fi
cd "$top"
if [ ! -f .clang-format ]; then
	echo "$me: no .clang-format in $(pwd)" >&2
	exit 99
fi

list=$(mktemp)
trap 'rm -f "$list"' EXIT
if [ -e .git ] && git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git ls-files -- '*.c' '*.h'
else
	# shellcheck disable=SC2086
	find $folders -type f \( -name '*.c' -o -name '*.h' \) 2>/dev/null | LC_ALL=C sort
fi | grep -v -x -e 'sql/migrations.c' -e 'config.h' >"$list" || true
if [ ! -s "$list" ]; then
	echo "$me: found no C files in $(pwd)" >&2
	exit 99
fi
n=$(wc -l <"$list")

if [ "${1:-}" = --apply ]; then
	xargs "$CLANG_FORMAT" -i -style=file -fallback-style=none <"$list"
	echo "$me: applied .clang-format to $n files"
	exit 0
fi

if xargs "$CLANG_FORMAT" --dry-run --Werror -style=file -fallback-style=none <"$list"; then
	echo "$me: $n files formatted by .clang-format"
	exit 0
fi
# which files, once more: clang-format's report above names every line
bad=""
while IFS= read -r f; do
	"$CLANG_FORMAT" --dry-run --Werror -style=file -fallback-style=none "$f" >/dev/null 2>&1 ||
		bad="$bad $f"
done <"$list"
echo "$me: not formatted by .clang-format ($(echo $bad | wc -w) of $n files):$bad" >&2
echo "$me: run 'make format' to format them" >&2
exit 1
