"""Options as users give them: every Trainer option reaches the Trainer, spellings agree across commands,
older run folders and spellings keep working, a reused run folder with other options is refused."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
from pathlib import Path

import pytest

from rsic_core.cli import build_parser, main
from rsic_core.options import split_list
from rsic_core.training import jobs

QUICK = [
    "--train-limit", "4", "--captions-per-image", "1", "--per-device-train-batch-size", "2",
    "--gradient-accumulation-steps", "1", "--max-steps", "3", "--save-steps", "3", "--predict-limit", "-1",
]  # fmt: skip


def _files(folder: Path) -> dict:
    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.stat().st_size) for p in folder.rglob("*")}


def test_trainer_options_from_the_command_line_and_yaml_reach_the_trainer(tiny_model_dir, tmp_path, capsys):
    import torch

    run_dir = tmp_path / "run"
    yaml_file = tmp_path / "run.yaml"
    yaml_file.write_text("lr_scheduler_type: constant\nlearning_rate: 1e-3\nadam_epsilon: 1.0e-6\n")
    command = ["train", "--config", str(yaml_file), "--model", str(tiny_model_dir), "--output-dir", str(run_dir)]
    command += [*QUICK, "--adam-beta2", "0.95", "--device", "cpu", "--dataloader_pin_memory", "false"]
    assert main(command) == 0, capsys.readouterr().err

    saved = json.loads((run_dir / "config.json").read_text())  # plain JSON, every field
    assert (saved["adam_beta2"], saved["adam_epsilon"], saved["lr_scheduler_type"]) == (0.95, 1e-6, "constant")
    assert saved["train_device"] == "cpu" and saved["dataloader_pin_memory"] is False and saved["lora_r"] == 8
    group = torch.load(run_dir / "checkpoints" / "checkpoint-3" / "optimizer.pt")["param_groups"][0]
    assert tuple(group["betas"]) == (0.9, 0.95) and group["eps"] == 1e-6  # the optimizer the Trainer built
    rates = [row["learning_rate"] for row in jobs.read_jsonl(run_dir / jobs.STEP_LOG)]
    assert rates == [1e-3] * 3  # the constant schedule from the YAML file, not the default linear decay

    # The same command on the finished run is refused (resuming it added a step at learning rate 0) ...
    before = _files(run_dir)
    capsys.readouterr()
    assert main(command) == 2
    err = capsys.readouterr().err.strip()
    assert "already finished at step 3; nothing to resume" in err and "--overwrite" in err and "\n" not in err
    assert _files(run_dir) == before
    # ... --overwrite trains there afresh; a run cancelled midway (the Train page's Cancel) ...
    longer = [*command, "--max-steps", "8"]
    with _cancel_after_the_first_step(run_dir):
        assert main([*longer, "--overwrite"]) == 0
    status = jobs.read_status(run_dir)
    assert status["state"] == "cancelled" and status["step"] < 8, status
    # ... refuses other options on the same folder, leaving it as it was ...
    before = _files(run_dir)
    capsys.readouterr()
    assert main([*longer, "--lora-r", "4", "--adam_beta2", "0.9"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("rsic: error:"), err
    assert "lora_r 8 there, 4 now" in err and "adam_beta2" in err and f"rsic train --resume {run_dir}" in err
    assert _files(run_dir) == before
    # ... and the same command (without --overwrite) continues it from its last checkpoint.
    assert main(longer) == 0
    steps = [row["step"] for row in jobs.read_jsonl(run_dir / jobs.STEP_LOG)]
    assert steps == list(range(1, 9))  # no step logged twice, none missing
    assert jobs.read_status(run_dir)["state"] == "completed"


@contextlib.contextmanager
def _cancel_after_the_first_step(run_dir: Path):
    """Send this process SIGTERM (the Train page's Cancel) once the run in it has logged a step.

    A stray signal is harmless here: while the block runs, SIGTERM is ignored unless the run's own
    cancel handler has taken it (it restores this one when training ends).
    """
    done = threading.Event()

    def watch():
        while not done.wait(0.02):
            status = jobs.read_status(run_dir)
            if status.get("state") == "running" and str(status.get("message", "")).startswith("step "):
                os.kill(os.getpid(), signal.SIGTERM)
                return

    previous = signal.signal(signal.SIGTERM, lambda signum, frame: None)
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()
        signal.signal(signal.SIGTERM, previous)


def test_a_run_started_with_the_older_eval_limit_continues_with_its_own_command(tiny_model_dir, tmp_path, capsys):
    """Its config.json says eval_limit and its command --eval-limit: both mean val_limit, not other options."""
    run_dir = tmp_path / "run"
    command = ["train", "--model", str(tiny_model_dir), "--output-dir", str(run_dir), *QUICK, "--max-steps", "6"]
    command += ["--device", "cpu", "--eval-steps", "3", "--eval-limit", "2", "--val-metrics", "bleu"]
    with _cancel_after_the_first_step(run_dir):
        assert main(command) == 0, capsys.readouterr().err
    assert jobs.read_status(run_dir)["state"] == "cancelled"
    config_file = run_dir / "config.json"
    saved = json.loads(config_file.read_text())
    assert saved["val_limit"] == 2 and "eval_limit" not in saved
    saved["eval_limit"] = saved.pop("val_limit")  # the folder as an older version wrote it
    config_file.write_text(json.dumps(saved))

    assert main(command) == 0, capsys.readouterr().err  # continued, not refused as "started with other options"
    assert jobs.read_status(run_dir)["state"] == "completed"
    assert [row["step"] for row in jobs.read_jsonl(run_dir / jobs.STEP_LOG)] == list(range(1, 7))
    assert json.loads(config_file.read_text())["val_subset"]["n"] == 2  # validated on the 2 images it was given


def test_rsic_train_help_lists_the_project_and_trainer_fields(capsys):
    with pytest.raises(SystemExit) as done:
        main(["train", "--help"])
    out = capsys.readouterr().out
    assert done.value.code == 0
    for option in ("--lora-r", "--adam-beta2", "--lr-scheduler-kwargs", "--torch-compile", "--report-to"):
        assert option in out, option


def test_old_config_json_without_new_keys_loads(tmp_path):
    from rsic_core.training.config import load_train_config

    old = {  # a run written before TrainConfig took the Trainer's fields
        "model": "demo",
        "lora_r": 4,
        "device": "cpu",
        "eval_batch_size": 8,
        "eval_limit": 7,  # the validation images, val_limit since
        "gradient_checkpointing": False,
        "report_to": "none",
        "kind": "training",
        "adapter": None,
    }
    (tmp_path / "config.json").write_text(json.dumps(old))
    config = load_train_config(tmp_path)
    assert (config.lora_r, config.train_device, config.per_device_eval_batch_size, config.val_limit) == (4, "cpu", 8, 7)
    assert config.adam_beta2 == 0.999 and config.save_steps == 50 and config.report_to == []


def test_yaml_and_python_take_the_trainer_options_too(tmp_path):
    from rsic_core.cli.train import parse_config
    from rsic_core.training.config import TrainConfig

    file = tmp_path / "run.yaml"
    file.write_text("lr_scheduler_kwargs: {num_cycles: 2}\nreport_to: [none]\ndevice: cpu\ntorch_compile: false\n")
    (config,) = parse_config(["--config", str(file), "--lora_alpha", "32"])
    assert config.lr_scheduler_kwargs == {"num_cycles": 2} and config.train_device == "cpu"
    assert (config.lora_alpha, config.report_to, config.torch_compile) == (32, [], False)
    direct = TrainConfig(adam_beta2=0.95, lora_require_towers="language, qformer", report_to="none")
    assert direct.adam_beta2 == 0.95 and direct.report_to == [] and direct.output_dir == ""


def _parse(*argv: str):
    return build_parser().parse_args(list(argv))


def test_every_command_takes_the_field_spelling_with_dashes_or_underscores_and_the_old_one():
    from rsic_core.cli.arguments import dataclass_from_args
    from rsic_core.cli.evaluate import eval_config
    from rsic_core.cli.preprocess import preprocess_config
    from rsic_core.cli.train import parse_config
    from rsic_core.models.inference import CaptionConfig
    from rsic_core.training.experiments import GridConfig

    data = ("evaluate", "--data", "d")
    old = eval_config(_parse(*data, "--split", "val", "--limit", "3", "--name", "n", "--beams", "5",
                             "--max-new-tokens", "7", "--no-efficiency", "--metrics", "bleu, cider"))  # fmt: skip
    new = eval_config(_parse(*data, "--eval-split", "val", "--eval-limit", "3", "--eval-name", "n",
                             "--gen-num-beams", "5", "--gen-max-new-tokens", "7", "--no-eval-efficiency",
                             "--metrics", "bleu,cider"))  # fmt: skip
    assert old == new
    assert (new.eval_split, new.eval_limit, new.caption.gen_num_beams, new.eval_efficiency) == ("val", 3, 5, False)
    assert new.scoring.score_metrics == ("bleu", "cider")
    assert eval_config(_parse(*data, "--eval_split", "val", "--eval-efficiency", "false")) == eval_config(
        _parse(*data, "--split", "val", "--no-efficiency")
    )

    for spelling in ("--gen-num-beams", "--gen_num_beams", "--beams"):
        args = _parse("caption", "a.jpg", spelling, "3", "--batch_size", "2")
        assert dataclass_from_args(CaptionConfig, args) == CaptionConfig(gen_num_beams=3, batch_size=2), spelling

    for spelling in ("--len-min-words", "--len_min_words", "--min-words"):
        config = preprocess_config(_parse("preprocess", "p", "--out", "o", spelling, "3", "--no-sentencepiece"))
        assert (config.len_min_words, config.sentencepiece, config.synonyms) == (3, False, True), spelling

    (dashes,) = parse_config(["--lora-r", "4", "--max-steps", "3", "--device", "cpu"])
    (underscores,) = parse_config(["--lora_r", "4", "--max_steps", "3", "--train_device", "cpu"])
    assert dashes.changed_options(underscores) == {} and dashes.lora_r == 4
    _, grid = parse_config(["--grid-r", "2,4", "--grid_alpha", "8"], GridConfig, prog="rsic experiment grid")
    assert (grid.grid_r, grid.grid_alpha) == ("2,4", "8")


def test_help_lists_the_field_spelling_and_names_the_old_ones_as_deprecated(capsys):
    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    out = capsys.readouterr().out
    options, epilog = out.split("Older spellings")
    assert "--gen-num-beams" in options and "--eval-split" in options
    assert "--beams" not in options and "--split " not in options
    assert "deprecated" in epilog and "--beams (--gen-num-beams)" in epilog and "--split (--eval-split)" in epilog


def test_comma_lists_are_parsed_one_way():
    assert split_list("bleu, cider,") == ["bleu", "cider"]
    assert split_list(["2,4", " 8 "]) == ["2", "4", "8"]
    assert split_list(None) == [] and split_list("") == []


def test_rsic_help_says_what_every_command_holds_one_way_and_rsic_version_answers(capsys):
    import argparse

    from rsic_core.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {c.dest: c.help for c in commands._choices_actions}
    assert set(helps) == set(commands.choices)
    for name, text in helps.items():
        assert text and text[0].islower() and not text.endswith("."), f"rsic {name}: {text!r}"
        assert text not in ("dataset commands", "model commands"), f"rsic {name} says nothing of what it holds"
    assert "BITA" in helps["convert"]
    with pytest.raises(SystemExit) as exit_:
        parser.parse_args(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.startswith("rsic 0.")


def test_one_name_for_the_bands_and_the_embedder_older_spellings_still_work():
    from rsic_core.cli import build_parser

    parser = build_parser()
    base = ["scene", "caption", "s.tif", "--out", "s.geojson"]
    assert parser.parse_args([*base, "--image-bands", "4,3,2"]).bands == "4,3,2"  # as rsic caption spells it
    assert parser.parse_args([*base, "--bands", "4,3,2"]).bands == "4,3,2"  # the older spelling
    scene = parser._subparsers._group_actions[0].choices["scene"]._subparsers._group_actions[0].choices["caption"]
    assert "--bands (--image-bands)" in " ".join(scene.format_help().split())
    assert parser.parse_args(["preprocess", "d", "--out", "o", "--embedder", "e"]).syn_embedder == "e"  # current
    for command in (["score", "p.jsonl"], ["evaluate", "--data", "d"], ["compare", "a", "b"]):
        for spelling in ("--geo-sim-embedder", "--embedder"):
            assert parser.parse_args([*command, spelling, "e"]).geo_sim_embedder == "e"


def _command_parsers():
    """Every parser that runs a command, by its name (``rsic scene caption``), train and experiment included."""
    from rsic_core.cli import _commands
    from rsic_core.cli.train import parse_config  # noqa: F401 (their parser is built when they run)

    return {p.prog: p for p in _commands(build_parser())}


def test_every_command_parses_with_the_one_option_parser_and_answers_help(capsys):
    from rsic_core.cli.arguments import OptionParser

    parsers = _command_parsers()
    assert len(parsers) >= 20 and "rsic scene caption" in parsers and "rsic train" in parsers
    for prog, parser in parsers.items():
        assert isinstance(parser, OptionParser), prog
        with pytest.raises(SystemExit) as done:
            main([*prog.split()[1:], "--help"])
        out = capsys.readouterr().out
        assert done.value.code == 0 and out.startswith(f"usage: {prog}"), prog
        assert "--config" in out, f"{prog} --help does not offer --config"


def test_a_yaml_config_file_works_on_every_command_and_the_command_line_overrides_it(tmp_path, capsys):
    from rsic_core.cli.evaluate import eval_config
    from rsic_core.cli.preprocess import preprocess_config

    file = tmp_path / "eval.yaml"
    file.write_text("eval_split: val\nbeams: 5\nmetrics: [bleu, cider]\nno_eval_efficiency: true\n")
    with pytest.raises(ValueError, match=r"eval\.yaml: unknown field\(s\) no_eval_efficiency; `rsic evaluate --help`"):
        _parse_with_config("evaluate", "--data", "d", "--config", str(file))
    file.write_text("eval_split: val\nbeams: 5\nmetrics: [bleu, cider]\neval-efficiency: false\nmodel: ucm\n")
    args = _parse_with_config("evaluate", "--data", "d", "--config", str(file), "--gen-num-beams", "3")
    config = eval_config(args)
    assert (config.eval_split, config.caption.gen_num_beams, config.eval_efficiency) == ("val", 3, False)
    assert config.scoring.score_metrics == ("bleu", "cider") and args.model == "ucm"  # plain options too
    file.write_text("engine: rya\n")
    with pytest.raises(ValueError, match=r'eval\.yaml: engine must be one of local, ray \(got "rya"\)'):
        _parse_with_config("evaluate", "--data", "d", "--config", str(file))
    pre = tmp_path / "pre.yaml"
    pre.write_text("len_min_words: 3\nsentencepiece: false\n")
    config = preprocess_config(_parse_with_config("preprocess", "p", "--out", "o", "--config", str(pre)))
    assert (config.len_min_words, config.sentencepiece, config.synonyms) == (3, False, True)


def _parse_with_config(*argv: str):
    from rsic_core.cli.arguments import with_config_file

    parser = build_parser()
    return with_config_file(parser, parser.parse_args(list(argv)), list(argv))


def test_an_older_spelling_still_works_and_says_which_one_is_current(capsys):
    from rsic_core.cli.train import parse_config

    assert _parse("caption", "a.jpg", "--beams", "4").gen_num_beams == 4
    assert capsys.readouterr().err.strip() == "rsic: warning: --beams is deprecated; use --gen-num-beams"
    assert _parse("evaluate", "--data", "d", "--no-efficiency").eval_efficiency is False
    assert "--no-efficiency is deprecated; use --no-eval-efficiency" in capsys.readouterr().err
    assert _parse("evaluate", "--data", "d", "--gen-num-beams", "4", "--device", "cpu").gen_num_beams == 4
    (config,) = parse_config(["--device", "cpu"])  # a current spelling on train too: no warning
    assert config.train_device == "cpu" and capsys.readouterr().err == ""


def test_the_pruning_sweep_has_its_own_name_and_the_old_one_still_works():
    """prune_qformer_layers is one run's kept layers; the experiment's list of them is prune_qformer_sweep."""
    from rsic_core.cli.train import parse_config
    from rsic_core.training.experiments import PruneConfig

    base = ["--model", "m", "--data", "d"]
    _, prune = parse_config([*base, "--prune-qformer-sweep", "0,6", "--prune-lm-sweep", "16"], PruneConfig)
    assert (prune.prune_qformer_sweep, prune.prune_lm_sweep) == ("0,6", "16")
    _, old = parse_config([*base, "--prune-qformer", "0,6", "--prune-lm", "16"], PruneConfig)
    assert (old.prune_qformer_sweep, old.prune_lm_sweep) == ("0,6", "16")


def test_the_helpers_that_moved_out_of_cli_caption_keep_their_old_import_path():
    from rsic_core.cli import caption, engine, outputs
    from rsic_core.data import images

    assert caption.StreamedLines is outputs.StreamedLines and caption.written_by_rsic is outputs.written_by_rsic
    assert caption.check_output is outputs.check_output and caption.progress_printer is outputs.progress_printer
    assert caption.engine_config is engine.engine_config and caption.add_engine_arguments is engine.add_engine_arguments
    assert caption.collect_images is images.collect_images


def test_config_values_are_checked_as_their_options_and_required_options_may_come_from_the_file(tmp_path, capsys):
    """A review found values argparse never converts (it converts only the command line) crashing later."""
    from rsic_core.cli.evaluate import eval_config

    file = tmp_path / "c.yaml"
    for text, message in (
        ("gen_num_beams: 2.5", "gen_num_beams must be a whole number (got 2.5)"),
        ("gen_num_beams: null", "gen_num_beams needs a value (the file gives null)"),
        ("batch_size: true", "batch_size must be a whole number (got true)"),
        ("eval_efficiency: maybe", 'eval_efficiency must be true or false (got "maybe")'),
        ("gen_cache: fast", "gen_cache must be one of auto, static, dynamic (got 'fast')"),  # CaptionConfig's check
        ("caption: {gen_num_beams: 4}", "caption is not an option; give its fields at the top level of the file"),
        ("metrics: blue", "unknown metric group(s) ['blue']; choose from bleu, meteor, rouge, cider, geo_sim, spice"),
    ):
        file.write_text(text + "\n")
        with pytest.raises(ValueError) as refused:
            eval_config(_parse_with_config("evaluate", "--data", "d", "--config", str(file)))
        assert str(refused.value).endswith(message) and "\n" not in str(refused.value), text
    file.write_text("data: d\neval_efficiency: off\nmetrics: [bleu, cider]\n")  # --data, required, from the file
    config = eval_config(_parse_with_config("evaluate", "--config", str(file)))
    assert config.eval_efficiency is False and config.scoring.score_metrics == ("bleu", "cider")
    with pytest.raises(SystemExit):
        _parse_with_config("evaluate", "--config", str(tmp_path / "c.yaml"), "--eval-split", "val", "--data")
    file.write_text("eval_split: val\n")
    with pytest.raises(SystemExit):  # still required when the file does not give it
        _parse_with_config("evaluate", "--config", str(file))
    assert "the following arguments are required: --data" in capsys.readouterr().err


def test_a_comma_option_takes_one_value_and_leaves_the_arguments_after_it(capsys):
    args = _parse("compare", "--metrics", "bleu,cider", "run_a", "run_b")
    assert (args.a, args.b, args.score_metrics) == ("run_a", "run_b", "bleu,cider")
    assert _parse("scene", "caption", "s.tif", "--out", "o", "--image_bands", "4,3,2").bands == "4,3,2"
    assert _parse("preprocess", "p", "--out", "o", "--cleaning", "off").cleaning is False  # on/off as before
    file_args = ["evaluate", "--data", "d", "--split", "val", "--split", "test"]
    assert _parse(*file_args).eval_split == "test"
    assert capsys.readouterr().err.count("deprecated") == 1  # one warning per spelling


def test_a_switch_leaves_the_next_argument_alone_and_older_keys_lose_to_current_ones(tmp_path, capsys):
    """From a second review: `rsic score --spice RUN` gave RUN to --spice; `limit: 2` after `eval_limit: 3` won."""
    from rsic_core.cli.config_files import SWITCH_WORDS, switch_value
    from rsic_core.cli.train import parse_config
    from rsic_core.training.experiments import GridConfig

    assert {switch_value(word) for word in SWITCH_WORDS} == {True, False}  # every word a switch is known to take
    args = _parse("score", "--spice", "run_folder")
    assert args.predictions == "run_folder" and args.score_spice is True
    assert _parse("compare", "--spice", "a", "b", "--no-spice").score_spice is False
    assert _parse("evaluate", "--data", "d", "--spice", "off").score_spice is False  # no positional: a value
    file = tmp_path / "c.yaml"
    file.write_text("limit: 2\neval_limit: 3\nallow_missing: yes\n")
    with pytest.raises(ValueError, match="unknown field"):
        _parse_with_config("evaluate", "--data", "d", "--config", str(file))  # allow_missing is score's
    file.write_text("eval_limit: 3\nlimit: 2\nspice: 'on'\n")
    args = _parse_with_config("evaluate", "--data", "d", "--config", str(file))
    assert (args.eval_limit, args.score_spice) == (3, True)
    assert "c.yaml: limit is an older name; use eval_limit" in capsys.readouterr().err
    file.write_text("allow_missing: 1\nprotocols: 'true'\nspice: false\n")
    args = _parse_with_config("score", "p.jsonl", "--config", str(file))
    assert (args.allow_missing, args.protocols, args.score_spice) == (True, True, False)
    file.write_text("val_metrics: [bleu, cider]\ngrid_r: [2, 4]\ndeepspeed: {zero: 3}\n")
    with pytest.raises(ValueError, match=r"^rsic experiment grid: .*deepspeed"):  # not a traceback: deepspeed absent
        parse_config(["--config", str(file)], GridConfig, prog="rsic experiment grid")
    file.write_text("val_metrics: [bleu, cider]\ngrid_r: [2, 4]\n")
    config, grid = parse_config(["--config", str(file)], GridConfig, prog="rsic experiment grid")
    assert (config.val_metrics, grid.grid_r) == ("bleu,cider", "2,4")  # a list for a comma field
    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    assert "--data DATA [--out OUT]" in " ".join(capsys.readouterr().out.split())  # --data still shown as required
