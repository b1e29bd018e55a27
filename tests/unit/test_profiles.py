import pytest

from deploybot.domain.profiles import ProfileError, bot_serving, load_profile, load_profiles, parse_duration


def test_shipped_profiles():
    profiles = load_profiles("assistants", environ={})
    marvin, bender = profiles["marvin"], profiles["bender"]
    assert (marvin.name, marvin.environments, marvin.who_may_deploy) == ("Marvin", ("staging",), "everyone")
    assert (bender.name, bender.environments, bender.who_may_deploy) == ("Bender", ("production",), "granted")
    assert (marvin.rasa_port, bender.rasa_port) == (5005, 5006)
    assert marvin.confirmation_timeout_seconds == 600
    assert bender.management_channel == "#deployments-management"
    assert marvin.build_systems_skip_confirmation and not bender.build_systems_skip_confirmation
    assert bot_serving("production", profiles) is bender
    assert bot_serving("qa", profiles) is None


def test_ports_are_overridden_by_environment_variables():
    profiles = load_profiles("assistants", environ={"MARVIN_PORT": "7005", "BENDER_PORT": "7006", "BENDER_ACTIONS_PORT": "7056"})
    assert profiles["marvin"].rasa_port == 7005
    assert profiles["bender"].rasa_port == 7006
    assert profiles["bender"].actions_port == 7056


def test_admins_come_from_the_profile_and_deploybot_admins():
    bender = load_profile("assistants/bender.yml", environ={})
    assert bender.admins(environ={}) == ("jbrueder",)
    assert bender.admins(environ={"DEPLOYBOT_ADMINS": " theresa, jbrueder ,U024BE7LH"}) == ("jbrueder", "theresa", "U024BE7LH")


def test_personality_lines():
    marvin = load_profile("assistants/marvin.yml", environ={})
    assert marvin.lines("greet") and all(isinstance(line, str) for line in marvin.lines("greet"))
    assert marvin.lines("unknown") == ()


@pytest.mark.parametrize("value, seconds", [("10m", 600), ("600s", 600), (600, 600), ("1h", 3600), ("90 sec", 90)])
def test_durations(value, seconds):
    assert parse_duration(value, "x") == seconds


@pytest.mark.parametrize("value", ["soon", "-5m", "0", "10 days"])
def test_bad_durations_are_rejected(value):
    with pytest.raises(ProfileError, match="duration"):
        parse_duration(value, "x")


def test_two_bots_serving_one_environment_is_an_error(tmp_path):
    for name in ("a", "b"):
        (tmp_path / f"{name}.yml").write_text(f"name: {name}\nenvironments: [staging]\nports: {{rasa: 1, actions: 2}}\n")
    with pytest.raises(ProfileError, match="served by both a and b"):
        load_profiles(tmp_path, environ={})


def test_a_bad_port_says_which_variable(tmp_path):
    (tmp_path / "x.yml").write_text("name: X\nenvironments: [staging]\nports: {rasa: 1, actions: 2}\n")
    with pytest.raises(ProfileError, match="X_PORT"):
        load_profile(tmp_path / "x.yml", environ={"X_PORT": "not-a-port"})


def test_who_may_deploy_is_checked(tmp_path):
    (tmp_path / "x.yml").write_text("name: X\nenvironments: [staging]\nports: {rasa: 1, actions: 2}\nwho_may_deploy: anybody\n")
    with pytest.raises(ProfileError, match="who_may_deploy"):
        load_profile(tmp_path / "x.yml", environ={})
