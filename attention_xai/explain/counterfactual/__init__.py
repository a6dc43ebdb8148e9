"""Counterfactuals: methods behind one interface and one registry."""

import importlib
import pkgutil

from attention_xai.explain.counterfactual.base import (COUNTERFACTUALS, CounterfactualMethod, Counterfactuals,
                                                       ModelAccess)

# Importing a module registers its methods, so every module in this folder is imported: a new
# method is a new file with one registered class. COUNTERFACTUALS' `order` fixes the listing order.
for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    importlib.import_module(f"{__name__}.{_module}")


def default_methods() -> list[str]:
    """The methods `counterfactual` and `run` use unless told otherwise: every registered
    one but the slow references (`slow = True`: Alibi's, seconds to minutes per digit here,
    and CounterfactualRL, which must be trained first)."""
    return [name for name in COUNTERFACTUALS.names() if not COUNTERFACTUALS.get(name).slow]


__all__ = ["COUNTERFACTUALS", "CounterfactualMethod", "Counterfactuals", "ModelAccess", "default_methods"]
