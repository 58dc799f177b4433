"""Frozen settings parsed from CHECKIN_* environment variables; the README's table lists each."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class SettingsError(ValueError):
    """A setting has a value the app cannot start with."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    secret_key: str
    timezone: str = "Europe/London"
    public_base_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_from: str = "checkin@localhost"
    session_hours: int = 12
    max_body_bytes: int = 1_048_576
    import_max_bytes: int = 10_485_760
    watcher: bool = True
    dispatcher: bool = True
    secure_cookies: bool = False
    ws_queue_size: int = 256
    replay_limit: int = 500

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Reads CHECKIN_<FIELD> for every field; `overrides` win (used by tests and run.py)."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f"CHECKIN_{f.name.upper()}")
            if raw is not None and raw != "":
                values[f.name] = _parse(f.name, raw, f.type)
        values.update(overrides)
        data_dir = Path(str(values.get("data_dir", "data"))).resolve()
        values["data_dir"] = data_dir
        if "public_base_url" not in values:
            host = str(values.get("host", "127.0.0.1"))
            host = "127.0.0.1" if host == "0.0.0.0" else host
            values["public_base_url"] = f"http://{host}:{values.get('port', 8000)}"
        values.setdefault("database_url", f"sqlite+aiosqlite:///{data_dir / 'checkin.db'}")
        if "secret_key" not in values:
            values["secret_key"] = _kept_secret(data_dir)
        settings = cls(**values)  # type: ignore[arg-type]
        settings.validate()
        return settings

    def validate(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise SettingsError(f"CHECKIN_TIMEZONE: unknown time zone {self.timezone!r}") from exc
        if len(self.secret_key) < 32:
            raise SettingsError("CHECKIN_SECRET_KEY: must be at least 32 characters")
        if not self.public_base_url.startswith(("http://", "https://")):
            raise SettingsError("CHECKIN_PUBLIC_BASE_URL: must start with http:// or https://")


def _parse(name: str, raw: str, kind: object) -> object:
    if kind in (bool, "bool"):
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"CHECKIN_{name.upper()}: expected true or false, got {raw!r}")
    if kind in (int, "int"):
        try:
            return int(raw)
        except ValueError as exc:
            raise SettingsError(f"CHECKIN_{name.upper()}: expected a whole number, got {raw!r}") from exc
    return raw


def _kept_secret(data_dir: Path) -> str:
    """The generated secret in data_dir, made once so sign-ins and QR codes survive restarts."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key
