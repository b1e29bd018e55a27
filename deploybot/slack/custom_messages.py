"""What actions put into a custom (json) message for the Slack output channel, channels/slack.py:

- REPLY_TO_KEY: {"channel", "thread_ts"}: where in Slack a report goes (the request's thread);
- UPDATE_KEY: {"channel", "ts", "text"}: a question whose buttons were clicked, rewritten to
  say what was clicked, by whom and what came of it (the buttons go).
"""
REPLY_TO_KEY = "deploybot_slack"
UPDATE_KEY = "deploybot_slack_update"
