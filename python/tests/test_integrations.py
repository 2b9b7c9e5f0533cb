"""The framework integrations and the examples, each trained for real under `git exp run`.

Every test works in its own temporary repository and checks the committed run with git
(`metrics.csv`) and `git exp show --format json` (config, summary). A test whose framework
is not importable here is skipped with the reason; `python3 -m unittest discover -s
python/tests -t python -v` prints them.
"""

import importlib
import math
import os
import unittest

from tests._repo import ROOT, TempRepo, flatten


def require(test, *modules):
    """Skips `test` unless every module imports; the reason names the first that does not."""
    for module in modules:
        try:
            importlib.import_module(module)
        except Exception as error:  # noqa: BLE001  a broken install is as good as a missing one
            test.skipTest(f"{module} not importable: {error.__class__.__name__}: {error}")


class RepoTest(unittest.TestCase):
    def setUp(self):
        self.repo = TempRepo()
        self.addCleanup(self.repo.cleanup)

    def assertSteps(self, series, name, steps):
        self.assertEqual([s for s, _ in series[name]], steps, f"steps of {name}")


class SklearnAutologTest(RepoTest):
    DATA = """
        from sklearn.datasets import make_classification
        X, y = make_classification(n_samples=120, n_features=5, random_state=0)
    """

    def setUp(self):
        require(self, "sklearn")
        super().setUp()

    def test_outermost_fit_of_a_pipeline_records_its_params_and_training_score(self):
        self.repo.run_script("pipe", self.DATA + """
        import git_exp.sklearn
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        git_exp.sklearn.autolog()
        StandardScaler().fit(X)  # preprocessing on its own: not recorded
        make_pipeline(StandardScaler(), LogisticRegression(C=0.5)).fit(X, y)
        """)
        from sklearn.pipeline import Pipeline

        config = self.repo.show("pipe")["config"]
        expected = {"class"} | set(Pipeline([("x", None)]).get_params(deep=False))
        self.assertEqual(set(config["estimator"]), expected)
        self.assertEqual(config["estimator"]["class"], "Pipeline")
        self.assertEqual(config["estimator"]["memory"], "None")
        self.assertEqual(
            config["estimator"]["steps"],
            [["standardscaler", "StandardScaler()"],
             ["logisticregression", "LogisticRegression(C=0.5)"]],
        )
        # The pipeline's inner fits (scaler, logistic regression) log nothing.
        series = self.repo.metrics("pipe")
        self.assertEqual(set(series), {"training_score"})
        self.assertSteps(series, "training_score", [0])
        self.assertTrue(0.5 < series["training_score"][0][1] <= 1.0)

    def test_a_search_records_best_cv_score_and_best_params(self):
        self.repo.run_script("grid", self.DATA + """
        import git_exp.sklearn
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import GridSearchCV
        git_exp.sklearn.autolog()
        GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=3).fit(X, y)
        """)
        run = self.repo.show("grid")
        self.assertEqual(run["config"]["estimator"]["class"], "GridSearchCV")
        self.assertEqual(run["config"]["estimator"]["estimator"], "LogisticRegression()")
        self.assertEqual(run["config"]["estimator"]["param_grid"], {"C": [0.1, 1.0]})
        series = self.repo.metrics("grid")
        self.assertEqual(set(series), {"training_score", "best_cv_score"})
        self.assertSteps(series, "training_score", [0])
        self.assertSteps(series, "best_cv_score", [0])
        self.assertIn(run["summary"]["best_params.C"]["value"], (0.1, 1.0))

    def test_one_model_class_per_run(self):
        out = self.repo.run_script("two", self.DATA + """
        import git_exp.sklearn
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.linear_model import LogisticRegression
        git_exp.sklearn.autolog(log_training_score=True)
        LogisticRegression(C=2.0).fit(X, y)
        LogisticRegression(C=3.0).fit(X, y)  # same class: updates the params, logs a step
        RandomForestClassifier(n_estimators=5).fit(X, y)  # another class: not recorded
        """)
        self.assertIn("already records a LogisticRegression", out.stderr)
        config = flatten(self.repo.show("two")["config"])
        self.assertEqual(config["estimator.class"], "LogisticRegression")
        self.assertEqual(config["estimator.C"], 3.0)
        self.assertNotIn("estimator.n_estimators", config)
        self.assertSteps(self.repo.metrics("two"), "training_score", [0, 1])

    def test_without_git_exp_run_the_first_fit_starts_a_run(self):
        out = self.repo.python("alone", self.DATA + """
        import git_exp, git_exp.sklearn
        from sklearn.linear_model import LogisticRegression
        git_exp.sklearn.autolog()
        LogisticRegression().fit(X, y)
        print("run", git_exp.run.name)
        """)
        name = out.stdout.split("run ", 1)[1].split()[0]
        run = self.repo.show(name)  # committed when the script exited
        self.assertEqual(run["status"], "finished")
        self.assertEqual(run["config"]["estimator"]["class"], "LogisticRegression")
        self.assertEqual(run["summary"]["training_score"]["count"], 1)

    def test_disable_restores_the_original_fit(self):
        import git_exp.sklearn
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline

        before = (LogisticRegression.fit, Pipeline.fit)
        git_exp.sklearn.autolog()
        try:
            self.assertIsNot(LogisticRegression.fit, before[0])
        finally:
            git_exp.sklearn.autolog(disable=True)
        self.assertEqual((LogisticRegression.fit, Pipeline.fit), before)


