"""The write-up's Socket.IO configuration: profiles, the fix, validation, and the real constructor."""

from __future__ import annotations

import engineio.packet
import pytest
from flask import Flask
from flask_socketio import SocketIO

from wslab.errors import WslabError
from wslab.app.socketio_config import (WRITEUP_FIX_KEYS, accepted_keys, build_config, effective_settings,
                                       validate_config)

PROFILES = ("main", "fallback")


def make_socketio(config: dict) -> SocketIO:
    """Construct Flask-SocketIO on a fresh app exactly as the write-up's app does."""
    return SocketIO(Flask(__name__), **config)


def test_main_profile_allows_websocket_and_upgrades() -> None:
    config = build_config("main")
    assert config["transports"] == ["polling", "websocket"]
    assert config["allow_upgrades"] is True
    assert config["async_mode"] == "threading"


def test_fallback_profile_is_polling_only() -> None:
    config = build_config("fallback")
    assert config["transports"] == ["polling"]
    assert config["allow_upgrades"] is False


def test_default_profile_is_fixed_main() -> None:
    assert build_config() == build_config("main", fixed=True)


@pytest.mark.parametrize("profile", PROFILES)
def test_fixed_adds_exactly_the_three_keys(profile: str) -> None:
    fixed, unfixed = build_config(profile, fixed=True), build_config(profile, fixed=False)
    assert set(fixed) - set(unfixed) == {"manage_session", "cookie", "json"}
    assert fixed["manage_session"] is False
    assert fixed["cookie"] is None
    assert fixed["json"] is None
    assert {k: v for k, v in fixed.items() if k not in WRITEUP_FIX_KEYS} == unfixed


def test_profiles_differ_only_in_transport_keys() -> None:
    main, fallback = build_config("main"), build_config("fallback")
    differing = {k for k in main if main[k] != fallback[k]}
    assert differing == {"transports", "allow_upgrades"}


def test_unknown_profile_is_rejected() -> None:
    with pytest.raises(WslabError, match="backup"):
        build_config("backup")  # type: ignore[arg-type]


def test_unknown_key_is_rejected_and_named() -> None:
    with pytest.raises(WslabError, match="cookies"):
        validate_config({**build_config(), "cookies": None})


def test_every_unknown_key_is_named() -> None:
    with pytest.raises(WslabError) as info:
        validate_config({"manage_sessions": False, "jsonn": None, "async_mode": "threading"})
    assert "manage_sessions" in str(info.value)
    assert "jsonn" in str(info.value)
    assert "async_mode" not in str(info.value)


def test_valid_config_is_returned_unchanged() -> None:
    config = build_config("fallback", fixed=False)
    assert validate_config(config) is config


def test_accepted_keys_cover_every_layer() -> None:
    keys = accepted_keys()
    assert {"manage_session", "message_queue", "path"} <= keys  # Flask-SocketIO
    assert {"async_mode", "json", "logger", "always_connect"} <= keys  # python-socketio
    assert {"cookie", "transports", "allow_upgrades", "ping_timeout"} <= keys  # python-engineio
    assert "self" not in keys and "kwargs" not in keys


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("fixed", [True, False])
def test_config_constructs_on_installed_flask_socketio(profile: str, fixed: bool) -> None:
    config = build_config(profile, fixed=fixed)
    sio = make_socketio(config)
    eio = sio.server.eio
    assert sio.server.async_mode == "threading"
    assert eio.transports == config["transports"]
    assert eio.allow_upgrades is config["allow_upgrades"]
    assert eio.ping_interval == config["ping_interval"]
    assert sio.manage_session is (not fixed)


def test_cookie_option_reaches_engineio() -> None:
    assert make_socketio(build_config(fixed=True)).server.eio.cookie is None
    assert make_socketio({**build_config(fixed=True), "cookie": "io"}).server.eio.cookie == "io"


def test_cookie_none_matches_the_installed_default() -> None:
    """On this version ``cookie=None`` is already the default, so the fix changes nothing there."""
    fixed = make_socketio(build_config(fixed=True)).server.eio.cookie
    unfixed = make_socketio(build_config(fixed=False)).server.eio.cookie
    assert fixed == unfixed


def test_json_none_keeps_the_packet_serializer() -> None:
    before = engineio.packet.Packet.json
    make_socketio(build_config(fixed=True))
    assert engineio.packet.Packet.json is before


@pytest.mark.parametrize("profile", PROFILES)
def test_fixed_config_serves_a_socketio_client(profile: str) -> None:
    app = Flask(__name__)
    sio = SocketIO(app, **build_config(profile, fixed=True))

    @sio.on("ping_me")
    def ping_me(data: str) -> str:
        return data.upper()

    client = sio.test_client(app)
    assert client.is_connected()
    assert client.emit("ping_me", "hi", callback=True) == "HI"
    client.disconnect()


def test_effective_settings_read_back_what_the_server_holds() -> None:
    """Flask-SocketIO manages sessions unless told not to; cookie and json are what was passed, else the defaults."""
    assert effective_settings(build_config(fixed=False)) == {
        "manage_session": True, "cookie": None, "json": "engineio.json"}
    assert effective_settings(build_config(fixed=True)) == {
        "manage_session": False, "cookie": None, "json": "engineio.json"}
    assert effective_settings({**build_config(fixed=True), "cookie": "io"})["cookie"] == "io"


def test_effective_settings_reject_unknown_keys() -> None:
    with pytest.raises(WslabError, match="manage_sessions"):
        effective_settings({**build_config(), "manage_sessions": False})
