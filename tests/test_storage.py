"""Writes the storage refuses (disk full, read-only, permission denied): one line naming the
path and the cause, exit code 2, and every earlier file intact."""

import errno
import json
import os

import pytest

from attention_xai import artifacts
from attention_xai.artifacts import ExperimentPaths, write_json
from attention_xai.cli import main
from attention_xai.errors import StorageError
from attention_xai.training import train_experiment
from conftest import one_error_line, tiny_experiment


def _refuse(code):
    def refuse(*args, **kwargs):
        raise OSError(code, os.strerror(code))
    return refuse


@pytest.mark.parametrize("code, cause", [(errno.ENOSPC, "no space left on the device"),
                                         (errno.EACCES, "permission denied"),
                                         (errno.EROFS, "read-only file system")])
def test_a_refused_write_names_the_path_and_leaves_the_old_file(tmp_path, monkeypatch, code, cause):
    target = tmp_path / "metrics.json"
    write_json(target, {"before": 1})
    monkeypatch.setattr(artifacts.os, "replace", _refuse(code))
    with pytest.raises(StorageError, match=f"cannot write {target}: {cause}"):
        write_json(target, {"after": 2})
    assert json.loads(target.read_text()) == {"before": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]  # no temporary file left behind


def test_other_write_errors_are_not_disguised(tmp_path, monkeypatch):
    monkeypatch.setattr(artifacts.os, "replace", _refuse(errno.EIO))
    with pytest.raises(OSError) as info:
        write_json(tmp_path / "x.json", {})
    assert not isinstance(info.value, StorageError)


@pytest.mark.slow
def test_a_full_disk_during_training_keeps_the_last_checkpoint_resumable(mnist, tmp_path, monkeypatch):
    paths = ExperimentPaths("tiny", tmp_path / "models", tmp_path / "reports")
    config = tiny_experiment(epochs=2)
    saves = []
    real_save = artifacts.save_model

    def save_then_fill(model, path):
        saves.append(path.name)
        if len(saves) > 2:  # epoch 0 wrote best and last; the disk is full from epoch 1 on
            with artifacts.atomic_path(path):
                raise OSError(errno.ENOSPC, "No space left on device")
        real_save(model, path)

    monkeypatch.setattr("attention_xai.training.save_model", save_then_fill)
    with pytest.raises(StorageError, match="no space left on the device"):
        train_experiment(config, mnist, paths, verbose=0)
    state = json.loads((paths.checkpoints / "state.json").read_text())
    assert state["epochs_done"] == 1 and (paths.checkpoints / state["last"]).is_file()
    assert not paths.model.exists() and not paths.metrics.exists()
    monkeypatch.undo()
    result = train_experiment(config, mnist, paths, verbose=0)  # space again: it continues from epoch 1
    assert [row["epoch"] for row in result.history] == [0, 1] and paths.model.is_file()


@pytest.mark.slow
def test_the_command_line_says_it_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(artifacts.tempfile, "mkstemp", _refuse(errno.EACCES))
    code = main(["judges", "--smoke", "--out", str(tmp_path / "judges")])
    err = capsys.readouterr().err
    assert code == 2 and one_error_line(err), err
    assert f"cannot write {tmp_path / 'judges'}" in err and "permission denied" in err
    assert not any((tmp_path / "judges").glob("*.keras"))


def test_committed_records_carry_no_machine_paths(tmp_path):
    """Benchmark results and reports are committed: a path inside the repository is written
    relative to it (`portable`), so no file names the folder of the machine that made it."""
    import re

    from attention_xai.artifacts import portable

    root = tmp_path / "repo"
    record = {"model": str(root / "saved_models" / "quick" / "model.keras"), "steps": 3,
              "params": {"siblings": root / "saved_models" / "quick" / "siblings", "other": "/elsewhere/x"},
              "list": [str(root / "a.txt"), "text"]}
    assert portable(record, root) == {"model": "saved_models/quick/model.keras", "steps": 3,
                                      "params": {"siblings": "saved_models/quick/siblings", "other": "/elsewhere/x"},
                                      "list": ["a.txt", "text"]}
    from conftest import ROOT as repo
    absolute = re.compile(r'"/(?:home|tmp|work|root|Users|mnt|private|var)/')
    committed = [*(repo / "experiments" / "benchmarks" / "results").glob("*.json"), *(repo / "reports").rglob("*.json"),
                 *(repo / "saved_models").glob("*/metrics.json")]
    assert committed and [p.name for p in committed if absolute.search(p.read_text())] == []
