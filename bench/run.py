"""`make bench`: measures understanding, speed and footprint in one run and writes
docs/benchmarks.md.

    .venv/bin/python -m bench.run [--out docs/benchmarks.md]

1. the local stack (tests.support) with models/deploybot.tar.gz: held-out understanding
   through /model/parse, parse latency, chat turns at concurrency 1, 10 and 50, "yes" to
   Jenkins, report delay with push and with polling (bench.report_latency), memory;
2. Rasa's default pipeline trained on data/nlu and scored on the same held-out messages;
3. the training time of the full model and the model's size.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from bench import document, footprint, speed, understanding
from bench.report_latency import measure
from tests.support import MODEL, ROOT, start_stack, stop_stack

REPORT_RUNS = 6
TURNS = {1: 60, 10: 200, 50: 400}  # concurrency: turns in total


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args(argv)
    started = time.monotonic()
    results = {"started": time.time()}
    labelled = understanding.heldout()

    with tempfile.TemporaryDirectory(prefix="bench-") as work:
        work = Path(work)
        (work / "var").mkdir()
        log("starting the stack")
        stack = start_stack(work / "var", {})
        try:
            marvin = stack.bots["marvin"]
            log("held-out understanding through /model/parse")
            results["ours"] = understanding.evaluate(marvin.parse, labelled)
            log("/model/parse latency")
            results["parse"] = speed.parse_latency(marvin, [m.text for m in labelled])
            log("chat turns at concurrency " + ", ".join(map(str, TURNS)))
            results["turns"] = speed.chat_turn_runs(marvin, TURNS)
            log("turns as one conversation grows")
            results["growth"] = speed.turns_as_conversation_grows(marvin)
            log('"yes" to Jenkins')
            results["yes_to_jenkins"] = speed.yes_to_jenkins(stack)
            log("memory")
            results["memory"] = footprint.stack_memory(stack)
            log("report delay with push, then with polling")
            results["report_push"] = measure(stack, REPORT_RUNS, push=True, first_version=1)
            results["report_polling"] = measure(stack, REPORT_RUNS, push=False, first_version=2)
        finally:
            stop_stack(stack)

        log("training and scoring Rasa's default pipeline")
        (work / "default").mkdir()
        results["default"], results["default_scores"] = understanding.evaluate_default_pipeline(work / "default", labelled)
        log("training the full model")
        results["training_seconds"], trained = footprint.train_full_model(work / "models")
        results["model_mb"] = footprint.size_mb(MODEL)
        results["trained_model_mb"] = footprint.size_mb(trained)

    results["total_seconds"] = time.monotonic() - started
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(document.render(results))
    log(f"wrote {args.out} in {results['total_seconds'] / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
