"""A small off-screen renderer for tool pictures (PDF pages, previews): numpy and Pillow only.

It rasterises the tool's triangles with a z-buffer at twice the output size, shades them
with two lights, draws dark outlines where parts meet or surfaces fold (found in the id and
normal buffers), scales down for anti-aliasing and draws numbered step markers on top. No
OpenGL, no display, the same picture on every machine.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from factory_twin.model.geometry import FloatArray, IntArray, TypeGeometry, hex_to_rgb

from .context import View

HIGHLIGHT = "#ff7a00"
"""Colour of the part a step works on."""

_BACKGROUND_TOP = np.array([250, 251, 253], dtype=np.float64)
_BACKGROUND_BOTTOM = np.array([222, 227, 234], dtype=np.float64)
_EDGE = np.array([38, 44, 52], dtype=np.float64)

IdBuffer = NDArray[np.int32]
"""Triangle id of each pixel, -1 where none (int32 to halve the buffer)."""
DepthBuffer = NDArray[np.float32]
"""1/depth of each pixel, 0 infinitely far (float32 to halve the buffer)."""


@dataclass(frozen=True)
class Marker:
    """A numbered step marker at a point of the tool frame."""

    point: tuple[float, float, float]
    label: str
    active: bool = False


@dataclass(frozen=True)
class Camera:
    """A perspective camera fitted to a tool; screen y points down."""

    position: FloatArray
    right: FloatArray
    up: FloatArray
    forward: FloatArray
    focal: float
    cx: float
    cy: float
    width: int
    height: int

    def project(self, points: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Return screen x, screen y and view depth of (n, 3) points."""
        rel = np.asarray(points, dtype=np.float64) - self.position
        x = rel @ self.right
        y = rel @ self.up
        z = np.maximum(rel @ self.forward, 1e-6)
        return self.cx + self.focal * x / z, self.cy - self.focal * y / z, z

    def scaled(self, k: float) -> Camera:
        """Return the same camera for an image ``k`` times larger."""
        return Camera(
            self.position,
            self.right,
            self.up,
            self.forward,
            self.focal * k,
            self.cx * k,
            self.cy * k,
            round(self.width * k),
            round(self.height * k),
        )


