"""A trial, the winner or a tied finalist of a study taken into Plan as a scenario (no Qt).

:func:`take_trial` writes a candidate's configuration as an ordinary scenario of the plant
beside the plant (a free name, never over an existing file, atomically and exclusively, with
a note naming the study, the trial and its objective values; see
:func:`~factory_twin.app.plan_files.save_new_scenario`), so the Plan workspace's list and the
Compare dock see it like any other scenario. Where the plant's folder cannot be written, the
scenario goes into the study's output folder instead (:func:`trial_scenario`) and the reason
is given. The Plan workspace's Optimise dock takes a clicked trial or the winner this way,
and ``factory-twin optimise`` saves the winner (or the tied finalists) the same way at the
end of a study (:mod:`factory_twin.app.optimise_select`).
"""

from __future__ import annotations

import io
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from factory_twin.app.experiment_job import slug
from factory_twin.app.optimise import (
    OptimiseOutcome,
    Planner,
    TrialRecord,
    describe_params,
    values_text,
)
from factory_twin.app.plan_files import save_new_scenario
from factory_twin.app.plan_session import change_data
from factory_twin.model.config import atomic_write_text
from factory_twin.model.scenario import is_scenario_path, load_scenario, loads_scenario
from factory_twin.model.study import StudyFile, study_stem

if TYPE_CHECKING:
    from factory_twin.app.optimise_select import Candidate

logger = logging.getLogger(__name__)


def plant_of(study: StudyFile) -> Path:
    """The plant file under a study's base (the base itself, or the end of its scenario chain)."""
    path = Path(study.base.path)
    seen: set[Path] = set()
    while study.base.scenario is not None and is_scenario_path(path):
        if path.resolve() in seen:
            break
        seen.add(path.resolve())
        path = load_scenario(path).base_path()
    return path


def _base_changes(study: StudyFile) -> list[dict[str, Any]]:
    """The changes of the study's base scenario chain (oldest first), none for a plant."""
    out: list[dict[str, Any]] = []
    doc = study.base.scenario
    seen: set[Path] = set()
    while doc is not None and doc.path is not None and doc.path.resolve() not in seen:
        seen.add(doc.path.resolve())
        out[:0] = [change_data(c) for c in doc.spec.changes]
        if doc.spec.base_scenario is None:
            break
        doc = load_scenario(doc.base_path())
    return out


_WHAT = {"winner": "the winner", "tied": "a statistically tied finalist", "trial": "a trial"}


def _trial_text(study: StudyFile, folder: Path, trial: TrialRecord, planner: Planner, name: str, role: str) -> str:  # fmt: skip
    """The scenario YAML of ``trial`` as a scenario in ``folder`` building on the plant.

    ``role`` is ``trial`` (values over the search's replications), ``winner`` or ``tied``
    (values over the final selection's).
    """
    from ruamel.yaml import YAML

    plant = plant_of(study).resolve()
    spec = study.spec
    final = role != "trial"
    reps = spec.selection.replications if final else spec.replications
    note = (
        f"{_WHAT[role]} of the optimisation study {study.name} ({study.path.name}), trial "
        f"{trial.number}: {describe_params(trial.params)}; objectives over {reps} "
        f"replication{'' if reps == 1 else 's'}: {values_text(spec, trial.values)}"
        + ("" if final or trial.feasible else " (infeasible)")
    )
    doc = {
        "name": name,
        "notes": note,
        "base": os.path.relpath(plant, folder.resolve()),
        "changes": _base_changes(study) + planner.changes(trial.params),
    }
    buf = io.StringIO()
    yaml = YAML()
    yaml.default_flow_style = None
    yaml.width = 4096
    yaml.dump(doc, buf)
    return buf.getvalue()


def _check_applies(text: str, path: Path) -> None:
    """Raise ConfigError (``file:line`` messages) unless ``text`` applies as the file ``path``."""
    loads_scenario(text, source=str(path), path=path).apply()


def _role(winner: bool, tied: bool) -> str:
    return "winner" if winner else "tied" if tied else "trial"


def _label(trial: TrialRecord, role: str) -> str:
    return {"winner": "winner", "tied": f"tied trial {trial.number}"}.get(role, f"trial {trial.number}")  # fmt: skip


