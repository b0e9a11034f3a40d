"""The export API and CLI: progress, cancel, formats, file names, errors."""

from __future__ import annotations

import shutil

import pytest

from factory_twin.__main__ import main
from factory_twin.ar import (
    FORMATS,
    ExportCancelled,
    ExportInputError,
    export_procedure,
    iter_export,
    parse_formats,
)
from factory_twin.errors import ExportError

PLANT_ARGS = ["--equipment", "PVD-01", "--procedure", "pvd-target-change"]


def test_progress_rises_from_zero_to_one(fixture_doc, tmp_path):
    seen: list[tuple[float, str]] = []
    result = export_procedure(
        fixture_doc.spec,
        "PVD-01",
        "pvd-target-change",
        tmp_path,
        ["glb", "arlem"],
        progress=lambda f, m: seen.append((f, m)),
    )
    fractions = [f for f, _ in seen]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions == sorted(fractions)
    assert any("glTF" in m for _, m in seen) and any("ARLEM" in m for _, m in seen)
    assert sorted(result.files) == ["arlem", "glb"]
    names = sorted(p.name for p in result.all_files())
    assert names == [
        "PVD-01_pvd-target-change_revC.glb",
        "PVD-01_pvd-target-change_revC_activity.json",
        "PVD-01_pvd-target-change_revC_workplace.json",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == names  # no staging left behind


def test_cancel_from_the_callback_writes_nothing(fixture_doc, tmp_path):
    (tmp_path / "keep.txt").write_text("old", encoding="utf-8")
    calls = []

    def progress(frac: float, message: str) -> bool:
        calls.append(message)
        return "PDF" not in message  # cancel once the PDF starts, after the other four

    with pytest.raises(ExportCancelled):
        export_procedure(
            fixture_doc.spec, "PVD-01", "pvd-target-change", tmp_path, progress=progress
        )
    assert any("USDZ" in m for m in calls)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_closing_the_generator_cancels(fixture_doc, tmp_path):
    gen = iter_export(fixture_doc.spec, "PVD-01", "pvd-target-change", tmp_path, ["glb", "html"])
    for _, message in gen:
        if message.startswith("HTML"):
            break
    gen.close()
    assert list(tmp_path.iterdir()) == []


def test_export_replaces_older_files(fixture_doc, tmp_path):
    target = tmp_path / "PVD-01_pvd-target-change_revC.glb"
    target.write_bytes(b"old")
    export_procedure(fixture_doc.spec, "PVD-01", "pvd-target-change", tmp_path, ["glb"])
    assert target.read_bytes()[:4] == b"glTF"


def test_procedure_by_name(fixture_doc, tmp_path):
    result = export_procedure(
        fixture_doc.spec, "PVD-01", "sputter TARGET replacement", tmp_path, ["arlem"]
    )
    assert result.files["arlem"][0].name.startswith("PVD-01_pvd-target-change_revC")


@pytest.mark.parametrize(
    ("equipment", "procedure", "message"),
    [
        ("PVD-9", "pvd-target-change", "has no equipment 'PVD-9'; it has: PVD-01, WET-01"),
        ("WET-01", "pvd-target-change", "is written for equipment type 'pvd_cluster'"),
        ("PVD-01", "nope", "has no procedure 'nope'; its procedures: pvd-target-change"),
    ],
)
def test_bad_input_is_named(fixture_doc, tmp_path, equipment, procedure, message):
    with pytest.raises(ExportInputError, match=message):
        export_procedure(fixture_doc.spec, equipment, procedure, tmp_path, ["glb"])
    assert list(tmp_path.iterdir()) == []


def test_unknown_component_is_named(fixture_doc, tmp_path):
    spec = fixture_doc.spec.model_copy(deep=True)
    spec.procedures[0].steps[1].component = "ghost"
    with pytest.raises(ExportInputError, match=r"step 2 .* names component 'ghost'"):
        export_procedure(spec, "PVD-01", "pvd-target-change", tmp_path, ["glb"])


def test_unwritable_output_is_an_export_error(fixture_doc, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(ExportError, match="cannot write"):
        export_procedure(fixture_doc.spec, "PVD-01", "pvd-target-change", blocker / "out", ["glb"])


def test_parse_formats():
    assert parse_formats("pdf, GLB") == ("glb", "pdf")
    assert parse_formats(FORMATS) == FORMATS
    with pytest.raises(ExportInputError, match="unknown export format"):
        parse_formats("glb,obj")
    with pytest.raises(ExportInputError, match="no export format"):
        parse_formats(" , ")


def test_cli_exports_all_formats(fixture_doc, tmp_path, capsys):
    plant = str(fixture_doc.path)
    code = main(["export-ar", plant, *PLANT_ARGS, "--out", str(tmp_path / "out"), "-q"])
    assert code == 0
    printed = capsys.readouterr().out.split()
    suffixes = sorted(p.rsplit("revC", 1)[1] for p in printed)
    assert suffixes == [".glb", ".html", ".pdf", ".usdz", "_activity.json", "_workplace.json"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        p.rsplit("/", 1)[1] for p in printed
    )


def test_cli_bad_input_exits_2_with_a_message(fixture_doc, tmp_path, capsys):
    plant = str(fixture_doc.path)
    out = str(tmp_path / "out")
    assert main(["export-ar", plant, "--equipment", "X", "--procedure", "y", "--out", out]) == 2
    assert "has no equipment 'X'" in capsys.readouterr().err
    assert main(["export-ar", plant, *PLANT_ARGS, "--out", out, "--format", "glb,fbx"]) == 2
    assert "unknown export format(s) fbx" in capsys.readouterr().err
    assert main(["export-ar", str(tmp_path / "none.yaml"), *PLANT_ARGS, "--out", out]) == 2
    assert "no such file" in capsys.readouterr().err


def test_cli_runs_as_a_module(fixture_doc, tmp_path):
    """The installed entry point works end to end in a fresh interpreter."""
    import subprocess
    import sys

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "factory_twin",
            "export-ar",
            str(fixture_doc.path),
            *PLANT_ARGS,
            "--out",
            str(tmp_path),
            "--format",
            "arlem",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "2 files" in done.stderr
    shutil.rmtree(tmp_path)
