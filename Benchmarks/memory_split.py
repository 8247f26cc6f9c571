"""Peak memory of one hsdb command, split as the kernel accounts it: VmRSS = RssAnon (the
heap and stacks) + RssFile (mapped file pages: the binary's code and mapped data files, which
are page cache). Samples /proc/PID/status every 5 ms; prints each peak with the progress line
the command had printed last.

Usage: python3 memory_split.py HSDB_BINARY restore --from BACKUPS --to NEWDIR [...]
       python3 memory_split.py HSDB_BINARY backup create --data DIR --to BACKUPS
"""
import subprocess
import sys
import threading
import time


def main():
    p = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    phase = ["start"]

    def progress():
        for line in p.stderr:
            phase[0] = line.strip()[:80]

    threading.Thread(target=progress, daemon=True).start()
    peak = {}
    while p.poll() is None:
        try:
            status = open(f"/proc/{p.pid}/status").read()
        except OSError:
            break
        for line in status.splitlines():
            key = line.split(":")[0]
            if key in ("VmRSS", "RssAnon", "RssFile"):
                kib = int(line.split()[1])
                if kib > peak.get(key, (0, ""))[0]:
                    peak[key] = (kib, phase[0])
        time.sleep(0.005)
    for key, (kib, during) in peak.items():
        print(f"{key} {kib} KiB, during: {during}")
    sys.exit(p.returncode)


if __name__ == "__main__":
    main()
