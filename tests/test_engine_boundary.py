"""The engine (mets_core) never imports the trainer (mets_train): inference works where the trainer is absent,
and the trainer's commands reach `mets` only as a plug-in."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from helpers import wfdb_12lead_upload, write_cli_model

ROOT = Path(__file__).resolve().parents[1]

# Run in a fresh interpreter in which `import mets_train` fails as it would where the trainer is not installed.
BLOCK = """
import importlib.abc, sys
class NoTrainer(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "mets_train" or name.startswith("mets_train."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, NoTrainer())
"""


def run_without_trainer(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCK + code], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)


def test_no_engine_module_imports_the_trainer():
    offenders = []
    for path in sorted((ROOT / "mets_core").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            offenders += [f"{path.relative_to(ROOT)}:{node.lineno} imports {n}" for n in names
                          if n == "mets_train" or n.startswith("mets_train.")]
    assert offenders == []


def test_every_engine_module_imports_without_the_trainer():
    proc = run_without_trainer(
        "import pkgutil, importlib, mets_core\n"
        "mods = [m.name for m in pkgutil.walk_packages(mets_core.__path__, 'mets_core.')]\n"
        "for m in mods: importlib.import_module(m)\n"
        "print(len(mods), sorted(m for m in sys.modules if m.startswith('mets_train')))\n")
    assert proc.returncode == 0, proc.stderr
    count, loaded = proc.stdout.split(" ", 1)
    assert int(count) >= 15 and loaded.strip() == "[]"


def test_cli_help_and_rank_work_without_the_trainer_and_train_says_what_to_install(tmp_path):
    model = write_cli_model(tmp_path / "model", ["sinus rhythm.", "atrial fibrillation."])
    wfdb_12lead_upload(tmp_path)                    # writes tmp_path/1.hea + 1.dat
    record = str(tmp_path / "1.hea")
    proc = run_without_trainer(
        "import contextlib, io, json\n"
        "from mets_core.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    try:\n        main(['--help'])\n    except SystemExit:\n        pass\n"
        f"    rank = main(['rank', {record!r}, '-p', 'sinus rhythm', '-p', 'atrial fibrillation', "
        f"'--model', {str(model)!r}, '--json'])\n"
        "train = main(['train', '--config', 'x.json'])\n"
        "print(json.dumps({'out': out.getvalue(), 'rank': rank, 'train': train,\n"
        "                  'trainer_loaded': sorted(m for m in sys.modules if m.startswith('mets_train'))}))\n")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "rank free-text prompts" in result["out"] and "contrastive pretraining" not in result["out"]
    assert result["rank"] == 0 and '"similarity"' in result["out"]
    assert result["train"] == 2 and "mets train: this command comes with the METS trainer" in proc.stderr
    assert "pip install -e ." in proc.stderr
    assert result["trainer_loaded"] == []


def test_the_trainer_commands_are_a_registered_plug_in():
    from mets_core import cli
    from mets_train.commands import COMMANDS as TRAINER
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert f'[project.entry-points."{cli.PLUGIN_GROUP}"]\nmets_train = "{cli.BUNDLED_PLUGIN}"\n' in pyproject
    assert set(TRAINER) == set(cli.TRAINER_COMMANDS)
    assert {k: v for k, v in cli.all_commands().items() if k in TRAINER} == TRAINER


def test_the_trainer_layers_import_downward_only():
    # metrics < ptbxl (PTB-XL reading, protocols) < corpus < training (incl. the PTB-XL recipe) < commands:
    # no sideways or upward import, so each layer can be read (and changed) without the ones above it
    layers = ["metrics", "ptbxl", "corpus", "training", "commands"]
    offenders = []
    for path in sorted((ROOT / "mets_train").rglob("*.py")):
        rel = path.relative_to(ROOT / "mets_train")
        own = rel.parts[0].removesuffix(".py")
        if own not in layers:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level == 2 or (node.level == 1 and len(rel.parts) == 1):
                target = (node.module or "").split(".")[0]
            elif node.level == 0 and (node.module or "").startswith("mets_train."):
                target = node.module.split(".")[1]
            else:
                continue
            if target in layers and layers.index(target) > layers.index(own):
                offenders.append(f"mets_train/{rel}:{node.lineno} ({own}) imports {target}")
    assert offenders == []
