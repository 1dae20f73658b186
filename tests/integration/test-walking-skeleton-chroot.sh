#!/bin/sh
# The walking skeleton again, with every session chrooted to its home
# (DefaultRoot ~): keys, CA and spool must all be prepared before chroot.
AB_CHROOT=1 exec "$(dirname "$0")/test-walking-skeleton.sh"
