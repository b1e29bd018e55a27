"""Which deploys need a second factor (deploybot.step_up): the profile's two_factor, the
environment's and the app's in apps.yml, the most specific first; bad settings are named."""
import pytest
from cryptography.fernet import Fernet

from deploybot.catalog import CatalogError, load_catalog
from deploybot.profiles import ProfileError, load_profile, load_profiles
from deploybot.step_up import looks_like_code, startup_problem, two_factor_required

CATALOG = """
environments:
  staging: {aliases: [stage]}
  production: {aliases: [prod]%s}
apps:
  cms: {name: CMS, jenkins_job: deploy-cms, environments: [staging, production]%s}
  shop: {name: Shop, jenkins_job: deploy-shop, environments: [staging, production]}
"""


def catalog_with(tmp_path, environment="", app=""):
    path = tmp_path / "apps.yml"
    path.write_text(CATALOG % (environment, app))
    return load_catalog(path)


def profile_with(tmp_path, setting, environ=None):
    path = tmp_path / "bender.yml"
    lines = ["name: Bender", "environments: [production]", "ports: {rasa: 5006, actions: 5056}"]
    if setting is not None:
        lines.append(f"two_factor: {setting}")
    path.write_text("\n".join(lines) + "\n")
    return load_profile(path, environ=environ or {})


def test_shipped_profiles_require_codes_on_bender_only():
    profiles = load_profiles("assistants", environ={})
    assert profiles["bender"].two_factor == "required"
    assert profiles["marvin"].two_factor == "off"
    assert load_profiles("assistants", environ={"BENDER_TWO_FACTOR": "off"})["bender"].two_factor == "off"


def test_the_profile_decides_when_apps_yml_says_nothing(tmp_path):
    catalog = catalog_with(tmp_path)
    assert two_factor_required(profile_with(tmp_path, "required"), catalog, "cms", "production")
    assert not two_factor_required(profile_with(tmp_path, "off"), catalog, "cms", "production")
    assert not two_factor_required(profile_with(tmp_path, None), catalog, "cms", "production")  # off by default


def test_the_environment_overrides_the_profile_and_the_app_overrides_both(tmp_path):
    required = profile_with(tmp_path, "required")
    catalog = catalog_with(tmp_path, environment=", two_factor: 'off'", app=", two_factor: {production: required}")
    assert two_factor_required(required, catalog, "cms", "production")       # the app says so
    assert not two_factor_required(required, catalog, "shop", "production")  # the environment says off
    off_app = catalog_with(tmp_path, app=", two_factor: 'off'")
    assert not two_factor_required(required, off_app, "cms", "production")
    assert two_factor_required(required, off_app, "shop", "production")


@pytest.mark.parametrize("setting", ["yes", "true", "maybe", "1"])
def test_a_bad_profile_setting_is_named(tmp_path, setting):
    with pytest.raises(ProfileError, match="two_factor: is 'required' or 'off'"):
        profile_with(tmp_path, setting)


def test_bad_settings_in_apps_yml_are_named(tmp_path):
    with pytest.raises(CatalogError, match=r"environments.production.two_factor: is 'required' or 'off'"):
        catalog_with(tmp_path, environment=", two_factor: always")
    with pytest.raises(CatalogError, match=r"apps.cms.two_factor: names environments the app is not deployed to: \['qa'\]"):
        catalog_with(tmp_path, app=", two_factor: {qa: required}")
    with pytest.raises(CatalogError, match=r"apps.cms.two_factor.production: is 'required' or 'off'"):
        catalog_with(tmp_path, app=", two_factor: {production: sometimes}")


def test_at_start_a_bot_that_needs_codes_says_when_it_has_no_key(tmp_path):
    catalog = catalog_with(tmp_path)
    required = profile_with(tmp_path, "required")
    problem = startup_problem(required, catalog, environ={})
    assert "requires two-factor codes" in problem and "DEPLOYBOT_SECRET_KEY is not set" in problem
    assert "not a Fernet key" in startup_problem(required, catalog, environ={"DEPLOYBOT_SECRET_KEY": "short"})
    assert startup_problem(required, catalog, environ={"DEPLOYBOT_SECRET_KEY": Fernet.generate_key().decode()}) is None
    assert startup_problem(profile_with(tmp_path, "off"), catalog, environ={}) is None


@pytest.mark.parametrize("text, code", [("123456", True), (" 123 456 ", True), ("12345", False), ("1234567", False),
                                        ("deploy cms 123456", False), ("12a456", False), ("3.1.2", False)])
def test_what_counts_as_a_typed_code(text, code):
    assert looks_like_code(text) is code


def test_the_shipped_catalog_loads_with_the_new_settings():
    catalog = load_catalog("apps.yml")
    assert all(app.two_factor_in("production") is None for app in catalog.apps.values())
