"""W&B compatibility: an unmodified W&B script under `git exp run --wandb`
(`import wandb` gets the shim) and the same script with
`import git_exp.wandb as wandb` on its own; disabled mode; what integrations
import from wandb."""

import importlib.util
import json
import unittest

from tests._client import RepoTest


def _missing(*modules):
    return [m for m in modules if importlib.util.find_spec(m) is None]

WANDB_SCRIPT = """
    import argparse, os
    import wandb

    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()

    run = wandb.init(project="mnist", entity="team", name="baseline run", config=args,
                     tags=["wb"], notes="a W&B script", group="g1", job_type="train",
                     save_code=True)
    assert wandb.run is run
    wandb.config.update({"batch_size": 32})
    # The W&B idiom: the config holds exactly what the script put there.
    def train(lr, epochs, batch_size):
        return lr * epochs * batch_size
    print("train", train(**wandb.config))
    wandb.define_metric("val/acc", summary="max")
    wandb.define_metric("train/loss", summary="min")
    for epoch in range(wandb.config.epochs):
        wandb.log({"train/loss": [0.9, 0.5, 0.7][epoch], "val/acc": [0.6, 0.8, 0.7][epoch],
                   "epoch": epoch})
    wandb.log({"examples": [wandb.Image([[0, 128, 255]], caption="a row")]}, commit=False)
    wandb.log({"test/acc": 0.75})
    wandb.run.summary["test_acc"] = 0.75
    with open("model.pt", "wb") as f:
        f.write(b"weights")
    artifact = wandb.Artifact("model", type="model", metadata={"acc": 0.75})
    artifact.add_file("model.pt")
    with artifact.new_file("card.md", mode="w") as f:
        f.write("# model")
    run.log_artifact(artifact, aliases=["best"])
    with open(os.path.join(wandb.run.dir, "notes.txt"), "w") as f:
        f.write("in run dir")
    wandb.log({"table": wandb.Table(columns=["a"], data=[[1]]), "hist": wandb.Histogram([1, 2])})
    print("lr", wandb.config.lr, "name", run.name, "summary", sorted(dict(wandb.summary).items()))
    wandb.finish()
"""

SUMMARY = ("summary [('epoch', 2), ('test/acc', 0.75), ('test_acc', 0.75), ('train/loss', 0.5), "
           "('val/acc', 0.8)]")


