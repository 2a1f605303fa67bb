"""How well and how fast the bot understands chat messages, in English and German.

Runs the team's labelled corpora (tests/understanding/*.jsonl) through the real chat core over
the demo tenant (tests/support/understanding.py) — understanding only, no job — and measures
the time per message from `Dispatcher.handle` in, against a baseline measured in the same run:
folding and tokenising the same messages (the least any recogniser must do). A turn counts as
understood when intent, subject, sender, request id, answer language and focus all match.

`en`/`de` are the team's labelled corpora the recogniser was developed against (corpus,
holdout, second_writer: 1,146 turns); `unseen_*` is a corpus written last, by another writer,
and never used to change the recogniser: the honest estimate for messages nobody on the team
has seen (no target; watched).

    .venv/bin/python bench/understanding.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from handlers.understanding.text import fold, tokens  # noqa: E402
from tests.support.understanding import chat_core, lines, run  # noqa: E402

NAMES = ("corpus.jsonl", "holdout.jsonl", "second_writer.jsonl", "unseen.jsonl")


def baseline_p99_ms(texts: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        for text in texts:
            start = time.perf_counter()
            tokens(fold(text))
            times.append(time.perf_counter() - start)
    times.sort()
    return 1000 * times[int(len(times) * 0.99)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of every corpus (timing); accuracy is per run"
    )
    args = parser.parse_args()
    accuracy: dict[str, dict[str, float]] = {}
    team = {"en": [0, 0], "de": [0, 0]}  # understood, turns
    all_times: list[float] = []
    texts: list[str] = []
    for name in NAMES:
        texts += [line["input"] for line in lines(name)]
        for i in range(args.repeat):
            score = run(name, chat_core())
            all_times += [t.seconds for t in score.turns]
            if i == 0:
                accuracy[name] = {lang: score.accuracy(lang) for lang in ("en", "de")}
                for t in score.turns if name != "unseen.jsonl" else ():
                    team[t.line["lang"]][0] += t.ok
                    team[t.line["lang"]][1] += 1
                print(
                    f"{name:14} turns={len(score.turns):4} en={accuracy[name]['en']:.3f} de={accuracy[name]['de']:.3f}"
                )
    all_times.sort()
    p99 = 1000 * all_times[int(len(all_times) * 0.99)]
    base = baseline_p99_ms(texts, args.repeat)
    print(
        f"p99 per message {p99:.2f} ms; baseline (fold + tokenise) p99 {base:.3f} ms; ratio {p99 / base:.0f}"
    )
    en, de = (team[lang][0] / team[lang][1] for lang in ("en", "de"))
    unseen = accuracy["unseen.jsonl"]
    met = en >= 0.95 and de >= 0.95 and p99 <= 20
    print(
        f"BENCH understanding en={en:.3f} de={de:.3f} unseen_en={unseen['en']:.3f} unseen_de={unseen['de']:.3f} "
        f"p99_ms={p99:.2f} baseline_p99_ms={base:.3f} ratio={p99 / base:.0f} "
        f"target=en>=0.95,de>=0.95,p99<=20ms met={'yes' if met else 'no'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
