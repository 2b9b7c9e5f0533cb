"""In-process tests of the client's logic (no binary): event lines, W&B step
rules, summary, config, images, buffering and threads. A Run is made directly
on a temporary events file and the lines it writes are read back."""

import argparse
import contextlib
import io
import json
import os
import shutil
import struct
import tempfile
import threading
import unittest
import zlib

import git_exp
from git_exp._events import Appender
from git_exp._run import Run
from git_exp.wandb import Run as WandbRun


class FakeScalar:
    """A 0-d array or tensor: `.item()` and `ndim == 0`."""

    ndim = 0

    def __init__(self, value):
        self.value = value

    def item(self):
        return self.value


class FakeArray:
    """A numpy-like array: shape, tolist()."""

    def __init__(self, rows):
        self.rows = rows
        shape, level = [], rows
        while isinstance(level, list):
            shape.append(len(level))
            level = level[0]
        self.shape = tuple(shape)
        self.ndim = len(shape)

    def tolist(self):
        return self.rows

    def item(self):
        raise ValueError("only one element arrays can be converted")


class RunTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="git-exp-unit-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.events = os.path.join(self.dir, "events.jsonl")
        open(self.events, "w").close()
        self.stderr = io.StringIO()
        redirect = contextlib.redirect_stderr(self.stderr)
        redirect.__enter__()
        self.addCleanup(redirect.__exit__, None, None, None)

    def make(self, cls=Run, params=None):
        info = {"id": "0" * 32, "name": "unit", "dir": self.dir}
        return cls(info, "attach", Appender(self.events), params or {})

    def raw(self, run):
        run._sink.flush()
        with open(self.events, encoding="utf-8") as f:
            return f.read().splitlines()

    def lines(self, run, keep_time=False):
        out = []
        for line in self.raw(run):
            event = json.loads(line)
            if not keep_time:
                event.pop("_time", None)
            out.append(event)
        return out

    def warnings(self):
        return [line for line in self.stderr.getvalue().splitlines() if line]


class EventLines(RunTest):
    def test_fast_and_slow_paths_write_the_same_line_shape(self):
        run = self.make()
        run.log({"loss": 0.5, "n": 3})  # new names: slow path
        run.log({"loss": 0.25, "n": 4})  # known names: fast path
        raw = self.raw(run)
        self.assertEqual(len(raw), 2)
        for line, (loss, n, step) in zip(raw, [(0.5, 3, 0), (0.25, 4, 1)]):
            self.assertTrue(line.startswith('{"loss": %r, "n": %d, "_step": %d, "_time": '
                                            % (loss, n, step)), line)
            event = json.loads(line)
            self.assertEqual(type(event["n"]), int)
            self.assertEqual(type(event["_time"]), float)

    def test_nan_infinity_and_bools_are_written_as_the_binary_reads_them(self):
        run = self.make()
        for _ in range(2):  # slow path, then the names are known
            run.log({"a": float("nan"), "b": float("inf"), "c": -float("inf"), "d": True,
                     "e": False})
        for line in self.raw(run):
            self.assertIn('"a": NaN, "b": Infinity, "c": -Infinity, "d": true, "e": false, ',
                          line)

    def test_nested_dicts_become_dotted_names(self):
        run = self.make()
        run.log({"train": {"loss": 1, "acc": {"top1": 0.5}}, 3: 2.0})
        self.assertEqual(self.lines(run),
                         [{"train.loss": 1, "train.acc.top1": 0.5, "3": 2.0, "_step": 0}])

    def test_scalars_of_array_libraries_log_as_numbers_and_the_rest_warns_once_per_key(self):
        run = self.make()
        for _ in range(2):
            run.log({"a": FakeScalar(2.5), "i": FakeScalar(7), "v": FakeArray([1.0, 2.0]),
                     "s": "text", "none": None, "_private": 1.0})
        self.assertEqual(self.lines(run), [{"a": 2.5, "i": 7, "_step": 0},
                                           {"a": 2.5, "i": 7, "_step": 1}])
        warnings = self.warnings()
        self.assertEqual(len(warnings), 4, warnings)
        self.assertIn("git-exp: warning: 'v' is not a number (FakeArray); git-exp stores numbers "
                      "and images, so it is skipped", warnings)
        self.assertIn("git-exp: warning: 'none' is not a number (NoneType); git-exp stores "
                      "numbers and images, so it is skipped", warnings)
        self.assertIn("git-exp: warning: metric names starting with '_' are reserved; skipped "
                      "'_private'", warnings)

    def test_huge_ints_and_decimals_are_numbers_the_binary_reads(self):
        import decimal
        huge = 10 ** 5000  # more digits than int -> str allows (Python 3.11+)
        run = self.make()
        for _ in range(2):  # slow path, then the names are known
            run.log({"h": huge, "n": -huge, "b": 2 ** 70, "d": decimal.Decimal("1.5")})
        run.config.update({"big": huge, "fits": 2 ** 62, "dec": decimal.Decimal("0.25")})
        run.summary.update({"s": -huge, "d": decimal.Decimal("2.5")})
        lines = self.raw(run)
        for line in lines[:2]:
            self.assertIn('"h": Infinity, "n": -Infinity, "b": 1180591620717411303424, '
                          '"d": 1.5, "_step": ', line)
        self.assertEqual(lines[2:], ['{"_config": {"big": Infinity, "fits": 4611686018427387904, '
                                     '"dec": 0.25}}',
                                     '{"_summary": {"s": -Infinity, "d": 2.5}}'])
        self.assertEqual(run.config["dec"], 0.25)
        self.assertEqual(self.warnings(), [])
        with self.assertRaisesRegex(git_exp.Error, r"^step must be an integer from 0 to "
                                                   r"2\*\*63-1, got inf$"):
            run.log({"a": 1}, step=huge)

    def test_a_row_longer_than_1_mib_is_split_into_lines_of_one_step(self):
        run = self.make()
        row = {"metric_%06d" % i: i * 0.5 for i in range(60000)}  # about 1.5 MiB as one line
        run.log(row)
        run.log({"after": 1})
        raw = self.raw(run)
        self.assertEqual(len(raw), 3)
        for line in raw:
            self.assertLessEqual(len(line.encode("utf-8")), 1 << 20)
        events = self.lines(run)
        self.assertEqual([e.pop("_step") for e in events], [0, 0, 1])
        self.assertEqual(dict(events[0], **events[1]), row)
        self.assertEqual(events[2], {"after": 1})
        self.assertEqual(self.warnings(), [])

    def test_log_needs_a_dict_and_a_live_run(self):
        run = self.make()
        with self.assertRaisesRegex(git_exp.Error, "takes a dict of metric names"):
            run.log([1, 2])
        run.finish()
        with self.assertRaisesRegex(git_exp.Error, "run unit is finished"):
            run.log({"a": 1})


