"""Every `python -m attention_xai ...` line of the README and docs/ runs, at smoke size.

The documented commands train real models for minutes to hours; here each runs through the
command line's own `main` with these changes, and no other:

- `--smoke` wherever the command takes it (32x32 inputs, one epoch, the methods' smoke
  budgets), and temporary --models-dir/--reports-dir, so nothing committed is written;
- the helpers (`judges`, `vae`, `autoencoders`) write into a temporary --out;
- a stage that names no methods runs one (`gradcam`; `revise` for counterfactuals): every
  default method runs in `test_smoke_run_end_to_end_in_a_fresh_process`;
- `report` with names and `evaluate` read the committed artifacts they name (the report
  goes to a temporary folder);
- the placeholders `path/to/model.keras` and `my_digits/` become the smoke model trained by
  `train quick` and a folder of three MNIST digits as PNG files.

Commands that train come first (the stages use their models), then the stages, then the
readers. A command that fails prints its one-line error and the test names it.
"""

import shlex
import time

import pytest
from conftest import ROOT
from test_docs import command_lines

ORDER = ("list", "train", "judges", "vae", "autoencoders", "siblings", "cfrl", "explain", "counterfactual", "run",
         "evaluate", "report")


def cheap_methods() -> dict:
    """The one method a stage runs here when the command names none: command -> {option:
    (method, its family's registry)}; methods the command tunes with --set are added."""
    from attention_xai.explain import ATTRIBUTIONS
    from attention_xai.explain.counterfactual import COUNTERFACTUALS

    attributions, counterfactuals = ("gradcam", ATTRIBUTIONS), ("revise", COUNTERFACTUALS)
    return {"explain": {"--methods": attributions}, "counterfactual": {"--methods": counterfactuals},
            "run": {"--methods": attributions, "--cf-methods": counterfactuals}}


def documented_commands() -> list[list[str]]:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    unique = dict.fromkeys(tuple(shlex.split(c)[3:]) for page in pages for c in command_lines(page))
    return sorted((list(argv) for argv in unique), key=lambda argv: ORDER.index(argv[0]))


def smoke_sized(argv: list[str], flags: set[str], tmp) -> list[str]:
    placeholders = {"path/to/model.keras": str(tmp / "models" / "quick_smoke" / "model.keras"),
                    "my_digits/": str(tmp / "my_digits")}
    argv = [placeholders.get(a, a) for a in argv]
    command, named = argv[0], [a for a in argv[1:] if not a.startswith("-")]
    if command in ("evaluate",) or (command == "report" and named):
        return argv + (["--reports-dir", str(tmp / "committed_reports")] if command == "report" else [])
    argv += ["--smoke"] if "--smoke" in flags and "--smoke" not in argv else []
    argv += ["--models-dir", str(tmp / "models"), "--reports-dir", str(tmp / "reports")] if "--models-dir" in flags \
        else []
    argv += ["--out", str(tmp / command)] if command in ("judges", "vae", "autoencoders") else []
    if command in cheap_methods() and "--methods" not in argv:
        given = {argv[i + 1].split(".")[0] for i, a in enumerate(argv) if a == "--set"}  # methods --set tunes
        for option, (cheap, family) in cheap_methods()[command].items():
            argv += [option, ",".join(dict.fromkeys([cheap, *sorted(given & set(family.names()))]))]
    return argv + (["--quiet"] if "--quiet" in flags else [])


@pytest.mark.slow
@pytest.mark.documented  # about 15 minutes on the AVX-512 machine: `make test-docs`, which CI runs after `make test`
def test_every_documented_command_runs_at_smoke_size(tmp_path, mnist, capsys):
    from PIL import Image

    from attention_xai.cli import build_parser, main

    (tmp_path / "my_digits").mkdir()
    for i, image in enumerate(mnist.x_test[:3]):
        Image.fromarray(image).save(tmp_path / "my_digits" / f"{i}.png")
    commands = documented_commands()
    assert len(commands) >= 25 and {c[0] for c in commands} == set(ORDER)
    subcommands = build_parser()._subparsers._group_actions[0].choices
    failed, seconds = [], {}
    for argv in commands:
        flags = {flag for action in subcommands[argv[0]]._actions for flag in action.option_strings}
        ran, started = smoke_sized(argv, flags, tmp_path), time.perf_counter()
        capsys.readouterr()
        if main(ran) != 0:
            failed.append(f"{' '.join(argv)}: {capsys.readouterr().err.strip().splitlines()[-1]}")
        seconds[" ".join(ran)] = time.perf_counter() - started
    with capsys.disabled():  # where the time goes, in the test log
        slowest = sorted(seconds.items(), key=lambda item: -item[1])
        print("\n" + "\n".join(f"{s:6.1f} s  {command}" for command, s in slowest))
    assert not failed, "\n".join(failed)
    assert (tmp_path / "models" / "quick_smoke" / "model.keras").is_file()
    assert (tmp_path / "committed_reports" / "quick" / "index.html").is_file()
    assert not (ROOT / "saved_models" / "quick_smoke").exists()  # nothing landed beside the committed models