class WandbScript(RepoTest):
    def check_run(self, name, config, wandb):
        shown = self.repo.show(name)
        self.assertEqual(shown["status"], "finished")
        self.assertEqual(shown["config"], config)
        # group and job_type are run fields; project, entity and a display name are
        # exp.toml's [wandb] table. See: issue 11, item 8.
        self.assertEqual((shown["group"], shown["job_type"]), ("g1", "train"))
        self.assertEqual(shown["wandb"], wandb)
        listed = json.loads(self.repo.exp("list", "--format", "json", "--filter",
                                          'group == "g1" and job_type == "train"').stdout)
        self.assertEqual([r["name"] for r in listed], [name])
        self.assertEqual(shown["tags"], ["wb"])
        self.assertEqual(shown["note"], "a W&B script")
        self.assertEqual(self.repo.rows(name), [
            (0, "train/loss", "0.9"), (0, "val/acc", "0.6"), (0, "epoch", "0"),
            (1, "train/loss", "0.5"), (1, "val/acc", "0.8"), (1, "epoch", "1"),
            (2, "train/loss", "0.7"), (2, "val/acc", "0.7"), (2, "epoch", "2"),
            (3, "test/acc", "0.75"),
        ])
        values = {k: v["value"] for k, v in shown["summary"].items() if "value" in v}
        self.assertEqual(values, {"val/acc": 0.8, "train/loss": 0.5, "test_acc": 0.75})
        self.assertTrue(self.repo.blob(name, "artifacts/media/examples/3.png")
                        .startswith(b"\x89PNG"))
        self.assertEqual(self.repo.blob(name, "artifacts/model/model.pt"), b"weights")
        self.assertEqual(self.repo.file(name, "artifacts/model/card.md"), "# model")
        self.assertEqual(self.repo.file(name, "artifacts/files/notes.txt"), "in run dir")
        self.repo.fsck()

    def test_an_unmodified_script_under_git_exp_run_wandb(self):
        out = self.repo.attach("wb", WANDB_SCRIPT, "--wandb", "-p", "lr=0.1")
        self.assertIn("train 9.600000000000001\n", out.stdout)
        self.assertIn("lr 0.1 name wb %s\n" % SUMMARY, out.stdout)
        self.assertIn("git-exp: warning: 'table' is not a number (Table)", out.stderr)
        self.assertIn("git-exp: warning: 'hist' is not a number (Histogram)", out.stderr)
        wandb = {"project": "mnist", "entity": "team", "name": "baseline run"}
        self.check_run("wb", {"lr": 0.1, "epochs": 3, "batch_size": 32}, wandb)

    def test_the_same_script_with_git_exp_wandb_on_its_own(self):
        script = WANDB_SCRIPT.replace("    import wandb\n", "    import git_exp.wandb as wandb\n")
        out = self.repo.standalone(script, "--epochs", "3")
        self.assertIn("train 0.96\n", out.stdout)
        self.assertIn("lr 0.01 name baseline-run %s\n" % SUMMARY, out.stdout)
        self.check_run("baseline-run", {"lr": 0.01, "epochs": 3, "batch_size": 32},
                       {"project": "mnist", "entity": "team"})
        self.assertIn("name baseline-run", self.repo.file("baseline-run", "output.log"))
        # W&B names need not be unique: a second run gets a suffix.
        out = self.repo.standalone(script)
        self.assertIn("name baseline-run-2 ", out.stdout)


