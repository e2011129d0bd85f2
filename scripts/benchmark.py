"""Benchmark: how long a build takes and how much memory it needs, against a naive baseline.

    .venv/bin/python scripts/benchmark.py [--runs 3] [--period 2023-Q3] [--write-readme]

Measured in a throw-away copy of the project (notebooks, data, _quarto.yml), never in outputs/:

- naive   every chapter as its own `papermill.execute_notebook` run (a new kernel each, one after
          another), then pandoc + typst on the results: what the build replaces;
- cold    `dxreport build` with an empty cache and no previous report (warm kernel pool);
- nothing changed   `dxreport build` again: the keys match and no work is done;
- prose edited   a Markdown cell of one notebook edited: no chapter re-runs, the new prose goes
          into the cached outputs, the report is rendered again;
- code edited   a code cell of one notebook edited: that chapter re-runs, the others come from
          the cache, the report is rendered again.

Peak memory is the largest sum of proportional set sizes over the build process and all its
children (kernels, pandoc), sampled every 20 ms in one more run of the naive and the cold build:
the timed runs are not sampled (the sampler's own CPU would slow a command that keeps both cores
busy more than one that leaves a core idle). Targets (from the brief): cold ≤ 0.3 × naive, nothing
changed ≤ 5 % of cold, peak < 1 GiB. Results are printed as a Markdown table; with
`--write-readme` they replace the block between the benchmark markers in README.md.

    .venv/bin/python scripts/benchmark.py --scale 100

measures instead how the pipeline scales: a synthetic data set 100 × today's (generated in a
throw-away project root from data/, never committed: every fact row copied with a "giả lập k"
breakdown or a suffixed id, so the copies stay valid and keys stay unique) is validated by
`dxreport validate`, then a cold `dxreport build --force` of every chapter (all formats, or
`--formats html,pdf`) runs on it, each in a subprocess; wall time and peak memory (summed over
the process and all its children: kernels, pandoc, typst) are printed (target < 1.5 GiB).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
START, END = "<!-- benchmark:start -->", "<!-- benchmark:end -->"


def copy_project(target: Path) -> Path:
    for name in ("notebooks", "data"):
        shutil.copytree(REPO / name, target / name)
    shutil.copyfile(REPO / "_quarto.yml", target / "_quarto.yml")
    return target


def _memory(p: "psutil.Process") -> int:
    """A process's proportional set size, or its resident size where PSS is not available."""
    try:
        return p.memory_full_info().pss
    except (AttributeError, psutil.AccessDenied):
        return p.memory_info().rss


def measure(cmd: list[str], env: dict, at_peak: list | None = None, memory: bool = True) -> tuple[float, int]:
    """Wall time and peak memory (bytes) of a command and all its children; `at_peak`, when
    given, receives (memory, command) of each process at the moment of the peak. With
    `memory=False`, the time alone (peak 0): the sampler reads every process's page tables
    fifty times a second, a share of the CPU that a command keeping both cores busy (a site)
    cannot spare and one leaving a core idle (a build) does not miss, so timed runs are not
    sampled and memory has runs of its own. Each process
    counts its proportional set size (PSS: a page shared by n processes counts 1/n in each), so
    the kernels forked from one warm parent, which share its pages, are not counted once per
    kernel as their resident sizes would be; where PSS cannot be read, the resident size. A
    child that still runs the parent's command line is a fork on its way to exec another
    program (pandoc): it shares every page with the parent and is not counted twice."""
    peak = 0
    at_peak = [] if at_peak is None else at_peak
    done = threading.Event()
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    parent = psutil.Process(proc.pid)
    try:
        own = parent.cmdline()
    except psutil.Error:
        own = None

    def sample():
        nonlocal peak
        while not done.is_set():
            try:
                procs = [parent, *parent.children(recursive=True)]
                total, parts = 0, []
                for p in procs:
                    try:
                        if p.pid != parent.pid and p.cmdline() == own:
                            continue
                        rss = _memory(p)
                        total += rss
                        parts.append((rss, " ".join(p.cmdline()[:3])[-60:]))
                    except psutil.Error:
                        pass
                if total > peak:
                    peak = total
                    at_peak[:] = parts
            except psutil.Error:
                pass
            time.sleep(0.02)

    thread = threading.Thread(target=sample, daemon=True)
    if memory:
        thread.start()
    _, err = proc.communicate()
    elapsed = time.perf_counter() - started
    done.set()
    if memory:
        thread.join()
    if proc.returncode != 0:
        raise SystemExit(f"command failed: {' '.join(cmd)}\n{err.decode()[-2000:]}")
    return elapsed, peak


