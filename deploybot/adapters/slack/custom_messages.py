"""What actions put into a custom (json) message for the Slack output channel, channels/slack.py:

- REPLY_TO_KEY: {"channel", "thread_ts"}: where in Slack a report goes (the request's thread);
- UPDATE_KEY: {"channel", "ts", "text"}: a question whose buttons were clicked, rewritten to
  say what was clicked, by whom and what came of it (the buttons go);
- OPEN_VIEW_KEY: a modal to open with a click's trigger_id (deploybot.adapters.slack.code_modal).
"""
REPLY_TO_KEY = "deploybot_slack"
UPDATE_KEY = "deploybot_slack_update"
# {"trigger_id", "view", "fallback"}: a modal to open (the two-factor code); when Slack refuses
# (the click's trigger_id is older than 3 seconds), the fallback text is posted instead.
OPEN_VIEW_KEY = "deploybot_slack_view"
