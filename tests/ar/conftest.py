"""Fixtures for the AR export tests: plants, one full export per plant, external checkers.

External tools and why each is needed (when one is absent, a test skips naming the package,
or fails under CI: tests/_requirements.py):

* ``node`` - the Khronos glTF validator (npm ``gltf-validator``, pinned in
  ``tests/ar/package.json`` and installed by scripts/setup.sh: ``npm ci --prefix tests/ar``);
* ``chromium`` (Debian package ``chromium``) - opens the HTML page headless, offline;
* ``pdftoppm`` / ``pdftotext`` / ``pdfinfo`` (Debian package ``poppler-utils``) - PDF pages.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from _node_tools import node_json
from _requirements import missing, which

from factory_twin.ar import ExportContext, ExportResult, build_context, export_procedure
from factory_twin.model import schema as s
from factory_twin.model.config import load_plant

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DATA = HERE / "data"
FIXTURE_PLANT = DATA / "ar_plant.yaml"
SHIPPED = {
    "demo_fab": REPO / "plant_configs" / "demo_fab.yaml",
    "led_line": REPO / "plant_configs" / "led_line.yaml",
}
PLANTS = {"ar_plant": FIXTURE_PLANT, **SHIPPED}


def plant_path(key: str) -> Path:
    """Return the plant file ``key``; a missing shipped plant fails (it must ship)."""
    path = PLANTS[key]
    if not path.is_file():
        pytest.fail(f"{path} is missing: the AR tests export the shipped plants")
    return path


def main_case(spec: s.PlantSpec) -> tuple[str, str]:
    """Return (equipment id, procedure id): the plant's longest procedure on its first tool."""
    if not spec.procedures:
        pytest.fail(f"plant {spec.site.name!r} has no procedures to export")
    proc = max(spec.procedures, key=lambda p: len(p.steps))
    tool = next(e for e in spec.equipment if e.type == proc.equipment_type)
    return tool.id, proc.id


@dataclass
class Exported:
    """One procedure exported in every format."""

    key: str
    plant: Path
    spec: s.PlantSpec
    ctx: ExportContext
    result: ExportResult

    def file(self, fmt: str, suffix: str = "") -> Path:
        """Return the single file of ``fmt`` (ARLEM: the one whose name ends with suffix)."""
        files = [p for p in self.result.files[fmt] if p.name.endswith(suffix)]
        assert len(files) == 1, files
        return files[0]


@pytest.fixture(scope="session", params=list(PLANTS))
def exported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Exported:
    """Each plant's longest procedure exported in all five formats (once per session)."""
    key = request.param
    path = plant_path(key)
    doc = load_plant(path)
    equipment, procedure = main_case(doc.spec)
    out = tmp_path_factory.mktemp(f"export_{key}")
    result = export_procedure(doc.spec, equipment, procedure, out, plant_path=path)
    ctx = build_context(doc.spec, equipment, procedure, plant_path=path)
    return Exported(key, path, doc.spec, ctx, result)


@pytest.fixture(params=list(PLANTS))
def any_plant(request: pytest.FixtureRequest) -> Path:
    """Each plant file in turn: the AR test plant and the shipped plants."""
    return plant_path(request.param)


@pytest.fixture(scope="session")
def fixture_doc() -> Any:
    """The AR test plant (tests/ar/data/ar_plant.yaml), loaded."""
    return load_plant(FIXTURE_PLANT)


@pytest.fixture(scope="session")
def fixture_ctx(fixture_doc: Any) -> ExportContext:
    """The five-step target change on PVD-01 of the AR test plant."""
    return build_context(fixture_doc.spec, "PVD-01", "pvd-target-change", plant_path=FIXTURE_PLANT)


# --------------------------------------------------------------------------- external tools


