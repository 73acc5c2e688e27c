#!/usr/bin/python3
"""make bench's driver: arrjit-bench and anchors.py, workload by workload.

Both harnesses run as servers (--serve): this script names a workload to
one, then to the other, so that arrjit and its peers are timed seconds
apart. Run one after the other, a stretch of a noisy machine (its memory
bandwidth moved 44-78 GB/s within a run here) could fall on one harness
alone. Each round measures the stream references first, then every
workload; rounds alternate which harness goes first. The harnesses' JSON
lines go to --arrjit-out and --anchors-out as a run of each would write
them, a round after another, for bench/report.py.

Exit status: 1 if arrjit-bench failed (a wrong result, or it died), 0
otherwise; the anchors never fail the run (a missing Python package only
leaves its columns out), 2 on a bad command line.
"""

import argparse
import json
import subprocess
import sys


def say(msg):
    print("interleave: " + msg, file=sys.stderr, flush=True)


class Server:
    """A harness running --serve; None-safe once it has died."""

    def __init__(self, name, argv, out):
        self.name, self.out = name, out
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True,
                                     bufsize=1)
        self.alive = True

    def ask(self, command):
        """Sends one command; returns its answer's JSON lines (each also
        written to out), or None if the harness ended before answering."""
        if not self.alive:
            return None
        lines = []
        try:
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
            for text in self.proc.stdout:
                try:
                    obj = json.loads(text)
                except ValueError:
                    say("%s: not JSON: %r" % (self.name, text[:80]))
                    continue
                if obj.get("kind") == "done":
                    return lines
                self.out.write(text if text.endswith("\n") else text + "\n")
                self.out.flush()
                lines.append(obj)
        except BrokenPipeError:
            pass
        self.alive = False
        say("%s ended before answering %r (exit status %s)" % (
            self.name, command, self.proc.wait()))
        return None

    def close(self):
        """Ends the server; its exit status."""
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        return self.proc.wait()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", required=True, help="arrjit-bench")
    ap.add_argument("--anchors", required=True, help="anchors.py")
    ap.add_argument("--python", default=sys.executable,
                    help="the interpreter for anchors.py")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--arrjit-out", required=True)
    ap.add_argument("--anchors-out", required=True)
    ap.add_argument("args", nargs="*",
                    help="given to both harnesses (after --): --quick, "
                    "--threads N, --reps N, --filter NAME")
    a = ap.parse_args(argv)
    if a.rounds < 1:
        ap.error("--rounds must be >= 1")

    listed = subprocess.run([a.bench, "--list"] + a.args,
                            capture_output=True, text=True)
    if listed.returncode != 0:
        say("arrjit-bench --list: %s" % listed.stderr.strip())
        return 2
    names = listed.stdout.split()
    # anchors.py takes no --filter in serve mode: it runs what it is sent
    py_args, skip = [], False
    for x in a.args:
        if skip:
            skip = False
        elif x == "--filter":
            skip = True
        else:
            py_args.append(x)

    failed = False
    with open(a.arrjit_out, "w") as fa, open(a.anchors_out, "w") as fp:
        aj = Server("arrjit-bench", [a.bench, "--serve"] + a.args, fa)
        py = Server("anchors.py",
                    [a.python, a.anchors, "--serve"] + py_args, fp)
        for r in range(a.rounds):
            if aj.ask("stream") is None:
                break
            covered = set()  # names an anchor workload answered for
            for w in names:
                first = [aj, py] if r % 2 == 0 else [py, aj]
                for s in first:
                    if s is py and w in covered:
                        continue
                    got = s.ask(w)
                    if got is None:
                        continue
                    if s is aj:
                        failed = failed or any(
                            o.get("kind") == "workload" and
                            o.get("check") != "ok" for o in got)
                    else:
                        covered.update(o.get("name") for o in got
                                       if o.get("kind") == "anchor")
        aj.ask("stats")
        rc = aj.close()
        py.close()
    if rc != 0 or not aj.alive:
        failed = True
    say("%d rounds of %d workloads%s" % (
        a.rounds, len(names), "; arrjit-bench FAILED" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