class WandbBehaviour(RepoTest):
    def test_disabled_mode_stores_nothing_and_the_script_still_works(self):
        script = """
            import wandb
            run = wandb.init(name="off", config={"lr": 0.1}, mode=MODE)
            wandb.config.bs = 8
            wandb.log({"loss": 1.0})
            run.summary["best"] = 2
            print(type(run).__name__, wandb.config.lr, wandb.config.bs, run.summary["best"],
                  run.summary["loss"])
            wandb.finish()
            print(wandb.run)
        """
        plain = script.replace("import wandb", "import git_exp.wandb as wandb")
        out = self.repo.standalone(plain.replace("MODE", "'disabled'"))
        self.assertEqual(out.stdout, "RunDisabled 0.1 8 2 1.0\nNone\n")
        out = self.repo.standalone(plain.replace("MODE", "None"), env={"WANDB_MODE": "disabled"})
        self.assertEqual(out.stdout, "RunDisabled 0.1 8 2 1.0\nNone\n")
        self.assertEqual(self.repo.git("for-each-ref", "refs/experiments"), "")
        # Under git exp run the run exists (the binary made it) but gets nothing from wandb.
        self.repo.attach("outer", script.replace("MODE", "None"), "--wandb",
                         env={"WANDB_MODE": "disabled"})
        shown = self.repo.show("outer")
        self.assertEqual((shown["config"], shown["summary"]), ({}, {}))

    def test_an_exception_in_a_with_block_fails_the_run(self):
        out = self.repo.standalone("""
            import git_exp.wandb as wandb
            with wandb.init(name="ctx") as run:
                wandb.log({"a": 1})
                raise ValueError("inside")
        """, code=1)
        self.assertIn("ValueError: inside", out.stderr)
        shown = self.repo.show("ctx")
        self.assertEqual((shown["status"], shown["exit_code"]), ("failed", 1))
        self.assertEqual(self.repo.rows("ctx"), [(0, "a", "1")])

    def test_reinit_starts_a_new_run_only_outside_git_exp_run(self):
        script = """
            import git_exp.wandb as wandb
            first = wandb.init(name="re")
            wandb.log({"a": 1})
            second = wandb.init(name="re", reinit=True)
            wandb.log({"b": 2})
            print(first.name, second.name, first is second)
        """
        out = self.repo.standalone(script)
        self.assertEqual(out.stdout, "re re-2 False\n")
        self.assertEqual(self.repo.show("re")["status"], "finished")
        self.assertEqual((self.repo.rows("re"), self.repo.rows("re-2")),
                         ([(0, "a", "1")], [(0, "b", "2")]))
        out = self.repo.attach("inner", script)
        self.assertEqual(out.stdout, "inner inner True\n")
        self.assertIn("git-exp: warning: under `git exp run` there is one run per process; "
                      "wandb.init(reinit=...) returns the same run\n", out.stderr)
        self.assertEqual(self.repo.rows("inner"), [(0, "a", "1"), (1, "b", "2")])

    def test_what_integrations_import_from_wandb_is_there(self):
        out = self.repo.attach("compat", """
            import importlib.metadata, importlib.util, os
            import wandb
            from wandb.sdk.lib import RunDisabled
            from wandb.sdk.lib.config_util import ConfigError
            from wandb.sdk.wandb_run import Run as SdkRun
            from wandb.wandb_run import Run
            assert importlib.util.find_spec("wandb") is not None
            print("version", importlib.metadata.version("wandb"), wandb.__version__)
            os.environ.setdefault("WANDB_PROJECT", "lightning_logs")
            assert wandb.run is None
            wandb.require("service")
            run = wandb.init(project=os.environ["WANDB_PROJECT"], dir=".", id=None, resume="allow",
                             anonymous=None)
            assert isinstance(run, (Run, RunDisabled)) and SdkRun is Run
            run._label(code="lightning_logger")
            run.define_metric("trainer/global_step")
            run.define_metric("*", step_metric="trainer/global_step", step_sync=True)
            run.config.update({"lr": 0.1, "hidden": 64}, allow_val_change=True)
            run.config.update({"lr": 0.2}, allow_val_change=True)
            try:
                wandb.config["hidden"] = 128
            except ConfigError as e:
                print("refused", str(e).splitlines()[0])
            run.watch(None, log="gradients", log_freq=100)
            run.log({"train/loss": 0.5, "trainer/global_step": 10})
            run.summary["train_runtime"] = 1.5
            print("summary", sorted(dict(wandb.summary).items()))
            wandb.termwarn("only once", repeat=False)
            wandb.termwarn("only once", repeat=False)
            print("url", run.get_url(), len(wandb.util.generate_id()))
            print("errors", issubclass(wandb.errors.CommError, wandb.Error))
        """, "--wandb", "-p", "lr=0.05")
        self.assertEqual(out.stdout, "\n".join([
            "version 0.19.0 0.19.0",
            'refused Attempted to change value of key "hidden" from 64 to 128',
            "summary [('train/loss', 0.5), ('train_runtime', 1.5), ('trainer/global_step', 10)]",
            "url None 8",
            "errors True",
        ]) + "\n")
        self.assertEqual(out.stderr.count("wandb: WARNING only once\n"), 1)
        shown = self.repo.show("compat")
        self.assertEqual(shown["config"], {"lr": 0.05, "hidden": 64})
        self.assertEqual(shown["wandb"], {"project": "lightning_logs"})
        self.assertEqual(self.repo.rows("compat"),
                         [(10, "train/loss", "0.5"), (10, "trainer/global_step", "10")])


