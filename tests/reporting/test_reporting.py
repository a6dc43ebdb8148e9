import numpy as np
import pytest
from matplotlib.figure import Figure

from attention_xai.evaluate import classification_metrics, confusion_matrix
from attention_xai.plots import plot_training_curves
from attention_xai.reporting.html import render_index


def test_classification_metrics_known_answer():
    labels = np.array([0, 0, 1, 2])
    probabilities = np.array([[0.9, 0.1, 0.0], [0.2, 0.8, 0.0], [0.0, 1.0, 0.0], [0.5, 0.0, 0.5]])
    metrics = classification_metrics(labels, probabilities)
    assert metrics["accuracy"] == 0.5  # the tie in the last row goes to class 0
    assert metrics["per_class_accuracy"] == [0.5, 1.0, 0.0]
    assert metrics["confusion_matrix"] == [[1, 1, 0], [0, 1, 0], [1, 0, 0]]
    expected_loss = -np.mean(np.log([0.9, 0.2, 1.0, 0.5]))
    assert metrics["loss"] == pytest.approx(expected_loss)


def test_confusion_matrix_rows_are_true_classes():
    matrix = confusion_matrix(np.array([3, 3, 1]), np.array([3, 1, 1]), num_classes=4)
    assert matrix[3, 3] == 1 and matrix[3, 1] == 1 and matrix[1, 1] == 1 and matrix.sum() == 3


def test_index_links_figures_pdfs_and_tables_and_escapes_text():
    page = render_index("<run>", [("accuracy", 0.99)], [
        {"title": "Curves", "figure": "training_curves.png"},
        {"title": "Table", "table": ("t.csv", [{"a": 1, "b": 2.5}])},
    ])
    assert "&lt;run&gt;" in page and "<run>" not in page
    assert "training_curves.png" in page and "training_curves.pdf" in page and "t.csv" in page
    assert "<th>a</th>" in page and "<td>2.5</td>" in page


def test_training_speed_counts_every_epoch_and_is_absent_for_records_without_sizes():
    from attention_xai.reporting.experiment import train_speed

    assert train_speed({"train_size": 12000, "epochs": 8, "train_seconds": 3000.0}) == 32.0
    assert train_speed({"train_size": 12000, "epochs": 8}) is None  # an older record: no figure, not a wrong one


def pdf_drawing_commands(path) -> list[bytes]:
    """Every stream of a PDF, decompressed: the page's drawing commands, and the fonts'."""
    import re
    import zlib

    data = open(path, "rb").read()
    return [zlib.decompress(s) for s in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S)]


def test_training_curves_pdf_ignores_the_last_bits_of_the_data(tmp_path, monkeypatch):
    """Another CPU's arithmetic may differ in the last bits of a value, and numpy's
    logarithm is vectorised differently with AVX-512 than with AVX2. Neither may move a
    single coordinate of the drawn PDF (once, 8 training_curves.pdf differed between two
    machines in the 6th decimal of one path coordinate)."""
    from attention_xai.reporting.writing import save_figure

    history = [{"epoch": e, "phase": "p", "loss": 0.75 - 0.1 * e, "accuracy": 0.55 + 0.1 * e,
                "val_loss": 0.8 - 0.1 * e, "val_accuracy": 0.5 + 0.1 * e, "learning_rate": 2e-3 / 2 ** (e // 2)}
               for e in range(6)]
    nudged = [{k: v * (1 + 3e-9) if isinstance(v, float) else v for k, v in row.items()} for row in history]
    save_figure(plot_training_curves(history), tmp_path / "a")
    for name in ("log", "log10", "log2"):  # a numpy whose logarithms round the other way
        real = getattr(np, name)
        monkeypatch.setattr(np, name, lambda x, *a, _real=real, **k: _real(x, *a, **k) * (1 + 3e-9))
    save_figure(plot_training_curves(nudged), tmp_path / "b")
    a, b = pdf_drawing_commands(tmp_path / "a.pdf"), pdf_drawing_commands(tmp_path / "b.pdf")
    assert a and a == b
    # Without the rounding the nudge is drawn: the test can tell.
    fig = Figure()
    fig.subplots().plot([1, 2], [0.75, 0.65])
    save_figure(fig, tmp_path / "c")
    fig = Figure()
    fig.subplots().plot([1, 2], [0.75 * (1 + 3e-9), 0.65 * (1 + 3e-9)])
    save_figure(fig, tmp_path / "d")
    assert pdf_drawing_commands(tmp_path / "c.pdf") != pdf_drawing_commands(tmp_path / "d.pdf")


@pytest.mark.parametrize("value, text", [(2090.4, "2,090"), (0.0123456, "0.0123"), (99.456, "99.5"), (9.9996, "10.0"),
                                         (123456.7, "123,000"), (0, "0"), (float("nan"), "n/a")])
def test_numbers_are_written_for_people(value, text):
    from attention_xai.reporting.html import number

    assert number(value) == text


@pytest.mark.parametrize("seconds, text", [(0.0123, "12.3 ms"), (1.5, "1.50 s"), (300, "5.00 min"),
                                           (3405, "56.8 min"), (7300, "2.03 h")])
def test_durations_are_written_in_the_unit_people_read(seconds, text):
    from attention_xai.reporting.html import duration

    assert duration(seconds) == text


def test_a_spread_over_seeds_reads_as_mean_plus_minus_std():
    from attention_xai.reporting.comparison import shown

    assert shown([0.9945, 0.9940, 0.9942], 100) == "99.42 ± 0.025 (n=3)"
    assert shown([2090.0, 4000.0, 180.0], digits=3, unit="duration") == "34.8 min ± 32 min (n=3)"
