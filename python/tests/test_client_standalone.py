"""The client outside `git exp run`: init starts a run with `git-exp start`,
and finish() or the end of the process commits it with the right status."""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from tests._client import RepoTest

TRAIN = """
    import os, sys
    import git_exp

    run = git_exp.init(name="solo", config={"lr": 0.5, "layers": [64, 32]}, tags=["t1"],
                       notes="standalone")
    print("env", os.environ["GIT_EXP_RUN_NAME"] == run.name, os.environ["GIT_EXP_RUN_ID"] == run.id)
    for i in range(3):
        git_exp.log({"loss": 1.0 / (i + 1)})
    print("to stdout")
    print("to stderr", file=sys.stderr)
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode == "raise":
        raise ValueError("boom")
    if mode == "interrupt":
        raise KeyboardInterrupt
    if mode == "exit":
        sys.exit(3)
    if mode == "finish":
        git_exp.finish()
        print("after finish", git_exp.run, os.environ.get("GIT_EXP_RUN_ID"))
"""


class Standalone(RepoTest):
    def test_a_run_is_started_and_committed_with_its_output(self):
        out = self.repo.standalone(TRAIN, "finish")
        self.assertEqual(out.stdout, "env True True\nto stdout\nafter finish None None\n")
        self.assertRegex(out.stderr, r"^to stderr\ngit-exp: run solo finished in \S+ "
                                     r"\(3 points, 1 metric\) -> [0-9a-f]{7}\n$")
        shown = self.repo.show("solo")
        self.assertEqual((shown["status"], shown["exit_code"], shown["signal"]),
                         ("finished", 0, None))
        self.assertEqual(shown["config"], {"lr": 0.5, "layers": [64, 32]})
        self.assertEqual(shown["tags"], ["t1"])
        self.assertEqual(shown["note"], "standalone")
        self.assertEqual(shown["command"],
                         [sys.executable, os.path.join(self.repo.path, "script.py"), "finish"])
        self.assertEqual(self.repo.file("solo", "output.log"),
                         "env True True\nto stdout\nto stderr\n")
        self.assertEqual(self.repo.rows("solo"), [(0, "loss", "1"), (1, "loss", "0.5"),
                                                  (2, "loss", "0.3333333333333333")])
        self.repo.fsck()

    def test_the_end_of_the_process_commits_the_run(self):
        self.repo.standalone(TRAIN)
        shown = self.repo.show("solo")
        self.assertEqual((shown["status"], shown["exit_code"]), ("finished", 0))
        self.assertEqual(len(self.repo.rows("solo")), 3)

    def test_an_uncaught_exception_fails_the_run_and_is_still_printed(self):
        out = self.repo.standalone(TRAIN, "raise", code=1)
        self.assertIn("Traceback (most recent call last):", out.stderr)
        self.assertIn("ValueError: boom\ngit-exp: run solo failed in", out.stderr)
        shown = self.repo.show("solo")
        self.assertEqual((shown["status"], shown["exit_code"], shown["signal"]),
                         ("failed", 1, None))
        self.assertIn("ValueError: boom", self.repo.file("solo", "output.log"))
        self.assertEqual(len(self.repo.rows("solo")), 3)

    def test_keyboard_interrupt_kills_the_run(self):
        out = self.repo.standalone(TRAIN, "interrupt", code=-2)
        self.assertIn("KeyboardInterrupt\ngit-exp: run solo killed in", out.stderr)
        shown = self.repo.show("solo")
        self.assertEqual((shown["status"], shown["exit_code"], shown["signal"]),
                         ("killed", None, 2))

    def test_sys_exit_with_a_code_fails_the_run(self):
        self.repo.standalone(TRAIN, "exit", code=3)
        shown = self.repo.show("solo")
        self.assertEqual((shown["status"], shown["exit_code"]), ("failed", 3))

    def test_sys_exit_in_a_thread_ends_only_the_thread(self):
        self.repo.standalone("""
            import sys, threading
            import git_exp
            git_exp.init(name="thread-exit")
            worker = threading.Thread(target=sys.exit, args=(3,))
            worker.start()
            worker.join()
            git_exp.log({"x": 1})
        """)
        shown = self.repo.show("thread-exit")
        self.assertEqual((shown["status"], shown["exit_code"]), ("finished", 0))

    def test_sys_exit_in_a_with_block_ends_the_run_with_its_code(self):
        for code in (0, 4):
            self.repo.standalone("""
                import sys
                import git_exp
                with git_exp.init(name="with-exit-%d"):
                    git_exp.log({"x": 1})
                    sys.exit(%d)
            """ % (code, code), code=code)
            shown = self.repo.show("with-exit-%d" % code)
            self.assertEqual((shown["status"], shown["exit_code"]),
                             ("failed" if code else "finished", code))

    def test_sigterm_commits_everything_as_killed_and_the_process_dies_by_it(self):
        out = self.repo.standalone("""
            import os, signal
            import git_exp
            git_exp.init(name="term")
            for i in range(2000):
                git_exp.log({"x": i})
            os.kill(os.getpid(), signal.SIGTERM)
            print("not reached")
        """, code=-15)
        self.assertNotIn("not reached", out.stdout)
        shown = self.repo.show("term")
        self.assertEqual((shown["status"], shown["signal"]), ("killed", 15))
        self.assertEqual(self.repo.rows("term"), [(i, "x", str(i)) for i in range(2000)])

    def test_sigkill_leaves_a_crashed_run_with_what_was_flushed(self):
        self.repo.standalone("""
            import os, signal, time
            import git_exp
            git_exp.init(name="lost")
            for i in range(100):
                git_exp.log({"x": i})
            time.sleep(1.5)  # the flush thread writes within a second
            os.kill(os.getpid(), signal.SIGKILL)
        """, code=-9)
        runs = self.repo.runs()
        self.assertEqual([(r["name"], r["status"]) for r in runs], [("lost", "crashed")])
        self.assertEqual(self.repo.rows("lost"), [(i, "x", str(i)) for i in range(100)])

    def test_a_forked_child_neither_rewrites_nor_finishes_the_run(self):
        self.repo.standalone("""
            import os
            import git_exp
            git_exp.init(name="forked")
            git_exp.log({"parent": 1})          # still buffered when the child is forked
            pid = os.fork()
            if pid == 0:
                git_exp.log({"child": 2}, step=10)
                git_exp.run.flush()
                os._exit(0)
            os.waitpid(pid, 0)
            pid = os.fork()
            if pid == 0:
                raise SystemExit(0)             # a normal exit runs atexit in the child
            os.waitpid(pid, 0)
            git_exp.log({"parent": 3})
        """)
        shown = self.repo.show("forked")
        self.assertEqual(shown["status"], "finished")
        self.assertEqual(sorted(self.repo.rows("forked")),
                         [(0, "parent", "1"), (1, "parent", "3"), (10, "child", "2")])

    def test_multiprocessing_children_keep_what_they_log_and_print(self):
        # multiprocessing ends its children with os._exit, after its own exit hooks.
        self.repo.standalone("""
            import multiprocessing
            import git_exp

            def work(i):
                git_exp.log({"child": i}, step=10 + i)
                print("child", i)

            if __name__ == "__main__":
                git_exp.init(name="mp")
                git_exp.log({"parent": 1})
                ctx = multiprocessing.get_context("fork")
                for i in range(2):
                    p = ctx.Process(target=work, args=(i,))
                    p.start()
                    p.join()
                git_exp.log({"parent": 2})
        """)
        self.assertEqual(sorted(self.repo.rows("mp")), [(0, "parent", "1"), (1, "parent", "2"),
                                                        (10, "child", "0"), (11, "child", "1")])
        self.assertEqual(self.repo.file("mp", "output.log").splitlines()[:2],
                         ["child 0", "child 1"])

    def test_a_child_process_attaches_to_the_same_run(self):
        out = self.repo.standalone("""
            import subprocess, sys
            import git_exp
            git_exp.init(name="parent")
            git_exp.log({"a": 1})
            subprocess.run([sys.executable, "-c",
                            "import git_exp; r = git_exp.init(); r.log({'b': 2}, step=5); "
                            "print(r.name)"], check=True)
        """)
        self.assertEqual(sorted(self.repo.rows("parent")), [(0, "a", "1"), (5, "b", "2")])
        self.assertEqual(out.stdout, "parent\n")  # the child's run name

    def test_init_reports_what_the_binary_says(self):
        self.repo.standalone("import git_exp; git_exp.init(name='taken')")
        out = self.repo.standalone("""
            import git_exp
            try:
                git_exp.init(name="taken")
            except git_exp.Error as e:
                print(e)
        """)
        self.assertEqual(out.stdout, "a run named 'taken' already exists\nhint: pick another "
                                     "name with --name, or omit --name to get a fresh one\n")
        outside = tempfile.mkdtemp(prefix="git-exp-outside-")
        self.addCleanup(shutil.rmtree, outside, True)
        out = self.repo.standalone("""
            import git_exp
            try:
                git_exp.init()
            except git_exp.Error as e:
                print(e)
        """, cwd=outside, env={"GIT_CEILING_DIRECTORIES": os.path.dirname(outside)})
        self.assertTrue(out.stdout.startswith("not in a git repository: "), out.stdout)

    def test_a_missing_binary_is_a_clear_error(self):
        script = """
            import git_exp
            try:
                git_exp.init()
            except git_exp.Error as e:
                print(e)
        """
        empty = tempfile.mkdtemp(prefix="git-exp-nobin-")
        self.addCleanup(shutil.rmtree, empty, True)
        env = dict(self.repo.env, PATH=empty)
        env.pop("GIT_EXP_BIN", None)
        path = self.repo.write("script.py", script)
        out = subprocess.run([sys.executable, path], cwd=self.repo.path, env=env,
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(out.stdout, "git-exp is not on PATH; install it (see the README) or set "
                                     "GIT_EXP_BIN\n", out.stderr)
        env["GIT_EXP_BIN"] = os.path.join(empty, "git-exp")
        out = subprocess.run([sys.executable, path], cwd=self.repo.path, env=env,
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(out.stdout, "GIT_EXP_BIN=%s is not an executable file; point it at "
                                     "git-exp\n" % env["GIT_EXP_BIN"], out.stderr)

    def test_a_hundred_thousand_logs_all_land(self):
        # Speed is measured by python/bench/bench_log.py, not here; this checks
        # that the fast path loses nothing.
        self.repo.standalone("""
            import git_exp
            run = git_exp.init(name="many", capture_output=False)
            for i in range(100000):
                git_exp.log({"loss": i * 0.5})
        """)
        rows = self.repo.rows("many")
        self.assertEqual(len(rows), 100000)
        self.assertEqual(rows[0], (0, "loss", "0"))
        self.assertEqual(rows[-1], (99999, "loss", "49999.5"))
        self.assertEqual([r[0] for r in rows], list(range(100000)))

if __name__ == "__main__":
    unittest.main()
