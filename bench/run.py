"""`make bench`: measures understanding, speed and footprint in one run and writes
docs/benchmarks.md.

    .venv/bin/python -m bench.run [--out docs/benchmarks.md]

1. the local stack (tests.support) with models/deploybot.tar.gz: how long until both bots
   are ready, held-out understanding on every tests/nlu/heldout*.yml through /model/parse,
   parse latency, chat turns at concurrency 1, 10 and 50, "yes" to Jenkins, report delay
   with push and with polling (bench.report_latency), memory and whether TensorFlow is loaded;
2. Rasa's default pipeline trained on data/nlu and scored on the same held-out messages;
3. the training time of the full model and the model's size;
4. `make test`'s time from the newest record (bench.make_test_time; too long to run here).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from bench import document, footprint, make_test_time, speed, understanding
from bench.startup import has_tensorflow
from bench.report_latency import measure
from tests.support import MODEL, ROOT, start_stack, stop_stack

REPORT_RUNS = 6
TURNS = {1: 60, 10: 200, 50: 400}  # concurrency: turns in total


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def load_average() -> float:
    """The 1-minute load average, recorded before each timed measurement."""
    return os.getloadavg()[0]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args(argv)
    started = time.monotonic()
    results = {"started": time.time(), "load": {}}
    sets = understanding.heldout_sets()

    with tempfile.TemporaryDirectory(prefix="bench-") as work:
        work = Path(work)
        (work / "var").mkdir()
        log("starting the stack")
        results["load"]["start"] = load_average()
        before = time.monotonic()
        stack = start_stack(work / "var", {})
        results["ready_seconds"] = time.monotonic() - before
        try:
            marvin = stack.bots["marvin"]
            log("held-out understanding through /model/parse: " + ", ".join(sets))
            results["heldout"] = understanding.evaluate_sets(marvin.parse, sets)
            log("/model/parse latency")
            results["load"]["parse"] = load_average()
            results["parse"] = speed.parse_latency(marvin, [m.text for m in sets[understanding.ALL_SETS]])
            log("chat turns at concurrency " + ", ".join(map(str, TURNS)))
            results["turns"] = speed.chat_turn_runs(marvin, TURNS)
            log("turns as one conversation grows")
            results["growth"] = speed.turns_as_conversation_grows(marvin)
            log('"yes" to Jenkins')
            results["yes_to_jenkins"] = speed.yes_to_jenkins(stack)
            log("memory")
            results["memory"] = footprint.stack_memory(stack)
            results["tensorflow"] = {m.pid: has_tensorflow(m.pid) for m in results["memory"]}
            log("report delay with push, then with polling")
            results["report_push"] = measure(stack, REPORT_RUNS, push=True, first_version=1)
            results["report_polling"] = measure(stack, REPORT_RUNS, push=False, first_version=2)
        finally:
            stop_stack(stack)

        log("training and scoring Rasa's default pipeline")
        (work / "default").mkdir()
        results["default"], results["default_scores"] = understanding.evaluate_default_pipeline(work / "default", sets)
        log("training the full model")
        results["load"]["training"] = load_average()
        results["training_seconds"], trained = footprint.train_full_model(work / "models")
        results["model_mb"] = footprint.size_mb(MODEL)
        results["trained_model_mb"] = footprint.size_mb(trained)

    results["make_test"] = make_test_time.latest()
    if results["make_test"]:
        results["make_test"]["commits_behind"] = make_test_time.commits_since(results["make_test"]["commit"])
    results["total_seconds"] = time.monotonic() - started
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(document.render(results))
    log(f"wrote {args.out} in {results['total_seconds'] / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
