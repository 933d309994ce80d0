"""The cron field of the Schedule Trigger's panel shows the next fire times, in the node's time zone."""

from __future__ import annotations

from hitl_studio.ui.editor.panel_views import schedule_previews as _schedule_previews

CRON_FIELD = [{"name": "cron", "path": "cron", "base_widget": "cron"}]


def test_next_fire_times_are_shown_in_the_nodes_time_zone() -> None:
    preview = _schedule_previews({"cron": "0 9 * * 1-5", "timezone": "Europe/Paris"}, CRON_FIELD)["cron"]
    assert preview.startswith("Next: ")
    assert preview.count("09:00:00") == 3
    assert "CET" in preview or "CEST" in preview


def test_a_rule_being_typed_shows_why_it_is_not_valid_yet() -> None:
    assert _schedule_previews({"cron": "61 * * *"}, CRON_FIELD)["cron"].startswith("⚠")
    assert _schedule_previews({"cron": "{{ $json.rule }}"}, CRON_FIELD) == {}
    assert _schedule_previews({"cron": "@every 30s"}, [{**CRON_FIELD[0], "base_widget": "text"}]) == {}
