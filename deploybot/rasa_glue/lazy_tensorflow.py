"""Lets a Rasa 3.6 server answer without importing TensorFlow when its model needs none.

deploybot's pipeline (scikit-learn intents, CRF entities, RulePolicy) never calls
TensorFlow, yet `rasa run` imports it three times over, which costs hundreds of MB and
seconds per server:

- spaCy's thinc imports TensorFlow, if it is installed, to offer its TensorFlow layers,
  which a pipeline built from spacy.blank("en") never uses. thinc.compat is imported here
  with TensorFlow hidden, so thinc sees none.
- `rasa.utils.train_utils` imports Rasa's Keras callbacks at module level, and every
  entity extractor imports it. Here it is a deferred module: CRFEntityExtractor's one
  call at load time (`init_split_entities`, ten lines without TensorFlow, copied) is
  answered directly, and any other attribute executes the real module into it first,
  TensorFlow included, which only TensorFlow components and training need.
- Loading a model deserializes its *training* graph too, whose recipe validator imports
  DIETClassifier and TEDPolicy. Serving only needs the prediction graph, so the training
  graph is deserialized on first use instead.

A model that does use DIET or TED still works: their modules import TensorFlow as before
(thinc then has no TensorFlow layers, which Rasa does not use). `install()` must run before
anything imports spaCy or Rasa's NLU (first thing in deploybot.rasa_glue.rasa_server).
tests/unit/test_lazy_tensorflow.py checks it.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import types
from typing import Any, Callable, Dict

TRAIN_UTILS = "rasa.utils.train_utils"


class _Hide(importlib.abc.MetaPathFinder):
    """Makes `import tensorflow` fail while it is on sys.meta_path."""

    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ImportError(f"{name} hidden by deploybot.rasa_glue.lazy_tensorflow")
        return None


def _thinc_without_tensorflow() -> None:
    if "thinc.compat" in sys.modules or "tensorflow" in sys.modules:
        return
    hide = _Hide()
    sys.meta_path.insert(0, hide)
    try:
        import thinc.compat  # noqa: F401
    finally:
        sys.meta_path.remove(hide)


def init_split_entities(split_entities_config, default_split_entity):
    """rasa.utils.train_utils.init_split_entities of Rasa 3.6, which needs no TensorFlow."""
    from rasa.shared.nlu.constants import SPLIT_ENTITIES_BY_COMMA

    if isinstance(split_entities_config, bool):
        split_entities_config = {SPLIT_ENTITIES_BY_COMMA: split_entities_config}
    else:
        split_entities_config[SPLIT_ENTITIES_BY_COMMA] = default_split_entity
    return split_entities_config


class DeferredModule(types.ModuleType):
    """A module that executes its real code into itself when a name it lacks is asked for."""

    def __getattr__(self, name: str):
        if name.startswith("__") or self.__dict__.get("_deploybot_loading"):
            raise AttributeError(name)
        self._deploybot_loading = True
        try:
            self.__dict__.pop("init_split_entities", None)
            self.__spec__.loader.exec_module(self)
        finally:
            self.__dict__.pop("_deploybot_loading", None)
        self.__class__ = types.ModuleType
        return getattr(self, name)


def _defer_train_utils() -> None:
    import rasa.utils

    spec = importlib.machinery.PathFinder.find_spec(TRAIN_UTILS, rasa.utils.__path__)
    module = DeferredModule(TRAIN_UTILS)
    module.__spec__, module.__file__, module.__loader__ = spec, spec.origin, spec.loader
    module.__package__ = "rasa.utils"
    module.init_split_entities = init_split_entities
    sys.modules[TRAIN_UTILS] = module
    rasa.utils.train_utils = module


class DeferredGraphSchema:
    """A GraphSchema that is deserialized when something first uses it."""

    def __init__(self, serialized: Dict[str, Any], from_dict: Callable[[Dict[str, Any]], Any]) -> None:
        self._serialized, self._from_dict, self._schema = serialized, from_dict, None

    def _loaded(self):
        if self._schema is None:
            self._schema = self._from_dict(self._serialized)
        return self._schema

    def __getattr__(self, name: str):
        return getattr(self._loaded(), name)

    def __eq__(self, other) -> bool:
        return self._loaded() == (other._loaded() if isinstance(other, DeferredGraphSchema) else other)


def _defer_training_graph() -> None:
    from rasa.engine.graph import GraphSchema
    from rasa.engine.storage.storage import ModelMetadata

    if getattr(ModelMetadata.from_dict, "_deploybot_deferred", False):
        return
    original = ModelMetadata.from_dict.__func__

    def from_dict(cls, serialized):
        train_schema = serialized["train_schema"]
        metadata = original(cls, {**serialized, "train_schema": {"nodes": {}}})
        metadata.train_schema = DeferredGraphSchema(train_schema, GraphSchema.from_dict)
        return metadata

    from_dict._deploybot_deferred = True
    ModelMetadata.from_dict = classmethod(from_dict)


def install() -> bool:
    """False (and nothing done) if Rasa's training utilities were imported already."""
    if TRAIN_UTILS in sys.modules:
        return False
    _thinc_without_tensorflow()
    _defer_train_utils()
    _defer_training_graph()
    return True
