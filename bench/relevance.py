"""Which real listings are vitamin C serum candidates: evaluator.relevance.judge against the labelled
sample (bench/labels/relevance.jsonl: row keys and labels only; the rows are read at run time from
../shared/data/real_listings/).

    .venv/bin/python bench/relevance.py [--folder PATH] [--show-errors N] [--final]

Prints precision, recall and F1 of ``candidate`` on the tuning rows and on the held-out third (never
tuned on), the product kind's agreement, the confusion by labelled kind, and the vitamin C forms' F1
(evaluator facts against the labelled forms), with a 95% Wilson interval on precision and recall: the
held-out third has few positives. ``--show-errors`` lists wrong tuning rows only, and the confusion by
kind shows held-out cells only with ``--final``: the held-out rows are for measuring, not for reading.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from real_listings import DEFAULT_FOLDER, listing_from_row, read_rows  # noqa: E402

from evaluator import evaluate  # noqa: E402
from evaluator.relevance import judge  # noqa: E402

LABELS = Path(__file__).resolve().parent / "labels" / "relevance.jsonl"
GOAL_F1 = 0.95
CANDIDATE_KINDS = {"serum", "oil", "treatment"}
# the judgement's finer kinds that LABELING.md calls "other"
OTHER_KINDS = {"kit", "hair", "makeup", "lip", "body", "self-tan", "device"}
# the evaluator's vitamin C form names -> the ids of ../shared/LABELING.md; other forms are "other:<name>"
FORM_IDS = {
    "L-ascorbic acid": "ascorbic_acid",
    "3-O-ethyl ascorbic acid": "ethyl_ascorbic_acid",
    "glyceryl ascorbate": "glyceryl_ascorbate",
}
LABELLED_FORMS = {
    "sodium_ascorbyl_phosphate", "magnesium_ascorbyl_phosphate", "ascorbyl_glucoside",
    "tetrahexyldecyl_ascorbate", "ascorbyl_palmitate", "sodium_ascorbate", "calcium_ascorbate",
    "aminopropyl_ascorbyl_phosphate", "ascorbyl_methylsilanol_pectinate",
    "trisodium_ascorbyl_palmitate_phosphate", "ascorbyl_dipalmitate", "dehydroascorbic_acid",
    "ascorbyl_isostearate",
}  # fmt: skip


def read_labels(path: Path) -> dict[str, dict]:
    with path.open(encoding="utf-8") as handle:
        labels = [json.loads(line) for line in handle if line.strip()]
    return {label["hid"]: label for label in labels}


def gold_candidate(label: dict) -> bool:
    """../shared/LABELING.md: kind serum/oil/treatment, vitamin C featured, a form in its INCI list
    (or no INCI list at all)."""
    return (
        label["kind"] in CANDIDATE_KINDS
        and label["vitc_featured"]
        and (bool(label["vitc_forms"]) or not label["has_inci"])
    )


def form_id(name: str) -> str:
    if name in FORM_IDS:
        return FORM_IDS[name]
    snake = name.lower().replace("-", "_").replace(" ", "_")
    return snake if snake in LABELLED_FORMS else f"other:{name.lower()}"


def prf(counts: Counter) -> tuple[float, float, float]:
    tp, fp, fn = counts["tp"], counts["fp"], counts["fn"]
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def wilson(hits: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson score interval of a proportion."""
    if not total:
        return 0.0, 1.0
    share = hits / total
    centre = (share + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(share * (1 - share) / total + z * z / (4 * total * total))
    return max(0.0, centre - half / (1 + z * z / total)), min(
        1.0, centre + half / (1 + z * z / total)
    )


def outcome(gold: bool, predicted: bool) -> str:
    return {(True, True): "tp", (False, True): "fp", (True, False): "fn"}.get(
        (gold, predicted), "tn"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--folder", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument("--show-errors", type=int, default=0, help="list N wrong tuning rows")
    parser.add_argument("--final", action="store_true", help="show the held-out confusion too")
    args = parser.parse_args()
    rows = read_rows(args.folder)
    if rows is None:
        print(f"skipped: {args.folder} not found (the real listings live outside the project)")
        return
    labels = read_labels(args.labels)
    candidates: dict[str, Counter] = {"tuning": Counter(), "heldout": Counter()}
    kinds: dict[str, Counter] = {"tuning": Counter(), "heldout": Counter()}
    by_kind: dict[str, Counter] = {}
    forms: dict[str, Counter] = {"tuning": Counter(), "heldout": Counter()}
    errors = []
    for row in rows:
        label = labels.get(row["hid"])
        if label is None:
            continue
        split = label["split"]
        listing = listing_from_row(row)
        verdict = judge(listing)
        gold = gold_candidate(label)
        result = outcome(gold, verdict["candidate"])
        candidates[split][result] += 1
        kinds[split]["rows"] += 1
        kind = "other" if verdict["kind"] in OTHER_KINDS else verdict["kind"]
        kinds[split]["same kind"] += kind == label["kind"]
        by_kind.setdefault(label["kind"], Counter())[f"{split} {result}"] += 1
        found = {form_id(f["form"]) for f in evaluate(listing)["facts"]["vitamin_c"]["forms"]}
        wanted = set(label["vitc_forms"])
        forms[split]["tp"] += len(found & wanted)
        forms[split]["fp"] += len(found - wanted)
        forms[split]["fn"] += len(wanted - found)
        if split == "tuning" and result in ("fp", "fn"):
            errors.append((result, label["kind"], label["vitc_featured"], row, verdict))

    print(f"labelled rows: {sum(c['rows'] for c in kinds.values())} of {len(labels)} labels found")
    print(f"goal: candidate F1 >= {GOAL_F1} on the held-out third")
    print(f"{'split':9s} {'rows':>5s} {'tp':>4s} {'fp':>4s} {'fn':>4s} "
          f"{'precision':>9s} {'recall':>7s} {'F1':>6s} {'kind agrees':>11s} {'forms F1':>8s}")  # fmt: skip
    for split, counts in candidates.items():
        precision, recall, f1 = prf(counts)
        kind_share = kinds[split]["same kind"] / kinds[split]["rows"] if kinds[split]["rows"] else 0
        print(
            f"{split:9s} {kinds[split]['rows']:5d} {counts['tp']:4d} {counts['fp']:4d} "
            f"{counts['fn']:4d} {precision:9.3f} {recall:7.3f} {f1:6.3f} {kind_share:11.1%} "
            f"{prf(forms[split])[2]:8.3f}"
        )
        p_low, p_high = wilson(counts["tp"], counts["tp"] + counts["fp"])
        r_low, r_high = wilson(counts["tp"], counts["tp"] + counts["fn"])
        print(
            f"{'':9s} {counts['tp'] + counts['fn']} labelled candidates; 95% interval: precision "
            f"{p_low:.2f}-{p_high:.2f}, recall {r_low:.2f}-{r_high:.2f}"
        )
    shown = ("tuning", "heldout") if args.final else ("tuning",)
    print(f"\nconfusion by labelled kind (tp/fp/fn/tn, {' | '.join(shown)}):")
    for kind in sorted(by_kind):
        counts = by_kind[kind]
        cells = [
            "/".join(str(counts[f"{split} {r}"]) for r in ("tp", "fp", "fn", "tn"))
            for split in shown
        ]
        print(f"  {kind:12s} " + " | ".join(f"{cell:>14s}" for cell in cells))
    for result, kind, featured, row, verdict in errors[: args.show_errors]:
        print(
            f"\n{result} [{row['hid']}] labelled {kind}, featured={featured}: {row['name']!r}"
            f"\n   category {row['category']!r}\n   -> {verdict['rule']}: {verdict['reason']}"
        )


if __name__ == "__main__":
    main()
