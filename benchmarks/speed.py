"""Speed benchmark of explorer's NumPy core, side by side with PyTorch (not a test).

    python benchmarks/speed.py                 # every model, markdown table on stdout
    python benchmarks/speed.py --quick         # shorter timing loops
    python benchmarks/speed.py --models lenet zhou-cnn --json results.json
    python benchmarks/speed.py --long          # also: slow-down over 5,500 steps, epoch time

See benchmarks/README.md for what each column means.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from explorer.nn.machine import cpu_description  # noqa: E402
from explorer.nn.models import MODELS, build_model  # noqa: E402
from explorer.nn.optimizers import make_optimizer  # noqa: E402
from explorer.nn.training import TrainConfig, Trainer  # noqa: E402

CASES = [  # (model, training batch size): the articles' batch sizes
    ("deepconvnet", 100), ("lenet", 64), ("keras-mlp", 128), ("zhou-cnn", 32),
    ("zhou-cnn", 1), ("nielsen", 10), ("tf-cnn", 100),
]  # fmt: skip
POOL = 8  # distinct random batches cycled through, so no step sees a cached input


def measure(step, seconds: float, reps: int, warmup: int = 3) -> list[float]:
    """Calls per second of `step`, over `reps` windows of about `seconds` each."""
    for _ in range(warmup):
        step()
    rates = []
    for _ in range(reps):
        calls, start = 0, time.perf_counter()
        while True:
            step()
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                break
        rates.append(calls / elapsed)
    return rates


def summary(rates: list[float], scale: float = 1.0) -> dict:
    values = sorted(r * scale for r in rates)
    return {"median": statistics.median(values), "min": values[0], "max": values[-1]}


def spread(stat: dict) -> str:
    """Half the min-max range, as a percentage of the median."""
    return f"±{50 * (stat['max'] - stat['min']) / stat['median']:.0f}%"


def random_batches(batch: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (POOL, batch, 28, 28), dtype=np.uint8), rng.integers(0, 10, (POOL, batch))


# --- the two sides ---------------------------------------------------------------------------
@dataclass
class Side:
    """One side of the comparison: its parameter count, and for each thing measured ("train",
    "infer1", "infer1000") what to do before its turn and the step to time."""

    params: int
    turns: dict[str, tuple[Callable, Callable]]


def take_turns(turns: list[tuple[Callable, Callable]], seconds: float, reps: int, warmup: int = 3) -> list[list[float]]:
    """Calls per second of each (before, step) in `turns`, over `reps` rounds in which each has
    one window of about `seconds`, one after the other (in reverse order every other round): a
    drift in the machine's speed then reaches every side of a ratio alike."""
    for before, step in turns:
        before()
        for _ in range(warmup):
            step()
    rates: list[list[float]] = [[] for _ in turns]
    for round_ in range(reps):
        order = range(len(turns)) if round_ % 2 == 0 else reversed(range(len(turns)))
        for i in order:
            before, step = turns[i]
            before()
            rates[i] += measure(step, seconds, 1, warmup=1)  # one call to bring its data back to the cache
    return rates


def our_side(name: str, batch: int, torch) -> Side:
    net = build_model(name)
    recipe = MODELS[name].recipe
    opt = make_optimizer(recipe.optimizer, net.parameters().values(), lr=recipe.lr)
    images, labels = random_batches(batch)
    xs = [net.prepare(b) for b in images]
    counter = iter(range(10**12))

    def train():
        i = next(counter) % POOL
        net.train_step_gradients(xs[i], labels[i])
        opt.step()

    def our_turn():
        flush_denormals(torch, False)

    one, many = inference_inputs(net.prepare)
    turns = {"train": (our_turn, train),
             "infer1": (our_turn, lambda: net.forward(one)), "infer1000": (our_turn, lambda: net.forward(many))}  # fmt: skip
    return Side(net.parameter_count(), turns)


def drawn_digit() -> np.ndarray:
    """A '0' as the drawing canvas sends it: a pen-wide ring, centred, the rest blank (28x28 uint8)."""
    rows, cols = np.mgrid[:28, :28]
    distance = np.hypot((rows - 13.5) / 1.3, cols - 13.5)  # an upright oval
    ink = np.clip(2.0 - np.abs(distance - 6.0), 0.0, 1.0)  # a 3-4 pixel stroke, soft-edged
    return (ink * 255).astype(np.uint8)


