"""Answer allow-rule questions about a compiled SELinux policy with setools.

Run with the system Python (setools is a Debian package, python3-setools):
    python3 query.py POLICY < questions.json > answers.json
Each question is [source_type, target_type, class, permission]; the answer is whether
some allow rule grants it, attributes expanded. One rule scan per source type.
"""

import json
import sys

import setools  # type: ignore[import-not-found]  # system Python's python3-setools


def main() -> None:
    policy = setools.SELinuxPolicy(sys.argv[1])
    questions = json.load(sys.stdin)
    grants: dict[str, set[tuple[str, str, str]]] = {}
    for source in sorted({q[0] for q in questions}):
        rules = setools.TERuleQuery(policy, ruletype=["allow"], source=source).results()
        found: set[tuple[str, str, str]] = set()
        for rule in rules:
            targets = (
                {str(t) for t in rule.target.expand()} if str(rule.target) != "self" else {source}
            )
            for perm in rule.perms:
                found.update((t, str(rule.tclass), str(perm)) for t in targets)
        grants[source] = found
    answers = [(q[1], q[2], q[3]) in grants[q[0]] for q in questions]
    json.dump(answers, sys.stdout)


main()
