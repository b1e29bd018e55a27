"""Which deploys need a second factor (deploybot.policy.step_up): the profile's two_factor, the
environment's and the app's in apps.yml, the most specific first; bad settings are named."""
import pytest
from cryptography.fernet import Fernet

from deploybot.domain.catalog import CatalogError, load_catalog
from deploybot.domain.profiles import ProfileError, load_profile, load_profiles
from deploybot.policy.step_up import build_system_problem, code_in, looks_like_code, startup_problem, two_factor_required

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


@pytest.mark.parametrize("text, code", [
    ("123456", "123456"), (" 123 456 ", "123456"), ("bender 123456", "123456"), ("@bender 123456", "123456"),
    ("Bender, 123 456", "123456"), ("hey bender 123456", "123456"), ("marvin: 123456", "123456"),
    ("12345", None), ("1234567", None), ("123-456", None), ("deploy cms 123456", None), ("cms 123456", None),
    ("12a456", None), ("3.1.2", None), ("bender 1234567", None)])
def test_what_counts_as_a_typed_code(text, code):
    """Six digits, split 3+3 or not, perhaps addressed to a bot by name (the terminal chat's
    rule: "bender 123456"); nothing else."""
    assert code_in(text) == code


@pytest.mark.parametrize("text, attempt", [
    ("123456", True), ("bender 123456", True), ("1234567", True), ("123-456", True), ("12345", True),
    ("bender 12-34-567", True), ("12 34 56 78", True),
    ("3.1.2", False), ("1234", False), ("123456789", False), ("deploy cms 123456", False), ("cms 123456", False),
    ("12a456", False), ("yes", False)])
def test_what_goes_to_the_code_dialogue(text, attempt):
    """A code, and what tries to be one, so that the dialogue can say a code is awaited;
    never a version or a request."""
    assert looks_like_code(text) is attempt


def build_profile(tmp_path, two_factor, skip=True, trusted=("B0JENKINS1",)):
    path = tmp_path / "bot.yml"
    path.write_text("\n".join(["name: Bot", "environments: [production]", "ports: {rasa: 5006, actions: 5056}",
                               f"two_factor: {two_factor}",
                               f"build_systems: {{trusted: [{', '.join(trusted)}], skip_confirmation: {str(skip).lower()}}}"]) + "\n")
    return load_profile(path, environ={})


def test_a_bot_whose_build_systems_skip_the_question_where_a_code_is_needed_does_not_start(tmp_path):
    catalog = catalog_with(tmp_path)
    problem = build_system_problem(build_profile(tmp_path, "required"), catalog)
    assert problem.startswith("Bot does not start: its build_systems.skip_confirmation is true and it trusts build systems (B0JENKINS1)")
    assert "deploys of cms on production, shop on production need a two-factor code" in problem
    # one app needing a code is enough (apps.yml), and the shipped profiles start
    assert "cms on production" in build_system_problem(build_profile(tmp_path, "off"), catalog_with(tmp_path, app=", two_factor: required"))
    assert build_system_problem(build_profile(tmp_path, "off"), catalog) is None
    assert build_system_problem(build_profile(tmp_path, "required", skip=False), catalog) is None  # asked: then refused at the yes
    assert build_system_problem(build_profile(tmp_path, "required", trusted=()), catalog) is None  # no build system can ask
    shipped = load_profiles("assistants", environ={"MARVIN_TRUSTED_BUILD_SYSTEMS": "B0JENKINS1", "BENDER_TRUSTED_BUILD_SYSTEMS": "B0JENKINS2"})
    assert all(build_system_problem(p, load_catalog("apps.yml")) is None for p in shipped.values())


def test_the_shipped_catalog_loads_with_the_new_settings():
    catalog = load_catalog("apps.yml")
    assert all(app.two_factor_in("production") is None for app in catalog.apps.values())
