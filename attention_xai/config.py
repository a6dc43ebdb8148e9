"""Frozen dataclasses that describe an experiment.

An experiment file in `experiments/` returns an `ExperimentConfig`; `smoke()` shrinks any
config to seconds-sized runs for tests. Numeric ranges are checked on construction;
backbone and attention names are checked by `attention_xai.models.check_model_config`.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Mapping, Union

from attention_xai.errors import ConfigError

Trainable = Union[str, int]
"""`"all"`, `"head"` (backbone frozen) or N > 0 (only the last N backbone layers train)."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def check_trainable(trainable: Trainable) -> None:
    ok = trainable in ("all", "head") or (
        isinstance(trainable, int) and not isinstance(trainable, bool) and trainable > 0
    )
    _require(ok, f"trainable must be 'all', 'head' or a positive layer count, got {trainable!r}")


@dataclass(frozen=True)
class AugmentConfig:
    """Random digit distortions, applied inside the model and only while training.

    Attributes:
        rotation_degrees: maximum rotation either way.
        translation: maximum shift either way, as a fraction of the digit's side.
        elastic_alpha: elastic displacement scale in 28x28 pixels (Simard et al. 2003).
        elastic_sigma: smoothing of the displacement field, in 28x28 pixels.
        probability: chance that a training digit is distorted at all (the rest are seen
            as they are).
    Zero switches a distortion off.
    """

    rotation_degrees: float = 10.0
    translation: float = 0.1
    elastic_alpha: float = 34.0
    elastic_sigma: float = 4.0
    probability: float = 1.0

    def __post_init__(self):
        _require(0 <= self.rotation_degrees <= 180, "rotation_degrees must be in [0, 180]")
        _require(0 <= self.translation < 0.5, "translation must be in [0, 0.5)")
        _require(self.elastic_alpha >= 0, "elastic_alpha must be >= 0")
        _require(self.elastic_sigma > 0, "elastic_sigma must be > 0")
        _require(0 < self.probability <= 1, "probability must be in (0, 1]")


NO_AUGMENTATION = AugmentConfig(rotation_degrees=0.0, translation=0.0, elastic_alpha=0.0)


@dataclass(frozen=True)
class ModelConfig:
    """The digit-space classifier: preprocessing, backbone, attention and head.

    Attributes:
        backbone: a `keras.applications` name (e.g. "ResNet50") or "small_cnn".
        weights: None (from scratch), "imagenet", or a path to a weights file.
        image_size: side the 28x28 digits are resized to before the backbone.
        attention: attention module after the final feature map: none, se, cbam, pam, gc.
        attention_kwargs: constructor arguments of the attention module.
        attention_after: names of intermediate backbone layers that also get a module.
        backbone_kwargs: extra arguments of the backbone builder (e.g. {"alpha": 0.35}).
        head_dropout: dropout before the 10-way softmax (0 gives a plain linear head).
        augment: training-time distortions.
        bn_momentum: momentum of every BatchNormalization layer of the backbone; None keeps
            the backbone's own (keras.applications uses 0.999 for MobileNetV2 and
            EfficientNet, tuned for long fine-tuning runs from ImageNet statistics). From
            scratch, weights change fast and slow moving statistics lag them: MobileNetV2
            at 64x64 after two epochs of 3,000 digits predicted at chance in inference mode
            (11%) while training mode reached 93%, with 0.999 and with 0.99 alike; 0.9 gave
            71% in inference (the small CNN uses 0.9 for the same reason).
    """

    backbone: str = "small_cnn"
    weights: str | None = None
    image_size: int = 32
    attention: str = "cbam"
    attention_kwargs: Mapping[str, Any] = field(default_factory=dict)
    attention_after: tuple[str, ...] = ()
    backbone_kwargs: Mapping[str, Any] = field(default_factory=dict)
    bn_momentum: float | None = None
    head_dropout: float = 0.2
    augment: AugmentConfig = AugmentConfig()

    def __post_init__(self):
        _require(isinstance(self.image_size, int) and 28 <= self.image_size <= 1024,
                 f"image_size must be an integer in [28, 1024], got {self.image_size!r}")
        _require(0 <= self.head_dropout < 1, "head_dropout must be in [0, 1)")
        _require(self.bn_momentum is None or 0 <= self.bn_momentum < 1, "bn_momentum must be None or in [0, 1)")
        _require(isinstance(self.attention_after, tuple), "attention_after must be a tuple of layer names")


