"""Trains a small dense network on a CSV and tracks the run with git-exp.

The Keras script of the brief, with W&B replaced by the git_exp client:
`git_exp.init(config=...)` records the hyperparameters, `GitExpCallback` logs every
epoch's loss and accuracy (and the optimizer, batch size and model size as config), and
`git_exp.log(...)` the test figures. Under `git exp run` it logs into that run; run on
its own it starts and commits a run itself.

    git exp run -p epochs=10 -p lr=0.001 -- \
        python examples/keras_dense/train.py --epochs {epochs} --learning-rate {lr}

Needs Keras 3 and one backend (JAX, TensorFlow or PyTorch; KERAS_BACKEND picks it).
"""

import argparse
import os

import keras
import pandas as pd
from sklearn.model_selection import train_test_split

import git_exp
from git_exp.keras import GitExpCallback

DATA = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "fixtures", "data", "classification.csv"
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Dense network on a CSV with a `target` column.")
    parser.add_argument("--data", default=os.path.relpath(DATA),
                        help="CSV file with numeric features and a 0/1 `target` column")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=0.001, help="Adam's learning rate")
    parser.add_argument("--units", type=int, default=64, help="width of the two hidden layers")
    parser.add_argument("--test-size", type=float, default=0.2, help="share of rows held out")
    parser.add_argument("--seed", type=int, default=42, help="seed of the split and the weights")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    data = pd.read_csv(args.data)
    X = data.drop("target", axis=1).to_numpy("float32")
    y = data["target"].to_numpy("float32")
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=args.test_size, random_state=args.seed
    )

    run = git_exp.init(config=vars(args))

    keras.utils.set_random_seed(args.seed)
    model = keras.Sequential([
        keras.Input(shape=(X_train.shape[1],)),
        keras.layers.Dense(args.units, activation="relu"),
        keras.layers.Dense(args.units, activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=args.learning_rate),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(
        X_train, y_train,
        epochs=args.epochs,
        batch_size=args.batch_size,
        validation_data=(X_test, y_test),
        callbacks=[GitExpCallback()],
        verbose=2,
    )

    loss, accuracy = model.evaluate(X_test, y_test, verbose=0)
    git_exp.log({"test_loss": loss, "test_accuracy": accuracy})
    print(f"run {run.name}: test accuracy {accuracy:.4f} after {args.epochs} epochs")
    return model


if __name__ == "__main__":
    main()
