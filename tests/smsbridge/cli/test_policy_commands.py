"""The contract's policy commands, run as a user runs them: exit codes and what they store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlmodel import Session, select

from models import Portal, StopListEntry
from models.database import make_sync_engine

MEMBER = "policy-portal"
SMSBRIDGE = str(Path(sys.executable).with_name("smsbridge"))


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    names = ("DATABASE_URL", "WEBHOOK_SECRET", "SMSRU_API_ID", "SMSRU_API_URL", "PUBLIC_URL")
    base = {key: value for key, value in os.environ.items() if key not in names}
    return subprocess.run(
        [SMSBRIDGE, *args], cwd=cwd, env=base | env, capture_output=True, text=True, timeout=60
    )


def database(tmp_path: Path) -> dict[str, str]:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'policy.db'}"}
    assert run(["portal", "add", MEMBER], tmp_path, **env).returncode == 0
    return env


def test_stop_list_add_list_remove_and_import(tmp_path: Path) -> None:
    env = database(tmp_path)
    added = run(
        ["stop-list", "add", "8 (916) 123-45-67", "--portal", MEMBER, "--reason", "STOP"],
        tmp_path,
        **env,
    )
    assert added.returncode == 0, added.stderr
    assert "+79161234567 added" in added.stderr
    again = run(["stop-list", "add", "+79161234567", "--portal", MEMBER], tmp_path, **env)
    assert again.returncode == 0 and "already on" in again.stderr
    csv = tmp_path / "optouts.csv"
    csv.write_text("phone,name\n+79160000001,Иван\n+7 916 CALL-NOW,?\n89160000002,Пётр\n")
    imported = run(["stop-list", "import", str(csv), "--portal", MEMBER], tmp_path, **env)
    assert imported.returncode == 0, imported.stderr
    assert "line 3: has letters" in imported.stderr and "2 added" in imported.stderr
    listed = run(["stop-list", "list", "--portal", MEMBER], tmp_path, **env)
    assert listed.returncode == 0
    for phone in ("+79161234567", "+79160000001", "+79160000002"):
        assert phone in listed.stdout
    assert "STOP" in listed.stdout
    removed = run(["stop-list", "remove", "+79160000001", "--portal", MEMBER], tmp_path, **env)
    assert removed.returncode == 0 and "removed" in removed.stderr
    engine = make_sync_engine(env["DATABASE_URL"])
    with Session(engine) as session:
        entries = session.exec(select(StopListEntry)).all()
    engine.dispose()
    assert {(e.phone, e.origin) for e in entries} == {
        ("+79161234567", "manual"),
        ("+79160000002", "import"),
    }


def test_stop_list_exit_codes(tmp_path: Path) -> None:
    env = database(tmp_path)
    assert (
        run(["stop-list", "add", "+7999abc1234", "--portal", MEMBER], tmp_path, **env).returncode
        == 2
    )
    assert (
        run(["stop-list", "add", "+79161234567", "--portal", "nobody"], tmp_path, **env).returncode
        == 1
    )
    assert run(["stop-list", "list"], tmp_path, **env).returncode == 2  # --portal is required
    missing = run(["stop-list", "import", "nope.csv", "--portal", MEMBER], tmp_path, **env)
    assert missing.returncode == 2


def test_portal_set_changes_only_what_is_given(tmp_path: Path) -> None:
    env = database(tmp_path)
    result = run(["portal", "set", MEMBER, "--marketing-consent", "required"], tmp_path, **env)
    assert result.returncode == 0, result.stderr
    assert "not checked in the CRM" in result.stderr  # no Bitrix24 tokens: said, not fatal
    result = run(
        [
            "portal",
            "set",
            MEMBER,
            "--no-daytime",
            "--marketing-pace",
            "120",
            "--transactional-ttl",
            "30",
        ],
        tmp_path,
        **env,
    )
    assert result.returncode == 0, result.stderr
    engine = make_sync_engine(env["DATABASE_URL"])
    with Session(engine) as session:
        portal = session.exec(select(Portal)).one()
    engine.dispose()
    assert (portal.marketing_consent, portal.marketing_daytime) == ("required", False)
    assert (portal.marketing_pace, portal.transactional_ttl) == (120, 30)
    assert (
        run(["portal", "set", MEMBER, "--marketing-consent", "maybe"], tmp_path, **env).returncode
        == 2
    )
    assert run(["portal", "set", MEMBER], tmp_path, **env).returncode == 2
    assert run(["portal", "set", "nobody", "--no-daytime"], tmp_path, **env).returncode == 1


def test_portal_set_retention_days_is_stored_and_checked(tmp_path: Path) -> None:
    env = database(tmp_path)
    result = run(["portal", "set", MEMBER, "--retention-days", "30"], tmp_path, **env)
    assert result.returncode == 0, result.stderr
    assert "retention_days=30" in result.stderr
    for bad in ("0", "3651", "-5", "soon"):
        refused = run(["portal", "set", MEMBER, "--retention-days", bad], tmp_path, **env)
        assert refused.returncode == 2, (bad, refused.stdout, refused.stderr)
        assert "--retention-days" in refused.stderr
    engine = make_sync_engine(env["DATABASE_URL"])
    with Session(engine) as session:
        portal = session.exec(select(Portal)).one()
    engine.dispose()
    assert portal.retention_days == 30
