"""Growing Spheres: a black-box counterfactual search by random sampling around the digit.

References: Laugel, Lesot, Marsala, Renard and Detyniecki, "Comparison-Based Inverse
Classification for Interpretability in Machine Learning", IPMU 2018 (arXiv:1712.08443).
"""

from __future__ import annotations

import numpy as np

from attention_xai.explain.counterfactual.base import COUNTERFACTUALS, CounterfactualMethod

DIMENSIONS = 28 * 28


def sample_shell(rng: np.random.Generator, n: int, low: np.ndarray, high: np.ndarray,
                 d: int = DIMENSIONS) -> np.ndarray:
    """`n` points per row, uniform by volume in the L2 shell low <= r <= high around 0.

    Args:
        low, high: (M,) radii (low may be 0: a ball).
    Returns:
        (M, n, d) float64.

    The radius has density proportional to r^(d-1): r^d is uniform on [low^d, high^d].
    In d = 784, low^d and high^d under- or overflow for radii away from 1, so r^d is
    drawn in log space: log r^d = logaddexp(log(1-u) + d log low, log u + d log high).
    """
    low, high = np.asarray(low, np.float64)[:, None], np.asarray(high, np.float64)[:, None]
    u = rng.random((len(high), n))
    with np.errstate(divide="ignore"):
        log_rd = np.logaddexp(np.log1p(-u) + d * np.log(low), np.log(u) + d * np.log(high))
    radius = np.exp(log_rd / d)
    direction = rng.standard_normal((len(high), n, d))
    direction /= np.linalg.norm(direction, axis=2, keepdims=True)
    return direction * radius[..., None]


@COUNTERFACTUALS.register("growing_spheres")
class GrowingSpheres(CounterfactualMethod):
    """Zoom in while the ball around the digit holds enemies (candidates the model puts in
    the target class), then grow shells outward until one does; keep the closest enemy
    (L2), then sparsify it: reset its smallest changes to the digit's pixels for as long
    as it stays an enemy. Candidates are clipped to [0, 1]. All digits are searched
    together; each model call holds candidates of several digits.

    Parameters:
        samples: candidates per shell and digit (the reference uses 2,000).
        first_radius: radius of the first ball, in L2 over the 784 pixels.
        shrink: the radius is divided by this while enemies are found (zoom-in), and the
            shells then grow by (shrink - 1) * radius / 5 (the reference's rule) ...
        min_step: ... but by at least this much.
        max_shells: budget: shells tried per digit before it is given up as not found.
        sparsify: run the sparsification step.

    The sparsification resets coordinates in increasing order of |change|; the longest
    prefix that keeps the class is found by a coarse-to-fine search over prefix lengths
    (33 per round) rather than one model call per coordinate.
    """

    name = "growing_spheres"
    kind = "black-box"
    defaults = {"samples": 1000, "first_radius": 0.1, "shrink": 10.0, "min_step": 0.25, "max_shells": 60,
                "max_zoom": 8, "sparsify": True}
    smoke = {"samples": 200, "max_shells": 20}

    def search(self, access, digits, targets, rng):
        p = self.params
        n = len(digits)
        x = digits.reshape(n, -1).astype(np.float64)
        best = np.full_like(x, np.nan)
        radius = np.full(n, p["first_radius"])
        # Zoom in: while the ball holds enemies, shrink it.
        zooming = np.ones(n, bool)
        for _ in range(p["max_zoom"]):
            rows = np.flatnonzero(zooming)
            if not len(rows):
                break
            hits = self._closest_enemies(access, x, targets, rows, np.zeros(len(rows)), radius[rows], rng)
            for row, hit in zip(rows, hits):
                if hit is None:
                    zooming[row] = False
                else:
                    best[row] = hit
                    radius[row] /= p["shrink"]
        # Grow: shells of width `step` outward until one holds an enemy.
        step = np.maximum((p["shrink"] - 1) * radius / 5, p["min_step"])
        growing = ~zooming  # a digit still zooming after max_zoom keeps its closest enemy so far
        low = radius.copy()
        for _ in range(p["max_shells"]):
            rows = np.flatnonzero(growing)
            if not len(rows):
                break
            hits = self._closest_enemies(access, x, targets, rows, low[rows], low[rows] + step[rows], rng)
            for row, hit in zip(rows, hits):
                if hit is not None:
                    best[row], growing[row] = hit, False
            low[rows] += step[rows]
        if p["sparsify"]:
            done = np.flatnonzero(np.isfinite(best).all(axis=1))
            if len(done):
                best[done] = self._sparsify(access, x[done], best[done], targets[done], done)
        return best.reshape(digits.shape), None

    def _closest_enemies(self, access, x, targets, rows, low, high, rng):
        """For each digit in `rows`: its closest candidate in the shell that the model puts
        in the target class, or None."""
        k = self.params["samples"]
        candidates = np.clip(x[rows][:, None, :] + sample_shell(rng, k, low, high), 0.0, 1.0)
        flat = candidates.reshape(-1, 28, 28, 1).astype(np.float32)
        classes = access.predict(flat, np.repeat(rows, k)).argmax(axis=1).reshape(len(rows), k)
        hits = []
        for i, row in enumerate(rows):
            enemies = np.flatnonzero(classes[i] == targets[row])
            if not len(enemies):
                hits.append(None)
                continue
            distance = np.linalg.norm(candidates[i, enemies] - x[row], axis=1)
            hits.append(candidates[i, enemies[np.argmin(distance)]])
        return hits

    def _sparsify(self, access, x, enemy, targets, owners):
        """Resets the longest prefix of smallest changes that keeps each enemy in its class."""
        n, d = x.shape
        change = np.abs(enemy - x)
        order = np.argsort(np.where(change > 0, change, np.inf), axis=1, kind="stable")
        moved = (change > 0).sum(axis=1)
        lo = np.zeros(n, np.int64)  # longest prefix known to keep the class
        hi = moved + 1  # shortest prefix known to lose it (moved + 1: none known)
        while True:
            rows = np.flatnonzero(hi - lo > 1)
            if not len(rows):
                break
            lengths = [np.unique(np.linspace(lo[r] + 1, hi[r] - 1, num=min(33, hi[r] - lo[r] - 1)).round().astype(int))
                       for r in rows]
            owner = np.concatenate([np.full(len(part), r) for r, part in zip(rows, lengths)])
            length = np.concatenate(lengths)
            ranks = np.argsort(order[owner], axis=1)  # rank of each coordinate in its digit's order
            reset = ranks < length[:, None]
            trial = np.where(reset, x[owner], enemy[owner])
            keeps = access.predict(trial.reshape(-1, 28, 28, 1).astype(np.float32), owners[owner]).argmax(axis=1) \
                == targets[owner]
            for r, l_r in zip(rows, lengths):
                mine = owner == r
                ok = keeps[mine]
                first_fail = np.flatnonzero(~ok)
                if len(first_fail):
                    hi[r] = l_r[first_fail[0]]
                    lo[r] = l_r[first_fail[0] - 1] if first_fail[0] > 0 else lo[r]
                else:
                    lo[r] = l_r[-1]
        ranks = np.argsort(order, axis=1)
        return np.where(ranks < lo[:, None], x, enemy)
