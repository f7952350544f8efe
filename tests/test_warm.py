"""The warm path (warm.py) answers a command line it has a plan for with the very bytes the full
command line writes, and never from a plan that anything on its watch list has outdated."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest

from coprod_kg import cli, stamps, warm
from coprod_kg import query as query_module
from coprod_kg.project import Project

from conftest import ROOT

MOSAIC = os.path.join("data", "studies", "12-mosaic-clubhouse.ttl")


@pytest.fixture()
def copy(tmp_path, store, monkeypatch) -> Project:
    """A copy of the project with its warm cache, as the working directory, where a file is
    trusted at once and the process came through warm.run without a plan."""
    root = tmp_path / "project"
    for folder in ("ontology", "data", "queries"):
        shutil.copytree(ROOT / folder, root / folder)
    shutil.copytree(ROOT / "build" / "cache", root / "build" / "cache")
    shutil.rmtree(root / "build" / "cache" / "warm", ignore_errors=True)
    monkeypatch.chdir(root)
    monkeypatch.setattr(stamps, "RACY_NS", -10**15)  # every stat is trusted at once
    monkeypatch.setattr(warm, "MISSED", [True])
    # --max-rows and the like change the limits of every later query in this process.
    monkeypatch.setattr(query_module, "_LIMITS", dict(query_module._LIMITS))
    return Project(root.resolve())


def full(words: list[str], capsys) -> tuple[int, str, str]:
    """The full command line's exit code, output and errors (it leaves a plan)."""
    code = cli.main(words)
    out = capsys.readouterr()
    return code, out.out, out.err


def warm_answer(words: list[str], capsys) -> tuple[int | None, str, str]:
    code = warm.answer(words)
    out = capsys.readouterr()
    return code, out.out, out.err


def plans(project: Project) -> list[str]:
    folder = project.cache_dir / "warm"
    return sorted(os.listdir(folder)) if folder.is_dir() else []


def test_every_answer_of_every_question_is_the_same_bytes_warm(copy, capsys):
    """All the build's answers (every question, parameterised ones for every value)."""
    from coprod_kg.cache import open_store
    from coprod_kg.query import discover, parameter_sets

    store = open_store(copy)
    asked = 0
    for query in discover(copy.queries_dir):
        for params in parameter_sets(query, store):
            words = ["query", query.name, "--format", "csv"]
            for name, value in params.items():
                words += ["--param", f"{name}={value}"]
            code, out, err = full(words, capsys)
            assert (code, err) == (0, ""), words
            warm_code, warm_out, warm_err = warm_answer(words, capsys)
            assert (warm_code, warm_err) == (0, ""), words
            assert warm_out == out and out.count("\n") >= 1, words
            asked += 1
    # 25 questions: 06 once for each of the report's six principles, 14 for each of its 15
    # studies, 24 for each of the 75 outcomes coded.
    assert asked == 22 + 6 + 15 + 75


def test_no_plan_no_warm_answer(copy, capsys):
    assert warm_answer(["query", "01-principle-prevalence", "--format", "csv"], capsys) \
        == (None, "", "")


def test_other_words_are_another_plan(copy, capsys):
    full(["query", "01-principle-prevalence", "--format", "csv"], capsys)
    assert warm_answer(["query", "principle-prevalence", "--format", "csv"], capsys)[0] is None
    assert warm_answer(["query", "01-principle-prevalence", "--format", "csv", "--timeout", "9"],
                       capsys)[0] is None
    assert warm_answer(["query", "01-principle-prevalence", "--format", "csv"], capsys)[0] == 0


@pytest.mark.parametrize("words", [
    ["query", "01-principle-prevalence"],  # a table: rich draws it, on the full path
    ["query", "01-principle-prevalence", "--format", "json"],
    ["query", "01-principle-prevalence", "--format", "csv", "-o", "out.csv"],
    ["query", "01-principle-prevalence", "--format", "csv", "--verbose"],
    ["--max-rows", "5", "query", "01-principle-prevalence", "--format", "csv"],
    ["query", "01-principle-prevalence", "--format", "csv", "--engine", "rdflib"],
], ids=["table", "json", "output-file", "verbose", "global-option", "rdflib"])
def test_only_a_plain_csv_answer_to_standard_output_leaves_a_plan(copy, capsys, words):
    code, _, _ = full(words, capsys)
    assert code in (0, 3)
    assert plans(copy) == []


def test_a_program_calling_main_itself_leaves_no_plan(copy, capsys, monkeypatch):
    monkeypatch.setattr(warm, "MISSED", [])
    full(["query", "01-principle-prevalence", "--format", "csv"], capsys)
    assert plans(copy) == []


def test_a_plan_is_not_recorded_while_a_watched_file_is_young(copy, capsys, monkeypatch):
    monkeypatch.setattr(stamps, "RACY_NS", 2_000_000_000)
    monkeypatch.setattr(warm, "STARTED_NS", time.time_ns())
    (copy.root / MOSAIC).write_bytes((copy.root / MOSAIC).read_bytes())  # touched just now
    full(["query", "01-principle-prevalence", "--format", "csv"], capsys)
    assert plans(copy) == []


