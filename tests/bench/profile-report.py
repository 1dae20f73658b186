#!/usr/bin/python3
"""profile-report.py - one table from the callgrind profiles of profile.sh:
instructions per MB moved, by what they were spent on, for each run
(plain and mount, upload and download), from callgrind_annotate's
inclusive counts.

  profile-report.py RUN=CALLGRIND_FILE:BYTES ...

A function's inclusive count contains its callees', so the rows overlap on
purpose (e.g. "our module" contains "MD5"); each row names one question.
"""
import re
import subprocess
import sys

# (row, regular expression over "file:function [object]"); the largest
# inclusive count of the matching functions is the row's value.
ROWS = [
    ("whole session", r"\?\?\?:main \[/usr/sbin/proftpd\]"),
    ("SSH packets in (decrypt, MAC, parse)", r":sftp_ssh2_packet_read "),
    ("SSH packets out (encrypt, MAC)", r":sftp_ssh2_packet_write "),
    ("memset of mod_sftp's packet buffers (both directions)", None),
    ("file I/O through FSIO (plain: disk; mount: our module)", r":pr_fsio_(pwrite|pread|write|read) "),
    ("our module: write path (spool)", r":abp_pwrite "),
    ("our module: read path (download stream)", r":abp_pread "),
    ("our module: CLOSE (commit: MD5 if left, initialize, upload)", r":abp_close "),
    ("  MD5", r":MD5_Update "),
    ("  TLS to the Broker: encrypt (SSL_write)", r":SSL_write "),
    ("  TLS from the Broker: decrypt (SSL_read)", r":SSL_read "),
    ("  libcurl", r":curl_(multi|easy)_perform "),
]


def inclusive(path):
    out = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", path],
                         capture_output=True, text=True).stdout
    fns = []
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+) \([ \d.]+%\)\s+(.*)$", line)
        if m:
            fns.append((int(m.group(1).replace(",", "")), m.group(2)))
    return fns


def memset_in_packets(path):
    """memset called from mod_sftp's packet read/write (caller tree)."""
    out = subprocess.run(["callgrind_annotate", "--tree=caller", "--threshold=100", path],
                         capture_output=True, text=True).stdout
    total = 0
    block = []
    for line in out.splitlines():
        if re.search(r"\*\s+\S*memset\S*", line):
            for b in block:
                m = re.match(r"\s*([\d,]+) \([ \d.]+%\)\s+<\s+\S*:sftp_ssh2_packet_(read|send|write)", b)
                if m:
                    total += int(m.group(1).replace(",", ""))
            block = []
        elif line.strip() == "":
            block = []
        else:
            block.append(line)
    return total


def main():
    runs = []
    for arg in sys.argv[1:]:
        name, rest = arg.split("=", 1)
        path, nbytes = rest.rsplit(":", 1)
        runs.append((name, path, int(nbytes)))
    data = {}
    for name, path, nbytes in runs:
        fns = inclusive(path)
        row = {}
        for label, rx in ROWS:
            if rx is None:
                row[label] = memset_in_packets(path)
                continue
            vals = [n for n, f in fns if re.search(rx, f)]
            row[label] = max(vals) if vals else 0
        data[name] = (row, nbytes)
    print("Instructions per MB moved (callgrind, ProFTPD session process)\n")
    print("| | " + " | ".join(name for name, _, _ in runs) + " |")
    print("|---|" + "---|" * len(runs))
    for label, _ in ROWS:
        cells = []
        for name, _, _ in runs:
            row, nbytes = data[name]
            v = row[label] / (nbytes / 1e6)
            cells.append("%.1f M" % (v / 1e6) if v >= 1e5 else ("< 0.1 M" if row[label] else "–"))
        print("| %s | %s |" % (label.replace("  ", "&nbsp;&nbsp;"), " | ".join(cells)))


if __name__ == "__main__":
    main()