class Steps(RunTest):
    def test_commit_false_merges_into_the_next_committed_row(self):
        run = self.make()
        run.log({"a": 1}, commit=False)
        run.log({"b": 2}, commit=False)
        self.assertEqual(run.step, 0)
        run.log({"c": 3})
        self.assertEqual(run.step, 1)
        self.assertEqual(self.lines(run), [{"a": 1, "b": 2, "c": 3, "_step": 0}])

    def test_a_lower_step_is_dropped_with_one_warning_per_metric_set(self):
        run = self.make()
        for value in range(3):
            run.log({"a": value})
        run.log({"a": 9}, step=1)
        run.log({"a": 8}, step=2)
        run.log({"b": 1}, step=0)
        self.assertEqual(run.step, 3)
        self.assertEqual([e["_step"] for e in self.lines(run)], [0, 1, 2])
        self.assertEqual(self.warnings(), [
            "git-exp: warning: step 1 is lower than the current step 3; dropped the values of a "
            "(steps must not decrease)",
            "git-exp: warning: step 0 is lower than the current step 3; dropped the values of b "
            "(steps must not decrease)",
        ])

    def test_a_higher_step_commits_the_open_row_and_stays_open_until_the_step_moves(self):
        run = self.make()
        run.log({"a": 1}, commit=False)
        run.log({"b": 2}, step=5)
        self.assertEqual(self.lines(run), [{"a": 1, "_step": 0}])
        run.log({"c": 3}, step=5)
        run.log({"d": 4})
        self.assertEqual(run.step, 6)
        run.log({"e": 5}, step=7, commit=True)
        self.assertEqual(run.step, 8)
        self.assertEqual(self.lines(run), [
            {"a": 1, "_step": 0},
            {"b": 2, "c": 3, "d": 4, "_step": 5},
            {"e": 5, "_step": 7},
        ])

    def test_an_empty_log_does_not_move_and_finish_writes_the_open_row(self):
        run = self.make()
        run.log({})
        self.assertEqual(run.step, 0)
        run.log({"a": 1.5}, step=3)
        run.log({}, step=3, commit=False)
        self.assertEqual(self.lines(run), [])
        run.finish()
        self.assertEqual(self.lines(run), [{"a": 1.5, "_step": 3}])

    def test_a_step_must_be_a_non_negative_integer(self):
        run = self.make()
        run.log({"a": 1}, step=2.0)
        run.log({"a": 1}, step=FakeScalar(4))
        for bad in (-1, 1.5, "3", 2**63):
            with self.assertRaisesRegex(git_exp.Error, "step must be an integer from 0"):
                run.log({"a": 1}, step=bad)
        run.flush()
        self.assertEqual([e["_step"] for e in self.lines(run)], [2, 4])

    def test_threads_get_distinct_steps_and_no_line_is_lost(self):
        run = self.make()
        run.log({"x": 0.0})

        def work():
            for i in range(5000):
                run.log({"x": float(i)})

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        steps = sorted(e["_step"] for e in self.lines(run))
        self.assertEqual(steps, list(range(20001)))


