"""Adebayo et al.'s data randomisation test on the quick protocol: every attribution method
explains the same GOOD and BAD test digits (the explain stage's selection, towards the quick
model's predicted classes) on the quick model and on the same network trained on permuted
labels (`python -m attention_xai train quick_permuted_labels`), and the two sets of maps are
compared (Spearman correlation of |maps|; at or above 0.5 the method FAILS).

    python experiments/tools/data_randomization.py [--good 4] [--bad 4] [--out FILE]
"""

from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=ROOT / "saved_models" / "quick" / "model.keras")
    parser.add_argument("--random-model", type=Path,
                        default=ROOT / "saved_models" / "quick_permuted_labels" / "model.keras")
    parser.add_argument("--good", type=int, default=4)
    parser.add_argument("--bad", type=int, default=4)
    parser.add_argument("--out", type=Path, default=ROOT / "experiments" / "benchmarks" / "results" /
                        "data_randomization.json")
    args = parser.parse_args(argv)

    import json
    import warnings

    # Keras notes that tf-keras-vis and SHAP call the model with a list; harmless, and on every call.
    warnings.filterwarnings("ignore", message=r"The structure of `inputs` doesn't match", category=UserWarning)
    from attention_xai.artifacts import portable, write_json
    from attention_xai.evaluate.sanity import data_randomization
    from attention_xai.machine import cpu_description
    from attention_xai.models import load_classifier
    from attention_xai.pipeline import attribution_methods
    from stage_digits import stage_digits

    model, random_model = load_classifier(args.model), load_classifier(args.random_model)
    rows = data_randomization(model, random_model, attribution_methods(), *stage_digits(model, good=args.good,
                                                                                        bad=args.bad))
    random_metrics = json.loads((args.random_model.parent / "metrics.json").read_text())
    result = {"model": portable(str(args.model), ROOT), "random_model": portable(str(args.random_model), ROOT),
              "random_model_test_accuracy": random_metrics["test_accuracy"], "machine": cpu_description(),
              "digits": {"GOOD": args.good, "BAD": args.bad}, "methods": rows}
    write_json(args.out, result)
    print(f"permuted-label model: test accuracy {random_metrics['test_accuracy']:.4f}")
    for name, row in rows.items():
        print(f"{name:22s} Spearman {row['spearman']:+.3f}  {row['verdict']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