def forget_stores(project: Project) -> None:
    """Let go of the stores of ``project`` this process holds, as a new process would start: a
    plan is recorded only where one store of the project is held (warm.record)."""
    for key in [k for k in stamps.HELD if os.path.dirname(k[0]) == str(project.cache_dir)]:
        os.close(stamps.HELD.pop(key))


def _planned(copy, capsys, words=("query", "12-capacity-hours", "--format", "csv")) -> list:
    words = list(words)
    code, out, _ = full(words, capsys)
    assert code == 0 and len(plans(copy)) == 1
    assert warm_answer(words, capsys)[:2] == (0, out)
    return words


def test_an_edited_data_file_outdates_the_plan(copy, capsys):
    words = _planned(copy, capsys)
    path = copy.root / MOSAIC
    # Mosaic Clubhouse: "444" paid support hours a week (Appendix).
    path.write_text(path.read_text().replace("qudt:numericValue 444 ;",
                                             "qudt:numericValue 445 ;"))
    assert warm_answer(words, capsys)[0] is None
    forget_stores(copy)
    code, out, _ = full(words, capsys)
    assert code == 0 and ",445,HR," in out and ",444,HR," not in out  # the value column
    assert warm_answer(words, capsys)[:2] == (0, out)


def test_an_added_data_file_outdates_the_plan(copy, capsys):
    words = _planned(copy, capsys)
    (copy.root / "data" / "studies" / "zz-new.ttl").write_text("")
    assert warm_answer(words, capsys)[0] is None


def test_a_file_added_in_a_new_folder_under_data_outdates_the_plan(copy, capsys):
    words = _planned(copy, capsys)
    (copy.root / "data" / "more").mkdir()
    (copy.root / "data" / "more" / "new.ttl").write_text("")
    assert warm_answer(words, capsys)[0] is None


def test_a_removed_data_file_outdates_the_plan(copy, capsys):
    words = _planned(copy, capsys)
    (copy.root / MOSAIC).unlink()
    assert warm_answer(words, capsys)[0] is None


def test_an_edited_query_outdates_the_plan(copy, capsys):
    words = _planned(copy, capsys)
    path = copy.queries_dir / "12-capacity-hours.rq"
    path.write_text(path.read_text() + "\n# a comment\n")
    assert warm_answer(words, capsys)[0] is None


def test_a_new_query_file_outdates_the_plan(copy, capsys):
    words = _planned(copy, capsys)
    (copy.queries_dir / "00-first.rq").write_text("SELECT * WHERE { ?s ?p ?o } LIMIT 1\n")
    assert warm_answer(words, capsys)[0] is None


def test_a_file_named_as_the_query_outdates_the_plan(copy, capsys):
    words = _planned(copy, capsys)
    (copy.root / "12-capacity-hours").write_text("SELECT * WHERE { ?s ?p ?o } LIMIT 1\n")
    assert warm_answer(words, capsys)[0] is None


def test_a_removed_store_outdates_the_plan(copy, capsys):
    words = _planned(copy, capsys)
    folder = next(p for p in copy.cache_dir.iterdir() if p.name.startswith("store-"))
    forget_stores(copy)
    shutil.rmtree(folder)
    assert warm_answer(words, capsys)[0] is None
    code, out, _ = full(words, capsys)
    assert code == 0 and warm_answer(words, capsys)[:2] == (0, out)


def test_a_rewritten_closure_stamp_outdates_the_plan(copy, capsys):
    words = _planned(copy, capsys)
    meta = next(p for p in copy.cache_dir.iterdir()
                if p.name.startswith("closure-") and p.suffix == ".json")
    meta.write_bytes(meta.read_bytes())
    assert warm_answer(words, capsys)[0] is None


def test_another_environment_outdates_the_plan(copy, capsys, monkeypatch):
    words = _planned(copy, capsys)
    monkeypatch.setenv("COPROD_REASONER", "owlrl")
    assert warm_answer(words, capsys)[0] is None


def test_another_folder_is_another_plan(copy, capsys, monkeypatch):
    words = _planned(copy, capsys)
    monkeypatch.chdir(copy.root / "data")
    assert warm_answer(words, capsys)[0] is None


def test_a_damaged_plan_is_no_plan(copy, capsys):
    words = _planned(copy, capsys)
    path = copy.cache_dir / "warm" / plans(copy)[0]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    assert warm_answer(words, capsys)[0] is None
    path.write_bytes(b"")
    assert warm_answer(words, capsys)[0] is None


def test_a_parameter_is_part_of_the_plan(copy, capsys):
    networks = ["query", "06-principle-outcome-paths", "--param", "principle=networks",
                "--format", "csv"]
    assets = ["query", "06-principle-outcome-paths", "--param", "principle=assets",
              "--format", "csv"]
    _, out_networks, _ = full(networks, capsys)
    _, out_assets, _ = full(assets, capsys)
    assert out_networks != out_assets
    assert warm_answer(networks, capsys)[1] == out_networks
    assert warm_answer(assets, capsys)[1] == out_assets