class KerasCallbackTest(RepoTest):
    DATA = """
        import numpy as np
        import keras
        from git_exp.keras import GitExpCallback
        rng = np.random.default_rng(0)
        x = rng.normal(size=(40, 4)).astype("float32")
        y = (x[:, 0] > 0).astype("float32")
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [keras.Input(shape=(4,)), keras.layers.Dense(3, activation="relu"),
             keras.layers.Dense(1, activation="sigmoid")], name="tiny")
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01),
                      loss="binary_crossentropy", metrics=["accuracy"])
    """

    def setUp(self):
        require(self, "keras")
        super().setUp()

    def test_epochs_config_and_best_value(self):
        self.repo.run_script("keras", self.DATA + """
        model.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0,
                  callbacks=[GitExpCallback()])
        """)
        run = self.repo.show("keras")
        config = flatten(run["config"])
        self.assertEqual(config["epochs"], 3)
        self.assertEqual(config["batch_size"], 16)
        self.assertEqual(config["steps"], 2)  # 30 training rows in batches of 16
        self.assertEqual(config["model.name"], "tiny")
        self.assertEqual(config["model.param_count"], 4 * 3 + 3 + 3 + 1)
        self.assertEqual(config["optimizer.class"], "Adam")
        self.assertEqual(config["optimizer.learning_rate"], 0.01)  # not float32's 0.0099999997
        self.assertEqual(config["optimizer.name"], "adam")
        series = self.repo.metrics("keras")
        self.assertEqual(set(series), {"loss", "accuracy", "val_loss", "val_accuracy"})
        for name in series:
            self.assertSteps(series, name, [0, 1, 2])
        summary = run["summary"]
        self.assertEqual(summary["epochs_trained"]["value"], 3)
        best = min(v for _, v in series["val_loss"])
        self.assertAlmostEqual(summary["best_val_loss"]["value"], best, places=6)
        self.assertIn(summary["best_epoch"]["value"], (0, 1, 2))

    def test_batch_steps_and_config_the_script_set_is_kept(self):
        self.repo.run_script("batches", self.DATA + """
        model.fit(x, y, epochs=2, batch_size=10, verbose=0,
                  callbacks=[GitExpCallback(log_every_n_batches=2)])
        """, "-p", "model.name=mine")
        config = flatten(self.repo.show("batches")["config"])
        self.assertEqual(config["model.name"], "mine")  # -p wins over the callback
        self.assertEqual(config["model.param_count"], 4 * 3 + 3 + 3 + 1)
        series = self.repo.metrics("batches")
        self.assertEqual(set(series), {"batch/loss", "batch/accuracy", "loss", "accuracy", "epoch"})
        # 4 batches per epoch, a batch line every 2: steps count batches trained.
        self.assertSteps(series, "batch/loss", [2, 4, 6, 8])
        self.assertSteps(series, "loss", [4, 8])
        self.assertEqual(series["epoch"], [(4, 0.0), (8, 1.0)])

    def test_a_second_fit_and_later_logs_continue_the_steps(self):
        self.repo.run_script("twice", self.DATA + """
        import git_exp
        model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[GitExpCallback()])
        model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[GitExpCallback()])
        git_exp.log({"test_loss": 0.5})
        """)
        series = self.repo.metrics("twice")
        self.assertSteps(series, "loss", [0, 1, 2, 3])
        self.assertSteps(series, "test_loss", [4])


