"""Benchmark: what drawing an experiment's figures costs, and what hiding the panels' axis
objects (`plots.attribution.bare`) saves against empty tick lists.

Redraws the attribution and counterfactual reports of one experiment from its saved arrays
(saved_models/<name>/{attributions,counterfactuals}) into a temporary folder, once per way
of baring the panels, alternating over --rounds, in one process; nothing in reports/ is
touched. Per report: the seconds of each variant (best of the rounds) and their ratio.

    python experiments/benchmarks/bench_figures.py [--name quick] [--rounds 2] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "experiments" / "benchmarks" / "results"


def empty_tick_lists(ax) -> None:
    """How panels were bared before: empty tick lists, the axis objects still drawn."""
    ax.set_xticks([])
    ax.set_yticks([])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", default="quick", help="artifact name under saved_models/")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS / "bench_figures.json")
    args = parser.parse_args(argv)

    import attention_xai.plots.attribution as attribution
    import attention_xai.plots.counterfactual as counterfactual
    from attention_xai.machine import cpu_description
    from attention_xai.reporting.attributions import redraw_attribution_report
    from attention_xai.reporting.counterfactuals import redraw_counterfactual_report

    arrays = ROOT / "saved_models" / args.name
    reports = {"attributions": redraw_attribution_report, "counterfactuals": redraw_counterfactual_report}
    variants = {"hidden axes": attribution.bare, "empty tick lists": empty_tick_lists}
    seconds = {report: {variant: [] for variant in variants} for report in reports}
    for _ in range(args.rounds):
        for variant, bare in variants.items():
            attribution.bare = counterfactual.bare = bare
            for report, redraw in reports.items():
                with tempfile.TemporaryDirectory() as tmp:
                    started = time.perf_counter()
                    redraw(arrays / report, Path(tmp))
                    seconds[report][variant].append(time.perf_counter() - started)
    attribution.bare = counterfactual.bare = variants["hidden axes"]
    result = {"experiment": args.name, "rounds": args.rounds, "machine": cpu_description(), "reports": {}}
    for report, by_variant in seconds.items():
        best = {variant: round(min(values), 2) for variant, values in by_variant.items()}
        result["reports"][report] = {"seconds": best,
                                     "ratio_hidden_to_ticks": round(best["hidden axes"] / best["empty tick lists"], 3)}
        print(f"{report}: hidden axes {best['hidden axes']:.2f} s, empty tick lists {best['empty tick lists']:.2f} s "
              f"(ratio {result['reports'][report]['ratio_hidden_to_ticks']:.2f})")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"-> {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
