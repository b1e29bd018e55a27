"""The wording of the production safeguards (two-factor codes). Plain and exact, like
deploybot.domain.messages; no message ever contains a code or a secret."""

HOW_TO_ENROL = "Say “set up two-factor” to me (I answer with a direct message), then send me the first code your authenticator app shows."


def as_sentence(refusal: str) -> str:
    """A refusal said after "…: " ends as a sentence: without its "No: " and its own "Nothing
    was deployed." (said once, by the caller), a full stop last."""
    text = refusal.strip().removeprefix("No: ").removesuffix(" Nothing was deployed.")
    return text if text.endswith((".", "!", "?")) else text + "."


def not_started(what: str, refusal: str) -> str:
    """After the code (or the approvals): what stopped the deploy, said whole, and that nothing was deployed."""
    return f"{what} could not start: {as_sentence(refusal)} Nothing was deployed."


def unavailable(problem: str) -> str:
    return f"{problem} Nothing was deployed."


def not_enrolled(what: str) -> str:
    return f"{what} needs a code from your authenticator app, and you have not set up two-factor yet. {HOW_TO_ENROL} Nothing was deployed."


def enrolment_unfinished(what: str) -> str:
    """Not enrolled yet, but an enrolment waits for its first code: it stays, and says so."""
    return (f"{what} needs a code from your authenticator app, and your two-factor setup is not finished yet: "
            "send me the first code your app shows now, then ask for the deploy again. Nothing was deployed.")


def build_system_needs_code(what: str) -> str:
    return (f"{what} needs a two-factor code from the person who asks, and a build system cannot give one: "
            "a person has to ask for it. Nothing was deployed.")


def tries_left(count: int) -> str:
    return f"{count} wrong code{'' if count == 1 else 's'} more and two-factor locks."


def wrong_code(left: int) -> str:
    return f"{WRONG_CODE} {tries_left(left)}"


def wait_before_next(seconds: int, left: int) -> str:
    return (f"Too many wrong codes in a row: I check the next code in {seconds} s, not sooner, so that one was not checked. "
            f"Nothing was deployed yet. {tries_left(left)}")


def not_a_code(awaited: str, left: int) -> str:
    """A message that tries to be a code and is not (7 digits, "123-456") while one is awaited."""
    return (f"That is not a code: a code is the 6 digits your authenticator app shows (“123456” or “123 456”). "
            f"I'm waiting for one {awaited}. It did not count as a wrong code; {tries_left(left)}")


def withdrawn_from_code(what: str) -> str:
    return f"Withdrawn: {what}, which waited for your two-factor code. Nothing was deployed, and no code deploys it now."


def withdrawn_from_approval(what: str) -> str:
    return (f"Withdrawn: {what}, which waited for approval. Nothing was deployed, and an approval of it "
            "counts no more.")


def approval_not_given(what: str) -> str:
    return f"Your approval of {what} is not given: it waited for your code, and you called it off."


def confirmed_waits_for_code(what: str) -> str:
    return (f"{what} is confirmed already and waits for your two-factor code: send me the code your authenticator app"
            " shows now, or say “no” to withdraw it. Nothing has been deployed yet.")


def hold_replaced(was: str) -> str:
    return (f"Dropped “{was}”: it was still waiting for your two-factor code, so nothing was deployed."
            " The request you just confirmed takes its place.")


def still_waiting(what: str) -> str:
    return f"{what} still waits for your code: send the next one your app shows."


def locked(what: str = "") -> str:
    start = f"{what}: nothing was deployed. " if what else ""
    return (f"{start}Two-factor is locked for you after too many wrong codes. An admin must reset it "
            "(“reset two-factor for @you”); then set it up again.")


def ask_code(what: str, where: str, minutes: int) -> str:
    return f"{what} needs your second factor: {where} within {minutes} min. Nothing has been deployed yet."


TYPE_CODE_HERE = "send me the 6-digit code your authenticator app shows now"
TYPE_CODE_IN_DM = "send me the 6-digit code your authenticator app shows now in a direct message (never in a channel)"

APPROVER_WRONG_CODE = "That code is not right (or not the current one), so your approval is not counted yet; send the current code to try again."
WRONG_CODE = "That code is not right (or not the current one). Nothing was deployed yet; send the current code to try again."
ON_SLACK_IN_DM = " Send it in a direct message to me, never in a channel."
REPLAYED_CODE = "That code was used already: each code counts once. Wait for the next one and send it."
NO_CODE_AWAITED = "I'm not waiting for a code from you. Nothing was done with that number."
SPENT = " I treated it as used, so it is worthless now."
CODE_IN_CHANNEL = ("Never type a code in a channel: others can see it. I treated that code as used, so it is worthless now. "
                   "Send a fresh code in a direct message to me.")
CODE_IN_CHANNEL_UNCHECKED = ("Never type a code in a channel: others can see it. After several wrong codes in a row I could not check"
                             " that one yet, so it is not used up; it is worthless within two minutes, as your app moves on."
                             " Send a fresh code in a direct message to me.")
CODE_EXPIRED = "That code came too late: the deploy waited more than {minutes} min for it, so nothing was deployed. Ask again."


def enrol_started(uri: str, qr: str) -> str:
    # One message: Rasa splits a text at blank lines, and the QR code's margin ends in one.
    qr = "\n".join(line for line in qr.splitlines() if line.strip())
    return ("Add me to your authenticator app (any TOTP app, on a phone or a watch): scan this QR code or open the link.\n"
            f"{qr}\n{uri}\n"
            "Then send me the first 6-digit code it shows, to prove it works. Keep this link to yourself.")


def enrol_started_with_image(uri: str) -> str:
    """On Slack: the text that comes with the QR code image."""
    return ("Add me to your authenticator app (any TOTP app, on a phone or a watch): scan the QR code in this message"
            f" or open the link.\n{uri}\n"
            "Then send me the first 6-digit code it shows, to prove it works. Keep this link to yourself.")


ENROL_SENT_BY_DM = "I sent you a direct message with the QR code: scan it, then send me the first code there (not here)."
# Outside Slack the QR code and the link go straight to the terminal chat, never through the
# conversation: what a conversation says is stored in the tracker and answered over the API.
ENROL_SHOWN_IN_CHAT = ("I showed you the QR code and the link in your terminal chat, and nowhere else: scan it, then send"
                       " me the first code your app shows.")
ENROL_NO_CHAT = ("I could not show you the QR code privately (outside Slack only the terminal chat of `make run` shows it),"
                 " so two-factor is not set up. Set it up there, or in a direct message to me on Slack.")
ENROL_DM_FAILED = "I could not send you a direct message, so two-factor is not set up. Try again in a direct message to me."
ALREADY_ENROLLED = "You have two-factor set up already. To start over, an admin resets it (“reset two-factor for @you”)."
ENROLLED = "Two-factor is set up: production deploys will ask you for a code from your authenticator app."
ENROL_WRONG = "That is not the code your app shows now, so two-factor is not set up yet. Send the current code."
ENROL_ONLY_IN_DM = "I set up two-factor only in a direct message: say “set up two-factor” to me there."


def reset_done(user: str) -> str:
    return f"Two-factor for {user} is reset: they set it up again before their next production deploy."


def reset_nothing(user: str) -> str:
    return f"{user} has no two-factor set up; nothing was changed."


RESET_ONLY_ADMINS = "Only an admin can reset someone's two-factor. Nothing was changed."
RESET_WHO = "Whose two-factor should I reset? Say for example “reset two-factor for @theresa”."
