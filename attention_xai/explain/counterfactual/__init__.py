"""Counterfactuals: methods behind one interface and one registry."""

from attention_xai.explain.counterfactual.base import COUNTERFACTUALS, CounterfactualMethod, Counterfactuals, ModelAccess
# Import order is registry order.
from attention_xai.explain.counterfactual import growing_spheres  # noqa: F401, E402, I001

__all__ = ["COUNTERFACTUALS", "CounterfactualMethod", "Counterfactuals", "ModelAccess"]
from attention_xai.explain.counterfactual import gradient  # noqa: F401, E402, I001
from attention_xai.explain.counterfactual import prototype  # noqa: F401, E402, I001
from attention_xai.explain.counterfactual import alibi  # noqa: F401, E402, I001
from attention_xai.explain.counterfactual import cfrl  # noqa: F401, E402, I001


def default_methods() -> list[str]:
    """The methods `counterfactual` and `run` use unless told otherwise: every registered
    one but the slow references (`slow = True`: Alibi's, minutes per digit here)."""
    return [name for name in COUNTERFACTUALS.names() if not COUNTERFACTUALS.get(name).slow]


__all__ += ["default_methods"]
