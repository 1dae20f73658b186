#!/bin/sh
# The mount escapes again, with the session chrooted to its home (DefaultRoot ~).
AB_CHROOT=1 exec "$(dirname "$0")/test-mount-escape.sh"