def inference_inputs(prepare):
    """One drawn digit (the canvas's latency) and a batch of 1,000 random images, prepared."""
    images, _ = random_batches(1000, seed=1)
    return prepare(drawn_digit()[None]), prepare(images[0])


# --- PyTorch ------------------------------------------------------------------------------
def torch_setup():
    try:
        import torch
    except ImportError:
        return None
    # Its best CPU settings, before its thread pool starts: every core, denormals flushed.
    torch.set_num_threads(os.cpu_count())
    torch.set_flush_denormal(True)
    return torch


def flush_denormals(torch, on: bool) -> None:
    """Flushing denormals to zero is a CPU flag of each thread: on in this thread for PyTorch's
    turns (its pool's threads inherit it when they start), off for ours - our core handles
    denormals itself and gets no help from the CPU."""
    if torch is not None:
        torch.set_flush_denormal(on)
        assert cpu_flushes_denormals() == on


def cpu_flushes_denormals() -> bool:
    tiny = np.array([1e-39], np.float32)  # a float32 denormal
    return bool((tiny * np.float32(1))[0] == 0)


def torch_side(torch, name: str, batch: int) -> Side:
    from benchmarks import torch_models

    net = build_model(name)
    model = torch_models.twin(net)
    recipe = MODELS[name].recipe
    opt = torch_models.optimizer(recipe.optimizer, model.parameters(), recipe.lr)
    loss_fn = torch_models.loss_function(net)
    images, labels = random_batches(batch)

    def prepare(imgs):
        x = torch.from_numpy(net.prepare(imgs).copy())
        return x.permute(0, 3, 1, 2).contiguous() if x.ndim == 4 else x

    xs = [prepare(b) for b in images]
    ys = [torch.from_numpy(y.astype(np.int64)) for y in labels]
    counter = iter(range(10**12))

    def train():
        i = next(counter) % POOL
        opt.zero_grad(set_to_none=True)
        loss_fn(model(xs[i]), ys[i]).backward()
        opt.step()

    def its_turn(training: bool):
        flush_denormals(torch, True)
        model.train(training)
        torch.set_grad_enabled(training)  # evaluation as under no_grad

    one, many = inference_inputs(prepare)
    turns = {"train": (lambda: its_turn(True), train),
             "infer1": (lambda: its_turn(False), lambda: model(one)),
             "infer1000": (lambda: its_turn(False), lambda: model(many))}  # fmt: skip
    return Side(torch_models.parameter_count(model), turns)


def compare(name: str, batch: int, torch, seconds: float, reps: int) -> dict:
    """One case: each measurement's windows taken in turns by our core and PyTorch's twin."""
    sides = {"ours": our_side(name, batch, torch)}
    if torch is not None:
        sides["torch"] = torch_side(torch, name, batch)
    case = {"model": name, "batch": batch, **{side: {"params": sides[side].params} for side in sides}}
    for kind, scale, window in (("train", batch, seconds), ("infer1", 1, seconds / 2), ("infer1000", 1000, seconds)):
        rates = take_turns([side.turns[kind] for side in sides.values()], window, reps)
        for side, side_rates in zip(sides, rates):
            case[side][kind] = summary(side_rates, scale)
        if kind == "train" and torch is not None:
            case["ratio"] = summary([ours / theirs for ours, theirs in zip(*rates)])
    for side, turns in sides.items():
        case[side]["infer1_us"] = latency_us(case[side].pop("infer1"))
        case[side]["infer1_cores"] = cores_busy(*turns.turns["infer1"], seconds / 2)
    if torch is not None:
        torch.set_grad_enabled(True)
    return case


def cores_busy(before, step, seconds: float) -> float:
    """The process's CPU time per second of `step` running alone: 1.0 is one core busy. Taken
    after a pause, so the other side's threads, still spinning after its turn, are asleep."""
    before()
    time.sleep(0.5)
    step()
    cpu, start = time.process_time(), time.perf_counter()
    measure(step, seconds, 1, warmup=0)
    return (time.process_time() - cpu) / (time.perf_counter() - start)


def latency_us(rate: dict) -> dict:
    """Calls per second -> microseconds per call (the lowest rate is the longest latency)."""
    return {"median": 1e6 / rate["median"], "min": 1e6 / rate["max"], "max": 1e6 / rate["min"]}


