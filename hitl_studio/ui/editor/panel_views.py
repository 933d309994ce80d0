"""What the editor's panels show, computed from plain data: item tables, validation problems, cron previews.

Pure functions, so the state classes stay about events and the rules here are tested without a browser.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo


def problems_by_node(problems: list[Mapping[str, Any]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for problem in problems:
        name = problem.get("node")
        if name:
            prefix = f"{problem['parameter']}: " if problem.get("parameter") else ""
            found[name] = (found[name] + "; " if name in found else "") + prefix + str(problem.get("message", ""))
    return found


def problem_lines(problems: list[Mapping[str, Any]]) -> list[str]:
    return [
        (f"{p['node']}: " if p.get("node") else "")
        + (f"{p['parameter']}: " if p.get("parameter") else "")
        + str(p.get("message", ""))
        for p in problems
    ]


def _columns(items: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for item in items[:200]:
        for key in item:
            seen.setdefault(str(key), None)
    return list(seen)[:30]


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 200 else text[:200] + "…"


def item_table(items: list[dict[str, Any]]) -> dict[str, Any]:
    columns = _columns(items)
    return {"columns": columns, "rows": [[_cell(item.get(column)) for column in columns] for item in items[:200]]}


def schedule_previews(parameters: Mapping[str, Any], fields: list[dict[str, Any]]) -> dict[str, str]:
    """The next fire times under each cron field, so a builder sees what the expression means."""
    from nodes.triggers.schedule import next_fire_times

    found = {}
    timezone = str(parameters.get("timezone") or "UTC")
    for field in fields:
        rule = str(parameters.get(field["name"]) or "").strip()
        if field["base_widget"] != "cron" or not rule or "{{" in rule:
            continue
        try:
            times = [moment.astimezone(ZoneInfo(timezone)) for moment in next_fire_times(rule, timezone, 3)]
        except Exception as err:  # croniter and zoneinfo raise several kinds for a rule being typed
            found[field["path"]] = f"⚠ {err}"
            continue
        found[field["path"]] = "Next: " + ", ".join(moment.strftime("%a %d %b %H:%M:%S %Z") for moment in times)
    return found
