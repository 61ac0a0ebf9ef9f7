"""The pass/fail list the plain-Python checks in test/ share: each check prints ok or FAIL and
its description; finish() exits non-zero, naming the script, when any failed."""
import sys


class Checklist:
    def __init__(self):
        self.failures = []

    def __call__(self, ok, what):
        print("%s: %s" % ("ok" if ok else "FAIL", what))
        if not ok:
            self.failures.append(what)

    def finish(self, name):
        if self.failures:
            sys.exit("%s: %d failed" % (name, len(self.failures)))
