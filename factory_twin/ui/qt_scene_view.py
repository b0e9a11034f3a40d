"""The 3-D fab view widget: a pyvistaqt QtInteractor showing a :class:`FabScene`."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QPoint, Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel, QToolTip, QVBoxLayout, QWidget
from pyvistaqt import QtInteractor

from factory_twin.app.plant_state import PlantState
from factory_twin.model.geometry import PlantGeometry
from factory_twin.model.schema import PlantSpec
from factory_twin.ui.amhs_scene import HEAT_TAGS
from factory_twin.ui.render_quality import apply_quality
from factory_twin.ui.scene import BACKGROUND, FabScene
from factory_twin.ui.scene_camera import interpolate_camera
from factory_twin.ui.scene_colors import N_CODES, STATE_COLORS, STATE_LABELS
from factory_twin.ui.theme import current_dark

logger = logging.getLogger(__name__)

FLY_S = 0.6
LEGEND_TWO_COLUMNS_BELOW = 1000  # a view narrower (pixels) shows the state legend in two columns
LEGEND_GAP = 8  # pixels kept between the legend and the floor the overview frames
HEAT_SAMPLE_S = 0.25  # wall seconds between two heat-map samples of the view's own vehicles


class QtSceneView(QWidget):
    """Hosts the fab scene; emits :attr:`tool_selected` when a tool is clicked.

    Parameters
    ----------
    parent
        Parent widget.
    """

    tool_selected = Signal(str)  # "" when the selection is cleared
    tool_hovered = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plotter = QtInteractor(self, multi_samples=1, auto_update=False)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.plotter.interactor)
        # the state legend is a Qt overlay: free, where a VTK legend costs a lot per frame
        self.legend = QLabel(self)
        self.legend.setObjectName("state_legend")
        self.legend.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self._legend_columns = 1
        self._style_legend(True)
        self.scene: FabScene | None = None
        self.quality = False  # set by the View menu (ui/qt_render_quality_install.py)
        self.heat_map = False  # rail congestion colours (ui/qt_amhs_install.py)
        self.heat_measure = "blocked"  # what they show: amhs_scene.HEAT_MEASURES
        self.state: PlantState | None = None
        self._dark = current_dark()
        # pyvista's default grey until a plant is loaded otherwise: the theme's background
        self.plotter.renderers.set_background(BACKGROUND[self._dark])
        self._press: tuple[int, int] | None = None
        self._fit_cam: tuple | None = None  # the camera as framed for the whole floor
        self._view_closed = False  # close_view() released the render window
        self._fly_overview = False  # the flight under way goes to the overview
        self._fly: tuple[tuple, tuple, float] | None = None
        self._hover_due = 0.0
        self._last_hover = ""
        self._lots_shown = 0
        self.frames = 0
        self.last_frame_ms = 0.0
        self.frame_ms: list[float] = []
        self._render_t0 = time.perf_counter()
        self._last_lot_pos = np.zeros((0, 3))
        self._amhs_t: float | None = None  # plant clock of the vehicles drawn
        self._heat_sampled = 0.0  # monotonic time of the last heat-map sample
        # the hover text of a tool, where a workspace has more to say than its state
        self.tooltip_text: Callable[[str], str] | None = None
        rw = self.plotter.ren_win
        if rw is None:  # a new QtInteractor always has its window: only a closed one has not
            msg = "the 3-D view's render window is closed"
            raise RuntimeError(msg)
        rw.AddObserver("StartEvent", self._on_render_start)
        rw.AddObserver("EndEvent", self._on_render_end)
        iren = self.plotter.iren
        iren.add_observer("LeftButtonPressEvent", self._on_press)
        iren.add_observer("LeftButtonReleaseEvent", self._on_release)
        iren.add_observer("MouseMoveEvent", self._on_move)
        self._fly_timer = QTimer(self)
        self._fly_timer.setInterval(30)
        self._fly_timer.timeout.connect(self._on_fly_tick)

    # -- plant

    def set_plant(
        self,
        spec: PlantSpec,
        state: PlantState | None,
        *,
        dark: bool = True,
        geometry: PlantGeometry | None = None,
    ) -> None:
        """Build the scene of a plant (replaces the previous one)."""
        if self.scene is not None:
            self.scene.dispose()
        self.plotter.clear()
        self.plotter.clear_actors()
        self._dark = dark
        if geometry is not None and len(geometry.ids) != len(spec.equipment):
            geometry = None
        self.scene = FabScene(self.plotter, spec, dark=dark, show_legend=False, geometry=geometry)
        if self.quality:
            apply_quality(self.scene, True, render=False)
        if self.scene.amhs is not None:
            self.scene.amhs.set_heat_map(self.heat_map)
        self._style_legend(dark)
        self.state = state
        self._lots_shown = -1
        self._amhs_t = None
        self._fit_cam = self._camera_now()
        self.request_render()

    def _camera_now(self) -> tuple:
        return tuple(tuple(float(v) for v in p) for p in self.plotter.camera_position.to_list())

    def _refit(self) -> None:
        """Frame the whole floor again for the view's new shape, unless the camera has
        moved since it was framed (by the user or a workspace)."""
        if self.scene is None or self._fit_cam is None or self._fly is not None:
            return
        if self.plotter.ren_win is None:  # closed (close_view) before this ran
            return
        if self._camera_now() != self._fit_cam:
            self._fit_cam = None  # somebody moved it: theirs from now on
            return
        self._keep_floor_clear()
        self.scene.reset_camera(render=False)
        self._fit_cam = self._camera_now()
        self.request_render()

    def set_quality(self, on: bool) -> None:
        """Switch between the quality and the fast look (ui/render_quality.py)."""
        self.quality = on
        if self.scene is not None:
            apply_quality(self.scene, on, render=False)
            self.request_render()

    def set_heat_map(self, on: bool) -> None:
        """Colour the OHT rails by occupancy (ui/amhs_scene.py); kept across plants."""
        self.heat_map = on
        if self.scene is not None and self.scene.amhs is not None:
            self.scene.amhs.set_heat_map(on)
            self.request_render()

    def set_heat_measure(self, measure: str) -> None:
        """Show ``measure`` (amhs_scene.HEAT_MEASURES: blocked time or traffic) of the
        simulator's per-link figures on the heat map; kept across plants."""
        if measure not in HEAT_TAGS:
            msg = f"unknown heat map measure {measure!r}"
            raise ValueError(msg)
        self.heat_measure = measure
        if self.state is not None:
            self.state.vehicles.congestion_dirty = True  # read the other tag now
            self.refresh(states_dirty=False)

    def set_state(self, state: PlantState | None) -> None:
        """Follow another plant state object (after a replay seek)."""
        self.state = state
        if self.scene is not None and self.scene.amhs is not None:
            self.scene.amhs.set_congestion(None)  # until the new state has its own
            if state is not None:
                state.vehicles.congestion_dirty = True

    def set_dark(self, dark: bool) -> None:
        """Switch the scene's theme."""
        self._dark = dark
        if self.scene is not None:
            self.scene.set_theme(dark, render=False)
        else:
            self.plotter.renderers.set_background(BACKGROUND[dark])
        self.request_render()
        self._style_legend(dark)

    def _style_legend(self, dark: bool) -> None:
        # a narrow view: two columns, so the legend is half as tall over the floor
        cols = 2 if self.width() < LEGEND_TWO_COLUMNS_BELOW else 1
        self._legend_columns = cols
        per_col = -(-N_CODES // cols)

        def entry(i: int) -> str:
            if i >= N_CODES:
                return "<td></td><td></td>"
            sq = f"<span style='color:{STATE_COLORS[i]}; font-size:13pt'>■</span>"
            pad = " style='padding-right:8px'" if cols > 1 else ""
            return f"<td>{sq}</td><td{pad}>{STATE_LABELS[i]}</td>"

        rows = "".join(
            "<tr>" + "".join(entry(r + c * per_col) for c in range(cols)) + "</tr>"
            for r in range(per_col)
        )
        self.legend.setText(f"<table cellspacing=0 cellpadding=1>{rows}</table>")
        bg, fg = (
            ("rgba(22,25,30,210)", "#e6e6e6") if dark else ("rgba(255,255,255,220)", "#202020")
        )
        self.legend.setStyleSheet(
            f"QLabel#state_legend {{ background: {bg}; color: {fg}; border-radius: 4px;"
            " padding: 6px; }"
        )
        self.legend.adjustSize()
        self._place_legend()

    def _place_legend(self) -> None:
        self.legend.move(max(0, self.width() - self.legend.width() - 10), 10)
        self.legend.raise_()

    def _keep_floor_clear(self) -> None:
        """Tell the scene where the legend covers the view (the overview frames the floor
        clear of it); nothing while the legend is hidden."""
        if self.scene is None:
            return
        w, h = self.width(), self.height()
        if not self.legend.isVisibleTo(self) or w <= 0 or h <= 0:
            self.scene.keep_clear = None
            return
        g = self.legend.geometry().adjusted(-LEGEND_GAP, -LEGEND_GAP, LEGEND_GAP, LEGEND_GAP)
        self.scene.keep_clear = (
            2 * g.left() / w - 1, 1 - 2 * (g.bottom() + 1) / h,
            2 * (g.right() + 1) / w - 1, 1 - 2 * g.top() / h,
        )  # fmt: skip

    def resizeEvent(self, event: object) -> None:
        """Keep the legend in the top-right corner and, while nobody has moved the camera
        since the floor was framed, the whole floor in view."""
        super().resizeEvent(event)  # type: ignore[arg-type]
        if (2 if self.width() < LEGEND_TWO_COLUMNS_BELOW else 1) != self._legend_columns:
            self._style_legend(self._dark)
        self._place_legend()
        QTimer.singleShot(0, self._refit)  # once the render window has its new size

    def showEvent(self, event: object) -> None:
        """A view built while hidden (another workspace's tab) frames the floor for the
        shape it is shown in."""
        super().showEvent(event)  # type: ignore[arg-type]
        QTimer.singleShot(0, self._refit)

    def request_render(self) -> None:
        """Schedule one render (the widget's paint renders; never twice per frame)."""
        self.plotter.interactor.update()

    # -- per-tick refresh

    def refresh(self, *, states_dirty: bool) -> None:
        """Update colours and lot positions from the plant state; schedule one render."""
        scene, st = self.scene, self.state
        if scene is None or st is None:
            return
        changed = False
        if states_dirty:
            scene.set_states(st.codes, st.stale)
            changed = True
        n = st.lot_count()
        t_lots = st.estimated_clock()
        if n or self._lots_shown:
            pos, prod, _ = st.lot_positions(t_lots)
            if self._lots_shown != n or not np.array_equal(pos, self._last_lot_pos):
                scene.set_lots(pos, prod)
                self._last_lot_pos = pos
                changed = True
            self._lots_shown = n
        t = st.plant_clock_s
        if scene.amhs is not None and st.vehicles.congestion_dirty:
            # the simulator's per-link congestion: the heat map's values (else occupancy)
            st.vehicles.congestion_dirty = False
            m = self.heat_measure
            served = st.vehicles.congestion(scene.amhs.link_ids, HEAT_TAGS[m])
            scene.amhs.set_congestion(served, st.vehicles.window_s, measure=m)
            changed = changed or scene.amhs.heat_map
        if scene.amhs is not None and not len(st.vehicles):
            # no vehicles served one by one: one over each carrier riding the rails
            xy = st.carrying_vehicles(t_lots) if n else np.zeros((0, 2))
            # the heat map samples where they are a few times a wall second (locating every
            # vehicle on the rail each frame would cost more than drawing it)
            now = time.monotonic()
            sample = now - self._heat_sampled >= HEAT_SAMPLE_S or t_lots < (self._amhs_t or 0.0)
            if sample:
                self._heat_sampled = now
            loaded = np.zeros(len(xy), dtype=bool)
            moved = scene.amhs.set_vehicles(xy, loaded, t_lots if sample else None)
            changed = changed or moved or (scene.amhs.heat_map and sample)
            self._amhs_t = t_lots
        elif scene.amhs is not None and (st.vehicles.dirty or t != self._amhs_t):
            # the heat map counts the time since the last refresh on each vehicle's link
            st.vehicles.dirty = False
            self._amhs_t = t
            _, xy, loaded = st.vehicles.arrays()
            changed = scene.amhs.set_vehicles(xy, loaded, t) or changed
            changed = changed or scene.amhs.heat_map
        if changed:
            self.request_render()

    def _on_render_start(self, *_: object) -> None:
        self._render_t0 = time.perf_counter()

    def _on_render_end(self, *_: object) -> None:
        self.last_frame_ms = (time.perf_counter() - self._render_t0) * 1000
        self.frame_ms.append(self.last_frame_ms)
        if len(self.frame_ms) > 4000:
            del self.frame_ms[:2000]
        self.frames += 1

    # -- selection and cameras

    def select(self, tool_id: str | None) -> None:
        """Highlight a tool (no signal)."""
        if self.scene is None:
            return
        self.scene.select(tool_id or None)
        self.request_render()

    def fly_to(self, cam: tuple) -> None:
        """Animate the camera to ``cam`` over a fraction of a second."""
        if self.scene is None:
            return
        self._fly = (self._camera_now(), cam, time.monotonic())
        self._fly_overview = False
        self._fly_timer.start()

    def fly_to_tool(self, tool_id: str) -> None:
        """Fly the camera close to a tool."""
        if self.scene is not None and tool_id in self.scene.index:
            self.fly_to(self.scene.tool_camera(tool_id))

    def fly_to_bay(self, bay_id: str) -> None:
        """Frame one bay."""
        if self.scene is not None:
            self.fly_to(self.scene.bay_camera(bay_id))

    def overview(self) -> None:
        """Show the whole floor."""
        if self.scene is not None:
            self._keep_floor_clear()
            self.fly_to(self.scene.overview_camera())
            self._fly_overview = True  # framed again when it lands

    def reset_view(self) -> None:
        """Jump back to the overview with no animation (nothing once the view is closed: a
        reset queued by a tab switch may come after the window closed)."""
        if self.scene is not None and not self._view_closed:
            self._fly_timer.stop()
            self._fly = None
            self._keep_floor_clear()
            self.scene.reset_camera(render=False)
            self._fit_cam = self._camera_now()
            self.request_render()

    def _on_fly_tick(self) -> None:
        if self._fly is None or self.scene is None:
            self._fly_timer.stop()
            return
        a, b, t0 = self._fly
        f = min((time.monotonic() - t0) / FLY_S, 1.0)
        self.scene.set_camera(interpolate_camera(a, b, f), render=False)
        self.request_render()
        if f >= 1.0:
            self._fly = None
            self._fly_timer.stop()
            if self._fly_overview:
                self._fit_cam = self._camera_now()

    # -- picking

    def widget_position_of(self, tool_id: str) -> QPoint:
        """Return where a tool appears in the interactor widget (Qt logical pixels)."""
        assert self.scene is not None
        x, y = self.scene.display_position(tool_id)
        w = self.plotter.interactor
        ratio = w.devicePixelRatioF() or 1.0
        return QPoint(round(x / ratio), round(w.height() - y / ratio))

    def pick(self, x: float, y: float) -> str | None:
        """Return the tool at VTK display coordinates."""
        return self.scene.tool_at_display(x, y) if self.scene is not None else None

    def _on_press(self, obj: object, event: str) -> None:
        self._press = tuple(self.plotter.iren.get_event_position())

    def _on_release(self, obj: object, event: str) -> None:
        pos = tuple(self.plotter.iren.get_event_position())
        press, self._press = self._press, None
        if press is None or abs(pos[0] - press[0]) + abs(pos[1] - press[1]) > 4:
            return  # a drag (camera rotation), not a click
        tid = self.pick(*pos) or ""
        self.select(tid or None)
        self.tool_selected.emit(tid)

    def _on_move(self, obj: object, event: str) -> None:
        now = time.monotonic()
        if self._press is not None or now < self._hover_due or self.scene is None:
            return
        self._hover_due = now + 0.08  # throttle picking on software GL
        x, y = self.plotter.iren.get_event_position()
        tid = self.pick(x, y) or ""
        if tid != self._last_hover:
            self._last_hover = tid
            self.tool_hovered.emit(tid)
        w = self.plotter.interactor
        if tid:
            st = self.state
            text = tid
            if self.tooltip_text is not None:
                text = self.tooltip_text(tid)
            elif st is not None:
                i = st.index[tid]
                s = st.state_of(tid)
                text = f"{tid}\n{s.value.replace('_', ' ') if s else 'no data'}"
                if st.stale[i]:
                    text += " (stale)"
                if st.lot[i]:
                    text += f"\nlot {st.lot[i]}"
            ratio = w.devicePixelRatioF() or 1.0
            QToolTip.showText(
                w.mapToGlobal(QPoint(int(x / ratio) + 12, int(w.height() - y / ratio) + 12)),
                text,
                w,
            )
        else:
            QToolTip.hideText()

    def screenshot(self) -> np.ndarray:
        """Return the current 3-D image (rows top to bottom, RGB)."""
        img = self.plotter.screenshot(return_img=True)
        if img is None:  # only when asked to write a file instead
            msg = "the 3-D view returned no image"
            raise RuntimeError(msg)
        return np.asarray(img)

    def close_view(self) -> None:
        """Release the render window (call before the widget is deleted)."""
        self._view_closed = True
        self._fly_timer.stop()
        self._fit_cam = None
        try:
            self.plotter.close()
        except Exception:
            logger.debug("closing the plotter failed", exc_info=True)
