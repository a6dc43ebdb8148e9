"""The figures: pure functions, arrays and results in, a Figure out, nothing written."""

import numpy as np
from matplotlib.figure import Figure

from attention_xai.explain.base import Explanation
from attention_xai.plots import draw_attribution, plot_attribution_grid, plot_confusion_matrix, plot_training_curves
from conftest import HISTORY


def test_training_curves_plot_every_series():
    fig = plot_training_curves(HISTORY, title="x")
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    loss_ax, acc_ax, lr_ax = fig.axes
    assert len(loss_ax.lines) >= 2 and len(acc_ax.lines) >= 2 and len(lr_ax.lines) >= 1
    np.testing.assert_allclose(loss_ax.lines[0].get_ydata(), [r["loss"] for r in HISTORY], rtol=1e-5)  # as drawn
    # The phase change is marked on every panel.
    assert all(any(line.get_linestyle() == ":" for line in ax.lines) for ax in fig.axes)


def test_confusion_matrix_figure_labels_every_cell():
    matrix = np.arange(9).reshape(3, 3)
    fig = plot_confusion_matrix(matrix)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert sorted(texts, key=int) == [str(v) for v in range(9)]


def test_an_attribution_draws_into_the_given_axes():
    fig = Figure()
    ax = fig.subplots()
    shown = draw_attribution(ax, np.zeros((28, 28, 1)), np.full((28, 28), -0.5), signed=True)
    assert shown.axes is ax and shown.get_clim() == (-1, 1) and len(ax.images) == 2  # digit, then the map
    assert not ax.yaxis.get_visible()


def test_the_grid_keeps_the_uninformative_note_under_a_flat_attention_map():
    maps = np.zeros((1, 28, 28), np.float32)
    flat = Explanation(method="attention", maps=maps, targets=[0],
                       params={"informative": [False], "dynamic_range": [0.004]})
    fig = plot_attribution_grid(np.zeros((1, 28, 28, 1)), [flat], ["GOOD"])
    panel = fig.axes[1]
    assert panel.get_xlabel() == "uninformative (range 0.004)" and panel.xaxis.get_visible()


def test_a_protocol_that_learned_nothing_is_written_beside_the_accuracy_axis():
    from attention_xai.plots.comparison import plot_accuracy

    fig = plot_accuracy([{"label": "quick", "accuracies": [0.9945], "seed_study": None},
                         {"label": "quick_permuted_labels", "accuracies": [0.103], "seed_study": None}])
    ax = fig.axes[0]
    assert ax.get_xlim()[0] > 90  # the real protocols keep their resolution
    assert [t.get_text() for t in ax.texts] == ["10.3% (off scale)"]


def test_the_grid_shows_eight_of_a_hundred_digits_four_of_each_kind():
    from attention_xai.reporting.attributions import grid_rows

    kind = np.array(["GOOD"] * 50 + ["BAD"] * 50)
    assert grid_rows(kind) == [0, 1, 2, 3, 50, 51, 52, 53]
    assert grid_rows(np.array(["GOOD"] * 4 + ["BAD"] * 4)) == list(range(8))  # today's 8: all of them
    assert grid_rows(np.array(["INPUT"] * 20)) == list(range(8))
    maps = np.random.default_rng(0).random((100, 28, 28)).astype("float32")
    fig = plot_attribution_grid(np.zeros((100, 28, 28, 1)), [Explanation(method="m", maps=maps, targets=[0] * 100)],
                                [f"digit {i}" for i in range(100)], rows=grid_rows(kind))
    assert len(fig.axes) == 8 * 2 + 1  # 8 rows of digit + map, and the colour bar
    assert [fig.axes[2 * i].get_title(loc="left") for i in (0, 4)] == ["digit 0", "digit 50"]
