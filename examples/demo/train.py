"""A tiny training script with no dependencies: logistic regression on a
synthetic two-class data set, trained by gradient descent.

It logs metrics the way any program can under `git exp run`: by appending JSON
lines to the file named by $GIT_EXP_EVENTS. (The git_exp Python package wraps
this in `run.log(...)`.)
"""

import argparse
import json
import math
import os
import random


def log(event):
    path = os.environ.get("GIT_EXP_EVENTS")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps(event) + "\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    data = []
    for _ in range(400):
        label = rng.random() < 0.5
        x = [rng.gauss(1.0 if label else -1.0, 1.2), rng.gauss(0.5 if label else -0.5, 1.0)]
        data.append((x, 1.0 if label else 0.0))
    train, test = data[:320], data[320:]

    w, b = [0.0, 0.0], 0.0
    for epoch in range(args.epochs):
        loss = 0.0
        gw, gb = [0.0, 0.0], 0.0
        for x, y in train:
            p = 1.0 / (1.0 + math.exp(-(w[0] * x[0] + w[1] * x[1] + b)))
            loss -= y * math.log(p + 1e-12) + (1 - y) * math.log(1 - p + 1e-12)
            gw[0] += (p - y) * x[0]
            gw[1] += (p - y) * x[1]
            gb += p - y
        n = len(train)
        w = [w[0] - args.lr * gw[0] / n, w[1] - args.lr * gw[1] / n]
        b -= args.lr * gb / n
        correct = sum(
            ((w[0] * x[0] + w[1] * x[1] + b) > 0) == (y > 0.5) for x, y in test
        )
        log({"loss": loss / n, "acc": correct / len(test), "_step": epoch})
        print(f"epoch {epoch:2d}  loss {loss / n:.4f}  acc {correct / len(test):.3f}")
    log({"_summary": {"final_acc": correct / len(test)}})


if __name__ == "__main__":
    main()
