"""One method framework: both families share the base (name, declared typed parameters,
--set parsing, seed and batch size, the parameters a result records, one cost vocabulary).
Every registered method is checked, so a new one is checked the moment it registers."""

import dataclasses

import pytest

from attention_xai.errors import ConfigError
from attention_xai.explain import ATTRIBUTIONS
from attention_xai.explain.base import Explanation
from attention_xai.explain.counterfactual import COUNTERFACTUALS
from attention_xai.explain.counterfactual.base import Counterfactuals
from attention_xai.explain.method import Method

EVERY = [*((ATTRIBUTIONS, n) for n in ATTRIBUTIONS.names()), *((COUNTERFACTUALS, n) for n in COUNTERFACTUALS.names())]


@pytest.mark.parametrize("registry, name", EVERY, ids=[n for _, n in EVERY])
def test_every_method_declares_typed_parameters_and_records_them(registry, name):
    cls = registry.get(name)
    assert issubclass(cls, Method) and cls.name == name and cls.family in ("attribution", "counterfactual")
    method = cls(seed=3, batch_size=7)
    assert method.params == cls.parameters() and method.seed == 3 and method.batch_size == 7
    assert method.recorded() == {**cls.parameters(), "seed": 3, "batch_size": 7}
    for key, default in cls.parameters().items():
        if type(default) in (int, float, bool):  # given as text (--set), read as the declared type
            read = cls.from_text({key: str(default).lower()}).params[key]
            assert read == default and type(read) is type(default), key
            assert getattr(method, key) == default  # parameters read as attributes
    with pytest.raises(ConfigError, match=f"unknown parameter 'nope' for {name}; valid: "):
        cls(nope=1)
    with pytest.raises(ConfigError, match="batch_size must be a positive integer"):
        cls(batch_size=0)
    for parameter, kind in cls.needs.items():  # a declared need names a declared parameter
        assert parameter in cls.parameters() and kind in ("autoencoders", "vae", "siblings", "policy")


def test_both_families_count_cost_in_the_same_words():
    words = {"forward_passes", "gradient_passes", "seconds"}
    assert words <= {f.name for f in dataclasses.fields(Explanation)}
    assert words <= {f.name for f in dataclasses.fields(Counterfactuals)}


def test_a_new_method_is_one_class_the_base_does_the_rest():
    """A subclass declares its parameters and gets checking, text parsing and recording."""

    class Toy(Method):
        name = "toy"
        defaults = {"steps": 10, "scale": 0.5}

        def check(self):
            if self.steps > 100:
                raise ConfigError("toy: at most 100 steps")

    class Toyer(Toy):
        name = "toyer"
        defaults = {"scale": 2.0, "mode": "fast"}  # re-defaults its parent's, adds its own

    assert Toyer.parameters() == {"steps": 10, "scale": 2.0, "mode": "fast"}
    toy = Toyer.from_text({"steps": "20"}, seed=1)
    assert toy.steps == 20 and toy.recorded(extra=1) == {"steps": 20, "scale": 2.0, "mode": "fast", "seed": 1,
                                                          "batch_size": 64, "extra": 1}
    with pytest.raises(ConfigError, match="toyer.steps must be int, got 'many'"):
        Toyer.from_text({"steps": "many"})
    with pytest.raises(ConfigError, match="at most 100 steps"):
        Toyer(steps=101)
