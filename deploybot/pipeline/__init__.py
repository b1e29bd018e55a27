"""The deploy pipeline (issue 23): every deploy request passes the same named stages, in one
place, on its way to Jenkins. deploybot/pipeline/stages.py lists them; docs/pipeline.md draws them.

- request.py    what is asked: one environment, a batch of one or more items, who and where;
- clearance.py  the Clearance: issued only here, once every required stage has passed, and
                checked by Deployer.start, the single door into Jenkins;
- progress.py   after the yes: which stage the request waits at (a code, approvals) or its clearance;
- start.py      the started stage: the grant checked again, the deployment recorded and triggered
                through the `start` port, a refusal audited (all in one place);
- held.py       what waits for a code (a deploy, an approver's approval): rows, not slots;
- summary.py    the summed-up stage of a batch whose last app ended without a deployment.

The dependency rule: nothing here imports adapters (deploybot.adapters.slack, deploybot.adapters.jenkins, the
REST or terminal chat), Rasa, the ledger or actions. What the pipeline needs from them comes
in as small ports (callables), see Rules and Ports.
"""
