"""Google sign-in: the token file (0600), refresh via a loopback token endpoint, invalid_grant."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from syncsvc import google_api
from syncsvc.config import Config, GoogleConfig
from syncsvc.errors import AuthError, ConfigError, SignInExpiredError
from syncsvc.google_api import build_service
from syncsvc.google_auth import SCOPES, load_credentials, sign_in

try:  # tests/ as a package (tests/__init__.py) or as a plain folder on sys.path
    from tests.google_fake import FakeGoogle, google_fake_fixture
except ModuleNotFoundError:
    from google_fake import FakeGoogle, google_fake_fixture  # type: ignore[no-redef]

google = google_fake_fixture()
REFRESH = "1//refresh-token-SECRET"


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config(
        data_dir=tmp_path / "data",
        google=GoogleConfig(client_secrets=tmp_path / "client_secret.json"),
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def write_token(config: Config, fake: FakeGoogle, expiry: str, token: str = "ya29.old") -> None:
    config.google_token_path.parent.mkdir(parents=True, exist_ok=True)
    config.google_token_path.write_text(
        json.dumps(
            {
                "token": token,
                "refresh_token": REFRESH,
                "token_uri": fake.token_uri,
                "client_id": "123-abc.apps.googleusercontent.com",
                "client_secret": "GOCSPX-client-secret",
                "scopes": SCOPES,
                "expiry": expiry,
            }
        )
    )


def test_missing_token_file_says_how_to_sign_in(config: Config) -> None:
    with pytest.raises(AuthError) as err:
        load_credentials(config)
    assert str(err.value) == "not signed in to Google: run `syncsvc auth google`"


def test_garbage_token_file_is_an_auth_error(config: Config) -> None:
    config.google_token_path.parent.mkdir(parents=True)
    config.google_token_path.write_text("{not json")
    with pytest.raises(AuthError, match="syncsvc auth google"):
        load_credentials(config)


def test_expired_access_token_is_refreshed_saved_0600_and_used(
    config: Config, google: FakeGoogle
) -> None:
    google.refresh_tokens.add(REFRESH)
    write_token(config, google, "2020-01-01T00:00:00Z")
    config.google_token_path.chmod(0o644)
    creds = load_credentials(config, token_uri=google.token_uri)
    assert google.count("/token") == 1
    new = google.access_tokens[-1]
    assert creds.token == new and creds.valid
    saved = json.loads(config.google_token_path.read_text())
    assert saved["token"] == new and saved["refresh_token"] == REFRESH
    assert mode(config.google_token_path) == 0o600

    # the refreshed token goes out on API requests
    service = build_service("calendar", "v3", creds, 5, api_endpoint=google.calendar_endpoint)
    google_api.execute(service.events().list(calendarId="primary"), "test")
    listed = [r for r in google.requests if r.path.startswith("/calendar/")]
    assert listed[-1].headers["authorization"] == f"Bearer {new}"


def test_valid_access_token_is_not_refreshed(config: Config, google: FakeGoogle) -> None:
    google.refresh_tokens.add(REFRESH)
    write_token(config, google, "2999-01-01T00:00:00Z", token="ya29.current")
    creds = load_credentials(config, token_uri=google.token_uri)
    assert creds.token == "ya29.current"
    assert google.count("/token") == 0


def test_revoked_refresh_token_asks_to_sign_in_again(config: Config, google: FakeGoogle) -> None:
    write_token(config, google, "2020-01-01T00:00:00Z")  # REFRESH is not valid at the fake
    with pytest.raises(AuthError) as err:
        load_credentials(config, token_uri=google.token_uri)
    message = str(err.value)
    assert message == "Google sign-in expired or was revoked: run `syncsvc auth google`"
    assert isinstance(err.value, SignInExpiredError) and err.value.exit_code == 77
    assert REFRESH not in message and "\n" not in message
    assert google.count("/token") == 1


def test_missing_client_secrets_is_a_one_line_config_error(config: Config) -> None:
    with pytest.raises(ConfigError) as err:
        sign_in(config, open_browser=False)
    message = str(err.value)
    assert "\n" not in message
    assert str(config.client_secrets_path) in message and "Desktop app" in message


def test_sign_in_runs_the_loopback_flow_and_stores_the_token_0600(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    from google.oauth2.credentials import Credentials
    from google_auth_oauthlib import flow as flow_mod

    config.client_secrets_path.write_text("{}")
    calls: dict[str, Any] = {}

    class FakeFlow:
        def run_local_server(self, **kwargs: Any) -> Credentials:
            calls["run"] = kwargs
            return Credentials(
                token="ya29.new",
                refresh_token=REFRESH,
                client_id="id",
                client_secret="s",
                token_uri="https://oauth2.googleapis.com/token",
                scopes=SCOPES,
            )

    def from_file(path: str, scopes: list[str]) -> FakeFlow:
        calls["file"], calls["scopes"] = path, scopes
        return FakeFlow()

    patched: Callable[..., FakeFlow] = from_file
    monkeypatch.setattr(flow_mod.InstalledAppFlow, "from_client_secrets_file", patched)
    sign_in(config, open_browser=False)
    assert calls["file"] == str(config.client_secrets_path)
    assert calls["scopes"] == [
        "https://www.googleapis.com/auth/calendar.events",
        "https://www.googleapis.com/auth/contacts.readonly",
    ]
    assert calls["run"] == {"host": "127.0.0.1", "port": 0, "open_browser": False}
    assert mode(config.google_token_path) == 0o600
    assert json.loads(config.google_token_path.read_text())["refresh_token"] == REFRESH


def test_bad_client_secrets_file_is_a_config_error(config: Config) -> None:
    config.client_secrets_path.write_text('{"web": "nope"}')
    with pytest.raises(ConfigError, match="Desktop app"):
        sign_in(config, open_browser=False)


def test_google_libraries_are_imported_only_when_used() -> None:
    code = (
        "import sys, syncsvc.google_auth, syncsvc.google_api, syncsvc.calendars.google,"
        " syncsvc.contacts.google\n"
        "heavy = [m for m in ('googleapiclient', 'google_auth_oauthlib', 'google.oauth2',"
        " 'httplib2') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_services_from_config_need_a_sign_in(config: Config) -> None:
    from syncsvc.calendars.google import GoogleCalendar
    from syncsvc.contacts.google import build_people_service

    with pytest.raises(AuthError, match="not signed in"):
        GoogleCalendar.from_config(config)
    with pytest.raises(AuthError, match="not signed in"):
        build_people_service(config)


def test_from_config_builds_without_any_request(config: Config, google: FakeGoogle) -> None:
    from syncsvc.calendars.google import GoogleCalendar

    write_token(config, google, "2999-01-01T00:00:00Z", token="ya29.current")
    cal = GoogleCalendar.from_config(config)  # static discovery: no network needed
    assert cal.key == "google:primary"
    assert cal.service._baseUrl == "https://www.googleapis.com/calendar/v3/"