class WandbStepMetrics(RepoTest):
    """define_metric(name, step_metric=...): a row is logged at its step metric's value."""

    def test_rows_go_to_their_step_metric_value(self):
        out = self.repo.attach("steps", """
            import wandb
            run = wandb.init()
            wandb.log({"warmup": 1})                            # the run's own step: 0
            wandb.define_metric("val/acc", summary="max")       # exact, no step metric
            step = wandb.define_metric("train/step")
            wandb.define_metric("train/*", step_metric=step)    # a handle works too
            wandb.define_metric("val/*", step_metric="train/step", step_sync=False)
            wandb.log({"train/loss": 0.5, "train/step": 10})
            wandb.log({"val/loss": 0.4, "train/step": 10})      # the same step: the same row
            wandb.log({"train/lr": 0.1})                        # step_sync: train/step is 10
            wandb.log({"train/loss": 0.3, "train/step": 20})
            wandb.log({"val/loss": 0.2})                        # no sync: the run's step (20)
            wandb.log({"val/acc": 0.9, "train/step": 25})       # a step metric's value counts
            wandb.log({"note": 1})                              # the open row (25), committed
            wandb.log({"other": 1}, commit=False)               # joins the next row...
            wandb.log({"train/loss": 0.1, "train/step": 30})    # ...which moves to 30
            wandb.log({"train/loss": 0.05, "train/step": 12})   # back: the run's next step
            wandb.log({"train/loss": 0.01, "train/step": 40})
            print("step", run.step)
        """, "--wandb")
        self.assertEqual(out.stdout, "step 40\n")
        self.assertIn("git-exp: warning: train/step went back to 12, below the run's step 30; "
                      "such rows go to the run's next step instead (a run's steps never "
                      "decrease)\n", out.stderr)
        self.assertEqual(self.repo.rows("steps"), [
            (0, "warmup", "1"),
            (10, "train/loss", "0.5"), (10, "train/step", "10"), (10, "val/loss", "0.4"),
            (10, "train/lr", "0.1"),
            (20, "train/loss", "0.3"), (20, "train/step", "20"), (20, "val/loss", "0.2"),
            (25, "val/acc", "0.9"), (25, "train/step", "25"), (25, "note", "1"),
            (30, "other", "1"), (30, "train/loss", "0.1"), (30, "train/step", "30"),
            (31, "train/loss", "0.05"), (31, "train/step", "12"),
            (40, "train/loss", "0.01"), (40, "train/step", "40"),
        ])

    def test_globs_exact_names_redefinition_and_values_that_are_no_step(self):
        out = self.repo.standalone("""
            import git_exp, git_exp.wandb as wandb
            git_exp.init(name="globs")                # wandb.define_metric adopts this run
            wandb.define_metric("a/*", step_metric="s1")
            wandb.define_metric("*", step_metric="s2")    # later glob: loses to "a/*"
            wandb.define_metric("b", summary="min")       # exact: wins over "*", no step metric
            wandb.log({"a/x": 1, "s1": 5})
            wandb.log({"c": 2, "s2": 7})
            wandb.log({"b": 3})                           # the run's step: 7, open, committed
            wandb.log({"c": 4})                           # synced: s2 is 7, below the step 8
            wandb.define_metric("a/*", step_metric="s3", overwrite=True, step_sync=False)
            wandb.log({"a/x": 5, "s3": 20, "s1": 9})      # the first step metric found: s3
            wandb.log({"a/y": 6})                         # no sync now: the run's step (20)
            wandb.log({"c": 7, "s2": 2.5})                # not a whole number: the run's step (20)
            m = wandb.define_metric("d", step_metric="s2")
            print(m.name, m.step_metric, m.step_sync)
        """)
        self.assertEqual(out.stdout, "d s2 None\n")
        self.assertIn("git-exp: warning: s2 went back to 7, below the run's step 8; such rows "
                      "go to the run's next step instead", out.stderr)
        self.assertIn("git-exp: warning: s2 is 2.5, not a whole number from 0 to 2**63-1, so "
                      "it cannot be a step; rows bound to it keep the run's step\n", out.stderr)
        self.assertEqual(self.repo.rows("globs"), [
            (5, "a/x", "1"), (5, "s1", "5"),
            (7, "c", "2"), (7, "s2", "7"), (7, "b", "3"),
            (8, "c", "4"), (8, "s2", "7"),
            (20, "a/x", "5"), (20, "s3", "20"), (20, "s1", "9"), (20, "a/y", "6"),
            (20, "c", "7"), (20, "s2", "2.5"),
        ])
        self.assertEqual(self.repo.show("globs")["summary"]["b"]["value"], 3)


