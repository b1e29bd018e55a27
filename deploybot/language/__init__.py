"""Language understanding that is not Rasa glue: the spaCy pipeline and entity resolution."""
