#!/usr/bin/env python3
"""Minimal webhook receiver for test-emulator.sh.

Usage: webhook-receiver.py LOGFILE FAIL_FIRST
Listens on 127.0.0.1 (any free port, printed on stdout), answers 200 to
everything and appends each received JSON body as one line to LOGFILE,
except that the first FAIL_FIRST non-validation events get a 500 (to
exercise the emulator's retries) and are logged as "FAILED <body>".
"""
import http.server
import json
import sys

log_path, fail_first = sys.argv[1], int(sys.argv[2])
failed = 0


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global failed
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        event = json.loads(body)
        status = 200
        prefix = ""
        if event.get("type") != "platform.events.validatesubscription" and failed < fail_first:
            failed += 1
            status = 500
            prefix = "FAILED "
        with open(log_path, "a") as log:
            log.write(prefix + body.decode() + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