@pytest.fixture(scope="session")
def gltf_validator() -> Callable[[list[Path]], dict[str, Any]]:
    """``validate(paths) -> {path: report}`` with the Khronos glTF validator."""
    node = which("node", "Debian: apt-get install nodejs; needed for the Khronos glTF validator")
    if not (HERE / "node_modules" / "gltf-validator").is_dir():
        missing(
            "the Khronos glTF validator is not installed: run scripts/setup.sh"
            " (or 'npm ci --prefix tests/ar')"
        )

    def validate(paths: list[Path]) -> dict[str, Any]:
        return node_json(node, HERE / "validate_gltf.js", paths)

    return validate


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of a Chromium binary (Debian package ``chromium``)."""
    for name in ("chromium", "chromium-browser", "google-chrome-stable", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    missing("Chromium is not installed (Debian: apt-get install chromium)")


@pytest.fixture(scope="session")
def poppler() -> dict[str, str]:
    """Paths of pdftoppm, pdftotext and pdfinfo (Debian package ``poppler-utils``)."""
    tools = {name: shutil.which(name) for name in ("pdftoppm", "pdftotext", "pdfinfo")}
    absent = [k for k, v in tools.items() if v is None]
    if absent:
        missing(f"{', '.join(absent)} not installed (Debian: apt-get install poppler-utils)")
    return {k: v for k, v in tools.items() if v is not None}


_USD_CHECK = r"""
import json, sys
from pxr import Sdr, Tf, UsdUtils
try:
    # Sdr discovery also meets usdHydra's deprecated shaders, which the wheel lacks too;
    # its complaint is about the installation, not about the file under test.
    Sdr.Registry().GetShaderNodeNames()
except Tf.ErrorException:
    pass
found = Sdr.Registry().GetShaderNodeByIdentifier("UsdPreviewSurface") is not None
checker = UsdUtils.ComplianceChecker(arkit=True, skipARKitRootLayerCheck=False,
                                     rootPackageOnly=False, skipVariants=False, verbose=False)
checker.CheckCompliance(sys.argv[1])
print(json.dumps({"preview_surface_known": found, "errors": checker.GetErrors(),
                  "failed": checker.GetFailedChecks(), "warnings": checker.GetWarnings()}))