def fit_camera(
    geometry: TypeGeometry, view: View, width: int, height: int, margin: float = 0.07
) -> Camera:
    """Return a camera looking at the tool from ``view``, framing it with ``margin`` to spare."""
    pos, _, _, _ = geometry.combined()
    lo, hi = geometry.bounds
    target = (lo + hi) / 2
    radius = max(float(np.linalg.norm(hi - lo)) / 2, 1e-3)
    fov = math.radians(30.0)
    eye = target + view.direction() * (radius / math.sin(fov / 2) * 1.05)
    forward = target - eye
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    if np.linalg.norm(right) < 1e-6:  # looking straight down
        right = np.array([1.0, 0.0, 0.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    cam = Camera(eye, right, up, forward, 1.0, 0.0, 0.0, width, height)
    sx, sy, _ = cam.project(pos)
    ext_x, ext_y = max(float(np.ptp(sx)), 1e-9), max(float(np.ptp(sy)), 1e-9)
    focal = min(width * (1 - 2 * margin) / ext_x, height * (1 - 2 * margin) / ext_y)
    cx = width / 2 - focal * (sx.min() + sx.max()) / 2
    cy = height / 2 - focal * (sy.min() + sy.max()) / 2
    return Camera(eye, right, up, forward, focal, cx, cy, width, height)


def render_tool(
    geometry: TypeGeometry,
    view: View,
    size: tuple[int, int] = (900, 600),
    *,
    highlight: Sequence[int] = (),
    markers: Sequence[Marker] = (),
    supersample: int = 2,
) -> Image.Image:
    """Return an RGB picture of the tool.

    Parameters
    ----------
    geometry
        The tool.
    view
        Direction the camera looks from.
    size
        Output width and height in pixels.
    highlight
        Indices of the parts to draw in :data:`HIGHLIGHT` (a step's
        :attr:`~factory_twin.ar.context.StepInfo.highlight`); the others are drawn lighter.
    markers
        Numbered markers drawn over the picture (hollow where a part hides the point).
    supersample
        Render this many times larger, then scale down (anti-aliasing).
    """
    width, height = size
    cam = fit_camera(geometry, view, width, height)
    big = cam.scaled(supersample)
    pos, nrm, faces, owner = geometry.combined()
    colors = _face_colors(geometry, nrm, faces, owner, big, highlight)
    tri_normals = nrm[faces].mean(axis=1)
    tri_normals /= np.maximum(np.linalg.norm(tri_normals, axis=1, keepdims=True), 1e-12)
    closed = np.array([p.closed for p in geometry.parts])[owner]
    ids, inv_depth = _rasterise(big, pos, faces, closed)

    # a background pseudo-triangle per row keeps this one gather instead of masked writes
    bg = _background(big.height)
    table = np.vstack([colors.astype(np.float32), bg])
    rows = len(colors) + np.arange(big.height)[:, None]
    img = table[np.where(ids >= 0, ids, rows)]
    edges = _edges(ids, owner, tri_normals, inv_depth)
    img[edges] = img[edges] * 0.25 + _EDGE.astype(np.float32) * 0.75
    if len(highlight):
        _xray(img, big, pos, faces, owner, closed, ids, list(highlight))
    out = Image.fromarray(img.astype(np.uint8), "RGB")
    if supersample > 1:
        out = out.resize((width, height), Image.Resampling.BOX)  # exact supersampling
    if markers:
        _draw_markers(out, cam, big, ids, inv_depth, markers, supersample)
    return out


# --------------------------------------------------------------------------- internals


def _face_colors(
    geometry: TypeGeometry,
    nrm: FloatArray,
    faces: IntArray,
    owner: IntArray,
    cam: Camera,
    highlight: Sequence[int],
) -> FloatArray:
    base = np.array([hex_to_rgb(p.color) for p in geometry.parts]) * 255.0
    if len(highlight):
        base = base * 0.45 + 255.0 * 0.55  # ghost the other parts to make these pop
        base[list(highlight)] = np.array(hex_to_rgb(HIGHLIGHT)) * 255.0
    n = nrm[faces].mean(axis=1)
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    key = -cam.forward * 0.55 + cam.up * 0.65 - cam.right * 0.5
    key /= np.linalg.norm(key)
    fill = -cam.forward
    # two-sided: open meshes show their inside
    facing = np.sign(n @ fill)
    facing[facing == 0] = 1.0
    n = n * facing[:, None]
    shade = 0.42 + 0.48 * np.clip(n @ key, 0, 1) + 0.22 * np.clip(n @ fill, 0, 1)
    return np.asarray(np.clip(base[owner] * shade[:, None], 0, 255))


def _rasterise(
    cam: Camera, pos: FloatArray, faces: IntArray, closed: np.ndarray
) -> tuple[IdBuffer, DepthBuffer]:
    """Return the triangle id (-1 = none) and 1/depth of each pixel."""
    w, h = cam.width, cam.height
    ids = np.full((h, w), -1, dtype=np.int32)
    zbuf = np.zeros((h, w), dtype=np.float32)  # 1/depth; 0 = infinitely far
    sx, sy, z = cam.project(pos)
    iz = 1.0 / z
    tx, ty, tiz = sx[faces], sy[faces], iz[faces]
    area = (tx[:, 1] - tx[:, 0]) * (ty[:, 2] - ty[:, 0]) - (tx[:, 2] - tx[:, 0]) * (
        ty[:, 1] - ty[:, 0]
    )
    # counter-clockwise in the world is clockwise on a y-down screen: area < 0 faces us
    keep = (np.abs(area) > 1e-9) & ~(closed & (area > 0))
    x0 = np.clip(np.floor(tx.min(axis=1)), 0, w - 1).astype(np.int64)
    x1 = np.clip(np.ceil(tx.max(axis=1)), 0, w - 1).astype(np.int64)
    y0 = np.clip(np.floor(ty.min(axis=1)), 0, h - 1).astype(np.int64)
    y1 = np.clip(np.ceil(ty.max(axis=1)), 0, h - 1).astype(np.int64)
    # barycentric weights and 1/depth are affine in screen space: w = A x + B y + C
    ax, bx, cx = tx[:, 0], tx[:, 1], tx[:, 2]
    ay, by, cy = ty[:, 0], ty[:, 1], ty[:, 2]
    inv = 1.0 / np.where(keep, area, 1.0)
    a0, b0, c0 = (by - cy) * inv, (cx - bx) * inv, (bx * cy - cx * by) * inv
    a1, b1, c1 = (cy - ay) * inv, (ax - cx) * inv, (cx * ay - ax * cy) * inv
    d0, d1, d2 = tiz[:, 0] - tiz[:, 2], tiz[:, 1] - tiz[:, 2], tiz[:, 2]
    ad, bd, cd = a0 * d0 + a1 * d1, b0 * d0 + b1 * d1, d2 + c0 * d0 + c1 * d1
    eps = -1e-9
    for t in np.flatnonzero(keep):
        xs = np.arange(x0[t], x1[t] + 1) + 0.5
        ys = np.arange(y0[t], y1[t] + 1) + 0.5
        w0 = (a0[t] * xs)[None, :] + (b0[t] * ys + c0[t])[:, None]
        w1 = (a1[t] * xs)[None, :] + (b1[t] * ys + c1[t])[:, None]
        inside = (w0 >= eps) & (w1 >= eps) & (w0 + w1 <= 1.0 - eps)
        depth = (ad[t] * xs)[None, :] + (bd[t] * ys + cd[t])[:, None]
        region = (slice(y0[t], y1[t] + 1), slice(x0[t], x1[t] + 1))
        zr = zbuf[region]
        win = inside & (depth > zr)
        zr[win] = depth[win]
        ids[region][win] = t
    return ids, zbuf


def _xray(
    img: FloatArray,
    cam: Camera,
    pos: FloatArray,
    faces: IntArray,
    owner: IntArray,
    closed: np.ndarray,
    ids: IdBuffer,
    hot: list[int],
) -> None:
    """Show the hidden pixels of the parts ``hot`` through whatever covers them."""
    sel = np.flatnonzero(np.isin(owner, hot))
    solo, _ = _rasterise(cam, pos, faces[sel], closed[sel])
    there = solo >= 0
    seen = np.zeros_like(there)
    seen[ids >= 0] = np.isin(owner[ids[ids >= 0]], hot)
    hidden = there & ~seen
    if not hidden.any():
        return
    colour = np.array(hex_to_rgb(HIGHLIGHT)) * 255.0
    img[hidden] = img[hidden] * 0.45 + colour * 0.55
    rim = np.zeros_like(there)
    rim[:, :-1] |= there[:, :-1] != there[:, 1:]
    rim[:-1, :] |= there[:-1, :] != there[1:, :]
    rim[:, 1:] |= rim[:, :-1].copy()
    rim[1:, :] |= rim[:-1, :].copy()
    rim &= ~seen
    img[rim] = colour * 0.7


def _edges(
    ids: IdBuffer, owner: IntArray, tri_normals: FloatArray, inv_depth: DepthBuffer
) -> np.ndarray:
    """Return a mask of outline pixels: part boundaries, silhouettes, creases, depth jumps.

    Only neighbours showing different triangles can differ, so the tests run on those
    pixel pairs alone.
    """
    h, w = ids.shape
    mask = np.zeros((h, w), dtype=bool)
    for dy, dx in ((0, 1), (1, 0)):
        a_ids = ids[: h - dy, : w - dx]
        b_ids = ids[dy:, dx:]
        ys, xs = np.nonzero(a_ids != b_ids)
        ta, tb = a_ids[ys, xs], b_ids[ys, xs]
        both = (ta >= 0) & (tb >= 0)
        pa = np.where(ta >= 0, owner[np.maximum(ta, 0)], -1)
        pb = np.where(tb >= 0, owner[np.maximum(tb, 0)], -1)
        dot = np.einsum("ij,ij->i", tri_normals[np.maximum(ta, 0)], tri_normals[np.maximum(tb, 0)])
        da = 1.0 / np.maximum(inv_depth[ys, xs], 1e-12)
        db = 1.0 / np.maximum(inv_depth[ys + dy, xs + dx], 1e-12)
        jump = np.abs(da - db) > 0.03 * np.minimum(da, db)
        e = (pa != pb) | (both & ((dot < 0.8) | jump))
        mask[ys[e], xs[e]] = True
        mask[ys[e] + dy, xs[e] + dx] = True
    return mask


def _background(height: int) -> np.ndarray:
    """Return the colour of each image row (a light vertical gradient), float32."""
    u = np.linspace(0.0, 1.0, height)[:, None]
    return np.asarray(_BACKGROUND_TOP * (1 - u) + _BACKGROUND_BOTTOM * u, dtype=np.float32)


def place_labels(
    anchors: Sequence[tuple[float, float]],
    radius: float,
    size: tuple[int, int],
    *,
    dot: float = 0.0,
) -> list[tuple[float, float]]:
    """Return a centre for each numbered disc so that no disc hides another or an anchor.

    Each disc sits on a leader line from its anchor. Candidates are tried in order (up and to
    the right first, then the other diagonals and sides, each further out); the first whose
    bounding square keeps clear of every disc placed so far and of every other anchor dot,
    inside the image, wins. When nothing is clear (a crowded picture), the candidate with the least overlap is
    taken.

    Parameters
    ----------
    anchors
        Screen points (x, y) the discs label, in drawing order.
    radius
        Disc radius in pixels.
    size
        Image (width, height).
    dot
        Radius of the anchor dots to keep clear of.
    """
    w, h = size
    gap = radius * 0.25
    angles = [-45.0, -135.0, 45.0, 135.0, -90.0, 0.0, 180.0, 90.0, -67.5, -22.5, -112.5, -157.5]
    steps = [2.7, 3.6, 4.6, 5.8, 7.2]
    placed: list[tuple[float, float]] = []
    for k, (ax, ay) in enumerate(anchors):
        best: tuple[float, float, float] | None = None
        for dist in steps:
            for a in angles:
                qx = ax + math.cos(math.radians(a)) * radius * dist
                qy = ay + math.sin(math.radians(a)) * radius * dist
                inside = radius <= qx <= w - radius and radius <= qy <= h - radius
                # label boxes (a disc's bounding square) must not touch
                clash = sum(
                    max(0.0, 2 * radius + gap - max(abs(qx - px), abs(qy - py)))
                    for px, py in placed
                ) + sum(
                    max(0.0, radius + dot + gap - max(abs(qx - bx), abs(qy - by)))
                    for j, (bx, by) in enumerate(anchors)
                    if j != k
                )
                cost = clash + (0.0 if inside else 1e6)
                if best is None or cost < best[2]:
                    best = (qx, qy, cost)
                if cost == 0.0:
                    break
            if best is not None and best[2] == 0.0:
                break
        assert best is not None
        placed.append((best[0], best[1]))
    return placed


def _draw_markers(
    img: Image.Image,
    cam: Camera,
    big: Camera,
    ids: IdBuffer,
    inv_depth: DepthBuffer,
    markers: Sequence[Marker],
    supersample: int,
) -> None:
    draw = ImageDraw.Draw(img)
    r = max(11, round(min(img.size) * 0.028))
    font = ImageFont.load_default(size=round(r * 1.15))
    pts = np.array([m.point for m in markers], dtype=np.float64)
    sx, sy, z = cam.project(pts)
    bx, by, _ = big.project(pts)
    dot = max(3, r // 3)
    # the active marker is placed first (it gets the best spot) and drawn last (on top)
    order = sorted(range(len(markers)), key=lambda i: not markers[i].active)
    spots = place_labels([(float(sx[k]), float(sy[k])) for k in order], r * 1.2, img.size, dot=dot)
    centre = {k: spots[i] for i, k in enumerate(order)}
    img.info["marker_boxes"] = [
        (centre[k][0] - r * 1.2, centre[k][1] - r * 1.2, centre[k][0] + r * 1.2,
         centre[k][1] + r * 1.2) for k in range(len(markers))
    ]  # fmt: skip
    # every leader first, so that no line crosses a number drawn before it
    for k in range(len(markers)):
        px, py = float(sx[k]), float(sy[k])
        draw.line([(px, py), centre[k]], fill="#20262d", width=max(2, r // 6))
    for k in reversed(order):
        m = markers[k]
        px, py = float(sx[k]), float(sy[k])
        ix = int(np.clip(bx[k], 0, big.width - 1))
        iy = int(np.clip(by[k], 0, big.height - 1))
        hidden = ids[iy, ix] >= 0 and 1.0 / z[k] < inv_depth[iy, ix] * 0.985
        fill = HIGHLIGHT if m.active else "#1f5f99"
        if hidden:
            draw.ellipse(
                [px - dot, py - dot, px + dot, py + dot], outline=fill, width=2, fill="white"
            )
        else:
            draw.ellipse([px - dot, py - dot, px + dot, py + dot], fill=fill, outline="white")
        qx, qy = centre[k]
        rr = r * (1.2 if m.active else 1.0)
        draw.ellipse([qx - rr, qy - rr, qx + rr, qy + rr], fill=fill, outline="white", width=3)
        draw.text((qx, qy), m.label, fill="white", font=font, anchor="mm")