class Summaries(RunTest):
    def test_explicit_values_win_over_aggregates_which_win_over_last_values(self):
        run = self.make()
        run.define_metric("loss", summary="min")
        run.define_metric("val/*", summary="max")
        run.define_metric("acc", summary="mean")
        run.define_metric("lr", summary="first")
        run.define_metric("score", summary="best", goal="maximize")
        run.define_metric("noise", summary="none")
        run.define_metric("both", summary="min,max")
        for loss, acc, score in ((0.9, 0.5, 3), (0.4, 0.75, 9), (0.6, 1.0, 5)):
            run.log({"loss": loss, "val/acc": acc, "acc": acc, "lr": loss / 10, "score": score,
                     "noise": 1.0, "both": score, "plain": score})
        run.summary["score"] = 100
        self.assertEqual(dict(run.summary), {
            "score": 100, "loss": 0.4, "val/acc": 1.0, "acc": 0.75, "lr": 0.09,
            "both": {"min": 3, "max": 9}, "plain": 5,
        })
        self.assertEqual(run.summary.loss, 0.4)
        with self.assertRaises(KeyError):
            run.summary["noise"]
        run.finish()
        events = self.lines(run)
        self.assertEqual(events[3], {"_summary": {"score": 100}})
        self.assertEqual(events[-1], {"_summary": {
            "loss": 0.4, "val/acc": 1.0, "acc": 0.75, "lr": 0.09, "both": {"min": 3, "max": 9},
        }})

    def test_later_rules_and_exact_names_win(self):
        run = self.make()
        run.define_metric("val/*", summary="max")
        run.define_metric("val/loss", summary="min")
        run.define_metric("*", summary="first")
        run.define_metric("*")  # a rule without summary (Lightning's step_metric) changes nothing
        for value in (2.0, 1.0, 3.0):
            run.log({"val/loss": value, "val/acc": value, "train": value})
        self.assertEqual(dict(run.summary), {"val/loss": 1.0, "val/acc": 2.0, "train": 2.0})

    def test_bad_summary_arguments_raise(self):
        run = self.make()
        with self.assertRaisesRegex(git_exp.Error, "summary must be one of"):
            run.define_metric("a", summary="median")
        with self.assertRaisesRegex(git_exp.Error, "summary='best' needs goal"):
            run.define_metric("a", summary="best")
        with self.assertRaisesRegex(git_exp.Error, "goal must be"):
            run.define_metric("a", summary="min", goal="up")

    def test_summary_values_are_sent_as_json(self):
        run = self.make()
        run.summary.update({"best": {"acc": FakeScalar(0.9)}, "model": object})
        run.summary.note = "ok"
        self.assertEqual(self.lines(run), [
            {"_summary": {"best": {"acc": 0.9}, "model": "<class 'object'>"}},
            {"_summary": {"note": "ok"}},
        ])


