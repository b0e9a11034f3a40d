// factory_twin offline procedure viewer.
//
// A small software renderer (z-buffer rasteriser into a 2-D canvas, the same algorithm as
// factory_twin/ar/render.py): no WebGL, no libraries, no network, so it draws the same on
// any tablet browser. Drag to orbit, pinch or scroll to zoom, double-tap to reset.
"use strict";
(function () {
  const model = JSON.parse(document.getElementById("ft-model").textContent);
  const canvas = document.getElementById("ft-canvas");
  const g2d = canvas.getContext("2d");
  const view = document.getElementById("ft-view");
  const hotLayer = document.getElementById("ft-hotspots");
  const DEG = Math.PI / 180;
  const FOV = 30 * DEG;
  const HOT = [255, 122, 0];
  const EDGE = [38, 44, 52];
  const BG_TOP = [250, 251, 253];
  const BG_BOTTOM = [222, 227, 234];

  // ---------------------------------------------------------------- geometry
  let nv = 0;
  let nt = 0;
  for (const p of model.parts) {
    nv += p.pos.length / 3;
    nt += p.idx.length / 3;
  }
  const P = new Float64Array(nv * 3); // tool frame, z up, metres
  const TRI = new Int32Array(nt * 3);
  const TN = new Float64Array(nt * 3); // triangle normal = mean of its vertex normals
  const OWNER = new Int32Array(nt);
  const CLOSED = new Uint8Array(nt);
  {
    let vb = 0;
    let tb = 0;
    model.parts.forEach((p, pi) => {
      P.set(p.pos, vb * 3);
      const count = p.idx.length / 3;
      for (let t = 0; t < count; t++) {
        const a = p.idx[3 * t];
        const b = p.idx[3 * t + 1];
        const c = p.idx[3 * t + 2];
        const k = tb + t;
        TRI[3 * k] = vb + a;
        TRI[3 * k + 1] = vb + b;
        TRI[3 * k + 2] = vb + c;
        let x = p.nrm[3 * a] + p.nrm[3 * b] + p.nrm[3 * c];
        let y = p.nrm[3 * a + 1] + p.nrm[3 * b + 1] + p.nrm[3 * c + 1];
        let z = p.nrm[3 * a + 2] + p.nrm[3 * b + 2] + p.nrm[3 * c + 2];
        const len = Math.hypot(x, y, z) || 1;
        TN[3 * k] = x / len;
        TN[3 * k + 1] = y / len;
        TN[3 * k + 2] = z / len;
        OWNER[k] = pi;
        CLOSED[k] = p.closed ? 1 : 0;
      }
      vb += p.pos.length / 3;
      tb += count;
    });
  }
  const lo = model.bounds[0];
  const hi = model.bounds[1];
  const centre = [(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, (lo[2] + hi[2]) / 2];
  const radius = Math.max(0.5 * Math.hypot(hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]), 1e-3);
  const BASE_DIST = (radius / Math.sin(FOV / 2)) * 1.05; // the camera never enters the tool

  // ---------------------------------------------------------------- state
  const state = {
    az: model.view[0],
    el: model.view[1],
    zoom: 1,
    selected: -1, // index into model.steps, -1 = overview
  };
  let W = 0;
  let H = 0;
  let ids = null;
  let zb = null;
  let solo = null;
  let soloZ = null;
  let image = null;
  let bg = null;
  let sx = new Float64Array(nv);
  let sy = new Float64Array(nv);
  let iz = new Float64Array(nv);
  let cam = null;
  let lastScale = 1;

  function camera(scale) {
    const a = state.az * DEG;
    const e = state.el * DEG;
    const dir = [Math.cos(e) * Math.cos(a), Math.cos(e) * Math.sin(a), Math.sin(e)];
    const dist = BASE_DIST;
    const eye = [centre[0] + dir[0] * dist, centre[1] + dir[1] * dist, centre[2] + dir[2] * dist];
    const f = [-dir[0], -dir[1], -dir[2]];
    let r = [f[1], -f[0], 0]; // f x (0, 0, 1)
    let rl = Math.hypot(r[0], r[1]);
    if (rl < 1e-6) {
      r = [1, 0, 0];
      rl = 1;
    }
    r = [r[0] / rl, r[1] / rl, 0];
    const u = [r[1] * f[2] - r[2] * f[1], r[2] * f[0] - r[0] * f[2], r[0] * f[1] - r[1] * f[0]];
    const focal = ((Math.min(W, H) / 2) * state.zoom) / Math.tan(FOV / 2);
    return { eye, f, r, u, focal, cx: W / 2, cy: H / 2, near: radius * 0.02, scale };
  }

  // zoom (a focal length factor) that fills 88 % of the view with the tool seen from az, el
  function fitZoom(az, el) {
    const keep = [state.az, state.el, state.zoom];
    state.az = az;
    state.el = el;
    state.zoom = 1;
    resize(fullScale());
    const c = camera(1);
    let ex = 1e-9;
    let ey = 1e-9;
    for (let i = 0; i < nv; i++) {
      const q = project(c, P[3 * i], P[3 * i + 1], P[3 * i + 2]);
      ex = Math.max(ex, Math.abs(q[0] - c.cx));
      ey = Math.max(ey, Math.abs(q[1] - c.cy));
    }
    [state.az, state.el, state.zoom] = keep;
    return Math.min((W * 0.44) / ex, (H * 0.44) / ey);
  }

  function project(c, x, y, z) {
    const dx = x - c.eye[0];
    const dy = y - c.eye[1];
    const dz = z - c.eye[2];
    const vx = dx * c.r[0] + dy * c.r[1] + dz * c.r[2];
    const vy = dx * c.u[0] + dy * c.u[1] + dz * c.u[2];
    const vz = Math.max(dx * c.f[0] + dy * c.f[1] + dz * c.f[2], 1e-6);
    return [c.cx + (c.focal * vx) / vz, c.cy - (c.focal * vy) / vz, 1 / vz, vz];
  }

  function resize(scale) {
    const rect = view.getBoundingClientRect();
    const w = Math.max(1, Math.round(rect.width * scale));
    const h = Math.max(1, Math.round(rect.height * scale));
    if (w === W && h === H) return;
    W = w;
    H = h;
    canvas.width = W;
    canvas.height = H;
    ids = new Int32Array(W * H);
    zb = new Float32Array(W * H);
    solo = new Int32Array(W * H);
    soloZ = new Float32Array(W * H);
    image = g2d.createImageData(W, H);
    bg = new Uint8ClampedArray(H * 3);
    for (let y = 0; y < H; y++) {
      const t = H > 1 ? y / (H - 1) : 0;
      for (let k = 0; k < 3; k++) bg[3 * y + k] = BG_TOP[k] * (1 - t) + BG_BOTTOM[k] * t;
    }
  }

  function rasterise(c, only, outIds, outZ) {
    // only: null for every part, else a flag per part (the highlighted ones)
    outIds.fill(-1);
    outZ.fill(0);
    for (let t = 0; t < nt; t++) {
      if (only && !only[OWNER[t]]) continue;
      const a = TRI[3 * t];
      const b = TRI[3 * t + 1];
      const d = TRI[3 * t + 2];
      if (iz[a] <= 0 || iz[b] <= 0 || iz[d] <= 0) continue; // behind the near plane
      const x0 = sx[a];
      const y0 = sy[a];
      const x1 = sx[b];
      const y1 = sy[b];
      const x2 = sx[d];
      const y2 = sy[d];
      const area = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0);
      if (Math.abs(area) < 1e-9) continue;
      if (CLOSED[t] && area > 0) continue; // back face of a closed solid
      const minX = Math.max(0, Math.floor(Math.min(x0, x1, x2)));
      const maxX = Math.min(W - 1, Math.ceil(Math.max(x0, x1, x2)));
      const minY = Math.max(0, Math.floor(Math.min(y0, y1, y2)));
      const maxY = Math.min(H - 1, Math.ceil(Math.max(y0, y1, y2)));
      if (minX > maxX || minY > maxY) continue;
      const iz0 = iz[a];
      const iz1 = iz[b];
      const iz2 = iz[d];
      const inv = 1 / area;
      for (let y = minY; y <= maxY; y++) {
        const py = y + 0.5;
        let k = y * W + minX;
        for (let x = minX; x <= maxX; x++, k++) {
          const px = x + 0.5;
          const w0 = ((x1 - px) * (y2 - py) - (x2 - px) * (y1 - py)) * inv;
          if (w0 < -1e-9) continue;
          const w1 = ((x2 - px) * (y0 - py) - (x0 - px) * (y2 - py)) * inv;
          if (w1 < -1e-9) continue;
          const w2 = 1 - w0 - w1;
          if (w2 < -1e-9) continue;
          const depth = w0 * iz0 + w1 * iz1 + w2 * iz2;
          if (depth > outZ[k]) {
            outZ[k] = depth;
            outIds[k] = t;
          }
        }
      }
    }
  }

  function render(scale) {
    lastScale = scale;
    resize(scale);
    cam = camera(scale);
    for (let i = 0; i < nv; i++) {
      const q = project(cam, P[3 * i], P[3 * i + 1], P[3 * i + 2]);
      sx[i] = q[0];
      sy[i] = q[1];
      iz[i] = q[3] > cam.near ? q[2] : -1;
    }
    rasterise(cam, null, ids, zb);
    // the step's highlighted parts (the lid alone for a lid), one flag per part
    const hotParts = state.selected >= 0 ? model.steps[state.selected].hot : [];
    const hot = new Uint8Array(model.parts.length);
    for (const p of hotParts) hot[p] = 1;
    const highlight = hotParts.length > 0;
    // per-triangle colour: two lights fixed to the camera
    let key = [
      -cam.f[0] * 0.55 + cam.u[0] * 0.65 - cam.r[0] * 0.5,
      -cam.f[1] * 0.55 + cam.u[1] * 0.65 - cam.r[1] * 0.5,
      -cam.f[2] * 0.55 + cam.u[2] * 0.65 - cam.r[2] * 0.5,
    ];
    const kl = Math.hypot(key[0], key[1], key[2]);
    key = [key[0] / kl, key[1] / kl, key[2] / kl];
    const col = new Uint8ClampedArray(nt * 3);
    for (let t = 0; t < nt; t++) {
      let nx = TN[3 * t];
      let ny = TN[3 * t + 1];
      let nz = TN[3 * t + 2];
      const fill = -(nx * cam.f[0] + ny * cam.f[1] + nz * cam.f[2]);
      const sgn = fill < 0 ? -1 : 1;
      nx *= sgn;
      ny *= sgn;
      nz *= sgn;
      const shade =
        0.42 +
        0.48 * Math.max(0, nx * key[0] + ny * key[1] + nz * key[2]) +
        0.22 * Math.max(0, fill * sgn);
      const p = OWNER[t];
      let base = model.parts[p].color;
      if (highlight) base = hot[p] ? HOT : base.map((v) => v * 0.45 + 255 * 0.55);
      col[3 * t] = base[0] * shade;
      col[3 * t + 1] = base[1] * shade;
      col[3 * t + 2] = base[2] * shade;
    }
    const data = image.data;
    let drawn = 0;
    for (let y = 0, k = 0; y < H; y++) {
      for (let x = 0; x < W; x++, k++) {
        const t = ids[k];
        const o = 4 * k;
        if (t < 0) {
          data[o] = bg[3 * y];
          data[o + 1] = bg[3 * y + 1];
          data[o + 2] = bg[3 * y + 2];
        } else {
          drawn++;
          data[o] = col[3 * t];
          data[o + 1] = col[3 * t + 1];
          data[o + 2] = col[3 * t + 2];
        }
        data[o + 3] = 255;
      }
    }
    outline(data);
    if (highlight) xray(data, hot);
    g2d.putImageData(image, 0, 0);
    placeHotspots();
    return drawn;
  }

  function isEdge(k, m) {
    const a = ids[k];
    const b = ids[m];
    const pa = a >= 0 ? OWNER[a] : -1;
    const pb = b >= 0 ? OWNER[b] : -1;
    if (pa !== pb) return true;
    if (a < 0) return false;
    const dot = TN[3 * a] * TN[3 * b] + TN[3 * a + 1] * TN[3 * b + 1] + TN[3 * a + 2] * TN[3 * b + 2];
    if (dot < 0.8) return true;
    const da = 1 / zb[k];
    const db = 1 / zb[m];
    return Math.abs(da - db) > 0.03 * Math.min(da, db);
  }

  function darken(data, k) {
    const o = 4 * k;
    data[o] = data[o] * 0.25 + EDGE[0] * 0.75;
    data[o + 1] = data[o + 1] * 0.25 + EDGE[1] * 0.75;
    data[o + 2] = data[o + 2] * 0.25 + EDGE[2] * 0.75;
  }

  function outline(data) {
    const mark = new Uint8Array(W * H);
    const width = lastScale >= 1.5 ? 2 : 1;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const k = y * W + x;
        if (x + 1 < W && isEdge(k, k + 1)) {
          mark[k] = 1;
          if (width > 1) mark[k + 1] = 1;
        }
        if (y + 1 < H && isEdge(k, k + W)) {
          mark[k] = 1;
          if (width > 1) mark[k + W] = 1;
        }
      }
    }
    for (let k = 0; k < W * H; k++) if (mark[k]) darken(data, k);
  }

  function xray(data, hot) {
    // show the hidden pixels of the highlighted parts through what covers them
    rasterise(cam, hot, solo, soloZ);
    for (let k = 0; k < W * H; k++) {
      if (solo[k] < 0) continue;
      const t = ids[k];
      if (t >= 0 && hot[OWNER[t]]) continue;
      const o = 4 * k;
      const rim =
        (k % W > 0 && solo[k - 1] < 0) ||
        (k % W < W - 1 && solo[k + 1] < 0) ||
        (k >= W && solo[k - W] < 0) ||
        (k < W * (H - 1) && solo[k + W] < 0);
      const m = rim ? 1 : 0.55;
      data[o] = data[o] * (1 - m) + HOT[0] * (rim ? 0.7 : 1) * m;
      data[o + 1] = data[o + 1] * (1 - m) + HOT[1] * (rim ? 0.7 : 1) * m;
      data[o + 2] = data[o + 2] * (1 - m) + HOT[2] * (rim ? 0.7 : 1) * m;
    }
  }

  // ---------------------------------------------------------------- hotspots
  const hotspots = model.steps.map((st, i) => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "hotspot";
    b.textContent = String(st.number);
    b.title = st.number + ". " + st.title;
    b.setAttribute("aria-label", "Step " + st.number + ": " + st.title);
    b.dataset.step = String(st.number);
    b.addEventListener("click", (ev) => {
      ev.stopPropagation();
      select(i, true);
    });
    hotLayer.appendChild(b);
    return b;
  });
  function placeHotspots() {
    let visible = 0;
    const spots = model.steps.map((st, i) => {
      const q = project(cam, st.anchor[0], st.anchor[1], st.anchor[2]);
      const px = Math.floor(q[0]);
      const py = Math.floor(q[1]);
      let behind = false;
      if (px >= 0 && py >= 0 && px < W && py < H) {
        visible++;
        const k = py * W + px;
        behind = ids[k] >= 0 && q[2] < zb[k] * 0.985;
      }
      return { i, x: q[0] / cam.scale, y: q[1] / cam.scale, behind };
    });
    // hotspots closer than a finger's width move sideways until every number is tappable;
    // the selected step keeps its place, then the others in step order
    const order = spots.slice().sort((a, b) => (b.i === state.selected) - (a.i === state.selected) || a.i - b.i);
    const placed = [];
    for (const s of order) {
      let x = s.x;
      for (let tries = 0; tries < 20; tries++) {
        const clash = placed.some((p) => Math.abs(p.x - x) < 38 && Math.abs(p.y - s.y) < 38);
        if (!clash) break;
        x += 40;
      }
      s.x = x;
      placed.push(s);
    }
    for (const s of spots) {
      const b = hotspots[s.i];
      b.style.transform = "translate(" + s.x.toFixed(1) + "px," + s.y.toFixed(1) + "px)";
      b.classList.toggle("behind", s.behind);
      b.classList.toggle("active", s.i === state.selected);
    }
    document.body.dataset.hotspots = String(visible);
  }

  // ---------------------------------------------------------------- selection
  const items = Array.from(document.querySelectorAll("#ft-steps button"));
  const details = Array.from(document.querySelectorAll("#ft-detail article"));

  function select(i, animate) {
    state.selected = i;
    items.forEach((b, k) => {
      if (k === i + 1) b.setAttribute("aria-current", "step");
      else b.removeAttribute("aria-current");
    });
    details.forEach((d, k) => {
      d.hidden = k !== i + 1;
    });
    document.body.dataset.selected = String(i + 1);
    const target = i >= 0 ? model.steps[i].view : model.view;
    if (items[i + 1] && items[i + 1].scrollIntoView) items[i + 1].scrollIntoView({ block: "nearest" });
    fly(target[0], target[1], fitZoom(target[0], target[1]), animate);
  }

  let flight = 0;
  function fly(az, el, zoom, animate) {
    const az0 = state.az;
    const el0 = state.el;
    const z0 = state.zoom;
    const daz = ((((az - az0 + 180) % 360) + 360) % 360) - 180;
    const id = ++flight;
    if (!animate || !window.requestAnimationFrame) {
      state.az = az0 + daz;
      state.el = el;
      state.zoom = zoom;
      render(fullScale());
      return;
    }
    const start = performance.now();
    const step = (now) => {
      if (id !== flight) return;
      const u = Math.min(1, (now - start) / 450);
      const e = u < 0.5 ? 2 * u * u : 1 - Math.pow(-2 * u + 2, 2) / 2;
      state.az = az0 + daz * e;
      state.el = el0 + (el - el0) * e;
      state.zoom = z0 + (zoom - z0) * e;
      if (u < 1) {
        render(1);
        requestAnimationFrame(step);
      } else {
        render(fullScale());
      }
    };
    requestAnimationFrame(step);
  }

  items.forEach((b, k) => b.addEventListener("click", () => select(k - 1, true)));
  document.getElementById("ft-prev").addEventListener("click", () => {
    select(Math.max(-1, state.selected - 1), true);
  });
  document.getElementById("ft-next").addEventListener("click", () => {
    select(Math.min(model.steps.length - 1, state.selected + 1), true);
  });
  function resetView() {
    const v = state.selected >= 0 ? model.steps[state.selected].view : model.view;
    fly(v[0], v[1], fitZoom(v[0], v[1]), true);
  }
  document.getElementById("ft-reset").addEventListener("click", resetView);
  document.addEventListener("keydown", (ev) => {
    if (ev.target && ev.target.tagName === "INPUT") return;
    if (ev.key === "ArrowRight" || ev.key === "ArrowDown") {
      select(Math.min(model.steps.length - 1, state.selected + 1), true);
      ev.preventDefault();
    } else if (ev.key === "ArrowLeft" || ev.key === "ArrowUp") {
      select(Math.max(-1, state.selected - 1), true);
      ev.preventDefault();
    }
  });

  // acceptance: check a typed value against the limits (nothing is stored)
  document.querySelectorAll("input[data-min], input[data-max]").forEach((inp) => {
    inp.addEventListener("input", () => {
      const out = inp.parentElement.querySelector(".verdict");
      const v = parseFloat(inp.value.replace(",", "."));
      if (Number.isNaN(v)) {
        out.textContent = "";
        out.className = "verdict";
        return;
      }
      const mn = inp.dataset.min === "" ? -Infinity : parseFloat(inp.dataset.min);
      const mx = inp.dataset.max === "" ? Infinity : parseFloat(inp.dataset.max);
      const ok = v >= mn && v <= mx;
      out.textContent = ok ? "\u2713 within limits" : "\u2717 out of limits";
      out.className = "verdict " + (ok ? "ok" : "bad");
    });
  });

  // ---------------------------------------------------------------- orbit, zoom
  const pointers = new Map();
  let pinch = 0;
  let idle = 0;
  function fullScale() {
    return Math.min(window.devicePixelRatio || 1, 2);
  }
  function interact() {
    flight++; // cancel a camera flight
    render(1);
    clearTimeout(idle);
    idle = setTimeout(() => render(fullScale()), 150);
  }
  canvas.addEventListener("pointerdown", (ev) => {
    canvas.setPointerCapture(ev.pointerId);
    pointers.set(ev.pointerId, [ev.clientX, ev.clientY]);
    if (pointers.size === 2) {
      const [a, b] = Array.from(pointers.values());
      pinch = Math.hypot(a[0] - b[0], a[1] - b[1]);
    }
  });
  canvas.addEventListener("pointermove", (ev) => {
    if (!pointers.has(ev.pointerId)) return;
    const prev = pointers.get(ev.pointerId);
    pointers.set(ev.pointerId, [ev.clientX, ev.clientY]);
    if (pointers.size === 1) {
      state.az -= (ev.clientX - prev[0]) * 0.4;
      state.el = Math.max(-10, Math.min(89, state.el + (ev.clientY - prev[1]) * 0.4));
    } else if (pointers.size === 2) {
      const [a, b] = Array.from(pointers.values());
      const d = Math.hypot(a[0] - b[0], a[1] - b[1]);
      if (pinch > 0) state.zoom = Math.max(0.3, Math.min(12, (state.zoom * d) / pinch));
      pinch = d;
    }
    interact();
  });
  const up = (ev) => {
    pointers.delete(ev.pointerId);
    pinch = 0;
  };
  canvas.addEventListener("pointerup", up);
  canvas.addEventListener("pointercancel", up);
  canvas.addEventListener(
    "wheel",
    (ev) => {
      ev.preventDefault();
      state.zoom = Math.max(0.3, Math.min(12, state.zoom * Math.exp(-ev.deltaY * 0.0015)));
      interact();
    },
    { passive: false },
  );
  canvas.addEventListener("dblclick", resetView);
  if (window.ResizeObserver) {
    new ResizeObserver(() => render(fullScale())).observe(view);
  } else {
    window.addEventListener("resize", () => render(fullScale()));
  }

  // ---------------------------------------------------------------- start
  const m = /step=(\d+)/.exec(window.location.hash || "");
  const first = m ? Math.min(model.steps.length, Math.max(1, parseInt(m[1], 10))) - 1 : -1;
  select(first, false);
  const drawn = render(fullScale());
  document.body.dataset.triangles = String(nt);
  document.body.dataset.drawn = String(drawn);
  document.body.dataset.state = "ready";
})();
