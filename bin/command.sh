#!/bin/sh
# Runs a compiled Petrel command from this checkout (or an npm install):
# bin/<name> is a link to this script; the command is dist/src/<dir>/<name>-main.js (newaliases lives with postalias, mailq with postqueue).
set -e
self=$(readlink -f "$0")
root=$(dirname "$(dirname "$self")")
name=$(basename "$0")
case "$name" in
  newaliases) dir=postalias ;;
  mailq) dir=postqueue ;;
  *) dir=$name ;;
esac
main="$root/dist/src/$dir/$name-main.js"
if [ ! -f "$main" ]; then
  echo "$name: fatal: $main is missing; run 'npm run build' first" >&2
  exit 1
fi
exec node "$main" "$@"
