"""Benchmark: what each counterfactual method's answers mean, and what they cost.

On the quick experiment's saved model (saved_models/quick/model.keras; `make run` makes
it), in one process, over the same digits:

* GOOD: --good test digits (a seeded draw) that the model and both judges classify
  correctly, each towards the model's runner-up class;
* BAD: every test digit the model misclassifies, each towards its true class.

Per method: validity for the model; for each judge (saved_models/judges, classifiers that
take no part in any search) the share of valid counterfactuals it puts in the target class
("agrees", the oracle score) and the share it still puts in the model's original class
("keeps"); IM1 and yNN (plausibility); COUT (does the change carry the decision); L0, L1,
L2; model passes and seconds per digit; and where a method must be trained first
(CounterfactualRL's policy, per classifier; the VAE of `revise`, once per dataset), the
training time, also spread over the digits.

The headline compares only methods whose answers mean the same thing: the fastest method
that every judge accepts (agreement >= 0.9 on GOOD and on BAD digits) against Alibi's
CounterfactualRL and CounterfactualProto. Methods the judges reject are reported with their
speed, never as a headline. Alibi's CounterfactualProto costs about a minute per digit here,
so it runs on the first --reference digits of each kind only (the JSON says so).

    python experiments/benchmarks/bench_counterfactual.py [--good 100] [--reference 5] [--methods a,b] \
        [--set method.param=value ...] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "experiments" / "benchmarks" / "results"
KINDS = ("GOOD", "BAD")


def _mean(values):
    values = np.asarray(values, float)
    values = values[np.isfinite(values)]
    return round(float(values.mean()), 4) if len(values) else None


def summarise(rows: list[dict], judges: list[str]) -> dict:
    """Means over per-digit rows of one method (distances and judges over the valid ones)."""
    valid = [r for r in rows if r["valid"] == 1.0]
    out = {"digits": len(rows), "validity": round(len(valid) / len(rows), 4) if rows else None}
    for j in judges:
        out[f"{j}_agrees"] = _mean([r[f"judge_{j}_agrees"] for r in valid])
        out[f"{j}_keeps"] = _mean([r[f"judge_{j}_keeps"] for r in valid])
    for key in ("im1", "ynn", "cout", "l0", "l1", "l2"):
        out[key] = _mean([r.get(key) for r in valid])
    out["passes_per_digit"] = _mean([r["forward_passes"] + r["gradient_passes"] for r in rows])
    out["seconds_per_digit"] = _mean([r["seconds"] for r in rows])
    return out


def _cpu_text(machine) -> str:
    """A recorded machine as `cpu_line` writes it (older records kept that line itself)."""
    if isinstance(machine, str):
        return machine
    return f"{machine['cpu']} ({machine['vector_extensions']}), {machine['cores']} cores"


def accepted(summary: dict, judges: list[str], threshold: float) -> bool:
    """Every judge agrees on >= threshold of the valid counterfactuals, on GOOD and on BAD digits."""
    return all(summary[kind]["validity"] and all((summary[kind][f"{j}_agrees"] or 0) >= threshold for j in judges)
               for kind in KINDS if summary.get(kind) and summary[kind]["digits"])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=ROOT / "saved_models" / "quick" / "model.keras")
    parser.add_argument("--good", type=int, default=100, help="GOOD digits (runner-up target)")
    parser.add_argument("--bad", type=int, default=None, help="BAD digits (default: all)")
    parser.add_argument("--reference", type=int, default=5, help="digits of each kind for alibi_proto")
    parser.add_argument("--methods", default="growing_spheres,gradient,seed_loop,prototype,revise,alibi_cfrl,"
                                             "alibi_proto")
    parser.add_argument("--set", action="append", default=[], metavar="METHOD.PARAM=VALUE")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS / "bench_counterfactual.json")
    parser.add_argument("--update", action="store_true",
                        help="keep the other methods of an existing --out (same digits, judges and machine kind) "
                             "and replace or add only the methods run now")
    args = parser.parse_args(argv)

    import attention_xai  # noqa: F401
    from attention_xai.artifacts import portable, write_json
    from attention_xai.data import load_mnist, to_model_input
    from attention_xai.machine import cpu_description, cpu_line
    from attention_xai.explain.base import predict_in_batches
    from attention_xai.explain.counterfactual import COUNTERFACTUALS
    from attention_xai.explain.counterfactual.analysis import ACCEPTED, CounterfactualAnalysis, measure
    from attention_xai.explain.samples import Samples
    from attention_xai.models import load_classifier
    from attention_xai.models.autoencoder import load_autoencoders
    from attention_xai.models.judges import judge_predict, load_judges
    from attention_xai.explain.counterfactual.needs import Resources, fill_needs, missing_need
    from attention_xai.params import parse_set_options

    model = load_classifier(args.model)
    models = ROOT / "saved_models"
    autoencoders = load_autoencoders(models / "autoencoders")
    judges = load_judges(models / "judges")
    names = list(judges)
    data = load_mnist()
    x, y = to_model_input(data.x_test), data.y_test.astype(np.int64)
    probabilities = predict_in_batches(model, x, 512)
    predictions = probabilities.argmax(axis=1)
    runner_up = np.argsort(-probabilities, axis=1)[:, 1]
    judged_right = np.all([judge_predict(j, x).argmax(axis=1) == y for j in judges.values()], axis=0)
    good_pool = np.flatnonzero((predictions == y) & judged_right)
    good = np.sort(np.random.default_rng(args.seed).choice(good_pool, min(args.good, len(good_pool)), replace=False))
    bad = np.flatnonzero(predictions != y)[:args.bad]
    rows = np.concatenate([good, bad])
    kind = np.array(["GOOD"] * len(good) + ["BAD"] * len(bad))
    targets = np.where(kind == "BAD", y[rows], runner_up[rows]).astype(np.int64)
    samples = Samples(indices=rows, kind=kind, labels=y[rows], predictions=predictions[rows],
                      confidence=probabilities[rows].max(axis=1))
    print(f"{len(good)} GOOD digits (model and judges right; {len(good_pool)} such) + {len(bad)} BAD digits; "
          f"{cpu_line()}")

    method_names = [m.strip() for m in args.methods.split(",") if m.strip()]
    overrides = parse_set_options(args.set, method_names)
    training_digits = to_model_input(data.x_train)
    trained = {"alibi_cfrl": json.loads((args.model.parent / "cfrl" / "cfrl.json").read_text())["train_seconds"]
               if (args.model.parent / "cfrl" / "cfrl.json").is_file() else None,
               "revise": json.loads((models / "vae" / "metrics.json").read_text())["train_seconds"]
               if (models / "vae" / "metrics.json").is_file() else None}
    siblings = args.model.parent / "siblings"
    resources = Resources(autoencoders=models / "autoencoders", vae=models / "vae", model_dir=args.model.parent)
    if (siblings / "metrics.json").is_file():  # per model: the siblings' training, besides the shared VAE
        trained["revise_siblings"] = sum(s["train_seconds"] for s in
                                         json.loads((siblings / "metrics.json").read_text())["siblings"])
    report = {"model": str(args.model.relative_to(ROOT) if args.model.is_relative_to(ROOT) else args.model.name),
              "machine": cpu_description(),
              "judges": json.loads((models / "judges" / "metrics.json").read_text())["judges"],
              "digits": {"GOOD": int(len(good)), "BAD": int(len(bad)),
                         "GOOD_rule": "seeded draw among test digits that the model and both judges classify "
                                      "correctly; target: the model's runner-up class",
                         "BAD_rule": "every misclassified test digit; target: its true class"},
              "accepted_threshold": ACCEPTED, "methods": {}}
    if args.update and args.out.is_file():
        earlier = json.loads(args.out.read_text())
        same = ("digits", "judges", "model")
        if any(earlier.get(k) != report[k] for k in same) or _cpu_text(earlier["machine"]) != cpu_line():
            raise SystemExit(f"--update: {args.out} was measured on other digits, judges, model or kind of CPU")
        report["methods"] = {k: v for k, v in earlier["methods"].items() if k not in method_names}
    for name in method_names:
        method_class = COUNTERFACTUALS.get(name)
        missing = missing_need(method_class, resources)
        if missing:
            print(f"  {name}: left out, {missing}")
            continue
        params = fill_needs(method_class, overrides.get(name, {}), resources)
        chosen = np.arange(len(rows))
        if name == "alibi_proto":
            chosen = np.concatenate([np.flatnonzero(kind == k)[:args.reference] for k in KINDS])
        started = time.perf_counter()
        result = method_class(seed=args.seed, **params).generate(model, x[rows[chosen]], targets[chosen])
        fields = ("indices", "kind", "labels", "predictions", "confidence")
        sub = Samples(*(getattr(samples, f)[chosen] for f in fields))
        analysis = CounterfactualAnalysis(images=x[rows[chosen]], samples=sub, targets=targets[chosen],
                                          target_rule="auto", results=[result])
        per_digit, _ = measure(model, analysis, autoencoders, training_digits, judges)
        entry = {"params": portable(dict(result.params), ROOT), "kind": method_class.kind,
                 "all": summarise(per_digit, names),
                 **{k: summarise([r for r in per_digit if r["kind"] == k], names) for k in KINDS}}
        if trained.get(name) is not None:
            entry["train_seconds"] = trained[name]
            entry["seconds_per_digit_with_training"] = round(
                entry["all"]["seconds_per_digit"] + trained[name] / len(rows), 4)
        entry["accepted"] = accepted(entry, names, ACCEPTED)
        entry["per_digit"] = {"test_index": [int(r["test_index"]) for r in per_digit],
                              "valid": [int(r["valid"]) for r in per_digit],
                              "l1": [r["l1"] for r in per_digit],
                              **{f"{j}_agrees": [r[f"judge_{j}_agrees"] for r in per_digit] for j in names}}
        report["methods"][name] = entry
        a = entry["all"]
        print(f"  {name}: {time.perf_counter() - started:.0f} s; valid {a['validity']}, "
              + ", ".join(f"{j} agrees {a[f'{j}_agrees']}" for j in names)
              + f", IM1 {a['im1']}, L1 {a['l1']}, {a['seconds_per_digit']} s/digit")

    report["headline"] = headline(report["methods"])
    write_json(args.out, report)
    print_table(report, names)
    print(f"\n{report['headline']}\nwritten: {args.out}")
    return report


def paired_l1(a: dict, b: dict) -> dict:
    """Mean L1 of two methods over the digits where both found a valid counterfactual."""
    index_b = {i: k for k, i in enumerate(b["per_digit"]["test_index"])}
    pairs = [(a["per_digit"]["l1"][k], b["per_digit"]["l1"][index_b[i]])
             for k, i in enumerate(a["per_digit"]["test_index"])
             if i in index_b and a["per_digit"]["valid"][k] and b["per_digit"]["valid"][index_b[i]]]
    if not pairs:
        return {"digits": 0}
    first, second = np.array(pairs, float).T
    return {"digits": len(pairs), "l1": round(float(first.mean()), 3), "other_l1": round(float(second.mean()), 3)}


def headline(methods: dict) -> str:
    """The fastest accepted method against alibi_cfrl (with and without its training) and alibi_proto."""
    ok = {name: m for name, m in methods.items() if m["accepted"]}
    if not ok:
        return "no method's counterfactuals are accepted by every judge on these digits"
    name = min(ok, key=lambda n: ok[n]["all"]["seconds_per_digit"])
    best = ok[name]["all"]["seconds_per_digit"]
    parts = [f"fastest method the judges accept: {name}, {best:.3f} s/digit"]
    if "alibi_cfrl" in methods:
        cfrl = methods["alibi_cfrl"]
        pair = paired_l1(ok[name], cfrl)
        parts.append(f"alibi_cfrl {cfrl['all']['seconds_per_digit']:.3f} s/digit after training "
                     f"({cfrl['seconds_per_digit_with_training']:.1f} s/digit with its {cfrl['train_seconds']:.0f} s "
                     f"of training spread over these digits; accepted by the judges: "
                     f"{'yes' if cfrl['accepted'] else 'no'}); L1 where both are valid ({pair['digits']} digits): "
                     f"{pair.get('l1')} vs {pair.get('other_l1')}")
    if "alibi_cfrl" in methods and len(ok) > 1:
        pairs = {n: paired_l1(m, methods["alibi_cfrl"]) for n, m in ok.items()}
        least = min((n for n in pairs if pairs[n]["digits"]), key=lambda n: pairs[n]["l1"], default=None)
        if least is not None and least != name:
            m = ok[least]
            training = f", with {m['train_seconds']:.0f} s of training per model" if m.get("train_seconds") else ""
            parts.append(f"least ink among the accepted: {least}, "
                         f"{m['all']['seconds_per_digit']:.3f} s/digit{training}; "
                         f"L1 where it and alibi_cfrl are both valid ({pairs[least]['digits']} digits): "
                         f"{pairs[least]['l1']} vs {pairs[least]['other_l1']}")
    if "alibi_proto" in methods:
        proto = methods["alibi_proto"]
        parts.append(f"alibi_proto {proto['all']['seconds_per_digit']:.1f} s/digit "
                     f"({proto['all']['seconds_per_digit'] / best:.0f}x {name}'s time) "
                     f"on {proto['all']['digits']} digits")
    return "; ".join(parts)


def print_table(report: dict, judges: list[str]) -> None:
    head = (["method", "kind", "digits", "valid"] + [f"{j} agrees" for j in judges] + [f"{j} keeps" for j in judges]
            + ["IM1", "yNN", "COUT", "L0", "L1", "L2", "passes/digit", "s/digit", "training"])
    print("\n| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    for name, m in report["methods"].items():
        for kind in ("all", *KINDS):
            s = m.get(kind)
            if not s or not s["digits"]:
                continue
            cells = [name if kind == "all" else "", kind, s["digits"], s["validity"],
                     *(s[f"{j}_agrees"] for j in judges), *(s[f"{j}_keeps"] for j in judges),
                     s["im1"], s["ynn"], s["cout"], s["l0"], s["l1"], s["l2"], s["passes_per_digit"],
                     s["seconds_per_digit"],
                     f"{m['train_seconds']:.0f} s" if kind == "all" and "train_seconds" in m else ""]
            print("| " + " | ".join("" if c is None else str(c) for c in cells) + " |")


if __name__ == "__main__":
    main()