class LightningLoggerTest(RepoTest):
    def setUp(self):
        require(self, "torch")
        try:
            importlib.import_module("lightning.pytorch")
        except ImportError:
            require(self, "pytorch_lightning")
        super().setUp()

    MODEL = """
        import torch
        from torch.utils.data import DataLoader, TensorDataset
        try:
            import lightning.pytorch as pl
        except ImportError:
            import pytorch_lightning as pl
        import git_exp
        from git_exp.lightning import GitExpLogger

        class Tiny(pl.LightningModule):
            def __init__(self, lr=0.05, hidden=4):
                super().__init__()
                self.save_hyperparameters()
                self.net = torch.nn.Sequential(torch.nn.Linear(3, hidden), torch.nn.ReLU(),
                                               torch.nn.Linear(hidden, 1))

            def loss(self, batch):
                x, y = batch
                return torch.nn.functional.mse_loss(self.net(x), y)

            def training_step(self, batch, _):
                loss = self.loss(batch)
                self.log("train_loss", loss)
                return loss

            def validation_step(self, batch, _):
                self.log("val_loss", self.loss(batch))

            def test_step(self, batch, _):
                self.log("test_loss", self.loss(batch))

            def configure_optimizers(self):
                return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)

        torch.manual_seed(0)
        x = torch.randn(32, 3)
        data = TensorDataset(x, x.sum(dim=1, keepdim=True))
        train, val = DataLoader(data, batch_size=8), DataLoader(data, batch_size=16)

        def trainer(logger, checkpoints=False):
            return pl.Trainer(max_epochs=2, logger=logger, log_every_n_steps=1,
                              accelerator="cpu", devices=1, enable_checkpointing=checkpoints,
                              enable_progress_bar=False, enable_model_summary=False,
                              default_root_dir="lightning_logs")
    """

    def test_hyperparams_and_metrics_at_lightning_steps(self):
        out = self.repo.run_script("pl", self.MODEL + """
        logger = GitExpLogger()
        t = trainer(logger)
        t.fit(Tiny(), train, val)
        t.test(Tiny(), val)
        print("version", logger.version)
        """)
        self.assertIn("version pl", out.stdout)
        run = self.repo.show("pl")
        self.assertEqual(run["config"], {"lr": 0.05, "hidden": 4})
        self.assertEqual(run["status"], "finished")
        series = self.repo.metrics("pl")
        self.assertEqual(set(series), {"train_loss", "val_loss", "test_loss", "epoch"})
        # 4 batches per epoch, logged every step; validation at the end of each epoch;
        # the test after fit gets the step after the last one.
        self.assertSteps(series, "train_loss", [0, 1, 2, 3, 4, 5, 6, 7])
        self.assertSteps(series, "val_loss", [3, 7])
        self.assertSteps(series, "test_loss", [8])

    def test_a_run_the_logger_started_is_finished_by_it(self):
        out = self.repo.python("alone", self.MODEL + """
        logger = GitExpLogger(name="pl-alone", tags=["lightning"], log_model=True)
        trainer(logger, checkpoints=True).fit(Tiny(), train, val)
        print("after fit:", git_exp.run)
        """)
        self.assertIn("after fit: None", out.stdout)
        run = self.repo.show("pl-alone")
        self.assertEqual(run["status"], "finished")
        self.assertEqual(run["tags"], ["lightning"])
        self.assertEqual(run["config"], {"lr": 0.05, "hidden": 4})
        self.assertSteps(self.repo.metrics("pl-alone"), "train_loss", list(range(8)))
        # The best checkpoint, from lightning_logs/git-exp/<run name>/checkpoints/.
        self.assertEqual([a["path"] for a in run["artifacts"]],
                         ["checkpoints/epoch=1-step=8.ckpt"])


