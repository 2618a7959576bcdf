"""Command line: python -m digitnet {train, evaluate, predict}.

python -m digitnet train --hidden 10 --lr 0.1 --epochs 5 --batch-size 128 --seed 0 --out m.npz
python -m digitnet evaluate [--model PATH] [--json]
python -m digitnet predict IMAGE... [--model PATH] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from .data import DataError, load_mnist
from .model_io import DEFAULT_MODEL, ModelFileError, load, save
from .network import N_CLASSES, Network, layer_sizes
from .optim import OPTIMIZERS
from .settings import batch_size_text, parse_batch_size, parse_hidden
from .train import Progress, TrainConfig, train


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(argv)
    args.argv = argv
    try:
        return args.run(args)
    except (DataError, ModelFileError, ValueError, OSError) as e:
        # the user's mistake or a damaged file: one plain sentence, no traceback
        print(f"error: {e}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m digitnet", description="DigitNet: a from-scratch NumPy network for MNIST digits."
    )
    sub = p.add_subparsers(required=True, metavar="{train,evaluate,predict}")
    d = TrainConfig()  # the defaults, the same as the app's unless it says otherwise

    t = sub.add_parser("train", help="train a network on MNIST and report its test accuracy")
    t.add_argument(
        "--hidden",
        default=",".join(map(str, d.hidden)),
        help="hidden layer sizes, e.g. 10 (the notes) or 256,128 (default: %(default)s)",
    )
    t.add_argument("--lr", type=float, default=d.lr, help="learning rate alpha (default: %(default)s)")
    t.add_argument(
        "--epochs",
        type=int,
        default=d.epochs,
        help="passes over the training set; a maximum with --until-convergence (default: %(default)s)",
    )
    t.add_argument(
        "--batch-size",
        default=batch_size_text(d.batch_size),
        help="examples per step, or 'all' for the notes' full-batch descent (default: %(default)s)",
    )
    t.add_argument(
        "--optimizer",
        choices=list(OPTIMIZERS),
        default=d.optimizer,
        help="sgd is the notes' W = W - alpha dW (default: %(default)s)",
    )
    t.add_argument(
        "--momentum",
        type=float,
        default=d.momentum,
        help="beta for --optimizer momentum (default: %(default)s)",
    )
    t.add_argument(
        "--lr-decay",
        type=float,
        default=d.lr_decay,
        help="multiply alpha by this after every epoch (default: %(default)s, constant)",
    )
    t.add_argument(
        "--until-convergence",
        action="store_true",
        help="stop when the validation loss stops improving; keep the best weights",
    )
    t.add_argument(
        "--patience",
        type=int,
        default=d.patience,
        help="epochs without improvement before stopping (default: %(default)s)",
    )
    t.add_argument(
        "--augment",
        action="store_true",
        help="random shifts, rotations, scaling and stroke thickness while training",
    )
    t.add_argument(
        "--elastic-alpha",
        type=float,
        default=d.elastic_alpha,
        help="elastic distortions of this strength while training, in pixels "
        "(Simard et al.: 34; default: %(default)s)",
    )
    t.add_argument(
        "--elastic-sigma",
        type=float,
        default=d.elastic_sigma,
        help="smoothness of the elastic displacement field, in pixels "
        "(default: %(default)s, as Simard et al.)",
    )
    t.add_argument(
        "--plain-epochs",
        type=int,
        default=d.plain_epochs,
        help="the last this many epochs without augmentation or distortion (default: %(default)s)",
    )
    t.add_argument(
        "--flag-ones",
        type=float,
        default=d.flag_ones,
        help="draw a European flag (and sometimes a foot) on this fraction of the training 1s, "
        "so that such ones read as 1 (default: %(default)s)",
    )
    t.add_argument(
        "--pen",
        type=float,
        default=d.pen,
        help="swap this fraction of every batch for the same digits drawn with a solid pen and "
        "read back as the app reads a drawing (default: %(default)s)",
    )
    t.add_argument(
        "--val",
        type=int,
        default=d.n_val,
        help="training images held out for validation (default: %(default)s)",
    )
    t.add_argument(
        "--seed",
        type=int,
        default=d.seed,
        help="random seed: the same seed gives the same model (default: %(default)s)",
    )
    t.add_argument(
        "--threads",
        type=int,
        default=None,
        help="BLAS threads (default: the library's; 1 is fastest for small networks)",
    )
    t.add_argument("--out", type=Path, help="save the trained model here (.npz)")
    t.add_argument("--json", action="store_true", help="end with one JSON line of results")
    t.set_defaults(run=_train)

    e = sub.add_parser("evaluate", help="accuracy of a model on the 10,000 MNIST test images")
    e.add_argument(
        "--model", type=Path, default=DEFAULT_MODEL, help="model file (default: the shipped default model)"
    )
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.set_defaults(run=_evaluate)

    r = sub.add_parser("predict", help="read digits from image files, as the app reads a drawing")
    r.add_argument("images", nargs="+", type=Path, help="PNG or JPEG files")
    r.add_argument(
        "--model", type=Path, default=DEFAULT_MODEL, help="model file (default: the shipped default model)"
    )
    r.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per image (the default output is a line per image)",
    )
    r.set_defaults(run=_predict)
    return p


def _check_train_flags(args) -> None:
    """Every flag, before any work: a mistake is found in a second, not after training."""
    problems = [
        (not 1 <= args.val <= N_TRAIN - 1, f"--val takes from 1 to {N_TRAIN - 1:,} images (got {args.val})"),
        (
            not 0 < args.lr_decay <= 1,
            f"--lr-decay takes a number above 0 and at most 1 (got {args.lr_decay:g})",
        ),
        (
            not 0 <= args.momentum < 1,
            f"--momentum takes a number from 0 up to, not including, 1 (got {args.momentum:g})",
        ),
        (
            not 1 <= args.epochs <= MAX_EPOCHS,
            f"--epochs takes a whole number from 1 to {MAX_EPOCHS:,} (got {_short(args.epochs)})",
        ),
        (args.patience < 1, f"--patience takes a whole number from 1 (got {args.patience})"),
        (args.seed < 0, f"--seed takes a whole number from 0 (got {args.seed})"),
        (
            args.threads is not None and args.threads < 1,
            f"--threads takes a whole number from 1 (got {args.threads})",
        ),
    ]
    for wrong, sentence in problems:
        if wrong:
            raise ValueError(sentence + ".")
    if args.out is not None:
        if args.out.is_dir():
            raise ValueError(
                f"--out names a folder ({args.out}); give a file name such as {args.out / 'model.npz'}."
            )
        if not args.out.parent.is_dir():
            raise ValueError(f"--out: the folder {args.out.parent} does not exist.")


N_TRAIN = 60_000  # MNIST's training images: the validation set is cut from them
MAX_EPOCHS = 100_000  # 55,000 images each: days even at batch 'all'; more is a typing slip


def _short(number: int) -> str:
    text = str(number)
    return text if len(text) <= 12 else f"a {len(text):,}-digit number"


def _train(args) -> int:
    _check_train_flags(args)
    config = TrainConfig(
        hidden=parse_hidden(args.hidden),
        lr=args.lr,
        epochs=args.epochs,
        batch_size=parse_batch_size(args.batch_size),
        optimizer=args.optimizer,
        momentum=args.momentum,
        lr_decay=args.lr_decay,
        until_convergence=args.until_convergence,
        patience=args.patience,
        augment=args.augment,
        elastic_alpha=args.elastic_alpha,
        elastic_sigma=args.elastic_sigma,
        plain_epochs=args.plain_epochs,
        flag_ones=args.flag_ones,
        pen=args.pen,
        n_val=args.val,
        seed=args.seed,
    )
    data = load_mnist()
    X, y, X_val, y_val = data.split(config.n_val)
    net = Network.init(layer_sizes(config.hidden), seed=config.seed)
    log = sys.stderr
    report = _progress_printer(log)
    if args.threads:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(args.threads):
            result = train(net, X, y, X_val, y_val, config, on_progress=report)
    else:
        result = train(net, X, y, X_val, y_val, config, on_progress=report)
    test_accuracy = net.accuracy(data.test_images.T, data.test_labels)
    print(f"{result.message} Test accuracy {test_accuracy:.2%}.", file=log)
    summary = {
        "status": result.status,
        "test_accuracy": round(test_accuracy, 6),
        "val_accuracy": result.history.val_accuracy[-1] if result.history.val_accuracy else None,
        "train_seconds": round(result.seconds, 3),
        "epochs": round(result.epochs, 3),
        "sizes": list(net.sizes),
    }
    if args.out:
        meta = {
            "config": config.to_dict(),
            **summary,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": "python -m digitnet " + shlex.join(args.argv),
        }
        save(net, args.out, meta)
        print(f"Saved {args.out}", file=log)
    if args.json:
        print(_json(summary))
    return 0 if result.status != "diverged" else 1


def _progress_printer(stream):
    """One line per epoch (and a live line on a terminal): epoch, losses, accuracy, time left."""
    live = stream.isatty()
    last = [0.0]

    def report(p: Progress) -> None:
        now = time.perf_counter()
        if p.val_loss is not None and abs(p.epoch - round(p.epoch)) < 1e-9:
            print(
                f"\repoch {p.epoch:4.0f}  train loss {p.train_loss:.4f}  val loss {p.val_loss:.4f}  "
                f"val acc {p.val_accuracy:.2%}  {p.seconds:6.1f} s  ~{p.seconds_left:5.0f} s left",
                file=stream,
                flush=True,
            )
        elif live and now - last[0] > 0.2:
            print(
                f"\repoch {p.epoch:7.2f}  train loss {p.train_loss:.4f}  ~{p.seconds_left:5.0f} s left",
                end="",
                file=stream,
                flush=True,
            )
            last[0] = now

    return report


def _json(obj) -> str:
    """Valid JSON always: a number that is not finite (NaN, infinity) is written as null."""

    def finite(value):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: finite(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [finite(v) for v in value]
        return value

    return json.dumps(finite(obj), allow_nan=False)


def _load(path: Path):
    """The model at path; refused with a sentence that names the file (and how to
    restore the shipped one)."""
    try:
        return load(path)
    except ModelFileError as e:
        if Path(path).resolve() != DEFAULT_MODEL.resolve():
            raise ModelFileError(e if str(path) in str(e) else f"{path}: {e}") from None
        raise ModelFileError(
            f"the shipped model assets/default_model.npz cannot be used ({str(e).rstrip('.')}); "
            "restore it with git checkout -- assets/default_model.npz, or give --model."
        ) from None


def _evaluate(args) -> int:
    net, meta = _load(args.model)
    data = load_mnist()
    predictions = net.predict(data.test_images.T)
    correct = predictions == data.test_labels
    per_digit = {str(d): round(float(correct[data.test_labels == d].mean()), 4) for d in range(N_CLASSES)}
    summary = {
        "test_accuracy": round(float(correct.mean()), 6),
        "n": int(correct.size),
        "sizes": list(net.sizes),
        "per_digit": per_digit,
    }
    if args.json:
        print(_json(summary))
    else:
        shape = "-".join(map(str, net.sizes))
        accuracy = summary["test_accuracy"]
        print(f"{args.model}: {shape} network, test accuracy {accuracy:.2%} on {summary['n']} images")
        print("per digit: " + "  ".join(f"{d}: {a:.1%}" for d, a in per_digit.items()))
    return 0


def _predict(args) -> int:
    from .preprocess import PreprocessError, from_bytes

    net, _ = _load(args.model)
    status = 0
    for path in args.images:
        try:
            pre = from_bytes(path.read_bytes())
        except (PreprocessError, OSError) as e:
            print(f"error: {path}: {e}", file=sys.stderr)
            if args.json:
                print(_json({"file": str(path), "digit": None, "probabilities": None, "error": str(e)}))
            status = 2
            continue
        if pre.x is None:
            out = {"file": str(path), "digit": None, "probabilities": None, "reason": pre.reason}
        else:
            p = net.predict_proba(pre.x)[:, 0]
            out = {
                "file": str(path),
                "digit": int(p.argmax()),
                "probabilities": [round(float(v), 6) for v in p],
            }
        if args.json:
            print(_json(out))
        elif out["digit"] is None:
            print(f"{path}: no digit ({out['reason']})")
        else:
            print(f"{path}: {out['digit']} ({max(out['probabilities']):.1%} sure)")
    return status


if __name__ == "__main__":
    sys.exit(main())
