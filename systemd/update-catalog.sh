#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# meson install: rebuild journald's catalog database so that `journalctl -x` explains procwatchd's
# entries. Skipped for staged installs (DESTDIR: the package's own trigger does it) and when
# journalctl is not there.
if [ -n "${DESTDIR:-}" ]; then
        exit 0
fi
if ! command -v journalctl >/dev/null 2>&1; then
        exit 0
fi
journalctl --update-catalog || echo "procwatchd: journalctl --update-catalog failed; run it by hand" >&2
exit 0