class HuggingFaceCallbackTest(RepoTest):
    def setUp(self):
        require(self, "torch", "transformers", "accelerate")
        super().setUp()

    SCRIPT = """
        import torch
        from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments
        from git_exp.huggingface import GitExpCallback

        torch.manual_seed(0)
        config = BertConfig(vocab_size=30, hidden_size=8, num_hidden_layers=1,
                            num_attention_heads=2, intermediate_size=16,
                            max_position_embeddings=16)
        model = BertForSequenceClassification(config)
        ids = torch.randint(0, 30, (16, 6))
        data = [{"input_ids": ids[i], "labels": int(ids[i, 0] % 2)} for i in range(16)]
        args = TrainingArguments(output_dir="hf-out", num_train_epochs=2,
                                 per_device_train_batch_size=4, per_device_eval_batch_size=8,
                                 learning_rate=1e-3, logging_steps=1, eval_strategy="epoch",
                                 save_strategy="no", report_to=[], use_cpu=True,
                                 disable_tqdm=True)
        Trainer(model=model, args=args, train_dataset=data, eval_dataset=data[:8],
                callbacks=[GitExpCallback()]).train()
    """

    def test_args_model_config_and_prefixed_metrics(self):
        self.repo.run_script("hf", self.SCRIPT, "-p", "learning_rate=0.001")
        run = self.repo.show("hf")
        config = flatten(run["config"])
        self.assertEqual(config["learning_rate"], 0.001)
        self.assertEqual(config["num_train_epochs"], 2)
        self.assertEqual(config["per_device_train_batch_size"], 4)
        self.assertEqual(config["model.hidden_size"], 8)
        self.assertEqual(config["model.model_type"], "bert")
        series = self.repo.metrics("hf")
        # 16 rows in batches of 4: 4 steps per epoch, a log at every step.
        self.assertSteps(series, "train/loss", list(range(1, 9)))
        self.assertSteps(series, "eval/loss", [4, 8])
        self.assertIn("train/learning_rate", series)
        self.assertIn("train/epoch", series)
        self.assertFalse([n for n in series if not n.startswith(("train/", "eval/"))], series)
        summary = run["summary"]
        for key in ("train_runtime", "train_loss", "global_step", "epoch"):
            self.assertIn(key, summary)
        self.assertEqual(summary["global_step"]["value"], 8)
        self.assertNotIn("train/train_runtime", series)


