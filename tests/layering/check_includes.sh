#!/usr/bin/env bash
# Checks the module layering of DESIGN.md on the #include lines of src/ and include/ferry/:
#   - a module includes ferry/<module>/ headers only of the modules it depends on
#     (http → core, cache → http core, net → core, access → net http core,
#     proxy → access pac net http cache core,
#     admin → net http core, config → every module's settings.h plus access net http core,
#     main → all: the link lines of the modules' CMakeLists.txt);
#   - only net, proxy, admin and src/main.cpp reach libevent;
#   - http and cache reach no socket header (they stay pure and fuzzable).
# The last two rules follow ferry's own headers, so a header that pulls libevent in counts
# for every file that includes it. unistd.h and fcntl.h are not socket headers here: the
# disk tier of the cache needs them for files; the socket calls themselves need
# sys/socket.h, which is refused. It reads files only; it builds nothing.
#
#   check_includes.sh <source dir>
# Prints each violation as file:line and exits 1 if there is any.
set -uo pipefail

src=${1:?usage: check_includes.sh <source dir>}
cd "$src" || exit 1

# Depends-on lists; a module always includes its own headers.
declare -A deps=(
  [core]="" [net]="core" [http]="core" [cache]="http core" [pac]="net core"
  [access]="net http core" [proxy]="access pac net http cache core" [admin]="pac net http core"
  [config]="access net http core" [main]="core net http cache access pac proxy admin config"
)
libevent_modules=" net proxy admin main "
pure_modules=" http cache "
libevent_re='^(event2/.*|event\.h|evdns\.h|evhttp\.h|evrpc\.h|evutil\.h)$'
socket_re='^(sys/socket\.h|sys/un\.h|netinet/.*|arpa/.*|netdb\.h|ifaddrs\.h|net/if\.h|poll\.h|sys/poll\.h|sys/epoll\.h|sys/select\.h)$'

# The module a file belongs to (src/<module>/..., include/ferry/<module>/..., src/main.cpp),
# in $module; empty for anything else.
module_of() {
  module=""
  case $1 in
  src/main.cpp) module=main ;;
  src/*/*) module=${1#src/} module=${module%%/*} ;;
  include/ferry/*/*) module=${1#include/ferry/} module=${module%%/*} ;;
  esac
}

# includes[file]: one "line<TAB>kind<TAB>name" row per #include, kind "sys" for <...>,
# "ferry" for "ferry/..." (found under include/), "local" for another quoted name (found
# next to the file). One awk over every file.
declare -A includes=()
files=()
while IFS= read -r -d '' file; do
  files+=("$file")
  includes[$file]=""
done < <(find src include/ferry -type f \( -name '*.h' -o -name '*.cpp' \) -print0 | sort -z)
if [ ${#files[@]} -eq 0 ]; then
  echo "layering: no source file under $src/src or $src/include/ferry"
  exit 1
fi
while IFS=$'\t' read -r file line kind name; do
  includes[$file]+="$line"$'\t'"$kind"$'\t'"$name"$'\n'
done < <(awk '{
    if (match($0, /^[ \t]*#[ \t]*include[ \t]*[<"][^>"]+[>"]/)) {
      text = substr($0, RSTART, RLENGTH)
      sub(/^[ \t]*#[ \t]*include[ \t]*/, "", text)
      name = substr(text, 2, length(text) - 2)
      if (substr(text, 1, 1) == "<") kind = "sys"
      else if (name ~ /^ferry\//) kind = "ferry"
      else kind = "local"
      print FILENAME "\t" FNR "\t" kind "\t" name
    }
  }' "${files[@]}")

# The project file an include names, in $target; empty when it is not one of ours.
resolve() {
  local from=$1 kind=$2 name=$3
  target=""
  case $kind in
  ferry) target=include/$name ;;
  local) target=${from%/*}/$name ;;
  esac
  [ -n "${includes[$target]+set}" ] || target=""
}

# closure[file]: "header<TAB>where" rows, every system header a project file reaches
# through its own includes and ferry's headers, "where" being the file:line naming it.
declare -A closure=()
declare -A visiting=()
reach() {
  local file=$1 out="" line kind name
  [ -n "${closure[$file]+set}" ] && return
  visiting[$file]=1
  while IFS=$'\t' read -r line kind name; do
    [ -n "$line" ] || continue
    if [ "$kind" = sys ]; then
      out+="$name"$'\t'"$file:$line"$'\n'
      continue
    fi
    resolve "$file" "$kind" "$name"
    if [ -n "$target" ] && [ -z "${visiting[$target]+set}" ]; then
      local sub=$target
      reach "$sub"
      out+=${closure[$sub]}
    fi
  done <<<"${includes[$file]}"
  unset "visiting[$file]"
  closure[$file]=$out
}

violations=0
report() {
  echo "$1: $2"
  violations=$((violations + 1))
}

# The rule a system header breaks when `module` reaches it, in $rule; empty if none.
broken_rule() {
  local module=$1 header=$2
  rule=""
  if [[ $header =~ $libevent_re ]] && [[ $libevent_modules != *" $module "* ]]; then
    rule="$module reaches libevent; only net, proxy, admin and main may"
  elif [[ $header =~ $socket_re ]] && [[ $pure_modules == *" $module "* ]]; then
    rule="$module reaches a socket header; http and cache see no socket"
  fi
}

checked=0
for file in "${files[@]}"; do
  module_of "$file"
  [ -n "$module" ] || continue
  checked=$((checked + 1))
  if [ -z "${deps[$module]+set}" ]; then
    report "$file" "module $module has no row in the dependency table of $0"
    continue
  fi
  allowed=" $module ${deps[$module]} "
  while IFS=$'\t' read -r line kind name; do
    [ -n "$line" ] || continue
    if [ "$kind" = sys ]; then
      broken_rule "$module" "$name"
      [ -z "$rule" ] || report "$file:$line" "<$name>: $rule"
      continue
    fi
    if [ "$kind" = ferry ]; then
      dep=${name#ferry/}
      dep=${dep%%/*}
      # config fills every module's settings struct.
      if [[ $allowed != *" $dep "* ]] && ! [[ $module == config && ${name##*/} == settings.h ]]; then
        report "$file:$line" "\"$name\": $module depends on ${deps[$module]:-nothing} only"
      fi
    fi
    resolve "$file" "$kind" "$name"
    [ -n "$target" ] || continue
    header_file=$target
    reach "$header_file"
    # One report per #include line: the first header it brings in that breaks a rule.
    while IFS=$'\t' read -r header where; do
      [ -n "$header" ] || continue
      broken_rule "$module" "$header"
      if [ -n "$rule" ]; then
        report "$file:$line" "\"$name\" brings in <$header> ($where): $rule"
        break
      fi
    done <<<"${closure[$header_file]}"
  done <<<"${includes[$file]}"
done

if [ "$violations" -gt 0 ]; then
  echo "layering: $violations violation(s) in $checked files (DESIGN.md, Principles 2 and 3)"
  exit 1
fi
echo "layering: $checked files follow the module dependencies"
