"""The model's on/off bias on open verbs, with and without contextual calibration.

Requests whose verbs the schema does not list ("activate the kettle", "让扫地机休息") leave the action
to the model. For every plug-type device of the hand-written homes and of generated homes, this asks
both kinds and counts the answers, once with calibration and once without.

    .venv/bin/python bench/verb_bias.py [--homes 20]
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from edgebrain.evaluation.suites import DEFAULT_SUITE, generated_homes, load_backend, suite_homes
from edgebrain.models.llama import DEFAULT_THREADS
from edgebrain.understand.engine import Understander
from edgebrain.understand.words.reading import Techniques

# Verbs no word list of the schema names: the model decides.
STARTS = ("activate the {}", "get the {} working", "wake the {}", "engage the {}", "launch the {}",
          "put the {} to work", "let the {} do its thing", "激活{}", "让{}干活", "把{}用起来")
STOPS = ("give the {} a rest", "put the {} to sleep", "we're done with the {}", "the {} can rest now",
         "enough of the {}", "让{}休息", "让{}歇会儿", "{}可以歇了")


def measure(homes: list, backend: object, techniques: Techniques) -> dict[str, collections.Counter[str]]:
    """Answers per intended action: how often on, off, toggle or nothing."""
    counts: dict[str, collections.Counter[str]] = {"on": collections.Counter(), "off": collections.Counter()}
    for home in homes:
        if home.registry is None:
            continue
        plugs = [d for d in home.registry if d.type == "switch"]
        if not plugs:
            continue
        understander = Understander(home.registry, backend, None, techniques, lazy=True)  # type: ignore[arg-type]
        for device in plugs:
            for wanted, templates in (("on", STARTS), ("off", STOPS)):
                for template in templates:
                    same_script = [n for n in (device.name, *device.aliases) if n.isascii() == template.isascii()]
                    name = same_script[0] if same_script else device.name
                    result = understander.understand(template.format(name), "12:00")
                    actions = {c.action for c in result.commands if c.device == device.id}
                    counts[wanted][next(iter(actions)) if len(actions) == 1 else "none"] += 1
    return counts


def main() -> int:
    """Print the answers with and without calibration."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--homes", type=int, default=20, help="generated homes beside the hand-written ones")
    args = parser.parse_args()
    backend = load_backend(None, DEFAULT_THREADS)
    homes = suite_homes(DEFAULT_SUITE) + list(generated_homes(args.homes, seed=500))
    for label, techniques in (("calibrated", Techniques()), ("plain", Techniques.without(["calibration"]))):
        counts = measure(homes, backend, techniques)
        for wanted, answers in counts.items():
            total = sum(answers.values())
            shares = ", ".join(f"{a} {n / total:.0%}" for a, n in answers.most_common())
            print(f"{label:10} meant {wanted:3}: {shares} ({total} requests)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
