"""People, not "local" (issue 25, item 6), against the running stack with its Slack fake and
dashboard, in headless Chromium: "bender, dashboard link" sends the asker a one-time sign-in
link in a DM (never in the channel); it signs in that person, works once, and a sign-out
ends the session, also for a copy of its cookie."""
import re
import urllib.error
import urllib.request

from deploybot.adapters.slack.formatting import typed_text
from tests.integration.test_ledger_browser import browser, click_and_load  # noqa: F401 (the fixture)
from tests.safeguards import dm_posts, wait
from tests.slack_chat import mention, posts
from tests.support import audit_entries, new_user_id

LINK = re.compile(r"http://127\.0\.0\.1:\d+/signin\?token=[\w.-]+")


def dashboard_url(stack) -> str:
    return f"http://127.0.0.1:{stack.env['DEPLOYBOT_WEB_PORT']}"


def link_for(stack, bot, user) -> str:
    thread = mention(stack, bot, user, "dashboard link")
    posts(stack, thread, "I sent you a sign-in link to the dashboard in a direct message")
    wait(lambda: dm_posts(stack, user, "Your sign-in link to the deploybot dashboard"))
    [dm] = dm_posts(stack, user, "Your sign-in link to the deploybot dashboard")
    link = LINK.search(typed_text(dm["args"]["text"])).group(0)
    said_in_channel = [c["args"].get("text") for c in stack.slack.calls("chat.postMessage")
                       if not str(c["args"].get("channel", "")).startswith("D")]
    assert not any(link in str(text) for text in said_in_channel)  # only the DM holds it
    return link


def page(url: str, cookie: str = "") -> tuple:
    request = urllib.request.Request(url, headers={"Cookie": f"deploybot_ledger_session={cookie}"} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_a_dashboard_link_signs_in_the_person_who_asked_once_and_sign_out_ends_it(stack, browser):  # noqa: F811
    from selenium.webdriver.common.by import By

    theresa, robin = new_user_id(), new_user_id()
    stack.slack.add_user(theresa, "theresa", "Theresa", "Theresa Brueder")
    stack.slack.add_user(robin, "robin", "Robin", "Robin Archer")
    link = link_for(stack, "bender", theresa)
    assert link.startswith(dashboard_url(stack) + "/signin?token=")

    browser.delete_all_cookies()
    browser.get(link)
    assert browser.current_url == dashboard_url(stack) + "/"
    assert browser.find_element(By.CSS_SELECTOR, ".who").text == f"signed in as {theresa}"
    cookie = browser.get_cookie("deploybot_ledger_session")["value"]
    assert page(dashboard_url(stack) + "/history", cookie)[0] == 200

    status, body = page(link)  # the same link again, from anywhere: spent
    assert status == 401 and "was used already" in body

    # A sign-out posted from another site is refused (the browser would not even send the cookie: SameSite=Lax).
    for elsewhere in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site", "Origin": "null"}):
        forged = urllib.request.Request(dashboard_url(stack) + "/signout", data=b"", method="POST",
                                        headers={**elsewhere, "Cookie": f"deploybot_ledger_session={cookie}"})
        try:
            urllib.request.urlopen(forged, timeout=30)
            raise AssertionError(f"a cross-site sign-out was accepted: {elsewhere}")
        except urllib.error.HTTPError as error:
            assert error.code == 403
    assert page(dashboard_url(stack) + "/history", cookie)[0] == 200

    click_and_load(browser, browser.find_element(By.CSS_SELECTOR, "form.signout button"))
    assert "You are signed out" in browser.page_source
    assert browser.get_cookie("deploybot_ledger_session") is None
    assert page(dashboard_url(stack) + "/history", cookie)[0] == 401  # a copy of the cookie no longer counts

    # Another person's link signs in that person, from Marvin too.
    browser.get(link_for(stack, "marvin", robin))
    assert browser.find_element(By.CSS_SELECTOR, ".who").text == f"signed in as {robin}"
    done = [e for e in audit_entries(stack, action="dashboard_link") if e.outcome == "done"]
    assert {e.actor for e in done} >= {theresa, robin}

