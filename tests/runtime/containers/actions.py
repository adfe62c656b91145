"""Action sources of the container-pool tests (each reports its own pids and times)."""

from __future__ import annotations

import textwrap


def src(text: str) -> str:
    return textwrap.dedent(text).strip() + "\n"


# Prints ``lines`` numbered lines tagged with its activation id on both streams; "init" once.
ECHO = src("""
    import os, sys, time
    print("init output")
    def main(args):
        aid = os.environ.get("__OW_ACTIVATION_ID")
        for i in range(int(args.get("lines", 1))):
            print(f"{aid} out {i}", flush=True)
            print(f"{aid} err {i}", file=sys.stderr, flush=True)
            time.sleep(float(args.get("pause", 0)))
        return {"pid": os.getpid(), "proxy": os.getppid(), "activation": aid}
""")

# Sleeps ``sleep`` seconds; returns when it started and ended (wall clock) and its pids.
SLEEPER = src("""
    import os, time
    def main(args):
        start = time.time()
        time.sleep(float(args.get("sleep", 0)))
        return {"start": start, "end": time.time(), "pid": os.getpid(), "proxy": os.getppid()}
""")

# Dies mid-run: "exit" ends the action process, "kill-proxy" kills the proxy above it.
CRASH = src("""
    import os, signal, time
    def main(args):
        how = args.get("how")
        if how == "exit":
            os._exit(3)
        if how == "kill-proxy":
            os.kill(os.getppid(), signal.SIGKILL)
            time.sleep(30)
        if how == "hang":
            time.sleep(30)
        return {"pid": os.getpid(), "proxy": os.getppid()}
""")

# Writes ``size`` bytes of log lines of 1000 characters.
CHATTY = src("""
    def main(args):
        line = "x" * 999
        for _ in range(int(args["size"]) // 1000):
            print(line)
        print("last line")
        return {}
""")

# Holds ``mb`` megabytes (touched, so they count against the memory limit).
HOG = src("""
    def main(args):
        blocks = [bytearray(1024 * 1024) for _ in range(int(args.get("mb", 0)))]
        return {"held_mb": len(blocks)}
""")

SYNTAX_ERROR = "def main(args):\n    return {\n"
NO_MAIN = "x = 1\n"
SLOW_IMPORT = src("""
    import time
    time.sleep(30)
    def main(args):
        return {}
""")

# A blackbox proxy that never writes sentinels (upstream's blackbox images need not).
NO_SENTINEL_SERVER = src("""
    import json
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            doc = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if self.path == "/run":
                print("ran", doc["activation_id"], flush=True)
                body = {"echo": doc.get("value")}
            else:
                body = {"ok": True}
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    HTTPServer(("0.0.0.0", 8080), Handler).serve_forever()
""")

# nodejs:default: prints on both streams, reports its pids.
NODE_ECHO = src("""
    console.log("init output")
    function main(args) {
      const aid = process.env.__OW_ACTIVATION_ID
      console.log(`${aid} out`)
      console.error(`${aid} err`)
      return {pid: process.pid, proxy: process.ppid, activation: aid}
    }
""")
