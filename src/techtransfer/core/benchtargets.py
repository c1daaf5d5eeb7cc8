"""What ``techtransfer bench <target>`` can run.

Target name → ``"module:function"``; the function takes ``argv`` (a list of strings) and returns an exit code.

Each benchmark lives beside the code it measures and parses its own options; add one with one line here.
"""

TARGETS = {
    "portal": "techtransfer.benchmarks.portal:main",
    "policies": "techtransfer.policy.bench:main",
    "matching": "techtransfer.matching.bench:main",
}
