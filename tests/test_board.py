"""The class as one experiment: the teacher's board (/class) and runs that survive a reload.

Through AppTest: each student is a session of the app with its own browser token (set
in its session state, as the cookie would give it); the board is its page function
run on its own. Every test has a data folder of its own (DIGITNET_DATA_DIR)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ui import identity, keep

APP = str(Path(__file__).resolve().parent.parent / "app.py")
CODE = "owl-42"


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITNET_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("DIGITNET_TEACHER_CODE", raising=False)
    return tmp_path / "data"


def _board_page():
    from ui import board

    board.page()


def no_problems(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def student_app(token: str) -> AppTest:
    """A student's page in a browser whose cookie holds `token`."""
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state[identity.KEY] = token
    at.run().run()  # and the rest, which a browser asks for once it has painted the first run (ui/after.py)
    no_problems(at)
    return at


def train(at: AppTest, lr: float, name: str = "") -> None:
    """Train a tiny network to the end, and wait until it is written down."""
    if name:
        at.text_input(key=keep.NAME).set_value(name)
    at.text_input(key="hidden").set_value("8")
    at.number_input(key="epochs").set_value(1)
    at.select_slider(key="batch_size").set_value(512)
    at.select_slider(key="lr").set_value(lr)
    at.run()
    at.button(key="train").click().run()
    no_problems(at)
    run = at.session_state["digitnet"].runs[-1]
    assert run.job is not None and run.job.join(60), "the tiny run did not finish"
    at.run()  # the page notices the end
    assert keep.wait_kept(), "the run was not written down"


def board_app(secrets: dict | None = None) -> AppTest:
    at = AppTest.from_function(_board_page, default_timeout=30)
    at.secrets.update(secrets or {})
    at.run()
    no_problems(at)
    return at


def everything(at: AppTest) -> str:
    """Every text the page shows, tables included."""
    parts = [e.value for kind in ("markdown", "caption", "info", "title") for e in getattr(at, kind)]
    parts += [d.value.to_csv() for d in at.dataframe]
    return "\n".join(map(str, parts))


def open_board(at: AppTest, code: str) -> None:
    at.text_input(key="board_code").input(code)
    at.button[0].click().run()
    no_problems(at)


TOKEN_A, TOKEN_B = "a" * 43, "b" * 43


@pytest.fixture
def two_students():
    a, b = student_app(TOKEN_A), student_app(TOKEN_B)
    train(a, 0.01, name="Ada")
    train(b, 1.0)
    return a, b


def test_the_board_opened_with_the_code_lists_both_students_with_their_alpha_and_accuracy(
    two_students, monkeypatch
):
    monkeypatch.setenv("DIGITNET_TEACHER_CODE", CODE)
    board = board_app()
    assert not board.dataframe and not board.get("vega_lite_chart")  # asks for the code first
    open_board(board, "not it")
    assert any("not the teacher code" in e.value for e in board.error)
    assert not board.dataframe
    open_board(board, CODE)
    (table,) = [d.value for d in board.dataframe]
    assert list(table["name"]) == ["Ada", "Student 2"]
    assert list(table["α"]) == ["0.01", "1"]
    assert list(table["status"]) == ["finished", "finished"]
    assert all(a.endswith("%") for a in table["accuracy"])
    accuracy = {
        r.settings["lr"]: r.final_val_accuracy()
        for s in two_students
        for r in s.session_state["digitnet"].runs
    }
    assert list(table["accuracy"]) == [f"{accuracy[0.01]:.1%}", f"{accuracy[1.0]:.1%}"]
    assert len(board.get("vega_lite_chart")) == 2  # accuracy against α, and every run's curve


def test_without_the_code_the_board_shows_nothing_of_the_students(two_students, monkeypatch):
    monkeypatch.setenv("DIGITNET_TEACHER_CODE", CODE)
    board = board_app()
    shown = everything(board)
    assert "Ada" not in shown and "Student 2" not in shown and "0.01" not in shown
    assert not board.dataframe and not board.get("vega_lite_chart")


def test_the_code_may_come_from_the_secrets_file_and_without_one_the_board_is_open_and_says_how(
    two_students,
):
    board = board_app(secrets={"teacher_code": CODE})
    assert not board.dataframe
    open_board(board, CODE)
    assert len(board.dataframe) == 1
    open_board_ = board_app()  # no code anywhere: open, and it says how to set one
    assert len(open_board_.dataframe) == 1
    assert any("DIGITNET_TEACHER_CODE" in c.value and "secrets.toml" in c.value for c in open_board_.caption)


def test_names_can_be_hidden_for_the_projector(two_students):
    board = board_app()
    board.toggle(key="board_hide_names").set_value(True).run()
    assert list(board.dataframe[0].value["name"]) == ["Student 1", "Student 2"]


def test_the_teachers_clear_empties_the_board(two_students, monkeypatch):
    monkeypatch.setenv("DIGITNET_TEACHER_CODE", CODE)
    board = board_app()
    open_board(board, CODE)
    assert len(board.dataframe[0].value) == 2
    board.button(key="clear_board").click().run()
    no_problems(board)
    assert not board.dataframe
    assert any("No runs yet" in i.value for i in board.info)