NAIVE = r'''
import sys, json
from pathlib import Path
import papermill as pm
from dxreport import render
from dxreport.build import title_meta
from dxreport.data import load
from dxreport.periods import parse
root, period = Path(sys.argv[1]), sys.argv[2]
out = root / "naive"; out.mkdir(exist_ok=True)
prepared = []
for nb in sorted((root / "notebooks").glob("[0-9][0-9]-*.ipynb")):
    executed = out / nb.name
    pm.execute_notebook(str(nb), str(executed), parameters={"province": "nghe-an", "period": period, "data_dir": "data"},
                        progress_bar=False, cwd=str(root))
    prepared.append(render.prepare(executed, out / "prepared" / nb.name))
parts = [render.chapter_markdown(nb, out / "render") for nb in prepared]
meta = title_meta(load(root / "data"), "nghe-an", parse(period))
render.render_pandoc(parts, out / "render", meta, ("html", "pdf", "docx"), out / "published")
'''


def run(args) -> dict:
    python = sys.executable
    dxreport = str(Path(python).with_name("dxreport"))
    results: dict[str, list] = {"naive": [], "cold": [], "nothing": [], "one": [], "code": []}
    peaks: dict[str, list] = {"naive": [], "cold": []}
    build = [dxreport, "build", "--period", args.period, "--no-progress", "--workers", str(args.workers)]
    for i in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="dxbench-") as tmp:
            root = copy_project(Path(tmp))
            env = dict(os.environ, DXREPORT_ROOT=str(root))
            t, _ = measure([python, "-c", NAIVE, str(root), args.period], env, memory=False)
            results["naive"].append(t)
            t, _ = measure(build, env, memory=False)
            results["cold"].append(t)
            t, _ = measure(build, env, memory=False)
            results["nothing"].append(t)
            nb = root / "notebooks" / "05-kinh-te-so.ipynb"
            data = json.loads(nb.read_text(encoding="utf-8"))
            data["cells"][0]["source"] = ["# Kinh tế số\n", "\n", f"(lần đo {i})"]
            nb.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            t, _ = measure(build, env, memory=False)
            results["one"].append(t)
            code = next(c for c in data["cells"] if c["cell_type"] == "code" and "parameters" not in
                        c.get("metadata", {}).get("tags", []))
            code["source"] = "".join(code["source"]) + f"\n# lần đo {i}"
            nb.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            t, _ = measure(build, env, memory=False)
            results["code"].append(t)
        print(f"run {i + 1}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in results.items()), file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="dxbench-") as tmp:  # memory: one more run of each, sampled
        root = copy_project(Path(tmp))
        env = dict(os.environ, DXREPORT_ROOT=str(root))
        peaks["naive"].append(measure([python, "-c", NAIVE, str(root), args.period], env)[1])
        peaks["cold"].append(measure(build, env)[1])
    med = {k: statistics.median(v) for k, v in results.items()}
    return {
        "runs": args.runs, "period": args.period, "workers": args.workers,
        "median_s": med, "min_s": {k: min(v) for k, v in results.items()}, "max_s": {k: max(v) for k, v in results.items()},
        "peak_mib": {k: max(v) / 2**20 for k, v in peaks.items()},
        "cold_over_naive": med["cold"] / med["naive"], "nothing_over_cold": med["nothing"] / med["cold"],
        "one_over_cold": med["one"] / med["cold"], "code_over_cold": med["code"] / med["cold"],
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU, Python {platform.python_version()}",
        "chapters": len(list((REPO / "notebooks").glob("[0-9][0-9]-*.ipynb"))),
    }


def table(r: dict) -> str:
    def row(label, key, note=""):
        return (f"| {label} | {r['median_s'][key]:.2f} s | {r['min_s'][key]:.2f}–{r['max_s'][key]:.2f} s | {note} |")

    lines = [
        f"Measured by `make bench` ({r['runs']} runs, median; {r['chapters']} chapters, Nghệ An {r['period']}, "
        f"{r['workers']} warm kernels; {r['machine']}).",
        "",
        "| build | median | min–max | |",
        "|---|---:|---:|---|",
        row("naive: one papermill run per chapter, then pandoc + typst", "naive",
            f"peak {r['peak_mib']['naive']:.0f} MiB"),
        row("`dxreport build`, cold (empty cache)", "cold",
            f"**{r['cold_over_naive']:.2f} × naive** (target ≤ 0,3); peak **{r['peak_mib']['cold']:.0f} MiB** (target < 1 GiB)"),
        row("`dxreport build`, nothing changed", "nothing",
            f"**{100 * r['nothing_over_cold']:.1f} % of cold** (target ≤ 5 %)"),
        row("`dxreport build`, one chapter's prose (a Markdown cell) edited", "one",
            f"**{100 * r['one_over_cold']:.0f} % of cold** (target ≤ 30 %): no chapter re-runs, the new prose "
            "goes into the cached outputs, only that chapter is converted again, the three formats are written again"),
        row("`dxreport build`, one chapter's code edited", "code",
            f"{100 * r['code_over_cold']:.0f} % of cold: that chapter re-runs on one kernel, eight from cache"),
    ]
    return "\n".join(lines)


# The fact tables grow with the data; reference tables (units, pillars, indicators, sources,
# budget) stay as they are. For each, how copy k keeps its key unique.
SCALED = {
    "observations": lambda row, k: {**row, "breakdown": f"{row['breakdown']} giả lập {k}".strip()},
    "targets": lambda row, k: {**row, "target_id": f"{row['target_id']}-gl{k}"},
    "assessments": lambda row, k: {**row, "target_id": f"{row['target_id']}-gl{k}"},
    "tasks": lambda row, k: {**row, "task_id": f"{row['task_id']}-gl{k}"},
    "documents": lambda row, k: {**row, "doc_id": f"{row['doc_id']}-gl{k}"},
    "platforms": lambda row, k: {**row, "platform_no": str(int(float(row["platform_no"])) + 1000 * k)},
}


def scaled_data(target: Path, factor: int) -> dict[str, int]:
    """data/ copied with every fact table `factor` times as long; returns the row counts."""
    import csv

    shutil.copytree(REPO / "data", target)
    counts = {}
    for name, copy in SCALED.items():
        path = target / f"{name}.csv"
        if not path.exists():
            continue
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            fields, rows = reader.fieldnames, list(reader)
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fields, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
            for k in range(1, factor):
                writer.writerows(copy(row, k) for row in rows)
        counts[name] = len(rows) * factor
    return counts


def run_scale(args) -> str:
    python = sys.executable
    dxreport = str(Path(python).with_name("dxreport"))
    steps = {"validate": ([], []), "build": ([], [])}
    with tempfile.TemporaryDirectory(prefix="dxbench-scale-") as tmp:
        # A project root like tests/conftest.py `make_project`: every chapter, _quarto.yml and
        # the scaled data in its data/.
        root = Path(tmp)
        shutil.copytree(REPO / "notebooks", root / "notebooks")
        shutil.copyfile(REPO / "_quarto.yml", root / "_quarto.yml")
        folder = root / "data"
        counts = scaled_data(folder, args.scale)
        size = sum(p.stat().st_size for p in folder.glob("*.csv"))
        env = dict(os.environ, DXREPORT_ROOT=str(root))
        build = [dxreport, "build", "--period", args.period, "--no-progress", "--force",
                 "--workers", str(args.workers), "--format", args.formats]
        for i in range(args.runs):
            t, m = measure([dxreport, "validate", "--data-dir", str(folder)], env)
            steps["validate"][0].append(t)
            steps["validate"][1].append(m)
            shutil.rmtree(root / "outputs", ignore_errors=True)
            at_peak: list = []
            t2, m2 = measure(build, env, at_peak)
            print("build peak: " + "; ".join(f"{rss / 2**20:.0f} MiB {name}" for rss, name in sorted(at_peak, reverse=True)),
                  file=sys.stderr)
            steps["build"][0].append(t2)
            steps["build"][1].append(m2)
            print(f"run {i + 1}: validate {t:.2f}s, peak {m / 2**20:.0f} MiB; "
                  f"build {t2:.2f}s, peak {m2 / 2**20:.0f} MiB", file=sys.stderr)

    def row(label, key):
        times, peaks = steps[key]
        return (f"| {label} | {statistics.median(times):.2f} s | {min(times):.2f}–{max(times):.2f} s | "
                f"**{max(peaks) / 2**20:.0f} MiB** (target < 1,5 GiB) |")

    return "\n".join([
        f"Scale (`scripts/benchmark.py --scale {args.scale}`, {args.runs} runs; "
        f"{platform.machine()}, {os.cpu_count()} CPU, Python {platform.python_version()}): "
        f"data/ × {args.scale}, {counts.get('observations', 0):,} observations, "
        f"{sum(counts.values()):,} fact rows, {size / 2**20:.1f} MiB of CSV.",
        "",
        "| step | median | min–max | peak memory |",
        "|---|---:|---:|---|",
        row("`dxreport validate` (read, check every rule)", "validate"),
        row(f"`dxreport build` cold, every chapter, {args.formats} ({args.workers} warm kernels)", "build"),
    ])


SITE_START, SITE_END = "<!-- site-benchmark:start -->", "<!-- site-benchmark:end -->"


def site_periods(count: int) -> list[str]:
    """The newest `count` periods (quarters and years) the site would publish for Nghệ An."""
    sys.path.insert(0, str(REPO / "lib"))
    from dxreport.site import default_periods

    return [p.code for p in default_periods(REPO / "data", "nghe-an")][-count:]


def run_site(args) -> str:
    """N periods: N separate cold `dxreport build --force`, one after another, against one
    `dxreport site` of the same N periods from an empty outputs/ (no cache, no report)."""
    python = sys.executable
    dxreport = str(Path(python).with_name("dxreport"))
    codes = site_periods(args.site)
    seq_t, seq_m, site_t, site_m = [], [], [], []

    def build(code: str) -> list[str]:
        return [dxreport, "build", "--province", "nghe-an", "--period", code, "--force", "--no-progress",
                "--workers", str(args.workers)]

    site = [dxreport, "site", "--province", "nghe-an", "--workers", str(args.workers)]
    for code in codes:
        site += ["--period", code]
    for i in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="dxbench-site-") as tmp:
            root = copy_project(Path(tmp))
            env = dict(os.environ, DXREPORT_ROOT=str(root))
            total = 0.0
            for code in codes:
                total += measure(build(code), env, memory=False)[0]
            seq_t.append(total)
            shutil.rmtree(root / "outputs")
            t, _ = measure(site, env, memory=False)
            site_t.append(t)
        print(f"run {i + 1}: {len(codes)} × build --force {total:.1f}s; site {t:.1f}s", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="dxbench-site-") as tmp:  # memory: one more run, sampled
        root = copy_project(Path(tmp))
        env = dict(os.environ, DXREPORT_ROOT=str(root))
        seq_m.append(max(measure(build(code), env)[1] for code in codes))
        shutil.rmtree(root / "outputs")
        site_m.append(measure(site, env)[1])
    print(f"memory: {len(codes)} × build --force peak {seq_m[0] / 2**20:.0f} MiB; site peak {site_m[0] / 2**20:.0f} MiB",
          file=sys.stderr)
    seq, one = statistics.median(seq_t), statistics.median(site_t)
    ratios = [t / total for t, total in zip(site_t, seq_t)]  # the machine's speed drifts: each run's own pair
    return "\n".join([
        f"A site of {len(codes)} periods (`scripts/benchmark.py --site {args.site}`, {args.runs} runs, median; "
        f"Nghệ An {codes[0]} … {codes[-1]}, {args.workers} warm kernels; "
        f"{platform.machine()}, {os.cpu_count()} CPU, Python {platform.python_version()}).",
        "",
        "| run | median | min–max | peak memory |",
        "|---|---:|---:|---|",
        f"| {len(codes)} × `dxreport build --force`, one after another | {seq:.1f} s | {min(seq_t):.1f}–{max(seq_t):.1f} s "
        f"| {max(seq_m) / 2**20:.0f} MiB |",
        f"| `dxreport site` of the same {len(codes)} periods, from empty outputs/ | {one:.1f} s | "
        f"{min(site_t):.1f}–{max(site_t):.1f} s | **{max(site_m) / 2**20:.0f} MiB** (target < 1,5 GiB) |",
        "",
        f"The site takes **{one / seq:.3f} ×** the separate builds (target ≤ 0,35); run by run "
        f"(each run's builds and site one after the other): {', '.join(f'{r:.3f}' for r in ratios)}.",
    ])


def _write_block(start: str, end: str, text: str) -> None:
    readme = REPO / "README.md"
    content = readme.read_text(encoding="utf-8")
    before, rest = content.split(start, 1)
    _, after = rest.split(end, 1)
    readme.write_text(f"{before}{start}\n{text}\n{end}{after}", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--period", default="2023-Q3")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--write-readme", action="store_true")
    parser.add_argument("--scale", type=int, default=0, metavar="N",
                        help="measure validation and a cold build of a synthetic data set N × today's (e.g. 100)")
    parser.add_argument("--formats", default="html,pdf,docx", help="formats of the --scale build")
    parser.add_argument("--site", type=int, default=0, metavar="N",
                        help="measure a site of the newest N periods against N separate cold builds (e.g. 8)")
    args = parser.parse_args()
    if args.scale:
        print(run_scale(args))
        return
    if args.site:
        text = run_site(args)
        print(text)
        if args.write_readme:
            _write_block(SITE_START, SITE_END, text)
        return
    result = run(args)
    text = table(result)
    print(text)
    print(json.dumps(result, indent=2, ensure_ascii=False), file=sys.stderr)
    if args.write_readme:
        _write_block(START, END, text)


if __name__ == "__main__":
    main()
