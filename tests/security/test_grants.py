"""Attacks on who gets a grant, and on who is an admin: a grant names exactly one person;
display names, which anyone can take, never pick one. Admins given by handle are resolved to
Slack ids at start, and Marvin is run by Bender's admins."""
from tests.security.evidence import grants_of, last_audit_id, refused
from tests.slack_chat import mention, posts

REAL, IMPOSTOR, DISPLAY_ONLY = "U0KIMREAL1", "U0KIMFAKE1", "U0ZEDPARK1"


def setup_people(stack):
    stack.slack.add_user(REAL, "kimr", "Kim R", "Kim Rasmussen")
    stack.slack.add_user(IMPOSTOR, "mallory", "kimr", "Mallory Impostor")  # renamed herself to Kim's handle
    stack.slack.add_user(DISPLAY_ONLY, "zpark", "parkz", "Zed Park")


def test_a_name_two_people_go_by_is_never_guessed(stack):
    setup_people(stack)
    since = last_audit_id(stack)
    ts = mention(stack, "bender", "UADMIN0001", "auth kimr crm")
    posts(stack, ts, "“kimr” is not one person's Slack handle (display names can be anyone's). Which one? @mention them."
                     " Nothing was changed.")
    assert grants_of(stack, REAL) == [] and grants_of(stack, IMPOSTOR) == []
    refused(stack, "grant", since, actor="UADMIN0001", containing="Which one?")


def test_a_display_name_alone_names_nobody(stack):
    setup_people(stack)
    since = last_audit_id(stack)
    ts = mention(stack, "bender", "UADMIN0001", "auth parkz crm")
    posts(stack, ts, "“parkz” is not one person's Slack handle")
    assert grants_of(stack, DISPLAY_ONLY) == []
    refused(stack, "grant", since, actor="UADMIN0001", containing="Which one?")


def test_a_mention_names_exactly_one_person_and_the_reply_shows_name_and_id(stack):
    setup_people(stack)
    ts = mention(stack, "bender", "UADMIN0001", f"auth <@{REAL}> crm")
    posts(stack, ts, f"Kim R ({REAL}) may now deploy Customer Relationship Management to production.")
    assert grants_of(stack, REAL) == ["crm"] and grants_of(stack, IMPOSTOR) == []
    ts = mention(stack, "bender", "UADMIN0001", f"revoke <@{REAL}> crm")
    posts(stack, ts, f"Kim R ({REAL}) may no longer deploy Customer Relationship Management to production.")


def test_an_admin_given_by_handle_is_an_admin_by_id_on_both_bots(stack):
    # assistants/bender.yml names "jbrueder"; on Slack that is U0JBRUEDER. Marvin names no admins: Bender's run him.
    owner = "U0LOCKER01"
    ts = mention(stack, "marvin", owner, "lock intranet on staging because of a demo")
    posts(stack, ts, "Locked intranet on staging")
    since = last_audit_id(stack)
    ts = mention(stack, "marvin", "U0WALTER", "unlock intranet on staging")
    posts(stack, ts, f"Only {owner}, who locked intranet on staging, or an admin can unlock it.")
    refused(stack, "unlock", since, actor="U0WALTER")
    ts = mention(stack, "marvin", "U0JBRUEDER", "unlock intranet on staging")
    posts(stack, ts, "Unlocked intranet on staging: deployments are allowed again.")
    ts = mention(stack, "bender", "U0JBRUEDER", "auth <@U0WALTER> intranet")
    posts(stack, ts, "Walter (U0WALTER) may now deploy Intranet Portal to production.")
    ts = mention(stack, "bender", "U0WALTER", "auth <@U0WALTER> shop")  # a grantee is no admin
    posts(stack, ts, "Only admins can grant deploy permissions")
    assert grants_of(stack, "U0WALTER") == ["intranet"]
