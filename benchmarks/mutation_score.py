"""Print the mutation score of the last `make mutants` run (mutmut's export-cicd-stats).

Usage: python benchmarks/mutation_score.py [mutants/mutmut-cicd-stats.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(path: Path) -> int:
    if not path.is_file():
        print(f"mutation score: {path} not found: run `make mutants`", file=sys.stderr)
        return 1
    stats = json.loads(path.read_text(encoding="utf-8"))
    killed, survived = stats.get("killed", 0), stats.get("survived", 0)
    timeouts = stats.get("timeout", 0)
    tested = killed + survived + timeouts
    others = {
        key: value
        for key, value in stats.items()
        if key not in ("killed", "survived", "timeout", "total") and value
    }
    # A run stopped early (make mutants resumes) leaves mutants not yet run.
    pending = stats.get("total", tested) - tested - sum(others.values())
    print(
        f"mutation score: {killed} killed of {tested} mutants tested "
        f"({killed / max(tested, 1):.1%}); {survived} survived, {timeouts} timeouts"
        + (f"; also {others}" if others else "")
        + (f"; {pending} of {stats['total']} not run yet" if pending > 0 else "")
    )
    if not tested:
        # mutmut stops before the first mutant when the unmutated code fails its tests (or
        # they cannot be collected in mutants/): its message is above.
        print(
            "mutation score: no mutant was tested: mutmut's run failed (see its output "
            "above; `cd mutants` and run the pytest command it names)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(
        main(
            Path(sys.argv[1] if len(sys.argv) > 1 else "mutants/mutmut-cicd-stats.json")
        )
    )
