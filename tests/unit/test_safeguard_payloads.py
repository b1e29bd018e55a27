"""The approval card's buttons and the Slack modals of the production safeguards: only the
fixed shapes count, and a submission is read only from the modal it belongs to."""
import json

from deploybot.rasa_glue import payloads
from deploybot.adapters.slack import code_modal

APPROVAL = "Zk3v_8w-QmQ1rT0aB9cD2e"


def test_approval_buttons_have_fixed_shapes_bound_to_one_request():
    approve, reject = payloads.approval_buttons(APPROVAL)
    assert (payloads.button_kind(approve["payload"]), payloads.button_kind(reject["payload"])) == ("approve", "reject")
    assert payloads.reject_payload(APPROVAL) == reject["payload"]
    assert set(payloads.ANYONE_CLICKS) == {"approve", "reject"}
    for forged in ['/approve_deployment{"approval": "short"}', '/approve_deployment{"approval": "%s", "x": 1}' % APPROVAL,
                   '/approve_deployment{"request": "%s"}' % APPROVAL, ' /approve_deployment{"approval": "%s"}' % APPROVAL,
                   '/approve_deployment{"approval": "%s"}\n/affirm' % APPROVAL]:
        assert payloads.button_kind(forged) is None, forged


def submitted(view, values):
    state = {block: {action: {"type": "plain_text_input", "value": value} for action, value in actions.items()}
             for block, actions in values.items()}
    return {"type": "view_submission", "user": {"id": "U0APPROVER"}, "view": {**view, "state": {"values": state}}}


def test_the_code_modal_and_its_submission():
    view = code_modal.code_view("Deploy CMS 1.0.3 to production", "C0DEPLOYS", "1732.0001")
    assert view["callback_id"] == code_modal.CALLBACK_ID and json.loads(view["private_metadata"]) == {
        "channel": "C0DEPLOYS", "thread_ts": "1732.0001"}
    assert code_modal.submission(submitted(view, {"code": {"code": "123 456"}})) == {
        "user": "U0APPROVER", "code": "123 456", "channel": "C0DEPLOYS", "thread_ts": "1732.0001"}
    assert code_modal.reason_submission(submitted(view, {"code": {"code": "123456"}})) is None  # another modal's
    assert code_modal.submission({"type": "block_actions", "view": view}) is None
    assert not code_modal.is_code("12345a") and code_modal.is_code("123456")


def test_the_reason_modal_and_its_submission():
    view = code_modal.reason_view(APPROVAL, "Deploy CMS 1.0.3 to production", "C0DEPLOYS", None)
    found = code_modal.reason_submission(submitted(view, {"reason": {"reason": "  tests are red "}}))
    assert found == {"user": "U0APPROVER", "approval": APPROVAL, "reason": "tests are red", "channel": "C0DEPLOYS", "thread_ts": None}
    assert code_modal.submission(submitted(view, {"reason": {"reason": "123456"}})) is None
    broken = {**view, "private_metadata": "not json"}
    assert code_modal.reason_submission(submitted(broken, {"reason": {"reason": "x"}}))["approval"] == ""
