#!/usr/bin/env bash
# cli/gen_man.sh LSPROBE VERSION OUT — write the man page lsprobe.1 from the
# program's own help: `lsprobe --help` gives the description and the list
# of commands, `lsprobe <command> --help` each command's synopsis, text and
# options. The fixed sections (exit status, environment, files) are below.
# Run by the build (CMakeLists.txt); tests/install.sh renders the result.
set -euo pipefail
bin=$1
version=$2
out=$3
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT

# roff-escape text on stdin: backslashes, a leading '.' or "'", and '-'
esc() { sed -e 's/\\/\\e/g' -e 's/-/\\-/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"; }

top=$("$bin" --help)
commands=$(printf '%s\n' "$top" | awk '/^commands:/ {on = 1; next} on && /^  [a-z]/ {print $1} on && /^$/ {exit}')
{
  printf '.TH LSPROBE 1 "" "lsprobe %s" "User Commands"\n' "$version"
  printf '.SH NAME\nlsprobe \\- what does label smoothing do to a classifier?\n'
  printf '.SH SYNOPSIS\n.B lsprobe\n.I command\n.RI [ options ]\n.br\n'
  printf '.B lsprobe\n.I command\n.B \\-\\-help\n'
  printf '.br\n.B lsprobe \\-\\-version\n'
  printf '.SH DESCRIPTION\n'
  # the paragraph between the usage line and "commands:"
  printf '%s\n' "$top" | awk 'NR > 2 && /^commands:/ {exit} NR > 2 && NF {print}' | esc
  printf '.PP\nEvery command is described below with its options, as its\n'
  printf '.B \\-\\-help\nprints them. Numbers, formulas and file formats are documented in\n'
  printf '.I docs/DESIGN.md\nof the source tree.\n'
  printf '.SH COMMANDS\n'
  for c in $commands; do
    help=$("$bin" "$c" --help)
    about=$(printf '%s\n' "$top" | awk -v c="$c" '$1 == c {sub(/^ *[a-z]+ +/, ""); print; exit}')
    printf '.SS "%s"\n' "$c"
    printf '%s\n' "$about" | esc
    printf '.PP\n.nf\n'
    printf '%s\n' "$help" | awk 'NR == 1 {sub(/^usage: /, ""); print; exit}' | esc
    printf '.fi\n.PP\n'
    # the text between the usage line and "options:"
    printf '%s\n' "$help" | awk 'NR > 2 && /^options:/ {exit} NR > 2 && NF {print}' | esc
    # options: "  --name ARG<pad to column 31>help", or a wide name alone on
    # its line with the help on the next (indented to column 31); one
    # "name<TAB>help" record per option
    printf '%s\n' "$help" | awk '
      /^options:/ {on = 1; next}
      !on {next}
      /^  -/ {
        if (name != "") print name "\t" text
        if (length($0) > 31 && substr($0, 31, 1) == " ") {
          name = substr($0, 3, 28); text = substr($0, 32)
        } else { name = substr($0, 3); text = "" }
        sub(/ +$/, "", name)
        next
      }
      /^   / {sub(/^ +/, ""); text = text (text == "" ? "" : " ") $0}
      END {if (name != "") print name "\t" text}' |
      while IFS=$'\t' read -r name text; do
        printf '.TP\n\\fB%s\\fR\n' "$(printf '%s\n' "$name" | esc)"
        printf '%s\n' "$text" | esc
      done
  done
  cat <<'EOF'
.SH EXIT STATUS
.TP
.B 0
success
.TP
.B 1
bad or unreadable data (the message names the file and the problem)
.TP
.B 2
bad usage (an unknown or malformed option)
.TP
.B 130
interrupted (Ctrl\-C); no output is left half\-written and an earlier report is kept
.SH ENVIRONMENT
.TP
.B LSPROBE_DATA
the Fashion\-MNIST folder used for \-\-data fashion\-mnist (default
/usr/share/datasets/fashion\-mnist, Debian's dataset\-fashion\-mnist)
.TP
.B LSPROBE_GNUPLOT
the gnuplot program used for the plots (default: gnuplot on PATH)
.TP
.B LSPROBE_CHROMIUM
the Chromium program that prints report.pdf with \-\-format pdf (default:
the first of chromium, chromium\-browser and google\-chrome on PATH)
.TP
.B OMP_NUM_THREADS
the thread count when \-\-threads is not given, for the commands whose
\-\-threads defaults to all cores (calib and calib\-sim default to 1)
.SH FILES
.TP
.I OUT/report.html
the self\-contained report of
.B lsprobe run
(with
.IR report.md ,
.IR results.json ,
CSV tables,
.I plots/
and, with \-\-format pdf,
.IR report.pdf )
.TP
.I OUT/models/*.lspm
the model cache, reused by later runs with the same settings
.SH SEE ALSO
.BR gnuplot (1),
.BR chromium (1),
.BR pkg\-config (1)
for building against liblsprobe
.RI ( "pkg\-config \-\-cflags \-\-libs lsprobe" ).
EOF
} >"$tmp"
mv "$tmp" "$out"
trap - EXIT
