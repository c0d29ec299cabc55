"""The benchmark's tables: every figure next to its ratio to the same run's reference (Postfix, else bare)."""

from __future__ import annotations

COLUMNS = (
    # (key, heading, higher is better)
    ("per_second", "msg/s", True),
    ("median_ms", "median ms", False),
    ("p99_ms", "p99 ms", False),
    ("delivered_per_second", "delivered/s", True),
    ("cpu_ms_per_msg", "CPU ms/msg", False),
)
NAMES = {"bare": "bare aiosmtpd", "sqlite": "aiosmtpd + SQLite", "relay": "relay, 1 process",
         "relay2": "relay, 2 processes", "postfix": "Postfix"}


def median_round(runs: list) -> dict | str:
    """One target's figures from its rounds: the round with the median throughput, and every round's rate.

    A whole round, not a median of each figure, so its latency, CPU and
    delivery belong together. A round that failed counts as no figures;
    if every round failed, the first failure says why.
    """
    measured = [run for run in runs if isinstance(run, dict)]
    if not measured:
        return runs[0]
    if len(runs) == 1:
        return measured[0]
    ordered = sorted(measured, key=lambda run: run["per_second"])
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    chosen["rounds"] = [run["per_second"] if isinstance(run, dict) else "failed" for run in runs]
    return chosen


def reference(figures: dict) -> str:
    for name in ("postfix", "bare"):
        if isinstance(figures.get(name), dict):
            return name
    return ""


def ratio(value, base) -> str:
    if value is None or not base:
        return "–"
    return f"{value / base:.2f}×"


def cell(value) -> str:
    if value is None:
        return "–"
    return f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"


def rows(figures: dict) -> tuple[list[str], list[list[str]], str]:
    ref_name = reference(figures)
    ref = figures.get(ref_name, {})
    head = ["target"]
    for _, heading, _ in COLUMNS:
        head += [heading, f"× {ref_name or 'ref'}"]
    head += ["last copy after load", "accepted / delivered"]
    body = []
    for name, result in figures.items():
        if not isinstance(result, dict):
            body.append([NAMES.get(name, name), result])
            continue
        line = [NAMES.get(name, name)]
        for key, _, _ in COLUMNS:
            line += [cell(result.get(key)), ratio(result.get(key), ref.get(key))]
        line.append(lag(result))
        line.append(f"{result['accepted']:,} / {result['delivered']:,}" if "delivered" in result
                    else f"{result['accepted']:,} / –")
        body.append(line)
    return head, body, ref_name


def lag(result: dict) -> str:
    if "delivered" not in result:
        return "–"
    if not result["delivery_complete"]:
        return f"incomplete ({result['delivered']:,} of {result['accepted']:,})"
    return f"{result['delivery_lag_s']:.2f} s"


def text_table(head: list[str], body: list[list[str]]) -> str:
    width = [max(len(str(r[i])) for r in [head] + [b for b in body if len(b) > 2]) for i in range(len(head))]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(head, width))]
    for line in body:
        if len(line) == 2:
            lines.append(f"{line[0].ljust(width[0])}  {line[1]}")
        else:
            lines.append("  ".join(str(c).ljust(w) for c, w in zip(line, width)))
    return "\n".join(lines)