class Configs(RunTest):
    def test_params_win_over_init_defaults_and_later_writes_are_sent(self):
        run = self.make(params={"lr": 0.1, "model": {"depth": 4}})
        run.config._apply_defaults({"lr": 0.01, "model": {"depth": 2, "width": 8}, "opt": "sgd"})
        self.assertEqual(run.config.as_dict(),
                         {"lr": 0.1, "model": {"depth": 4, "width": 8}, "opt": "sgd"})
        run.config.lr = 0.2  # allowed in git_exp (the W&B module refuses it)
        run.config["model"] = {"act": "relu"}  # merges, as config.toml does
        run.config.update(argparse.Namespace(seed=3, path=os.path), epochs=(1, 2))
        run.config.update({"seed": 3})  # unchanged: nothing sent
        self.assertEqual(run.config.model, {"depth": 4, "width": 8, "act": "relu"})
        self.assertEqual(self.lines(run), [
            {"_config": {"model": {"depth": 4, "width": 8}, "opt": "sgd"}},
            {"_config": {"lr": 0.2}},
            {"_config": {"model": {"act": "relu"}}},
            {"_config": {"seed": 3, "path": str(os.path), "epochs": [1, 2]}},
        ])
        self.assertEqual(self.warnings(), [])
        with self.assertRaisesRegex(git_exp.Error, "cannot be removed"):
            del run.config["lr"]
        with self.assertRaises(AttributeError):
            run.config.missing
        with self.assertRaisesRegex(git_exp.Error, "config must be a dict, an argparse.Namespace"):
            run.config.update(5)

    def test_the_wandb_config_refuses_changes_and_keeps_params(self):
        from git_exp._errors import ConfigError

        run = self.make(WandbRun, params={"lr": 0.1})
        run.config._apply_defaults({"lr": 0.01, "bs": 32})
        self.assertEqual(run.config.as_dict(), {"lr": 0.1, "bs": 32})
        with self.assertRaisesRegex(ConfigError, 'Attempted to change value of key "bs" from 32 '
                                                 "to 64"):
            run.config.bs = 64
        run.config.update({"bs": 64}, allow_val_change=True)
        run.config.update({"lr": 0.5}, allow_val_change=True)
        run.config.update({"lr": 0.7}, allow_val_change=True)
        self.assertEqual(run.config.as_dict(), {"lr": 0.1, "bs": 64})
        self.assertEqual(self.warnings(), [
            "git-exp: warning: config 'lr' is set by the run's params (git exp run -p); the "
            "script's value is ignored",
        ])


    def test_a_run_of_git_exp_init_becomes_a_wandb_run_for_wandb_init(self):
        run = self.make()
        self.assertIs(WandbRun._adopt(run), run)
        self.assertIsInstance(run, WandbRun)
        run._label(code="transformers_trainer")
        self.assertEqual((run.project, run.url, run.get_url()), (None, None, None))
        run.config.lr = 1
        run.config.lr = 2  # made by git_exp.init: its config stays permissive
        self.assertEqual(run.config.lr, 2)


class Images(RunTest):
    def decode(self, png):
        self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n")
        pos, chunks = 8, {}
        while pos < len(png):
            (length,) = struct.unpack(">I", png[pos:pos + 4])
            kind, body = png[pos + 4:pos + 8], png[pos + 8:pos + 8 + length]
            (crc,) = struct.unpack(">I", png[pos + 8 + length:pos + 12 + length])
            self.assertEqual(crc, zlib.crc32(kind + body) & 0xFFFFFFFF)
            chunks[kind] = chunks.get(kind, b"") + body
            pos += 12 + length
        width, height, depth, color = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
        raw = zlib.decompress(chunks[b"IDAT"])
        stride = len(raw) // height
        rows = [raw[y * stride + 1:(y + 1) * stride] for y in range(height)]
        self.assertTrue(all(raw[y * stride] == 0 for y in range(height)))
        return width, height, depth, color, rows

    def test_arrays_become_png(self):
        rgb = FakeArray([[[255, 0, 0], [0, 255, 0]], [[0, 0, 255], [300, -5, 7]]])
        self.assertEqual(self.decode(git_exp.Image(rgb).to_bytes()),
                         (2, 2, 8, 2, [b"\xff\x00\x00\x00\xff\x00", b"\x00\x00\xff\xff\x00\x07"]))
        gray = FakeArray([[0.0, 0.5, 1.0]])
        self.assertEqual(self.decode(git_exp.Image(gray).to_bytes()),
                         (3, 1, 8, 0, [b"\x00\x80\xff"]))
        chw = FakeArray([[[0, 10]], [[1, 11]], [[2, 12]]])  # 3x1x2, channels first
        self.assertEqual(self.decode(git_exp.Image(chw).to_bytes()),
                         (2, 1, 8, 2, [b"\x00\x01\x02\x0a\x0b\x0c"]))
        rgba = [[[1, 2, 3, 4]]]
        self.assertEqual(self.decode(git_exp.Image(rgba).to_bytes())[3], 6)

    def test_bytes_paths_and_bad_input(self):
        png = git_exp.Image([[1]]).to_bytes()
        self.assertEqual(git_exp.Image(png).format, "png")
        jpeg = os.path.join(self.dir, "x.jpeg")
        with open(jpeg, "wb") as f:
            f.write(b"\xff\xd8\xff\xe0rest")
        image = git_exp.Image(jpeg, caption="c")
        self.assertEqual((image.format, image.to_bytes(), image.caption),
                         ("jpg", b"\xff\xd8\xff\xe0rest", "c"))
        with self.assertRaisesRegex(git_exp.Error, "not PNG, JPEG, GIF or BMP"):
            git_exp.Image(b"nope")
        with self.assertRaisesRegex(git_exp.Error, "cannot make an image from int"):
            git_exp.Image(3)

    def test_logged_images_are_saved_under_artifacts_media(self):
        run = self.make()
        run.log({"loss": 1.0})
        run.log({"val": {"sample": git_exp.Image([[7]])}, "loss": 0.5})
        run.log({"grid": [git_exp.Image([[1]]), git_exp.Image([[2]])]}, step=4)
        run.finish()
        media = os.path.join(self.dir, "artifacts", "media")
        found = sorted(os.path.relpath(os.path.join(d, f), media)
                       for d, _, files in os.walk(media) for f in files)
        self.assertEqual(found, ["grid/4_0.png", "grid/4_1.png", "val.sample/1.png"])
        with open(os.path.join(media, "val.sample", "1.png"), "rb") as f:
            self.assertEqual(self.decode(f.read())[4], [b"\x07"])
        self.assertEqual(self.lines(run), [{"loss": 1.0, "_step": 0}, {"loss": 0.5, "_step": 1}])


