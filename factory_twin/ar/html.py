"""One self-contained offline HTML page: the tool in 3-D, numbered hotspots, the step list.

Everything is inline (CSS, the renderer in ``viewer/viewer.js``, the geometry as JSON) and
a Content-Security-Policy forbids every network request, so the page works from a USB
stick or an e-mail attachment on a tablet in the fab. The renderer is a small software
rasteriser (no WebGL), so it also draws where GPU access is blocked.

The page reports its state on ``<body>``: ``data-state="ready"`` once drawn,
``data-hotspots`` (hotspots on screen), ``data-drawn`` (model pixels), and any script
error in ``data-errors``, in a red banner and in the title (prefixed ``ERROR:``).
Open it at ``#step=3`` to start on step 3.
"""

from __future__ import annotations

import html
import json
import logging
from importlib import resources
from typing import Any

from factory_twin.model.geometry import hex_to_rgb

from .context import ExportContext, Progress, StepInfo, acceptance_text, drain, format_duration

logger = logging.getLogger(__name__)

_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)

# first script of the page: catches every error before anything else runs
_ERROR_HOOK = """
window.__ftErrors = [];
(function () {
  function report(msg) {
    window.__ftErrors.push(String(msg));
    document.title = "ERROR: " + msg;
    var b = document.body;
    if (!b) return;
    b.dataset.errors = String(window.__ftErrors.length);
    var el = document.getElementById("ft-errors");
    if (el) { el.hidden = false; el.textContent = window.__ftErrors.join("\\n"); }
  }
  window.addEventListener("error", function (e) {
    report((e.message || "resource failed: " + (e.target && (e.target.src || e.target.href))) +
      (e.lineno ? " (line " + e.lineno + ")" : ""));
  }, true);
  window.addEventListener("unhandledrejection", function (e) { report("unhandled: " + e.reason); });
  document.addEventListener("securitypolicyviolation", function (e) {
    report("blocked " + e.violatedDirective + ": " + e.blockedURI);
  });
  var original = console.error;
  console.error = function () {
    report(Array.prototype.join.call(arguments, " "));
    return original.apply(console, arguments);
  };
})();
"""


def _asset(name: str) -> str:
    return resources.files("factory_twin.ar").joinpath("viewer", name).read_text(encoding="utf-8")


def _round(values: Any, digits: int = 4) -> list[float]:
    return [round(float(v), digits) for v in values]


def viewer_model(ctx: ExportContext) -> dict[str, Any]:
    """Return the data the page's renderer reads: parts, bounds, steps (tool frame, Z up)."""
    parts = []
    for p in ctx.geometry.parts:
        parts.append(
            {
                "name": p.name,
                "color": [round(c * 255) for c in hex_to_rgb(p.color)],
                "closed": p.closed,
                "pos": _round(p.positions.ravel()),
                "nrm": _round(p.normals.ravel(), 3),
                "idx": [int(i) for i in p.faces.ravel()],
            }
        )
    lo, hi = ctx.geometry.bounds
    return {
        "identity": ctx.identity(),
        "bounds": [_round(lo), _round(hi)],
        "view": [round(ctx.overview.azimuth_deg, 2), round(ctx.overview.elevation_deg, 2)],
        "parts": parts,
        "steps": [
            {
                "number": st.number,
                "title": st.step.title,
                "anchor": _round(st.anchor),
                "part": -1 if st.part_index is None else st.part_index,
                "hot": list(st.highlight),
                "view": [round(st.view.azimuth_deg, 2), round(st.view.elevation_deg, 2)],
            }
            for st in ctx.steps
        ],
    }


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _step_article(st: StepInfo) -> str:
    s = st.step
    out = [f'<article id="ft-step-{st.number}" data-step="{st.number}" hidden>']
    out.append(f"<h2>{st.number}. {_e(s.title)}</h2>")
    out.append(
        f'<p class="where">At <b>{_e(st.component.name)}</b> &middot; {_e(s.action.value)} '
        f"&middot; {_e(format_duration(s.duration_s))}</p>"
    )
    if s.safety:
        out.append('<section class="safety" role="alert"><h3>&#9888; SAFETY</h3><ul>')
        out += [f"<li><b>{_e(n.kind)}</b>: {_e(n.text)}</li>" for n in s.safety]
        out.append("</ul></section>")
    if s.text:
        out.append(f"<p>{_e(s.text)}</p>")
    facts = []
    if s.tools:
        facts.append(f"<dt>Tools</dt><dd>{_e(', '.join(s.tools))}</dd>")
    if s.parts:
        facts.append(f"<dt>Parts</dt><dd>{_e(', '.join(s.parts))}</dd>")
    if st.component.description:
        facts.append(f"<dt>Component</dt><dd>{_e(st.component.description)}</dd>")
    if facts:
        out.append('<dl class="facts">' + "".join(facts) + "</dl>")
    if s.acceptance is not None:
        a = s.acceptance
        mn = "" if a.min is None else f"{a.min:g}"
        mx = "" if a.max is None else f"{a.max:g}"
        out.append(
            '<section class="accept"><b>Acceptance:</b> '
            f"{_e(a.quantity)} {_e(acceptance_text(a))}"
            f'<label>Measured <input type="text" inputmode="decimal" data-min="{mn}" '
            f'data-max="{mx}" aria-label="measured {_e(a.quantity)}"> {_e(a.unit)} '
            '<span class="verdict" aria-live="polite"></span></label></section>'
        )
    out.append("</article>")
    return "\n".join(out)


