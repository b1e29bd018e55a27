"""For unit tests of what comes after the start (the watcher, reports): a deployment that has
passed the deploy pipeline's stages, under rules that ask for no code and no approvals.
tests/unit/test_pipeline.py tests the stages and the door themselves."""
from deploybot.delivery.deployer import Deployer
from deploybot.domain.deployments import NewDeployment
from deploybot.pipeline.clearance import Confirmed, Rules
from deploybot.pipeline.progress import Passed, clearance_for
from deploybot.pipeline.request import Item, Request

NO_SAFEGUARDS = Rules(needs_code=lambda app, environment: False, approvals_needed=lambda app, environment: 0,
                      is_admin=lambda user: False)


def start_cleared(store, client, catalog, new: NewDeployment) -> str:
    """Deployer.start with the clearance the pipeline gives after a yes."""
    item = Item(new.request.app, new.request.version, new.kind)
    request = Request(assistant=new.assistant, environment=new.request.environment, items=(item,), requester=new.requested_by,
                      conversation_id=new.conversation_id, output_channel=new.output_channel, reply_to=new.reply_to,
                      requested_at=new.requested_at, batch_id=new.batch_id)
    clearance = clearance_for(request, item, Passed(Confirmed.YES), NO_SAFEGUARDS)
    return Deployer(store, client, catalog, rules=NO_SAFEGUARDS).start(new, clearance)
