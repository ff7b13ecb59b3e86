# The seeded text generator and ImageMagick escaping shared by render-ocr-lines.sh and
# render-ocr-unseen.sh (sourced: SEED is set by the caller before the first rand).

# ---- seeded generator ----------------------------------------------------------------------------
SEED=${SEED:-20241129}   # xorshift32 state (never 0)
R=0
rand() { # rand N -> R in [0, N)
  SEED=$(( SEED ^ ((SEED << 13) & 0xffffffff) ))
  SEED=$(( SEED ^ (SEED >> 17) ))
  SEED=$(( SEED ^ ((SEED << 5) & 0xffffffff) ))
  R=$(( SEED % $1 ))
}
pick() { # pick ARRAYNAME -> P = random element
  local -n arr=$1
  rand ${#arr[@]}
  P=${arr[$R]}
}

WORDS=(time year people way day man thing woman life child world school state family student
  group country problem hand part place case week company system program question work government
  number night point home water room mother area money story fact month lot right study book eye
  job word business issue side kind head house service friend father power hour game line end
  member law car city community name president team minute idea kid body information back parent
  face others level office door health person art war history party result change morning reason
  research girl guy moment air teacher force education river garden window market paper music
  coffee table winter summer bridge station letter picture simple green yellow orange purple
  silver golden quick bright small large early later happy little strong open close heavy light
  north south east west order total price value amount street avenue road island forest mountain
  ocean planet energy signal memory network engine camera screen button folder report invoice
  account balance payment receipt ticket delivery package weather travel hotel airport flight
  train platform kitchen dinner breakfast lunch apple banana bread butter cheese sugar salt
  zebra quiz jazz jump quality box six tax fix size zone major object equal quarter journey)
NAMES=(London Paris Berlin Tokyo Boston Denver Oslo Madrid Vienna Chicago Sydney Dublin Prague
  Alice Robert Maria James Linda David Sarah Peter Emma Oliver Grace Henry Zurich Quebec Xavier
  Yvonne Kyoto Warsaw)
MONTHS=(Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec)
MONTHS_LONG=(January February March April June July August September October November December)
DAYS=(Mon Tue Wed Thu Fri Sat Sun)
LABELS=(Total Subtotal Price Date Time Phone Fax Room Gate Seat Page Item Order Invoice Ref Code
  Qty Tax Due Amount Balance Step Level Version Score)
DOMAINS=(example.com mail.org test.net company.co info.io school.edu)
UNITS=(kg km cm mm ml GB MB px min km/h m/s)

word() { pick WORDS; W=$P; }
styled() { # a word in a random case style
  word
  rand 6
  case $R in
    0|1|2) S=$W ;;
    3|4) S="${W^}" ;;
    5) S="${W^^}" ;;
  esac
}
num() { # num LO HI -> N
  rand $(( $2 - $1 + 1 )); N=$(( $1 + R ))
}
commas() { # commas INT -> C with thousands separators
  local s=$1 out=""
  while [ ${#s} -gt 3 ]; do out=",${s: -3}$out"; s=${s:0:${#s}-3}; done
  C="$s$out"
}
pad2() { printf -v Z '%02d' "$1"; }

make_text() {
  rand 18
  case $R in
    0) styled; T=$S ;;
    1) styled; a=$S; styled; T="$a $S" ;;
    2) word; a="${W^}"; word; b=$W; word; rand 3; p=('.' ',' ''); T="$a $b $W${p[$R]}" ;;
    3) num 100 4999999; commas $N; T=$C; rand 3; if [ $R -eq 0 ]; then T="-$T"; fi ;;
    4) num 0 999; a=$N; num 0 99; pad2 $N; rand 3
       case $R in 0) T="$a.$Z" ;; 1) T="-$a.$Z" ;; 2) T="$a.${Z}5" ;; esac ;;
    5) num 1 4999; commas $N; a=$C; num 0 99; pad2 $N; pick LABELS; rand 3
       case $R in 0) T="\$$a.$Z" ;; 1) T="$P: \$$a.$Z" ;; 2) T="USD $a.$Z" ;; esac ;;
    6) num 1950 2030; y=$N; num 1 12; m=$N; num 1 28; d=$N; rand 5
       case $R in
         0) pad2 $m; mm=$Z; pad2 $d; T="$y-$mm-$Z" ;;
         1) pad2 $d; dd=$Z; pad2 $m; T="$dd/$Z/$y" ;;
         2) T="${MONTHS[$((m-1))]} $d, $y" ;;
         3) pick MONTHS_LONG; T="$d $P $y" ;;
         4) pad2 $d; dd=$Z; pad2 $m; T="Date: $dd.$Z.$y" ;;
       esac ;;
    7) num 0 23; h=$N; num 0 59; pad2 $N; mi=$Z; rand 4
       case $R in
         0) pad2 $h; T="$Z:$mi" ;;
         1) num 0 59; pad2 $N; s=$Z; pad2 $h; T="$Z:$mi:$s" ;;
         2) num 1 12; rand 2; ap=(AM PM); T="$N:$mi ${ap[$R]}" ;;
         3) pick DAYS; dname=$P; num 8 17; h1=$N; T="$dname $h1:$mi-$((h1+1)):$mi" ;;
       esac ;;
    8) word; a=$W; pick NAMES; b="${P,,}"; pick DOMAINS; rand 3
       case $R in 0) T="$a.$b@$P" ;; 1) T="$b$((R+17))@$P" ;; 2) T="www.$a$b.com" ;; esac ;;
    9) num 100 999; a=$N; num 100 999; b=$N; num 1000 9999; rand 3
       case $R in 0) T="($a) $b-$N" ;; 1) T="+1 $a-$b-$N" ;; 2) T="Tel: $a $b $N" ;; esac ;;
    10) num 1 99; a=$N; rand 4
       case $R in
         0) T="$a%" ;;
         1) num 0 9; T="$a.$N% off" ;;
         2) word; T="$a% ${W}" ;;
         3) T="up to $a%" ;;
       esac ;;
    11) word; a="${W^}"; num 1 400; rand 4
       case $R in
         0) T="(see page $N)" ;;
         1) T="$a (No. $N)" ;;
         2) word; T="Chapter $N: ${W^}" ;;
         3) word; T="$a ($W)" ;;
       esac ;;
    12) pick LABELS; a=$P; num 1 9999; rand 4
       case $R in
         0) T="$a: $N" ;;
         1) T="$a $N" ;;
         2) num 10 99; b=$N; pick NAMES; T="${P:0:1}${a:0:1}-$b$N" ; T="${T^^}" ;;
         3) T="$a #$N" ;;
       esac ;;
    13) word; a=$W; word; rand 3
       case $R in 0) T="$a-$W" ;; 1) T="${a^}-${W}s" ;; 2) word; T="$a-to-$W" ;; esac ;;
    14) pick NAMES; a=$P; num 1 999; b=$N; rand 4
       case $R in
         0) word; T="$b ${W^} Street" ;;
         1) T="$a, $((b % 90 + 10))" ;;
         2) pick UNITS; T="$a $b $P" ;;
         3) T="Flight ${a:0:2}${b}" ; T="${T^^}" ;;
       esac ;;
    15) styled; a=$S; num 2 99; b=$N; pick UNITS; rand 3
       case $R in 0) T="$b $P" ;; 1) T="$a: $b.$((b % 10)) $P" ;; 2) T="$b x $((b + 7)) $P" ;; esac ;;
    16) word; a="${W^}"; word; b=$W; word; c=$W; word; rand 3; p=('.' '!' '?'); T="$a $b $c $W${p[$R]}" ;;
    17) num 1 28; d=$N; pick MONTHS; mo=$P; num 10 23; h=$N; num 0 59; pad2 $N; mi=$Z; num 100 999; n=$N; rand 5
       case $R in
         0) T="Invoice $n$d due $mo $d" ;;
         1) T="Meeting at $h:$mi in Room $n" ;;
         2) num 2 12; T="$N items at \$$d.$mi each" ;;
         3) pick NAMES; T="$P, $mo $d, $h:$mi" ;;
         4) word; a=$W; word; T="${a^}, ${W} and $n more" ;;
       esac ;;
  esac
}

# ---- ImageMagick label: escaping ---------------------------------------------------------------
# label: text goes through the file-name parser and the property expander: `\` starts an escape
# (\n = newline), `%` a property (%w ...), a leading `@` reads a file, and a trailing `[...]` is a
# frame selector. Escape each so the text renders literally.
im_escape() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//%/%%}
  if [ "${s:0:1}" = "@" ]; then s="\\$s"; fi
  if [ "${s: -1}" = "]" ]; then s="${s:0:${#s}-1}\\]"; fi
  E=$s
}

