#!/bin/sh
# Runs inside the boot's own mount namespace (harness/vm/host-view.ts starts it under
# `unshare --mount`): mounts the guest's view of the host onto its skeleton, then becomes the
# command after `--` (vng). Every value is an argument; nothing here is built from a string.
#   enter-view.sh TMPFS_DIR [--bind SRC DST | --overlay LOWERDIRS DST]... -- COMMAND...
# TMPFS_DIR gets a small tmpfs (vng's writable cache share lives there: memory, not disk).
set -eu
mount -t tmpfs -o size=16m,mode=0755 capmatrix-vng "$1"
shift
while [ "$1" != -- ]; do
  case "$1" in
    --bind)
      mount --bind "$2" "$3"
      mount -o remount,bind,ro,nosuid,nodev "$3"
      ;;
    --overlay)
      mount -t overlay -o "ro,lowerdir=$2" capmatrix-view "$3"
      ;;
    *)
      echo "enter-view.sh: unknown argument $1" >&2
      exit 2
      ;;
  esac
  shift 3
done
shift
exec "$@"