class Buffering(RunTest):
    def test_lines_wait_in_memory_until_a_flush_is_due(self):
        run = self.make()
        run.log({"a": 1.0})
        run.log({"a": 2.0})
        with open(self.events) as f:
            self.assertEqual(f.read(), "")
        run._next_flush = 0  # the second is over: the next log writes everything
        run.log({"a": 3.0})
        with open(self.events) as f:
            self.assertEqual(len(f.read().splitlines()), 3)

    def test_a_failed_write_is_retried_and_leaves_no_torn_line(self):
        import errno
        from unittest import mock

        run = self.make()
        run.log({"a": 1.0})
        run.log({"a": 2.0})
        real_write = os.write
        calls = []

        def full_disk(fd, data):
            calls.append(bytes(data))
            if len(calls) == 1:
                return real_write(fd, bytes(data[:5]))  # part of the first line
            raise OSError(errno.ENOSPC, "No space left on device")

        stderr = io.StringIO()
        with mock.patch("git_exp._events.os.write", full_disk), \
                mock.patch("sys.__stderr__", stderr):
            run.flush()
            run.log({"a": 3.0})
            run.flush()
        with open(self.events) as f:
            self.assertEqual(f.read(), '{"a":')
        run.log({"a": 4.0})
        run.finish()
        self.assertEqual(self.lines(run), [{"a": v, "_step": i}
                                           for i, v in enumerate([1.0, 2.0, 3.0, 4.0])])
        self.assertEqual(stderr.getvalue(), "git-exp: cannot write %s: [Errno 28] No space left "
                                            "on device; retrying\n" % self.events)

    def test_what_cannot_be_written_by_the_end_is_reported_lost(self):
        import errno
        from unittest import mock

        run = self.make()
        run.log({"a": 1.0})  # 48 bytes: {"a": 1.0, "_step": 0, "_time": 1795739285.822}\n
        stderr = io.StringIO()
        with mock.patch("git_exp._events.os.write",
                        side_effect=OSError(errno.EIO, "Input/output error")), \
                mock.patch("sys.__stderr__", stderr):
            run.finish()
        self.assertEqual(stderr.getvalue().splitlines(), [
            "git-exp: cannot write %s: [Errno 5] Input/output error; retrying" % self.events,
            "git-exp: cannot write %s: [Errno 5] Input/output error; 48 bytes of logged data "
            "are lost" % self.events])

    def test_the_flush_thread_task_writes_an_idle_run(self):
        run = self.make()
        run.define_metric("a", summary="max")
        run.log({"a": 1.0})
        run.log({"a": 3.0})
        run._tick()
        with open(self.events) as f:
            events = [json.loads(line) for line in f]
        self.assertEqual(events[-1], {"_summary": {"a": 3.0}})
        run._tick()  # nothing new: no second summary line
        self.assertEqual(len(self.lines(run)), 3)


class ModuleApi(unittest.TestCase):
    def test_before_init(self):
        self.assertIsNone(git_exp.run)
        with self.assertRaisesRegex(git_exp.Error, r"git_exp.log\(\) called before "
                                                   r"git_exp.init\(\)"):
            git_exp.log({"a": 1})
        with self.assertRaisesRegex(git_exp.Error, r"git_exp.config is used before "
                                                   r"git_exp.init\(\); call git_exp.init\(\) "
                                                   "first"):
            git_exp.config["lr"]
        with self.assertRaisesRegex(git_exp.Error, "git_exp.summary is used before"):
            git_exp.summary.best
        git_exp.finish()  # no run: nothing to do


if __name__ == "__main__":
    unittest.main()
