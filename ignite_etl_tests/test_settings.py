import pytest

from ignite_etl.errors import ConfigurationError
from ignite_etl.settings import Settings
from ignite_etl.store.cipher import CredentialCipher


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    settings = Settings.from_env({"IGNITE_ENV": "production"}, cwd=tmp_path)
    with pytest.raises(ConfigurationError, match="IGNITE_SECRET_KEY is required"):
        settings.resolve_secret_key()
    assert not (tmp_path / ".ignite" / "secret.key").exists()


def test_development_generates_a_key_once_and_reuses_it(tmp_path):
    first = Settings.from_env({}, cwd=tmp_path).resolve_secret_key()
    second = Settings.from_env({}, cwd=tmp_path).resolve_secret_key()
    assert first == second
    CredentialCipher(first)  # a valid Fernet key
    assert (tmp_path / ".ignite" / "secret.key").stat().st_mode & 0o077 == 0


def test_configured_key_wins(tmp_path):
    key = CredentialCipher.generate_key()
    assert Settings.from_env({"IGNITE_SECRET_KEY": key}, cwd=tmp_path).resolve_secret_key() == key


def test_sparklayer_base_url_by_environment_and_override(tmp_path):
    plain = Settings.from_env({}, cwd=tmp_path)
    assert plain.sparklayer_base_url("live") == "https://app.sparklayer.io"
    assert plain.sparklayer_base_url("test") == "https://test.app.sparklayer.io"
    with pytest.raises(ConfigurationError):
        plain.sparklayer_base_url("staging")
    sandbox = Settings.from_env({"SPARKLAYER_API_URL": "http://127.0.0.1:8081/{site_env}/"}, cwd=tmp_path)
    assert sandbox.sparklayer_base_url("test") == "http://127.0.0.1:8081/test"


@pytest.mark.parametrize("value", ["0", "soon", "-5"])
def test_bad_sensor_interval_is_a_clear_error(tmp_path, value):
    with pytest.raises(ConfigurationError, match="IGNITE_SENSOR_INTERVAL_SECONDS"):
        Settings.from_env({"IGNITE_SENSOR_INTERVAL_SECONDS": value}, cwd=tmp_path)


def test_secrets_stay_out_of_repr(tmp_path):
    settings = Settings.from_env({"IGNITE_SECRET_KEY": "k-123", "IGNITE_INGRESS_TOKEN": "tok-456"}, cwd=tmp_path)
    assert "k-123" not in repr(settings) and "tok-456" not in repr(settings)


def test_development_generates_one_ingress_token_and_production_only_uses_a_configured_one(tmp_path):
    development = Settings.from_env({}, cwd=tmp_path)
    token = development.resolve_ingress_token()
    assert len(token) >= 32
    assert Settings.from_env({}, cwd=tmp_path).resolve_ingress_token() == token  # stable across processes
    assert Settings.from_env({"IGNITE_INGRESS_TOKEN": "configured"}, cwd=tmp_path).resolve_ingress_token() == "configured"
    production = Settings.from_env({"IGNITE_ENV": "production"}, cwd=tmp_path / "prod")
    assert production.resolve_ingress_token() is None
    assert not (tmp_path / "prod").exists()


def test_app_credentials_and_the_dashboard_token_are_read_per_platform_and_never_shown(tmp_path):
    settings = Settings.from_env({
        "IGNITE_APP_SHOPIFY_CLIENT_ID": "app-id", "IGNITE_APP_SHOPIFY_CLIENT_SECRET": "app-secret-value",
        "IGNITE_APP_FAKESHOP_ADMIN_URL": "http://127.0.0.1:1", "IGNITE_APP_": "ignored", "IGNITE_APP_X": "ignored",
        "SPARKLAYER_DASHBOARD_TOKEN": "dashboard-token-value", "SPARKLAYER_DASHBOARD_URL": "http://127.0.0.1:2/dashboard/",
    }, cwd=tmp_path)
    assert settings.platform_apps == {"shopify": {"client_id": "app-id", "client_secret": "app-secret-value"},
                                      "fakeshop": {"admin_url": "http://127.0.0.1:1"}}
    assert settings.sparklayer_dashboard_url == "http://127.0.0.1:2/dashboard"
    assert settings.resolve_dashboard_token() == "dashboard-token-value"
    assert "app-secret-value" not in repr(settings) and "dashboard-token-value" not in repr(settings)


def test_development_generates_a_dashboard_token_once_production_only_takes_one_set(tmp_path):
    first = Settings.from_env({}, cwd=tmp_path).resolve_dashboard_token()
    assert first and Settings.from_env({}, cwd=tmp_path).resolve_dashboard_token() == first
    assert Settings.from_env({"IGNITE_ENV": "production"}, cwd=tmp_path).resolve_dashboard_token() is None