class WandbIntegrations(RepoTest):
    """The frameworks' own W&B integrations, unmodified, under `git exp run --wandb`."""

    @unittest.skipIf(_missing("lightning", "torch"), "needs lightning and torch")
    def test_lightning_wandb_logger(self):
        self.repo.attach("pl", """
            import torch, lightning as L
            from lightning.pytorch.loggers import WandbLogger
            from torch.utils.data import DataLoader, TensorDataset

            class Model(L.LightningModule):
                def __init__(self, lr=0.1):
                    super().__init__()
                    self.save_hyperparameters()
                    self.layer = torch.nn.Linear(2, 1)
                def training_step(self, batch, index):
                    x, y = batch
                    loss = torch.nn.functional.mse_loss(self.layer(x), y)
                    self.log("train_loss", loss)
                    return loss
                def configure_optimizers(self):
                    return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)

            torch.manual_seed(0)
            data = DataLoader(TensorDataset(torch.randn(32, 2), torch.randn(32, 1)), batch_size=8)
            logger = WandbLogger(project="pl", log_model=True)
            trainer = L.Trainer(max_epochs=2, logger=logger, log_every_n_steps=2,
                                enable_progress_bar=False, enable_model_summary=False)
            trainer.fit(Model(), data)
        """, "--wandb")
        shown = self.repo.show("pl")
        self.assertEqual(shown["config"], {"lr": 0.1})
        self.assertEqual(shown["wandb"], {"project": "pl"})
        self.assertEqual(sorted(shown["summary"]), ["epoch", "train_loss", "trainer/global_step"])
        # Lightning's define_metric("*", step_metric="trainer/global_step"): every row is
        # at the global step, which stays a metric too.
        steps = [(s, v) for s, name, v in self.repo.rows("pl") if name == "trainer/global_step"]
        self.assertEqual(steps, [(1, "1"), (3, "3"), (5, "5"), (7, "7")])
        self.assertEqual([s for s, name, _ in self.repo.rows("pl") if name == "train_loss"],
                         [1, 3, 5, 7])
        self.assertTrue(self.repo.blob("pl", "artifacts/model-%s/model.ckpt" % shown["id"]))

    @unittest.skipIf(_missing("transformers", "torch"), "needs transformers and torch")
    def test_hugging_face_wandb_callback(self):
        self.repo.attach("hf", """
            import torch
            from transformers import (BertConfig, BertForSequenceClassification, Trainer,
                                      TrainingArguments)

            class Data(torch.utils.data.Dataset):
                def __len__(self):
                    return 16
                def __getitem__(self, i):
                    return {"input_ids": torch.tensor([1, 2, 3, i]), "labels": torch.tensor(i % 2)}

            torch.manual_seed(0)
            config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1,
                                num_attention_heads=2, intermediate_size=16)
            args = TrainingArguments(output_dir="out", num_train_epochs=2, logging_steps=2,
                                     per_device_train_batch_size=4, report_to=["wandb"],
                                     run_name="tiny", save_strategy="no", use_cpu=True,
                                     disable_tqdm=True)
            Trainer(model=BertForSequenceClassification(config), args=args,
                    train_dataset=Data()).train()
        """, "--wandb")
        shown = self.repo.show("hf")
        self.assertNotIn("wandb", shown["config"])
        self.assertEqual(shown["wandb"], {"project": "huggingface", "name": "tiny"})
        self.assertEqual(shown["config"]["num_train_epochs"], 2)
        # The callback's define_metric("*", step_metric="train/global_step"): rows are at
        # the global step; the last log at step 8 (end of training) joins the row of step 8.
        steps = [(s, v) for s, name, v in self.repo.rows("hf") if name == "train/global_step"]
        self.assertEqual(steps, [(2, "2"), (4, "4"), (6, "6"), (8, "8")])
        self.assertEqual([s for s, name, _ in self.repo.rows("hf") if name == "train/loss"],
                         [2, 4, 6, 8])
        self.assertIn("train_runtime", {k for k, v in shown["summary"].items() if "value" in v})


if __name__ == "__main__":
    unittest.main()
