"""PDF checklist: a cover plus exactly one page per step, every page drawn and complete."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
from PIL import Image


def _run(*cmd: str) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _pages_text(poppler, pdf: Path, count: int) -> list[str]:
    text = _run(poppler["pdftotext"], "-layout", str(pdf), "-")
    pages = text.split("\f")
    return [p for p in pages[:count]]


def _render(poppler, pdf: Path, out: Path) -> list[np.ndarray]:
    _run(poppler["pdftoppm"], "-r", "40", "-png", str(pdf), str(out / "page"))
    files = sorted(out.glob("page-*.png"), key=lambda p: int(re.findall(r"\d+", p.stem)[-1]))
    return [np.asarray(Image.open(f).convert("RGB")) for f in files]


def _orange(img: np.ndarray) -> int:
    r, g, b = (img[..., k].astype(int) for k in range(3))
    return int(((r > 200) & (g > 80) & (g < 170) & (b < 70)).sum())


def _red(img: np.ndarray) -> int:
    r, g, b = (img[..., k].astype(int) for k in range(3))
    return int(((r > 150) & (g < 70) & (b < 70)).sum())


def test_one_page_per_step_plus_cover(exported, poppler):
    info = _run(poppler["pdfinfo"], str(exported.file("pdf")))
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    assert pages == 1 + len(exported.ctx.procedure.steps)
    ctx = exported.ctx
    assert re.search(r"^Title:.*" + re.escape(ctx.procedure.name), info, re.M)
    subject = re.search(r"^Subject:\s+(.*)$", info, re.M).group(1)
    for value in (ctx.plant_name, ctx.equipment.id, ctx.procedure.id, ctx.revision):
        assert value in subject


def test_pages_are_drawn(exported, poppler, tmp_path):
    ctx = exported.ctx
    images = _render(poppler, exported.file("pdf"), tmp_path)
    assert len(images) == 1 + len(ctx.steps)
    for k, img in enumerate(images):
        ink = (img.astype(int).sum(axis=2) < 600).mean()
        assert ink > 0.05, f"page {k + 1} is nearly blank"
        assert len(np.unique(img.reshape(-1, 3) // 16, axis=0)) > 40, f"page {k + 1} is flat"
    for st, img in zip(ctx.steps, images[1:], strict=True):
        if st.part_index is not None:
            assert _orange(img) > 150, f"step {st.number}: no highlighted part"
        if st.step.safety:
            assert _red(img) > 150, f"step {st.number}: no red safety box"


def test_page_text(exported, poppler):
    ctx = exported.ctx
    n = len(ctx.steps)
    pages = _pages_text(poppler, exported.file("pdf"), 1 + n)
    squash = [re.sub(r"\s+", " ", p) for p in pages]
    cover = squash[0]
    for value in (ctx.plant_name, ctx.equipment.id, ctx.procedure.id, ctx.procedure.name):
        assert value in cover
    assert f"revision {ctx.revision}" in cover
    for st, text in zip(ctx.steps, squash[1:], strict=True):
        assert f"Step {st.number} of {n}" in text
        assert st.step.title.split()[0] in text
        assert "Technician (name)" in text and "Verified by (name)" in text
        assert text.count("Signature") == 2 and text.count("Date") >= 2
        if st.step.safety:
            assert "SAFETY" in text
            assert st.step.safety[0].kind.upper() in text
        if st.step.acceptance is not None:
            assert "Measured value" in text
            assert st.step.acceptance.quantity.split()[0] in text
        else:
            assert "Step done as described" in text


def test_long_steps_still_take_one_page_each(fixture_doc, poppler, tmp_path):
    """Text that cannot fit is shrunk onto its page, never continued on another."""
    from factory_twin.ar import build_context
    from factory_twin.ar.pdf import build_pdf
    from factory_twin.model import schema as s

    spec = fixture_doc.spec.model_copy(deep=True)
    step = spec.procedures[0].steps[0]
    step.text = " ".join(["Check every bolt, hose and fitting on the frame."] * 60)
    step.safety = [s.SafetyNote(kind="general", text=f"Hazard number {k} " * 8) for k in range(12)]
    step.tools = [f"tool {k}" for k in range(40)]
    pdf = tmp_path / "long.pdf"
    pdf.write_bytes(build_pdf(build_context(spec, "PVD-01", "pvd-target-change")))
    info = _run(poppler["pdfinfo"], str(pdf))
    assert re.search(r"^Pages:\s+6$", info, re.M)
    page2 = re.sub(r"\s+", " ", _pages_text(poppler, pdf, 2)[1])
    assert "Hazard number 11" in page2 and "Signature" in page2
