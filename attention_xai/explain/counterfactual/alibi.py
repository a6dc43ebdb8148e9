"""Alibi's counterfactual explainers as references, behind our interface.

Alibi's `Counterfactual` (Wachter et al.) and `CounterfactualProto` are TF1 graph code:
on Keras 3 their constructors fail (`tf.compat.v1.keras.backend.get_session` is gone).
They run here black-box (numerical gradients), each built in a private `tf.Graph` with
its own `tf.compat.v1.Session`, while the Keras 3 model is called eagerly in a worker
thread (a thread's default graph is its own, so the model is never traced into the TF1
graph). All of that process-global state stays in this module, inside `_tf1_explainer`.
Alibi is under the Business Source License 1.1.

References: Klaise, Van Looveren, Vacanti and Coca, "Alibi Explain: Algorithms for
Explaining Machine Learning Models", JMLR 2021; Wachter et al. 2017; Van Looveren and
Klaise 2021.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from attention_xai.errors import ConfigError, first_line
from attention_xai.explain.counterfactual.base import COUNTERFACTUALS, CounterfactualMethod

DIGIT = (28, 28, 1)


@contextlib.contextmanager
def _tf1_explainer():
    """Yields (graph, session, build) where `build(cls, **kwargs)` constructs a TF1 alibi
    explainer inside the private graph; the graph, session and the patched
    `get_session` never outlive the block."""
    import tensorflow as tf

    graph = tf.Graph()
    session = tf.compat.v1.Session(graph=graph)
    backend = tf.compat.v1.keras.backend

    def build(cls, **kwargs):
        had = hasattr(backend, "get_session")
        saved = getattr(backend, "get_session", None)
        backend.get_session = lambda *args, **kw: session  # alibi calls it even when sess= is given
        try:
            with graph.as_default():
                return cls(sess=session, **kwargs)
        finally:
            if had:
                backend.get_session = saved
            else:
                del backend.get_session

    try:
        with graph.as_default():
            yield graph, session, build
    finally:
        session.close()


class _AlibiTf1(CounterfactualMethod):
    """Shared driver: one digit at a time (Alibi explains single instances), the model
    called eagerly from a worker thread, every call counted."""

    kind = "black-box"
    per_digit = True
    slow = True

    def make(self, build, predict, target: int):
        """The explainer for one digit whose counterfactual should reach `target`."""
        raise NotImplementedError

    def run(self, explainer, digit, target):
        """The counterfactual (28, 28, 1) Alibi found for `digit`, or None."""
        raise NotImplementedError

    def search(self, access, digits, targets, rng):
        out = np.full_like(digits, np.nan)
        seconds = np.zeros(len(digits))
        alibi_log = logging.getLogger("alibi")
        level = alibi_log.level
        alibi_log.setLevel(logging.CRITICAL)  # "No counterfactual found!" is our valid=False; restored below
        try:
            with ThreadPoolExecutor(max_workers=1) as worker:
                for i in range(len(digits)):
                    def predict(x, i=i):
                        x = np.asarray(x, np.float32).reshape(-1, *DIGIT)
                        return worker.submit(access.predict, x, np.full(len(x), i)).result()

                    started = time.perf_counter()
                    with _tf1_explainer() as (_, _, build):
                        explainer = self.make(build, predict, int(targets[i]))
                        found = self.run(explainer, digits[i], int(targets[i]))
                    seconds[i] = time.perf_counter() - started
                    if found is not None:
                        out[i] = np.clip(np.asarray(found, np.float32).reshape(DIGIT), 0.0, 1.0)
        finally:
            alibi_log.setLevel(level)
        return out, seconds


@functools.lru_cache(maxsize=2)
def _flat_training_digits(size: int, seed: int) -> np.ndarray:
    from attention_xai.data import load_mnist

    data = load_mnist()
    rows = np.sort(np.random.default_rng(seed).choice(len(data.x_train), size, replace=False))
    return (data.x_train[rows].reshape(size, -1) / 255.0).astype(np.float32)


@COUNTERFACTUALS.register("alibi_proto")
class AlibiProto(_AlibiTf1):
    """Alibi's `CounterfactualProto`, black-box, with k-d tree prototypes built from
    `train_size` training digits (flat, 784 features: scikit-learn's k-d tree refuses
    4-D inputs). Alibi's defaults are max_iterations 1,000 and c_steps 10; each step costs
    about 2 x 784 predictions, so the defaults here are an explicit, smaller budget.
    """

    name = "alibi_proto"
    defaults = {"max_iterations": 50, "c_steps": 2, "c_init": 10.0, "kappa": 0.0, "beta": 0.1, "theta": 10.0,
                "k": 5, "learning_rate": 0.01, "train_size": 2000}
    smoke = {"max_iterations": 10, "c_steps": 1, "learning_rate": 0.05, "train_size": 1000}

    def make(self, build, predict, target):
        from alibi.explainers import CounterfactualProto

        p = self.params
        explainer = build(CounterfactualProto, predict=predict, shape=(1, 784), kappa=p["kappa"], beta=p["beta"],
                          feature_range=(0.0, 1.0), theta=p["theta"], use_kdtree=True,
                          learning_rate_init=p["learning_rate"], max_iterations=p["max_iterations"],
                          c_init=p["c_init"], c_steps=p["c_steps"])
        try:
            explainer.fit(_flat_training_digits(p["train_size"], self.seed))
        except ValueError as exc:  # scikit-learn: a class the model never predicts has no k-d tree
            raise ConfigError(f"alibi_proto: cannot build class prototypes from {p['train_size']} training "
                              f"digits ({first_line(exc)}); raise alibi_proto.train_size") from None
        return explainer

    def run(self, explainer, digit, target):
        explanation = explainer.explain(digit.reshape(1, 784), target_class=[target], k=self.params["k"])
        return None if explanation.cf is None else explanation.cf["X"]


@COUNTERFACTUALS.register("alibi_wachter")
class AlibiWachter(_AlibiTf1):
    """Alibi's `Counterfactual` (Wachter et al.), black-box. It stops when the target
    probability is within `tol` of `target_proba`; 0.6 +- 0.1 keeps the target the most
    likely class (Alibi's default, 1.0 +- 0.05, asks for 95% confidence)."""

    name = "alibi_wachter"
    defaults = {"max_iter": 50, "max_lam_steps": 2, "lam_init": 0.1, "target_proba": 0.6, "tol": 0.1,
                "learning_rate": 0.1, "early_stop": 50, "distance": "l1"}
    smoke = {"max_iter": 20}

    def make(self, build, predict, target):
        from alibi.explainers import Counterfactual

        p = self.params
        return build(Counterfactual, predict_fn=predict, shape=(1, *DIGIT), distance_fn=p["distance"],
                     target_proba=p["target_proba"], target_class=target, max_iter=p["max_iter"],
                     early_stop=p["early_stop"], lam_init=p["lam_init"], max_lam_steps=p["max_lam_steps"],
                     tol=p["tol"], learning_rate_init=p["learning_rate"], feature_range=(0.0, 1.0))

    def run(self, explainer, digit, target):
        explanation = explainer.explain(digit[None])
        return None if explanation.cf is None else explanation.cf["X"]