# --- baselines and ceilings -----------------------------------------------------------------
def matmul_gflops(seconds: float, size: int = 1024) -> float:
    a = np.random.default_rng(0).standard_normal((size, size), dtype=np.float32)
    rates = measure(lambda: a @ a, seconds, 3, warmup=2)
    return statistics.median(rates) * 2 * size**3 / 1e9


def bench_textbook(seconds: float, reps: int, batch: int = 100) -> dict:
    from benchmarks.textbook_im2col import Adam, DeepConvNet

    net, opt = DeepConvNet(), Adam()
    images, labels = random_batches(batch)
    xs = [b.astype(np.float32)[:, None] / np.float32(255) for b in images]
    counter = iter(range(10**12))

    def train():
        i = next(counter) % POOL
        net.gradient(xs[i], labels[i])
        opt.update(net.params)

    return {"params": net.parameter_count(), "train": summary(measure(train, seconds, reps, warmup=1), batch)}


def long_run(steps_early=500, start_late=5000, steps_late=500, name="lenet", batch=64) -> dict:
    """Throughput of steps 1-500 vs 5000-5500 of the Trainer's own Adam steps: do denormals creep in?"""
    images, labels = random_batches(batch)
    images, labels = images.reshape(-1, 28, 28), labels.reshape(-1).astype(np.uint8)
    data = SimpleNamespace(train_images=images, train_labels=labels, test_images=images, test_labels=labels)
    config = TrainConfig(model=name, optimizer="adam", lr=0.001, batch_size=batch, epochs=10**6, val_size=0, augment="none")
    trainer = Trainer(config, data)
    rates, start = {}, time.perf_counter()
    for step in range(start_late + steps_late):
        if step in (0, start_late):
            start = time.perf_counter()
        trainer.train_step()
        if step + 1 == steps_early:
            rates["early"] = steps_early * batch / (time.perf_counter() - start)
    rates["late"] = steps_late * batch / (time.perf_counter() - start)
    state = trainer.optimizer.state
    tiny = sum(int(((a != 0) & (np.abs(a) < np.finfo(np.float32).tiny)).sum()) for s in state for a in s.values())
    return {"model": name, "batch": batch, "early_img_s": rates["early"], "late_img_s": rates["late"],
            "late_vs_early": rates["late"] / rates["early"], "denormal_state_values": tiny}  # fmt: skip


def epoch_seconds(seconds: float) -> dict:
    """deepconvnet on 60,000 images at batch 100: 600 measured-rate steps (extrapolated)."""
    (rates,) = take_turns([our_side("deepconvnet", 100, None).turns["train"]], seconds, 3)
    rate = statistics.median(rates) * 100
    return {"img_s": rate, "epoch_seconds_extrapolated": 60000 / rate}