class WandbSwitchTest(RepoTest):
    """Frameworks' own W&B integrations, unchanged, under `git exp run --wandb`."""

    def setUp(self):
        super().setUp()
        self.repo.with_wandb_shim()

    def test_lightning_wandb_logger(self):
        require(self, "torch")
        try:
            importlib.import_module("lightning.pytorch")
        except ImportError:
            self.skipTest("lightning not importable (WandbLogger is tested with lightning.pytorch)")
        out = self.repo.run_script("plw", LightningLoggerTest.MODEL + """
        from lightning.pytorch.loggers import WandbLogger
        logger = WandbLogger(project="demo")
        fitted = trainer(logger)
        fitted.fit(Tiny(), train, val)
        fitted.validate(Tiny(), val)   # the same Trainer: at its global step, 8
        trainer(logger).test(Tiny(), val)   # a new Trainer: its global step is 0 again
        """, "--wandb")
        run = self.repo.show("plw")
        self.assertEqual(run["config"]["lr"], 0.05)
        self.assertEqual(run["config"]["hidden"], 4)
        series = self.repo.metrics("plw")
        self.assertEqual(set(series),
                         {"train_loss", "val_loss", "test_loss", "epoch", "trainer/global_step"})
        # WandbLogger binds every metric to trainer/global_step: the steps are Lightning's.
        self.assertSteps(series, "train_loss", [0, 1, 2, 3, 4, 5, 6, 7])
        self.assertSteps(series, "val_loss", [3, 7, 8])
        self.assertEqual(series["trainer/global_step"],
                         [(s, float(s)) for s in range(9)] + [(9, 0.0)])
        # The new Trainer's step 0 is below the run's step: its row goes to the next step.
        self.assertSteps(series, "test_loss", [9])
        self.assertIn("git-exp: warning: trainer/global_step went back to 0, below the run's "
                      "step 8; such rows go to the run's next step instead", out.stderr)

    def test_huggingface_report_to_wandb(self):
        require(self, "torch", "transformers", "accelerate")
        script = HuggingFaceCallbackTest.SCRIPT.replace('report_to=[]', 'report_to="wandb"')
        script = script.replace("callbacks=[GitExpCallback()]", "callbacks=[]")
        self.repo.run_script("hfw", script, "--wandb")
        run = self.repo.show("hfw")
        self.assertEqual(run["config"]["learning_rate"], 0.001)
        series = self.repo.metrics("hfw")
        # WandbCallback binds every metric to train/global_step: the Trainer's steps, as
        # GitExpCallback logs them.
        self.assertSteps(series, "train/loss", list(range(1, 9)))
        self.assertSteps(series, "eval/loss", [4, 8])
        self.assertEqual(series["train/global_step"], [(s, float(s)) for s in range(1, 9)])
        self.assertIn("train_runtime", run["summary"])

    # KerasCallbackTest's model, with `import wandb` instead of git_exp's callback.
    KERAS = KerasCallbackTest.DATA.replace("from git_exp.keras import GitExpCallback",
                                           "import wandb")

    def test_keras_wandb_metrics_logger(self):
        require(self, "keras")
        self.repo.run_script("kw", self.KERAS + """
        from wandb.integration.keras import WandbMetricsLogger
        wandb.init(project="keras", config={"epochs": 3})
        model.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0,
                  callbacks=[WandbMetricsLogger()])
        wandb.log({"test/accuracy": 0.5})
        """, "--wandb")
        run = self.repo.show("kw")
        config = flatten(run["config"])
        self.assertEqual(config["epochs"], 3)  # the script's, kept
        self.assertEqual(config["batch_size"], 16)  # the rest, as GitExpCallback adds it
        self.assertEqual(config["optimizer.learning_rate"], 0.01)
        self.assertNotIn("wandb.project", config)
        self.assertEqual(run["wandb"], {"project": "keras"})
        series = self.repo.metrics("kw")
        epoch = ["epoch/loss", "epoch/accuracy", "epoch/val_loss", "epoch/val_accuracy"]
        self.assertEqual(set(series),
                         set(epoch) | {"epoch/epoch", "epoch/learning_rate", "test/accuracy"})
        # epoch/* at step = epoch/epoch, the step metric W&B's callback binds them to.
        for name in epoch:
            self.assertSteps(series, name, [0, 1, 2])
        self.assertEqual(series["epoch/epoch"], [(0, 0.0), (1, 1.0), (2, 2.0)])
        self.assertEqual(series["epoch/learning_rate"], [(0, 0.01), (1, 0.01), (2, 0.01)])
        self.assertEqual(series["test/accuracy"], [(3, 0.5)])  # after the fit: a step of its own

    def test_keras_wandb_metrics_logger_every_n_batches(self):
        require(self, "keras")
        self.repo.run_script("kwb", self.KERAS + """
        from wandb.integration.keras import WandbMetricsLogger
        wandb.init()
        model.fit(x, y, epochs=2, batch_size=10, verbose=0,
                  callbacks=[WandbMetricsLogger(log_freq=2)])
        """, "--wandb")
        series = self.repo.metrics("kwb")
        self.assertEqual(set(series), {
            "batch/loss", "batch/accuracy", "batch/batch_step", "batch/learning_rate",
            "epoch/loss", "epoch/accuracy", "epoch/epoch", "epoch/learning_rate"})
        # 4 batches per epoch; W&B logs batches 0 and 2 of each and counts batch_step by 2.
        self.assertEqual(series["batch/batch_step"], [(0, 0.0), (2, 2.0), (4, 4.0), (6, 6.0)])
        self.assertSteps(series, "batch/loss", [0, 2, 4, 6])
        # epoch/* has no step metric when logging batches: the epoch line joins the last
        # batch line's row.
        self.assertEqual(series["epoch/epoch"], [(2, 0.0), (6, 1.0)])
        self.assertSteps(series, "epoch/loss", [2, 6])

    def test_keras_wandb_callback_and_model_checkpoint(self):
        require(self, "keras")
        out = self.repo.run_script("kwc", self.KERAS + """
        from wandb.keras import WandbCallback
        from wandb.integration.keras import WandbModelCheckpoint
        run = wandb.init()
        model.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0,
                  callbacks=[WandbCallback(monitor="val_loss", log_weights=True, labels=["a"]),
                             WandbModelCheckpoint("ckpt/model-{epoch:02d}.keras")])
        print("id", run.id)
        """, "--wandb")
        self.assertIn("git-exp: warning: WandbCallback: labels, log_weights have no effect "
                      "under git-exp\n", out.stderr)
        run = self.repo.show("kwc")
        series = self.repo.metrics("kwc")
        self.assertEqual(set(series), {"loss", "accuracy", "val_loss", "val_accuracy", "epoch"})
        for name in series:
            self.assertSteps(series, name, [0, 1, 2])
        self.assertEqual(series["epoch"], [(0, 0.0), (1, 1.0), (2, 2.0)])
        summary = {k: v["value"] for k, v in run["summary"].items() if "value" in v}
        best = min(series["val_loss"], key=lambda point: point[1])
        self.assertEqual(summary, {"epochs_trained": 3, "best_val_loss": best[1],
                                   "best_epoch": best[0]})
        checkpoints = "run_%s_model" % out.stdout.split("id ", 1)[1].split()[0]
        self.assertEqual(sorted(a["path"] for a in run["artifacts"]), [
            "files/model-best.keras",
            *("%s/model-%02d.keras" % (checkpoints, epoch) for epoch in (1, 2, 3))])