ANNEALS = ("constant", "cosine")


@dataclass(frozen=True)
class Phase:
    """A stretch of training with one optimizer setting.

    Attributes:
        epochs: epochs in this phase.
        learning_rate: Adam's starting rate (ReduceLROnPlateau lowers it).
        trainable: which layers learn (see `Trainable`); attention and head always do.
        name: label in the history and logs.
        anneal: "constant" keeps the rate until ReduceLROnPlateau lowers it; "cosine" also
            follows half a cosine from `learning_rate` towards zero over the phase's checks
            (set at the start of each check), with ReduceLROnPlateau's cuts on top.
    """

    epochs: int
    learning_rate: float = 1e-3
    trainable: Trainable = "all"
    name: str = "train"
    anneal: str = "constant"

    def __post_init__(self):
        _require(isinstance(self.epochs, int) and self.epochs > 0,
                 f"phase epochs must be a positive integer, got {self.epochs!r}")
        _require(self.learning_rate > 0, f"learning_rate must be > 0, got {self.learning_rate!r}")
        _require(self.anneal in ANNEALS, f"anneal must be one of {', '.join(ANNEALS)}, got {self.anneal!r}")
        check_trainable(self.trainable)


PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


@dataclass(frozen=True)
class TrainConfig:
    """How to fit the classifier.

    Attributes:
        phases: consecutive phases (e.g. frozen backbone, then fine-tuning).
        batch_size: digits per step.
        validation_size: digits held out of the training split (seeded) for validation.
        train_subset: train on a seeded, class-stratified draw of this many of the training
            digits left after validation (the seed study's 20% subset is 12,000); None: all.
        train_limit / test_limit: use only the first N digits (None: all); for smoke runs.
        precision: "float32", or "mixed_bfloat16" / "mixed_float16" (float16 compute and
            float32 weights; Keras scales the loss for float16) for GPUs that have them. The
            exported model is float32 either way.
        distribute: data-parallel training on every visible device (JAX: Keras'
            DataParallel; TensorFlow: MirroredStrategy); `batch_size` is the global batch
            and must divide evenly among them. It does not change what is trained, so it
            is not part of an experiment's identity (see `protocol`).
        early_stopping_patience: epochs without val_loss improvement before a phase ends.
        plateau_patience / plateau_factor / min_learning_rate: ReduceLROnPlateau on val_loss.
        permute_labels: train on the training split's labels randomly permuted (seeded; the
            validation digits too, the test digits keep theirs): Adebayo et al.'s data
            randomisation test compares a method's maps of this model with the real one's.
        checks_per_epoch: how often per pass over the training digits the run validates,
            lets ReduceLROnPlateau and early stopping act, and writes its checkpoint. With
            k > 1 each Keras epoch is 1/k of a pass (a seeded shuffle of the pass cut into
            k equal parts; the N mod k digits left over sit that pass out), so a schedule
            of a few passes can still lower its learning rate several times. Phase.epochs
            counts passes; the patiences and the history count checks.
    """

    phases: tuple[Phase, ...] = (Phase(epochs=5),)
    batch_size: int = 128
    validation_size: int = 5000
    train_subset: int | None = None
    train_limit: int | None = None
    test_limit: int | None = None
    precision: str = "float32"
    distribute: bool = False
    early_stopping_patience: int = 4
    plateau_patience: int = 1
    plateau_factor: float = 0.3
    min_learning_rate: float = 1e-6
    checks_per_epoch: int = 1
    permute_labels: bool = False

    def __post_init__(self):
        _require(len(self.phases) > 0 and all(isinstance(p, Phase) for p in self.phases),
                 "phases must be a non-empty tuple of Phase")
        _require(isinstance(self.batch_size, int) and self.batch_size > 0, "batch_size must be a positive integer")
        _require(isinstance(self.validation_size, int) and self.validation_size > 0,
                 "validation_size must be a positive integer")
        for limit in ("train_subset", "train_limit", "test_limit"):
            value = getattr(self, limit)
            _require(value is None or (isinstance(value, int) and value > 0),
                     f"{limit} must be None or a positive integer")
        _require(self.precision in PRECISIONS,
                 f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        _require(isinstance(self.distribute, bool), "distribute must be true or false")
        _require(self.early_stopping_patience >= 1, "early_stopping_patience must be >= 1")
        _require(self.plateau_patience >= 1, "plateau_patience must be >= 1")
        _require(0 < self.plateau_factor < 1, "plateau_factor must be in (0, 1)")
        _require(isinstance(self.checks_per_epoch, int) and self.checks_per_epoch >= 1,
                 "checks_per_epoch must be a positive integer")
        _require(isinstance(self.permute_labels, bool), "permute_labels must be true or false")

    @property
    def epochs(self) -> int:
        return sum(p.epochs for p in self.phases)


def smoke_train_limit(model: ModelConfig) -> int:
    """Training digits of a smoke run: 2,048 for the small CNN, enough to predict every class
    after one epoch, so that GOOD and BAD digits and every counterfactual target exist; 256 for
    a keras.applications backbone, which learns nothing in one epoch from scratch anyway (its
    smoke time is mostly building the graph)."""
    return 2048 if model.backbone == "small_cnn" else 256


@dataclass(frozen=True)
class ExperimentConfig:
    """One experiment: a model, how to train it, and the seed that makes it repeat.

    Attributes:
        method_params: this experiment's own defaults for the explain and counterfactual
            methods, as {method: {parameter: value}}, for example a smaller search budget
            on a quick model; `--set METHOD.KEY=VALUE` overrides them, and methods that do
            not run ignore theirs. They change no trained model, so resuming, `--reuse` and
            the comparison page's protocols disregard them.
    """

    name: str = "experiment"
    model: ModelConfig = ModelConfig()
    training: TrainConfig = TrainConfig()
    seed: int = 0
    description: str = ""
    method_params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self):
        _require(isinstance(self.name, str) and self.name.replace("_", "").replace("-", "").isalnum(),
                 f"experiment name must be letters, digits, '_' or '-', got {self.name!r}")
        _require(isinstance(self.seed, int), "seed must be an integer")
        _require(isinstance(self.method_params, Mapping)
                 and all(isinstance(k, str) and isinstance(v, Mapping) for k, v in self.method_params.items()),
                 "method_params must map method names to {parameter: value} dicts")

    def smoke(self) -> "ExperimentConfig":
        """The same experiment at test size: 32x32 inputs, one epoch a phase on
        `smoke_train_limit` digits, and the methods' own smoke budgets instead of the
        experiment's parameters."""
        training = dataclasses.replace(
            self.training,
            phases=tuple(dataclasses.replace(p, epochs=1) for p in self.training.phases),
            batch_size=32,
            validation_size=64,
            train_limit=smoke_train_limit(self.model),
            test_limit=128,
        )
        model = dataclasses.replace(self.model, image_size=min(self.model.image_size, 32))
        return dataclasses.replace(self, name=f"{self.name}_smoke", model=model, training=training, method_params={})

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples become lists)."""
        return json.loads(json.dumps(dataclasses.asdict(self), default=dict))

    @staticmethod
    def normalized(data: Mapping[str, Any]) -> dict[str, Any]:
        """A recorded config dict with the fields it predates at their defaults, so records
        written before a field existed compare equal to configs made now."""
        return ExperimentConfig.from_dict(data).to_dict()

    @staticmethod
    def trained(data: Mapping[str, Any]) -> dict[str, Any]:
        """A recorded config, `normalized`, without what does not change the model it trains:
        whether it ran data-parallel, and the stages' method parameters."""
        config = ExperimentConfig.normalized(data)
        config["training"].pop("distribute")
        config.pop("method_params")
        return config

    @staticmethod
    def protocol(data: Mapping[str, Any]) -> dict[str, Any]:
        """What a recorded config trains (`trained`), without the fields that do not change
        the model a seed gives either: name, seed and description."""
        return {k: v for k, v in ExperimentConfig.trained(data).items() if k not in ("name", "seed", "description")}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ExperimentConfig":
        """Inverse of `to_dict`; ConfigError for unknown or ill-typed fields."""
        try:
            model = dict(data["model"])
            model["augment"] = AugmentConfig(**model.get("augment", {}))
            model["attention_after"] = tuple(model.get("attention_after", ()))
            training = dict(data["training"])
            training["phases"] = tuple(Phase(**p) for p in training["phases"])
            rest = {k: v for k, v in data.items() if k not in ("model", "training")}
            return cls(model=ModelConfig(**model), training=TrainConfig(**training), **rest)
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"not an experiment config: {exc}") from None
