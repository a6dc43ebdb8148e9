"""Counterfactuals: methods behind one interface and one registry."""

from attention_xai.explain.counterfactual.base import (COUNTERFACTUALS, CounterfactualMethod, Counterfactuals,
                                                       ModelAccess)

# Importing a module registers its methods; COUNTERFACTUALS' `order` fixes the listing order.
from attention_xai.explain.counterfactual import revise  # noqa: F401, E402, I001
from attention_xai.explain.counterfactual import growing_spheres  # noqa: F401, E402, I001
from attention_xai.explain.counterfactual import gradient  # noqa: F401, E402, I001  (gradient, seed_loop)
from attention_xai.explain.counterfactual import prototype  # noqa: F401, E402, I001
from attention_xai.explain.counterfactual import alibi  # noqa: F401, E402, I001  (alibi_proto, alibi_wachter)
from attention_xai.explain.counterfactual import cfrl  # noqa: F401, E402, I001  (alibi_cfrl)


def default_methods() -> list[str]:
    """The methods `counterfactual` and `run` use unless told otherwise: every registered
    one but the slow references (`slow = True`: Alibi's, seconds to minutes per digit here,
    and CounterfactualRL, which must be trained first)."""
    return [name for name in COUNTERFACTUALS.names() if not COUNTERFACTUALS.get(name).slow]


__all__ = ["COUNTERFACTUALS", "CounterfactualMethod", "Counterfactuals", "ModelAccess", "default_methods"]
