"""The export job the Maintain dialog and ``export-ar`` share: progress, cancel from a thread."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from factory_twin.app.ar_export import FORMAT_LABELS, FORMATS, ExportJob
from factory_twin.ar import ExportInputError
from factory_twin.model.config import load_plant

DEMO = Path(__file__).resolve().parents[2] / "plant_configs" / "demo_fab.yaml"


@pytest.fixture(scope="module")
def demo():
    return load_plant(DEMO)


def test_every_format_has_a_label():
    assert set(FORMAT_LABELS) == set(FORMATS)


def test_job_reports_progress_and_writes_the_files(demo, tmp_path):
    seen: list[float] = []
    job = ExportJob(demo.spec, "ETCH-01", "etch-chamber-wet-clean", tmp_path, ["arlem"], demo.path)
    result = job.run(lambda f, _m: seen.append(f))
    assert result is not None
    assert seen[0] == 0.0 and seen[-1] == 1.0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in result.all_files())
    assert all(p.suffix == ".json" for p in result.all_files())


def test_cancel_from_another_thread_writes_nothing(demo, tmp_path):
    job = ExportJob(demo.spec, "ETCH-01", "etch-chamber-wet-clean", tmp_path, FORMATS, demo.path)
    started = threading.Event()
    release = threading.Event()

    def progress(frac: float, message: str) -> None:
        if not started.is_set():
            started.set()
            release.wait(10)  # hold the export until the other thread has cancelled

    box: list[object] = []
    worker = threading.Thread(target=lambda: box.append(job.run(progress)))
    worker.start()
    assert started.wait(30)
    job.cancel()
    release.set()
    worker.join(60)
    assert box == [None] and job.cancelled
    assert list(tmp_path.iterdir()) == []


def test_a_job_cancelled_before_it_starts_does_nothing(demo, tmp_path):
    job = ExportJob(demo.spec, "ETCH-01", "etch-chamber-wet-clean", tmp_path / "out", FORMATS)
    job.cancel()
    assert job.run() is None
    assert not (tmp_path / "out").exists()


def test_a_wrong_procedure_is_an_input_error(demo, tmp_path):
    job = ExportJob(demo.spec, "ETCH-01", "no-such-procedure", tmp_path, FORMATS, demo.path)
    with pytest.raises(ExportInputError, match="no-such-procedure"):
        job.run()
