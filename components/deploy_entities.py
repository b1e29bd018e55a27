"""Rasa glue: the final entity step of the NLU pipeline (see deploybot.language.entities).

It runs after the statistical entity extractor (CRF) and replaces the message's entities with resolved, normalized ones,
so /model/parse already returns catalog ids, environment ids, clean versions and user ids.
Everything it knows comes from the spaCy pipeline that `make` builds from apps.yml and
the assistant profiles: the entity ruler's patterns and the word probabilities.
"""
from typing import Any, Dict, List, Text, Type

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import SPACY_DOCS
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.nlu.utils.spacy_utils import SpacyModel, SpacyNLP
from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from deploybot.language.entities import UNSEEN_WORD_LOG_PROB, Span, Vocabulary, resolve_entities


def vocabulary_from(nlp) -> Vocabulary:
    """Reads catalog spellings and bot names back out of the pipeline's entity ruler."""
    patterns = nlp.get_pipe("entity_ruler").patterns
    spellings = {"APP": {}, "ENVIRONMENT": {}}
    bot_names: List[str] = []
    for pattern in patterns:
        if pattern["label"] in spellings:
            spellings[pattern["label"]][pattern["pattern"]] = pattern["id"]
        elif pattern["label"] == "BOT":
            bot_names += [name.lstrip("@") for name in pattern["pattern"][0]["LOWER"]["IN"]]
    log_probs = nlp.vocab.lookups.get_table("lexeme_prob")

    def log_prob(word: str) -> float:
        return log_probs.get(word, UNSEEN_WORD_LOG_PROB)

    return Vocabulary(spellings["APP"], spellings["ENVIRONMENT"], tuple(sorted(set(bot_names))), log_prob)


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False, model_from="SpacyNLP"
)
class DeployEntityExtractor(GraphComponent, EntityExtractorMixin):
    @classmethod
    def required_components(cls) -> List[Type]:
        return [SpacyNLP]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._config = config
        self._vocabulary = None
        self._vocabulary_source = None

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> GraphComponent:
        return cls(config)

    def _vocabulary_for(self, nlp) -> Vocabulary:
        if self._vocabulary_source is not nlp:  # built once per loaded spaCy pipeline
            self._vocabulary, self._vocabulary_source = vocabulary_from(nlp), nlp
        return self._vocabulary

    def process(self, messages: List[Message], model: SpacyModel) -> List[Message]:
        vocabulary = self._vocabulary_for(model.model)
        for message in messages:
            doc = message.get(SPACY_DOCS[TEXT])
            text = message.get(TEXT) or ""
            if doc is None:
                continue
            if len(doc.text) != len(text):  # lowercasing changed the length (rare Unicode)
                text = doc.text
            rule_spans = [Span(e.start_char, e.end_char, e.label_, e.ent_id_) for e in doc.ents]
            tokens = [Span(t.idx, t.idx + len(t.text)) for t in doc]
            intent = (message.get(INTENT) or {}).get("name")
            found = resolve_entities(text, rule_spans, tokens, message.get(ENTITIES, []), vocabulary, intent)
            confidences = {(e.get("start"), e.get("end")): e.get("confidence_entity") for e in message.get(ENTITIES, [])}
            entities = [
                {
                    "entity": e.entity,
                    "start": e.start,
                    "end": e.end,
                    "value": e.value,
                    "confidence_entity": confidences.get((e.start, e.end), 1.0) if e.source == "model" else 1.0,
                    "extractor": self.__class__.__name__,
                    "source": e.source,
                }
                for e in found
            ]
            message.set(ENTITIES, entities, add_to_output=True)
        return messages
