"""Trains a random forest on a CSV and tracks the run with git-exp.

The scikit-learn script of the brief, with W&B replaced by the git_exp client:
`git_exp.init(config=...)` records the hyperparameters, `git_exp.log(...)` the test
accuracy. Under `git exp run` it logs into that run; run on its own it starts and
commits a run itself (the script's directory must be inside a git repository).

    git exp run -p n_estimators=200 -- \
        python examples/sklearn_random_forest/train.py --n-estimators {n_estimators}
"""

import argparse
import os

import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split

import git_exp

DATA = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "fixtures", "data", "classification.csv"
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Random forest on a CSV with a `target` column.")
    parser.add_argument("--data", default=os.path.relpath(DATA),
                        help="CSV file with numeric features and a 0/1 `target` column")
    parser.add_argument("--n-estimators", type=int, default=100, help="number of trees")
    parser.add_argument("--max-depth", type=int, default=None, help="tree depth (default: unlimited)")
    parser.add_argument("--test-size", type=float, default=0.2, help="share of rows held out")
    parser.add_argument("--seed", type=int, default=42, help="seed of the split and the forest")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    data = pd.read_csv(args.data)
    X = data.drop("target", axis=1)
    y = data["target"]
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=args.test_size, random_state=args.seed
    )

    run = git_exp.init(config=vars(args))

    model = RandomForestClassifier(
        n_estimators=args.n_estimators, max_depth=args.max_depth, random_state=args.seed
    )
    model.fit(X_train, y_train)
    accuracy = accuracy_score(y_test, model.predict(X_test))

    git_exp.log({"accuracy": accuracy})
    print(f"run {run.name}: accuracy {accuracy:.4f} with {args.n_estimators} trees")
    return model


if __name__ == "__main__":
    main()
