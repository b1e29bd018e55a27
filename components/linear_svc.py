"""An intent classifier on scikit-learn's LinearSVC, which Rasa 3.6 does not ship.

It reads the sentence features of the featurizers before it, like Rasa's
LogisticRegressionClassifier, but scales each featurizer's vector to unit length
separately (normalize: per_featurizer), so the many character n-grams do not drown the
word n-grams, and long messages weigh as much as short ones.

A linear SVM gives no probabilities. The confidences are a softmax of its decision values
times `confidence_scale`; FallbackClassifier (threshold 0.3, ambiguity 0.1) then turns
the uncertain ones into nlu_fallback. Scale 5 was chosen by cross-validation on data/nlu:
about 1 message in 20 falls back, and more of those were wrong than right
(bench/crossval.py, docs/nlu-crossval.md).
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Text

import numpy as np
from scipy.sparse import csr_matrix, hstack, vstack
from sklearn.preprocessing import normalize as unit_length
from sklearn.svm import LinearSVC

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.utils.tensorflow.constants import RANKING_LENGTH

logger = logging.getLogger(__name__)

MODEL_FILE = "linear_svc.joblib"
NORMALIZE = ("none", "message", "per_featurizer")


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearSVCIntentClassifier(LogisticRegressionClassifier):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            **LogisticRegressionClassifier.get_default_config(),
            "C": 1.0,
            "normalize": "per_featurizer",
            "confidence_scale": 5.0,
            "random_state": 42,
        }

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        if config.get("normalize", "per_featurizer") not in NORMALIZE:
            raise ValueError(f"LinearSVCIntentClassifier normalize must be one of {NORMALIZE}")

    def __init__(self, config: Dict[Text, Any], name: Text, model_storage: ModelStorage, resource: Resource) -> None:
        super().__init__(config, name, model_storage, resource)
        self.config = {**self.get_default_config(), **config}
        self.clf = LinearSVC(C=self.config["C"], class_weight="balanced", random_state=self.config["random_state"],
                             max_iter=10000)

    def _features(self, message: Message) -> csr_matrix:
        """The message's sentence features, one block per featurizer in pipeline order."""
        blocks = [csr_matrix(f.features) for f in message.features
                  if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE]
        if self.config["normalize"] == "per_featurizer":
            blocks = [unit_length(block) for block in blocks]
        together = hstack(blocks).tocsr() if blocks else csr_matrix((1, 0))
        return unit_length(together) if self.config["normalize"] == "message" else together

    def _create_X(self, messages: List[Message]) -> csr_matrix:
        return vstack([self._features(message) for message in messages]).tocsr()

    def train(self, training_data: TrainingData) -> Resource:
        X, y = self._create_training_matrix(training_data)
        if X.shape[0] == 0:
            return self._resource
        self.clf.fit(X, np.asarray(y))
        self.persist()
        return self._resource

    def confidences(self, X: csr_matrix) -> np.ndarray:
        scores = self.clf.decision_function(X) * self.config["confidence_scale"]
        if scores.ndim == 1:  # two intents only
            scores = np.stack([-scores, scores], axis=1)
        scores -= scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return exp / exp.sum(axis=1, keepdims=True)

    def process(self, messages: List[Message]) -> List[Message]:
        if not hasattr(self.clf, "classes_"):  # never trained (no intents)
            return messages
        probabilities = self.confidences(self._create_X(messages))
        for message, row in zip(messages, probabilities):
            ranking = sorted(({"name": name, "confidence": float(p)} for name, p in zip(self.clf.classes_, row)),
                             key=lambda r: -r["confidence"])
            message.set(INTENT, ranking[0], add_to_output=True)
            if self.config[RANKING_LENGTH] > 0:
                ranking = ranking[: self.config[RANKING_LENGTH]]
            message.set("intent_ranking", ranking, add_to_output=True)
        return messages

    def persist(self) -> None:
        import joblib

        with self._model_storage.write_to(self._resource) as model_dir:
            joblib.dump(self.clf, model_dir / MODEL_FILE)

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "LinearSVCIntentClassifier":
        import joblib

        component = cls(config, execution_context.node_name, model_storage, resource)
        try:
            with model_storage.read_from(resource) as model_dir:
                component.clf = joblib.load(model_dir / MODEL_FILE)
        except ValueError:
            logger.debug(f"No trained {cls.__name__} in resource '{resource.name}'.")
        return component
