#!/bin/sh
# The hostile names again, with the session chrooted to its home (DefaultRoot ~).
AB_CHROOT=1 exec "$(dirname "$0")/test-hostile-names.sh"