def markdown_table(results: dict) -> str:
    """All sizes in one Markdown table, each figure as a ratio to the reference with the reference's own value."""
    sizes = list(results["sizes"])
    head = ["target"]
    for size in sizes:
        kb = f"{int(size) // 1024} KB"
        head += [f"{kb} msg/s", f"{kb} end-of-DATA→250 median / p99", f"{kb} last copy after load"]
    names = [n for n in NAMES if any(n in results["sizes"][s] for s in sizes)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in names:
        cells = [NAMES[name]]
        for size in sizes:
            figures = results["sizes"][size]
            result, ref_name = figures.get(name), reference(figures)
            ref = figures.get(ref_name, {})
            if not isinstance(result, dict):
                cells += [str(result or "–"), "", ""]
                continue
            if name == ref_name:
                cells += [f"1.00 ({result['per_second']:,.0f}/s)",
                          f"1.00 / 1.00 ({cell(result['median_ms'])} / {cell(result['p99_ms'])} ms)"]
            else:
                cells += [ratio(result["per_second"], ref["per_second"]),
                          f"{ratio(result['median_ms'], ref['median_ms'])} / {ratio(result['p99_ms'], ref['p99_ms'])}"]
            cells.append(lag(result))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def program_lines(program) -> list[str]:
    if not isinstance(program, dict):
        return [f"program size: {program}"]
    two, large, n = program["two"], program["large"], program["participants"]
    for name, result in (("program of two", two), (f"program of {n:,}", large)):
        if not isinstance(result, dict):
            return [f"program size: {name}: {result}"]
    lines = [
        f"one pair in a program of {n:,} participants against a program of two (4 KB, 1 process, "
        f"{two['accepted']:,} messages each):",
        f"  accepted: {large['per_second']:,.1f} against {two['per_second']:,.1f} msg/s = "
        f"{ratio(large['per_second'], two['per_second'])} (target ≥ 0.8×); "
        f"p99 {cell(large['p99_ms'])} against {cell(two['p99_ms'])} ms",
        f"  delivered: {large['delivered_per_second']:,.1f} against {two['delivered_per_second']:,.1f} msg/s = "
        f"{ratio(large['delivered_per_second'], two['delivered_per_second'])} (target ≥ 0.8×); "
        f"last copy {lag(large)} against {lag(two)} after the load; "
        f"CPU {cell(large['cpu_ms_per_msg'])} against {cell(two['cpu_ms_per_msg'])} ms/msg",
    ]
    if large.get("rounds") and two.get("rounds"):
        turns = " / ".join(f"{cell(a)} against {cell(b)}" if isinstance(a, float) and isinstance(b, float) else "failed"
                           for a, b in zip(large["rounds"], two["rounds"]))
        lines.append(f"  rounds accepted at {turns} msg/s; each program shows its median round")
    return lines


def mixed_lines(mixed) -> list[str]:
    if not isinstance(mixed, dict):
        return [f"mixed: {mixed}"]
    alone, small, large = mixed["alone"], mixed["small"], mixed["large"]

    def load(result: dict) -> str:
        return f"{result['per_second']:,.1f} msg/s, median {cell(result['median_ms'])} / p99 {cell(result['p99_ms'])} ms"

    return [
        f"large beside small (1 process): {mixed['small_sessions']} sessions of 4 KB alone, then beside "
        f"{mixed['large_sessions']} sessions of 64 KB:",
        f"  4 KB alone: {load(alone)}",
        f"  4 KB beside 64 KB: {load(small)} = {ratio(small['p99_ms'], alone['p99_ms'])} the p99 alone",
        f"  64 KB: {load(large)}",
    ]


def report(results: dict, args) -> None:
    print(f"{results['date']}, {results['machine']}, {results['sessions']} sessions on loopback")
    print("ratios: throughput as target ÷ reference (higher is better), latency and CPU as target ÷ reference "
          "(lower is better)")
    for size, figures in results["sizes"].items():
        head, body, ref_name = rows(figures)
        print(f"\n{int(size):,} B messages, against {ref_name or 'no reference'}:")
        print(text_table(head, body))
        for name, result in figures.items():
            if isinstance(result, dict) and (result.get("refused") or result.get("errors")):
                print(f"  {NAMES.get(name, name)}: refused {result.get('refused')}, errors {result.get('errors')}")
            if isinstance(result, dict) and result.get("rounds"):
                rates = " / ".join(cell(r) if isinstance(r, float) else r for r in result["rounds"])
                print(f"  {NAMES.get(name, name)}: rounds at {rates} msg/s; the table shows the median round")
            if isinstance(result, dict) and result.get("queue_empty_s") is not None:
                print(f"  {NAMES.get(name, name)}: its queue was empty {result['queue_empty_s']:.2f} s after the load")
    if "program" in results:
        print()
        print("\n".join(program_lines(results["program"])))
    if "mixed" in results:
        print()
        print("\n".join(mixed_lines(results["mixed"])))
    if getattr(args, "markdown", False):
        print()
        print(markdown_table(results))