def _overview(ctx: ExportContext) -> str:
    p = ctx.procedure
    kinds = sorted({n.kind for st in ctx.steps for n in st.step.safety})
    tools = list(dict.fromkeys(t for st in ctx.steps for t in st.step.tools))
    parts = list(dict.fromkeys(t for st in ctx.steps for t in st.step.parts))
    out = ['<article id="ft-step-0" data-step="0">', f"<h2>{_e(p.name)}</h2>"]
    out.append(
        f'<p class="where">{_e(ctx.equipment.id)} &middot; {len(ctx.steps)} steps &middot; '
        f"planned {_e(format_duration(ctx.total_duration_s))}</p>"
    )
    if p.description:
        out.append(f"<p>{_e(p.description)}</p>")
    if kinds:
        out.append(
            '<section class="safety"><h3>&#9888; HAZARDS IN THIS PROCEDURE</h3>'
            f"<p>{_e(', '.join(k.upper() for k in kinds))}. Read each step's safety notes "
            "before you start it.</p></section>"
        )
    facts = []
    if tools:
        facts.append(f"<dt>Tools</dt><dd>{_e(', '.join(tools))}</dd>")
    if parts:
        facts.append(f"<dt>Parts</dt><dd>{_e(', '.join(parts))}</dd>")
    if p.alarm_codes:
        facts.append(f"<dt>Fixes alarms</dt><dd>{_e(', '.join(p.alarm_codes))}</dd>")
    facts.append(f"<dt>Revision</dt><dd>{_e(p.revision)}</dd>")
    out.append('<dl class="facts">' + "".join(facts) + "</dl>")
    out.append("<p>Tap a step or a numbered hotspot to begin.</p></article>")
    return "\n".join(out)


def build_page(ctx: ExportContext) -> str:
    """Return the whole HTML page as text."""
    ident = ctx.identity()
    model_json = json.dumps(viewer_model(ctx), separators=(",", ":"), ensure_ascii=False)
    model_json = model_json.replace("</", "<\\/")  # never end the script element early
    meta = "\n".join(
        f'<meta name="factory-twin:{_e(k)}" content="{_e(v)}">' for k, v in ident.items()
    )
    items = [
        '<li><button type="button" data-step="0"><span class="num">i</span>'
        "<span>Overview</span><span></span></button></li>"
    ]
    for st in ctx.steps:
        flag = (
            '<span class="warn-flag" title="safety notes">&#9888;</span>' if st.step.safety else ""
        )
        items.append(
            f'<li><button type="button" data-step="{st.number}"><span class="num">{st.number}</span>'
            f"<span>{_e(st.step.title)}{flag}</span>"
            f'<span class="dur">{_e(format_duration(st.step.duration_s))}</span></button></li>'
        )
    articles = [_overview(ctx)] + [_step_article(st) for st in ctx.steps]
    title = f"{ctx.procedure.name} - {ctx.equipment.id} rev {ctx.revision}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<meta name="generator" content="{_e(ident["generator"])}">
{meta}
<title>{_e(title)}</title>
<script>{_ERROR_HOOK}</script>
<style>
{_asset("viewer.css")}
</style>
</head>
<body data-state="loading">
<header>
<h1>{_e(ctx.procedure.name)}</h1>
<span class="ident">{_e(ctx.identity_line())}</span>
</header>
<main>
<section id="ft-view" aria-label="3-D view of {_e(ctx.equipment.id)}">
<canvas id="ft-canvas" role="img" aria-label="{_e(ctx.equipment.id)} with the step locations"></canvas>
<div id="ft-hotspots"></div>
<div class="view-buttons"><button type="button" id="ft-reset">Reset view</button></div>
<div class="hint">Drag to turn &middot; pinch or scroll to zoom &middot; double-tap to reset</div>
</section>
<aside>
<ol id="ft-steps">
{"".join(items)}
</ol>
<div id="ft-detail">
{"".join(articles)}
</div>
<nav><button type="button" id="ft-prev">&#8592; Previous</button>
<button type="button" id="ft-next">Next &#8594;</button></nav>
</aside>
</main>
<pre id="ft-errors" hidden></pre>
<script id="ft-model" type="application/json">{model_json}</script>
<script>
{_asset("viewer.js")}
</script>
</body>
</html>
"""


def iter_html(ctx: ExportContext) -> Progress[bytes]:
    """Build the page, yielding progress; returns its UTF-8 bytes."""
    yield 0.2, "HTML: page"
    data = build_page(ctx).encode("utf-8")
    logger.debug("HTML: %d bytes", len(data))
    yield 1.0, "HTML: done"
    return data


def build_html(ctx: ExportContext) -> bytes:
    """Return the page of ``ctx`` as UTF-8 bytes (see :func:`iter_html`)."""
    return drain(iter_html(ctx))