class ExampleTest(RepoTest):
    """The examples train for real on the fixture CSV, in a copy of their tree."""

    def copy_example(self, *relpaths):
        import sys

        for relpath in relpaths + ("fixtures/data/classification.csv",):
            self.repo.copy_in(os.path.join(ROOT, relpath), relpath)
        return sys.executable

    def test_random_forest_example_logs_accuracy_and_config(self):
        require(self, "sklearn", "pandas")
        python = self.copy_example("examples/sklearn_random_forest/train.py")
        out = self.repo.exp(
            "run", "-n", "rf", "-p", "n_estimators=20", "--",
            python, "examples/sklearn_random_forest/train.py", "--n-estimators", "{n_estimators}",
        )
        self.assertIn("run rf: accuracy", out.stdout)
        run = self.repo.show("rf")
        self.assertEqual(run["config"]["n_estimators"], 20)
        self.assertEqual(run["config"]["data"], "fixtures/data/classification.csv")
        accuracy = run["summary"]["accuracy"]["last"]
        self.assertTrue(0.7 < accuracy <= 1.0, accuracy)
        self.assertFalse(math.isnan(accuracy))

    def test_random_forest_wandb_example_under_the_wandb_switch(self):
        require(self, "sklearn", "pandas")
        self.repo.with_wandb_shim()
        python = self.copy_example("examples/sklearn_random_forest/train_wandb.py")
        self.repo.exp("run", "-n", "rf-wandb", "--wandb", "--",
                      python, "examples/sklearn_random_forest/train_wandb.py")
        accuracy = self.repo.show("rf-wandb")["summary"]["accuracy"]["last"]
        self.assertTrue(0.7 < accuracy <= 1.0, accuracy)

    def test_keras_example_logs_epochs_and_test_accuracy(self):
        require(self, "keras", "sklearn", "pandas")
        python = self.copy_example("examples/keras_dense/train.py")
        self.repo.exp("run", "-n", "dense", "-p", "epochs=2", "--",
                      python, "examples/keras_dense/train.py", "--epochs", "{epochs}")
        run = self.repo.show("dense")
        self.assertEqual(run["config"]["epochs"], 2)
        self.assertEqual(run["config"]["optimizer"]["learning_rate"], 0.001)
        series = self.repo.metrics("dense")
        self.assertSteps(series, "loss", [0, 1])
        self.assertSteps(series, "val_accuracy", [0, 1])
        self.assertSteps(series, "test_accuracy", [2])


