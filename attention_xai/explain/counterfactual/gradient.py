"""White-box counterfactuals by gradient descent on the digit.

References: Wachter, Mittelstadt and Russell, "Counterfactual Explanations without Opening
the Black Box", Harvard JOLT 2017; Chen et al., "EAD: Elastic-Net Attacks to Deep Neural
Networks", AAAI 2018 (the elastic-net distance and its shrinkage step).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from attention_xai.explain.base import log_scores
from attention_xai.explain.counterfactual.base import COUNTERFACTUALS, CounterfactualMethod

BIG = 1e10


class ElasticNetSearch(CounterfactualMethod):
    """The shared search of `gradient` and `prototype`: projected descent on the change delta of

        c * max(max_{j != t} s_j - s_t + kappa, 0) + beta * |delta|_1 + |delta|_2^2 + extra(x'),

    with s the class scores (logits), x' = clip(x + delta, 0, 1).

    * Steps: Adam's momentum with one second moment per digit (not per pixel), so each step
      follows the gradient's direction (per-pixel normalisation turns it into its sign and
      lands about 12% beyond the closest boundary point); the L1 term by soft-thresholding
      after each step (exact zeros: sparse changes); then the projection onto [0, 1].
    * A digit's step is halved each time its iterate falls back out of the target class,
      so it settles onto the boundary instead of bouncing across it.
    * A per-digit bisection over c: raised tenfold while no valid x' is found, halved
      towards the smallest c that works; each round starts from the closest valid x' so far.
    * A digit stops a round after `patience` valid points none closer than its best;
      digits that are done leave the batch. The answer is the closest valid x' seen
      (distance beta * L1 + L2^2).
    """

    kind = "white-box"
    defaults = {"c_init": 10.0, "c_steps": 3, "max_iter": 300, "learning_rate": 0.01, "beta": 0.5, "kappa": 0.1,
                "patience": 30}
    smoke = {"max_iter": 100, "c_steps": 2}

    def extra_loss(self, x_cf, rows):
        """Per-row extra terms (a tensor of shape (B,)), for subclasses; None for none."""
        return None

    def prepare(self, access, digits, targets):
        """Called once before the search (subclasses load what `extra_loss` needs)."""

    def search(self, access, digits, targets, rng):
        p = self.params
        n = len(digits)
        self.prepare(access, digits, targets)
        scores = log_scores(access.model)
        step = self._compiled_step(scores)
        x = digits.reshape(n, 28, 28, 1).astype(np.float32)
        best = np.full_like(x, np.nan)
        best_distance = np.full(n, np.inf)
        c = np.full(n, p["c_init"], np.float64)
        lower, upper = np.zeros(n), np.full(n, BIG)
        for _ in range(p["c_steps"]):
            found = self._round(access, step, x, targets, c, best, best_distance)
            upper = np.where(found, np.minimum(upper, c), upper)
            lower = np.where(found, lower, np.maximum(lower, c))
            c = np.where(upper < BIG, (lower + upper) / 2, c * 10)
        return best, None

    def _compiled_step(self, scores):
        kappa = float(self.params["kappa"])

        @tf.function(reduce_retracing=True)
        def step(delta, x, onehot, c, rows):
            with tf.GradientTape() as tape:
                tape.watch(delta)
                x_cf = x + delta
                s = scores(x_cf)
                target = tf.reduce_sum(s * onehot, axis=1)
                other = tf.reduce_max(s - BIG * onehot, axis=1)
                hinge = tf.nn.relu(other - target + kappa)
                loss = c * hinge + tf.reduce_sum(tf.square(delta), axis=(1, 2, 3))
                extra = self.extra_loss(x_cf, rows)
                if extra is not None:
                    loss = loss + extra
                total = tf.reduce_sum(loss)
            return tf.argmax(s, axis=1), tape.gradient(total, delta)

        return step

    def _round(self, access, step, x, targets, c, best, best_distance):
        """One round of at most max_iter steps at fixed c; updates best/best_distance in
        place; returns which digits found a valid x' in this round."""
        p = self.params
        n = len(x)
        lr, beta = p["learning_rate"], p["beta"]
        # Each round starts from the closest valid point found so far (from the digit itself before any).
        delta = np.where(np.isfinite(best), best - x, 0.0).astype(np.float32)
        m, v = np.zeros_like(x), np.zeros((n, 1, 1, 1), np.float32)
        onehot = np.eye(10, dtype=np.float32)[targets]
        found = np.zeros(n, bool)
        stale = np.zeros(n, np.int64)
        was_valid = np.zeros(n, bool)
        rate = np.full((n, 1, 1, 1), lr, np.float32)
        active = np.arange(n)
        for t in range(1, p["max_iter"] + 1):
            if not len(active):
                break
            a = active
            classes, grad = step(tf.constant(delta[a]), tf.constant(x[a]), tf.constant(onehot[a]),
                                 tf.constant(c[a], tf.float32), tf.constant(a, tf.int32))
            access.count_gradients(a)
            classes, grad = classes.numpy(), grad.numpy()
            valid = classes == targets[a]
            # The point just evaluated: keep it when it is valid and closer than the best so far.
            distance = beta * np.abs(delta[a]).sum(axis=(1, 2, 3)) + np.square(delta[a]).sum(axis=(1, 2, 3))
            better = valid & (distance < best_distance[a] - 1e-12)
            won = a[better]
            best[won], best_distance[won] = x[won] + delta[won], distance[better]
            found[a[valid]] = True
            # Patience counts valid points that are no closer; invalid steps do not count.
            stale[a] = np.where(better, 0, stale[a] + valid)
            # Crossing back out of the target class means the steps are too long for the
            # boundary: halve this digit's step (it then settles onto the boundary).
            rate[a[was_valid[a] & ~valid]] *= 0.5
            was_valid[a] = valid
            # Adam-style momentum with one second moment per digit (so each step keeps the
            # gradient's direction), then L1 shrinkage, then projection onto [0, 1].
            m[a] = 0.9 * m[a] + 0.1 * grad
            v[a] = 0.999 * v[a] + 0.001 * np.mean(grad * grad, axis=(1, 2, 3), keepdims=True)
            update = rate[a] * (m[a] / (1 - 0.9 ** t)) / (np.sqrt(v[a] / (1 - 0.999 ** t)) + 1e-12)
            d = delta[a] - update
            d = np.sign(d) * np.maximum(np.abs(d) - rate[a] * beta, 0.0)
            delta[a] = np.clip(x[a] + d, 0.0, 1.0) - x[a]
            active = a[~(found[a] & (stale[a] >= p["patience"]))]
        return found


