"""deploybot.rasa_glue.lazy_tensorflow: a Rasa server for a model without TensorFlow components never
imports TensorFlow, and anything that does need Rasa's TensorFlow code still gets it.

Each check runs in a fresh interpreter: this one has imported Rasa and TensorFlow already."""
import subprocess
import sys
import textwrap

from tests.support import ROOT


def run(code: str) -> None:
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True, text=True,
                            timeout=300, env={"PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false",
                                              "TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stdout + result.stderr


def test_serving_imports_neither_tensorflow_nor_its_rasa_code():
    run("""
        import sys
        from deploybot.rasa_glue import lazy_tensorflow
        assert lazy_tensorflow.install()
        assert not lazy_tensorflow.install()  # once only
        import spacy, thinc.compat
        import rasa.__main__, rasa.core.agent, rasa.server
        from rasa.nlu.extractors.crf_entity_extractor import CRFEntityExtractor
        from rasa.core.policies.rule_policy import RulePolicy
        import components.linear_svc, components.deploy_entities
        import rasa.utils.train_utils as train_utils
        assert train_utils.init_split_entities(True, False) == {"split_entities_by_comma": True}
        assert train_utils.init_split_entities({"app": False}, True) == {"app": False, "split_entities_by_comma": True}
        assert not thinc.compat.has_tensorflow
        assert "tensorflow" not in sys.modules, "TensorFlow was imported"
    """)


def test_rasa_tensorflow_code_is_still_there_when_asked_for():
    run("""
        import sys
        from deploybot.rasa_glue import lazy_tensorflow
        assert lazy_tensorflow.install()
        import rasa.utils.train_utils as train_utils
        ours = lazy_tensorflow.init_split_entities
        assert callable(train_utils.create_common_callbacks)  # executes the real module
        assert "tensorflow" in sys.modules
        assert train_utils.init_split_entities is not ours
        assert train_utils.init_split_entities({"app": False}, True) == ours({"app": False}, True)
        from rasa.nlu.classifiers.diet_classifier import DIETClassifier
        from rasa.core.policies.ted_policy import TEDPolicy
    """)


def test_the_training_graph_of_a_loaded_model_is_read_when_used():
    run("""
        from deploybot.rasa_glue import lazy_tensorflow
        assert lazy_tensorflow.install()
        from datetime import datetime
        import rasa
        from rasa.engine.graph import GraphSchema, SchemaNode
        from rasa.engine.storage.storage import ModelMetadata
        from rasa.shared.core.domain import Domain
        from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
        node = SchemaNode(needs={}, uses=FallbackClassifier, constructor_name="load", fn="process", config={})
        metadata = ModelMetadata(datetime.now(), rasa.__version__, "id", "assistant", Domain.empty(),
                                 GraphSchema({"train": node}), GraphSchema({"predict": node}), "fp", None, "predict", "en")
        loaded = ModelMetadata.from_dict(metadata.as_dict())
        assert isinstance(loaded.train_schema, lazy_tensorflow.DeferredGraphSchema)
        assert loaded.train_schema.nodes["train"].uses is FallbackClassifier
        assert loaded.predict_schema.nodes["predict"].uses is FallbackClassifier
        assert loaded.as_dict()["train_schema"] == metadata.as_dict()["train_schema"]
    """)
