#!/usr/bin/env python3
"""Starts the installed window (/usr/bin/agent-companion) under Xvfb with the configuration IT manages
(scripts/package.sh --check writes it) and waits, bounded, until its log says the desk started (or
that it did not). Usage: installed-window-check.py WORK_DIR"""
import os
import signal
import subprocess
import sys
import time

work = sys.argv[1]
display = next(d for d in range(180, 260)
               if not os.path.exists(f"/tmp/.X11-unix/X{d}") and not os.path.exists(f"/tmp/.X{d}-lock"))
xvfb = subprocess.Popen(["Xvfb", f":{display}", "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
logs = os.path.join(work, "logs")
err = os.path.join(work, "app.err")
app = subprocess.Popen(["/usr/bin/agent-companion", "--log-dir", logs],
                       env=dict(os.environ, DISPLAY=f":{display}"), stdout=subprocess.DEVNULL,
                       stderr=open(err, "w"), start_new_session=True)


def log_text():
    try:
        return "".join(open(os.path.join(logs, f)).read() for f in os.listdir(logs))
    except OSError:
        return ""


try:
    deadline = time.time() + 60
    while "desk started" not in log_text():
        if "the desk did not start" in log_text():
            sys.exit(f"the installed app's desk did not start: {log_text()[-2000:]}")
        if app.poll() is not None:
            sys.exit(f"the installed app exited with {app.returncode}: {open(err).read()[-2000:]}")
        if time.time() > deadline:
            sys.exit("the installed app did not start its desk within 60 s")
        time.sleep(0.2)
    print(f"started (managed configuration, encrypted store), log files: {os.listdir(logs)}")
finally:
    for p in (app, xvfb):
        try:
            if p is app:
                os.killpg(p.pid, signal.SIGTERM)
            else:
                p.terminate()
            p.wait(timeout=10)
        except Exception:
            p.kill()