def test_after_a_clear_the_next_run_is_on_the_board_again_and_a_restart_keeps_it(two_students, monkeypatch):
    from digitnet import store

    a, _ = two_students
    store.default().clear()
    train(a, 0.1)
    monkeypatch.setattr(store, "_stores", {})  # a new server process: the store is opened anew from its file
    (table,) = [d.value for d in board_app().dataframe]
    assert list(table["name"]) == ["Ada"] and list(table["α"]) == ["0.1"]


def test_a_reload_brings_a_students_runs_and_model_back(two_students):
    a, _ = two_students
    before = a.session_state["digitnet"]
    again = student_app(TOKEN_A)  # the same browser opens the page anew
    s = again.session_state["digitnet"]
    assert [(r.number, r.settings) for r in s.runs] == [(r.number, r.settings) for r in before.runs]
    assert s.runs[0].snapshot.status == "finished"
    assert s.runs[0].final_val_accuracy() == pytest.approx(before.runs[0].final_val_accuracy())
    assert s.model.name == "run 1" and s.model.net.sizes == before.model.net.sizes
    assert again.text_input(key=keep.NAME).value == "Ada"
    stranger = student_app("c" * 43)  # another browser gets nothing of theirs
    assert stranger.session_state["digitnet"].runs == []
    assert stranger.session_state["digitnet"].model.name == "the default model"


# -- in a real browser ------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app on a free port with a teacher code and a data folder of its own."""
    from browser_support import StreamlitServer
    from test_browser import _need_browser

    _need_browser()
    folder = tmp_path_factory.mktemp("board")
    log = folder / "server.log"
    env = {"DIGITNET_DATA_DIR": str(folder / "data"), "DIGITNET_TEACHER_CODE": CODE}
    with StreamlitServer(env=env, log=log) as s:
        yield s
    assert "Traceback" not in log.read_text(), f"the server logged a traceback:\n{log.read_text()[-3000:]}"


@pytest.fixture(scope="module")
def browser(server):
    from browser_support import launch
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@pytest.fixture(scope="module")
def pages(browser):
    """Two students' browsers and the teacher's (separate contexts: separate cookies)."""
    contexts = [browser.new_context(viewport={"width": 1280, "height": 900}) for _ in range(3)]
    yield [c.new_page() for c in contexts]
    for c in contexts:
        c.close()


def board_cells(page) -> list[str]:
    """The board table's cells, row by row (st.dataframe draws on a canvas; its cells are
    also in an accessible table inside it)."""
    return page.locator("[data-testid='stDataFrame'] [role=gridcell]").all_text_contents()


def browser_train(page, url: str, lr: str, name: str) -> None:
    from browser_support import click_button, open_app, set_number, wait_for_app_run
    from playwright.sync_api import expect

    open_app(page, f"{url}/?lr={lr}&epochs=1&batch_size=512&hidden=8")  # a link with the settings
    set_number(page, keep.NAME, name)
    wait_for_app_run(page)
    click_button(page, "train")
    expect(page.get_by_text("Run 1: Trained 1 epoch")).to_be_visible(timeout=60_000)


@pytest.mark.browser
def test_in_a_browser_two_students_train_and_the_teacher_with_the_code_sees_both(server, pages):
    from browser_support import wait_for_app_run
    from playwright.sync_api import expect

    ada, bob, teacher = pages
    browser_train(ada, server.url, "0.01", "Ada")
    browser_train(bob, server.url, "1", "Bob")
    teacher.goto(f"{server.url}/class")
    wait_for_app_run(teacher)
    expect(teacher.get_by_label("Teacher code")).to_be_visible()
    assert board_cells(teacher) == [] and not teacher.get_by_text("Ada").count()  # nothing before the code
    teacher.get_by_label("Teacher code").fill(CODE)
    teacher.get_by_role("button", name="Open the board").click()
    expect(teacher.locator("[data-testid='stDataFrame'] [role=gridcell]").first).to_be_attached(
        timeout=30_000
    )
    cells = board_cells(teacher)
    rows = [cells[i : i + 9] for i in range(0, len(cells), 9)]
    assert [(r[0], r[1], r[6]) for r in rows] == [("Ada", "0.01", "finished"), ("Bob", "1", "finished")]
    assert all(r[7].endswith("%") for r in rows)  # their accuracy


@pytest.mark.browser
def test_in_a_browser_a_reload_brings_the_runs_back_and_the_token_stays_out_of_the_address(server, pages):
    from browser_support import wait_for_app_run
    from playwright.sync_api import expect

    ada = pages[0]
    token = {c["name"]: c["value"] for c in ada.context.cookies()}[identity.COOKIE]
    ada.reload()
    wait_for_app_run(ada)
    expect(ada.get_by_text("Run 1 — α = 0.01")).to_be_visible(timeout=30_000)  # the run is back
    expect(ada.get_by_text("Read by run 1.")).to_be_visible()  # and the model it made is in use
    expect(ada.get_by_test_id("stSidebar").locator(f".st-key-{keep.NAME} input")).to_have_value("Ada")
    assert token not in ada.url and "lr=0.01" in ada.url  # the address carries the settings, not who you are


@pytest.mark.browser
def test_in_a_browser_the_teachers_clear_empties_the_board(server, pages):
    from playwright.sync_api import expect

    teacher = pages[2]
    teacher.get_by_role("button", name="Clear…").click()
    teacher.get_by_role("button", name="Clear the board").click()
    expect(teacher.get_by_text("No runs yet")).to_be_visible(timeout=30_000)
    assert board_cells(teacher) == []
