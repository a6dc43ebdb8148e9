"""Attribution methods, one module per family; importing this fills the registry in the
order the methods are listed everywhere (CLI, figures, tables)."""

# Import order is registry order.
from attention_xai.explain.attribution import cam  # noqa: F401, I001  gradcam, scorecam, smoothgrad
from attention_xai.explain.attribution import lime  # noqa: F401
from attention_xai.explain.attribution import shap  # noqa: F401
from attention_xai.explain.attribution import integrated_gradients  # noqa: F401
from attention_xai.explain.attribution import occlusion  # noqa: F401
from attention_xai.explain.attribution import attention  # noqa: F401
