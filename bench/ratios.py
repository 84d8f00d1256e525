"""Pairs BM_X_Name with BM_Baseline_*_Name from one Google Benchmark JSON run
and prints ours, the baseline and speedup = baseline time / our time."""
import json
import sys


def main(path):
    with open(path) as f:
        runs = json.load(f)["benchmarks"]
    by_name = {r["name"]: r for r in runs}
    for name, r in by_name.items():
        if "Baseline" in name:
            continue
        parts = name.split("_", 2)  # BM, Component, Case[/arg]
        if len(parts) < 3:
            continue
        case = parts[2]
        base = next((b for n, b in by_name.items()
                     if n.startswith("BM_Baseline_") and n.split("_", 3)[-1] == case), None)
        if base is None:
            continue
        ours, theirs = r["cpu_time"], base["cpu_time"]
        unit = r.get("time_unit", "ns")
        print(f"{name:40s} {ours:12.1f} {unit}   baseline {base['name']:45s} "
              f"{theirs:12.1f} {unit}   speedup {theirs / ours:5.2f}x")


if __name__ == "__main__":
    main(sys.argv[1])