# --- report ---------------------------------------------------------------------------------
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="*", help="only these registry models")
    parser.add_argument("--quick", action="store_true", help="short loops (noisier)")
    parser.add_argument("--long", action="store_true", help="also the long-run and epoch-time checks")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even if importable")
    parser.add_argument("--no-textbook", action="store_true", help="skip the textbook im2col baseline")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    seconds, reps = (0.5, 3) if args.quick else (1.5, 5)
    cases = [c for c in CASES if not args.models or c[0] in args.models]

    torch = None if args.no_torch else torch_setup()
    results = {"machine": {"cpus": os.cpu_count(), "cpu": cpu_description(), "python": platform.python_version(),
                           "numpy": np.__version__, "blas": blas_kernels()}, "cases": []}  # fmt: skip
    if torch is not None:
        results["machine"].update(torch=torch.__version__, torch_threads=torch.get_num_threads(),
                                  torch_kernels=torch.backends.cpu.get_cpu_capability())  # fmt: skip
        a = torch.randn(1024, 1024)
        results["machine"]["matmul_gflops_torch"] = statistics.median(measure(lambda: a @ a, seconds, 3)) * 2 * 1024**3 / 1e9
    flush_denormals(torch, False)
    results["machine"]["matmul_gflops_numpy"] = matmul_gflops(seconds)
    # Each model's two sides take turns, window by window, so a drift in the machine's speed moves both.
    for name, batch in cases:
        case = compare(name, batch, torch, seconds, reps)
        for side in ("ours", "torch"):
            if side in case:
                print(f"{side:6s} {name} b{batch}: {case[side]['train']['median']:,.0f} img/s", file=sys.stderr)
        results["cases"].append(case)
    flush_denormals(torch, False)
    if not args.no_textbook and any(c[0] == "deepconvnet" for c in cases):
        results["textbook_deepconvnet"] = bench_textbook(seconds * 2, 3)
    if args.long:
        results["long_run"] = long_run()
        results["deepconvnet_epoch"] = epoch_seconds(seconds * 2)

    print(report(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


def blas_kernels() -> str:
    """'openblas 0.3.31 (Haswell)': the kernels NumPy's BLAS chose for this CPU (OPENBLAS_CORETYPE
    in the environment overrides its choice: AVX2 kernels on an AVX-512 CPU halve a product's speed)."""
    from threadpoolctl import threadpool_info

    blas = [info for info in threadpool_info() if info.get("user_api") == "blas"]
    return ", ".join(f"{b['internal_api']} {b['version']} ({b.get('architecture') or '?'})" for b in blas) or "unknown"


def one_image(side: dict) -> str:
    """'406 on 1.0 cores': the latency, and how many cores were busy meanwhile."""
    cores = side.get("infer1_cores")
    return f"{side['infer1_us']['median']:,.0f}" + (f" on {cores:.1f} cores" if cores is not None else "")


def report(results: dict) -> str:
    m = results["machine"]
    lines = [
        f"CPU: {m.get('cpu', 'not recorded')}",
        f"Machine: {m['cpus']} CPUs, Python {m['python']}, NumPy {m['numpy']}"
        + (f", PyTorch {m['torch']} ({m['torch_threads']} threads, denormals flushed)" if "torch" in m else ", PyTorch not installed"),
        f"Kernels: NumPy's BLAS {m.get('blas', 'not recorded')}"
        + (f"; PyTorch {m['torch_kernels']}" if "torch_kernels" in m else ""),
        f"float32 matmul ceiling (1024^3): NumPy {m['matmul_gflops_numpy']:.0f} GFLOP/s"
        + (f", PyTorch {m['matmul_gflops_torch']:.0f} GFLOP/s" if "matmul_gflops_torch" in m else ""),
        "",
        "| model | batch | train img/s ours | PyTorch | ratio | 1-image inference µs ours | PyTorch | batch-1000 inference img/s ours | PyTorch | params equal |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for case in results["cases"]:
        ours, theirs = case["ours"], case.get("torch")
        row = [case["model"], str(case["batch"]),
               f"{ours['train']['median']:,.0f} {spread(ours['train'])}"]  # fmt: skip
        if theirs:
            row += [f"{theirs['train']['median']:,.0f} {spread(theirs['train'])}",
                    f"{case['ratio']['median']:.2f} {spread(case['ratio'])}"]  # fmt: skip
        else:
            row += ["–", "–"]
        row += [one_image(ours), one_image(theirs) if theirs else "–"]
        row.append(f"{ours['infer1000']['median']:,.0f}")
        row.append(f"{theirs['infer1000']['median']:,.0f}" if theirs else "–")
        row.append(("yes" if ours["params"] == theirs["params"] else f"NO ({ours['params']} vs {theirs['params']})") if theirs else "–")
        lines.append("| " + " | ".join(row) + " |")
    if "textbook_deepconvnet" in results:
        t = results["textbook_deepconvnet"]["train"]["median"]
        ours = next((c["ours"]["train"]["median"] for c in results["cases"] if c["model"] == "deepconvnet"), None)
        lines += ["", f"Textbook NumPy im2col (NCHW, Deep Learning from Scratch style) deepconvnet b100: {t:,.0f} img/s"
                  + (f"; ours is {ours / t:.1f}x faster." if ours else "")]  # fmt: skip
    if "long_run" in results:
        r = results["long_run"]
        lines += ["", f"Long run ({r['model']} b{r['batch']}, Adam): steps 1-500 {r['early_img_s']:,.0f} img/s, "
                  f"steps 5000-5500 {r['late_img_s']:,.0f} img/s (ratio {r['late_vs_early']:.2f}); "
                  f"denormal optimizer-state values at the end: {r['denormal_state_values']}"]  # fmt: skip
    if "deepconvnet_epoch" in results:
        e = results["deepconvnet_epoch"]
        lines.append(f"deepconvnet epoch (60,000 images, batch 100): {e['epoch_seconds_extrapolated']:.0f} s "
                     f"(extrapolated from a measured {e['img_s']:,.0f} img/s)")  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
