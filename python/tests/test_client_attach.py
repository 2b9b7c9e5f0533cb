"""The client inside `git exp run`: it attaches to the binary's run, and what
it logs, configures and summarizes is what the committed run holds."""

import unittest

from tests._client import RepoTest, needs_toml

ROUND_TRIP = """
    import os
    import git_exp

    run = git_exp.init(config={"lr": 0.01, "epochs": 3, "model": {"depth": 2, "width": 8},
                               "name": "resnet", "flags": [1, 2]},
                       tags=["first", "second"], notes="from the script")
    assert run.id == os.environ["GIT_EXP_RUN_ID"] and run.name == "rt", (run.id, run.name)
    assert run.dir == os.environ["GIT_EXP_DIR"]
    assert git_exp.run is run and git_exp.config is run.config
    print("config", sorted(run.config.items()))
    run.config.update({"seed": 7, "model": {"act": "relu"}})
    git_exp.define_metric("loss", summary="min")
    for step in range(3):
        git_exp.log({"loss": [0.5, 0.25, 0.75][step], "acc": step, "val": {"acc": step / 4}})
    run.summary["best_epoch"] = 1
    run.summary.update({"final": {"acc": 0.5, "count": 12}})
    print("summary", sorted(run.summary.items()))
    git_exp.finish()
"""


class Attach(RepoTest):
    def test_the_run_holds_what_the_script_logged(self):
        out = self.repo.attach("rt", ROUND_TRIP, "-p", "lr=0.1", "-p", "model.depth=4",
                               "-t", "cli")
        self.assertIn("config [('epochs', 3), ('flags', [1, 2]), ('lr', 0.1), ('model', "
                      "{'depth': 4, 'width': 8}), ('name', 'resnet')]\n", out.stdout)
        self.assertIn("summary [('acc', 2), ('best_epoch', 1), ('final', {'acc': 0.5, 'count': "
                      "12}), ('loss', 0.25), ('val.acc', 0.5)]\n", out.stdout)
        self.assertEqual(self.repo.rows("rt"), [
            (0, "loss", "0.5"), (0, "acc", "0"), (0, "val.acc", "0"),
            (1, "loss", "0.25"), (1, "acc", "1"), (1, "val.acc", "0.25"),
            (2, "loss", "0.75"), (2, "acc", "2"), (2, "val.acc", "0.5"),
        ])
        shown = self.repo.show("rt")
        self.assertEqual(shown["status"], "finished")
        self.assertEqual(shown["tags"], ["cli", "first", "second"])
        self.assertEqual(shown["note"], "from the script")
        self.assertEqual(shown["config"], {
            "epochs": 3, "flags": [1, 2], "lr": 0.1, "name": "resnet", "seed": 7,
            "model": {"depth": 4, "width": 8, "act": "relu"},
        })
        summary = shown["summary"]
        self.assertEqual(summary["loss"]["value"], 0.25)  # the define_metric min
        self.assertEqual(summary["loss"]["last"], 0.75)
        self.assertEqual(summary["best_epoch"]["value"], 1)
        self.assertEqual(summary["final.acc"]["value"], 0.5)
        self.assertEqual(summary["final.count"]["value"], 12)
        self.assertEqual(shown["malformed_events"]["count"], 0)
        self.repo.fsck()

    @needs_toml
    def test_types_survive_into_config_and_summary_toml(self):
        self.repo.attach("rt", ROUND_TRIP)
        config = self.repo.toml("rt", "config.toml")
        self.assertEqual(config, {"lr": 0.01, "epochs": 3, "name": "resnet", "flags": [1, 2],
                                  "seed": 7, "model": {"depth": 2, "width": 8, "act": "relu"}})
        self.assertIs(type(config["epochs"]), int)
        self.assertIs(type(config["lr"]), float)
        values = self.repo.toml("rt", "summary.toml")["values"]
        self.assertEqual(values, {"loss": 0.25, "best_epoch": 1, "final.acc": 0.5,
                                  "final.count": 12})
        self.assertIs(type(values["best_epoch"]), int)

    def test_step_rules_end_to_end(self):
        out = self.repo.attach("steps", """
            import git_exp
            git_exp.init()
            git_exp.log({"a": 1}, commit=False)
            git_exp.log({"b": 2})              # row 0: a, b
            git_exp.log({"a": 3}, step=0)      # lower than 1: dropped
            git_exp.log({"a": 4}, step=5)      # moves to 5, row stays open
            git_exp.log({"b": 5}, step=5)
            git_exp.log({"c": 6})              # joins row 5 and commits it
            git_exp.log({"c": 7})              # row 6
        """)
        self.assertEqual(self.repo.rows("steps"), [
            (0, "a", "1"), (0, "b", "2"), (5, "a", "4"), (5, "b", "5"), (5, "c", "6"),
            (6, "c", "7"),
        ])
        self.assertIn("git-exp: warning: step 0 is lower than the current step 1; dropped the "
                      "values of a (steps must not decrease)\n", out.stderr)

    def test_images_and_artifacts_are_stored_with_the_run(self):
        self.repo.attach("media", """
            import os
            import git_exp
            run = git_exp.init()
            with open("weights.bin", "wb") as f:
                f.write(b"w" * 10)
            os.makedirs("out/sub", exist_ok=True)
            with open("out/sub/log.txt", "w") as f:
                f.write("logged")
            git_exp.log({"loss": 1.0})
            git_exp.log({"samples": git_exp.Image([[0, 255]]), "loss": 0.5})
            git_exp.log_artifact("weights.bin")
            run.log_artifact("out", name="outputs")
        """)
        png = self.repo.blob("media", "artifacts/media/samples/1.png")
        self.assertTrue(png.startswith(b"\x89PNG\r\n\x1a\n"), png[:8])
        self.assertEqual(self.repo.blob("media", "artifacts/weights.bin"), b"w" * 10)
        self.assertEqual(self.repo.file("media", "artifacts/outputs/sub/log.txt"), "logged")
        self.assertEqual(self.repo.rows("media"), [(0, "loss", "1"), (1, "loss", "0.5")])

    def test_points_logged_before_a_crash_are_kept(self):
        out = self.repo.attach("crash", """
            import git_exp
            git_exp.init()
            for i in range(1000):
                git_exp.log({"x": i})
            raise RuntimeError("diverged")
        """, code=1)
        self.assertIn("RuntimeError: diverged", out.stderr)
        rows = self.repo.rows("crash")
        self.assertEqual(rows, [(i, "x", str(i)) for i in range(1000)])
        self.assertEqual(self.repo.show("crash")["status"], "failed")

    def test_points_logged_before_sigterm_are_kept(self):
        out = self.repo.attach("term", """
            import os, signal
            import git_exp
            git_exp.init()
            for i in range(500):
                git_exp.log({"x": i})
            os.kill(os.getpid(), signal.SIGTERM)
            print("not reached")
        """, code=143)
        self.assertNotIn("not reached", out.stdout)
        self.assertEqual(self.repo.rows("term"), [(i, "x", str(i)) for i in range(500)])
        self.assertEqual(self.repo.show("term")["signal"], 15)


if __name__ == "__main__":
    unittest.main()
