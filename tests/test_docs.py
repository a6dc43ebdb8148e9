"""The snippets of the README and docs/: the Python ones run as written (the README's block on
the committed quick model, then the methods and counterfactuals pages' blocks in the same
namespace, which use its `model` and `digits`, with `targets` the runner-up classes); the
command lines parse and name real experiments here, in seconds, and run at smoke size in
test_doc_commands.py (`make test-docs`)."""

import re
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT



def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)


@pytest.mark.slow  # loads the committed models and builds ResNet50: `make test`
def test_every_python_snippet_runs_as_written(monkeypatch):
    monkeypatch.chdir(ROOT)  # the snippets name committed files by their repository paths
    pages = [ROOT / "README.md", ROOT / "docs" / "methods.md", ROOT / "docs" / "counterfactuals.md"]
    blocks = {page.name: python_blocks(page) for page in pages}
    assert [len(b) for b in blocks.values()] == [1, 1, 1], "a snippet was added or removed: run it here too"
    namespace: dict = {}
    exec(blocks["README.md"][0], namespace)
    assert namespace["probabilities"].shape == (8, 10) and namespace["resnet"].name
    assert namespace["maps"]["attention"]["spatial"].shape == (8, 8, 8)
    assert namespace["config"].name == "quick-resnet50-gc"
    assert [e.method for e in namespace["analysis"].explanations] == ["gradcam", "occlusion"]
    assert len(namespace["analysis"].images) == 4 and namespace["searched"].results[0].valid.all()
    assert {row["digits"] for row in namespace["analysis"].faithfulness} == {100}  # "4 digits shown, 100 in the tables"
    namespace["targets"] = np.argsort(-namespace["probabilities"], axis=1)[:, 1]
    exec(blocks["methods.md"][0], namespace)
    assert namespace["explanation"].maps.shape == (8, 28, 28)
    exec(blocks["counterfactuals.md"][0], namespace)
    assert namespace["result"].valid.any()


def command_lines(path: Path) -> list[str]:
    """The `python -m attention_xai ...` lines of a page's bash blocks (continuations joined,
    comments dropped); `$ ` lines are shown errors, not commands to run."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", path.read_text(), flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            if line.startswith("python -m attention_xai "):
                commands.append(re.sub(r"\s+#.*$", "", line))
    return commands


def test_every_documented_command_parses_and_names_a_real_experiment():
    """Each command of the README and docs/ parses with today's options and names an
    experiment that exists (the edit loop's check; test_doc_commands.py runs them)."""
    import shlex

    from attention_xai.cli import build_parser
    from attention_xai.experiment import available_experiments

    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    commands = [c for page in pages for c in command_lines(page)]
    assert len(commands) >= 25
    parser, experiments = build_parser(), set(available_experiments())
    for command in commands:
        argv = shlex.split(command)[3:]
        args = parser.parse_args(argv)  # an unknown option or a bad value exits here
        name = getattr(args, "experiment", None)
        assert name is None or name in experiments or name.endswith(".py"), command