def trial_scenario(study: StudyFile, out_dir: str | Path, trial: TrialRecord, planner: Planner | None = None, *, winner: bool = False, tied: bool = False) -> Path:  # fmt: skip
    """Write ``trial`` as a scenario of the plant in ``out_dir`` (replaced); return its path.

    The scenario builds on the plant file (a study on a scenario gets that scenario's
    changes first), so the Plan workspace opens it on the plant's floor; it is checked to
    apply before it is written.

    Raises
    ------
    ConfigError
        If the scenario does not apply (``file:line`` messages).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    role = _role(winner, tied)
    label = _label(trial, role)
    name = f"{study.name} {label}"
    path = out / f"{study_stem(study.path)}_{slug(label)}.scenario.yaml"
    text = _trial_text(study, out, trial, planner or Planner(study), name, role)
    _check_applies(text, path)
    atomic_write_text(path, text)
    return path


@dataclass(frozen=True)
class TakenTrial:
    """Where :func:`take_trial` put a trial's scenario.

    ``beside_plant`` tells whether it is in the plant's folder (Plan's list); ``written``
    is False when an identical scenario was there already and is reused; ``problem`` says
    why it is not beside the plant (the folder cannot be written).
    """

    path: Path
    beside_plant: bool
    written: bool = True
    problem: str = ""

    def message(self, what: str) -> str:
        """What became of it, in words (``what``: ``Trial 12`` or ``The winner``)."""
        if not self.beside_plant:
            return (
                f"{what} is not in Plan's scenario list: {self.problem}; its scenario was "
                f"saved in the study's folder instead: {self.path}"
            )
        done = "saved" if self.written else "is already"
        return f"{what} {done} beside the plant as {self.path.name} (Plan's scenario list)"


def take_trial(study: StudyFile, out_dir: str | Path, trial: TrialRecord, planner: Planner | None = None, *, winner: bool = False, tied: bool = False) -> TakenTrial:  # fmt: skip
    """Save ``trial`` (or the winner, or a tied finalist) as an ordinary scenario beside the plant.

    The file is ``<study>_trial_<n>.scenario.yaml`` (``<study>_winner``,
    ``<study>_tied_trial_<n>``) with the name ``<study> trial <n>`` (``<study> winner``,
    ``<study> tied trial <n>``) and a note naming the study, the trial, its
    configuration and its objective values; an existing scenario is never replaced (a
    numeric suffix is added, see :func:`~factory_twin.app.plan_files.save_new_scenario`),
    and the scenario is checked to apply before it is written, atomically. When the
    plant's folder cannot be written, it goes into ``out_dir`` (:func:`trial_scenario`).

    Raises
    ------
    ConfigError
        If the scenario does not apply (``file:line`` messages).
    """
    planner = planner or Planner(study)
    folder = plant_of(study).resolve().parent
    role = _role(winner, tied)
    label = _label(trial, role)
    name = f"{study.name} {label}"
    stem = slug(f"{slug(study.name)[:60]} {label}")

    def text(title: str) -> str:
        return _trial_text(study, folder, trial, planner, title, role)

    _check_applies(text(name), folder / f"{stem}.scenario.yaml")
    try:
        path, written = save_new_scenario(folder, stem, name, text)
    except OSError as exc:
        why = f"the plant's folder {folder} cannot be written ({exc.strerror or exc})"
        logger.warning("%s: saving the trial in %s", why, out_dir)
        return TakenTrial(trial_scenario(study, out_dir, trial, planner, winner=winner, tied=tied), False, problem=why)  # fmt: skip
    return TakenTrial(path, True, written)


def winner_trial(outcome: OptimiseOutcome | None) -> TrialRecord | None:
    """The finished study's winner as a trial (its final selection's values), or None."""
    sel = outcome.selection if outcome is not None else None
    return candidate_trial(sel.winner if sel is not None else None)


def candidate_trial(c: Candidate | None) -> TrialRecord | None:
    """A finalist of the final selection as a trial (its final values), or None (no trial)."""
    if c is None or c.trial is None:
        return None
    return TrialRecord(c.trial, dict(c.params), "complete", list(c.values), feasible=c.feasible, cost=c.cost)  # fmt: skip