@COUNTERFACTUALS.register("gradient")
class Gradient(ElasticNetSearch):
    """Wachter et al.'s counterfactual with an elastic-net distance, batched over digits.

    Parameters: c_init (first weight of the class loss), c_steps (rounds of the search over
    c), max_iter (steps per round), learning_rate (Adam), beta (L1 weight), kappa (margin
    of the target's score over every other class, in log-probability units), patience
    (steps without a closer valid point before a digit stops its round).
    """

    name = "gradient"


@COUNTERFACTUALS.register("seed_loop")
class SeedLoop(CounterfactualMethod):
    """The original study's procedure, kept as the benchmark's reference: one digit at a
    time, Adam (learning rate 0.1) on delta, loss = cross-entropy(target) + 0.01 *
    |delta|_2^2 with x' = clip(x + delta, 0, 1), at most 300 steps.

    Parameters: learning_rate, weight (of |delta|_2^2), max_iter, stop_when_valid (True:
    the first x' the model puts in the target class is the answer; False: all max_iter
    steps run and the last x' is the answer if it is valid).
    """

    name = "seed_loop"
    kind = "white-box"
    per_digit = True
    defaults = {"learning_rate": 0.1, "weight": 0.01, "max_iter": 300, "stop_when_valid": True}
    smoke = {"max_iter": 100}

    def search(self, access, digits, targets, rng):
        import time

        import keras

        p = self.params
        model = access.model
        out = np.full_like(digits, np.nan)
        seconds = np.zeros(len(digits))
        delta = tf.Variable(tf.zeros((1, *digits.shape[1:]), tf.float32))
        weight = float(p["weight"])

        # The study's step, compiled once (its eager loop spent most of its time in Python).
        @tf.function(reduce_retracing=True)
        def step(x, target):
            with tf.GradientTape() as tape:
                x_cf = tf.clip_by_value(x + delta, 0.0, 1.0)
                probabilities = model(x_cf, training=False)
                loss = keras.losses.sparse_categorical_crossentropy(target, probabilities)[0] \
                    + weight * tf.reduce_sum(tf.square(delta))
            return x_cf, probabilities, tape.gradient(loss, delta)

        for i in range(len(digits)):
            started = time.perf_counter()
            x = tf.constant(digits[i:i + 1])
            delta.assign(tf.zeros_like(x))
            optimizer = keras.optimizers.Adam(learning_rate=p["learning_rate"])
            target = tf.constant([int(targets[i])])
            for _ in range(p["max_iter"]):
                x_cf, probabilities, gradient = step(x, target)
                access.count_gradients(np.array([i]))
                if p["stop_when_valid"] and int(tf.argmax(probabilities[0])) == targets[i]:
                    out[i] = x_cf.numpy()[0]
                    break
                optimizer.apply_gradients([(gradient, delta)])
            else:
                last = tf.clip_by_value(x + delta, 0.0, 1.0)
                access.forward[i] += 1
                if int(tf.argmax(model(last, training=False)[0])) == targets[i]:
                    out[i] = last.numpy()[0]
            seconds[i] = time.perf_counter() - started
        return out, seconds
