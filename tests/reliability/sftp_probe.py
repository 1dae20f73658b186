#!/usr/bin/python3
"""sftp_probe.py - runs SFTP operations with byte-exact paths (paramiko) and
prints one result line per operation, for the shell tests.

Usage: sftp_probe.py PORT KEYFILE USER < OPS
Each OPS line: OP ARG... where every ARG is a Python bytes literal
(b'/outbox/a\\x00b', spaces allowed inside) or a plain word. Operations:
  put PATH [SIZE]        open(write), write SIZE bytes (default 1000), close
  get PATH               read whole; result is the byte count and MD5
  read PATH N            read N bytes, keep the handle open
  write PATH N           open(write), write N bytes, keep the handle open
  hold                   print "<n> OK holding" and wait until the connection dies
  stat PATH | lstat PATH | remove PATH | mkdir PATH | rmdir PATH | listdir PATH
  rename A B | posix_rename A B | symlink TARGET LINK | readlink PATH
  sleep SECONDS
Output per line: "<n> OK <result>" or "<n> ERR <errno> <message>".
"""
import ast
import hashlib
import re
import sys

import paramiko


def arg(word):
    return ast.literal_eval(word) if word[:2] in ("b'", 'b"') else word.encode()


def main():
    port, keyfile, user = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    key = paramiko.Ed25519Key.from_private_key_file(keyfile)
    transport = paramiko.Transport(("127.0.0.1", port))
    transport.connect(username=user, pkey=key)
    sftp = paramiko.SFTPClient.from_transport(transport)
    held = []
    for n, line in enumerate(sys.stdin, 1):
        words = re.findall(r"b'(?:[^'\\]|\\.)*'|\S+", line)
        if not words:
            continue
        op, args = words[0], [arg(w) for w in words[1:]]
        try:
            if op == "put":
                size = int(args[1]) if len(args) > 1 else 1000
                with sftp.open(args[0], "wb") as f:
                    f.write(b"x" * size)
                result = "closed"
            elif op == "get":
                with sftp.open(args[0], "rb") as f:
                    data = f.read()
                result = "%d %s" % (len(data), hashlib.md5(data).hexdigest())
            elif op == "write":
                f = sftp.open(args[0], "wb")
                held.append(f)
                chunk = b"w" * 32768
                left = int(args[1])
                while left > 0:
                    f.write(chunk[:left])
                    left -= min(left, len(chunk))
                f.flush()
                result = "wrote"
            elif op == "hold":
                print("%d OK holding" % n, flush=True)
                import time
                while transport.is_active():
                    time.sleep(0.1)
                result = "connection lost"
            elif op == "read":
                f = sftp.open(args[0], "rb")
                held.append(f)
                result = str(len(f.read(int(args[1]))))
            elif op in ("stat", "lstat"):
                st = getattr(sftp, op)(args[0])
                result = "size=%d mode=%o" % (st.st_size, st.st_mode)
            elif op == "listdir":
                result = repr(sorted(sftp.listdir(args[0])))
            elif op == "sleep":
                import time
                time.sleep(float(args[0]))
                result = "slept"
            else:
                result = repr(getattr(sftp, op)(*args))
            print("%d OK %s" % (n, result), flush=True)
        except (IOError, OSError) as e:
            print("%d ERR %s %s" % (n, e.errno, e.strerror or e), flush=True)
    sftp.close()
    transport.close()


if __name__ == "__main__":
    main()
