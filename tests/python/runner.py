"""The tiny test runner of tests/python (no pytest on Debian's interpreter by default): every
function named test_* in the module runs; failures are printed and the exit status is 1."""
import sys
import traceback


def run_tests(namespace: dict) -> int:
    tests = [(name, fn) for name, fn in sorted(namespace.items()) if name.startswith("test_") and callable(fn)]
    failed = 0
    for name, fn in tests:
        try:
            fn()
            print(f"ok   {name}")
        except Exception:  # report every failure, keep going
            failed += 1
            print(f"FAIL {name}")
            traceback.print_exc(file=sys.stdout)
    print(f"{len(tests) - failed} of {len(tests)} passed")
    return 1 if failed else 0
