"""What a counterfactual method needs besides the classifier, and where it is found.

A method declares `needs = {parameter: kind}`: the parameter that names the folder, and
the kind of trained helper that lives there. The stage (`attention_xai.pipeline`) fills
every such parameter the user left empty from one `Resources` and checks that the helper
is there before any search starts; no caller names a method to do so.

    kind          where                           trained by
    autoencoders  the shared folder               python -m attention_xai autoencoders
    vae           the shared folder               python -m attention_xai vae
    siblings      <model folder>/siblings         python -m attention_xai siblings <experiment>
    policy        <model folder>/cfrl             python -m attention_xai cfrl <experiment>

The judges are not a method's need: the stage hands them to the measurement only.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable

from attention_xai.errors import ArtifactError, ConfigError
from attention_xai.models.autoencoder import AUTOENCODER_DIR
from attention_xai.models.judges import JUDGE_DIR
from attention_xai.models.vae import VAE_DIR


@dataclasses.dataclass(frozen=True)
class Resources:
    """Where the trained helpers of the counterfactual stage are.

    Attributes:
        autoencoders, vae, judges: the shared folders (`saved_models/...` by default).
        model_dir: the explained classifier's own folder, which keeps its seed siblings and
            its CounterfactualRL policy; None for a model that has no folder (a model built
            in a notebook): the methods that need those then cannot run.
    """

    autoencoders: Path = AUTOENCODER_DIR
    vae: Path = VAE_DIR
    judges: Path = JUDGE_DIR
    model_dir: Path | None = None


@dataclasses.dataclass(frozen=True)
class Need:
    """One kind of trained helper.

    Attributes:
        kind: the name methods declare.
        label: what it is, in messages.
        locate: its folder under `Resources` (None when it has none).
        check: raises ArtifactError when the folder does not hold a usable one.
        command: the command that trains it.
        per_model: it belongs to one classifier; a default method that needs it is left out
            (with a log line naming `command`) rather than failing the stage.
    """

    kind: str
    label: str
    locate: Callable[[Resources], Path | None]
    check: Callable[[Path], object]
    command: str
    per_model: bool = False


def _check_autoencoders(path):
    from attention_xai.models.autoencoder import load_autoencoders

    return load_autoencoders(path)


def _check_vae(path):
    from attention_xai.models.vae import load_vae

    return load_vae(path)


def _check_siblings(path):
    from attention_xai.models.siblings import sibling_paths

    return sibling_paths(path)


def _check_policy(path):
    from attention_xai.explain.counterfactual.cfrl import RECORD

    if not (Path(path) / RECORD).is_file():
        raise ArtifactError(f"no trained CounterfactualRL policy in {path}; train one with "
                            f"`python -m attention_xai cfrl <experiment> --steps N`")
    return path


def _in_model_dir(folder: str) -> Callable[[Resources], Path | None]:
    return lambda resources: None if resources.model_dir is None else Path(resources.model_dir) / folder


NEEDS: dict[str, Need] = {
    "autoencoders": Need("autoencoders", "digit autoencoders", lambda r: Path(r.autoencoders), _check_autoencoders,
                         "python -m attention_xai autoencoders"),
    "vae": Need("vae", "digit VAE", lambda r: Path(r.vae), _check_vae, "python -m attention_xai vae"),
    "siblings": Need("siblings", "seed siblings", _in_model_dir("siblings"), _check_siblings,
                     "python -m attention_xai siblings <experiment>", per_model=True),
    "policy": Need("policy", "CounterfactualRL policy", _in_model_dir("cfrl"), _check_policy,
                   "python -m attention_xai cfrl <experiment> --steps N", per_model=True),
}


def fill_needs(method_class, params: dict, resources: Resources) -> dict:
    """`params` with every needed folder the caller left out taken from `resources`.

    Raises:
        ConfigError: a per-model helper is needed but the model has no folder.
    """
    out = dict(params)
    for parameter, kind in method_class.needs.items():
        if out.get(parameter):
            continue
        where = NEEDS[kind].locate(resources)
        if where is None:
            raise ConfigError(f"{method_class.name} needs the model's {NEEDS[kind].label} ({NEEDS[kind].command}), "
                              f"and this model "
                              f"has no folder: set {method_class.name}.{parameter} or give the model as a file")
        out[parameter] = str(where)
    return out


def missing_need(method_class, resources: Resources) -> str | None:
    """Why a per-model helper that `method_class` needs is not there (None when all are):
    the default method list leaves such a method out instead of failing."""
    for kind in method_class.needs.values():
        need = NEEDS[kind]
        if not need.per_model:
            continue
        where = need.locate(resources)
        if where is None or not Path(where).exists():
            command = need.command.replace("<experiment>", Path(resources.model_dir).name if where else "<experiment>")
            return f"no {need.label} in {where or '(the model has no folder)'} (`{command}` trains them)"
    return None


def check_needs(methods) -> None:
    """Loads (once per folder) every helper the methods need, so that a missing or
    unusable one fails before the first search. ArtifactError naming the folder."""
    checked = set()
    for method in methods:
        for parameter, kind in type(method).needs.items():
            key = (kind, method.params[parameter])
            if key not in checked:
                NEEDS[kind].check(method.params[parameter])
                checked.add(key)
