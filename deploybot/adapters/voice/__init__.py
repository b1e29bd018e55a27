"""The voice channel's recognition: offline speech to the text the NLU reads (docs/voice.md).

audio.py reads and checks a recording, lexicon.py knows how words sound, grammar.py writes the
JSGF grammar from the catalog, numbers.py turns spoken digits back into "1.0.2" and "123456",
recognizer.py decodes and decides whether it heard enough to act, speech.py speaks a reply.
"""