def test_a_timeout_is_the_same_message_and_exit_code_warm(copy, capsys, monkeypatch):
    from coprod_kg import worker

    words = _planned(copy, capsys)

    def stopped(*args, **kwargs):
        raise worker.TimeLimitReached(30.0)

    monkeypatch.setattr(worker, "call", stopped)
    full_code, _, full_err = full(words, capsys)
    warm_code, warm_out, warm_err = warm_answer(words, capsys)
    assert (full_code, warm_code) == (3, 3)
    assert warm_out == ""
    assert warm_err == full_err
    assert "12-capacity-hours.rq: stopped after 30 s without an answer" in warm_err


def test_a_failure_that_is_not_a_limit_falls_back_to_the_full_path(copy, capsys, monkeypatch):
    from coprod_kg import worker

    words = _planned(copy, capsys)

    def crashed(*args, **kwargs):
        raise worker.WorkerCrashed("the worker was ended by signal 11 (SIGSEGV)")

    monkeypatch.setattr(worker, "call", crashed)
    assert warm_answer(words, capsys) == (None, "", "")


def test_plans_past_the_limit_are_pruned(copy, capsys, monkeypatch):
    monkeypatch.setattr(warm, "KEEP", 2)
    for timeout in ("10", "20", "30"):
        full(["query", "01-principle-prevalence", "--format", "csv", "--timeout", timeout],
             capsys)
    assert len(plans(copy)) == 2


# Cells a spreadsheet would run (a leading -, =), which the CSV writer checks with decimal, and
# an xsd:decimal: the worker of a fresh process can import neither, so the plan says to.
FORMULA = ('SELECT ?n ?text ?d WHERE { VALUES (?n ?text ?d) '
           '{ (-5 "=1+1" 2.50) (7 "-x" -0.1) } } ORDER BY ?n\n')


# --- the installed command, in fresh processes ------------------------------------------------

@pytest.fixture(scope="module")
def settled(tmp_path_factory, store) -> Project:
    """A copy of the project whose files are older than RACY_NS, so that plans are recorded."""
    root = tmp_path_factory.mktemp("warm") / "project"
    for folder in ("ontology", "data", "queries"):
        shutil.copytree(ROOT / folder, root / folder)
    shutil.copytree(ROOT / "build" / "cache", root / "build" / "cache")
    shutil.rmtree(root / "build" / "cache" / "warm", ignore_errors=True)
    (root / "formula.rq").write_text(FORMULA)
    time.sleep(stamps.RACY_NS / 1e9 + 0.2)
    return Project(root.resolve())


def _command(words: list[str], cwd, importtime: bool = False, seed: str = "0"):
    flags = ["-X", "importtime"] if importtime else []
    environment = {**os.environ, "PYTHONHASHSEED": seed}
    return subprocess.run([sys.executable, *flags, "-m", "coprod_kg", *words], cwd=cwd,
                          capture_output=True, text=True, timeout=300, env=environment)


def test_the_second_run_is_warm_and_imports_neither_the_cli_nor_slow_modules(settled):
    words = ["query", "18-evidence-by-country", "--format", "csv"]
    first = _command(words, settled.root, seed="1")
    assert first.returncode == 0, first.stderr
    assert len(os.listdir(settled.cache_dir / "warm")) >= 1
    second = _command(words, settled.root, importtime=True, seed="2")  # another hash seed
    assert second.returncode == 0
    assert second.stdout == first.stdout
    imported = {line.split("|")[-1].strip() for line in second.stderr.splitlines()
                if line.startswith("import time:")}
    assert "coprod_kg.warm" in imported and "pyoxigraph" in imported
    for module in ("coprod_kg.cli", "coprod_kg.query", "coprod_kg.cache", "coprod_kg.project",
                   "re", "pathlib", "json", "csv", "argparse", "tempfile", "rich", "enum"):
        assert module not in imported, module


def test_the_installed_command_still_reports_bad_input(settled):
    done = _command(["query", "no-such-question", "--format", "csv"], settled.root)
    assert done.returncode == 2
    assert "unknown query 'no-such-question'" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_warm_answer_that_needs_decimal_imports_it_first(settled):
    words = ["query", "formula.rq", "--format", "csv"]
    first = _command(words, settled.root)
    assert first.returncode == 0, first.stderr
    assert first.stdout == "n,text,d\n-5,'=1+1,2.5\n7,'-x,-0.1\n"
    second = _command(words, settled.root, importtime=True)
    assert second.returncode == 0 and second.stdout == first.stdout
    imported = {line.split("|")[-1].strip() for line in second.stderr.splitlines()
                if line.startswith("import time:")}
    assert "decimal" in imported and "coprod_kg.cli" not in imported