class BoostingWandbTest(RepoTest):
    """W&B's XGBoost and LightGBM integrations, trained for real under `--wandb`."""

    DATA = """
        import numpy as np
        import wandb
        rng = np.random.default_rng(0)
        X = rng.normal(size=(200, 4))
        y = X[:, 0] * 2.0 + X[:, 1] + rng.normal(scale=0.1, size=200)
        X_train, X_val, y_train, y_val = X[:150], X[150:], y[:150], y[150:]
    """

    def test_xgboost_wandb_callback(self):
        require(self, "xgboost")
        out = self.repo.run_script("xgb", self.DATA + """
        import xgboost as xgb
        from wandb.xgboost import WandbCallback
        from wandb.integration.xgboost import WandbCallback as Same
        assert Same is WandbCallback
        run = wandb.init(project="boost")
        model = xgb.XGBRegressor(n_estimators=8, max_depth=2, early_stopping_rounds=3,
                                 callbacks=[WandbCallback(log_model=True)])
        model.fit(X_train, y_train, eval_set=[(X_train, y_train), (X_val, y_val)],
                  verbose=False)
        print("id", run.id, "best", model.best_iteration, model.best_score)
        wandb.finish()
        """, "--wandb")
        words = out.stdout.split()
        run_id, best_iteration, best_score = words[1], int(words[3]), float(words[4])
        series = self.repo.metrics("xgb")
        rounds = len(series["epoch"])
        self.assertGreater(rounds, 3)
        # One step per boosting round: the eval metrics and `epoch` share it.
        self.assertEqual(series["epoch"], [(i, float(i)) for i in range(rounds)])
        for name in ("validation_0-rmse", "validation_1-rmse"):
            self.assertSteps(series, name, list(range(rounds)))
        self.assertEqual(series["best_iteration"], [(rounds, float(best_iteration))])
        self.assertAlmostEqual(series["best_score"][0][1], best_score)
        run = self.repo.show("xgb")
        self.assertEqual(run["config"]["learner"]["objective"]["name"], "reg:squarederror")
        # The model, under its own file name inside the artifact of that name.
        name = "%s_model.json" % run_id
        self.assertIn("%s/%s" % (name, name), [a["path"] for a in run["artifacts"]])

    def test_lightgbm_wandb_callback_and_log_summary(self):
        require(self, "lightgbm")
        self.repo.run_script("lgb", self.DATA + """
        import lightgbm as lgb
        from wandb.lightgbm import log_summary, wandb_callback
        run = wandb.init(project="boost")
        train = lgb.Dataset(X_train, y_train)
        val = lgb.Dataset(X_val, y_val, reference=train)
        model = lgb.train({"objective": "regression", "metric": ["l2", "l1"],
                           "num_leaves": 4, "verbose": -1, "seed": 0},
                          train, num_boost_round=6, valid_sets=[val],
                          valid_names=["validation"], callbacks=[wandb_callback()])
        log_summary(model, save_model_checkpoint=True)
        print("id", run.id)
        """, "--wandb")
        series = self.repo.metrics("lgb")
        self.assertEqual(series["iteration"], [(i, float(i)) for i in range(6)])
        for name in ("validation_l2", "validation_l1"):
            self.assertSteps(series, name, list(range(6)))
        run = self.repo.show("lgb")
        self.assertEqual(run["config"]["objective"], "regression")
        self.assertEqual(run["config"]["num_leaves"], 4)
        summary = run["summary"]
        # No early stopping: LightGBM's best_iteration is 0, best_score the last scores.
        self.assertEqual(summary["best_iteration"]["value"], 0)
        self.assertEqual(summary["best_score.validation.l2"]["value"],
                         series["validation_l2"][-1][1])
        paths = [a["path"] for a in run["artifacts"]]
        self.assertTrue(any(p.startswith("model_") and p.endswith("/model_ckpt_0.txt")
                            for p in paths), paths)


if __name__ == "__main__":
    unittest.main()