"""


@pytest.fixture(scope="session")
def usd_compliance() -> Callable[[Path], dict[str, Any]]:
    """``check(path) -> {errors, failed, warnings}`` from UsdUtils.ComplianceChecker(arkit=True).

    Runs in a subprocess whose ``PXR_PLUGINPATH_NAME`` adds the UsdPreviewSurface shader
    definition the usd-core wheel does not ship (OpenUSD issue #3983), without which the
    checker's shader property rule cannot look the shader up.
    """

    def check(path: Path) -> dict[str, Any]:
        env = dict(os.environ)
        plugins = str(DATA / "usd_plugins")
        env["PXR_PLUGINPATH_NAME"] = os.pathsep.join(
            p for p in (plugins, env.get("PXR_PLUGINPATH_NAME", "")) if p
        )
        done = subprocess.run(
            [sys.executable, "-c", _USD_CHECK, str(path)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])

    return check


# --------------------------------------------------------------------------- headless Chromium


class Browser:
    """A headless Chromium driven over the DevTools protocol on a pipe (no port, no network).

    One browser serves the whole session; each :meth:`open` gets a fresh tab. Script
    exceptions, console errors and browser log errors of the tab are collected.
    """

    def __init__(self, binary: str, profile: Path) -> None:
        cmd_r, cmd_w = os.pipe()  # we write commands, Chromium reads fd 3
        ev_r, ev_w = os.pipe()  # Chromium writes fd 4, we read

        def child_fds() -> None:
            # fds 3 and 4 may be our own pipe ends: move both out of the way first
            a, b = os.dup(cmd_r), os.dup(ev_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",  # containers often have a tiny /dev/shm
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-default-apps",
                "--disable-sync",
                "--no-first-run",
                "--host-resolver-rules=MAP * ~NOTFOUND",  # nothing resolves: no network
                "--remote-debugging-pipe",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            close_fds=False,  # our pipes are non-inheritable; only the dup2'ed 3 and 4 pass
            preexec_fn=child_fds,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(cmd_r)
        os.close(ev_w)
        self._out = os.fdopen(cmd_w, "wb", buffering=0)
        self._in = os.fdopen(ev_r, "rb", buffering=0)
        self._buf = b""
        self._next = 0
        self.events: list[dict[str, Any]] = []

    def _read(self, timeout: float) -> dict[str, Any]:
        import select

        while b"\0" not in self._buf:
            ready, _, _ = select.select([self._in], [], [], timeout)
            if not ready:
                msg = f"Chromium did not answer within {timeout} s"
                raise TimeoutError(msg)
            chunk = self._in.read(1 << 20)
            if not chunk:
                msg = "Chromium closed the DevTools pipe"
                raise RuntimeError(msg)
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def call(
        self, method: str, session: str | None = None, timeout: float = 60, **params: Any
    ) -> Any:
        """Send one command and return its result (events meanwhile go to ``events``)."""
        self._next += 1
        msg: dict[str, Any] = {"id": self._next, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        self._out.write(json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._read(timeout)
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method: str, session: str, timeout: float = 60) -> dict[str, Any]:
        """Return the first event ``method`` of ``session`` (already received or coming)."""
        for i, ev in enumerate(self.events):
            if ev.get("method") == method and ev.get("sessionId") == session:
                return self.events.pop(i)
        while True:
            ev = self._read(timeout)
            if ev.get("method") == method and ev.get("sessionId") == session:
                return ev
            self.events.append(ev)

    def open(self, url: str, size: tuple[int, int] = (1280, 800), *, touch: bool = False) -> Tab:
        """Open ``url`` in a new tab of ``size`` CSS pixels and wait for its load event."""
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable", session)
        self.call(
            "Emulation.setDeviceMetricsOverride",
            session,
            width=size[0],
            height=size[1],
            deviceScaleFactor=1,
            mobile=touch,
        )
        if touch:
            self.call(
                "Emulation.setTouchEmulationEnabled", session, enabled=True, maxTouchPoints=5
            )
        self.call("Page.navigate", session, url=url)
        self.wait_event("Page.loadEventFired", session)
        return Tab(self, target, session)

    def close(self) -> None:
        with contextlib.suppress(OSError, RuntimeError, TimeoutError):
            self.call("Browser.close", timeout=10)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._out.close()
        self._in.close()


class Tab:
    """One page in :class:`Browser`."""

    def __init__(self, browser: Browser, target: str, session: str) -> None:
        self.browser, self.target, self.session = browser, target, session

    def eval(self, expression: str) -> Any:
        """Evaluate JavaScript in the page and return its (JSON) value."""
        result = self.browser.call(
            "Runtime.evaluate", self.session, expression=expression, returnByValue=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")

    def screenshot(self) -> Any:
        """Return the viewport as an RGB numpy array."""
        import base64
        import io

        import numpy as np
        from PIL import Image

        data = self.browser.call("Page.captureScreenshot", self.session, format="png")["data"]
        return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"))

    def touch_drag(
        self, start: tuple[float, float], end: tuple[float, float], steps: int = 8
    ) -> None:
        """Drag one finger from ``start`` to ``end`` (CSS pixels)."""
        call = self.browser.call
        call(
            "Input.dispatchTouchEvent",
            self.session,
            type="touchStart",
            touchPoints=[{"x": start[0], "y": start[1]}],
        )
        for k in range(1, steps + 1):
            x = start[0] + (end[0] - start[0]) * k / steps
            y = start[1] + (end[1] - start[1]) * k / steps
            call(
                "Input.dispatchTouchEvent",
                self.session,
                type="touchMove",
                touchPoints=[{"x": x, "y": y}],
            )
        call("Input.dispatchTouchEvent", self.session, type="touchEnd", touchPoints=[])

    def errors(self) -> list[str]:
        """Script exceptions, console errors and log errors of this tab so far."""
        out = []
        for ev in self.browser.events:
            if ev.get("sessionId") != self.session:
                continue
            method, params = ev.get("method"), ev.get("params", {})
            if method == "Runtime.exceptionThrown":
                out.append(
                    str(
                        params["exceptionDetails"].get("exception", {}).get("description")
                        or params["exceptionDetails"].get("text")
                    )
                )
            elif method == "Runtime.consoleAPICalled" and params.get("type") in (
                "error",
                "assert",
            ):
                out.append(
                    " ".join(str(a.get("value", a.get("description"))) for a in params["args"])
                )
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                out.append(params["entry"].get("text", ""))
        return out

    def close(self) -> None:
        self.browser.call("Target.closeTarget", targetId=self.target)


@pytest.fixture(scope="session")
def browser(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One headless Chromium for the session (see :class:`Browser`)."""
    b = Browser(chromium, tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield b
    finally:
        b.close()
